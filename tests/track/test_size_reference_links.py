"""The daughters' size reference from a first pass (celldyn.track.scale.
conservation_from_links, REFERENCE_FROM_LINKS in track_objects)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from celldyn.measure.features import measure_objects
from celldyn.simulate import simulate_movie
from celldyn.track import api, scale, track_objects
from celldyn.track.scale import MIN_CONSERVATION_EVENTS, conservation_from_links


def _divisions(n: int, *, mother: float = 100.0, daughter: float = 60.0) -> pd.DataFrame:
    rows = []
    for i in range(n):
        y = 40.0 + 60 * i
        rows += [{"t": 0, "label": 3 * i + 1, "y": y, "x": 50.0, "area": mother},
                 {"t": 1, "label": 3 * i + 2, "y": y - 8, "x": 50.0, "area": daughter},
                 {"t": 1, "label": 3 * i + 3, "y": y + 8, "x": 50.0, "area": daughter}]
    return pd.DataFrame(rows)


def test_reference_counts_only_divisions_one_frame_on():
    objects = _divisions(MIN_CONSERVATION_EVENTS)
    edges = np.array([[3 * i, 3 * i + j] for i in range(MIN_CONSERVATION_EVENTS)
                      for j in (1, 2)])
    ref, n = conservation_from_links(objects, edges)
    assert n == MIN_CONSERVATION_EVENTS
    assert ref == pytest.approx((np.log(1.2), 0.0))
    # one mother fewer: too few divisions, no reference
    ref, n = conservation_from_links(objects, edges[2:])
    assert ref is None and n == MIN_CONSERVATION_EVENTS - 1
    # a daughter reached over a gap is not one frame on: that mother does not count
    gap = objects.copy()
    gap.loc[1, "t"] = 2
    assert conservation_from_links(gap, edges) == (None, MIN_CONSERVATION_EVENTS - 1)
    # no sizes: nothing to measure
    assert conservation_from_links(objects.drop(columns="area"), edges) == (None, 0)


def test_one_wrong_division_does_not_move_the_reference():
    objects = _divisions(9)
    edges = [[3 * i, 3 * i + j] for i in range(9) for j in (1, 2)]
    objects.loc[[25, 26], "area"] = 150.0   # the ninth "division" adds up to 3x its mother
    ref, _ = conservation_from_links(objects, np.array(edges))
    assert ref == pytest.approx((np.log(1.2), 0.0))


@pytest.fixture()
def unseen(monkeypatch):
    """No likely division seen: the movie's own size reference is missing."""
    monkeypatch.setattr(api, "likely_divisions",
                        lambda *a, **k: np.empty((0, 3), np.int64))


def test_second_pass_uses_the_first_pass_divisions(unseen, monkeypatch):
    objects = _divisions(10)
    monkeypatch.setattr(scale, "REFERENCE_FROM_LINKS", False)
    first = track_objects(objects, max_distance=20.0)
    assert "daughters' size term off (too few likely divisions)" in first.note
    monkeypatch.setattr(scale, "REFERENCE_FROM_LINKS", True)
    second = track_objects(objects, max_distance=20.0)
    ref, n = conservation_from_links(objects, first.rows[first.edges])
    assert n == 10
    assert (f"log ratio {ref[0]:.2f} +- {ref[1]:.2f} (from the 10 divisions of a first "
            "pass") in second.note
    assert "size term off" not in second.note
    assert len(second.edges) == 20   # the clean divisions are kept


def test_no_second_pass_with_few_divisions(unseen):
    objects = _divisions(MIN_CONSERVATION_EVENTS - 1)
    tracks = track_objects(objects, max_distance=20.0)
    assert "daughters' size term off (too few likely divisions)" in tracks.note
    assert "first pass" not in tracks.note


