"""Differentiable Gaussian splatting: gsplat on CUDA, a pure-torch tile rasteriser elsewhere (Eq. 1-2).

The entry point is `zerohsi_core.render.render.render`. This package module stays free of the scene
package's imports so that the rasterisers run where only torch (and gsplat) are installed.
"""

from zerohsi_core.render.options import RenderOptions
from zerohsi_core.render.outputs import RasterOutput, RenderOutput

__all__ = ["RasterOutput", "RenderOptions", "RenderOutput"]
