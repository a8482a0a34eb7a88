"""Local flow: where a cell's neighbours went predicts where it went (ours).

In a growing colony (bacteria pushed outward by their neighbours' growth, an expanding
epithelium) every cell moves with the tissue: at a low frame rate the displacement
between frames can exceed the spacing between cells, so a nearest-position link goes to
the neighbour that now sits where the cell was. Measuring each candidate's distance
from where the *local flow* carries its source (the median displacement of the first
pass's links out of its nearest neighbours) removes that shared motion.

Most movies have no such flow (nuclei and cells that migrate independently): the
neighbours' median step then predicts a cell's own step no better than zero motion,
and measuring from it only adds noise (on the training parts it cost divisions in DIC
HeLa and PSC). So the flow is used only when the movie shows it:
:func:`flow_coherence` is ``1 - median |d_i - f_i| / median |d_i|`` over the first
pass's one-frame links ``d_i``, with ``f_i`` the median step of the ``FLOW_NEIGHBOURS``
nearest *other* sources of the same frame. It is about 0 or below for independent
motion and positive where neighbours move alike; :data:`FLOW_COHERENCE` is the level
above which :func:`celldyn.track.track_objects` relinks with the flow (set by
reasoning, between 0, the independent-motion value, and the values of a growing
colony: benchmarks/RESULTS.md, 'Tracking: local flow').

**Image flow.** When cells move a sizeable fraction of the distance between them in one
frame (the median mutual-nearest-neighbour step at least :data:`MOTION_RATIO` of the
spacing, :mod:`celldyn.track.scale`) and touch (spacing at most :data:`TOUCHING` x the
median equivalent diameter: a growing colony or a tissue imaged every few minutes), the
first pass's links are too often wrong for their neighbours' steps to show the flow
(on the training part of the E. coli colony at every 4th frame the coherence is 0.00).
The images still show it: :func:`image_flow` measures each object's step as the median,
over its mask, of the TV-L1 optical flow between its frame and the next
(:func:`skimage.registration.optical_flow_tvl1`, computed at a quarter of the
resolution: the flow of a colony is smooth; about 0.3 s per megapixel-frame on one
core, E. coli colony frames of 1.3 MP). Before the flow, :func:`colony_affine` maps the
colony as a whole (its objects' centroid and second moments from one frame to the next:
drift and growth), and the optical flow measures only what is left: TV-L1 finds small
motion well and a colony that grows a third between kept frames poorly (on the colony's
training frames at every 4th frame the median error of the per-object step against the
true one fell from 13-19 px to 8-11 px, at every 2nd from 6.1 to 4.6-4.7 px; division F1
0.615 -> 0.744 on GT masks, 0.576 -> 0.613 on celldyn's own segmentation: 'Tracking:
local flow'). The map is kept only where it brings the two frames' foregrounds closer
(intersection over union) than none. The flow is computed only in the box around both
frames' objects (grown by :data:`IMAGE_FLOW_MARGIN`), not on the whole frame: on the
colony's frames 2.5-3x faster, and on its training frames no division lost. With the
movie and its label images at hand,
motion that large and touching cells, :func:`celldyn.track.track_objects` relinks with
that flow instead. Otherwise nothing changes: on every other training set (steps
0.02-0.20 of the spacing, spacing 1.3-3.9 diameters) the per-object optical flow cost
divisions (a rounding mitotic cell's flow is not her daughters' steps), and on separate
blobs moving more than half their spacing it is often wrong. The levels were set by
reasoning between the training sets (benchmarks/RESULTS.md, 'Tracking: local flow'); as
for the local flow, one real set (the colony) is the only positive example. Markers of
touching cells (a CTC marker is smaller than its cell) do not open the gate: a limit.

**Relinking.** :func:`flow_candidates` offers every target within the search radius of
where the flow carries its source (so a cell the colony carried farther than the radius
is still found; the distance is the flowed one) and records each
object's step (``candidates.attrs["step"]``), so that a division is judged from the same
place: the sisters' midpoint and the farther daughter's distance are measured from
where the flow carries their mother, not from where she was (on the colony's training
frames, whole and in windows, GT and own segmentation: TRA up in each of the 7 cells that
changed, 5 more true divisions and 2 more false ones in all; on its test frames division
F1 0.622 -> 0.595 at every 2nd frame, 0.435 -> 0.486 at every 4th: benchmarks/RESULTS.md,
'Tracking: rods' daughters along the mother's axis' and 'Tracking: test parts'). The IoU
term is measured there too (:attr:`~celldyn.track.costs.LinkCosts.iou_flow`: each source
mask moved by its step): on simulated dense colonies at every 2nd frame division F1
about 0.45 -> 0.70-0.90; on the colony's test frames 0.595 -> 0.973 at every 2nd frame,
0.514 -> 0.394 at every 4th ('Tracking: local flow').

Written here: the flows, their coherence, the colony's map (moments by NumPy, the matrix
square root by :func:`scipy.linalg.sqrtm`) and the gates. Nearest neighbours come from
:class:`scipy.spatial.cKDTree`; the optical flow from scikit-image; the assignment is
:func:`~celldyn.track.lap.lap_links`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ..errors import InputError

__all__ = ["FLOW_COHERENCE", "FLOW_NEIGHBOURS", "FLOW_MIN_NEIGHBOURS", "IMAGE_FLOW_DOWNSCALE",
           "IMAGE_FLOW_MARGIN",
           "MOTION_RATIO", "TOUCHING", "colony_affine", "equivalent_diameter", "flow_coherence",
           "neighbour_flow", "image_flow", "image_flow_gate", "flow_candidates", "flow_gate",
           "relink_with_flow"]

FLOW_NEIGHBOURS = 8
"""Neighbours whose first-pass steps make a cell's local flow."""
FLOW_MIN_NEIGHBOURS = 3
"""A cell with fewer linked neighbours within the search radius gets no flow (0)."""
FLOW_COHERENCE = 0.1
"""Relink with the local flow when :func:`flow_coherence` is at least this: the
neighbours' median step explains at least a tenth of a cell's typical step."""
MOTION_RATIO = 0.25
"""Relink with the image flow (movie and label images given, cells touching) when the
median mutual-nearest-neighbour step is at least this fraction of the spacing between
neighbours (:class:`~celldyn.track.scale.MotionScale`)."""
TOUCHING = 1.0
"""Cells touch (a tissue or colony whose images carry texture everywhere) when the
spacing between neighbours is at most this many times the median object's equivalent
diameter: the image flow's second condition."""
IMAGE_FLOW_DOWNSCALE = 4
"""The optical flow is computed on frames shrunk this many times (at most; a frame keeps
at least 64 pixels a side)."""
IMAGE_FLOW_MARGIN = 32
"""The optical flow is computed within the box around both frames' objects grown by
this many shrunk pixels (128 px at 4x), not on the whole frame: a colony that fills a
fifth of the frame costs about a fifth of the time."""
IMAGE_FLOW_WARPS = 3
"""TV-L1 warps per pyramid level (scikit-image's default is 5). On the E. coli colony's
training frames (GT masks, every 1st / 2nd / 4th frame) 3 warps gave the same links as 5
in two thirds of the time; 2 warps with 5 iterations, or frames shrunk 6 or 8 times,
lost divisions at every 4th frame (benchmarks/RESULTS.md, 'Tracking: local flow')."""


