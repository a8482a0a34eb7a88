"""Object size from the model's own features: a learned scale regressor.

The scale probe (:meth:`DeepSegmenter.estimate_diameter`) segments a central crop at
several zooms and looks for a plateau of the measured diameter. It fails where the
network, at the wrong zoom, finds plausible objects of its own working size: budding
yeast in brightfield (10 px found for about 40 px cells) and mother-machine rods
(101 px for thin rods), benchmarks/RESULTS.md "Segmentation: generalist and automatic
choice". Cellpose answers the same question with a "size model": a linear regression
from the network's pooled bottleneck features ("style") to the log diameter.

Ours, in the same spirit: during the probe's own passes (no extra network runs), the
bottleneck of the U-Net is averaged over the image at every probe zoom (a forward hook),
and joined with what the probe measured at that zoom (log of the median diameter of the
objects found, relative to the zoom's working size, and the log object count). A ridge
regression (scikit-learn's ``RidgeCV``, fitted by ``celldyn train size`` in
:func:`fit_size_model`) maps that vector to the log object diameter. It is trained on
the training parts of benchmarks/splits.py only, each image also rescaled by random
factors so the features must encode scale, not which data set an image came from.
The fitted model is a small JSON file (``size.json``) beside the weights; prediction is
plain numpy. Our contribution: the features (probe passes reused) and the rescaling
scheme; the regression is scikit-learn's.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["RULES", "SizeModel", "combine", "fit_size_model", "probe_features"]

SIZE_FILE = "size.json"
# How the learned size and the plateau probe's answer are combined; the shipped rule is
# chosen on validation parts only by benchmarks/size_model.py and stored in size.json.
RULES = ("probe", "size model", "probe if within x1.5 of the size model, else size model")


def combine(rule: str, probe: float | None, size: float) -> float:
    """The diameter `rule` (one of :data:`RULES`) gives from the two estimates."""
    ok = probe is not None and bool(np.isfinite(probe))
    if rule == RULES[0]:
        return float(probe) if ok else size
    if rule == RULES[1]:
        return size
    if rule == RULES[2]:
        return float(probe) if ok and max(probe / size, size / probe) <= 1.5 else size
    raise ValueError(f"unknown size rule {rule!r}; known: {RULES}")


def probe_features(seg: Any, frame: np.ndarray, *, crop: int = 512, tile: int = 512,
                   zooms: Sequence[float] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(feature vector, diameters found per zoom) of one 2D frame, as the probe sees it.

    The central `crop` of `frame` is segmented at each zoom (the model's
    ``probe_zooms``); per zoom the vector holds the bottleneck channels averaged over
    the crop, log(found diameter x zoom / working diameter) (0 and a flag of 1 when
    nothing was found) and log(1 + objects found).
    """
    from .inference import segment_image

    if zooms is None:
        zooms = tuple(float(z) for z in seg.config.get("probe_zooms", (0.25, 0.5, 1, 2)))
        crop = int(seg.config.get("probe_crop", crop))
    arr = np.asarray(frame)
    ny, nx = arr.shape
    cy, cx = max(0, (ny - crop) // 2), max(0, (nx - crop) // 2)
    sub = arr[cy:cy + crop, cx:cx + crop]
    pooled: list[np.ndarray] = []

    def hook(_module: Any, _inp: Any, out: Any) -> None:
        pooled.append(out.detach().float().mean(dim=(0, *range(2, out.ndim))).cpu().numpy())

    feats, found = [], []
    from .tiling import torch_backend

    handle = seg.net.down[-1].register_forward_hook(hook)
    try:
        with torch_backend():     # the hook needs PyTorch's modules
            for z in sorted(zooms):
                pooled.clear()
                labels = segment_image(seg.net, sub, seg.thresholds, zoom=float(z), tile=tile)
                areas = np.bincount(labels.ravel())[1:]
                areas = areas[areas > 0]
                d = float(np.sqrt(4 * np.median(areas) / np.pi)) if areas.size else float("nan")
                found.append(d)
                style = np.mean(pooled, axis=0) if pooled else np.zeros(1, np.float32)
                rel = np.log(d * z / seg.target_diameter) if np.isfinite(d) else 0.0
                feats.append(np.concatenate([style, [rel, float(not np.isfinite(d)),
                                                     np.log1p(areas.size)]]))
    finally:
        handle.remove()
    return np.concatenate(feats).astype(np.float64), np.asarray(found)


class SizeModel:
    """Ridge regression from :func:`probe_features` to log(object diameter)."""

    def __init__(self, mean: np.ndarray, scale: np.ndarray, coef: np.ndarray,
                 intercept: float, meta: dict[str, Any] | None = None) -> None:
        self.mean, self.scale, self.coef = mean, scale, coef
        self.intercept = float(intercept)
        self.meta = meta or {}

    def predict(self, features: np.ndarray) -> float:
        """Object diameter in pixels of the frame the features came from."""
        x = np.asarray(features, dtype=np.float64)
        if x.shape != self.coef.shape:
            raise ValueError(f"size model expects {self.coef.size} features, got {x.size}")
        x = (x - self.mean) / self.scale
        return float(np.exp(x @ self.coef + self.intercept))

    def save(self, path: str | Path) -> None:
        from ..._atomic import atomic_path

        doc = {"mean": self.mean.tolist(), "scale": self.scale.tolist(),
               "coef": self.coef.tolist(), "intercept": self.intercept, "meta": self.meta}
        with atomic_path(Path(path)) as tmp:
            Path(tmp).write_text(json.dumps(doc))

    @classmethod
    def load(cls, path: str | Path) -> SizeModel:
        doc = json.loads(Path(path).read_text())
        return cls(np.asarray(doc["mean"]), np.asarray(doc["scale"]), np.asarray(doc["coef"]),
                   doc["intercept"], doc.get("meta", {}))


def fit_size_model(features: np.ndarray, diameters: np.ndarray,
                   groups: Sequence[str] | None = None,
                   alphas: Sequence[float] = tuple(np.logspace(-1, 4, 11))) -> SizeModel:
    """Fit log(diameter) on `features` (one row per probed image).

    The ridge strength is chosen by leave-one-group-out cross-validation when
    `groups` (e.g. the data set of each row) name at least 3 groups, so that it is
    picked for images of a kind the regression has not seen; else by RidgeCV's
    efficient leave-one-out.
    """
    from sklearn.linear_model import Ridge, RidgeCV

    x = np.asarray(features, dtype=np.float64)
    y = np.log(np.asarray(diameters, dtype=np.float64))
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    xs = (x - mean) / scale
    meta: dict[str, Any] = {"n": len(y)}
    if groups is not None and len(set(groups)) >= 3:
        g = np.asarray(groups)
        errs = []
        for a in alphas:
            e = []
            for name in np.unique(g):
                held = g == name
                m = Ridge(alpha=float(a)).fit(xs[~held], y[~held])
                e.extend(np.abs(m.predict(xs[held]) - y[held]).tolist())
            errs.append(float(np.median(e)))
        alpha = float(alphas[int(np.argmin(errs))])
        model = Ridge(alpha=alpha).fit(xs, y)
        meta.update(alpha=alpha, cv="leave-one-set-out",
                    cv_median_abs_log_error=round(min(errs), 4))
    else:
        model = RidgeCV(alphas=list(alphas)).fit(xs, y)
        meta.update(alpha=float(model.alpha_), cv="leave-one-out")
    return SizeModel(mean, scale, np.asarray(model.coef_, dtype=np.float64),
                     float(model.intercept_), meta)
