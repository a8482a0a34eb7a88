"""Classical segmentation of single frames: threshold, edges, watershed, spots.

scikit-image and ``scipy.ndimage`` do the heavy lifting (``skimage.filters`` thresholds,
``sobel`` and ``canny`` edges, ``peak_local_max`` + ``watershed``, ``blob_log`` /
``blob_dog``). What is ours is the glue: per-frame percentile normalisation, physical
spacing (anisotropic Z) turned into per-axis sigmas and footprints, automatic scale
defaults, consistent int32 labels (0 = background, ids ``1..n``), and robustness to
constant frames (all-zero labels, no warnings).

Every ``segment_*`` function takes one frame, 2D ``(Y, X)`` or 3D ``(Z, Y, X)``, of any
real dtype, and returns int32 labels of the same shape. Lengths (``sigma``,
``min_distance``, ``block_size``) are in pixels along X; with ``spacing`` given, they
are converted per axis so that a 3D stack with coarse Z is treated as round in
physical space. Sizes (``min_size``) are in pixels (voxels); by default the size filter
follows the objects' own size (:func:`auto_min_size`).

Choosing a threshold: the watershed's default level is the triangle method, which sits
just above the background peak and so keeps dim nuclei next to bright ones (CTC
Fluo-N2DH-GOWT1: on GOWT1-01 frames 2 and 21, SEG 0.77 with triangle against 0.30 with
Otsu, which misses the dim nuclei). On dense, blurred objects (as in
:mod:`celldyn.simulate`) the triangle level keeps their rims and joins neighbours; pass
``threshold_method="otsu"`` there. ``benchmarks/accuracy.py`` compares both on every
real set.
:func:`segment_movie` runs one method over every frame of a movie.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import ndimage as ndi
from skimage import feature, filters, morphology, segmentation

from ..errors import ConfigError, InputError
from ..movie import Movie

__all__ = [
    "METHODS",
    "auto_min_size",
    "block_settings",
    "detect_spots",
    "find_spots",
    "normalize_frame",
    "segment_edges",
    "segment_frame",
    "segment_movie",
    "segment_threshold",
    "segment_watershed",
]

ThresholdMethod = Literal["otsu", "li", "triangle", "yen", "local"]
_GLOBAL = {
    "otsu": filters.threshold_otsu,
    "li": filters.threshold_li,
    "triangle": filters.threshold_triangle,
    "yen": filters.threshold_yen,
}
_EPS = 1e-6


# -- shared helpers ---------------------------------------------------------------
def _check_frame(image: ArrayLike) -> np.ndarray:
    arr = np.asarray(image)
    if arr.ndim not in (2, 3) or not (
        np.issubdtype(arr.dtype, np.integer)
        or np.issubdtype(arr.dtype, np.floating)
        or arr.dtype == bool
    ):
        raise InputError(
            "image must be one real-valued frame with axes YX or ZYX; got "
            f"{arr.dtype} with shape {tuple(arr.shape)} (pass movies to segment_movie)"
        )
    if arr.size == 0:
        raise InputError(f"image is empty (shape {tuple(arr.shape)})")
    return arr


def _scale(ndim: int, spacing: Sequence[float] | None) -> np.ndarray:
    """Pixel size per axis in units of the X pixel (1 everywhere without spacing)."""
    if spacing is None:
        return np.ones(ndim)
    sp = np.asarray(spacing, dtype=float)
    if sp.shape != (ndim,) or not np.all(np.isfinite(sp) & (sp > 0)):
        raise InputError(
            f"spacing must be {ndim} positive numbers, one per axis; got {spacing!r}"
        )
    return sp / sp[-1]


def _sigmas(sigma: float, scale: np.ndarray) -> np.ndarray:
    return float(sigma) / scale


def normalize_frame(
    image: ArrayLike, *, low: float = 1.0, high: float = 99.8,
    intensity_range: Sequence[float] | None = None,
) -> np.ndarray | None:
    """Scale a frame to about [0, 1] by its `low` and `high` percentiles (float32), or
    by a given `intensity_range` ``(lo, hi)`` (a block of a larger frame: the frame's).

    Returns None for a constant frame (nothing to segment).
    """
    arr = _check_frame(image).astype(np.float32, copy=False)
    if not np.all(np.isfinite(arr)):
        raise InputError("image contains NaN or infinite values; replace them first")
    rng = _intensity_range(arr, low, high) if intensity_range is None else tuple(
        float(v) for v in intensity_range)
    if rng is None or not rng[1] > rng[0]:
        return None
    lo, hi = rng
    return (arr - np.float32(lo)) / np.float32(hi - lo)


def _intensity_range(arr: np.ndarray, low: float = 1.0,
                     high: float = 99.8) -> tuple[float, float] | None:
    """The intensities :func:`normalize_frame` maps to 0 and 1; None: a constant frame."""
    lo, hi = np.percentile(arr, [low, high])
    if hi - lo <= _EPS * max(1.0, abs(float(hi))):
        lo, hi = float(arr.min()), float(arr.max())
        if hi - lo <= _EPS * max(1.0, abs(hi)):
            return None
    return lo, hi


def _smooth(img: np.ndarray, sigma: float, scale: np.ndarray) -> np.ndarray:
    if sigma and sigma > 0:
        return ndi.gaussian_filter(img, _sigmas(sigma, scale), mode="nearest")
    return img


# The default size filter (min_size=None): objects smaller than this fraction of the
# frame's typical object are fragments or debris, never the floor of MIN_SIZE_FLOOR px.
# "Typical" is the area-weighted median (the size of the object a random foreground
# pixel lies in), which many small fragments do not drag down as they do the median.
# Chosen on training data, the classical watershed on every 4th frame of GOWT1-01 and
# SIM+-01, by the mean detection F1 (CTC DET matching to the TRA markers) of the two:
# fraction 0 (the old fixed 30 px) 0.910, 0.1 0.960, 0.2 0.966, 0.3 0.970, 0.4 0.970,
# 0.5 0.963 (GOWT1-01 29.3 -> 22.4 objects per frame at 0.3 for 22.3 true). 0.3 and
# 0.4 tie; 0.3 keeps more small daughters on the dividing set (SIM+ recall 0.975 vs
# 0.962), and on the embedded E. coli demo (every 2nd frame, dark objects) 0.3 is best
# too (F1 0.640 at 30 px, 0.706 at 0.2, 0.728 at 0.3, 0.676 at 0.4; a plain median at
# 0.3 gives 0.649). The CTC DET score weighs a miss ten times a false object, so the
# demo's DET falls (0.453 -> 0.424) while its count comes closer to the truth. GOWT1-02
# was held out of the choice.
MIN_SIZE_FLOOR = 30
AUTO_MIN_FRACTION = 0.3


def auto_min_size(labels: np.ndarray) -> int:
    """The default size filter of a frame: 0.3 of its typical object size, at least 30.

    Examples
    --------
    >>> lab = np.zeros((60, 60), np.int32)
    >>> lab[:20, :20], lab[30:50, 30:50], lab[0:3, 50:60] = 1, 2, 3  # 400, 400, 30 px
    >>> auto_min_size(lab)
    120
    """
    counts = np.bincount(np.asarray(labels).ravel())[1:]
    counts = np.sort(counts[counts >= MIN_SIZE_FLOOR])
    if counts.size == 0:
        return MIN_SIZE_FLOOR
    weights = np.cumsum(counts) / counts.sum()
    typical = float(counts[np.searchsorted(weights, 0.5)])
    return max(MIN_SIZE_FLOOR, int(AUTO_MIN_FRACTION * typical))


def _relabel(labels: np.ndarray, min_size: int | None = 0) -> np.ndarray:
    """Drop objects smaller than `min_size` (None: :func:`auto_min_size`) and renumber
    to consecutive int32 ids."""
    labels = np.asarray(labels)
    n = int(labels.max()) if labels.size else 0
    if n == 0:
        return np.zeros(labels.shape, dtype=np.int32)
    if min_size is None:
        min_size = auto_min_size(labels)
    counts = np.bincount(labels.ravel(), minlength=n + 1)
    keep = counts >= max(int(min_size), 1)
    keep[0] = False
    lut = np.zeros(n + 1, dtype=np.int32)
    lut[keep] = np.arange(1, int(keep.sum()) + 1, dtype=np.int32)
    return lut[labels]


def _fill(mask: np.ndarray) -> np.ndarray:
    """Fill holes; in 3D also slice by slice (a hole open along Z is still a hole)."""
    out = ndi.binary_fill_holes(mask)
    if mask.ndim == 3:
        out |= np.stack([ndi.binary_fill_holes(s) for s in out])
    return out


def _label(mask: np.ndarray) -> np.ndarray:
    return ndi.label(mask, structure=ndi.generate_binary_structure(mask.ndim, 1))[0]


def _odd(n: float) -> int:
    n = max(3, int(round(n)))
    return n if n % 2 else n + 1


def _foreground(
    img: np.ndarray,
    *,
    method: str,
    block_size: int | None,
    offset: float,
    scale: np.ndarray,
    level: float | None = None,
) -> np.ndarray:
    """Binary foreground of a normalised, smoothed frame (`level`: the threshold, when
    fixed beforehand)."""
    value, thr = _level(img, method=method, block_size=block_size, scale=scale,
                        level=level)
    return value > thr + offset


def _level(img: np.ndarray, *, method: str, block_size: int | None, scale: np.ndarray,
           level: float | None = None) -> tuple[np.ndarray, float]:
    """The image the threshold applies to and the threshold (`level` when given)."""
    if method in _GLOBAL:
        if level is not None:
            return img, float(level)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            thr = float(_GLOBAL[method](img))
        return img, thr
    if method == "local":
        if block_size is None:
            block_size = max(31, min(img.shape[-2:]) // 8)
        sizes = [_odd(block_size / s) for s in scale]
        local = filters.threshold_local(img, block_size=sizes, method="gaussian", offset=0)
        # Otsu on the local contrast (the frame minus its local mean): adapts to uneven
        # illumination, and sparse objects do not drag the level into the background.
        contrast = img - local
        if level is not None:
            return contrast, float(level)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            thr = float(filters.threshold_otsu(contrast))
        return contrast, thr
    raise ConfigError(
        f"threshold method must be one of {sorted([*_GLOBAL, 'local'])}; got {method!r}"
    )


# -- blocks of a large frame ---------------------------------------------------------
def block_settings(
    image: ArrayLike, func: Callable[..., np.ndarray], params: dict[str, Any], *,
    max_pixels: int = 2**24,
) -> tuple[dict[str, Any], Callable[[np.ndarray], np.ndarray]]:
    """Parameters that make a block of `image` segment as it does in the whole frame,
    and the step to apply to the stitched frame (for block-wise segmentation, ours).

    The threshold and watershed methods read statistics of the whole frame: the
    intensity range of :func:`normalize_frame`, the threshold level, the watershed's
    default `min_distance` and the default size filter. They are measured here once,
    on the frame (every k-th pixel per axis when it has more than `max_pixels`: exact
    up to that size, an estimate above) and fixed in the returned parameters; blocks
    keep objects from 30 px and the frame's size filter (:func:`auto_min_size`) runs
    on the stitched frame. The other steps are local, so with blocks overlapping by
    more than the largest clump of touching objects the stitched frame is the
    whole-frame segmentation up to the order of ids. The other methods (edges, spots)
    are returned unchanged: their statistics are the block's.

    Examples
    --------
    >>> img = np.zeros((40, 40)); img[5:15, 5:15] = 1; img[25:35, 20:30] = 2
    >>> fixed, finish = block_settings(img, segment_threshold, {})
    >>> sorted(fixed), fixed["min_size"]
    (['intensity_range', 'level', 'method', 'min_size'], 30)
    """
    params = dict(params)
    if func not in (segment_threshold, segment_watershed):
        return params, lambda labels: labels
    arr = _check_frame(image)
    k = max(1, int(np.ceil((arr.size / max_pixels) ** (1 / arr.ndim))))
    sample = np.asarray(arr[(slice(None, None, k),) * arr.ndim], dtype=np.float32)
    if params.get("intensity_range") is None:
        rng = _intensity_range(sample)
        params["intensity_range"] = (0.0, 0.0) if rng is None else tuple(map(float, rng))
    norm = normalize_frame(sample, intensity_range=params["intensity_range"])
    key = "method" if func is segment_threshold else "threshold_method"
    params.setdefault(key, "otsu" if func is segment_threshold else "triangle")
    if params[key] == "local" and params.get("block_size") is None:
        params["block_size"] = max(31, min(arr.shape[-2:]) // 8)
    auto_size = params.get("min_size") is None
    if norm is not None and params.get("level") is None:
        scale = _scale(arr.ndim, params.get("spacing"))
        sm = _smooth(norm, params.get("smooth_sigma", 2.0) / k, scale)
        bs = params.get("block_size")
        params["level"] = _level(sm, method=params[key], block_size=None if bs is None
                                 else max(3, bs // k), scale=scale)[1]
        if func is segment_watershed and params.get("min_distance") is None:
            fg = sm > params["level"] + params.get("offset", 0.0)
            fg = _fill(fg) if params.get("fill_holes", True) else fg
            floor = MIN_SIZE_FLOOR if auto_size else params["min_size"]
            comps = _relabel(_label(fg), max(1, floor // k**arr.ndim))
            areas = np.bincount(comps.ravel())[1:] * float(np.prod(scale)) * k**arr.ndim
            r = 0.0 if areas.size == 0 else float(
                np.sqrt(np.median(areas) / np.pi) if arr.ndim == 2
                else np.cbrt(np.median(areas) * 3 / (4 * np.pi)))
            params["min_distance"] = max(2.0, 0.5 * r)
    if not auto_size:
        return params, lambda labels: labels
    params["min_size"] = MIN_SIZE_FLOOR
    return params, lambda labels: _relabel(labels, None)


# -- threshold --------------------------------------------------------------------
def segment_threshold(
    image: ArrayLike,
    *,
    method: ThresholdMethod = "otsu",
    block_size: int | None = None,
    offset: float = 0.0,
    min_size: int | None = None,
    smooth_sigma: float = 2.0,
    fill_holes: bool = True,
    spacing: Sequence[float] | None = None,
    intensity_range: Sequence[float] | None = None,
    level: float | None = None,
) -> np.ndarray:
    """Segment a frame by a global or local threshold and connected components.

    Parameters
    ----------
    image : (Y, X) or (Z, Y, X) array
        One frame, any real dtype.
    method : {"otsu", "li", "triangle", "yen", "local"}
        Global threshold from ``skimage.filters.threshold_<method>``, or ``"local"``:
        Otsu's threshold on the local contrast, the frame minus its Gaussian-weighted
        neighbourhood mean (``skimage.filters.threshold_local``), for uneven
        illumination.
    block_size : int, optional
        Neighbourhood size for ``"local"`` in X pixels (made odd); it should be larger
        than an object. Default: an eighth of the smaller of Y and X, at least 31.
    offset : float
        Added to the threshold, in units of the normalised intensity (the 1st to 99.8th
        percentile range of the frame is [0, 1]).
    min_size : int, optional
        Objects with fewer pixels (voxels) are removed. Default: 0.3 of the frame's
        typical object size, at least 30 (:func:`auto_min_size`).
    smooth_sigma : float
        Gaussian smoothing before thresholding, in X pixels; 0 for none.
    fill_holes : bool
        Fill holes in the foreground before labelling.
    spacing : sequence of float, optional
        Pixel size per axis; makes smoothing and the local block isotropic in space.
    intensity_range, level : optional
        The intensities mapped to 0 and 1 (default: the frame's 1st and 99.8th
        percentiles) and the threshold on the normalised, smoothed frame (default: by
        `method`); fixed when a frame is segmented in blocks
        (:func:`block_settings`), so every block uses the whole frame's.

    Returns
    -------
    labels : int32 array of the image's shape
        0 = background, objects ``1..n`` (face connectivity). All zero for a constant
        frame.

    Examples
    --------
    >>> img = np.zeros((32, 32)); img[4:12, 4:12] = 1; img[20:28, 18:30] = 1
    >>> int(segment_threshold(img, min_size=5).max())
    2
    """
    img = normalize_frame(image, intensity_range=intensity_range)
    if img is None:
        return np.zeros(np.shape(image), dtype=np.int32)
    scale = _scale(img.ndim, spacing)
    img = _smooth(img, smooth_sigma, scale)
    fg = _foreground(img, method=method, block_size=block_size, offset=offset, scale=scale,
                     level=level)
    if fill_holes:
        fg = _fill(fg)
    return _relabel(_label(fg), min_size)


# -- edges ------------------------------------------------------------------------
def segment_edges(
    image: ArrayLike,
    *,
    method: Literal["sobel", "canny"] = "sobel",
    sigma: float = 2.0,
    low_threshold: float | None = None,
    high_threshold: float | None = None,
    closing_radius: int = 2,
    min_size: int | None = None,
    spacing: Sequence[float] | None = None,
) -> np.ndarray:
    """Segment a frame from its edges: edge map, closed contours, filled, labelled.

    Parameters
    ----------
    image : (Y, X) or (Z, Y, X) array
        One frame, any real dtype.
    method : {"sobel", "canny"}
        ``"sobel"``: gradient magnitude of the smoothed frame (nD), thresholded by
        Otsu and thinned to one-pixel lines (per Z slice in 3D). ``"canny"``: ``skimage.feature.canny`` edges; in 3D applied slice by
        slice along Z (canny is 2D only).
    sigma : float
        Gaussian smoothing before the edge filter, in X pixels.
    low_threshold, high_threshold : float, optional
        Canny hysteresis thresholds on the gradient of the normalised frame
        (default 0.02 and 0.05).
    closing_radius : int
        Radius of the binary closing that seals small gaps in the contours.
    min_size : int, optional
        Objects with fewer pixels (voxels) are removed. Default: 0.3 of the frame's
        typical object size, at least 30 (:func:`auto_min_size`).
    spacing : sequence of float, optional
        Pixel size per axis (smoothing becomes isotropic in space).

    Returns
    -------
    labels : int32 array of the image's shape

    Notes
    -----
    Edges are sealed by a binary closing, holes filled; the regions strictly inside
    the edge band are labelled and grown back over the band (by ``closing_radius +
    sigma`` for sobel, ``closing_radius + 1`` for canny) within the filled contours.
    Touching objects whose shared contour is weak come out as one; use
    :func:`segment_watershed` to split them.

    Examples
    --------
    >>> img = np.zeros((40, 40)); img[5:15, 5:15] = 1; img[22:35, 20:36] = 1
    >>> int(segment_edges(img, min_size=5).max())
    2
    """
    img = normalize_frame(image)
    if img is None:
        return np.zeros(np.shape(image), dtype=np.int32)
    scale = _scale(img.ndim, spacing)
    sm = _smooth(img, sigma, scale)
    planes = sm[None] if sm.ndim == 2 else sm  # 3D: contours per Z slice
    if method == "sobel":
        mag = np.stack([filters.sobel(p) for p in planes])
        if float(mag.max()) <= _EPS:
            return np.zeros(img.shape, dtype=np.int32)
        band = mag > filters.threshold_otsu(mag)
        # thin the band to its middle line, the object's boundary
        edges = np.stack([morphology.skeletonize(p) for p in band])
    elif method == "canny":
        lo = 0.02 if low_threshold is None else low_threshold
        hi = 0.05 if high_threshold is None else high_threshold
        # already smoothed in Y/X (and Z): no further smoothing inside canny
        edges = np.stack(
            [feature.canny(p, sigma=0, low_threshold=lo, high_threshold=hi) for p in planes]
        )
    else:
        raise ConfigError(f"edge method must be 'sobel' or 'canny'; got {method!r}")
    r = int(closing_radius)
    struct = ndi.generate_binary_structure(2, 1)
    filled = np.empty_like(edges)
    interior = np.empty_like(edges)
    for z, e in enumerate(edges):
        if r > 0:
            e = ndi.binary_closing(e, structure=struct, iterations=r, border_value=0)
        f = ndi.binary_fill_holes(e)
        inner = f & ~e  # strictly inside the closed contours
        if r > 0:
            inner = ndi.binary_opening(inner, structure=struct)  # drop slivers
        filled[z], interior[z] = f, inner
    if img.ndim == 2:
        filled, interior = filled[0], interior[0]
    labels = _label(interior)
    labels = segmentation.expand_labels(labels, distance=r + 1.0, spacing=scale)
    labels[~filled] = 0
    return _relabel(labels, min_size)


# -- watershed --------------------------------------------------------------------
def segment_watershed(
    image: ArrayLike,
    *,
    min_distance: float | None = None,
    threshold_method: ThresholdMethod = "triangle",
    block_size: int | None = None,
    offset: float = 0.0,
    smooth_sigma: float = 2.0,
    min_size: int | None = None,
    fill_holes: bool = True,
    compactness: float = 0.0,
    spacing: Sequence[float] | None = None,
    intensity_range: Sequence[float] | None = None,
    level: float | None = None,
) -> np.ndarray:
    """Split touching objects: threshold, distance transform, peaks, watershed.

    Foreground as in :func:`segment_threshold`; markers are the local maxima of its
    (spacing-aware) Euclidean distance transform at least `min_distance` apart
    (``skimage.feature.peak_local_max``), adjacent plateau maxima joined into one;
    ``skimage.segmentation.watershed`` floods the negated distance from them within
    the foreground.

    Parameters
    ----------
    image : (Y, X) or (Z, Y, X) array
        One frame, any real dtype.
    min_distance : float, optional
        Smallest distance between two object centres, in X pixels; about an object's
        radius. Default: half the median equivalent radius of the foreground's
        connected components (at least 2), so it follows the objects' scale.
    threshold_method, block_size, offset, smooth_sigma, fill_holes, intensity_range, level
        Foreground, as in :func:`segment_threshold`.
    min_size : int, optional
        Objects with fewer pixels (voxels) are removed. Default: 0.3 of the frame's
        typical object size, at least 30 (:func:`auto_min_size`).
    compactness : float
        Compact watershed parameter (0 = classical watershed).
    spacing : sequence of float, optional
        Pixel size per axis; the distance transform and the peak footprint are then
        in physical proportions.

    Returns
    -------
    labels : int32 array of the image's shape

    Examples
    --------
    >>> yy, xx = np.mgrid[:40, :60]
    >>> img = ((yy - 20) ** 2 + (xx - 20) ** 2 < 100) | ((yy - 20) ** 2 + (xx - 37) ** 2 < 100)
    >>> int(segment_watershed(img.astype(float), min_size=5).max())
    2
    """
    img = normalize_frame(image, intensity_range=intensity_range)
    if img is None:
        return np.zeros(np.shape(image), dtype=np.int32)
    scale = _scale(img.ndim, spacing)
    sm = _smooth(img, smooth_sigma, scale)
    fg = _foreground(
        sm, method=threshold_method, block_size=block_size, offset=offset, scale=scale,
        level=level,
    )
    if fill_holes:
        fg = _fill(fg)
    comps = _relabel(_label(fg), MIN_SIZE_FLOOR if min_size is None else min_size)
    if comps.max() == 0:
        return comps
    fg = comps > 0
    dist = ndi.distance_transform_edt(fg, sampling=scale)
    if min_distance is None:
        areas = np.bincount(comps.ravel())[1:] * float(np.prod(scale))
        if img.ndim == 2:
            r = np.sqrt(np.median(areas) / np.pi)
        else:
            r = np.cbrt(np.median(areas) * 3 / (4 * np.pi))
        min_distance = max(2.0, 0.5 * r)
    dist = ndi.gaussian_filter(dist, _sigmas(1.0, scale))
    size = [_odd(2 * float(min_distance) / s + 1) for s in scale]
    peaks = feature.peak_local_max(
        dist,
        footprint=np.ones(size, dtype=bool),
        labels=comps,
        exclude_border=False,
    )
    mask = np.zeros(fg.shape, dtype=bool)
    mask[tuple(peaks.T)] = True
    markers = ndi.label(mask, structure=ndi.generate_binary_structure(fg.ndim, fg.ndim))[0]
    # every component gets a marker, even one without a strict maximum
    missing = np.setdiff1d(np.unique(comps[comps > 0]), np.unique(comps[mask]))
    if missing.size:
        pos = ndi.maximum_position(dist, comps, missing)
        for k, p in enumerate(pos, start=int(markers.max()) + 1):
            markers[p] = k
    labels = segmentation.watershed(-dist, markers, mask=fg, compactness=compactness)
    return _relabel(labels, min_size)


# -- spots ------------------------------------------------------------------------
def find_spots(
    image: ArrayLike,
    *,
    method: Literal["log", "dog"] = "log",
    sigma_min: float = 1.0,
    sigma_max: float = 4.0,
    num_sigma: int = 7,
    threshold: float = 0.05,
    overlap: float = 0.5,
    spacing: Sequence[float] | None = None,
) -> pd.DataFrame:
    """Find blob-like spots with a Laplacian (LoG) or difference of Gaussians (DoG).

    Parameters
    ----------
    image : (Y, X) or (Z, Y, X) array
        One frame, any real dtype; normalised to its percentiles first.
    method : {"log", "dog"}
        ``skimage.feature.blob_log`` or ``blob_dog``.
    sigma_min, sigma_max : float
        Range of blob scales in X pixels; a spot of radius r responds best at
        ``sigma = r / sqrt(ndim)``.
    num_sigma : int
        Scales tried between them (LoG only).
    threshold : float
        Lower bound of the scale-normalised response (normalised intensity units).
    overlap : float
        Two spots overlapping more than this fraction: the smaller is dropped.
    spacing : sequence of float, optional
        Pixel size per axis; sigmas are then scaled per axis.

    Returns
    -------
    DataFrame
        Columns ``[z,] y, x`` (pixels), ``sigma`` (X pixels), ``intensity`` (the
        normalised frame at the spot), sorted by position.
    """
    img = normalize_frame(image)
    nd = np.ndim(image)
    cols = ["z", "y", "x"][-nd:]
    empty = pd.DataFrame({c: pd.Series(dtype=float) for c in [*cols, "sigma", "intensity"]})
    if img is None:
        return empty
    scale = _scale(nd, spacing)
    smin = _sigmas(sigma_min, scale)
    smax = _sigmas(sigma_max, scale)
    iso = bool(np.allclose(scale, 1))
    lo, hi = (float(sigma_min), float(sigma_max)) if iso else (smin, smax)
    if method == "log":
        blobs = feature.blob_log(
            img, min_sigma=lo, max_sigma=hi, num_sigma=int(num_sigma),
            threshold=threshold, overlap=overlap, exclude_border=False,
        )  # fmt: skip
    elif method == "dog":
        blobs = feature.blob_dog(
            img, min_sigma=lo, max_sigma=hi, threshold=threshold,
            overlap=overlap, exclude_border=False,
        )  # fmt: skip
    else:
        raise ConfigError(f"spot method must be 'log' or 'dog'; got {method!r}")
    if len(blobs) == 0:
        return empty
    coords = blobs[:, :nd]
    sig = blobs[:, -1] if blobs.shape[1] == nd + 1 else blobs[:, -1] * scale[-1]
    idx = tuple(np.clip(np.rint(coords).astype(int), 0, np.array(img.shape) - 1).T)
    df = pd.DataFrame(coords, columns=cols)
    df["sigma"] = sig.astype(float)
    df["intensity"] = img[idx].astype(float)
    return df.sort_values(cols, kind="stable").reset_index(drop=True)


def detect_spots(
    image: ArrayLike,
    *,
    method: Literal["log", "dog"] = "log",
    sigma_min: float = 1.0,
    sigma_max: float = 4.0,
    num_sigma: int = 7,
    threshold: float = 0.05,
    overlap: float = 0.5,
    spacing: Sequence[float] | None = None,
) -> np.ndarray:
    """Detect spots (see :func:`find_spots`) and draw each as a small disc or ball.

    The radius of a spot is ``sigma * sqrt(ndim)`` (its blob radius), scaled per axis
    with `spacing`. Where two spots overlap, the brighter keeps the pixels.

    Returns
    -------
    labels : int32 array of the image's shape
        One label per spot, numbered by descending intensity.

    Examples
    --------
    >>> yy, xx = np.mgrid[:32, :32]
    >>> img = np.exp(-((yy - 10) ** 2 + (xx - 10) ** 2) / 8.0)
    >>> int(detect_spots(img).max())
    1
    """
    arr = _check_frame(image)
    spots = find_spots(
        arr, method=method, sigma_min=sigma_min, sigma_max=sigma_max,
        num_sigma=num_sigma, threshold=threshold, overlap=overlap, spacing=spacing,
    )  # fmt: skip
    labels = np.zeros(arr.shape, dtype=np.int32)
    if spots.empty:
        return labels
    nd = arr.ndim
    scale = _scale(nd, spacing)
    cols = ["z", "y", "x"][-nd:]
    spots = spots.sort_values("intensity", ascending=False, kind="stable")
    k = 0
    for row in spots.itertuples(index=False):
        c = np.array([getattr(row, a) for a in cols])
        rad = max(float(row.sigma) * np.sqrt(nd), 1.0) / scale
        lo = np.maximum(np.floor(c - rad).astype(int), 0)
        hi = np.minimum(np.ceil(c + rad).astype(int) + 1, arr.shape)
        if np.any(hi <= lo):
            continue
        grids = np.meshgrid(*[np.arange(a, b) for a, b in zip(lo, hi)], indexing="ij")
        inside = sum(((g - ci) / ri) ** 2 for g, ci, ri in zip(grids, c, rad)) <= 1.0
        box = tuple(slice(a, b) for a, b in zip(lo, hi))
        free = inside & (labels[box] == 0)
        if free.any():
            k += 1
            labels[box][free] = k
    return labels


# -- dispatch ---------------------------------------------------------------------
METHODS: dict[str, Callable[..., np.ndarray]] = {
    "threshold": segment_threshold,
    "edges": segment_edges,
    "watershed": segment_watershed,
    "spots": detect_spots,
}
"""Segmentation methods by name, for :func:`segment_frame` and configs."""


def _method(method: str, params: dict[str, Any]) -> Callable[..., np.ndarray]:
    """Resolve ``"name"`` or ``"name:variant"``; the variant is the function's `method`."""
    name, _, variant = str(method).partition(":")
    if name not in METHODS:
        raise ConfigError(
            f"segmentation method must be one of {sorted(METHODS)} (optionally with a "
            f"variant, e.g. 'threshold:li', 'edges:canny', 'spots:dog'); got {method!r}"
        )
    func = METHODS[name]
    allowed = set(inspect.signature(func).parameters) - {"image"}
    if variant:
        if "method" not in allowed or "method" in params:
            raise ConfigError(f"method {method!r}: give the variant once, after ':'")
        params["method"] = variant
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise ConfigError(
            f"unknown parameters {unknown} for method {name!r}; "
            f"expected some of {sorted(allowed)}"
        )
    return func


def segment_frame(image: ArrayLike, method: str = "watershed", **params: Any) -> np.ndarray:
    """Segment one frame with the method named `method`.

    `method` is a key of :data:`METHODS`, optionally followed by ``:variant`` to pick
    the function's own ``method`` (``"threshold:li"``, ``"threshold:local"``,
    ``"edges:canny"``, ``"spots:dog"``); the bare name uses the function's default.

    Raises
    ------
    ConfigError
        For an unknown method or a parameter the method does not take.

    Examples
    --------
    >>> img = np.zeros((32, 32)); img[4:12, 4:12] = 1
    >>> int(segment_frame(img, "threshold", min_size=5).max())
    1
    """
    params = dict(params)
    return _method(method, params)(image, **params)


def segment_movie(
    movie: Movie | ArrayLike,
    *,
    method: str = "watershed",
    progress: bool | type = False,
    **params: Any,
) -> np.ndarray:
    """Segment every frame of a movie.

    Parameters
    ----------
    movie : Movie or (T, [Z,] Y, X) array
        Single-channel movie; an array is read as ``TYX`` when 3D and ``TZYX`` when 4D
        (wrap it in a :class:`~celldyn.movie.Movie` to state anything else). Numpy or
        dask: frames are loaded one at a time.
    method : str
        A key of :data:`METHODS`, optionally ``name:variant`` (see
        :func:`segment_frame`).
    progress : bool or tqdm-like class
        Show a progress bar over frames (True: ``tqdm.auto.tqdm``).
    **params
        Passed to the method. ``spacing`` defaults to the movie's spacing.

    Returns
    -------
    labels : (T, [Z,] Y, X) int32 array
        Ids are per frame (not tracked).

    Raises
    ------
    InputError
        For a multi-channel movie or an array that is not 3D or 4D.
    ConfigError
        For an unknown method or parameter.
    """
    if isinstance(movie, Movie):
        if "C" in movie.axes:
            raise InputError(
                f"segment_movie needs a single-channel movie; got axes {movie.axes!r} "
                f"with {movie.n_channels} channels; pass movie.channel(i)"
            )
        data = movie.data
        if movie.spacing is not None:
            params.setdefault("spacing", movie.spacing)
    else:
        data = movie if hasattr(movie, "ndim") else np.asarray(movie)
        if data.ndim not in (3, 4):
            raise InputError(
                "movie must have axes TYX or TZYX; got an array with shape "
                f"{tuple(data.shape)}; wrap it in celldyn.Movie with its axes"
            )
    params = dict(params)
    func = _method(method, params)
    from .._frames import map_frames

    return map_frames(lambda frame: func(frame, **params), data, progress=progress,
                      desc=f"segment ({method})")
