"""A merge that separates again is not a division (celldyn.track.merge_split)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from celldyn.track import track_objects
from celldyn.track.merge_split import undo_merge_splits


def _merge_movie(b_y: float = 6.0) -> pd.DataFrame:
    """Cells A (y 0) and B (y `b_y`) apart in frames 0-2 and 7-9, drawn as one object of
    twice their size between them in frames 3-6."""
    rows = []
    for t in range(10):
        if 3 <= t <= 6:
            rows.append((t, 1, b_y / 2, 60.0))
        else:
            rows += [(t, 1, 0.0, 30.0), (t, 2, b_y, 30.0)]
    return pd.DataFrame([(t, lab, y, 0.0, a) for t, lab, y, a in rows],
                        columns=["t", "label", "y", "x", "area"])


def _divisions(tracks) -> int:
    """Tracks with two daughters (a link across a gap gives one child a parent too)."""
    parents = tracks.to_ctc()["parent"]
    return int((parents[parents > 0].value_counts() == 2).sum())


def test_a_merge_that_separates_again_keeps_both_cells():
    objects = _merge_movie()
    kept = track_objects(objects, max_distance=8.0, merge_split_frames=0)
    assert _divisions(kept) == 1          # the blob "divides" without the rule
    tracks = track_objects(objects, max_distance=8.0)
    assert _divisions(tracks) == 0
    assert "separated again" in tracks.note
    # B's track continues across the merge (a link across a gap: CTC gives the part
    # after it a new label whose parent is B's), and A's runs through
    ids = tracks.objects.set_index(["t", "y"])["label"]
    parent = tracks.to_ctc().set_index("label")["parent"]
    assert parent[ids.loc[(7, 6.0)]] == ids.loc[(2, 6.0)]
    assert ids.loc[(2, 0.0)] == ids.loc[(9, 0.0)]


def test_a_true_division_or_a_distant_ending_is_kept():
    # a mother divides; a track that ended far away (beyond the reach) changes nothing
    objects = pd.DataFrame(
        [(0, 1, 0.0, 0.0, 60.0), (1, 1, 0.0, 0.0, 60.0), (2, 1, -2.0, 0.0, 30.0),
         (2, 2, 2.0, 0.0, 30.0), (0, 3, 40.0, 0.0, 30.0)],
        columns=["t", "label", "y", "x", "area"])
    edges = np.array([[0, 1], [1, 2], [1, 3]])
    new, undone = undo_merge_splits(objects, edges)
    assert undone == 0 and sorted(new.tolist()) == sorted(edges.tolist())
    # the same ending within the reach, and the rule switched off: kept
    near = objects.assign(y=[0.0, 0.0, -2.0, 2.0, 3.0])
    assert undo_merge_splits(near, edges)[1] == 1
    assert undo_merge_splits(near, edges, frames=0)[1] == 0
    assert undo_merge_splits(near.drop(columns="area"), edges)[1] == 0
