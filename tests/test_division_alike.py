"""The size-alike gate on the farther daughter's position refund
(``LinkCosts.daughter_position_alike``)."""

import numpy as np
import pandas as pd
import pytest

from celldyn.errors import ConfigError
from celldyn.track.costs import LinkCosts, division_evidence


def _objects(a1: float, a2: float) -> pd.DataFrame:
    # mother at 0; daughters 4 and 8 px away (the farther one pays the position term)
    return pd.DataFrame({"t": [0, 1, 1], "label": [1, 1, 2], "y": [0.0, 0, 0],
                         "x": [0.0, -4, 8], "area": [100.0, a1, a2]})


def _evidence(objects: pd.DataFrame, alike: float) -> float:
    costs = LinkCosts(daughter_position_alike=alike)
    return float(division_evidence(objects, [0], [1], [2], costs=costs,
                                   max_distance=10.0)[0])


def test_alike_daughters_keep_the_refund():
    objects = _objects(50.0, 60.0)          # 1.2x apart
    assert _evidence(objects, 2.0) == pytest.approx(_evidence(objects, np.inf))


def test_unlike_daughters_lose_exactly_the_refund():
    objects = _objects(75.0, 25.0)          # 3x apart: a mother and a fragment
    c = LinkCosts()
    refund = (1 - c.daughter_position) * c.position * (8.0 / 10.0) ** 2
    assert refund > 0
    assert _evidence(objects, 2.0) == pytest.approx(_evidence(objects, np.inf) + refund)
    assert _evidence(objects, 4.0) == pytest.approx(_evidence(objects, np.inf))


def test_gate_below_one_is_a_config_error():
    with pytest.raises(ConfigError, match="daughter_position_alike"):
        LinkCosts(daughter_position_alike=0.5)


def test_own_segmentation_costs_follow_the_level(monkeypatch):
    from celldyn import config

    monkeypatch.setattr(config, "OWN_SEGMENTATION_DAUGHTER_ALIKE", float("inf"))
    assert config.own_segmentation_costs() is None       # the LinkCosts defaults
    monkeypatch.setattr(config, "OWN_SEGMENTATION_DAUGHTER_ALIKE", 2.0)
    assert config.own_segmentation_costs() == LinkCosts(daughter_position_alike=2.0)


@pytest.mark.parametrize(("given", "own_labels", "own"), [
    (False, False, True),   # celldyn segments: its own segmentation's costs
    (True, False, False),   # --labels: the defaults
    (True, True, True),     # celldyn bench passes its own segmentation in
])
def test_a_run_prices_its_own_segmentation(monkeypatch, given, own_labels, own):
    from celldyn import pipeline
    from celldyn.scale import plan
    from celldyn.simulate import simulate_movie
    from celldyn.track import api

    seen = {}
    real_plan, real_track = plan.track, api.track_objects

    def plan_track(*a, **k):
        seen["own"] = k["own_segmentation"]
        return real_plan(*a, **k)

    def track_objects(*a, **k):
        seen["costs"] = k.get("costs")
        return real_track(*a, **k)

    monkeypatch.setattr(plan, "track", plan_track)
    monkeypatch.setattr(plan, "track_objects", track_objects)
    monkeypatch.setattr("celldyn.config.OWN_SEGMENTATION_DAUGHTER_ALIKE", 2.0)
    sim = simulate_movie(n_frames=3, rng=0)
    pipeline.run(sim.movie, labels=sim.labels if given else None, own_labels=own_labels)
    assert seen["own"] is own
    assert seen["costs"] == (LinkCosts(daughter_position_alike=2.0) if own else None)


def test_the_summary_states_the_gate():
    from celldyn.track import track_objects

    objects = _objects(50.0, 60.0)
    gated = track_objects(objects, max_distance=10.0,
                          costs=LinkCosts(daughter_position_alike=2.0)).note
    assert "sisters' sizes are within 2x" in gated
    assert "sisters' sizes" not in track_objects(objects, max_distance=10.0).note
