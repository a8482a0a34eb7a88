"""The motion scale of a movie, from its own objects: the default search radius.

A tracker needs to know how far an object may move between two frames. The size of the
objects is a poor guide (a CTC tracking marker is a fraction of its nucleus, a rod is
longer than it is wide, a fast cell crosses several diameters), so the default radius
is measured on the movie itself, from the centroids alone:

**Displacements.** Between consecutive frames ``t`` and ``t + 1``, an object and the
object nearest to it in the other frame that has it as its own nearest neighbour
(*mutual nearest neighbours*) are almost always one cell seen twice: where cells are
crowded, the pairs that are not mutual are left out, so the statistic does not grow
with density; a few fast cells move the high quantile little. ``displacement`` is the
``MOTION_QUANTILE`` (95th) percentile of these distances.

**Division offsets.** A daughter is born beside her mother, often farther than a cell
moves in one frame (half a cell length for a rod, a nucleus radius for a nucleus). An
object of frame ``t`` that is the nearest neighbour of exactly two objects of frame
``t + 1``, lying on either side of it (their midpoint within a quarter of their
distance from it, neither more than twice as far from it as the other), is a likely
division (:func:`likely_divisions`); ``division_offset`` is the
``DIVISION_QUANTILE`` (90th) percentile of the two distances over these events, when
there are at least ``MIN_DIVISION_EVENTS`` of them (else NaN: no divisions seen).

**Search radius.** ``max_distance = max(MOTION_FACTOR x displacement,
DIVISION_FACTOR x division_offset)``: one radius, so that the frame-to-frame
assignment can link a mother to her first daughter and the division pass find the
second. A link over ``dt`` frames may reach ``max_distance * sqrt(dt)``
(:func:`~celldyn.track.candidates.search_radius`), and the position cost is measured
in units of it (:mod:`celldyn.track.costs`).

**Division reach, when no division is seen.** With fewer than ``MIN_DIVISION_EVENTS``
likely divisions (too few divisions, or daughters that jump apart, as in the mitosis
of sparse cells) the radius has only the motion term, and ``division_reach =
max(max_distance, DIVISION_FACTOR x UNSEEN_DIVISION_SPACING x spacing)``: a density,
not an object size. Only divisions use it (:mod:`celldyn.track.lap`: a daughter
link's position cost is measured in units of it, and a mother whose daughters both
landed beyond the motion radius may still divide); every other link keeps the motion
radius, so a movie whose cells never divide keeps a tight search. (Until 2026-12-04
the reach widened every link: a held-out movie got false divisions, and a 20 GB
movie of discs that never divide three times the tracker's memory.) With divisions
seen, ``division_reach = max_distance``.

Masks and markers of the same cells have the same centroids, so they get the same
radius. The factors were chosen on simulated movies only (benchmarks/tracking_scale.py,
benchmarks/RESULTS.md "Tracking: motion scale"), never on the real sets scored.

Ours: the estimator (k-d trees of scipy, one frame pair at a time).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from .candidates import frame_groups, physical_positions

__all__ = [
    "ASTRIDE",
    "SPLIT_ASTRIDE",
    "WIDE_ASTRIDE",
    "conservation_reference",
    "conservation_from_links",
    "DIVISION_FACTOR",
    "DIVISION_QUANTILE",
    "MOTION_FACTOR",
    "merge_offsets",
    "MOTION_QUANTILE",
    "MotionScale",
    "division_offsets",
    "estimate_motion_scale",
    "likely_divisions",
    "MIN_CONSERVATION_EVENTS",
    "mutual_displacements",
]

MOTION_QUANTILE = 95.0
"""Percentile of the mutual-nearest-neighbour displacements taken as the displacement."""
MOTION_FACTOR = 3.0
"""Search radius in units of that displacement (chosen on simulated movies)."""
DIVISION_QUANTILE = 90.0
"""Percentile of the likely daughters' offsets taken as the division offset."""
DIVISION_FACTOR = 2.0
"""Search radius in units of that offset (chosen on simulated movies)."""
MAX_OFFSET_RATIO = 2.0
"""A likely division's farther daughter is at most this many times as far from the
mother as the nearer one (a mother continuing into one cell beside a neighbour is not
a division)."""
ASTRIDE = 0.25
"""A likely division's sisters lie astride their mother: their midpoint within this
fraction of their distance from her (:func:`likely_divisions`)."""
SPLIT_ASTRIDE = 0.35
"""The same for a division measured in units of the division reach (no division
seen: :mod:`celldyn.track.lap`) whose first daughter continues the mother's track.
Set by reasoning, between the likely-division rule (0.25) and what a cell that moves
on while a neighbour appears beside it shows (0.5); one true mitosis of the training
part of DIC-HeLa-01 sits at 0.29."""
WIDE_ASTRIDE = 1.0
"""The same for a mother whose track ends where two tracks start within the division
reach (both daughters jumped away): the mother's centroid may sit off their midpoint
(a rounding mitotic cell). Chosen on the training parts with UNSEEN_DIVISION_SPACING
(benchmarks/tracking_iou.py --unseen; weak evidence: a few divisions)."""
MIN_PAIRS = 10
"""Fewer mutual pairs than this: the displacement falls back to the spacing."""
MIN_DIVISION_EVENTS = 3
"""Fewer likely divisions than this: no division offset."""
MIN_CONSERVATION_EVENTS = 8
"""Fewer likely divisions than this: no daughters' size reference
(:func:`conservation_reference`), so the division cost has no summed-size term. A
median and a median absolute deviation of three or four events is a guess (three
hand-drawn markers can agree by chance, and every other division then pays for a
"misfit"); chosen on the training parts cut into short windows (benchmarks/
tracking_short.py; 3 until 2026-12-05)."""
MAX_FRAME_PAIRS = 200
"""Long movies: the statistics use this many frame pairs, evenly spread."""
FALLBACK = 10.0
"""Radius (pixels or spacing units) when the movie has no two objects to measure."""
REFERENCE_FROM_LINKS = True
"""When the movie shows too few likely divisions for the daughters' size reference
(:func:`conservation_reference`), :func:`celldyn.track.track_objects` (LAP) takes it
from the divisions of a first pass (:func:`conservation_from_links`) and links once
more with it. See that function for why; chosen on the training parts
(benchmarks/size_reference.py)."""
UNSEEN_DIVISION_SPACING = 0.5
"""No likely divisions seen (too few, or daughters that jump apart as in mitosis): the
division reach is ``DIVISION_FACTOR`` x this fraction of the spacing (median distance
between neighbours in a frame); a density, not an object size, so markers and masks
still get one reach. Chosen on the training parts (benchmarks/tracking_iou.py
--unseen; decided by the few divisions of DIC-HeLa-01 and GOWT1-01: weak evidence)."""