def _one_frame_steps(objects: pd.DataFrame, edges: NDArray[np.int64],
                     spacing: Sequence[float] | None
                     ) -> tuple[NDArray[np.float64], NDArray[np.int64],
                                NDArray[np.int64], NDArray[np.float64]]:
    """Positions, frames, the one-frame links and their steps (physical units)."""
    from .candidates import physical_positions

    pos = physical_positions(objects, spacing)
    t = objects["t"].to_numpy(np.int64)
    edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    one = edges[t[edges[:, 1]] - t[edges[:, 0]] == 1]
    return pos, t, one, pos[one[:, 1]] - pos[one[:, 0]]


def flow_coherence(objects: pd.DataFrame, edges: NDArray[np.int64], *,
                   spacing: Sequence[float] | None = None,
                   k: int = FLOW_NEIGHBOURS) -> float:
    """How much of a cell's step its neighbours' median step explains (see the module
    docstring); 0.0 when there are too few links or no motion to judge.

    Examples
    --------
    >>> ys, xs = np.mgrid[0:5, 0:5]
    >>> grid = np.c_[ys.ravel(), xs.ravel()] * 10.0
    >>> rows = [(t, i, *(grid[i] * (1 + 0.1 * t))) for t in range(3) for i in range(25)]
    >>> objects = pd.DataFrame(rows, columns=["t", "label", "y", "x"])
    >>> edges = np.array([[t * 25 + i, (t + 1) * 25 + i] for t in range(2)
    ...                   for i in range(25)])
    >>> flow_coherence(objects, edges) > 0.5      # an expanding sheet
    True
    """
    from scipy.spatial import cKDTree

    from .candidates import frame_groups

    pos, t, one, step = _one_frame_steps(objects, edges, spacing)
    res: list[NDArray[np.float64]] = []
    mag: list[NDArray[np.float64]] = []
    for sel in frame_groups(t[one[:, 0]]).values():   # one sort, not a scan per frame
        if len(sel) <= k:
            continue
        _, idx = cKDTree(pos[one[sel, 0]]).query(pos[one[sel, 0]], k=k + 1)
        flow = np.median(step[sel][idx[:, 1:]], axis=1)  # the other k, not itself
        res.append(np.linalg.norm(step[sel] - flow, axis=1))
        mag.append(np.linalg.norm(step[sel], axis=1))
    if not res:
        return 0.0
    typical = float(np.median(np.concatenate(mag)))
    if typical <= 0:
        return 0.0
    return float(1.0 - np.median(np.concatenate(res)) / typical)


