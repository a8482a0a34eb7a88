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