@dataclass(frozen=True)
class MotionScale:
    """The motion scale of a movie (units of `spacing`, pixels when None).

    Attributes
    ----------
    max_distance : float
        The search radius per frame the trackers use by default.
    division_reach : float
        How far a daughter may lie from her mother (``>= max_distance``; larger only
        when no division is seen, see the module docstring).
    displacement : float
        The ``MOTION_QUANTILE`` percentile of mutual-nearest-neighbour displacements.
    median_displacement : float
        Their median.
    division_offset : float
        The ``DIVISION_QUANTILE`` percentile of likely daughters' offsets from their
        mother (NaN: too few likely divisions).
    spacing : float
        Median distance between an object and its nearest neighbour in its frame.
    pairs, division_events : int
        How many mutual pairs and likely divisions were measured.
    source : str
        ``"data"``, or why a fallback was used.
    """

    max_distance: float
    displacement: float
    median_displacement: float
    division_offset: float
    spacing: float
    pairs: int
    division_events: int
    source: str = "data"
    motion_factor: float = MOTION_FACTOR
    division_factor: float = DIVISION_FACTOR
    merges: bool = False
    division_reach: float = math.nan

    def __post_init__(self) -> None:
        if math.isnan(self.division_reach):
            object.__setattr__(self, "division_reach", self.max_distance)

    def describe(self, unit: str = "px") -> str:
        """One line for a run summary."""
        event = "division or merge" if self.merges else "division"
        text = (f"max distance {self.max_distance:.3g} {unit} = ")
        if not math.isnan(self.division_offset):
            text += (f"max({self.motion_factor:g} x displacement {self.displacement:.3g}, "
                     f"{self.division_factor:g} x {event} offset {self.division_offset:.3g} "
                     f"{unit} ({self.division_events} likely {event}s))")
        else:
            text += (f"{self.motion_factor:g} x displacement {self.displacement:.3g} "
                     f"(no {event}s seen)")
            if self.division_reach > self.max_distance:
                text += (f"; division reach {self.division_reach:.3g} {unit} = "
                         f"{self.division_factor:g} x {UNSEEN_DIVISION_SPACING:g} x spacing "
                         f"{self.spacing:.3g} {unit}")
        if self.source != "data":
            text += f"; {self.source}"
        return text


