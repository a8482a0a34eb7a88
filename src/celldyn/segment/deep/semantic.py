"""Semantic (class-map) models: per-pixel classes, their scores, and instances of one class.

A semantic model is the U-Net of :mod:`.unet` with a C-class head
(``out_channels=C``); ``config.json`` says ``"task": "semantic"`` and names its
``classes`` and the ``instance_class`` whose connected components become the objects a
run tracks (e.g. mitochondria in EM). Instances of a class are its connected components
(8-connected in 2D, 26 in 3D, as the EM set's masks were made) larger than
``min_size`` pixels (``thresholds.json``, tuned on validation images).

Ours: the glue (logits -> class map -> instances) and the scores (per-class IoU and
Dice from one confusion matrix); the network, the softmax and the connected components
are PyTorch / NumPy / SciPy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import ndimage as ndi

__all__ = ["class_scores", "confusion", "instances_of_class", "predict_classes",
           "tune_min_size"]


def predict_classes(net: Any, image: np.ndarray, *, zoom: float = 1.0, tile: int | None = None,
                    normalized: bool = False) -> np.ndarray:
    """uint8 class map (argmax of the C logits) of one frame, at the frame's size."""
    from skimage.transform import resize

    from ..classical import normalize_frame
    from .tiling import predict_logits

    img = np.asarray(image, dtype=np.float32) if normalized else normalize_frame(image)
    shape = np.shape(image)
    if img is None:                      # constant frame: all of the first class
        return np.zeros(shape, dtype=np.uint8)
    if abs(zoom - 1.0) > 1e-6:
        small = tuple(shape[:-2]) + tuple(max(net.multiple, round(n * zoom))
                                          for n in shape[-2:])
        img = resize(img, small, order=1, mode="reflect", preserve_range=True,
                     anti_aliasing=zoom < 1).astype(np.float32)
    logits = predict_logits(net, img, tile=tile)
    if logits.shape[1:] != tuple(shape):
        logits = np.stack([resize(c, shape, order=1, mode="reflect", preserve_range=True,
                                  anti_aliasing=False) for c in logits])
    return np.argmax(logits, axis=0).astype(np.uint8)


def instances_of_class(classes: np.ndarray, cls: int, *, min_size: int = 0) -> np.ndarray:
    """int32 connected components (full connectivity) of ``classes == cls``, ids
    ``1..n`` in raster order, components under `min_size` pixels removed."""
    mask = np.asarray(classes) == cls
    structure = ndi.generate_binary_structure(mask.ndim, mask.ndim)
    labels, n = ndi.label(mask, structure=structure)
    if n == 0 or min_size <= 1:
        return labels.astype(np.int32)
    sizes = np.bincount(labels.ravel(), minlength=n + 1)
    keep = sizes >= min_size
    keep[0] = False
    lut = np.zeros(n + 1, dtype=np.int32)
    lut[keep] = np.arange(1, int(keep.sum()) + 1, dtype=np.int32)
    return lut[labels]


def confusion(truth: np.ndarray, pred: np.ndarray, n_classes: int) -> np.ndarray:
    """``(C, C)`` int64 counts, rows = true class, columns = predicted; negative truth
    is ignored."""
    t = np.asarray(truth).ravel().astype(np.int64)
    p = np.asarray(pred).ravel().astype(np.int64)
    ok = t >= 0
    return np.bincount(t[ok] * n_classes + p[ok], minlength=n_classes * n_classes) \
        .reshape(n_classes, n_classes)


def class_scores(conf: np.ndarray) -> dict[str, list[float]]:
    """Per-class IoU and Dice from a confusion matrix (NaN for a class absent from both
    truth and prediction).

    >>> class_scores(np.array([[3, 1], [0, 4]]))["iou"]
    [0.75, 0.8]
    """
    conf = np.asarray(conf, dtype=np.float64)
    tp = np.diag(conf)
    fp = conf.sum(axis=0) - tp
    fn = conf.sum(axis=1) - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = tp / (tp + fp + fn)
        dice = 2 * tp / (2 * tp + fp + fn)
    return {"iou": [round(float(v), 4) for v in iou],
            "dice": [round(float(v), 4) for v in dice]}


def tune_min_size(pred_classes: Sequence[np.ndarray], truth_labels: Sequence[np.ndarray],
                  cls: int, sizes: Sequence[int] = (0, 20, 40, 80, 160, 320, 640, 1280)
                  ) -> tuple[int, float]:
    """The `min_size` of :func:`instances_of_class` with the best AP@0.5 against
    `truth_labels` (validation images); ties go to the smaller size."""
    from .metrics import match_counts

    best, best_ap = int(sizes[0]), -1.0
    for size in sizes:
        tot = np.zeros(3, dtype=np.int64)
        for pc, gt in zip(pred_classes, truth_labels, strict=True):
            tot += match_counts(gt, instances_of_class(pc, cls, min_size=size), (0.5,))[0.5]
        ap = float(tot[0] / max(1, tot.sum()))
        if ap > best_ap + 1e-12:
            best, best_ap = int(size), ap
    return best, best_ap
