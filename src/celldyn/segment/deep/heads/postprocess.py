"""Targets for the semantic + distance heads and their marker-watershed post-processing.

Targets (:func:`make_targets`), from an instance label image:

* semantic class per pixel: 0 background, 1 interior, 2 boundary (the object's own
  pixels that touch the background or another object, ``find_boundaries(mode="inner")``);
* normalised distance: Euclidean distance to the object's edge (boundary pixels are
  the edge), divided by that object's maximum, so 1 at each object's centre.

Post-processing (:func:`instances_from_maps`): foreground is ``1 - P(background) >
fg_threshold``; markers are connected components of ``distance > marker_threshold``
inside the foreground (one per object when the head is right: touching nuclei are
separated by the dip of the distance at their contact); the watershed of ``-distance``
from the markers, restricted to the foreground, gives the objects. Foreground
components that hold no marker become objects of their own; objects smaller than
``min_size`` pixels are removed (those touching the frame's border: smaller than
``min_size_edge``, where a model sets it), and so are objects narrower than
``min_width`` image pixels (:func:`object_widths`: the widest disc that fits inside;
a model's ``min_width_px``): slivers cut off a cell's thin tail, which no cell the
model resolves is (generalist2d ships 4: benchmarks/RESULTS.md, 'Segmentation: a floor
on object width (slivers)'). Ids are ``1..n`` in raster order of their first pixel.

Why this representation also for the generalist (``generalist2d``: nuclei, bacteria
rods and whole cells in one model), rather than Cellpose/Omnipose flows or StarDist
polygons:

* touching nuclei: the per-object normalised distance dips to 0 on the shared edge (and
  the boundary class marks it), so each nucleus keeps its own marker;
* elongated rods: the distance of a rod is a ridge along its axis, so ``distance >
  0.5`` is one elongated marker per rod, not a chain of pieces; the object's largest
  distance is its half-width whatever its length (StarDist's star-convex polygons
  describe bent rods poorly; Omnipose's distance-based flows were made for this case,
  but need flow tracking per pixel);
* non-convex whole cells: the watershed grows each marker over the whole foreground
  the semantic head finds, so protrusions join their cell body (they hold low
  distance, no marker), whatever the cell's shape;
* cost: two maps and one watershed, a few ms per megapixel on a CPU, and the head is
  scale-free (normalised per object), so one set of levels serves 15 px nuclei and
  110 px HeLa cells once the scale probe has zoomed them to the working size.

Its known weakness: a non-convex cell with two thick lobes joined by a thin neck can
get two markers (two objects); flows would handle that case better.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import ndimage as ndi
from skimage.segmentation import find_boundaries, watershed

__all__ = ["instances_from_maps", "make_targets", "maps_from_logits", "narrow_ids",
           "object_widths", "split_markers"]


def make_targets(
    labels: np.ndarray, sampling: Sequence[float] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Semantic classes (int64) and normalised distance (float32) for `labels`.

    Negative labels mark pixels to ignore (e.g. unannotated nuclei of a partial
    annotation): their class is -1 and their distance -1, which the loss skips.
    """
    labels = np.asarray(labels)
    ignore = labels < 0
    if ignore.any():
        labels = np.where(ignore, 0, labels)
    edge = find_boundaries(labels, mode="inner") & (labels > 0)
    sem = np.zeros(labels.shape, dtype=np.int64)
    sem[labels > 0] = 1
    sem[edge] = 2
    inner = (labels > 0) & ~edge
    dist = np.zeros(labels.shape, dtype=np.float32)
    if inner.any():
        d = ndi.distance_transform_edt(inner, sampling=sampling).astype(np.float32)
        d[edge] = 0.0
        ids = np.unique(labels[labels > 0])
        top = np.zeros(int(labels.max()) + 1, dtype=np.float32)
        top[ids] = ndi.maximum(d, labels, ids)
        denom = top[labels]
        np.divide(d, denom, out=dist, where=denom > 0)
    sem[ignore] = -1
    dist[ignore] = -1.0
    return sem, dist


