"""torchvision imports beside the CPU torch (open_clip needs it) without zerohsi_core importing torch."""

import subprocess
import sys

SCRIPT = """
import sys
import zerohsi_core
assert "torch" not in sys.modules, "importing zerohsi_core imported torch"
import open_clip
import torchvision
print("imported", torchvision.__version__)
"""


def test_torchvision_imports_after_zerohsi_core_without_torch_at_start_up() -> None:
    run = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "imported" in run.stdout
