"""Linking costs: one place for every term, each one switchable.

Both solvers (:func:`~celldyn.track.lap.track_lap`,
:func:`~celldyn.track.solve_global.track_global`) minimise the same objective over
the candidate links of :func:`~celldyn.track.candidates.candidate_links`::

    sum over chosen links of  cost(link)
    + appear    x (nodes without a predecessor)
    + disappear x (nodes without a successor)
    + division  x (nodes with two successors)
    + merge     x (nodes with two predecessors, only with merges=True)

The cost of a link ``i -> j`` over ``dt`` frames is a weighted sum of terms; a weight
of 0 switches a term off, and a term whose input is missing (no label movie for IoU,
no ``area`` column for the area term) is skipped:

``position`` (weight ``position``)
    ``(d / R)**2``: ``d`` is the physical distance from ``j`` to where ``i`` is
    expected after ``dt`` frames, ``R = max_distance * sqrt(dt)`` the search radius
    (:func:`~celldyn.track.candidates.search_radius`), so the term is at most 1 on a
    candidate. The expected position is ``i``'s own without a motion model; with one
    (``motion``) ``d`` is the smaller of the distances to ``i``'s own position and to
    the one predicted from the track so far (:mod:`celldyn.track.motion`:
    ``"constant_velocity"`` extrapolates the last displacement, ``"kalman"`` a
    constant-velocity Kalman filter), since a daughter is born beside its mother
    whatever the mother's velocity, and cells stop.
``iou`` (weight ``iou``, default 1, needs ``labels``)
    ``1 - IoU`` of the two masks where they lie (no motion model; when the links are
    measured from where a flow carries the source, the source's mask is moved by its
    step first: ``iou_flow``): 0 for a cell that barely moved, 1 for disjoint masks.
    At weight 1 a link that keeps no
    overlap still costs at most 2 (= appear + disappear) on a candidate, so markers
    that never overlap keep every link they had without the term, while in a dense
    colony of full masks the neighbour that overlaps wins. Divisions and merges are
    judged on the union (:func:`union_iou_term`): the IoU price of the two links is
    taken back and ``1 - IoU(mother, d1 + d2)`` paid instead, so the term never makes
    a division dearer for a kind of input (markers: the event costs what it costs
    without the term). Chosen on the training parts: benchmarks/RESULTS.md, "Tracking:
    IoU term (training parts)".
``area`` (weight ``area``, column ``area``)
    ``|log(area_j / area_i)|``: 0 for equal sizes, ``log 2`` for a daughter of half
    its mother's size.
``intensity`` (weight ``intensity``, column ``intensity_mean``)
    ``|log(I_j / I_i)|`` of the mean intensities.
``shape`` (weight ``shape``, columns ``eccentricity`` and/or ``solidity``)
    sum of the absolute differences of those descriptors (each in [0, 1]).
``gap`` (weight ``gap``)
    ``dt - 1``: a price per missing frame, so a gap is chosen only when it pays.

With the defaults (appear = disappear = 1) any candidate whose link cost is below 2
is worth linking rather than ending one track and starting another.

**Divisions** are judged on the daughters' evidence. A division of ``m`` into ``d1,
d2`` (both one frame after ``m``) costs::

    cost(m -> d1) + cost(m -> d2) + division + evidence(m, d1, d2)

(:func:`division_evidence`): ``division_size x |log(a1 / a2)|`` (sisters share the
mother's size equally; plus ``log(median area / (4 a_m))`` for a mother under a quarter
of the median object: debris does not divide) ``+ division_midpoint x (|(x1 + x2) / 2 -
x_m| / R)**2`` (sisters are born on either side of their mother) ``+
division_intensity x |log(I1 / I2)|`` (sisters look alike; off by default) ``+
division_conservation x |log((a1 + a2) / a_m)|`` (the
daughters make up their mother; set it to 0 for sparse frames, where daughters outgrow
their mother, or a condensed mitotic nucleus is smaller than its daughters), minus the ``area`` terms of the two
links, which price a continuation (a daughter of half her mother's size is no evidence
against a division), minus ``(1 - daughter_position)`` of the farther daughter's
position term (a daughter is born half her sisters' distance from her mother; the
midpoint term checks that they lie astride her), and, with the IoU term, the union
term above. For rods, ``division_axis_slack`` (off by default) lets the sisters'
midpoint and their positions slide along the mother's long axis unpriced by that
fraction of her elongation. The alternative is the mother continuing into one daughter
while the other appears, so a division is chosen when ``cost(m -> d2) + division +
evidence < appear``.
The evidence is negative for a clean split (two equal halves, alike: ``-2 x area x log
2``) and positive for an uneven one (an over-segmented nucleus: a small fragment beside
a large piece), so a division cost at or above the appear cost still admits divisions
with good evidence, by a margin of at most ``2 x area x log 2 - cost(m -> d2)``. The
sweep on the training sets: benchmarks/RESULTS.md.

Outside costs (for instance ``-log p`` from a learned model, see
:func:`costs_from_probabilities`) replace the link costs entirely: pass them to the
solvers as ``edge_costs``, one per candidate row; the event costs still come from
:class:`LinkCosts`, and a division then costs its two links plus ``division`` (no
daughters' evidence: the model judges the daughters through its links).

What is ours: the terms and their scaling. IoU comes from per-frame-pair contingency
tables (``numpy.unique`` over the overlapping pixels).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ..errors import ConfigError, InputError
from .candidates import physical_positions, search_radius
from .scale import conservation_reference  # re-exported: it moved to scale.py

__all__ = [
    "AXIS_COLUMNS",
    "MOTION_MODELS",
    "LabelOverlaps",
    "LinkCosts",
    "conservation_reference",
    "costs_from_probabilities",
    "division_evidence",
    "iou_of_candidates",
    "link_costs",
    "position_costs",
    "static_costs",
    "along_axis_slack",
    "union_iou_term",
]

MOTION_MODELS = ("none", "constant_velocity", "kalman")


@dataclass(frozen=True)
class LinkCosts:
    """Weights of the link cost terms and the costs of events.

    All costs are dimensionless; see the module docstring for each term.
    """

    position: float = 1.0
    """Weight of ``(distance / search radius)**2``."""
    iou: float = 1.0
    """Weight of ``1 - IoU`` (used when the solver gets the label movie)."""
    iou_flow: bool = True
    """When the links are measured from where a flow carries each source (the local or
    image flow of :mod:`celldyn.track.flow`), measure the IoU term there too: the
    source's mask moved by its step. False: the masks where they lie. Raw overlaps
    mislead exactly where the flow is needed: in a growing colony imaged every few
    minutes a cell moves about its width, so its raw mask overlaps the neighbour that
    took its place more than its own next mask (benchmarks/RESULTS.md, 'Tracking:
    local flow')."""
    overlap: float = 0.0
    """Weight of ``1 - overlap``: the masks' intersection over the smaller one (used
    when the solver gets the label movie)."""
    area: float = 0.25
    """Weight of ``|log area ratio|`` (used when objects have ``area``)."""
    intensity: float = 0.0
    """Weight of ``|log mean intensity ratio|`` (objects need ``intensity_mean``)."""
    shape: float = 0.0
    """Weight of the eccentricity + solidity differences."""
    gap: float = 0.5
    """Cost per missing frame of a gap-closing link (``dt - 1`` frames)."""
    motion: Literal["none", "constant_velocity", "kalman"] = "none"
    """Motion model predicting where a track goes next."""
    appear: float = 1.0
    """Cost of a node without a predecessor (a track starts)."""
    disappear: float = 1.0
    """Cost of a node without a successor (a track ends)."""
    division: float = 0.25
    """Cost of a division event, on top of both daughter links and the daughters'
    evidence (``division_size``, ``division_intensity``); see the module docstring."""
    division_size: float = 0.5
    """Weight of the daughters' size evidence ``|log(a1 / a2)|`` (objects need
    ``area``; plus ``log(median area / (4 a_mother))`` for a mother under a quarter of
    the median object): 0 when a mother splits into two equal halves. The ``area``
    terms of the two division links are taken back (they price continuations)."""
    division_conservation: float = 0.5
    """Weight of ``|log((a1 + a2) / a_mother)|``: the daughters together are the size
    of their mother. It holds for bacteria and at high frame rates; between sparse
    frames daughters outgrow their mother (and a condensed mitotic nucleus is smaller
    than its daughters), where 0 keeps more divisions (benchmarks/RESULTS.md,
    "Tracking: division costs": SIM+ x4 on the training sets)."""
    division_conservation_spread: float = 1.0
    """With ``division_conservation_from = "movie"``: how many of the reference's median
    absolute deviations ``s`` the daughters' summed size may stray from its centre
    unpriced (the term is ``max(0, |log((a1 + a2) / a_m) - c| - spread x s)``). Swept
    with the weight on the training parts (benchmarks/tracking_short.py --question
    spread): a wider tolerance did not let a larger weight keep hand-drawn markers'
    divisions; 1 with weight 0.5 scored best."""
    division_intensity: float = 0.0
    """Weight of ``|log(I1 / I2)|``, the daughters' mean intensities (objects need
    ``intensity_mean``): sisters look alike. Off by default: it changed nothing on the
    fluorescent training sets, and where objects are dark (phase contrast: mean
    intensities near 0) the ratio of two cells' means is noise that forbade most true
    divisions (benchmarks/RESULTS.md, "Tracking: division costs")."""
    division_conservation_from: Literal["movie", "mother"] = "movie"
    """What the daughters' summed size is compared with. ``"movie"``: the movie's own
    likely divisions (:func:`conservation_reference`): the term is
    ``max(0, |log((a1 + a2) / a_m) - c| - s)`` with ``c`` and ``s`` the median and the
    median absolute deviation of that log ratio over them, so tracking markers (whose
    daughters' markers add up to about twice their mother's) and full masks (about
    once) are judged alike, and an input where the ratio varies widely pays little;
    off when the movie shows fewer than ``MIN_CONSERVATION_EVENTS`` (8) likely
    divisions.
    ``"mother"``: ``|log((a1 + a2) / a_m)|``, the daughters make up their mother (full
    masks only; it priced every marker division as a misfit)."""
    daughter_position: float = 0.25
    """Weight of the farther daughter's position term in a division, relative to a
    link's: a daughter is born half her sisters' distance from her mother, which the
    position term prices as motion, and the midpoint term already asks that the
    sisters lie astride her. The division's evidence takes back ``(1 -
    daughter_position) x position x (d / R)**2``, ``d`` the farther daughter's distance
    from her mother (no motion model or flow: a daughter is born beside her mother).
    Chosen on the training parts (benchmarks/tracking_short.py --question position;
    1 until 2026-12-05)."""
    daughter_position_alike: float = float("inf")
    """The farther daughter's position refund (``daughter_position``) applies only to
    daughters whose sizes differ by at most this factor (``max(a1, a2) / min(a1, a2)``);
    inf: to every pair. A mother that continues while a small fragment of a noisy
    segmentation appears beside her is not a division, and the refund made such pairs
    cheap. Swept on the training parts (benchmarks/tracking_short.py --question
    alike): at 2, celldyn's own segmentation lost 42 of its 392 false divisions and no
    true one, while ground-truth markers (hand-drawn, of uneven size) lost 9 of 845 true
    divisions; the rule fixed before the sweep weighed both alike and kept inf. Worth
    trying at 2 on a noisy segmentation."""
    division_midpoint: float = 1.0
    """Weight of ``(|(x1 + x2) / 2 - x_mother| / R)**2``: sisters are born on either
    side of their mother, so their midpoint is where she was (``R`` the one-frame
    search radius). A mother continuing into one cell beside a neighbour that
    appears has a midpoint half a cell away."""
    division_axis_slack: float = 0.0
    """Rods: how far along her long axis the sisters' midpoint may lie from their
    mother before the midpoint term counts it, as a fraction of her elongation
    (``axis_major_length - axis_minor_length``, 2D objects with ``orientation``): a
    rod's daughters grow and slide along her axis, so between sparse frames their
    midpoint drifts along it (E. coli colony, every 4th frame: offsets up to 0.7 of
    the mother's length along her axis, at most a cell width across it). A round
    object's elongation is near 0, so it keeps the whole term. The daughters' position
    terms count the same shortened offset, and LAP offers a rod, as a second daughter,
    a track starting one frame on beyond the search radius but within it once the slack
    is taken. 0: the isotropic terms, no such daughters. Swept on the training parts
    (benchmarks/tracking_short.py --question axis): at 0.25 the E. coli colony's ground
    truth gained 4 true divisions (847 -> 851 of 904 in all) while celldyn's own
    segmentation of PSC, cut into elongated pieces, gained false ones (391 -> 423); the
    rule fixed before the sweep kept 0. Worth trying at 0.25 on rod-shaped bacteria
    imaged at a low frame rate."""
    merge: float = 0.0
    """Extra cost of a node with two predecessors (only when merges are allowed).

    A merge is chosen when ``cost(end -> merged node) + merge < disappear``; merge
    links pay the area term twice over (the merged object is their sum), hence 0."""
    kalman_process_noise: float = 0.05
    """Kalman filter: acceleration noise, in units of ``max_distance**2`` per frame."""
    kalman_measurement_noise: float = 0.01
    """Kalman filter: centroid noise variance, in units of ``max_distance**2``."""

    def __post_init__(self) -> None:
        for name in (
            "position", "iou", "overlap", "area", "intensity", "shape", "gap", "division_size",
            "division_intensity", "division_conservation", "division_conservation_spread",
            "division_midpoint", "daughter_position", "division_axis_slack",
        ):
            v = getattr(self, name)
            if not (np.isfinite(v) and v >= 0):
                raise ConfigError(f"cost weight {name} must be >= 0; got {v!r}")
        for name in ("appear", "disappear", "division", "merge"):
            if not np.isfinite(getattr(self, name)):
                raise ConfigError(f"{name} cost must be finite; got {getattr(self, name)!r}")
        if not (self.daughter_position_alike >= 1):
            raise ConfigError("daughter_position_alike is a size factor, >= 1 (inf: every "
                              f"pair); got {self.daughter_position_alike!r}")
        if self.division_conservation_from not in ("movie", "mother"):
            raise ConfigError(
                "division_conservation_from must be 'movie' or 'mother' (got "
                f"{self.division_conservation_from!r})"
            )
        if not isinstance(self.iou_flow, (bool, np.bool_)):
            raise ConfigError(f"iou_flow must be True or False; got {self.iou_flow!r}")
        if self.motion not in MOTION_MODELS:
            raise ConfigError(f"motion must be one of {MOTION_MODELS} (got {self.motion!r})")
        for name in ("kalman_process_noise", "kalman_measurement_noise"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"{name} must be positive; got {getattr(self, name)!r}")


def _ratio_term(objects: pd.DataFrame, column: str, s: NDArray, t: NDArray) -> NDArray:
    v = objects[column].to_numpy(float)
    a, b = v[s], v[t]
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.abs(np.log(np.maximum(b, 1e-12) / np.maximum(a, 1e-12)))
    return np.nan_to_num(out, nan=0.0, posinf=0.0)


def iou_of_candidates(
    labels: Any, objects: pd.DataFrame, candidates: pd.DataFrame, *,
    kind: Literal["iou", "overlap"] = "iou",
    step: NDArray[np.float64] | None = None,
) -> NDArray[np.float64]:
    """Intersection over union of the masks of each candidate pair; with ``kind=
    "overlap"`` the intersection over the smaller mask (the overlap coefficient: 1 when
    one mask lies inside the other, as a daughter in her mother). With `step` (per
    object, its flow step per frame in units of ``candidates.attrs["spacing"]``, as
    :func:`~celldyn.track.flow.flow_candidates` records it), each source mask is first
    moved by ``dt x`` its step (rounded to whole pixels): the overlap is measured where
    the flow carries the source, as the position term is.

    Parameters
    ----------
    labels : (T, [Z,] Y, X) int array, numpy or dask
        The label movie the objects were measured on (``objects.label`` is the id of
        an object in ``labels[objects.t]``). A :class:`LabelOverlaps` of it
        reuses the overlaps counted by earlier calls.
    objects, candidates : DataFrame
        As for :func:`link_costs`.

    Returns
    -------
    (len(candidates),) float array in [0, 1]
    """
    src = candidates["source"].to_numpy(np.int64)
    tgt = candidates["target"].to_numpy(np.int64)
    t = objects["t"].to_numpy(np.int64)
    lab = objects["label"].to_numpy(np.int64)
    out = np.zeros(len(candidates), np.float64)
    if len(candidates) == 0:
        return out
    overlaps = labels if isinstance(labels, LabelOverlaps) else LabelOverlaps(labels)
    ta, tb = t[src], t[tgt]
    pair_key = ta * (int(t.max()) + 1) + tb
    order = np.argsort(pair_key, kind="stable")
    _, starts = np.unique(pair_key[order], return_index=True)
    shifts, by_frame = None, {}
    if step is not None:
        from .candidates import frame_groups

        sp = candidates.attrs.get("spacing")
        step = np.nan_to_num(np.asarray(step, float))
        shifts = step / (1.0 if sp is None else np.asarray(sp, float)[-step.shape[1]:])
        by_frame = frame_groups(t)
    for rows in np.split(order, starts[1:]):
        fa, fb = int(ta[rows[0]]), int(tb[rows[0]])
        shift = None
        if shifts is not None:   # each label of frame fa: its move to frame fb, pixels
            in_a = by_frame[fa]
            shift = np.zeros((int(lab[in_a].max(initial=0)) + 1, shifts.shape[1]), np.int64)
            shift[lab[in_a]] = np.rint((fb - fa) * shifts[in_a]).astype(np.int64)
        codes, counts, m = overlaps.pair(fa, fb, shift)
        la, lb = lab[src[rows]], lab[tgt[rows]]
        want = la * m + lb
        inter = np.zeros(len(rows), np.int64)
        if len(codes):
            pos = np.minimum(np.searchsorted(codes, want), len(codes) - 1)
            hit = codes[pos] == want
            inter[hit] = counts[pos[hit]]
        sa, sb = overlaps.sizes(fa), overlaps.sizes(fb)
        area_a = np.where(la < sa.size, sa[np.minimum(la, sa.size - 1)], 0)
        area_b = np.where(lb < sb.size, sb[np.minimum(lb, sb.size - 1)], 0)
        if kind == "overlap":
            union = np.minimum(area_a, area_b)
        else:
            union = area_a + area_b - inter
        out[rows] = np.where(union > 0, inter / np.maximum(union, 1), 0.0)
    return out


class LabelOverlaps:
    """A label movie whose frame pairs' overlap tables are computed once (ours).

    Tracking asks for the IoU of the same frame pairs several times: the first link
    pass, the local-flow relink (:mod:`celldyn.track.flow`), daughters beyond the search
    radius, the merge term. Each call used to read both frames again and count their
    overlapping pixels again (on a 1 GB movie, half of the tracker's time went to the
    relink's second count). Wrapped once, each pair's table (every overlapping label
    pair and its pixel count) and each frame's label sizes are kept: a few numbers per
    object, never a frame; at most ``keep`` frames are held while tables are made.

    Array-like where the trackers need it (``shape``, ``ndim``, ``dtype``, ``[t]``).
    """

    def __init__(self, labels: Any, *, keep: int = 9) -> None:
        self.labels, self.keep = labels, keep
        self.shape = tuple(labels.shape)
        self.ndim, self.dtype = len(self.shape), getattr(labels, "dtype", None)
        self._frames: dict[int, tuple[NDArray, NDArray, NDArray]] = {}
        self._pairs: dict[tuple[int, int], tuple[NDArray, NDArray, int]] = {}
        self._sizes: dict[int, NDArray] = {}

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, index: Any) -> Any:
        return self.labels[index]

    def _frame(self, i: int) -> tuple[NDArray, NDArray, NDArray]:
        """Frame `i` flat, its foreground pixel indices and their labels."""
        if i not in self._frames:
            if len(self._frames) >= self.keep:
                self._frames.pop(min(self._frames))
            if not 0 <= i < self.shape[0]:
                raise InputError(
                    f"objects refer to frame {i} but labels have {self.shape[0]} frames"
                )
            flat = np.asarray(self.labels[i]).ravel()
            fg = np.flatnonzero(flat != 0)  # nonzero of a bool array is faster
            self._frames[i] = (flat, fg, flat[fg].astype(np.int64))
        return self._frames[i]

    def sizes(self, i: int) -> NDArray:
        """Pixels per label of frame `i` (index: label)."""
        if i not in self._sizes:
            self._sizes[i] = np.bincount(self._frame(i)[2])
        return self._sizes[i]

    def pair(self, fa: int, fb: int, shift: NDArray[np.int64] | None = None
             ) -> tuple[NDArray, NDArray, int]:
        """Frames `fa` and `fb`'s overlaps: sorted codes ``label_a * m + label_b`` of
        every overlapping pair, their pixel counts, and `m`. `shift`: per label of frame
        `fa` (row = label), whole pixels to move its mask by before it is laid on
        frame `fb` (pixels moved out of the frame overlap nothing)."""
        key: tuple = (fa, fb)
        if shift is not None:
            shift = np.ascontiguousarray(shift, np.int64)
            if not shift.any():
                shift = None
            else:
                key = (fa, fb, shift.shape, shift.tobytes())  # exact: no hash clash
        if key not in self._pairs:
            (_, fg_a, lab_a), (b, _, lab_b) = self._frame(fa), self._frame(fb)
            # only frame a's foreground pixels can overlap: look b up there
            if shift is None:
                under = b[fg_a].astype(np.int64)
            else:
                shape = self.shape[1:]
                at = np.stack(np.unravel_index(fg_a, shape), axis=1)
                moved = np.zeros((len(lab_a), len(shape)), np.int64)
                known = lab_a < len(shift)
                moved[known] = shift[lab_a[known], :len(shape)]
                at += moved
                inside = np.all((at >= 0) & (at < np.asarray(shape)), axis=1)
                under = np.zeros(len(fg_a), np.int64)
                under[inside] = b[np.ravel_multi_index(tuple(at[inside].T), shape)]
            both = under > 0
            m = int(max(lab_a.max(initial=0), lab_b.max(initial=0))) + 1
            codes, counts = np.unique(lab_a[both] * m + under[both], return_counts=True)
            self._pairs[key] = (codes, counts, m)
        return self._pairs[key]


