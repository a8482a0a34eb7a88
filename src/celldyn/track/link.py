"""Frame-to-frame linking: the simplest use of the LAP tracker, and the default radius.

:func:`link_objects` links consecutive frames only (no gaps, divisions or merges) with
:func:`celldyn.track.lap.track_lap`: the Jaqaman et al. (Nat. Methods 2008) augmented
assignment, solved by ``scipy.optimize.linear_sum_assignment``; pairs farther apart than
``max_distance`` are forbidden. :func:`auto_max_distance` (the median object diameter)
was the pipeline's default search radius; the default is now measured on the objects'
motion (:func:`celldyn.track.scale.estimate_motion_scale`), and it remains for the
learned tracker, whose candidates were trained at twice it. Ours: the defaults.
"""

from __future__ import annotations

from collections.abc import Sequence

import networkx as nx
import numpy as np
import pandas as pd

__all__ = ["link_objects", "link_labels", "auto_max_distance"]

def link_objects(
    objects: pd.DataFrame,
    *,
    max_distance: float,
    spacing: Sequence[float] | None = None,
    progress: bool = False,
) -> nx.DiGraph:
    """Link detections frame to frame into a tracks graph.

    Parameters
    ----------
    objects : DataFrame
        One row per detection with columns ``t``, ``label`` and centroid ``[z,] y, x``
        in pixels (as from :func:`celldyn.measure.measure_objects`).
    max_distance : float
        Largest displacement between consecutive frames, in units of `spacing`
        (pixels when `spacing` is None).
    spacing : sequence of float, optional
        Physical pixel size per spatial axis; distances are computed in these units.
    progress : bool
        Show a progress bar over frame pairs.

    Returns
    -------
    graph : networkx.DiGraph
        One node per row of `objects` (node id = row position), attributes ``t``,
        ``seg_id`` and the centroid; one edge per link.

    Raises
    ------
    InputError
        If columns are missing or `max_distance` is not positive.

    Examples
    --------
    >>> objects = pd.DataFrame({"t": [0, 0, 1, 1], "label": [1, 2, 5, 6],
    ...                         "y": [0.0, 10.0, 10.5, 1.0], "x": [0.0, 0.0, 0.0, 0.0]})
    >>> sorted(link_objects(objects, max_distance=3).edges)
    [(0, 3), (1, 2)]
    """
    from .lap import track_lap

    return track_lap(
        objects, max_distance=max_distance, max_gap=0, divisions=False, merges=False,
        spacing=spacing, progress=progress,
    )


def auto_max_distance(objects: pd.DataFrame, *, spacing: Sequence[float] | None = None) -> float:
    """The median object diameter (in units of `spacing`).

    Deprecated as a search radius: a tracking marker is far smaller than its cell and
    cells may move farther than their size, so the trackers' default is measured on
    the movie's motion instead (:func:`celldyn.track.scale.estimate_motion_scale`).
    Kept for the learned tracker, whose candidates were trained within twice it.
    """
    if "area" not in objects or len(objects) == 0:
        return 10.0
    nd = len([a for a in ("z", "y", "x") if a in objects.columns])
    size = float(np.median(objects["area"]))
    if nd == 3:
        diameter = 2 * (3 * size / (4 * np.pi)) ** (1 / 3)
    else:
        diameter = 2 * np.sqrt(size / np.pi)
    return max(diameter, 1.0)


def link_labels(
    labels: np.ndarray,
    *,
    max_distance: float,
    spacing: Sequence[float] | None = None,
) -> nx.DiGraph:
    """Link the objects of a label movie by their centroids (see :func:`link_objects`).

    Examples
    --------
    >>> movie = np.zeros((2, 5, 5), dtype=np.int32)
    >>> movie[0, 1, 1], movie[1, 1, 2] = 3, 7
    >>> link_labels(movie, max_distance=2).number_of_edges()
    1
    """
    from ..measure.features import centroids

    return link_objects(centroids(labels), max_distance=max_distance, spacing=spacing)
