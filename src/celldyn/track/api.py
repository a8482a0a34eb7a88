"""One entry point for tracking: :func:`track_objects` picks the tracker and returns
:class:`~celldyn.track.tracks.Tracks` for every one of them.

Ours: argument checking, dispatch to :func:`~celldyn.track.lap.lap_links`,
:func:`~celldyn.track.solve_global.global_links` or
:func:`~celldyn.track.learned.track_learned`, and the shared post-processing
(:meth:`Tracks.from_links <celldyn.track.tracks.Tracks.from_links>`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ..errors import InputError
from . import scale as _scale
from .costs import LabelOverlaps, LinkCosts
from .drift import ShiftedLabels, frame_drift
from .lap import lap_links
from .merge_split import FRAMES as MERGE_SPLIT_FRAMES
from .merge_split import undo_merge_splits
from .sisters import pair_rod_sisters
from .scale import (conservation_from_links, conservation_reference, estimate_motion_scale,
                    likely_divisions)
from .solve_global import global_links
from .tracks import Tracks

__all__ = ["TRACKERS", "default_radius", "default_search", "track_objects"]

TRACKERS = ("lap", "global", "learned")

SIZE_OFF = "daughters' size term off (too few likely divisions)"
"""The summary's words for a movie without the daughters' size reference."""

LEARNED_RADIUS_FACTOR = 1.0
"""The learned tracker's candidates reach this many times `max_distance` (the shipped
model was trained with candidates within the measured search radius)."""


def track_objects(
    objects: pd.DataFrame,
    *,
    labels: Any = None,
    tracker: Literal["lap", "global", "learned"] = "lap",
    max_distance: float | None = None,
    division_reach: float | None = None,
    max_gap: int = 2,
    divisions: bool = True,
    merges: bool = False,
    min_daughter_frames: int = 0,
    merge_split_frames: int = MERGE_SPLIT_FRAMES,
    spacing: Sequence[float] | None = None,
    costs: LinkCosts | None = None,
    edge_costs: NDArray[np.float64] | None = None,
    candidates: pd.DataFrame | None = None,
    window: int = 50,
    overlap: int | None = None,
    movie: Any = None,
    model: Any = None,
    flow: bool | Literal["image"] | None = None,
    drift_correction: bool = True,
    progress: bool = False,
) -> Tracks:
    """Link detections into tracks with divisions, gaps and (optionally) merges.

    Parameters
    ----------
    objects : DataFrame
        Detections from :func:`celldyn.measure.measure_objects`.
    labels : (T, [Z,] Y, X) int array, optional
        The label movie of `objects`, for the IoU cost term.
    tracker : {"lap", "global", "learned"}
        ``"lap"``: frame-by-frame assignment plus a gap/division/merge pass (fast).
        ``"global"``: integer program over windows of `window` frames (exact per
        window, slower). ``"learned"``: link costs from the association network
        (:mod:`celldyn.track.learned`, needs torch; candidates within
        `max_distance`, pruned), solved by LAP; no merges.
    max_distance : float, optional
        Largest displacement between frames in units of `spacing`; default measured
        on the objects' own motion and divisions
        (:func:`~celldyn.track.scale.estimate_motion_scale`; also the learned
        tracker's training convention).
    division_reach : float, optional
        How far a daughter may lie from her mother (lap and global; at least
        `max_distance`). Default: measured with the radius
        (:attr:`~celldyn.track.scale.MotionScale.division_reach`, wider than the
        radius only when the movie shows no likely division); with `max_distance`
        given, `max_distance`.
    max_gap : int
        Largest number of missing frames bridged.
    divisions, merges : bool
        Allow out-degree 2 / in-degree 2.
    min_daughter_frames : int
        Undo a division whose daughter vanishes within this many frames (before the
        movie's last frame): over-segmentation, not a division. 0 keeps all.
    merge_split_frames : int
        Undo a division made within this many frames after a neighbour's track ended
        beside the mother: two cells drawn as one that separated again; the nearer
        daughter continues the ended track (:mod:`celldyn.track.merge_split`). 0 keeps
        all.
    spacing : sequence of float, optional
        Physical pixel size per spatial axis.
    costs : LinkCosts, optional
        Cost weights, motion model and event costs.
    edge_costs, candidates : optional
        Outside link costs aligned with the candidate table (see
        :func:`~celldyn.track.lap.track_lap`); lap and global only.
    window, overlap : int
        Global tracker only (see :func:`~celldyn.track.solve_global.track_global`).
    movie : (T, [Z,] Y, X) array, optional
        Intensities, for the learned tracker's features and the image flow (`flow`).
    model : LearnedAssociation, optional
        Learned tracker only; default the shipped model.
    flow : bool or "image", optional
        LAP only: link a second time with each candidate's distance measured from
        where the flow carries its source (:mod:`celldyn.track.flow`, for a growing
        colony). Default (None): the images' optical flow when `movie` and `labels`
        are given, cells touch and move at least
        :data:`~celldyn.track.flow.MOTION_RATIO` of their spacing per frame (median;
        :func:`~celldyn.track.flow.image_flow_gate`);
        else the neighbours' motion when the first pass's links show it coherent
        (:func:`~celldyn.track.flow.flow_coherence` at least
        :data:`~celldyn.track.flow.FLOW_COHERENCE`). ``True`` forces the neighbours'
        flow, ``"image"`` the image flow, ``False`` neither.
    drift_correction : bool
        Take a stage's drift or jitter (one translation of every object between two
        frames: :func:`~celldyn.track.drift.frame_drift`) out of the positions the
        trackers link on (default; the learned one too: its features then see the
        drift-free motion it was trained on, and the masks whose overlap it reads are
        moved alike); the tracks keep the measured positions. Not with given
        `candidates` or `edge_costs` (their positions are the caller's).
    progress : bool
        Show a progress bar.

    Returns
    -------
    Tracks
        Objects sorted by ``(t, track id)``, links, track ids and the CTC table.

    Raises
    ------
    InputError
        On an unknown `tracker` and as the trackers.

    Examples
    --------
    >>> objects = pd.DataFrame({"t": [0, 1, 1], "label": [1, 1, 2],
    ...                         "y": [0.0, -2.0, 2.0], "x": [0.0, 0.0, 0.0]})
    >>> tracks = track_objects(objects, max_distance=4)
    >>> tracks.edges.tolist()
    [[0, 1], [0, 2]]
    >>> tracks.to_ctc().values.tolist()
    [[1, 0, 0, 0], [2, 1, 1, 1], [3, 1, 1, 1]]
    >>> track_objects(objects, max_distance=4, tracker="global").edges.tolist()
    [[0, 1], [0, 2]]
    """
    if tracker not in TRACKERS:
        raise InputError(f"tracker must be one of {list(TRACKERS)} (got {tracker!r})")
    if not (flow is None or isinstance(flow, bool) or flow == "image"):
        raise InputError(f"flow must be None, True, False or 'image' (got {flow!r})")
    if objects["t"].nunique() < 2:   # a still image or an empty movie: nothing to link
        tracks = Tracks.from_links(objects, np.empty((0, 2), np.int64),
                                   min_daughter_frames=min_daughter_frames,
                                   max_distance=float(max_distance or 0.0))
        tracks.note = ("one frame: nothing to link" if len(objects)
                       else "no objects: nothing to link")
        return tracks
    kw: dict[str, Any] = {}
    # a stage that drifts or jitters moves every object alike: taken out of the
    # positions the links are chosen on (celldyn.track.drift); the tracks keep `raw`
    drift = (frame_drift(objects, spacing) if candidates is None and edge_costs is None
             and drift_correction else None)
    if drift is not None and tracker == "lap" and _image_flow_on(objects, spacing, movie,
                                                                 labels, flow):
        drift = None   # the images' flow registers the frames: it follows the stage too
    raw, objects = ((objects, objects) if drift is None else
                    (drift.stage_columns(objects, spacing), drift.apply(objects, spacing)))
    evidence = _Evidence(objects, spacing, costs, divisions, tracker, merges)
    max_distance, reach, note = evidence.radius(max_distance, division_reach)
    if tracker != "learned":
        kw["division_reach"] = reach
    if labels is not None and drift is not None:  # masks laid where the positions are
        plain = labels.labels if isinstance(labels, LabelOverlaps) else labels
        labels = ShiftedLabels(plain, np.rint(drift.pixels(len(plain.shape) - 1, spacing)
                                              ).astype(np.int64))
    if labels is not None:  # each frame pair's overlaps counted once for every pass
        labels = labels if isinstance(labels, LabelOverlaps) else LabelOverlaps(labels)
    common = dict(labels=labels, max_distance=max_distance, max_gap=max_gap,
                  divisions=divisions, merges=merges, costs=costs, spacing=spacing,
                  edge_costs=edge_costs, progress=progress, window=window, overlap=overlap,
                  movie=movie, model=model,
                  conservation=None if tracker == "learned" else evidence.conservation(),
                  **kw)
    own = tracker == "lap" and candidates is None and edge_costs is None

    def link() -> tuple[NDArray[np.int64], str]:
        edges = _links(objects, tracker, candidates=candidates, **common)
        if not own:
            return edges, ""
        from .flow import relink_with_flow

        return relink_with_flow(
            objects, edges, lambda cands: _links(objects, tracker, candidates=cands, **common),
            max_distance=max_distance, max_gap=max_gap, spacing=spacing, flow=flow,
            movie=movie, labels=labels, scale=evidence.scale, progress=progress)

    edges, clause = link()
    if own and evidence.wants_reference() and _scale.REFERENCE_FROM_LINKS:
        # too few likely divisions for the daughters' size reference: the first pass's
        # divisions give it (scale.conservation_from_links), and the LAP links again
        reference, n = conservation_from_links(objects, edges)
        if reference is not None:
            common["conservation"] = reference
            edges, clause = link()
            note = note.replace(SIZE_OFF, (
                f"daughters' summed size vs mother: log ratio {reference[0]:.2f} +- "
                f"{reference[1]:.2f} (from the {n} divisions of a first pass: too few "
                "likely divisions; linked again with it)"))
    note += f"; {clause}" if clause else ""
    edges, undone = undo_merge_splits(objects, edges, frames=merge_split_frames,
                                      spacing=spacing)
    if undone:
        note += (f"; {undone} division{'s' if undone != 1 else ''} right after a "
                 "neighbour's track ended beside the mother taken as two cells drawn "
                 "joined that separated again")
    # the LAP only: on the training frames the global solver's re-paired rods lost TRA
    # with no division gained (benchmarks/RESULTS.md, 'Tracking: rod sisters')
    edges, paired = (pair_rod_sisters(objects, edges) if tracker == "lap"
                     else (edges, 0))
    if paired:
        note += (f"; {paired} pair{'s' if paired != 1 else ''} of rods that divided side "
                 "by side given back their own daughters (sisters lie end to end)")
    note += f"; {drift.text()}" if drift is not None else ""
    tracks = Tracks.from_links(raw, edges, min_daughter_frames=min_daughter_frames,
                               max_distance=max_distance)
    tracks.note = note
    return tracks


def _image_flow_on(objects: pd.DataFrame, spacing: Any, movie: Any, labels: Any,
                   flow: Any) -> bool:
    """Whether the LAP relinks with the image flow (flow.image_flow_gate on the movie's
    own motion): then the stage's drift is left in the positions, as in the images the
    flow registers and the masks whose overlap (moved by each object's step) it scores;
    taken out of the positions alone, on the colony jittered by 10-40 px division F1
    fell from 1.00 to 0.93-0.98 (benchmarks/RESULTS.md, 'Tracking: stage jitter')."""
    from .flow import image_flow_gate

    if flow is not None and flow != "image":
        return False
    scale = estimate_motion_scale(objects, spacing=spacing)
    return image_flow_gate(scale, movie=movie, labels=labels, flow=flow, objects=objects,
                           spacing=spacing)[0]


class _Evidence:
    """What the movie's own objects say about the search radius and the divisions:
    the likely divisions (:func:`~celldyn.track.scale.likely_divisions`) are found
    once and feed the motion scale, the daughters' size reference and the note."""

    def __init__(self, objects: pd.DataFrame, spacing: Sequence[float] | None,
                 costs: Any, divisions: bool, tracker: str, merges: bool = False) -> None:
        self.objects, self.spacing, self.divisions, self.tracker, self.merges = (
            objects, spacing, divisions, tracker, merges)
        self.costs = costs if isinstance(costs, LinkCosts) else LinkCosts()
        self._likely: NDArray[np.int64] | None = None
        self._reference: Any = "unmeasured"
        self.scale: Any = None  # the MotionScale, once radius() measured it

    def likely(self) -> NDArray[np.int64]:
        if self._likely is None:
            self._likely = likely_divisions(self.objects, spacing=self.spacing)
        return self._likely

    def conservation(self) -> tuple[float, float] | None:
        """The daughters' size reference, when the costs use it (else None)."""
        costs = self.costs
        if not (self.divisions and costs.division_conservation > 0
                and costs.division_conservation_from == "movie") or "area" not in self.objects:
            return None
        if isinstance(self._reference, str):
            self._reference = conservation_reference(self.objects, spacing=self.spacing,
                                                     divisions=self.likely())
        return self._reference

    def wants_reference(self) -> bool:
        """Whether the costs use the movie's size reference and it could not be
        measured from the likely divisions."""
        costs = self.costs
        return (self.divisions and self.tracker != "learned" and "area" in self.objects
                and costs.division_conservation > 0
                and costs.division_conservation_from == "movie"
                and self.conservation() is None)

    def radius(self, max_distance: float | None, division_reach: float | None = None
               ) -> tuple[float, float, str]:
        """The search radius (`max_distance` when given), the division reach
        (`division_reach` when given; `max_distance` when only that is) and one line
        saying where they and the division evidence came from."""
        objects, spacing = self.objects, self.spacing
        unit = "px" if spacing is None else "µm"  # Movie.spacing is in µm
        scale = estimate_motion_scale(objects, spacing=spacing, divisions=self.likely(),
                                      merges=self.merges)
        self.scale = scale
        if max_distance is not None:
            radius = float(max_distance)
            reach = radius if division_reach is None else float(division_reach)
            text = f"max distance {radius:.3g} {unit} (given; estimate {scale.describe(unit)})"
            if reach > radius:
                text += f"; division reach {reach:.3g} {unit}"
        else:
            radius = scale.max_distance
            reach = scale.division_reach if division_reach is None else float(division_reach)
            text = scale.describe(unit)
        reach = max(reach, radius)
        if self.tracker == "learned":  # candidates within the same radius; its own costs
            return radius, radius, "learned tracker, candidates within " + text
        costs = self.costs
        if not self.divisions:
            return radius, radius, text + "; divisions off"
        if costs.division_conservation > 0 and costs.division_conservation_from == "movie":
            ref = self.conservation()
            size = (SIZE_OFF if ref is None
                    else f"daughters' summed size vs mother: log ratio {ref[0]:.2f} +- "
                         f"{ref[1]:.2f} (from the likely divisions)")
        elif costs.division_conservation > 0:
            size = "daughters make up their mother"
        else:
            size = "daughters' size term off"
        if np.isfinite(costs.daughter_position_alike):
            size += (f"; a farther daughter is priced as born beside her mother only where "
                     f"the sisters' sizes are within {costs.daughter_position_alike:g}x")
        return radius, reach, text + "; divisions on, " + size


def _links(objects: pd.DataFrame, tracker: str, *, window: int, overlap: int | None,
           movie: Any, model: Any, **common: Any) -> NDArray[np.int64]:
    """The chosen tracker's links, as row pairs of `objects`."""
    if tracker == "learned":
        from .learned import learned_links

        if common["merges"]:
            raise InputError("the learned tracker does not model merges; use tracker='lap'")
        if common["edge_costs"] is not None or common["candidates"] is not None:
            raise InputError("the learned tracker makes its own candidates and edge costs; "
                             "pass edge_costs with tracker='lap' or 'global'")
        return learned_links(
            objects, labels=common["labels"], movie=movie,
            max_distance=LEARNED_RADIUS_FACTOR * common["max_distance"],
            max_gap=common["max_gap"], divisions=common["divisions"],
            spacing=common["spacing"], model=model, costs=common["costs"],
        )
    if tracker == "lap":
        return lap_links(objects, **common)
    return global_links(objects, window=window, overlap=overlap, **common)


def default_radius(
    objects: pd.DataFrame, *, spacing: Sequence[float] | None = None,
    max_distance: float | None = None, divisions: bool = True,
    costs: object | None = None, tracker: str = "lap", merges: bool = False,
) -> tuple[float, str]:
    """The search radius a run uses and one line saying where it and the division
    evidence came from (for the run summary).

    `max_distance`, when given, overrides the estimate. `costs` is the run's
    :class:`~celldyn.track.costs.LinkCosts` (default ``LinkCosts()``).
    The learned `tracker` uses the same measured radius (its training convention).
    With `merges`, likely merges widen the radius as likely divisions do.

    Examples
    --------
    >>> objects = pd.DataFrame({"t": [0, 1], "label": [1, 1], "y": [0.0, 1.0],
    ...                         "x": [0.0, 0.0]})
    >>> default_radius(objects, max_distance=5.0)[0]
    5.0
    """
    radius, _, note = default_search(objects, spacing=spacing, max_distance=max_distance,
                                     divisions=divisions, costs=costs, tracker=tracker,
                                     merges=merges)
    return radius, note


def default_search(
    objects: pd.DataFrame, *, spacing: Sequence[float] | None = None,
    max_distance: float | None = None, divisions: bool = True,
    costs: object | None = None, tracker: str = "lap", merges: bool = False,
) -> tuple[float, float, str]:
    """As :func:`default_radius`, with the division reach second (the radius when it
    is given, or for the learned tracker).

    Examples
    --------
    >>> objects = pd.DataFrame({"t": [0, 1], "label": [1, 1], "y": [0.0, 1.0],
    ...                         "x": [0.0, 0.0]})
    >>> default_search(objects, max_distance=5.0)[:2]
    (5.0, 5.0)
    """
    return _Evidence(objects, spacing, costs, divisions, tracker, merges).radius(max_distance)