def _spread(frames: list, most: int) -> list:
    """At most `most` of `frames`, evenly spread over them (long movies)."""
    if len(frames) <= most:
        return frames
    pick = np.linspace(0, len(frames) - 1, most).round().astype(int)
    return [frames[i] for i in np.unique(pick)]


def _frames(objects: pd.DataFrame, max_frame_pairs: int):
    """(rows of frame t, rows of frame t + 1) for consecutive frames with objects,
    at most `max_frame_pairs` of them, evenly spread."""
    groups = frame_groups(objects["t"].to_numpy(np.int64))
    for f in _spread([f for f in groups if f + 1 in groups], max_frame_pairs):
        yield groups[f], groups[f + 1]


def mutual_displacements(
    objects: pd.DataFrame, *, spacing: Sequence[float] | None = None,
    max_frame_pairs: int = MAX_FRAME_PAIRS,
) -> NDArray[np.float64]:
    """Distances between mutual nearest neighbours of consecutive frames.

    Examples
    --------
    >>> objects = pd.DataFrame({"t": [0, 0, 1, 1], "label": [1, 2, 1, 2],
    ...                         "y": [0.0, 50.0, 3.0, 50.0], "x": [0.0, 0.0, 4.0, 1.0]})
    >>> mutual_displacements(objects).tolist()
    [5.0, 1.0]
    """
    pos = physical_positions(objects, spacing)
    out = []
    for ia, ib in _frames(objects, max_frame_pairs):
        a, b = pos[ia], pos[ib]
        dab, iab = cKDTree(b).query(a)
        _, iba = cKDTree(a).query(b)
        mutual = iba[iab] == np.arange(len(a))
        out.append(dab[mutual])
    return np.concatenate(out) if out else np.zeros(0)


def likely_divisions(
    objects: pd.DataFrame, *, spacing: Sequence[float] | None = None,
    max_frame_pairs: int = MAX_FRAME_PAIRS,
) -> NDArray[np.int64]:
    """Likely divisions, as rows ``(mother, daughter 1, daughter 2)`` of `objects`.

    A likely division: an object of frame ``t`` that is the nearest neighbour (in
    frame ``t``) of exactly two objects of frame ``t + 1`` whose midpoint lies within a
    quarter of their distance from it (they are on either side of it), the farther
    at most ``MAX_OFFSET_RATIO`` times as far from it as the nearer. Centroids only.

    Examples
    --------
    >>> objects = pd.DataFrame({"t": [0, 1, 1], "label": [1, 2, 3],
    ...                         "y": [0.0, -6.0, 6.0], "x": [0.0, 1.0, -1.0]})
    >>> likely_divisions(objects).tolist()
    [[0, 1, 2]]
    """
    pos = physical_positions(objects, spacing)
    out = []
    for ia, ib in _frames(objects, max_frame_pairs):
        if len(ib) < 2:
            continue
        a, b = pos[ia], pos[ib]
        _, i = cKDTree(a).query(b)
        count = np.bincount(i, minlength=len(a))
        twice = np.flatnonzero(count == 2)
        if twice.size == 0:
            continue
        order = np.argsort(i, kind="stable")
        first = np.searchsorted(i[order], twice)
        j1, j2 = order[first], order[first + 1]
        mid = 0.5 * (b[j1] + b[j2])
        apart = np.linalg.norm(b[j1] - b[j2], axis=1)
        r1 = np.linalg.norm(b[j1] - a[twice], axis=1)
        r2 = np.linalg.norm(b[j2] - a[twice], axis=1)
        ok = ((np.linalg.norm(mid - a[twice], axis=1) <= ASTRIDE * apart)
              & (np.maximum(r1, r2) <= MAX_OFFSET_RATIO * np.minimum(r1, r2)))
        out.append(np.stack([ia[twice[ok]], ib[j1[ok]], ib[j2[ok]]], axis=1))
    return np.concatenate(out).astype(np.int64) if out else np.zeros((0, 3), np.int64)


