"""Stage drift and jitter (celldyn.track.drift): found where the stage moved every object
alike, left alone where cells move on their own or a colony grows outward."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from celldyn.track import track_objects
from celldyn.track.drift import MIN_OBJECTS, frame_drift


def _cells(n_frames=8, n=60, seed=0, divide=True):
    """A random walk of `n` cells (1.5 px steps, about 50 px apart), some dividing."""
    rng = np.random.default_rng(seed)
    pos = rng.uniform(0, 600, (n, 2))
    rows, label = [], 1
    ids = list(range(1, n + 1))
    label = n + 1
    for t in range(n_frames):
        for i, p in zip(ids, pos):
            rows.append((t, i, *p))
        pos = pos + rng.normal(0, 1.5, pos.shape)
        if divide and t == 3:   # every fifth cell divides along x
            keep_ids, keep_pos = [], []
            for i, p in zip(ids, pos):
                if i % 5 == 0:
                    keep_ids += [label, label + 1]
                    keep_pos += [p + (0, 8), p - (0, 8)]
                    label += 2
                else:
                    keep_ids.append(i)
                    keep_pos.append(p)
            ids, pos = keep_ids, np.array(keep_pos)
    return pd.DataFrame(rows, columns=["t", "label", "y", "x"])


def _jitter(objects, shifts):
    out = objects.copy()
    t = out["t"].to_numpy()
    out["y"] += shifts[t, 0]
    out["x"] += shifts[t, 1]
    return out


def test_stage_jitter_is_found_and_the_links_are_those_without_it():
    objects = _cells()
    shifts = np.random.default_rng(1).integers(-60, 61, (8, 2)).astype(float)
    shifts[0] = 0
    jittered = _jitter(objects, shifts)
    drift = frame_drift(jittered)
    assert drift is not None and drift.shifted == 7
    # each step to within the cells' own motion (the offsets add up the steps)
    np.testing.assert_allclose(np.diff(drift.offset, axis=0), np.diff(shifts, axis=0), atol=1.0)
    plain = track_objects(objects)
    fixed = track_objects(jittered)
    assert "stage drift taken out in 7 of 7 frame pairs" in fixed.note
    assert fixed.edges.tolist() == plain.edges.tolist()
    assert len(plain.table.query("parent > 0")) == 24      # 12 divisions, both daughters
    # without the correction the jitter costs links (and divisions)
    off = track_objects(jittered, drift_correction=False)
    assert off.edges.tolist() != plain.edges.tolist()
    # the tracks keep the positions as measured
    kept = fixed.objects.sort_values(["t", "label"])[["x", "y"]].to_numpy()
    np.testing.assert_array_equal(kept, jittered.sort_values(["t", "label"])[["x", "y"]])
    # ... with the stage's offset beside them, which motion analysis leaves out
    from celldyn.analyze.motion import positions

    assert {"stage_y", "stage_x"} <= set(fixed.objects.columns)
    def steps(table):   # each track's frame-to-frame steps, as speeds are measured
        pos, _ = positions(table)
        same = np.diff(pos["label"].to_numpy()) == 0
        return np.diff(pos[["y", "x"]].to_numpy(), axis=0)[same]

    np.testing.assert_allclose(steps(fixed.objects), steps(plain.objects), atol=2.0)
    assert np.abs(steps(off.objects)).max() > 20       # the stage's jumps, left in


def test_no_drift_where_cells_move_on_their_own_or_a_colony_grows():
    assert frame_drift(_cells(divide=False)) is None           # independent walks
    ys, xs = np.mgrid[0:10, 0:10]
    grid = np.c_[ys.ravel(), xs.ravel()] * 20.0 - 90.0
    rows = [(t, i + 1, *(p * (1.15 ** t))) for t in range(4) for i, p in enumerate(grid)]
    growing = pd.DataFrame(rows, columns=["t", "label", "y", "x"])
    assert frame_drift(growing) is None                        # outward, not one shift


def test_too_few_objects_are_left_alone():
    few = _cells(n=MIN_OBJECTS - 1, divide=False)
    shifts = np.zeros((8, 2))
    shifts[1::2] = 40.0
    assert frame_drift(_jitter(few, shifts)) is None


@pytest.mark.parametrize("spacing", [None, (0.5, 0.5)])
def test_drift_in_physical_units_is_taken_out_in_pixels(spacing):
    objects = _cells(divide=False)
    shifts = np.zeros((8, 2))
    shifts[4:] = (35.0, -50.0)                                  # one jump of the stage
    drift = frame_drift(_jitter(objects, shifts), spacing=spacing)
    assert drift is not None and drift.shifted == 1
    back = drift.apply(_jitter(objects, shifts), spacing=spacing)
    np.testing.assert_allclose(back[["y", "x"]].to_numpy(), objects[["y", "x"]].to_numpy(),
                               atol=1.0)


def test_the_image_flow_keeps_the_stage_in():
    """Where the tracker relinks with the images' optical flow, the drift is left in the
    positions: the flow registers the frames, and its mask overlaps hold the stage."""
    from celldyn.measure.features import measure_objects
    from celldyn.simulate import simulate_movie

    sim = simulate_movie(n_frames=4, shape=(160, 160), n_objects=14, radius=(5.0, 6.0),
                         rng=2)
    raw_labels, raw_movie = np.asarray(sim.labels), np.asarray(sim.movie.data)
    labels = np.zeros((4, 160, 200), raw_labels.dtype)
    movie = np.full((4, 160, 200), np.median(raw_movie), raw_movie.dtype)
    for t in range(4):                    # the stage jumps 30 px and back
        x = 35 if t % 2 else 5
        labels[t, :, x:x + 160], movie[t, :, x:x + 160] = raw_labels[t], raw_movie[t]
    objects = measure_objects(labels, movie)
    assert frame_drift(objects) is not None
    plain = track_objects(objects, labels=labels, movie=movie)
    assert "stage drift taken out" in plain.note
    flowed = track_objects(objects, labels=labels, movie=movie, flow="image")
    assert "image flow on" in flowed.note and "stage drift" not in flowed.note


def test_shifted_labels_lay_each_frame_where_its_positions_were_moved():
    from celldyn.track.drift import ShiftedLabels

    labels = np.zeros((3, 6, 8), np.int32)
    labels[:, 2, 3] = 7
    moved = ShiftedLabels(labels, np.array([[0, 0], [1, -2]]))   # frame 2: no offset
    assert np.argwhere(moved[0] == 7).tolist() == [[2, 3]]
    assert np.argwhere(moved[1] == 7).tolist() == [[1, 5]]          # minus (1, -2)
    assert (moved[2] == labels[2]).all() and moved.shape == labels.shape
    edge = ShiftedLabels(labels, np.array([[0, 0], [0, 6]]))
    assert not edge[1].any()                                        # moved out: gone


def test_the_learned_tracker_links_as_without_the_jitter():
    """The learned tracker's features see the drift-free motion it was trained on: with
    the correction its links on a jittered movie are those on the plain one (without
    it, links are lost)."""
    pytest.importorskip("torch")
    objects = _cells()
    shifts = np.random.default_rng(1).integers(-60, 61, (8, 2)).astype(float)
    shifts[0] = 0
    jittered = _jitter(objects, shifts)
    plain = track_objects(objects, tracker="learned")
    fixed = track_objects(jittered, tracker="learned")
    assert "stage drift taken out in 7 of 7 frame pairs" in fixed.note
    assert fixed.edges.tolist() == plain.edges.tolist()
    off = track_objects(jittered, tracker="learned", drift_correction=False)
    kept = {tuple(e) for e in off.edges.tolist()} & {tuple(e) for e in plain.edges.tolist()}
    assert len(kept) < 0.9 * len(plain.edges)   # without it a tenth of the links or more go
