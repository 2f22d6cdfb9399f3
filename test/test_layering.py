"""Dependency direction: zerohsi_core never imports rclpy or zerohsi_ros (ARCHITECTURE.md)."""

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import zerohsi_core

CORE = Path(zerohsi_core.__file__).parent
FORBIDDEN = ("rclpy", "zerohsi_ros", "rosidl", "launch_ros")


def test_no_ros_import_in_core_sources() -> None:
    offenders = []
    for path in CORE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.relative_to(CORE)}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
    assert not offenders, offenders


def test_importing_every_core_module_loads_no_rclpy() -> None:
    modules = [m.name for m in pkgutil.walk_packages([str(CORE)], "zerohsi_core.") if "cli" not in m.name]
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "print(sorted(k for k in sys.modules if k.split('.')[0] in ('rclpy', 'zerohsi_ros')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