def division_offsets(
    objects: pd.DataFrame, *, spacing: Sequence[float] | None = None,
    max_frame_pairs: int = MAX_FRAME_PAIRS, divisions: NDArray[np.int64] | None = None,
) -> NDArray[np.float64]:
    """Offsets of the likely daughters from their mother (two per likely division,
    :func:`likely_divisions`; `divisions`: those already found, computed once per run).

    Examples
    --------
    >>> objects = pd.DataFrame({"t": [0, 1, 1], "label": [1, 2, 3],
    ...                         "y": [0.0, -6.0, 6.0], "x": [0.0, 1.0, -1.0]})
    >>> division_offsets(objects).round(2).tolist()
    [6.08, 6.08]
    """
    ev = (likely_divisions(objects, spacing=spacing, max_frame_pairs=max_frame_pairs)
          if divisions is None else np.asarray(divisions, np.int64).reshape(-1, 3))
    pos = physical_positions(objects, spacing)
    return np.concatenate([np.linalg.norm(pos[ev[:, k]] - pos[ev[:, 0]], axis=1)
                           for k in (1, 2)])


def merge_offsets(
    objects: pd.DataFrame, *, spacing: Sequence[float] | None = None,
    max_frame_pairs: int = MAX_FRAME_PAIRS,
) -> NDArray[np.float64]:
    """Offsets of the likely parents of a merge (fusion) from the merged object: a
    likely merge is a likely division with time reversed (:func:`division_offsets`).

    Examples
    --------
    >>> objects = pd.DataFrame({"t": [0, 0, 1], "label": [1, 2, 3],
    ...                         "y": [-6.0, 6.0, 0.0], "x": [1.0, -1.0, 0.0]})
    >>> merge_offsets(objects).round(2).tolist()
    [6.08, 6.08]
    """
    t = objects["t"].to_numpy(np.int64)
    reversed_time = objects.assign(t=int(t.max(initial=0)) - t)
    return division_offsets(reversed_time, spacing=spacing, max_frame_pairs=max_frame_pairs)


def _spacing(objects: pd.DataFrame, spacing, max_frame_pairs: int) -> float:
    pos = physical_positions(objects, spacing)
    groups = frame_groups(objects["t"].to_numpy(np.int64))
    near = []
    for f in _spread(list(groups), max_frame_pairs):
        p = pos[groups[f]]
        if len(p) > 1:
            near.append(cKDTree(p).query(p, 2)[0][:, 1])
    return float(np.median(np.concatenate(near))) if near else math.nan