def _renamed(costs: LinkCosts | None, config: LinkCosts | None, name: str
             ) -> LinkCosts | None:
    """`costs`, or `config`, its old name (one name for the LinkCosts object across
    the package: ``costs``), with a deprecation warning."""
    if config is None:
        return costs
    import warnings

    if costs is not None:
        raise InputError(f"{name}: give costs= only (config= is its old name)")
    warnings.warn(f"{name}(config=...) is deprecated; use costs=", DeprecationWarning,
                  stacklevel=3)
    return config


def static_costs(
    objects: pd.DataFrame,
    candidates: pd.DataFrame,
    *,
    costs: LinkCosts,
    labels: Any = None,
    iou: NDArray[np.float64] | None = None,
) -> NDArray[np.float64]:
    """The link cost terms that do not depend on motion: IoU, appearance and gap.
    `iou`: the candidates' IoU when already computed."""
    src = candidates["source"].to_numpy(np.int64)
    tgt = candidates["target"].to_numpy(np.int64)
    dt = candidates["dt"].to_numpy(np.int64)
    cost = costs.gap * (dt - 1).astype(np.float64)
    if costs.iou > 0 and (labels is not None or iou is not None):
        if iou is None:
            iou = iou_of_candidates(
                labels, objects, candidates,
                step=candidates.attrs.get("step") if costs.iou_flow else None)
        cost += costs.iou * (1.0 - iou)
    if costs.overlap > 0 and labels is not None:
        cost += costs.overlap * (1.0 - iou_of_candidates(
            labels, objects, candidates, kind="overlap",
            step=candidates.attrs.get("step") if costs.iou_flow else None))
    if costs.area > 0 and "area" in objects:
        cost += costs.area * _ratio_term(objects, "area", src, tgt)
    if costs.intensity > 0 and "intensity_mean" in objects:
        cost += costs.intensity * _ratio_term(objects, "intensity_mean", src, tgt)
    if costs.shape > 0:
        for col in ("eccentricity", "solidity"):
            if col in objects:
                v = objects[col].to_numpy(float)
                cost += costs.shape * np.nan_to_num(np.abs(v[tgt] - v[src]))
    return cost


