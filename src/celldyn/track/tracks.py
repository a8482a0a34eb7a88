"""The one result type of tracking: :class:`Tracks`.

Every tracker (``lap``, ``global``, ``learned``) returns its links as row pairs; the
rest is the same for all and done here once: undo short spurious divisions
(:func:`~celldyn.track.graph.prune_short_branch_edges`), give every object its track
id (:func:`~celldyn.track.graph.tracklet_ids`), build the CTC track table, and sort
the rows by ``(t, track id)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from .graph import ctc_table, prune_short_branch_edges, relabel_by_tracklet, tracklet_ids

__all__ = ["Tracks", "node_table", "tracks_graph"]


def node_table(objects: pd.DataFrame) -> pd.DataFrame:
    """Node properties (geff names) of tracked objects (``label`` = track id): ``t``,
    ``seg_id`` and ``tracklet`` (both the track id) and the centroid, one row per
    object."""
    axes = [a for a in ("z", "y", "x") if a in objects.columns]
    table = objects[["t", "label", *axes]].rename(columns={"label": "seg_id"})
    table = table.astype({"t": np.int64, "seg_id": np.int64})
    return table.assign(tracklet=table["seg_id"]).reset_index(drop=True)


def tracks_graph(objects: pd.DataFrame, edges: NDArray[np.int64]) -> nx.DiGraph:
    """The tracks graph of tracked objects: node ``i`` is row ``i`` of `objects` (with
    the properties of :func:`node_table`), `edges` are row pairs."""
    graph = nx.DiGraph()
    graph.add_nodes_from(enumerate(node_table(objects).to_dict("records")))
    graph.add_edges_from(map(tuple, np.asarray(edges).tolist()))
    return graph


@dataclass
class Tracks:
    """Detections linked into tracks.

    Attributes
    ----------
    objects : DataFrame
        One row per detection, sorted by ``(t, label)``; ``label`` is the object's
        track id (its id in :meth:`relabel`'s label movie, CTC convention); every
        other column is as measured.
    edges : (E, 2) int64 array
        Links as row indices of `objects` (parent row, child row), sorted. A row with
        two children divides; a child more than one frame after its parent bridges a
        gap; a row with two parents is a merge.
    seg_id : (N,) int64 array
        Each row's label in the segmentation the objects were measured on.
    rows : (N,) int64 array
        Each row's index in the objects table given to the tracker.
    table : DataFrame
        CTC track table (``label, begin, end, parent``; parent 0 = none).
    max_distance : float
        Largest displacement between frames the tracker used (units of spacing).
    note : str
        Where the search radius and the division evidence came from (one line, for
        the run summary; set by :func:`~celldyn.track.track_objects`).
    """

    objects: pd.DataFrame
    edges: NDArray[np.int64]
    seg_id: NDArray[np.int64]
    rows: NDArray[np.int64]
    table: pd.DataFrame
    max_distance: float = 0.0
    note: str = ""

    @classmethod
    def from_links(
        cls, objects: pd.DataFrame, edges: NDArray[np.int64], *, min_daughter_frames: int = 0,
        max_distance: float = 0.0,
    ) -> Tracks:
        """Tracks from a tracker's links (`edges`: row pairs of `objects`).

        A division whose daughter ends within `min_daughter_frames` frames (before the
        movie's last frame) is undone; 0 or 1 keeps every division.
        """
        edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
        n_objects = len(objects)
        t_obj = objects["t"].to_numpy(np.int64)
        seg_obj = objects["label"].to_numpy(np.int64)
        edges, _ = prune_short_branch_edges(t_obj, edges, min_length=min_daughter_frames)
        tracklet = tracklet_ids(t_obj, seg_obj, edges)
        table = ctc_table(t_obj, tracklet, edges)
        order = np.lexsort((tracklet, t_obj))
        out = objects.assign(label=tracklet).iloc[order].reset_index(drop=True)
        row_of = np.empty(n_objects, dtype=np.int64)
        row_of[order] = np.arange(n_objects)
        edges = row_of[edges].reshape(-1, 2)
        edges = edges[np.lexsort((edges[:, 1], edges[:, 0]))]
        return cls(objects=out, edges=edges, seg_id=seg_obj[order], rows=order.astype(np.int64),
                   table=table, max_distance=float(max_distance))

    @property
    def track_ids(self) -> NDArray[np.int64]:
        """The track id of each row of `objects`."""
        return self.objects["label"].to_numpy(np.int64)

    @property
    def parents(self) -> pd.Series:
        """Parent track id by track id (0 = no parent)."""
        return self.table.set_index("label")["parent"]

    def to_ctc(self) -> pd.DataFrame:
        """The CTC track table (``label, begin, end, parent``)."""
        return self.table.copy()

    def node_table(self) -> pd.DataFrame:
        """Node properties (geff names): ``t``, ``seg_id`` and ``tracklet`` (both the
        track id, i.e. ids of the :meth:`relabel` movie) and the centroid."""
        return node_table(self.objects)

    def to_networkx(self) -> nx.DiGraph:
        """The tracks graph: node ``i`` is row ``i`` of `objects` with the properties
        of :meth:`node_table`; edges forward in time."""
        return tracks_graph(self.objects, self.edges)

    def relabel(self, labels: Any, *, out: Any = None) -> Any:
        """The label movie the objects were measured on, each object painted with its
        track id (objects that are not tracked become background). `out` (e.g. a zarr
        array on disk) is filled frame by frame and returned."""
        return relabel_by_tracklet(labels, nodes=self.relabel_nodes(), out=out)

    def relabel_nodes(self) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
        """``(t, seg_id, track id)`` of every object: what :meth:`relabel` paints."""
        return self.objects["t"].to_numpy(np.int64), self.seg_id, self.track_ids

    def summary(self) -> dict[str, int]:
        """Tracks, divisions, merges and gaps closed."""
        n = len(self.objects)
        e = self.edges
        t = self.objects["t"].to_numpy()
        return {
            "tracks": int(len(self.table)),
            "divisions": int(np.count_nonzero(np.bincount(e[:, 0], minlength=n) == 2)),
            "merges": int(np.count_nonzero(np.bincount(e[:, 1], minlength=n) == 2)),
            "gaps_closed": int(np.count_nonzero(t[e[:, 1]] - t[e[:, 0]] > 1)),
        }