def maps_from_logits(logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Softmax of the 3 semantic logits and sigmoid of the distance logit.

    `logits` has shape ``(4, [Z,] Y, X)``; returns ``(prob (3, ...), distance (...))``.
    """
    sem = logits[:3].astype(np.float32)
    sem = np.exp(sem - sem.max(axis=0, keepdims=True))
    sem /= sem.sum(axis=0, keepdims=True)
    dist = 1.0 / (1.0 + np.exp(-logits[3].astype(np.float32)))
    return sem, dist


def edge_ids(labels: np.ndarray) -> np.ndarray:
    """Sorted ids of the objects that touch the array's border (any axis).

    >>> lab = np.zeros((4, 5), int); lab[0, 1], lab[2, 2] = 3, 4
    >>> edge_ids(lab).tolist()
    [3]
    """
    faces = [np.take(labels, i, axis=ax).ravel()
             for ax in range(labels.ndim) for i in (0, -1)]
    ids = np.unique(np.concatenate(faces)) if faces else np.zeros(0, labels.dtype)
    return ids[ids > 0]


def _core(labels: np.ndarray) -> np.ndarray:
    """Each object's pixels off its own boundary, padded by one background pixel (so
    that the array's edge counts as background)."""
    return np.pad((labels > 0) & ~find_boundaries(labels, mode="inner"), 1)


def object_widths(labels: np.ndarray) -> np.ndarray:
    """Per id ``0..labels.max()``, the diameter of the widest disc (ball) that fits
    inside the object, in pixels: ``2 d + 1`` with ``d`` the largest distance from one
    of its pixels to a pixel on its own boundary (next to the background or to another
    object). A one-pixel line is 1 wide, a 5-pixel square 5; 0 for absent ids.

    >>> lab = np.zeros((9, 12), int)
    >>> lab[1:6, 1:6] = 1          # a 5 x 5 square
    >>> lab[7, 1:11] = 2           # a one-pixel line
    >>> lab[1:6, 6:9] = 3          # 3 wide, touching the square
    >>> object_widths(lab).tolist()
    [0.0, 5.0, 1.0, 3.0]
    """
    n = int(labels.max())
    if n == 0:
        return np.zeros(1)
    depth = ndi.distance_transform_edt(_core(labels))[(slice(1, -1),) * labels.ndim]
    d = np.zeros(n + 1)
    np.maximum.at(d, labels.ravel(), depth.ravel())
    present = np.bincount(labels.ravel(), minlength=n + 1) > 0
    present[0] = False
    return np.where(present, 2 * d + 1, 0.0)


def narrow_ids(labels: np.ndarray, min_width: float) -> np.ndarray:
    """Sorted ids of the objects narrower than `min_width` (``object_widths(labels) <
    min_width``), by one binary erosion instead of a distance transform: an object is
    at least ``2 r + 1`` wide exactly where some pixel of its core keeps every pixel
    nearer than ``r = (min_width - 1) / 2`` inside the core (about 10 times faster).

    >>> lab = np.zeros((9, 12), int)
    >>> lab[1:6, 1:6], lab[7, 1:11], lab[1:6, 6:9] = 1, 2, 3
    >>> narrow_ids(lab, 4).tolist(), narrow_ids(lab, 5).tolist()
    ([2, 3], [2, 3])
    """
    n = int(labels.max())
    if n == 0 or min_width <= 1:
        return np.zeros(0, np.int64)
    r = (float(min_width) - 1.0) / 2.0
    k = int(np.ceil(r)) - 1 if float(r).is_integer() else int(np.floor(r))
    grid = np.indices((2 * k + 1,) * labels.ndim) - k
    footprint = (grid ** 2).sum(axis=0) < r * r
    inner = ndi.binary_erosion(_core(labels), footprint, border_value=0)
    inner = inner[(slice(1, -1),) * labels.ndim]
    wide = np.bincount(labels[inner].ravel(), minlength=n + 1) > 0
    present = np.bincount(labels.ravel(), minlength=n + 1) > 0
    ids = np.flatnonzero(present & ~wide)
    return ids[ids > 0]


def split_markers(markers: np.ndarray, n: int, dist: np.ndarray, h: float,
                  structure: np.ndarray) -> tuple[np.ndarray, int]:
    """Markers (``1..n``) split at the prominent peaks of `dist` within each: its
    h-maxima (:func:`skimage.morphology.h_maxima`: a peak counts where it rises at least
    `h` above the saddle to a higher peak; of equal peaks, each counts), each marker's
    box on its own, since markers are separated by pixels below the marker level; a
    marker with one such peak is kept as one.
    Two touching cells whose distance does not dip below the marker level between them
    (sisters just after division, nuclei pressed together) get a marker each where the
    dip is at least `h` deep. Off in the shipped models: 0.25 raised generalist2d's
    validation and test AP@0.5 and its own-segmentation divisions on the tracking
    training parts pooled, but cut the E. coli colony's at full frame rate, where rods
    split in some frames and not in the next (benchmarks/RESULTS.md, 'Segmentation:
    markers split at prominent peaks'); ``--param 'thresholds={"marker_h": 0.25}'``.

    >>> d = np.zeros((5, 11)); d[2, 1:10] = [.4, .8, 1, .8, .45, .7, .9, .7, .4]
    >>> m, n = ndi.label(d > 0.3)
    >>> split_markers(m, n, d, 0.25, ndi.generate_binary_structure(2, 1))[1]
    2
    >>> split_markers(m, n, d, 0.6, ndi.generate_binary_structure(2, 1))[1]
    1
    """
    from skimage.morphology import h_maxima

    out = np.zeros(markers.shape, np.int32)
    if n == 0:
        return out, 0
    # a second peak must rise h above a saddle inside the marker, so a marker whose
    # highest point is less than h above its lowest cannot split: kept whole, unread
    ids = np.arange(1, n + 1)
    rise = (np.asarray(ndi.maximum(dist, markers, ids))
            - np.asarray(ndi.minimum(dist, markers, ids)))
    count = 0
    for i, box in enumerate(ndi.find_objects(markers), 1):
        if box is None:
            continue
        if rise[i - 1] < h:
            out[box][markers[box] == i] = count + 1
            count += 1
            continue
        box = tuple(slice(max(0, b.start - 1), b.stop + 1) for b in box)
        own = markers[box] == i
        peaks = h_maxima(np.where(own, dist[box], 0.0).astype(np.float64), h).astype(bool)
        sub, k = ndi.label(peaks & own, structure=structure)
        if k == 0:                      # numerically flat: keep the marker whole
            sub, k = own.astype(np.int32), 1
        view = out[box]
        view[sub > 0] = sub[sub > 0] + count
        count += k
    return out, count


def _relabel_sizes(labels: np.ndarray, min_size: int,
                   min_size_edge: int | None = None, min_width: float = 0.0) -> np.ndarray:
    n = int(labels.max())
    if n == 0:
        return labels.astype(np.int32)
    sizes = np.bincount(labels.ravel(), minlength=n + 1)
    keep = sizes >= max(1, min_size)
    if min_size_edge is not None and min_size_edge != min_size:
        edge = edge_ids(labels)
        keep[edge] = sizes[edge] >= max(1, min_size_edge)
    if min_width > 0:
        keep[narrow_ids(labels, min_width)] = False
    keep[0] = False
    flat = labels.ravel()
    # first-pixel raster order for deterministic ids
    order = np.full(n + 1, flat.size, dtype=np.int64)
    nz = np.flatnonzero(flat)
    np.minimum.at(order, flat[nz], nz)
    kept = np.flatnonzero(keep)
    kept = kept[np.argsort(order[kept], kind="stable")]
    lut = np.zeros(n + 1, dtype=np.int32)
    lut[kept] = np.arange(1, kept.size + 1, dtype=np.int32)
    return lut[labels]


def instances_from_maps(
    prob: np.ndarray,
    dist: np.ndarray,
    *,
    fg_threshold: float = 0.5,
    marker_threshold: float = 0.5,
    min_size: int = 16,
    min_size_edge: int | None = None,
    min_width: float = 0.0,
    marker_h: float = 0.0,
) -> np.ndarray:
    """Instance labels (int32, 0 background) from the head outputs.

    Parameters
    ----------
    prob : (3, [Z,] Y, X) float
        Background / interior / boundary probabilities.
    dist : ([Z,] Y, X) float
        Predicted normalised distance in [0, 1].
    fg_threshold, marker_threshold : float
        Levels on ``1 - P(background)`` and on the distance (``thresholds.json``).
    min_size : int
        Smallest object kept, in pixels (voxels).
    min_size_edge : int, optional
        Smallest object kept among those that touch the frame's border (default
        `min_size`): a cell cut by the edge of the field of view (or of a crop) is
        small because it is cut, not because it is debris.
    min_width : float
        Objects whose widest inscribed disc (:func:`object_widths`) is narrower are
        removed (pixels of `prob`'s grid; 0: none).
    marker_h : float
        Where above 0, each marker is split at the peaks of `dist` that rise at least
        this much above the saddle to a higher one (:func:`split_markers`).
    """
    fg = (1.0 - prob[0]) > fg_threshold
    if not fg.any():
        return np.zeros(fg.shape, dtype=np.int32)
    structure = ndi.generate_binary_structure(fg.ndim, 1)
    markers, n = ndi.label((dist > marker_threshold) & fg, structure=structure)
    if marker_h:
        markers, n = split_markers(markers, n, dist, marker_h, structure)
    labels = watershed(-dist, markers, mask=fg).astype(np.int64)
    rest, n_rest = ndi.label(fg & (labels == 0), structure=structure)
    if n_rest:
        labels[rest > 0] = rest[rest > 0] + n
    return _relabel_sizes(labels, min_size, min_size_edge, min_width)
