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


# --- image flow ------------------------------------------------------------------------


def _colony(growth: float = 1.25, seed: int = 0, drift: tuple[float, float] = (0.0, 0.0),
            size: int = 320):
    """A 12 x 12 sheet of touching square cells (14 px apart, varied brightness, a
    brighter centre each) growing `growth` times about the frame's centre per frame, as
    a colony pushed outward (at the rim a cell moves more than its spacing), and moved by
    `drift` px per frame. Returns (objects, labels, movie, true next row per row or -1)."""
    from celldyn.measure.features import measure_objects

    rng = np.random.default_rng(seed)
    n, gap = 12, 14.0
    c = (n - 1) / 2
    base = np.array([(gap * (i - c), gap * (j - c)) for i in range(n) for j in range(n)])
    base += rng.normal(0, 1.5, base.shape)
    bright = rng.uniform(0.3, 1.0, len(base))
    movie = np.zeros((3, size, size), np.float32)
    labels = np.zeros((3, size, size), np.int32)
    yy, xx = np.mgrid[:size, :size]
    for t in range(3):
        half = 0.5 * gap * growth ** t
        for i, (y, x) in enumerate(base * growth ** t + size / 2 + np.multiply(drift, t)):
            sel = (np.abs(yy - y) < half - 0.5) & (np.abs(xx - x) < half - 0.5)
            labels[t][sel] = i + 1
            r2 = ((yy[sel] - y) ** 2 + (xx[sel] - x) ** 2) / half ** 2
            movie[t][sel] = bright[i] * (0.6 + 0.4 * np.exp(-r2))
    movie += rng.normal(0, 0.03, movie.shape).astype(np.float32)
    return _with_truth(measure_objects(labels, movie), labels, movie)


def _blobs(step: float, seed: int = 0):
    """30 separate Gaussian blobs (at least 18 px apart) moving `step` px right per
    frame in a 192 x 192 frame."""
    from celldyn.measure.features import measure_objects

    rng = np.random.default_rng(seed)
    pts: list[np.ndarray] = []
    for _ in range(5000):                          # random sequential placement
        p = rng.uniform([15, 15], [177, 190 - 15 - 2 * step])
        if all(np.hypot(*(p - q)) >= 18 for q in pts):
            pts.append(p)
        if len(pts) == 30:
            break
    bright = rng.uniform(0.5, 1.0, len(pts))
    yy, xx = np.mgrid[:192, :192]
    movie = np.zeros((3, 192, 192), np.float32)
    labels = np.zeros((3, 192, 192), np.int32)
    for t in range(3):
        for i, (y, x) in enumerate(np.array(pts) + [0, step * t]):
            d2 = (yy - y) ** 2 + (xx - x) ** 2
            movie[t] += bright[i] * np.exp(-d2 / 18.0)
            labels[t][d2 <= 25] = i + 1
    movie += rng.normal(0, 0.02, movie.shape).astype(np.float32)
    return _with_truth(measure_objects(labels, movie), labels, movie)


def _with_truth(objects, labels, movie):
    key = {(int(t), int(lab)): r for r, (t, lab) in enumerate(zip(objects.t, objects.label))}
    truth = np.array([key.get((int(t) + 1, int(lab)), -1)
                      for t, lab in zip(objects.t, objects.label)])
    return objects, labels, movie, truth


def _correct(tracks, truth) -> float:
    rows = np.asarray(tracks.rows)
    got = {int(rows[a]): int(rows[b]) for a, b in tracks.edges}
    want = {r: n for r, n in enumerate(truth) if n >= 0}
    return sum(got.get(r) == n for r, n in want.items()) / len(want)


def test_image_flow_measures_each_objects_step():
    from celldyn.track.flow import image_flow

    objects, labels, movie, _ = _blobs(step=12.0)
    flow = image_flow(objects, movie, labels)
    first = objects.t.to_numpy() < 2
    assert np.median(np.abs(flow[first, 1] - 12.0)) < 2.0
    assert np.median(np.abs(flow[first, 0])) < 1.0
    assert np.allclose(flow[~first], 0.0)          # the last frame has no next frame
    scaled = image_flow(objects, movie, labels, spacing=(0.5, 0.5))
    assert np.allclose(scaled, 0.5 * flow)          # physical units


def test_a_growing_colony_opens_the_image_flow_gate_and_fixes_the_links():
    objects, labels, movie, truth = _colony()
    off = track_objects(objects, labels=labels, movie=movie, divisions=False, flow=False)
    neighbours = track_objects(objects, labels=labels, divisions=False)   # no images
    shipped = track_objects(objects, labels=labels, movie=movie, divisions=False)
    assert "image flow on" in shipped.note and "cells touch" in shipped.note
    assert "image flow" not in neighbours.note
    # at the rim cells move more than their spacing: nearest positions fail there
    assert _correct(off, truth) < 0.5 and _correct(neighbours, truth) < 0.5
    assert _correct(shipped, truth) > 0.85