def position_costs(
    objects: pd.DataFrame,
    candidates: pd.DataFrame,
    *,
    costs: LinkCosts,
    max_distance: float | None = None,
    spacing: Sequence[float] | None = None,
    predicted: NDArray[np.float64] | None = None,
) -> NDArray[np.float64]:
    """The position term, weighted.

    `predicted` gives, per candidate row, where the source is expected at the
    target's frame (physical units); without it, the ``distance`` column is used.
    """
    if costs.position == 0:
        return np.zeros(len(candidates))
    max_distance = max_distance or candidates.attrs.get("max_distance")
    if max_distance is None:
        raise InputError("position costs need max_distance (candidates.attrs lacks it)")
    dt = candidates["dt"].to_numpy(np.int64)
    if predicted is None:
        d = candidates["distance"].to_numpy(float)
    else:
        if spacing is None:
            spacing = candidates.attrs.get("spacing")
        pos = physical_positions(objects, spacing)
        tgt = candidates["target"].to_numpy(np.int64)
        src = candidates["source"].to_numpy(np.int64)
        # The motion model may explain a displacement; so may standing still (a
        # daughter is born beside its mother, wherever the mother was heading).
        d = np.minimum(
            np.linalg.norm(pos[tgt] - predicted, axis=1),
            np.linalg.norm(pos[tgt] - pos[src], axis=1),
        )
    return costs.position * (d / search_radius(max_distance, dt)) ** 2


