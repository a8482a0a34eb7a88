"""Cell crops at one scale and contrast: the input of the real-data phase and mitosis
models, the same for training crops and for celldyn's own objects at run time.

The shipped ``phases`` and ``mitosis`` models were trained on the CellCognition H2B
crops (64 x 64 px, centred on a nucleus, contrast-enhanced upstream; see their model
cards). For a model to see the same thing at run time, every crop, whether a
training crop or a window cut around one of celldyn's objects, passes through
:func:`normalise_crop` and :func:`crop_features`, and the run-time window is scaled so
that a typical (median) nucleus of the frame has the typical nucleus size of the
training crops (``reference_diameter``, in crop pixels, stored with the model).

- scale: the window side is ``window * median_diameter(frame) / reference_diameter``
  pixels, resampled to ``size`` x ``size`` (scipy ``map_coordinates``, linear). The
  frame's median object stands for an interphase nucleus (most nuclei of a movie are
  in interphase), so a movie at any magnification is brought to the training scale,
  and a small metaphase plate stays small relative to it. The median diameter is
  first taken from the label sizes, then re-measured inside the crops with the same
  chromatin mask as the training crops' ``reference_diameter`` (two passes).
- contrast: rank (histogram) equalisation inside the crop
  (``skimage.exposure.equalize_hist``), after a light Gaussian smoothing. Ranks do not
  change under any increasing intensity map, so a raw crop and a crop that was
  contrast-stretched or CLAHE-enhanced over a larger region (as the training crops
  were) look alike.
- the nucleus in a crop: Otsu threshold of the normalised crop, the connected
  component at (or nearest to) the centre (scikit-image).

Ours: the scale rule, the choice of normalisation, the crop features (shape of the
central chromatin mass, its texture via scikit-image grey-level co-occurrence, the
number and spread of chromatin masses in the window) and the phase order used for
smoothing. scikit-image and scipy do the image work.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import ndimage as ndi

from ..errors import InputError

__all__ = ["PHASES", "MITOTIC", "normalise_crop", "training_crops", "cell_crops",
           "nucleus_mask", "crop_features", "crop_feature_names", "reference_diameter",
           "phase_transition", "collapse_to_mitosis"]

PHASES = ("interphase", "prophase", "prometaphase", "metaphase", "early_anaphase",
          "late_anaphase", "telophase", "apoptosis")
"""The CellCognition classes in the order a cell passes through them."""
MITOTIC = ("prophase", "prometaphase", "metaphase", "early_anaphase", "late_anaphase")
"""Phases that count as ``mitosis`` (before the chromatin has split into two nuclei:
telophase daughters are already separate objects and are counted as interphase by the
lineage labels, which mark the frames of a track *before* its division)."""

WINDOW = 64
"""Side of the training crops, in their pixels."""


def normalise_crop(crop: np.ndarray) -> np.ndarray:
    """(n, S, S) crops of raw intensities -> (n, 2, S, S) float32 model input.

    Channel 0: the crop after a light Gaussian smoothing, rank-equalised (values in
    [0, 1], unchanged by any increasing intensity map). Channel 1: the chromatin
    found by :func:`nucleus_mask` on the smoothed crop: 1 on the central nucleus, 0.5
    on other chromatin in the window, 0 on background.
    """
    from skimage.exposure import equalize_hist

    crop = np.asarray(crop, dtype=np.float32)
    if crop.ndim != 3:
        raise InputError(f"crops must be (n, Y, X); got shape {crop.shape}")
    out = np.zeros((len(crop), 2, *crop.shape[-2:]), dtype=np.float32)
    for i, c in enumerate(crop):
        c = ndi.gaussian_filter(c, 0.7)
        if np.ptp(c) <= 0:
            continue
        out[i, 0] = equalize_hist(c, nbins=256)
        fg, centre = nucleus_mask(c)
        out[i, 1] = np.where(centre, 1.0, np.where(fg, 0.5, 0.0))
    return out


def _resample(img: np.ndarray, cy: float, cx: float, side: float, size: int) -> np.ndarray:
    grid = (np.arange(size) + 0.5) / size - 0.5
    yy = cy + grid[:, None] * side
    xx = cx + grid[None, :] * side
    coords = np.stack([np.broadcast_to(yy, (size, size)), np.broadcast_to(xx, (size, size))])
    return ndi.map_coordinates(img, coords, order=1, mode="nearest")


def training_crops(crops: np.ndarray, *, size: int = 48) -> np.ndarray:
    """Training crops (n, S, S) of any dtype -> (n, 2, size, size) normalised crops.

    The crop is resampled (whole window) to `size` exactly as :func:`cell_crops`
    samples a run-time window, then normalised.
    """
    crops = np.asarray(crops)
    if crops.ndim != 3:
        raise InputError(f"crops must be (n, Y, X); got shape {crops.shape}")
    s = crops.shape[-1]
    out = np.stack([_resample(c.astype(np.float32), (s - 1) / 2, (s - 1) / 2, float(s), size)
                    for c in crops]) if len(crops) else np.zeros((0, size, size), np.float32)
    return normalise_crop(out)


def _median_diameters(labels: np.ndarray) -> np.ndarray:
    """Per frame: the median equivalent diameter (pixels) of its objects; nan if none."""
    out = np.full(labels.shape[0], np.nan)
    for t in range(labels.shape[0]):
        lab = np.asarray(labels[t])
        if lab.ndim == 3:
            lab = lab.max(axis=0)
        area = np.bincount(lab.ravel())[1:]
        area = area[area > 0]
        if area.size:
            out[t] = float(np.median(2 * np.sqrt(area / np.pi)))
    return out


def cell_crops(labels: np.ndarray, movie: np.ndarray, objects: pd.DataFrame, *,
               reference_diameter: float, size: int = 48, window: float = WINDOW,
               calibrate: int = 2) -> np.ndarray:
    """Run-time crops around celldyn's objects at the training crops' scale.

    Parameters
    ----------
    labels, movie : (T, [Z,] Y, X) arrays
        Label movie (any ids) and intensities; 3D frames are max-projected along Z.
    objects : DataFrame
        ``t`` and centroid ``y``, ``x`` (pixels) of each object to crop.
    reference_diameter : float
        Median nucleus diameter of the training crops, in their pixels.
    size : int
        Output side in pixels.
    window : float
        Side of a training crop in its pixels (64 for CellCognition).
    calibrate : int
        Passes that re-measure the frame's median nucleus inside the crops, exactly
        as `reference_diameter` was measured on the training crops, and rescale the
        window: the first guess comes from the label sizes, whose outline may differ
        from the chromatin's (markers, a looser segmentation).

    Returns
    -------
    (n, 2, size, size) float32 array, normalised as :func:`normalise_crop`.
    """
    labels = np.asarray(labels)
    movie = np.asarray(movie)
    if labels.shape != movie.shape:
        raise InputError(f"movie shape {movie.shape} differs from labels {labels.shape}")
    diam = _median_diameters(labels)
    t_all = objects["t"].to_numpy().astype(int)
    cy, cx = objects["y"].to_numpy(float), objects["x"].to_numpy(float)
    out = np.zeros((len(objects), 2, size, size), dtype=np.float32)
    for t in np.unique(t_all):
        img = movie[t].astype(np.float32)
        if img.ndim == 3:
            img = img.max(axis=0)
        rows = np.flatnonzero(t_all == t)
        d = diam[t] if np.isfinite(diam[t]) else reference_diameter
        for _ in range(1 + calibrate):
            side = window * d / reference_diameter
            crops = normalise_crop(np.stack([_resample(img, cy[i], cx[i], side, size)
                                             for i in rows]))
            # the frame's median nucleus measured as on the training crops
            seen = np.median([2 * np.sqrt((c[1] > 0.75).sum() / np.pi) for c in crops])
            if seen <= 0:
                break
            d = seen * side / size
        out[rows] = crops
    return out
    return normalise_crop(out)


def nucleus_mask(crop: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Foreground (Otsu threshold, holes filled) of a smoothed crop and its nucleus:
    the largest connected component that reaches the central disk (radius S/8), or
    else the component nearest to the centre. Otsu's threshold depends only on the
    histogram's shape, so an affine intensity change leaves the masks unchanged."""
    from skimage.filters import threshold_otsu

    if np.ptp(crop) <= 0:
        empty = np.zeros(crop.shape, bool)
        return empty, empty
    fg = ndi.binary_fill_holes(crop > threshold_otsu(crop))
    lab, n = ndi.label(fg)
    if n == 0:
        return fg, fg
    S = crop.shape[-1]
    yy, xx = np.mgrid[0:crop.shape[0], 0:S]
    c = (np.asarray(crop.shape) - 1) / 2
    r2 = (yy - c[0]) ** 2 + (xx - c[1]) ** 2
    near = np.unique(lab[(r2 <= (S / 8) ** 2) & (lab > 0)])
    if near.size:
        sizes = np.bincount(lab.ravel())
        k = near[np.argmax(sizes[near])]
    else:
        k = lab[np.unravel_index(np.argmin(np.where(lab > 0, r2, np.inf)), lab.shape)]
    return fg, lab == k


