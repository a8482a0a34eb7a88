"""Daughters exchanged with a neighbour's continuation (celldyn.track.lap.
exchange_daughters, step 2b of the LAP)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from celldyn.track import lap
from celldyn.track._problem import prepare


def _objects(rows):
    return pd.DataFrame([{"t": t, "label": i + 1, "y": y, "x": x}
                         for i, (t, y, x) in enumerate(rows)])


def _links(edges) -> set[tuple[int, int]]:
    return {tuple(map(int, e)) for e in np.asarray(edges).reshape(-1, 2)}


def _problem(objects, radius=12.0):
    return prepare(objects, labels=None, max_distance=radius, max_gap=1, costs=None,
                   spacing=None, edge_costs=None, candidates=None, divisions=True,
                   merges=False)


# frame 0: mother m (0) at the origin, neighbour n (1) at (4.5, 8.2); frame 1: the
# sisters a (2) and b (3) at x -5 and 5, astride m; n's continuation c (4), 6 px on. b
# lies 5.5 px from n (nearer than c), so the frame pass gives her to n.
ROWS = [(0, 0.0, 0.0), (0, 4.5, 8.2), (1, 0.0, -5.0), (1, 0.0, 5.0), (1, 10.5, 8.2)]
TRUTH = {(0, 2), (0, 3), (1, 4)}


def test_swap_gives_the_mother_her_sister_back():
    """m -> (a, c), n -> b (the frame pass gave b to the nearer n, step 2 offered m
    n's continuation) becomes m -> (a, b), n -> c: the sisters astride their mother
    cost less than c far from her."""
    prob = _problem(_objects(ROWS), radius=20.0)
    wrong = np.array([[0, 2], [0, 4], [1, 3]])
    assert _links(lap.exchange_daughters(prob, wrong)) == TRUTH


def test_take_adds_the_division_the_frame_pass_hid():
    """m -> a, n -> b with c appearing: the division m -> (a, b) and n -> c cost less
    than c appearing."""
    prob = _problem(_objects(ROWS))
    hidden = np.array([[0, 2], [1, 3]])
    assert _links(lap.exchange_daughters(prob, hidden)) == TRUTH


def test_move_gives_the_division_to_the_mother(monkeypatch):
    """The whole LAP with the exchanges on: step 2 gives n the division (b and her own
    continuation c); the division is m's, whose sisters lie exactly astride her."""
    assert not lap.EXCHANGES   # off by default (benchmarks/exchanges.py)
    objects = _objects(ROWS)
    monkeypatch.setattr(lap, "EXCHANGES", True)
    assert _links(lap.lap_links(objects, max_distance=12.0, max_gap=1)) == TRUTH
    monkeypatch.setattr(lap, "EXCHANGES", False)   # the default
    assert _links(lap.lap_links(objects, max_distance=12.0, max_gap=1)) == {
        (0, 2), (1, 3), (1, 4)}


def test_give_undoes_a_division_that_costs_more():
    """m -> (a, b) where b lies right on n's path and far from m's other side: n -> b
    and no division is cheaper (n's track would otherwise end)."""
    objects = _objects([(0, 0.0, 0.0), (0, 0.0, 10.0), (1, 0.0, 1.0), (1, 0.0, 11.0)])
    prob = _problem(objects)
    division = np.array([[0, 2], [0, 3]])
    assert _links(lap.exchange_daughters(prob, division)) == {(0, 2), (1, 3)}


def test_good_links_are_left_alone():
    prob = _problem(_objects(ROWS), radius=20.0)
    truth = np.array(sorted(TRUTH))
    assert _links(lap.exchange_daughters(prob, truth)) == TRUTH
    # no divisions asked for: nothing changes, whatever the links
    objects = _objects(ROWS)
    none = prepare(objects, labels=None, max_distance=20.0, max_gap=1, costs=None,
                   spacing=None, edge_costs=None, candidates=None, divisions=False,
                   merges=False)
    wrong = np.array([[0, 2], [0, 4], [1, 3]])
    assert _links(lap.exchange_daughters(none, wrong)) == _links(wrong)


def test_crowded_colony_at_a_low_frame_rate(shared_data, monkeypatch):
    """A training part (frames a default may be chosen on): the E. coli colony's frames
    20, 24 and 28, GT detections, as `celldyn run --labels` tracks them. The exchanges
    turn a false division and a missed one into the true one."""
    from celldyn.evaluate import division_scores
    from celldyn.io import read_ctc_gt, read_ctc_movie
    from celldyn.measure.features import measure_objects
    from celldyn.track import track_objects
    from celldyn.track.graph import subsample_ctc
    from celldyn.training import crop_ctc

    folder = shared_data / "PhC-C2DL-EcoliColony-vanVliet-01"
    if not folder.is_dir():
        pytest.skip("E. coli colony not in ../shared/data")
    movie = np.asarray(read_ctc_movie(folder / "01").data)[20:30:4]
    gt, table, _ = read_ctc_gt(folder / "01_GT")
    gt, table = subsample_ctc(*crop_ctc(np.asarray(gt), table, 20, 29), 4)
    objects = measure_objects(gt, movie)
    scores = {}
    for on in (False, True):
        monkeypatch.setattr(lap, "EXCHANGES", on)
        tracks = track_objects(objects, labels=gt, movie=movie)
        scores[on] = division_scores(gt, table, tracks.relabel(gt), tracks.to_ctc())
    assert scores[True]["div_FP"] < scores[False]["div_FP"]
    assert scores[True]["div_TP"] > scores[False]["div_TP"]
