"""Local flow (celldyn.track.flow): measured coherence, the gate, and the relinking."""

from __future__ import annotations

import numpy as np
import pandas as pd

from celldyn.track import track_objects
from celldyn.track.flow import FLOW_COHERENCE, flow_coherence, neighbour_flow

STEP = 8.0  # px per frame, the sheet's drift


def _sheet(n_frames: int = 4, newcomer: bool = True) -> tuple[pd.DataFrame, int, int]:
    """A 6 x 6 grid (20 px apart) drifting STEP px right per frame. With `newcomer`, a
    cell appears at frame 1 one pixel from where cell A (row 2, column 2) was at frame 0:
    nearer to A's old place than A's true next position. Returns the objects, A's row
    at frame 0 and its true successor's row at frame 1."""
    rows = []
    for t in range(n_frames):
        for i in range(6):
            for j in range(6):
                rows.append((t, 1 + i * 6 + j, 20.0 * i, 20.0 * j + STEP * t))
        if newcomer and t >= 1:  # appears at frame 1 and drifts with the sheet
            rows.append((t, 99, 40.0 + 1.0, 40.0 + STEP * (t - 1)))
    objects = pd.DataFrame(rows, columns=["t", "label", "y", "x"])
    a = int(np.flatnonzero((objects.t == 0) & (objects.label == 15))[0])
    succ = int(np.flatnonzero((objects.t == 1) & (objects.label == 15))[0])
    return objects, a, succ


def _successor(tracks, row: int) -> set[int]:
    rows = np.asarray(tracks.rows)
    return {int(rows[b]) for a, b in tracks.edges if int(rows[a]) == row}


def test_coherence_high_for_a_drifting_sheet_and_low_for_independent_walks():
    objects, _, _ = _sheet(newcomer=False)
    edges = np.array([[r, r + 36] for r in range(36 * 3)])
    assert flow_coherence(objects, edges) > 0.9
    flow = neighbour_flow(objects, edges, radius=30.0)
    assert np.allclose(flow[:36 * 3], [0.0, STEP])

    rng = np.random.default_rng(0)
    start = rng.uniform(0, 200, (40, 2))
    pos = start + np.cumsum(rng.normal(0, 3, (5, 40, 2)), axis=0)
    walk = pd.DataFrame([(t, i + 1, *pos[t, i]) for t in range(5) for i in range(40)],
                        columns=["t", "label", "y", "x"])
    edges = np.array([[t * 40 + i, (t + 1) * 40 + i] for t in range(4) for i in range(40)])
    assert flow_coherence(walk, edges) < FLOW_COHERENCE
    tracks = track_objects(walk, max_distance=15.0, divisions=False)
    assert "local flow off" in tracks.note


def test_flow_relinks_a_cell_whose_place_a_newcomer_took():
    objects, a, succ = _sheet()
    newcomer = int(np.flatnonzero((objects.t == 1) & (objects.label == 99))[0])
    plain = track_objects(objects, max_distance=25.0, divisions=False, flow=False)
    assert _successor(plain, a) == {newcomer}  # nearest position: the wrong cell

    tracks = track_objects(objects, max_distance=25.0, divisions=False)  # gate decides
    assert "local flow on" in tracks.note
    assert _successor(tracks, a) == {succ}
    # A keeps one track over the whole movie
    rows_a = set(np.flatnonzero(objects.label.to_numpy() == 15).tolist())
    mine = np.isin(np.asarray(tracks.rows), list(rows_a))
    assert tracks.objects["label"].to_numpy()[mine].tolist() == [
        tracks.objects["label"].to_numpy()[mine][0]] * 4


def test_windowed_tracking_decides_the_flow_once_and_relinks():
    """`--track-window`: the gate is judged on the first window and every window
    follows it, so a colony is relinked in all of them."""
    from types import SimpleNamespace

    from celldyn.config import RunConfig
    from celldyn.scale import plan

    objects, a, succ = _sheet(n_frames=6)
    config = RunConfig(track_window=2, max_distance=25.0, divisions=False)
    tracks = plan.track(objects, None, config, SimpleNamespace(spacing=None, data=None))
    assert "local flow on" in tracks.note and "on the first" in tracks.note
    assert _successor(tracks, a) == {succ}