_GLCM = ("contrast", "homogeneity", "energy", "correlation")
_GRANULARITY = (1, 2, 3, 5)


def crop_feature_names() -> list[str]:
    """Names of the columns :func:`crop_features` returns."""
    names = ["c_area", "c_perimeter_ratio", "c_eccentricity", "c_solidity", "c_extent",
             "c_elongation", "c_major", "c_minor", "c_mean_in", "c_std_in", "c_mean_out",
             "c_fg_fraction", "c_n_masses", "c_second_mass", "c_second_dist",
             "c_centre_offset", "c_grad_in", "c_lap_in", "c_bright_fraction",
             "c_radial_cv"]
    names += [f"c_glcm_{p}_{d}" for p in _GLCM for d in (1, 3)]
    names += [f"c_granularity_{r}" for r in _GRANULARITY]
    names += [f"c_hu_{k}" for k in range(7)]
    names += [f"c_lbp_{k}" for k in range(10)]
    names += [f"c_quantile_{q}" for q in (10, 50, 90)]
    names += [f"c_ring_{k}" for k in range(4)]
    return names


def crop_features(crops: np.ndarray) -> pd.DataFrame:
    """Features of the chromatin in normalised crops (n, 2, S, S) from
    :func:`normalise_crop`.

    Shape of the central mass (area relative to the crop, perimeter relative to a
    circle, eccentricity, solidity, extent, axis lengths), intensity ranks inside and
    outside it, the other chromatin masses in the window (number, size of the second
    largest, its distance: anaphase shows two), texture (gradient, Laplacian, bright
    spots, grey-level co-occurrence), and the radial spread of the intensity.
    """
    from skimage.feature import graycomatrix, graycoprops, local_binary_pattern
    from skimage.measure import (
        moments_central,
        moments_hu,
        moments_normalized,
        regionprops,
    )
    from skimage.morphology import disk, opening

    crops = np.asarray(crops, dtype=np.float32)
    if crops.ndim != 4 or crops.shape[1] != 2:
        raise InputError(f"crops must be (n, 2, S, S) from normalise_crop; got {crops.shape}")
    n, S = len(crops), crops.shape[-1]
    rows = np.zeros((n, len(crop_feature_names())))
    yy, xx = np.mgrid[0:S, 0:S]
    for i, (c, lab01) in enumerate(crops):
        m = lab01 > 0.75
        fg = lab01 > 0.25
        if not m.any():
            continue
        p = regionprops(m.astype(np.uint8))[0]
        area = float(p.area)
        major, minor = float(p.axis_major_length), float(p.axis_minor_length)
        grad = ndi.gaussian_gradient_magnitude(c, 1.0)
        lap = ndi.gaussian_laplace(c, 1.0)
        lab, k = ndi.label(fg & ~m)
        sizes = np.bincount(lab.ravel())[1:] if k else np.zeros(0)
        big = sizes[sizes >= 0.1 * area] if sizes.size else sizes
        if big.size:
            j = int(np.argmax(sizes)) + 1
            cyx = np.argwhere(lab == j).mean(axis=0)
            second, sdist = float(sizes.max()) / area, float(
                np.hypot(*(cyx - np.asarray(p.centroid)))) / S
        else:
            second, sdist = 0.0, 0.0
        cy, cx = p.centroid
        r = np.hypot(yy - cy, xx - cx)[m]
        w = c[m]
        radial_cv = float(np.std(r * w) / (np.mean(r * w) + 1e-9))
        q = np.clip((c * 15).astype(np.uint8), 0, 15)
        glcm = graycomatrix(q, [1, 3], [0, np.pi / 4, np.pi / 2, 3 * np.pi / 4], levels=16,
                            symmetric=True, normed=True)
        tex = [graycoprops(glcm, prop).mean(axis=1) for prop in _GLCM]
        rows[i] = [
            area / S**2, float(p.perimeter) / (2 * np.sqrt(np.pi * area) + 1e-9),
            float(p.eccentricity), float(p.solidity), float(p.extent),
            minor / (major + 1e-9), major / S, minor / S,
            float(w.mean()), float(w.std()), float(c[~m].mean()) if (~m).any() else 0.0,
            float(fg.mean()), float(big.size), second, sdist,
            float(np.hypot(cy - (S - 1) / 2, cx - (S - 1) / 2)) / S,
            float(grad[m].mean()), float(lap[m].std()), float((c[m] > 0.95).mean()),
            radial_cv, *[float(v) for t in tex for v in t],
            *_granularity(c, m, opening, disk),
            *[float(np.sign(h) * np.log10(abs(h) + 1e-12)) for h in
              moments_hu(moments_normalized(moments_central(m.astype(float)), 3))],
            *np.bincount(local_binary_pattern((c * 255).astype(np.uint8), 8, 1,
                                              "uniform")[m].astype(int),
                         minlength=10)[:10] / area,
            *np.percentile(w, [10, 50, 90]),
            *_rings(c, m, r, np.sqrt(area / np.pi)),
        ]
    return pd.DataFrame(np.nan_to_num(rows), columns=crop_feature_names())


