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

Speed: on the CPU, a 2D network runs through ONNX Runtime when ``onnx`` and
``onnxruntime`` are installed (the ``deep`` extra): the fused network is exported once
per set of weights and the session is cached for the network object. Segmenting a
1024x1024 frame this was 1.2-1.9x faster than PyTorch's CPU kernels with the same fused,
channels-last network, with logits equal to 3e-6 (benchmarks/segmentation_speed.py,
benchmarks/RESULTS.md "Segmentation speed"). Without them, or with ``CELLDYN_ONNX=0``, or inside
:func:`torch_backend`, PyTorch runs. Ours: the choice and the cache; the export and the
runtime are PyTorch's and ONNX Runtime's.
"""

from __future__ import annotations

import contextlib
import contextvars
import copy
import io
import math
import os
import warnings
import weakref
from collections.abc import Iterator
from typing import Any

import numpy as np

import torch
from torch import nn

from .unet import UNet

__all__ = ["inference_net", "predict_logits", "receptive_radius", "torch_backend"]

# Default largest tile sides: a 2D tile of 1280 px holds a 1024 px network input whole
# (one 1152 px tile instead of 2 x 2 tiles of 640 px: 1.33 instead of 1.64 megapixels
# through the network; 4-11 % faster on 2 threads, while the peak memory of a 2048 px
# frame doubles, 440 -> 927 MiB; benchmarks/RESULTS.md "Segmentation speed"). 3D tiles
# keep Z whole, so their side stays smaller.
TILE_2D = 1280
TILE_3D = 512

_FORCE_TORCH: contextvars.ContextVar[bool] = contextvars.ContextVar("celldyn_force_torch",
                                                                    default=False)
# network -> (its parameters' version counters when exported, ONNX Runtime session)
_SESSIONS: weakref.WeakKeyDictionary[nn.Module, tuple[tuple[int, ...], Any]] = \
    weakref.WeakKeyDictionary()


@contextlib.contextmanager
def torch_backend() -> Iterator[None]:
    """Run networks through PyTorch inside this block (e.g. to hook their layers)."""
    token = _FORCE_TORCH.set(True)
    try:
        yield
    finally:
        _FORCE_TORCH.reset(token)


def _ort_session(net: UNet, device: Any) -> Any:
    """A cached ONNX Runtime session for a 2D `net` on the CPU, or None (not
    installed, disabled, 3D, another device, or the export failed)."""
    if (net.ndim != 2 or getattr(device, "type", "cpu") != "cpu" or _FORCE_TORCH.get()
            or os.environ.get("CELLDYN_ONNX", "1") == "0"):
        return None
    versions = tuple(p._version for p in net.parameters())
    hit = _SESSIONS.get(net)
    if hit is not None and hit[0] == versions:
        return hit[1]
    try:
        import onnxruntime as ort
    except ImportError:
        return None
    fast = inference_net(net).to(memory_format=torch.contiguous_format)
    x = torch.zeros((1, net.in_channels, 64, 64))
    buf = io.BytesIO()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(fast, (x,), buf, input_names=["x"], output_names=["y"],
                              dynamic_axes={"x": {2: "h", 3: "w"}, "y": {2: "h", 3: "w"}},
                              dynamo=False)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = max(1, torch.get_num_threads())
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        session = ort.InferenceSession(buf.getvalue(), opts,
                                       providers=["CPUExecutionProvider"])
    except Exception:  # noqa: BLE001 - any export/runtime failure: PyTorch runs instead
        return None
    _SESSIONS[net] = (versions, session)
    return session


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


def _cores(n: int, core_max: int, margin: int, m: int) -> tuple[int, int]:
    """(number of tiles, core side) along an axis of `n` pixels that computes the
    fewest pixels, ``k * (core + 2 * margin)``, with cores of at most `core_max`
    pixels, multiples of `m`.

    >>> _cores(512, 384, 64, 8)     # two 384 px tiles, not two 512 px ones
    (2, 256)
    >>> _cores(512, 640, 64, 8)     # tiles up to 768 px: one 640 px tile
    (1, 512)
    >>> _cores(1024, 896, 64, 8)    # two tiles of 512 + 2 * 64
    (2, 512)
    """
    best: tuple[int, int, int] | None = None
    for k in range(max(1, math.ceil(n / core_max)), math.ceil(n / m) + 1):
        core = _round_up(math.ceil(n / k), m)
        if core > core_max:
            continue
        cost = k * (core + 2 * margin)
        if best is None or cost < best[0]:
            best = (cost, k, core)
        if k * m >= n or (best is not None and k * 2 * margin > best[0]):
            break
    assert best is not None
    return best[1], best[2]


@torch.inference_mode()
def predict_logits(
    net: UNet, image: np.ndarray, *, tile: int | None = None, margin: int | None = None
) -> np.ndarray:
    """Logits ``(net.out_channels, [Z,] Y, X)`` of `net` on one normalised frame.

    Parameters
    ----------
    net : UNet
        Put in eval mode here.
    image : ([Z,] Y, X) float array
        One single-channel frame (2D for a 2D net, ZYX for a 3D net).
    tile : int, optional
        Largest tile side in Y and X (rounded up to the net's multiple), including
        margins; default :data:`TILE_2D` for 2D nets, :data:`TILE_3D` for 3D ones. Per axis the frame gets the tiling that computes the fewest pixels
        (:func:`_cores`): with 64 px margins and tiles up to 512 px, a 512 px square
        frame is 2 x 2 tiles of 384 px, not of 512 px (1.8x fewer pixels through
        the network); with tiles up to 768 px it is one tile of 640 px.
    margin : int, optional
        Context on each side; by default :func:`receptive_radius` (needed for no seams).
    """
    net.eval()
    img = np.asarray(image, dtype=np.float32)
    if img.ndim != net.ndim:
        raise ValueError(f"a {net.ndim}D network needs {net.ndim}D frames, got shape {img.shape}")
    if tile is None:
        tile = TILE_2D if net.ndim == 2 else TILE_3D
    m = net.multiple
    margin = receptive_radius(net) if margin is None else _round_up(int(margin), m)
    tile = max(_round_up(int(tile), m), 2 * margin + m)
    ny, nx = img.shape[-2:]
    n_ty, core_y = _cores(ny, tile - 2 * margin, margin, m)
    n_tx, core_x = _cores(nx, tile - 2 * margin, margin, m)
    pad_y = (margin, n_ty * core_y - ny + margin)
    pad_x = (margin, n_tx * core_x - nx + margin)
    lead = [(0, 0)] * (img.ndim - 2)
    padded = np.pad(img, lead + [pad_y, pad_x], mode="reflect" if min(ny, nx) > 1 else "edge")
    device = next(net.parameters()).device
    session = _ort_session(net, device)
    fast = inference_net(net) if session is None else None
    layout = torch.channels_last if net.ndim == 2 else torch.contiguous_format
    out = np.zeros((net.out_channels, *img.shape[:-2], n_ty * core_y, n_tx * core_x),
                   dtype=np.float32)
    for iy in range(n_ty):
        for ix in range(n_tx):
            y0, x0 = iy * core_y, ix * core_x
            crop = padded[..., y0:y0 + core_y + 2 * margin, x0:x0 + core_x + 2 * margin]
            if session is not None:
                y = session.run(None, {"x": np.ascontiguousarray(crop)[None, None]})[0][0]
            else:
                x = torch.from_numpy(np.ascontiguousarray(crop))[None, None].to(device)
                y = fast(x.contiguous(memory_format=layout))[0].cpu().numpy()
            out[..., y0:y0 + core_y, x0:x0 + core_x] = \
                y[..., margin:margin + core_y, margin:margin + core_x]
    return out[..., :ny, :nx]