def test_the_colony_map_carries_a_fast_growing_drifting_colony():
    """At a low frame rate a colony grows and drifts by more than the optical flow
    finds from where the cells were; mapping the colony as a whole first (its objects'
    centroid and second moments) leaves the flow a small remainder."""
    from celldyn.track.flow import colony_affine, image_flow

    objects, labels, movie, truth = _colony(growth=1.4, drift=(12.0, -18.0), size=448)
    lin, off = colony_affine(labels[0], labels[1])
    assert np.allclose(lin, 1.4 * np.eye(2), atol=0.05)
    centre = np.full(2, 448 / 2)
    assert np.allclose(lin @ centre + off, centre + [12.0, -18.0], atol=2.0)

    first = np.flatnonzero(truth >= 0)
    pos = objects[["y", "x"]].to_numpy()
    true = pos[truth[first]] - pos[first]
    err = {align: np.median(np.linalg.norm(
        image_flow(objects, movie, labels, align=align)[first] - true, axis=1))
        for align in (False, True)}
    assert err[True] < 2.0 < err[False]
    tracks = track_objects(objects, labels=labels, movie=movie, divisions=False)
    assert "image flow on" in tracks.note and _correct(tracks, truth) > 0.95


def test_the_image_flow_looks_only_around_the_objects():
    """A colony in a corner of a large frame: the flow is computed in the box around
    its objects, and finds the same steps as on the whole frame."""
    from celldyn.track.flow import _flow_box, image_flow

    objects, labels, movie, truth = _colony(growth=1.2, size=320)
    big = np.zeros((3, 960, 800), movie.dtype)
    big_labels = np.zeros((3, 960, 800), labels.dtype)
    big[:, 40:360, 60:380], big_labels[:, 40:360, 60:380] = movie, labels
    moved = objects.assign(y=objects.y + 40, x=objects.x + 60)
    box = _flow_box(big_labels[0], big_labels[1], 4, 32)
    ys, xs = np.nonzero(big_labels[0] | big_labels[1])
    assert box[0].start <= ys.min() and ys.max() < box[0].stop <= 960
    assert box[1].start <= xs.min() and xs.max() < box[1].stop <= 800
    assert (box[0].stop - box[0].start) * (box[1].stop - box[1].start) < 0.5 * 960 * 800
    first = np.flatnonzero(truth >= 0)
    true = (objects[["y", "x"]].to_numpy()[truth[first]]
            - objects[["y", "x"]].to_numpy()[first])
    whole = image_flow(moved, big, big_labels, margin=None)[first]
    boxed = image_flow(moved, big, big_labels)[first]
    assert np.median(np.linalg.norm(boxed - whole, axis=1)) < 1.0
    assert np.median(np.linalg.norm(boxed - true, axis=1)) < 2.0


def test_the_colony_map_is_the_identity_where_it_does_not_fit():
    from celldyn.track.flow import colony_affine

    one = np.zeros((64, 64), np.int32)
    one[10:20, 10:20] = 1
    assert np.array_equal(colony_affine(one, np.roll(one, 5, axis=1))[0], np.eye(2))
    # two cells that stay put and a third that enters: the moments move and stretch,
    # but the map would carry the two off themselves
    a = np.zeros((64, 64), np.int32)
    a[10:20, 10:20], a[10:20, 40:50] = 1, 2
    b = a.copy()
    b[50:60, 25:35] = 3
    lin, off = colony_affine(a, b)
    assert np.array_equal(lin, np.eye(2)) and not off.any()
    assert np.array_equal(colony_affine(a, a)[0], np.eye(2))


def test_separate_fast_blobs_keep_the_image_flow_gate_closed():
    objects, labels, movie, truth = _blobs(step=14.0)
    tracks = track_objects(objects, labels=labels, movie=movie, divisions=False)
    assert "image flow" not in tracks.note           # fast, but the cells do not touch
    assert _correct(tracks, truth) >= 0.95


def test_image_flow_bad_requests_are_one_line_errors():
    import pytest

    from celldyn.errors import InputError

    objects, labels, _, _ = _blobs(step=2.0)
    with pytest.raises(InputError, match="needs the movie"):
        track_objects(objects, labels=labels, divisions=False, flow="image")
    with pytest.raises(InputError, match="flow must be"):
        track_objects(objects, flow="yes")
