"""Lineage and cell-cycle bookkeeping: hand-built trees and the real CTC ground truth."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from celldyn.analyze import cycle_durations, lineage_table, track_dynamics

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def _table(rows):
    return pd.DataFrame(rows, columns=["label", "begin", "end", "parent"])


def test_hand_built_tree_with_known_cycles_and_a_gap():
    # 1 divides into 2, 3 at frame 5; 2 divides at 12 (cycle 7); 3 is missed for two
    # frames (gap: 3 -> 6, one child = same cell) and divides at 20 (cycle 15).
    t = _table([
        [1, 0, 4, 0], [2, 5, 11, 1], [3, 5, 9, 1], [4, 12, 30, 2], [5, 12, 30, 2],
        [6, 12, 19, 3], [7, 20, 30, 6], [8, 20, 25, 6], [9, 26, 30, 8],
    ])
    lin = lineage_table(t).set_index("track_id")
    assert lin.loc[1, "ends_by_division"] and not lin.loc[1, "starts_by_division"]
    assert lin.loc[2, "cycle_frames"] == 7
    assert pd.isna(lin.loc[3, "cycle_frames"])  # the cycle ends on track 6
    assert lin.loc[6, "cycle_frames"] == 15 and lin.loc[6, "cell_id"] == 3
    assert not lin.loc[3, "ends_by_division"] and not lin.loc[6, "starts_by_division"]
    assert lin.loc[6, "generation"] == 1 and lin.loc[7, "generation"] == 2
    assert lin.loc[9, "generation"] == 2 and lin.loc[9, "cell_id"] == 8
    assert set(lin["lineage_id"]) == {1}
    assert lin.loc[6, "division_frame"] == 20 and lin.loc[1, "division_frame"] == 5
    assert lin.loc[2, "children"] == "4;5" and lin.loc[3, "n_children"] == 1
    assert cycle_durations(t) == {2: 7, 6: 15}


def test_cycle_duration_in_physical_time():
    t = _table([[1, 0, 2, 0], [2, 3, 9, 1], [3, 3, 9, 1], [4, 10, 12, 2], [5, 10, 12, 2]])
    rows = []
    for r in t.itertuples():
        for f in range(r.begin, r.end + 1):
            rows.append({"t": f, "label": r.label, "y": 1.0, "x": float(f)})
    d = track_dynamics(pd.DataFrame(rows), t, frame_interval=300.0).set_index("track_id")
    assert d.loc[2, "cycle_frames"] == 7
    assert d.loc[2, "cycle_duration"] == pytest.approx(7 * 300.0)
    assert d.loc[2, "division_time"] == pytest.approx(10 * 300.0)
    assert (d["time_unit"] == "s").all() and (d["length_unit"] == "px").all()


def test_simulated_movie_cycles_match_its_truth():
    from celldyn.measure import measure_objects
    from celldyn.simulate import simulate_movie

    sim = simulate_movie(n_frames=30, n_objects=4, shape=(96, 96), radius=(3, 4),
                         division_rate=0.15, speed=0.5, rng=3)
    d = track_dynamics(measure_objects(sim.labels), sim.table)
    tab = sim.table.set_index("label")
    kids = tab.groupby("parent").size()
    expected = {}
    for lab, r in tab.iterrows():
        if kids.get(lab, 0) == 2 and r.parent and kids.get(r.parent, 0) == 2:
            expected[lab] = r.end - r.begin + 1  # no gaps in the simulator
    assert expected, "the simulation should contain complete cycles"
    got = d.dropna(subset=["cycle_frames"]).set_index("track_id")["cycle_frames"]
    assert {int(k): int(v) for k, v in got.items()} == expected


def _independent_cycles(path: Path) -> tuple[dict[int, int], int, int]:
    """Cycle lengths straight from man_track.txt, written apart from celldyn."""
    begin, end, parent, children = {}, {}, {}, {}
    for line in path.read_text().split("\n"):
        if not line.strip():
            continue
        lab, b, e, p = (int(v) for v in line.split())
        begin[lab], end[lab], parent[lab] = b, e, p
    for lab, p in parent.items():
        if p:
            children.setdefault(p, []).append(lab)
    cycles = {}
    for lab, kids in children.items():
        if len(kids) < 2:
            continue
        first = lab  # walk back over gap continuations (one-child parents)
        while parent[first] and len(children[parent[first]]) == 1:
            first = parent[first]
        p = parent[first]
        if p and len(children[p]) >= 2:
            cycles[lab] = min(begin[k] for k in kids) - begin[first]
    n_div = sum(1 for k in children.values() if len(k) >= 2)
    return cycles, n_div, len(children)


@pytest.mark.real_data
@pytest.mark.parametrize(
    "dataset, n_parents, n_divisions, n_complete",
    [("Fluo-N2DH-SIM+-01", 31, 28, 1), ("PhC-C2DL-EcoliColony-vanVliet-01", 94, 94, 92)],
)
def test_real_ground_truth_cycles_equal_an_independent_count(
    dataset, n_parents, n_divisions, n_complete
):
    path = SHARED_DATA / dataset / "01_GT" / "TRA" / "man_track.txt"
    if not path.is_file():
        pytest.skip(f"real data not found at {path}")
    from celldyn.io import read_track_table

    expected, n_div, parents = _independent_cycles(path)
    # SIM+ lists 31 parents, 3 of them with one child (continuations, not divisions)
    assert (parents, n_div) == (n_parents, n_divisions)
    lin = lineage_table(read_track_table(path))
    assert int(lin["ends_by_division"].sum()) == n_divisions
    assert cycle_durations(read_track_table(path)) == expected
    assert len(expected) == n_complete


def test_a_growing_rods_length_at_birth_and_end_and_elongation_rate():
    """cell_length_*: the long axis as measured (physical with a pixel size), its
    slope per time unit, with the column units."""
    import numpy as np
    from skimage.draw import ellipse

    from celldyn.analyze.dynamics import column_units, units_for
    from celldyn.measure.features import measure_objects

    lab = np.zeros((3, 60, 140), np.int32)
    for t in range(3):   # half-axes 30, 35, 40 px: 60, 70, 80 px long
        rr, cc = ellipse(30, 70, 8, 30 + 5 * t, shape=lab.shape[1:])
        lab[t, rr, cc] = 1
    objects = measure_objects(lab, spacing=(0.5, 0.5))
    row = track_dynamics(objects, spacing=(0.5, 0.5), frame_interval=60.0).iloc[0]
    assert row["cell_length_start"] == pytest.approx(30.0, abs=0.5)
    assert row["cell_length_end"] == pytest.approx(40.0, abs=0.5)
    assert row["cell_length_slope"] == pytest.approx(5.0 / 60.0, rel=0.05)   # µm/s
    units = column_units(["cell_length_end", "cell_length_slope"],
                         units_for((0.5, 0.5), 60.0, 2))
    assert units == {"cell_length_end": "µm", "cell_length_slope": "µm/s"}