def estimate_motion_scale(
    objects: pd.DataFrame, *, spacing: Sequence[float] | None = None,
    max_frame_pairs: int = MAX_FRAME_PAIRS, motion_factor: float = MOTION_FACTOR,
    division_factor: float = DIVISION_FACTOR, divisions: NDArray[np.int64] | None = None,
    merges: bool = False,
) -> MotionScale:
    """Measure the motion scale and the default search radius of a movie.

    Parameters
    ----------
    objects : DataFrame
        Detections with columns ``t`` and centroid ``[z,] y, x`` in pixels (as from
        :func:`celldyn.measure.measure_objects`); no other column is used.
    spacing : sequence of float, optional
        Physical pixel size per spatial axis; distances are in its units.
    max_frame_pairs : int
        At most this many frame pairs are measured (evenly spread over the movie).
    motion_factor, division_factor : float
        The radius in units of the displacement and of the division offset.
    divisions : (K, 3) int array, optional
        The likely divisions (:func:`likely_divisions` with the same `spacing` and
        `max_frame_pairs`), when already found: a run finds them once.
    merges : bool
        Also measure likely merges (:func:`merge_offsets`) and count their parents'
        offsets with the daughters' (tracking with merges: a merged object sits
        between its two parents, farther than either moves).

    Returns
    -------
    MotionScale
        ``max_distance`` is the radius and ``division_reach`` how far a daughter
        may lie from her mother (see the module docstring). Without
        ``MIN_PAIRS`` mutual pairs the displacement is the median nearest-neighbour
        spacing (one object per frame: ``FALLBACK``), and ``source`` says so.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> start = rng.uniform(0, 1000, (50, 2))
    >>> steps = [start + rng.normal(0, 2.0, start.shape) for _ in range(5)]
    >>> objects = pd.DataFrame({"t": np.repeat(np.arange(5), 50),
    ...                         "label": np.tile(np.arange(1, 51), 5),
    ...                         "y": np.concatenate(steps)[:, 0],
    ...                         "x": np.concatenate(steps)[:, 1]})
    >>> scale = estimate_motion_scale(objects)
    >>> bool(3 < scale.displacement < 8)
    True

    No division is seen in these frames, so the radius is 3 x the displacement and
    daughters may lie up to 2 x 0.5 x the spacing from their mother:

    >>> scale.max_distance == 3 * scale.displacement
    True
    >>> scale.division_reach == max(scale.max_distance, 2 * 0.5 * scale.spacing)
    True
    """
    moves = mutual_displacements(objects, spacing=spacing, max_frame_pairs=max_frame_pairs)
    offsets = division_offsets(objects, spacing=spacing, max_frame_pairs=max_frame_pairs,
                               divisions=divisions)
    if merges:
        offsets = np.concatenate([offsets, merge_offsets(
            objects, spacing=spacing, max_frame_pairs=max_frame_pairs)])
    near = _spacing(objects, spacing, max_frame_pairs)
    source = "data"
    if moves.size >= MIN_PAIRS:
        disp = float(np.percentile(moves, MOTION_QUANTILE))
        median = float(np.median(moves))
    elif np.isfinite(near):
        disp = median = near / motion_factor
        source = (f"only {moves.size} mutual pairs: displacement = spacing / "
                  f"{motion_factor:g}")
    else:
        disp = median = FALLBACK / motion_factor
        source = f"no objects to measure: radius {FALLBACK:g}"
    events = offsets.size // 2
    div = (float(np.percentile(offsets, DIVISION_QUANTILE))
           if events >= MIN_DIVISION_EVENTS else math.nan)
    radius = motion_factor * disp
    if np.isfinite(div):
        radius = max(radius, division_factor * div)
    if not radius > 0:  # objects that never move (or all coincide)
        radius = near if np.isfinite(near) and near > 0 else FALLBACK
        source = "no motion measured: radius = spacing"
    reach = radius
    if not np.isfinite(div) and np.isfinite(near) and UNSEEN_DIVISION_SPACING > 0:
        reach = max(radius, division_factor * UNSEEN_DIVISION_SPACING * near)
    return MotionScale(
        max_distance=float(radius), division_reach=float(reach), displacement=disp,
        median_displacement=median,
        division_offset=div, spacing=near, pairs=int(moves.size),
        division_events=int(events), source=source, motion_factor=float(motion_factor),
        division_factor=float(division_factor), merges=bool(merges),
    )