def _markers(labels: np.ndarray, radius: int = 2) -> np.ndarray:
    """A small square marker at each object's centroid (as a CTC TRA marker)."""
    out = np.zeros_like(labels)
    for t in range(labels.shape[0]):
        for row in measure_objects(labels[t:t + 1]).itertuples():
            y, x = int(round(row.y)), int(round(row.x))
            out[t, max(y - radius, 0):y + radius + 1,
                max(x - radius, 0):x + radius + 1] = row.label
    return out


def test_masks_and_markers_keep_their_divisions(unseen):
    """Issue 16 item 2 with the second pass: the reference follows the input (full
    masks about the growth, markers about twice), so neither loses its divisions."""
    sim = simulate_movie(n_frames=20, shape=(192, 192), n_objects=20, radius=(5, 8),
                         speed=1.5, division_rate=0.05, noise=False, rng=0)
    counts = {}
    for kind, labels in (("masks", sim.labels), ("markers", _markers(sim.labels))):
        objects = measure_objects(labels)
        tracks = track_objects(objects, labels=labels)
        assert "of a first pass" in tracks.note, kind
        counts[kind] = (np.bincount(tracks.edges[:, 0]) == 2).sum()
    truth = int((sim.table["parent"] > 0).sum()) // 2
    assert truth >= MIN_CONSERVATION_EVENTS
    for kind, n in counts.items():
        assert abs(n - truth) <= max(2, 0.15 * truth), (kind, n, truth)
    assert abs(counts["masks"] - counts["markers"]) <= max(2, 0.1 * truth)


def test_crowded_colony_at_a_low_frame_rate(shared_data, monkeypatch):
    """The case that asked for it (a training part: frames a default may be chosen on):
    the E. coli colony's frames 17, 21, 25 and 29, GT detections. No likely division is
    seen, and without the reference neighbours were offered strangers' daughters."""
    from celldyn.evaluate import division_scores
    from celldyn.io import read_ctc_gt, read_ctc_movie
    from celldyn.track.graph import subsample_ctc
    from celldyn.training import crop_ctc

    folder = shared_data / "PhC-C2DL-EcoliColony-vanVliet-01"
    if not folder.is_dir():
        pytest.skip("E. coli colony not in ../shared/data")
    movie = np.asarray(read_ctc_movie(folder / "01").data)[17:30:4]
    gt, table, _ = read_ctc_gt(folder / "01_GT")
    gt, table = subsample_ctc(*crop_ctc(np.asarray(gt), table, 17, 29), 4)
    objects = measure_objects(gt, movie)
    scores = {}
    for on in (False, True):
        monkeypatch.setattr(scale, "REFERENCE_FROM_LINKS", on)
        tracks = track_objects(objects, labels=gt, movie=movie)
        scores[on] = division_scores(gt, table, tracks.relabel(gt), tracks.to_ctc())
    assert scores[True]["div_FP"] < scores[False]["div_FP"]
    assert scores[True]["div_TP"] >= scores[False]["div_TP"]


def test_spread_widens_the_unpriced_band():
    from celldyn.errors import ConfigError
    from celldyn.track.costs import LinkCosts, division_evidence

    objects = pd.DataFrame({"t": [0, 1, 1], "label": [1, 2, 3], "y": [0.0, -5, 5],
                            "x": [0.0, 0, 0], "area": [100.0, 60, 60]})
    ratio = np.log(1.2)   # the daughters add up to 1.2 times their mother
    ref = (ratio - 0.15, 0.1)  # 1.5 spreads off the reference's centre

    def cost(spread):
        costs = LinkCosts(division_conservation_spread=spread, area=0.0)
        return float(division_evidence(objects, [0], [1], [2], costs=costs,
                                       link_terms=False, conservation=ref)[0])

    assert cost(1.0) == pytest.approx(0.5 * 0.05)   # weight 0.5 x (0.15 - 0.1)
    assert cost(2.0) == pytest.approx(0.0)
    with pytest.raises(ConfigError, match="division_conservation_spread"):
        LinkCosts(division_conservation_spread=-1.0)