def link_costs(
    objects: pd.DataFrame,
    candidates: pd.DataFrame,
    *,
    costs: LinkCosts | None = None,
    labels: Any = None,
    velocities: NDArray[np.float64] | None = None,
    max_distance: float | None = None,
    spacing: Sequence[float] | None = None,
    config: LinkCosts | None = None,
) -> NDArray[np.float64]:
    """Cost of each candidate link (see the module docstring for the terms).

    Parameters
    ----------
    objects : DataFrame
        Detections (row position = node id).
    candidates : DataFrame
        From :func:`~celldyn.track.candidates.candidate_links`.
    costs : LinkCosts, optional
        Weights; default ``LinkCosts()``. (``config=`` is its old, deprecated name.)
    labels : (T, [Z,] Y, X) int array, optional
        Label movie, for the IoU term.
    velocities : (n, ndim) float array, optional
        Displacement per frame of each source node (physical units): the position
        term is measured from ``position + dt * velocity``. The solvers estimate these
        from the track so far when ``costs.motion`` is not ``"none"``.
    max_distance, spacing : optional
        Default to ``candidates.attrs``.

    Returns
    -------
    (len(candidates),) float64 array

    Examples
    --------
    >>> from celldyn.track.candidates import candidate_links
    >>> objects = pd.DataFrame({"t": [0, 1, 1], "label": [1, 1, 2],
    ...                         "y": [0.0, 1.0, 2.0], "x": [0.0, 0.0, 0.0]})
    >>> cands = candidate_links(objects, max_distance=2)
    >>> link_costs(objects, cands).tolist()
    [0.25, 1.0]
    """
    costs = _renamed(costs, config, "link_costs") or LinkCosts()
    cost = static_costs(objects, candidates, costs=costs, labels=labels)
    predicted = None
    if velocities is not None:
        sp = spacing if spacing is not None else candidates.attrs.get("spacing")
        pos = physical_positions(objects, sp)
        src = candidates["source"].to_numpy(np.int64)
        dt = candidates["dt"].to_numpy(np.int64)
        predicted = pos[src] + dt[:, None] * np.asarray(velocities, float)[src]
    cost += position_costs(
        objects, candidates, costs=costs, max_distance=max_distance, spacing=spacing,
        predicted=predicted,
    )
    return cost