def _granularity(c, m, opening, disk) -> list[float]:
    """Share of the intensity inside the mask removed by openings of growing radius
    (the granularity spectrum: fine grains in prophase, coarse ones in apoptosis)."""
    total = float(c[m].sum()) + 1e-9
    out, prev = [], c
    for r in _GRANULARITY:
        op = opening(c, disk(r))
        out.append(float((prev - op)[m].sum()) / total)
        prev = op
    return out


def _rings(c, m, r, radius) -> list[float]:
    """Mean intensity in four rings of the nucleus (relative radius), minus the mean."""
    rr = r / (radius + 1e-9)
    w = c[m]
    out = []
    for lo, hi in ((0, 0.35), (0.35, 0.7), (0.7, 1.0), (1.0, 9.0)):
        sel = (rr >= lo) & (rr < hi)
        out.append(float(w[sel].mean() - w.mean()) if sel.any() else 0.0)
    return out


def reference_diameter(crops: np.ndarray, *, window: float = WINDOW) -> float:
    """Median equivalent diameter of the central nucleus of normalised training
    crops, in pixels of the original training crops (side `window`): store it with a
    model trained on them (pass interphase crops)."""
    crops = np.asarray(crops)
    d = [2 * np.sqrt((c[1] > 0.75).sum() / np.pi) for c in crops]
    return float(np.median(d)) * window / crops.shape[-1]


