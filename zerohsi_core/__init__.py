"""zerohsi_core: zero-shot 4D human-scene interaction (ZeroHSI) without ROS.

Gaussian scenes, the SMPL-X Gaussian avatar, differentiable rendering, video generation,
segmentation and the 4D reconstruction of human motion and object trajectories.
"""

__version__ = "0.1.0"

from zerohsi_core._torchvision_ops import install_hook as _install_torchvision_hook

_install_torchvision_hook()
