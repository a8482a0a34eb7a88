"""One frame through a network: normalise, rescale, tiled logits, maps, instances.

Test-time augmentation (``tta``: the maps averaged over the first ``tta`` of the eight
symmetries of the square, identity first) is ours; the rest wires scikit-image and the
tiling.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from skimage.transform import resize

from ..classical import normalize_frame
from .heads.postprocess import instances_from_maps, maps_from_logits
from .tiling import predict_logits
from .unet import UNet

__all__ = ["SYMMETRIES", "apply_symmetry", "class_uncertainty", "predict_maps",
           "predict_maps_tta", "segment_image", "undo_symmetry"]

SYMMETRIES = tuple((k, f) for f in (False, True) for k in range(4))
"""The eight symmetries of the square as ``(quarter turns, left-right flip)``, in the
order test-time augmentation takes them: the identity, the three rotations, then the
same flipped (``tta=4``: the four rotations)."""


def _resize(arr: np.ndarray, shape: tuple[int, ...], order: int) -> np.ndarray:
    return resize(arr, shape, order=order, mode="reflect", preserve_range=True,
                  anti_aliasing=False).astype(np.float32)


def predict_maps(
    net: UNet, image: np.ndarray, *, zoom: float = 1.0, tile: int | None = None,
    normalized: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """``(prob (3, ...), distance (...))`` at the frame's own size.

    `zoom` rescales Y and X before the network (0.5 halves the frame, for nuclei twice
    the model's working diameter); the maps are resized back (linear).
    """
    img = np.asarray(image, dtype=np.float32) if normalized else normalize_frame(image)
    if img is None:                     # constant frame
        shape = np.shape(image)
        prob = np.zeros((3, *shape), dtype=np.float32)
        prob[0] = 1
        return prob, np.zeros(shape, dtype=np.float32)
    shape = img.shape
    if abs(zoom - 1.0) > 1e-6:
        small = tuple(shape[:-2]) + tuple(max(net.multiple, round(n * zoom)) for n in shape[-2:])
        img = resize(img, small, order=1, mode="reflect", preserve_range=True,
                     anti_aliasing=zoom < 1).astype(np.float32)
    logits = predict_logits(net, img, tile=tile)
    if logits.shape[1:] != shape:
        logits = np.stack([_resize(c, shape, 1) for c in logits])
    return maps_from_logits(logits)


def apply_symmetry(k: int, flip: bool, a: np.ndarray) -> np.ndarray:
    """`a` turned `k` quarter turns in its last two axes, then flipped left-right."""
    a = np.rot90(a, k, axes=(-2, -1))
    return a[..., ::-1] if flip else a


def undo_symmetry(k: int, flip: bool, a: np.ndarray) -> np.ndarray:
    """The inverse of :func:`apply_symmetry`."""
    a = a[..., ::-1] if flip else a
    return np.rot90(a, -k, axes=(-2, -1))


def predict_maps_tta(
    net: UNet, image: np.ndarray, *, n: int, zoom: float = 1.0, tile: int | None = None,
    normalized: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """The maps of :func:`predict_maps` under each of the first `n` :data:`SYMMETRIES`
    (1 to 8), each turned back: ``(prob (n, 3, ...), distance (n, ...))``."""
    n = max(1, min(len(SYMMETRIES), int(n)))
    img = np.asarray(image, dtype=np.float32) if normalized else normalize_frame(image)
    if img is None:                     # constant frame: background under every symmetry
        prob, dist = predict_maps(net, image, zoom=zoom, tile=tile, normalized=normalized)
        return np.repeat(prob[None], n, axis=0), np.repeat(dist[None], n, axis=0)
    probs, dists = [], []
    for k, flip in SYMMETRIES[:n]:
        p, d = predict_maps(net, np.ascontiguousarray(apply_symmetry(k, flip, img)),
                            zoom=zoom, tile=tile, normalized=True)
        probs.append(undo_symmetry(k, flip, p))
        dists.append(undo_symmetry(k, flip, d))
    return np.stack(probs), np.stack(dists)


def segment_image(
    net: UNet, image: np.ndarray, thresholds: dict[str, Any], *, zoom: float = 1.0,
    tile: int | None = None, normalized: bool = False,
    uncertainty_out: list[float] | None = None, tta: int = 1,
) -> np.ndarray:
    """int32 instance labels of one frame. `uncertainty_out` (a list) receives
    :func:`class_uncertainty` of the frame's maps. With `tta` above 1 the maps are the
    mean over the first `tta` :data:`SYMMETRIES` (test-time augmentation: `tta` times
    the network's time; errors that depend on the frame's orientation average out. Off
    by default: with the shipped generalist it raised the validation parts' AP@0.5 but
    not the held-out test parts': benchmarks/RESULTS.md, 'Segmentation: test-time
    augmentation')."""
    if int(tta) > 1:
        probs, dists = predict_maps_tta(net, image, n=int(tta), zoom=zoom, tile=tile,
                                        normalized=normalized)
        prob, dist = probs.mean(axis=0), dists.mean(axis=0)
    else:
        prob, dist = predict_maps(net, image, zoom=zoom, tile=tile, normalized=normalized)
    if uncertainty_out is not None:
        uncertainty_out.append(class_uncertainty(prob))
    return instances_from_maps(prob, dist, **_post_kwargs(thresholds, zoom))


def class_uncertainty(prob: np.ndarray) -> float:
    """Mean over pixels of 1 - the most likely class's probability (background /
    interior / boundary): 0 where the network is sure of every pixel. On images of a
    kind it never learned (EM sections) the generalist is unsure almost everywhere
    (0.23-0.29) while its validation images stay at or below 0.154
    (benchmarks/RESULTS.md, 'Segmentation: the generalist's uncertainty').

    >>> p = np.zeros((3, 2, 2)); p[0] = 1
    >>> class_uncertainty(p)
    0.0
    """
    return float(np.mean(1.0 - np.asarray(prob).max(axis=0)))


def _post_kwargs(thresholds: dict[str, Any], zoom: float) -> dict[str, Any]:
    """Post-processing keywords; ``min_size`` and ``min_size_edge`` (objects touching
    the frame's border; default, and at most, ``min_size``: a user who lowers
    ``min_size`` lowers both) are stated at the model's scale, ``min_width_px`` (the
    narrowest object kept; default 0, none) in the image's own pixels; ``marker_h``
    (markers split at peaks of the distance that deep apart; default 0, none) is a
    depth of the normalised distance."""
    scale = max(zoom, 1e-6) ** 2
    min_size = float(thresholds.get("min_size", 16))
    edge = thresholds.get("min_size_edge")
    edge = min_size if edge is None else min(float(edge), min_size)
    return {"fg_threshold": float(thresholds.get("fg_threshold", 0.5)),
            "marker_threshold": float(thresholds.get("marker_threshold", 0.5)),
            "min_size": round(min_size / scale), "min_size_edge": round(edge / scale),
            "min_width": float(thresholds.get("min_width_px", 0.0)),
            "marker_h": float(thresholds.get("marker_h", 0.0))}