def phase_transition(classes: Sequence[str], *, enter: float = 0.05,
                     stay_mitosis: float = 0.5, apoptosis: float = 0.002) -> np.ndarray:
    """Transitions between the CellCognition phases in the order they occur.

    Interphase enters prophase with probability `enter` per frame; each later phase
    (prophase ... telophase) is kept with probability `stay_mitosis` or left forward,
    to the next phase or, when frames are far apart, past it (each skip half as likely
    as the step before; telophase leads to interphase). Any phase may enter
    apoptosis (rarely), which is absorbing. Backward steps are not allowed. The two
    numbers come from the mitosis / interphase matrix fitted on training lineages
    (:func:`celldyn.classify.temporal.fit_transition`): `enter` is its
    interphase -> mitosis entry, `stay_mitosis` its mitosis -> mitosis entry. Rows
    and columns follow `classes` (which must be the 8 phases).

    Examples
    --------
    >>> A = phase_transition(PHASES)
    >>> bool(np.allclose(A.sum(axis=1), 1)), float(A[3, 1])  # metaphase -> prophase
    (True, 0.0)
    """
    classes = list(classes)
    if sorted(classes) != sorted(PHASES):
        raise InputError(f"phase_transition needs the classes {list(PHASES)}; got {classes}")
    order = list(PHASES[:-1])  # the cycle, without apoptosis
    K = len(classes)
    A = np.zeros((K, K))
    for a in order:
        i = classes.index(a)
        A[i, classes.index("apoptosis")] = apoptosis
        if a == "interphase":
            A[i, classes.index("prophase")] = enter
            A[i, i] = 1 - enter - apoptosis
            continue
        pos = order.index(a)
        ahead = order[pos + 1:] + ["interphase"]
        w = 0.5 ** np.arange(len(ahead))
        w = w / w.sum() * (1 - stay_mitosis - apoptosis)
        for b, v in zip(ahead, w):
            A[i, classes.index(b)] += v
        A[i, i] += stay_mitosis
    A[classes.index("apoptosis"), classes.index("apoptosis")] = 1.0
    A = np.clip(A, 0, None)
    return A / A.sum(axis=1, keepdims=True)


def collapse_to_mitosis(proba: np.ndarray, classes: Sequence[str]) -> np.ndarray:
    """(n, 8) phase probabilities -> (n, 2) [interphase, mitosis]: the mitotic phases
    (:data:`MITOTIC`) summed, everything else (interphase, telophase, apoptosis) as
    not mitotic."""
    classes = list(classes)
    mit = [classes.index(c) for c in MITOTIC]
    pm = np.asarray(proba)[:, mit].sum(axis=1)
    return np.stack([1 - pm, pm], axis=1)
