"""One entry point for tracking: :func:`track_objects` picks the solver.

Ours: argument checking and dispatch to :func:`~celldyn.track.lap.track_lap` or
:func:`~celldyn.track.solve_global.track_global`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import networkx as nx
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ..errors import InputError
from .costs import LinkCosts
from .lap import track_lap
from .scale import estimate_motion_scale
from .solve_global import track_global

__all__ = ["TRACKERS", "track_objects"]

TRACKERS = ("lap", "global")


def track_objects(
    objects: pd.DataFrame,
    *,
    labels: Any = None,
    tracker: Literal["lap", "global"] = "lap",
    max_distance: float | None = None,
    max_gap: int = 2,
    divisions: bool = True,
    merges: bool = False,
    spacing: Sequence[float] | None = None,
    costs: LinkCosts | None = None,
    edge_costs: NDArray[np.float64] | None = None,
    candidates: pd.DataFrame | None = None,
    window: int = 50,
    overlap: int | None = None,
    progress: bool = False,
    as_edges: bool = False,
) -> nx.DiGraph | NDArray[np.int64]:
    """Link detections into a tracks graph with divisions, gaps and (optionally) merges.

    Parameters
    ----------
    objects : DataFrame
        Detections from :func:`celldyn.measure.measure_objects` (node ``i`` = row
        ``i``).
    labels : (T, [Z,] Y, X) int array, optional
        The label movie of `objects`, for the IoU cost term.
    tracker : {"lap", "global"}
        ``"lap"``: frame-by-frame assignment plus a gap/division/merge pass (fast).
        ``"global"``: integer program over windows of `window` frames (exact per
        window, slower).
    max_distance : float, optional
        Largest displacement between frames in units of `spacing`; default measured
        on the objects' own motion and divisions
        (:func:`~celldyn.track.scale.estimate_motion_scale`).
    max_gap : int
        Largest number of missing frames bridged.
    divisions, merges : bool
        Allow out-degree 2 / in-degree 2.
    spacing : sequence of float, optional
        Physical pixel size per spatial axis.
    costs : LinkCosts, optional
        Cost weights, motion model and event costs.
    edge_costs, candidates : optional
        Outside link costs aligned with the candidate table (see
        :func:`~celldyn.track.lap.track_lap`).
    window, overlap : int
        Global solver only (see :func:`~celldyn.track.solve_global.track_global`).
    progress : bool
        Show a progress bar.
    as_edges : bool
        Return the ``(E, 2)`` array of linked row indices instead of a graph.

    Returns
    -------
    graph : networkx.DiGraph
        Nodes = rows of `objects` with ``t``, ``seg_id`` and centroid; edges forward
        in time. With `as_edges`, the edges alone.

    Raises
    ------
    InputError
        On an unknown `tracker` and as the solvers.

    Examples
    --------
    >>> objects = pd.DataFrame({"t": [0, 1, 1], "label": [1, 1, 2],
    ...                         "y": [0.0, -2.0, 2.0], "x": [0.0, 0.0, 0.0]})
    >>> sorted(track_objects(objects, max_distance=4).edges)
    [(0, 1), (0, 2)]
    >>> sorted(track_objects(objects, max_distance=4, tracker="global").edges)
    [(0, 1), (0, 2)]
    """
    if tracker not in TRACKERS:
        raise InputError(f"tracker must be one of {TRACKERS} (got {tracker!r})")
    if max_distance is None:
        max_distance = estimate_motion_scale(objects, spacing=spacing).max_distance
    common: dict[str, Any] = dict(
        labels=labels, max_distance=max_distance, max_gap=max_gap, divisions=divisions,
        merges=merges, costs=costs, spacing=spacing, edge_costs=edge_costs,
        candidates=candidates, progress=progress, as_edges=as_edges,
    )
    if tracker == "lap":
        return track_lap(objects, **common)
    return track_global(objects, window=window, overlap=overlap, **common)