def neighbour_flow(objects: pd.DataFrame, edges: NDArray[np.int64], *, radius: float,
                   spacing: Sequence[float] | None = None,
                   k: int = FLOW_NEIGHBOURS,
                   min_neighbours: int = FLOW_MIN_NEIGHBOURS) -> NDArray[np.float64]:
    """Per detection, the median one-frame step of the first pass's links out of its
    `k` nearest linked sources of the same frame within `radius` (itself included when
    it has a link); zero with fewer than `min_neighbours` of them."""
    from scipy.spatial import cKDTree

    from .candidates import frame_groups

    pos, t, one, step = _one_frame_steps(objects, edges, spacing)
    flow = np.zeros_like(pos)
    by_frame = frame_groups(t)
    for f, sel in frame_groups(t[one[:, 0]]).items():  # one sort, not a scan per frame
        rows = by_frame[f]
        kk = min(k, len(sel))
        dist, idx = cKDTree(pos[one[sel, 0]]).query(pos[rows], k=kk,
                                                     distance_upper_bound=radius)
        dist = np.reshape(dist, (len(rows), kk))
        idx = np.reshape(idx, (len(rows), kk))
        ok = np.isfinite(dist)
        enough = ok.sum(axis=1) >= min_neighbours
        if not enough.any():
            continue
        near = np.where(ok[..., None], step[sel][np.minimum(idx, len(sel) - 1)], np.nan)
        flow[rows[enough]] = np.nanmedian(near[enough], axis=1)
    return flow