def conservation_reference(
    objects: pd.DataFrame, *, spacing: Sequence[float] | None = None,
    divisions: NDArray[np.int64] | None = None,
) -> tuple[float, float] | None:
    """How the daughters' summed size compares with their mother's in this movie.

    Over the likely divisions of :func:`likely_divisions`
    (centroids only), the median ``c`` of ``log((a1 + a2) / a_m)`` and its median
    absolute deviation ``s``; None without an ``area`` column or with fewer than
    ``MIN_CONSERVATION_EVENTS`` likely divisions (`divisions`: those already found).
    About ``(0, small)`` for full masks, ``(log 2, small)`` for tracking markers of one
    size.

    Examples
    --------
    >>> objects = pd.DataFrame({"t": [0, 1, 1] * 8, "label": [1, 2, 3] * 8,
    ...                         "y": [0.0, -6, 6] * 8, "x": [0.0, 1, -1] * 8,
    ...                         "area": [9.0, 9, 9] * 8})
    >>> objects["t"] += np.repeat(np.arange(0, 16, 2), 3)
    >>> [round(v, 3) for v in conservation_reference(objects)]
    [0.693, 0.0]
    """
    if "area" not in objects:
        return None
    ev = (likely_divisions(objects, spacing=spacing) if divisions is None
          else np.asarray(divisions, np.int64).reshape(-1, 3))
    if len(ev) < MIN_CONSERVATION_EVENTS:
        return None
    return _size_reference(objects, ev)


def _size_reference(objects: pd.DataFrame, events: NDArray[np.int64]) -> tuple[float, float]:
    """Median and median absolute deviation of ``log((a1 + a2) / a_m)`` over `events`
    (rows ``mother, daughter 1, daughter 2`` of `objects`, which has ``area``)."""
    v = np.maximum(objects["area"].to_numpy(float), 1e-12)
    r = np.log((v[events[:, 1]] + v[events[:, 2]]) / v[events[:, 0]])
    centre = float(np.median(r))
    return centre, float(np.median(np.abs(r - centre)))


def conservation_from_links(
    objects: pd.DataFrame, edges: NDArray[np.int64],
) -> tuple[tuple[float, float] | None, int]:
    """The daughters' size reference from the divisions a tracker linked.

    A dense movie or a low frame rate shows few *likely* divisions (a mother nearest
    to exactly two objects astride her: :func:`likely_divisions`): in a crowded colony
    imaged every 4th frame the daughters have slid among their neighbours, so the
    reference of :func:`conservation_reference` is missing and the summed-size term is
    off, just where a neighbour that did not divide gets offered a stranger's daughter
    (its "daughters" then add up to two or three times its size, where true ones add
    up to the growth of the interval). The tracker's own divisions, linked without the
    term, are mostly right, and their median is what one wrong division in a few does
    not move: ``(median, median absolute deviation)`` of ``log((a1 + a2) / a_m)`` over
    the mothers of `edges` (row pairs of `objects`) with exactly two successors, both
    one frame on, as :func:`conservation_reference` measures its events; ``(None, n)``
    with fewer than ``MIN_CONSERVATION_EVENTS`` such divisions or no ``area`` column.
    Markers and masks each get their own centre (about ``log 2`` and the interval's
    growth), so neither kind of input loses its divisions.

    Ours: the reference from linked divisions and its two-pass use.

    Examples
    --------
    >>> objects = pd.DataFrame({"t": [0, 1, 1] * 8, "area": [10.0, 6, 6] * 8})
    >>> objects["t"] += np.repeat(np.arange(0, 16, 2), 3)
    >>> edges = np.array([[3 * i, 3 * i + j] for i in range(8) for j in (1, 2)])
    >>> ref, n = conservation_from_links(objects, edges)
    >>> [round(v, 3) for v in ref], n
    ([0.182, 0.0], 8)
    """
    e = np.asarray(edges, np.int64).reshape(-1, 2)
    if "area" not in objects or len(e) == 0:
        return None, 0
    t = objects["t"].to_numpy()
    e = e[t[e[:, 1]] == t[e[:, 0]] + 1]
    e = e[np.argsort(e[:, 0], kind="stable")]
    src, first, count = np.unique(e[:, 0], return_index=True, return_counts=True)
    two = count == 2
    events = np.stack([src[two], e[first[two], 1], e[first[two] + 1, 1]], axis=1)
    if len(events) < MIN_CONSERVATION_EVENTS:
        return None, len(events)
    return _size_reference(objects, events), len(events)
