"""benchmarks/active_learning.py's joining of runs (no data, no training)."""

from __future__ import annotations

import pytest
from bench_loader import load_benchmark

pytest.importorskip("torch")


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("active_learning")


def _run(sets, seeds=2, first=0, iters=200):
    config = {"sets": list(sets), "seeds": seeds, "first_seed": first, "rounds": 2,
              "per_round": 3, "pool": 56, "test": 6, "tile": 128, "iters": iters,
              "n_aug": 4, "loso": True}
    curve = {"objects": [0, 5, 9], "ap50": [0.1, 0.3, 0.4]}
    results = [{"set": s, "ap50_shipped": 0.1, "pool_tiles": 20,
                "ap50_full": [0.4] * seeds, "seconds": 10.0,
                "curves": {k: [dict(curve)] * seeds
                           for k in ("active", "uncertainty", "random")}}
               for s in sets]
    return {"config": config, "seconds": 10.0 * len(sets), "results": results}


def test_a_run_of_other_sets_is_appended(bench):
    joined = bench.merge(_run(["A"]), _run(["B"]))
    assert [r["set"] for r in joined["results"]] == ["A", "B"]
    assert joined["config"]["sets"] == ["A", "B"] and joined["seconds"] == 20.0
    assert "B in a separate run" in joined["note"]


def test_a_run_of_other_seeds_adds_its_seeds(bench):
    joined = bench.merge(_run(["A"]), _run(["A"], seeds=3, first=2))
    assert len(joined["results"][0]["ap50_full"]) == 5
    assert len(joined["results"][0]["curves"]["random"]) == 5
    assert joined["config"]["seeds"] == 5


def test_runs_with_other_settings_or_seeds_are_refused(bench):
    with pytest.raises(SystemExit, match="iters"):
        bench.merge(_run(["A"]), _run(["B"], iters=60))
    with pytest.raises(SystemExit, match="same seeds"):
        bench.merge(_run(["A"]), _run(["B"], seeds=3))
    with pytest.raises(SystemExit, match="no set in common"):
        bench.merge(_run(["A"]), _run(["A", "B"]))
