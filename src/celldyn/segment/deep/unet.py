"""A small U-Net for 2D frames and 3D stacks, with a semantic and an instance head.

Architecture: ``depth`` down-sampling levels of two 3x3 convolutions (batch norm,
ReLU), max pooling, transposed-convolution up-sampling and skip connections
(Ronneberger et al., MICCAI 2015). Channels double per level from ``base``. With the
defaults (``base=16, depth=3``) it has about 0.47 M parameters (1.9 MB of float32).

Heads (one 1x1 convolution, 4 output channels):

* **semantic** (channels 0-2): logits of background / object interior / object
  boundary. Interior and boundary together are the foreground.
* **instance** (channel 3): a logit of the *normalised distance transform*: for each
  object pixel the distance to the object's edge divided by the object's largest
  distance (0 on the edge and in the background, 1 at the centre).

Why this instance head: the marker-controlled watershed it feeds
(:mod:`celldyn.segment.deep.heads.postprocess`) costs a few milliseconds per
megapixel on a CPU, splits touching nuclei at their waist (where the distance map
dips), and needs no per-object proposals (StarDist's polygons and NMS, or Cellpose's
flow tracking, are costlier on CPU and the former assumes star-convex shapes).
Normalising the distance per object makes the head scale-free, so one marker level
works for small and large nuclei.

3D: ``ndim=3`` uses 3D convolutions (3x3x3) but pools only in Y and X (kernels
1x2x2), because microscope stacks usually have few, coarse Z slices (CTC
Fluo-N3DH-CHO: 5 slices at 1 µm vs 0.2 µm pixels). Z can therefore have any size;
Y and X must be multiples of ``2**depth`` (the tiler pads to that).

Semantic models (``out_channels=C``, e.g. ``mito_em``): the same body with a C-class
head (logits of a softmax over C classes, no distance channel); the 4-channel
instance head above is the default and is unchanged.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

__all__ = ["N_OUT", "UNet", "build_unet"]

N_OUT = 4
"""Output channels: 3 semantic logits (background, interior, boundary) + 1 distance."""


def _block(conv: Any, norm: Any, c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        conv(c_in, c_out, 3, padding=1, bias=False), norm(c_out), nn.ReLU(inplace=True),
        conv(c_out, c_out, 3, padding=1, bias=False), norm(c_out), nn.ReLU(inplace=True),
    )


class UNet(nn.Module):
    """U-Net with ``N_OUT`` output channels; see the module docstring.

    Parameters
    ----------
    ndim : 2 or 3
        Spatial dimensions of the input ``(B, C, [Z,] Y, X)``.
    in_channels : int
    base : int
        Channels of the first level (doubled at each level).
    depth : int
        Number of poolings; Y and X must be multiples of ``2**depth``.
    out_channels : int
        ``N_OUT`` (instance heads, default) or the number of classes of a semantic
        model.
    """

    def __init__(self, ndim: int = 2, in_channels: int = 1, base: int = 16,
                 depth: int = 3, out_channels: int = N_OUT) -> None:
        super().__init__()
        if ndim not in (2, 3):
            raise ValueError(f"ndim must be 2 or 3, got {ndim}")
        if depth < 1 or base < 1 or out_channels < 1:
            raise ValueError("depth, base and out_channels must be positive")
        self.out_channels = int(out_channels)
        self.ndim, self.in_channels, self.base, self.depth = ndim, in_channels, base, depth
        conv = nn.Conv2d if ndim == 2 else nn.Conv3d
        norm = nn.BatchNorm2d if ndim == 2 else nn.BatchNorm3d
        up = nn.ConvTranspose2d if ndim == 2 else nn.ConvTranspose3d
        pool_k = 2 if ndim == 2 else (1, 2, 2)
        self.pool = (nn.MaxPool2d if ndim == 2 else nn.MaxPool3d)(pool_k)
        chans = [base * 2**i for i in range(depth + 1)]
        self.down = nn.ModuleList()
        c = in_channels
        for ch in chans:
            self.down.append(_block(conv, norm, c, ch))
            c = ch
        self.up = nn.ModuleList()
        self.dec = nn.ModuleList()
        for ch in reversed(chans[:-1]):
            self.up.append(up(c, ch, pool_k, stride=pool_k))
            self.dec.append(_block(conv, norm, 2 * ch, ch))
            c = ch
        self.head = conv(c, self.out_channels, 1)

    @property
    def multiple(self) -> int:
        """Y and X sizes must be multiples of this."""
        return 2**self.depth

    def config(self) -> dict[str, int]:
        out = {"ndim": self.ndim, "in_channels": self.in_channels, "base": self.base,
               "depth": self.depth}
        if self.out_channels != N_OUT:     # instance models keep their old config.json
            out["out_channels"] = self.out_channels
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for i, block in enumerate(self.down):
            x = block(x)
            if i < self.depth:
                skips.append(x)
                x = self.pool(x)
        for up, dec, skip in zip(self.up, self.dec, reversed(skips), strict=True):
            x = dec(torch.cat([up(x), skip], dim=1))
        return self.head(x)


def build_unet(config: dict[str, Any]) -> UNet:
    """A UNet from ``config.json``'s ``architecture`` entry."""
    return UNet(ndim=int(config.get("ndim", 2)), in_channels=int(config.get("in_channels", 1)),
                base=int(config.get("base", 16)), depth=int(config.get("depth", 3)),
                out_channels=int(config.get("out_channels", N_OUT)))
