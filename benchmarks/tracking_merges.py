"""Merge events (fusion) on simulated organelles: does ``celldyn run --merges`` find them?

Organelle-like movies from :func:`celldyn.simulate.simulate_movie`: many small objects
(radius 3-5 px) that wander, split in two (fission, ``division_rate``) and fuse
(``merge_rate``: two objects closer than ``merge_distance`` px become one whose volume
is their sum; the truth graph holds both edges, in-degree 2). Each movie is run the way
``celldyn run MOVIE --merges`` runs it (:func:`celldyn.pipeline.run` with
``RunConfig(merges=True)``, no other option) twice: on the ground-truth labels (as
``--labels``; only linking is judged) and on celldyn's own default segmentation.

A merge event is a node with two predecessors. A found merge is correct when its node
and both predecessors are the ground truth's merged object and its two parents
(objects matched to the truth by IoU > 0.5 in the same frame; on ground-truth
detections every object matches its own). Precision = correct / found, recall = correct / true merges.
Fission (divisions) and TRA are reported beside them, and the same run without
``--merges`` as the reference.

    nice python benchmarks/tracking_merges.py [--seeds 0,1,2] [--no-results-md]

Writes benchmarks/tracking_merges.json and the section "Tracking: merges (simulated
organelles)" of benchmarks/RESULTS.md. Hand-written: the event matching is ours.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _results import machine, markdown_table, versions, write_section

SECTION = "Tracking: merges (simulated organelles)"
MOVIE = dict(n_frames=40, shape=(192, 192), n_objects=40, radius=(3.0, 5.0), speed=1.0,
             persistence=0.5, division_rate=0.02, merge_rate=0.05, merge_distance=3.0,
             photons=3000)


def organelles(seed: int, **overrides):
    """One simulated organelle movie (SimulatedMovie) with fission and fusion."""
    from celldyn.simulate import simulate_movie

    return simulate_movie(**{**MOVIE, **overrides}, rng=seed)


def gt_events(sim) -> tuple[set, set]:
    """Merges {(t, child, frozenset(parents))} and divisions {(t, parent,
    frozenset(daughters))} of the truth graph, objects as (t, label)."""
    g = sim.graph
    key = {n: (int(g.nodes[n]["t"]), int(g.nodes[n]["seg_id"])) for n in g}
    merges = {(key[n], frozenset(key[p] for p in g.predecessors(n)))
              for n in g if g.in_degree(n) == 2}
    divisions = {(key[n], frozenset(key[c] for c in g.successors(n)))
                 for n in g if g.out_degree(n) == 2}
    return merges, divisions


def found_events(result, to_gt) -> tuple[set, set]:
    """Merges and divisions of a run, objects mapped to ground-truth (t, label)
    (unmatched objects map to None and never count as correct)."""
    obj = result.objects
    t = obj["t"].to_numpy(np.int64)
    lab = obj["label"].to_numpy(np.int64)
    edges = np.asarray(result.edges, np.int64).reshape(-1, 2)
    ids = [to_gt(int(a), int(b)) for a, b in zip(t, lab)]
    preds: dict[int, list[int]] = {}
    succs: dict[int, list[int]] = {}
    for u, v in edges:
        preds.setdefault(int(v), []).append(int(u))
        succs.setdefault(int(u), []).append(int(v))
    merges = {(ids[v], frozenset(ids[u] for u in us)) for v, us in preds.items()
              if len(us) == 2}
    divisions = {(ids[u], frozenset(ids[v] for v in vs)) for u, vs in succs.items()
                 if len(vs) == 2}
    return merges, divisions


def iou_matcher(seg: np.ndarray, gt: np.ndarray):
    """(t, seg label) -> (t, gt label) with IoU > 0.5, else None."""
    table: dict[tuple[int, int], tuple[int, int]] = {}
    for t in range(seg.shape[0]):
        a, b = seg[t].ravel().astype(np.int64), gt[t].ravel().astype(np.int64)
        both = (a > 0) & (b > 0)
        m = int(b.max()) + 1
        codes, inter = np.unique(a[both] * m + b[both], return_counts=True)
        sa, sb = np.bincount(a), np.bincount(b)
        for c, n in zip(codes, inter):
            la, lb = int(c // m), int(c % m)
            if n / (sa[la] + sb[lb] - n) > 0.5:
                table[(t, la)] = (t, lb)
    return lambda t, lab: table.get((t, lab))


def prf(found: set, truth: set) -> dict:
    tp = len(found & truth)
    p = tp / len(found) if found else float("nan")
    r = tp / len(truth) if truth else float("nan")
    f = 2 * tp / (len(found) + len(truth)) if found or truth else float("nan")
    return {"precision": p, "recall": r, "F1": f, "TP": tp, "FP": len(found) - tp,
            "FN": len(truth) - tp}


def score_movie(sim, seed: int, *, segmentation: bool) -> list[dict]:
    from celldyn.evaluate import evaluate_ctc
    from celldyn.pipeline import RunConfig, run

    truth_m, truth_d = gt_events(sim)
    rows = []
    for merges in (True, False):
        start = time.perf_counter()
        result = run(sim.movie, config=RunConfig(merges=merges),
                     labels=None if segmentation else sim.labels)
        seconds = time.perf_counter() - start
        labels = np.asarray(result.labels)
        to_gt = iou_matcher(labels, sim.labels)
        found_m, found_d = found_events(result, to_gt)
        tra = evaluate_ctc(sim.labels, sim.table, labels, result.tracks)["TRA"]
        m, d = prf(found_m, truth_m), prf(found_d, truth_d)
        rows.append({
            "seed": seed, "detections": "segmentation" if segmentation else "GT labels",
            "merges_option": merges, "true_merges": len(truth_m),
            "found_merges": len(found_m), "merge_precision": m["precision"],
            "merge_recall": m["recall"], "merge_F1": m["F1"], "merge_TP": m["TP"],
            "division_F1": d["F1"], "TRA": float(tra), "seconds": round(seconds, 2),
        })
        print(rows[-1], flush=True)
    return rows


def summary(rows: list[dict]) -> list[dict]:
    out = []
    for det in ("GT labels", "segmentation"):
        for opt in (True, False):
            sub = [r for r in rows if r["detections"] == det and r["merges_option"] == opt]
            if not sub:
                continue
            tp = sum(r["merge_TP"] for r in sub)
            found = sum(r["found_merges"] for r in sub)
            true = sum(r["true_merges"] for r in sub)
            out.append({
                "detections": det, "run": "--merges" if opt else "default (no --merges)",
                "movies": len(sub), "true merges": true, "found": found, "correct": tp,
                "merge precision": tp / found if found else float("nan"),
                "merge recall": tp / true if true else float("nan"),
                "fission F1 (mean)": float(np.nanmean([r["division_F1"] for r in sub])),
                "TRA (mean)": float(np.mean([r["TRA"] for r in sub])),
            })
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--json", type=Path, default=HERE / "tracking_merges.json")
    ap.add_argument("--no-results-md", action="store_true")
    args = ap.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    start = time.perf_counter()
    rows = []
    for seed in seeds:
        sim = organelles(seed)
        for segmentation in (False, True):
            rows += score_movie(sim, seed, segmentation=segmentation)
    total = time.perf_counter() - start
    table = markdown_table(summary(rows), ["detections", "run", "movies", "true merges",
                                           "found", "correct", "merge precision",
                                           "merge recall", "fission F1 (mean)",
                                           "TRA (mean)"])
    print("\n" + table)
    args.json.write_text(json.dumps({"rows": rows, "movie": MOVIE, "seeds": seeds,
                                     "machine": machine(),
                                     "versions": versions("celldyn", "numpy", "scipy")},
                                    indent=1, default=float) + "\n")
    if not args.no_results_md:
        settings = ", ".join(f"{k} {v}" for k, v in MOVIE.items())
        write_section(SECTION, (
            "Written by benchmarks/tracking_merges.py. Simulated organelles "
            f"(celldyn.simulate.simulate_movie: {settings}; seeds "
            f"{', '.join(map(str, seeds))}), run as `celldyn run MOVIE --merges` "
            "(celldyn.pipeline.run, RunConfig(merges=True), LAP tracker, every other "
            "option default) on the ground-truth labels (as --labels) and on celldyn's "
            "own default segmentation; the default run (no --merges) beside it. A found "
            "merge (a node with two predecessors) is correct when the node and both "
            "predecessors are the true merged object and its two parents (objects "
            "matched by IoU > 0.5 in the same frame). Fission F1: the "
            "same for divisions. Simulated data only: no real movie with annotated "
            f"merges is in ../shared/data. {total:.0f} s on one core.\n\n" + table),
            packages=("numpy", "scipy"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