def image_flow(objects: pd.DataFrame, movie: Any, labels: Any, *,
               spacing: Sequence[float] | None = None,
               downscale: int = IMAGE_FLOW_DOWNSCALE, align: bool = True,
               margin: int | None = IMAGE_FLOW_MARGIN, progress: bool = False
               ) -> NDArray[np.float64]:
    """Per detection, its step to the next frame as the images show it: the median over
    its mask (``labels[t] == label``) of the TV-L1 optical flow from ``movie[t]`` to
    ``movie[t + 1]`` (both scaled by frame ``t``'s 1st-99.8th percentiles), computed on
    frames shrunk `downscale` times, after :func:`colony_affine`'s map of the whole
    (`align`), within the box around both frames' objects grown by `margin` shrunk
    pixels (None: the whole frame); in units of `spacing` (pixels when None). Zero in
    the last frame and where a frame is missing.

    Examples
    --------
    >>> yy, xx = np.mgrid[:96, :96]
    >>> blob = lambda cy, cx: np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 50.0)
    >>> movie = np.stack([blob(40, 40), blob(40, 46)])
    >>> labels = (movie > 0.3).astype(np.int32)
    >>> objects = pd.DataFrame({"t": [0, 1], "label": [1, 1], "y": [40.0, 40.0],
    ...                         "x": [40.0, 46.0]})
    >>> step = image_flow(objects, movie, labels, downscale=1)[0]
    >>> bool(abs(step[0]) < 1.0 and 4.0 < step[1] < 7.0)
    True
    """
    from scipy import ndimage as ndi
    from skimage.registration import optical_flow_tvl1
    from skimage.transform import rescale

    from .candidates import coord_axes, frame_groups

    t = objects["t"].to_numpy(np.int64)
    lab = objects["label"].to_numpy(np.int64)
    ndim = len(coord_axes(objects))
    flow = np.zeros((len(objects), ndim))
    groups = frame_groups(t)
    frames = [f for f in groups if f + 1 in groups]
    if progress:
        from tqdm.auto import tqdm

        frames = tqdm(frames, desc="image flow", unit="frame")
    for f in frames:
        a = np.asarray(movie[f], np.float32)
        b = np.asarray(movie[f + 1], np.float32)
        mask = np.asarray(labels[f])
        if a.ndim != ndim or a.shape != b.shape or a.shape != mask.shape:
            raise InputError(f"image flow: frame {f} of the movie has shape {a.shape}, its "
                             f"labels {mask.shape}; both must be the objects' {ndim}-D frames")
        inside = np.nonzero(mask)            # the only pixels whose flow is used
        ids = mask[inside]
        if not ids.size:                     # no object pixel: no flow to compute
            continue
        lo, hi = np.percentile(a, [1, 99.8])
        scale = float(hi - lo) if hi > lo else 1.0
        a, b = (a - lo) / scale, (b - lo) / scale
        # the colony's own deformation first (x in frame f is near A x + off in f + 1);
        # the optical flow then measures what is left
        following = np.asarray(labels[f + 1])
        lin, off = (colony_affine(mask, following) if align
                    else (np.eye(ndim), np.zeros(ndim)))
        down = max(1, min(int(downscale), min(a.shape) // 64))
        # only the box around both frames' objects is needed (a colony may fill a
        # fraction of the frame); b is mapped into a's place within it
        box = _flow_box(mask, following, down, margin)
        start = np.array([sl.start for sl in box], float)
        a = a[box]
        if not np.allclose(lin, np.eye(ndim)) or np.any(off):
            b = ndi.affine_transform(b, lin, offset=lin @ start + off, output_shape=a.shape,
                                     order=1, mode="nearest")
        else:
            b = b[box]
        crop = a.shape
        local = [idx - sl.start for idx, sl in zip(inside, box)]
        if down > 1:
            a = rescale(a, 1 / down, anti_aliasing=True)
            b = rescale(b, 1 / down, anti_aliasing=True)
        # (ndim, ...): b(x + field(x)) ~ a(x)
        field = optical_flow_tvl1(a, b, num_warp=IMAGE_FLOW_WARPS)
        rows = groups[f]
        # the shrunk flow is interpolated at the objects' pixels only (bilinear, at the
        # points skimage's resize(order=1) samples) and their median taken per label,
        # instead of resizing the whole field first
        if down > 1:
            at = [(idx + 0.5) * (field.shape[axis + 1] / crop[axis]) - 0.5
                  for axis, idx in enumerate(local)]
        resid = np.empty((ndim, ids.size))
        for axis in range(ndim):
            if down > 1:
                resid[axis] = ndi.map_coordinates(field[axis], at, order=1, mode="mirror")
                resid[axis] *= crop[axis] / a.shape[axis]
            else:
                resid[axis] = field[axis][tuple(local)]
        # each pixel's step: where the residual flow and the colony's map carry it
        pts = np.asarray(inside, float)
        step = lin @ (pts + resid) + off[:, None] - pts
        for axis in range(ndim):
            flow[rows, axis] = ndi.median(step[axis], ids, lab[rows])
    flow = np.nan_to_num(flow)               # an object with no pixel in its frame
    if spacing is not None:
        flow *= np.asarray(spacing, float)[-ndim:]
    return flow


def _flow_box(mask: NDArray, following: NDArray, down: int, margin: int | None
              ) -> tuple[slice, ...]:
    """Where the flow is computed: the box around the objects of `mask` and of the
    `following` frame (where its shape is the frame's), grown by `margin` shrunk pixels
    (at least 64 a side where the frame has them), its first corner on the `down` grid;
    the whole frame when `margin` is None or nothing is labelled."""
    occupied = mask != 0
    if following.shape == mask.shape:
        occupied |= following != 0
    if margin is None or not occupied.any():
        return tuple(slice(0, n) for n in mask.shape)
    box = []
    for axis, n in enumerate(mask.shape):
        hit = np.flatnonzero(occupied.any(axis=tuple(i for i in range(mask.ndim) if i != axis)))
        grow = max(int(margin) * down, (64 * down - int(hit[-1] + 1 - hit[0])) // 2 + down)
        lo = max(0, (int(hit[0]) - grow) // down * down)
        hi = min(n, int(hit[-1]) + 1 + grow)
        box.append(slice(lo, hi))
    return tuple(box)


def colony_affine(mask: NDArray, following: NDArray
                  ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The map ``x -> A x + off`` that carries the objects of `mask` (frame f) onto those
    of `following` (frame f + 1) as a whole: the centroid of their union moved, and its
    second moments stretched (``A = C1^1/2 C0^-1/2``, no rotation), as a colony that grows
    and drifts deforms. Identity where either frame has fewer than 2 objects, the moments
    are degenerate, or the map does not bring the two frames' foregrounds closer than no
    map at all (intersection over union)."""
    from scipy import ndimage as ndi
    from scipy.linalg import sqrtm

    ndim = mask.ndim
    eye, zero = np.eye(ndim), np.zeros(ndim)
    if following.shape != mask.shape:
        return eye, zero
    moments = []
    for m in (mask, following):
        pts = np.argwhere(m != 0).astype(float)
        if len(np.unique(m[m != 0])) < 2 or len(pts) <= ndim:
            return eye, zero
        moments.append((pts.mean(axis=0), np.cov(pts.T)))
    (c0, cov0), (c1, cov1) = moments
    if min(np.linalg.eigvalsh(cov0).min(), np.linalg.eigvalsh(cov1).min()) <= 1e-6:
        return eye, zero
    lin = np.real(sqrtm(cov1) @ np.linalg.inv(sqrtm(cov0)))
    off = c1 - lin @ c0
    fg0, fg1 = mask != 0, following != 0
    moved = ndi.affine_transform(fg1.astype(np.uint8), lin, offset=off, order=0) != 0

    def iou(x: NDArray, y: NDArray) -> float:
        return float((x & y).sum()) / max(1, int((x | y).sum()))

    if iou(fg0, moved) <= iou(fg0, fg1):
        return eye, zero
    return lin, off


def equivalent_diameter(objects: pd.DataFrame, spacing: Sequence[float] | None = None
                        ) -> float:
    """The median object's equivalent diameter (of a disc or ball of its ``area``), in
    units of `spacing` (its geometric mean; pixels when None); NaN without areas."""
    from .candidates import coord_axes

    if "area" not in objects or not len(objects):
        return float("nan")
    ndim = len(coord_axes(objects))
    size = float(np.median(objects["area"].to_numpy(float)))
    d = 2.0 * math.sqrt(size / math.pi) if ndim == 2 else (6.0 * size / math.pi) ** (1 / 3)
    if spacing is not None:
        d *= float(np.prod(np.asarray(spacing, float)[-ndim:])) ** (1.0 / ndim)
    return d


def image_flow_gate(scale: Any, *, movie: Any, labels: Any, flow: Any = None,
                    objects: pd.DataFrame | None = None,
                    spacing: Sequence[float] | None = None) -> tuple[bool, str]:
    """Whether to relink with :func:`image_flow`: forced by ``flow="image"``, else
    (`flow` None) when the movie and its labels are given, the median step of `scale`
    (a :class:`~celldyn.track.scale.MotionScale`) is at least :data:`MOTION_RATIO` of
    its spacing, and the cells touch (that spacing at most :data:`TOUCHING` x the
    equivalent diameter of `objects`); with the run summary's clause ("" when off).

    Sparse cells are left out on purpose: on separate blobs that move more than about
    half their spacing the optical flow is often wrong (tests/track/test_flow.py), and
    the plain assignment already does as well."""
    if flow is False or flow is True:
        return False, ""
    if movie is None or labels is None:
        if flow == "image":
            raise InputError("flow='image' needs the movie and its label images")
        return False, ""
    ratio = (float(scale.median_displacement) / float(scale.spacing)
             if scale is not None and scale.spacing > 0 else 0.0)
    if flow == "image":
        return True, f"image flow on (forced; median step {ratio:.2f} x spacing)"
    if ratio < MOTION_RATIO or objects is None:
        return False, ""
    diameter = equivalent_diameter(objects, spacing)
    touching = float(scale.spacing) / diameter if diameter > 0 else math.inf
    if touching <= TOUCHING:
        return True, (f"image flow on (median step {ratio:.2f} x spacing >= "
                      f"{MOTION_RATIO:g}; cells touch: spacing {touching:.2f} x diameter "
                      f"<= {TOUCHING:g})")
    return False, ""


def flow_candidates(objects: pd.DataFrame, edges: NDArray[np.int64], *, max_distance: float,
                    max_gap: int, spacing: Sequence[float] | None = None,
                    flow: NDArray[np.float64] | None = None) -> pd.DataFrame:
    """The candidate links within `max_distance` with each distance measured from where
    the local flow (:func:`neighbour_flow` of the first pass's `edges`, or the per-row
    `flow` given, e.g. :func:`image_flow`) carries the source, for a second
    assignment."""
    from .candidates import candidate_links

    if flow is None:
        flow = neighbour_flow(objects, edges, radius=max_distance, spacing=spacing)
    flow = np.nan_to_num(np.asarray(flow, float))
    # every target within the search radius of where the flow carries its source: a
    # cell the colony carried farther than the radius is still a candidate when it sits
    # where the flow says; the distance is the flowed one
    cands = candidate_links(objects, max_distance=max_distance, max_gap=max_gap,
                            spacing=spacing, velocities=flow)
    cands.attrs["step"] = flow
    return cands


def flow_gate(objects: pd.DataFrame, edges: NDArray[np.int64], *,
              spacing: Sequence[float] | None = None, flow: bool | None = None
              ) -> tuple[bool, str]:
    """Whether to relink with the local flow (`flow` True or False forces it; None:
    :func:`flow_coherence` of the first pass's `edges` at least :data:`FLOW_COHERENCE`)
    and a clause for the run summary ("" when `flow` is False)."""
    if flow is False:
        return False, ""
    coherence = flow_coherence(objects, edges, spacing=spacing)
    on = bool(flow) or coherence >= FLOW_COHERENCE
    why = ("forced" if coherence < FLOW_COHERENCE else f">= {FLOW_COHERENCE}") if on else (
        f"< {FLOW_COHERENCE}")
    return on, (f"local flow {'on' if on else 'off'} (neighbours' motion coherence "
                f"{coherence:.2f} {why})")


def relink_with_flow(objects: pd.DataFrame, edges: NDArray[np.int64],
                     relink: Callable[[pd.DataFrame], NDArray[np.int64]], *,
                     max_distance: float, max_gap: int,
                     spacing: Sequence[float] | None = None, flow: Any = None,
                     movie: Any = None, labels: Any = None, scale: Any = None,
                     progress: bool = False) -> tuple[NDArray[np.int64], str]:
    """The links again with flow-corrected candidates (`relink(candidates)`) when
    :func:`image_flow_gate` (then with :func:`image_flow`) or :func:`flow_gate` (the
    neighbours' flow) says so; else `edges`. Returns the links and the gate's clause."""
    on, clause = image_flow_gate(scale, movie=movie, labels=labels, flow=flow,
                                 objects=objects, spacing=spacing)
    if on:
        steps = image_flow(objects, movie, labels, spacing=spacing, progress=progress)
        cands = flow_candidates(objects, edges, max_distance=max_distance, max_gap=max_gap,
                                spacing=spacing, flow=steps)
        return relink(cands), clause
    if flow == "image":
        flow = None
    on, clause = flow_gate(objects, edges, spacing=spacing, flow=flow)
    if not on:
        return edges, clause
    cands = flow_candidates(objects, edges, max_distance=max_distance, max_gap=max_gap,
                            spacing=spacing)
    return relink(cands), clause
