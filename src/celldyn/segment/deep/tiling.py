"""Tiled inference without seams, for frames of any size.

The frame is padded by ``margin`` pixels (reflection) on every side of Y and X, cut
into tiles of ``tile`` pixels whose cores (the tile minus ``margin`` on each side)
cover the frame, and only each core is kept. Two facts make the result equal to one
pass over the whole frame (up to float rounding), not merely close to it:

* every tile starts at a multiple of ``2**depth`` in the padded frame, so the
  network's pooling grid is the same in every tile as in one whole-frame pass;
* ``margin`` is at least the network's receptive-field radius
  (:func:`receptive_radius`), so no core pixel sees the zero padding at a tile's edge.

Memory is bounded by one tile, whatever the frame size. 3D stacks are tiled in Y and
X only (Z is kept whole).
"""

from __future__ import annotations

import copy
import math

import numpy as np

import torch
from torch import nn

from .unet import UNet

__all__ = ["inference_net", "predict_logits", "receptive_radius"]


def receptive_radius(net: UNet) -> int:
    """Receptive-field radius in pixels (Y/X) of `net`, rounded up to its multiple."""
    r, step = 0, 1
    for _ in range(net.depth):
        r += 2 * step          # two 3x3 convs at this level
        r += step              # 2x2 pooling reaches one more pixel
        step *= 2
    r += 2 * step              # bottleneck
    for _ in range(net.depth):
        step //= 2
        r += step + 2 * step   # transposed conv + two convs
    m = net.multiple
    return int(math.ceil(r / m) * m)


def inference_net(net: UNet) -> nn.Module:
    """An eval-mode copy of `net` for inference: each convolution fused with the batch
    norm after it (``torch.nn.utils.fusion.fuse_conv_bn_eval``) and, in 2D, channels-last
    memory (faster oneDNN kernels on CPUs). Same outputs up to float rounding; about
    1.7x faster on 2 CPU threads (benchmarks/RESULTS.md, Segmentation speed). Built per
    call (a few milliseconds) so a network still being trained is never served stale.
    """
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    fast = copy.deepcopy(net).eval()
    for block in (*getattr(fast, "down", ()), *getattr(fast, "dec", ())):
        if not isinstance(block, nn.Sequential):
            continue
        for i in range(len(block) - 1):
            conv, norm = block[i], block[i + 1]
            if (isinstance(conv, (nn.Conv2d, nn.Conv3d))
                    and isinstance(norm, (nn.BatchNorm2d, nn.BatchNorm3d))):
                block[i] = fuse_conv_bn_eval(conv, norm)
                block[i + 1] = nn.Identity()
    if getattr(net, "ndim", 2) == 2:
        fast = fast.to(memory_format=torch.channels_last)
    return fast


def _round_up(n: int, m: int) -> int:
    return int(math.ceil(n / m) * m)


@torch.inference_mode()
def predict_logits(
    net: UNet, image: np.ndarray, *, tile: int = 512, margin: int | None = None
) -> np.ndarray:
    """Logits ``(net.out_channels, [Z,] Y, X)`` of `net` on one normalised frame.

    Parameters
    ----------
    net : UNet
        Put in eval mode here.
    image : ([Z,] Y, X) float array
        One single-channel frame (2D for a 2D net, ZYX for a 3D net).
    tile : int
        Tile side in Y and X (rounded up to the net's multiple), including margins.
    margin : int, optional
        Context on each side; by default :func:`receptive_radius` (needed for no seams).
    """
    net.eval()
    img = np.asarray(image, dtype=np.float32)
    if img.ndim != net.ndim:
        raise ValueError(f"a {net.ndim}D network needs {net.ndim}D frames, got shape {img.shape}")
    m = net.multiple
    margin = receptive_radius(net) if margin is None else _round_up(int(margin), m)
    tile = max(_round_up(int(tile), m), 2 * margin + m)
    ny, nx = img.shape[-2:]
    core = tile - 2 * margin
    # shrink the core for small frames (less padding to compute)
    core_y = min(core, _round_up(ny, m))
    core_x = min(core, _round_up(nx, m))
    n_ty, n_tx = math.ceil(ny / core_y), math.ceil(nx / core_x)
    pad_y = (margin, n_ty * core_y - ny + margin)
    pad_x = (margin, n_tx * core_x - nx + margin)
    lead = [(0, 0)] * (img.ndim - 2)
    padded = np.pad(img, lead + [pad_y, pad_x], mode="reflect" if min(ny, nx) > 1 else "edge")
    device = next(net.parameters()).device
    fast = inference_net(net)
    layout = torch.channels_last if net.ndim == 2 else torch.contiguous_format
    out = np.zeros((net.out_channels, *img.shape[:-2], n_ty * core_y, n_tx * core_x),
                   dtype=np.float32)
    for iy in range(n_ty):
        for ix in range(n_tx):
            y0, x0 = iy * core_y, ix * core_x
            crop = padded[..., y0:y0 + core_y + 2 * margin, x0:x0 + core_x + 2 * margin]
            x = torch.from_numpy(np.ascontiguousarray(crop))[None, None].to(device)
            y = fast(x.contiguous(memory_format=layout))[0].cpu().numpy()
            out[..., y0:y0 + core_y, x0:x0 + core_x] = \
                y[..., margin:margin + core_y, margin:margin + core_x]
    return out[..., :ny, :nx]