def division_evidence(
    objects: pd.DataFrame,
    mother: NDArray[np.int64],
    d1: NDArray[np.int64],
    d2: NDArray[np.int64],
    *,
    costs: LinkCosts | None = None,
    link_terms: bool = True,
    max_distance: float | None = None,
    spacing: Sequence[float] | None = None,
    conservation: tuple[float, float] | None = None,
    config: LinkCosts | None = None,
    link_iou: tuple[NDArray[np.float64], NDArray[np.float64]] | None = None,
    step: NDArray[np.float64] | None = None,
) -> NDArray[np.float64]:
    """What a division ``mother -> (d1, d2)`` costs beyond its two links and ``division``.

    ``division_size * (|log(a1 / a2)| + max(0, log(median area / (4 a_m))))`` (the
    daughters share the mother's size equally; the mother is a grown cell, not a speck
    of less than a quarter of the median object of the table) ``+ division_intensity *
    |log(I1 / I2)|`` (sisters look alike) ``+ division_conservation * |log((a1 + a2) /
    a_m)|`` (the daughters make up the mother; with ``division_conservation_from =
    "movie"`` measured from `conservation`, the ``(centre, tolerance)`` of
    :func:`conservation_reference`, and off when it is None). With ``link_terms`` (link costs from
    :func:`link_costs`), the ``area`` terms
    the two links paid (``|log(a_i / a_m)|``, which penalise a daughter for being half
    her mother) are taken back, so they only price a continuation. With `max_distance`
    (the one-frame search radius ``R``, in units of `spacing`), ``division_midpoint *
    (|(x1 + x2) / 2 - x_m| / R)**2``: the sisters' midpoint is where their mother was.
    With `step` (one row per object of `objects`: where the movie's flow carries each
    object in one frame, physical units, as the links were measured:
    :func:`celldyn.track.flow.flow_candidates`), the mother's position is her own plus
    her step, for the midpoint and the farther daughter's distance alike.
    The result may be negative: good evidence makes a division cheaper than its links.

    Examples
    --------
    >>> objects = pd.DataFrame({"t": [0, 1, 1], "label": [1, 1, 2], "y": [0.0, 0, 0],
    ...                         "x": [0.0, -2, 2], "area": [100.0, 50.0, 50.0]})
    >>> float(division_evidence(objects, [0], [1], [2]).round(3)[0])
    -0.347
    """
    costs = _renamed(costs, config, "division_evidence") or LinkCosts()
    m, a, b = (np.asarray(v, np.int64) for v in (mother, d1, d2))
    out = np.zeros(len(m))
    if len(m) == 0:
        return out
    if "area" in objects:
        v = np.maximum(objects["area"].to_numpy(float), 1e-12)
        with np.errstate(invalid="ignore"):
            size = np.abs(np.log(v[a] / v[b]))
            # a dividing mother is a grown cell, not a speck: one below a quarter of the
            # median object size pays for it
            size += np.maximum(0.0, np.log(0.25 * np.median(v) / v[m]))
            out += costs.division_size * np.nan_to_num(size)
            if costs.division_conservation > 0 and costs.division_conservation_from == "mother":
                kept = np.abs(np.log((v[a] + v[b]) / v[m]))
                out += costs.division_conservation * np.nan_to_num(kept)
            elif costs.division_conservation > 0 and conservation is not None:
                centre, tolerance = conservation
                off = (np.abs(np.log((v[a] + v[b]) / v[m]) - centre)
                       - costs.division_conservation_spread * tolerance)
                out += costs.division_conservation * np.nan_to_num(np.maximum(off, 0.0))
            if link_terms and costs.area > 0:
                paid = np.abs(np.log(v[a] / v[m])) + np.abs(np.log(v[b] / v[m]))
                out -= costs.area * np.nan_to_num(paid)
    if costs.division_intensity > 0 and "intensity_mean" in objects:
        out += costs.division_intensity * _ratio_term(objects, "intensity_mean", a, b)
    if costs.iou > 0 and link_iou is not None and "area" in objects:
        out += costs.iou * union_iou_term(objects, m, a, b, link_iou, link_terms)
    slack = costs.division_axis_slack
    priced = link_terms and costs.position > 0 and (costs.daughter_position != 1 or slack > 0)
    if max_distance and (costs.division_midpoint > 0 or priced):
        pos = physical_positions(objects, spacing)
        if step is not None:   # the mother where the flow carries her
            origin = pos[m] + np.nan_to_num(np.asarray(step, float)[m])
        else:
            origin = pos[m]
    if costs.division_midpoint > 0 and max_distance:
        off = 0.5 * (pos[a] + pos[b]) - origin
        if slack > 0:
            off = along_axis_slack(objects, m, off, slack, spacing)
        out += costs.division_midpoint * (np.linalg.norm(off, axis=1)
                                          / float(max_distance)) ** 2
    if priced and max_distance:
        r2 = float(max_distance) ** 2
        dist = [np.linalg.norm(pos[d] - origin, axis=1) for d in (a, b)]
        if slack > 0:   # a rod's daughter pays only her offset beyond the slack
            eff = [np.linalg.norm(along_axis_slack(objects, m, pos[d] - origin, slack,
                                                   spacing), axis=1) for d in (a, b)]
            out -= costs.position * sum(x ** 2 - y ** 2 for x, y in zip(dist, eff)) / r2
            dist = eff
        far = np.maximum(dist[0], dist[1])
        back = ((1.0 - costs.daughter_position) * costs.position
                * (far / float(max_distance)) ** 2)
        if np.isfinite(costs.daughter_position_alike) and "area" in objects:
            v = np.maximum(objects["area"].to_numpy(float), 1e-12)
            ratio = np.maximum(v[a], v[b]) / np.minimum(v[a], v[b])
            back = np.where(ratio <= costs.daughter_position_alike, back, 0.0)
        out -= back
    return out


