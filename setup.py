"""pip entry point of the zerohsi_ros ROS 2 package (colcon builds CMakeLists.txt directly).

`pip install .` runs CMakeLists.txt -- the same build as colcon: rosidl generates
zerohsi_ros.msg / zerohsi_ros.action, the install rules merge them with the hand-written
zerohsi_ros modules and install zerohsi_core -- into build/cmake-install, and packages it:
  <prefix>/lib/pythonX.Y/site-packages/{zerohsi_ros,zerohsi_core}  -> the wheel's packages
  everything else (lib/*.so, lib/zerohsi_ros/<executables>, share/, include/)
                                   -> the environment root, as the ROS wheels do
`pip install -e .` runs the same build, copies only the generated modules
(zerohsi_ros/msg, zerohsi_ros/action, zerohsi_ros/*.so) into the source tree next to the
hand-written code, and installs the rest as above; rerun it after changing msg/ or action/.
"""

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from setuptools import Command, find_packages, setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

ROOT = Path(__file__).resolve().parent
PACKAGES = ["zerohsi_ros", "zerohsi_core"]  # top-level packages CMake installs
INTERFACE_PACKAGE = "zerohsi_ros"  # the Python package rosidl generates into
CMAKE_BUILD = Path("build", "cmake")  # relative to ROOT: data_files need relative paths
STAGE = Path("build", "cmake-install")
PY_REL = Path(os.path.relpath(sysconfig.get_path("purelib", vars={"base": "/x", "platbase": "/x"}), "/x"))
INPLACE_MANIFEST = Path("build", "inplace-files.txt")


def ros_prefix() -> str:
    """Prefix of the ROS build wheels in this (maybe isolated) build environment."""
    import ament_package

    return str(Path(ament_package.__file__).resolve().parents[4])


class BuildCMake(Command):
    """Configure, build and install CMakeLists.txt into build/cmake-install."""

    description = "build the ROS package (rosidl interfaces, install rules) with CMake"
    user_options = []

    def initialize_options(self):
        pass

    def finalize_options(self):
        pass

    def run(self):
        os.chdir(ROOT)
        # pip's isolated build environment is a new temporary dir each time: a CMake
        # cache made in another one points at files that no longer exist.
        stamp = CMAKE_BUILD / "ros-prefix.txt"
        if stamp.exists() and stamp.read_text() != ros_prefix():
            shutil.rmtree(CMAKE_BUILD)
        shutil.rmtree(STAGE, ignore_errors=True)
        CMAKE_BUILD.mkdir(parents=True, exist_ok=True)
        stamp.write_text(ros_prefix())
        subprocess.check_call(
            [
                "cmake",
                "-S",
                str(ROOT),
                "-B",
                str(CMAKE_BUILD),
                f"-DCMAKE_INSTALL_PREFIX={ROOT / STAGE}",
                f"-DPython3_EXECUTABLE={sys.executable}",
                f"-DPYTHON_INSTALL_DIR={PY_REL}",
                "-DCMAKE_BUILD_TYPE=Release",
                "-DBUILD_TESTING=OFF",
            ]
        )
        subprocess.check_call(["cmake", "--build", str(CMAKE_BUILD), "-j", str(os.cpu_count() or 1)])
        subprocess.check_call(["cmake", "--install", str(CMAKE_BUILD)])
        data = {}
        for path in sorted(STAGE.rglob("*")):
            rel = path.relative_to(STAGE)
            if path.is_file() and not rel.is_relative_to(PY_REL):
                data.setdefault(str(rel.parent), []).append(str(path))
        self.distribution.data_files = sorted(data.items())


class BuildPy(build_py):
    """Runs build_cmake, then adds the CMake-installed Python packages."""

    def run(self):
        self.run_command("build_cmake")
        super().run()
        if self.editable_mode:
            self._copy_generated_into_source()
            # setuptools' editable_wheel does not install data_files: add them here.
            install_data = self.reinitialize_command("install_data")
            install_data.data_files = self.distribution.data_files
            self.run_command("install_data")
            return
        for pkg in PACKAGES:  # hand-written + generated, as CMake installed them
            shutil.copytree(
                STAGE / PY_REL / pkg,
                Path(self.build_lib, pkg),
                dirs_exist_ok=True,
                ignore=shutil.ignore_patterns("*.c", "__pycache__"),
            )

    def _copy_generated_into_source(self):
        """Copy what rosidl generated (not the hand-written modules) next to the sources."""
        old = INPLACE_MANIFEST.read_text().split() if INPLACE_MANIFEST.exists() else []
        for rel in old:  # drops the modules of removed interfaces
            Path(rel).unlink(missing_ok=True)
        generated = CMAKE_BUILD / "rosidl_generator_py" / INTERFACE_PACKAGE
        copied = []
        for path in sorted(generated.rglob("*")):
            rel = path.relative_to(generated)
            if path.is_dir() or path.suffix == ".c" or rel == Path("__init__.py"):
                continue
            target = Path(INTERFACE_PACKAGE, rel)
            target.parent.mkdir(parents=True, exist_ok=True)
            # the installed copy: its extension modules carry no build-tree RPATH
            shutil.copy2(STAGE / PY_REL / INTERFACE_PACKAGE / rel, target)
            copied.append(str(target))
        INPLACE_MANIFEST.write_text("\n".join(copied) + "\n")


class BinaryDistribution(Distribution):
    """The wheel holds compiled extension modules: platform-specific tag."""

    def has_ext_modules(self):
        return True


def requirements(name: str) -> list[str]:
    """Requirement lines of a requirements file (comments dropped)."""
    lines = (ROOT / name).read_text().splitlines()
    return [line.split("#")[0].strip() for line in lines if line.split("#")[0].strip()]


setup(
    name="zerohsi-ros",
    version="0.1.0",
    description="Zero-shot 4D human-scene interaction (ZeroHSI) for ROS 2 and Python",
    python_requires=">=3.10",
    packages=find_packages(include=["zerohsi_core", "zerohsi_core.*", "zerohsi_ros", "zerohsi_ros.*"]),
    include_package_data=False,
    install_requires=["torch>=2.4", *requirements("requirements.txt")],
    extras_require={
        "ros": requirements("requirements-ros.txt"),
        "dev": requirements("requirements-dev.txt"),
    },
    entry_points={
        "console_scripts": [
            "zerohsi = zerohsi_core.cli:main",
            "hsi_server = zerohsi_ros.hsi_server:main",
            "trajectory_player = zerohsi_ros.trajectory_player:main",
            "zerohsi_ros = zerohsi_ros.client:main",
        ]
    },
    cmdclass={"build_cmake": BuildCMake, "build_py": BuildPy},
    distclass=BinaryDistribution,
    zip_safe=False,
)