AXIS_COLUMNS = ("orientation", "axis_major_length", "axis_minor_length")
"""The columns :func:`along_axis_slack` reads (2D regionprops)."""


def along_axis_slack(
    objects: pd.DataFrame,
    mother: NDArray[np.int64],
    offset: NDArray[np.float64],
    slack: float,
    spacing: Sequence[float] | None = None,
) -> NDArray[np.float64]:
    """`offset` (one row per mother, physical units) with its component along each
    mother's long axis shortened by ``slack x (axis_major_length -
    axis_minor_length)`` (not below 0); the component across the axis is kept. Unchanged
    where the table lacks :data:`AXIS_COLUMNS`, for 3D objects, and for a mother whose
    axis is not measured (NaN).

    Examples
    --------
    >>> objects = pd.DataFrame({"t": [0], "label": [1], "y": [0.0], "x": [0.0],
    ...                         "orientation": [0.0], "axis_major_length": [50.0],
    ...                         "axis_minor_length": [10.0]})
    >>> along_axis_slack(objects, np.array([0]), np.array([[30.0, 5.0]]), 0.5).tolist()
    [[10.0, 5.0]]
    """
    offset = np.asarray(offset, float)
    if offset.shape[1] != 2 or not all(c in objects for c in AXIS_COLUMNS):
        return offset
    m = np.asarray(mother, np.int64)
    o = objects["orientation"].to_numpy(float)[m]
    # scikit-image's orientation: the angle between the rows axis (y) and the long axis
    u = np.stack([np.cos(o), np.sin(o)], axis=1)
    if spacing is not None:
        u = u * np.asarray(spacing, float)[-2:]
        u /= np.linalg.norm(u, axis=1, keepdims=True)
    length = slack * (objects["axis_major_length"].to_numpy(float)[m]
                      - objects["axis_minor_length"].to_numpy(float)[m])
    ok = np.isfinite(o) & np.isfinite(length)
    along = np.einsum("ij,ij->i", offset, u)
    kept = np.sign(along) * np.maximum(np.abs(along) - np.where(ok, length, 0.0), 0.0)
    return offset + (kept - along)[:, None] * np.where(ok[:, None], u, 0.0)


def union_iou_term(
    objects: pd.DataFrame,
    whole: NDArray[np.int64],
    part_a: NDArray[np.int64],
    part_b: NDArray[np.int64],
    link_iou: tuple[NDArray[np.float64], NDArray[np.float64]],
    link_terms: bool = True,
) -> NDArray[np.float64]:
    """The IoU term of an event that joins one object to two: a division (mother ->
    two daughters) or a merge (two objects -> one).

    ``1 - IoU(whole, part_a + part_b)`` (how well the two parts together cover the
    whole), less, with `link_terms`, the ``1 - IoU`` the two links paid: those price a
    continuation, and a daughter is no worse a daughter for covering half her mother.
    For markers that never overlap the term is ``-1``, cancelling one link's IoU
    price, so an event costs what it costs without the IoU term. The parts are taken
    as disjoint (masks of one frame); intersections come from the links' IoU and the
    ``area`` column: ``|A n B| = IoU (|A| + |B|) / (1 + IoU)``.
    """
    v = np.maximum(objects["area"].to_numpy(float), 1e-12)
    w, a, b = (np.asarray(x, np.int64) for x in (whole, part_a, part_b))
    i1, i2 = (np.asarray(x, float) for x in link_iou)
    x1 = i1 * (v[w] + v[a]) / (1.0 + i1)
    x2 = i2 * (v[w] + v[b]) / (1.0 + i2)
    union = (x1 + x2) / np.maximum(v[w] + v[a] + v[b] - x1 - x2, 1e-12)
    if link_terms:
        return (1.0 - union) - (1.0 - i1) - (1.0 - i2)
    return 1.0 - union


def costs_from_probabilities(
    probability: NDArray[np.float64], *, eps: float = 1e-6
) -> NDArray[np.float64]:
    """Link costs ``-log p`` from link probabilities (one per candidate row).

    With the default event costs (appear = disappear = 1) a link is preferred to
    ending and starting a track when ``p > exp(-2) ~ 0.14``.

    Examples
    --------
    >>> costs_from_probabilities(np.array([0.9, 0.5])).round(3).tolist()
    [0.105, 0.693]
    """
    p = np.clip(np.asarray(probability, float), eps, 1.0)
    return -np.log(p)
