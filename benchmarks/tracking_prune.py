"""How many frames a daughter must last on celldyn's own segmentation: the default of
``RunConfig.min_daughter_frames`` (3 when celldyn segments the movie), re-swept with a
leave-one-set-out choice.

    nice python benchmarks/tracking_prune.py [--sets A,B] [--report-only]

The four real tracking movies with many divisions or whole-cell masks (SETS: HeLa, PSC,
the E. coli colony, DIC HeLa; GOWT1-02, with one division, is left out), whole movies, segmented by ``celldyn run``'s defaults
(segmented once, repaired as the run repairs each subsampled movie), tracked by the
default LAP at every 1st / 2nd / 4th frame with no daughter undone, then each level of
LEVELS applied to the links (``prune_short_branch_edges``, what the run applies). For
each set, the level with the best mean division F1 over the *other* sets (and steps) is
the one a default chosen without that set would be; its F1 on the set is the held-out
figure beside the shipped level's. The whole movies include the frames the tracking
defaults were chosen on: every row here is a training figure except the
leave-one-set-out column, which no choice saw.

Writes tracking_prune.json and its section of RESULTS.md.
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

from _results import markdown_table, write_section  # noqa: E402
from tracking import load_set, repaired, score, segment  # noqa: E402

from celldyn.config import RunConfig  # noqa: E402

JSON = HERE / "tracking_prune.json"
SECTION = "Tracking: short daughter branches on own segmentation (leave one set out)"
SETS = ("Fluo-N2DL-HeLa-01", "PhC-C2DL-PSC-01", "PhC-C2DL-EcoliColony-vanVliet-01",
        "DIC-C2DH-HeLa-01")
LEVELS = (0, 2, 3, 4, 5, 6)
STEPS = (1, 2, 4)


def run_set(data: Path, name: str) -> list[dict]:
    from celldyn.measure.features import measure_objects
    from celldyn.track import track_objects
    from celldyn.track.graph import prune_short_branch_edges, subsample_ctc

    movie, gt, table = load_set(data, name, None)
    t0 = time.perf_counter()
    seg = segment(movie, name, repair=False)
    print(f"{name}: segmented in {time.perf_counter() - t0:.0f} s", flush=True)
    rows = []
    for k in STEPS:
        gt_k, table_k = subsample_ctc(gt, table, k)
        labels = repaired(np.asarray(seg[::k]))
        frames = np.asarray(movie.data)[::k]
        objects = measure_objects(labels, frames)
        tracks = track_objects(objects, labels=labels, movie=frames, tracker="lap",
                               min_daughter_frames=0)
        edges = np.asarray(tracks.rows, np.int64)[tracks.edges].reshape(-1, 2)
        t = objects["t"].to_numpy(np.int64)
        for level in LEVELS:
            kept, undone = prune_short_branch_edges(t, edges, min_length=level)
            s = score(objects, kept, labels, gt_k, table_k)
            row = {"set": name, "step": k, "level": level, "undone": int(undone),
                   **{q: float(s[q]) for q in ("TRA", "div_F1", "div_TP", "div_FP",
                                                "div_FN")}}
            rows.append(row)
            print(json.dumps(row), flush=True)
    return rows


def loso(rows: list[dict]) -> list[dict]:
    """Per set: the level chosen on the other sets (best mean division F1 over their
    sets and steps; ties to the shipped level, then the smaller), and both levels'
    F1 on the set."""
    shipped = RunConfig().daughter_frames()
    sets = sorted({r["set"] for r in rows})
    f1 = {(r["set"], r["step"], r["level"]): r["div_F1"] for r in rows}
    out = []
    for held in sets:
        others = [s for s in sets if s != held]

        def mean(level, group):
            v = [f1[(s, k, level)] for s in group for k in STEPS
                 if not np.isnan(f1.get((s, k, level), np.nan))]
            return float(np.mean(v)) if v else float("nan")

        chosen = max(LEVELS, key=lambda lv: (round(mean(lv, others), 6), lv == shipped,
                                             -lv))
        row = {"held-out set": held, "level chosen on the others": chosen,
               "others' mean F1 at it": round(mean(chosen, others), 3),
               f"others' mean F1 at {shipped}": round(mean(shipped, others), 3)}
        for k in STEPS:
            row[f"x{k} F1 chosen / {shipped}"] = (f"{f1[(held, k, chosen)]:.3f} / "
                                                  f"{f1[(held, k, shipped)]:.3f}")
        out.append(row)
    return out


def report(rows: list[dict]) -> None:
    shipped = RunConfig().daughter_frames()
    sweep = []
    for r in rows:
        sweep.append({"set": r["set"], "step": f"x{r['step']}", "level": r["level"],
                      "undone": r["undone"], "TRA": f"{r['TRA']:.4f}",
                      "division F1 (TP/FP/FN)": f"{r['div_F1']:.3f} ({r['div_TP']:.0f}/"
                                                f"{r['div_FP']:.0f}/{r['div_FN']:.0f})"})
    held = loso(rows)
    f1 = {(r["set"], r["step"], r["level"]): r["div_F1"] for r in rows}
    deltas = [f1[(h["held-out set"], k, h["level chosen on the others"])]
              - f1[(h["held-out set"], k, shipped)] for h in held for k in STEPS]
    deltas = [d for d in deltas if not np.isnan(d)]
    chosen = sorted({h["level chosen on the others"] for h in held})
    verdict = (f"The levels chosen without each set: {', '.join(map(str, chosen))}; against "
               f"the shipped {shipped}, the held-out division F1 moves by "
               f"{min(deltas):+.3f} to {max(deltas):+.3f} (mean {np.mean(deltas):+.4f} over "
               f"{len(deltas)} set-steps), both ways: {shipped} is kept.")
    body = f"""Written by benchmarks/tracking_prune.py. `RunConfig.min_daughter_frames` on
celldyn's own segmentation (shipped: {shipped}; 0 with `--labels`): a division whose
daughter ends within that many kept frames (before the movie's last) is undone. Whole
movies of the four real tracking sets with divisions, segmented by `celldyn run`'s
defaults and repaired as the run repairs them, tracked by the default LAP at every 1st /
2nd / 4th frame; the levels are applied to the same links. **Training figures** (the
movies include the frames the tracking defaults were chosen on), except the
leave-one-set-out table: for each set, the level a default chosen on the other three sets
would be (best mean division F1 over their steps; ties to the shipped level) and the
set's F1 at that level beside the shipped one's.

Leave one set out:

{markdown_table(held, list(held[0]))}

{verdict}

Every level:

{markdown_table(sweep, list(sweep[0]))}
"""
    write_section(SECTION, body)
    print(body)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=HERE.parents[1] / "shared" / "data")
    ap.add_argument("--sets", default=",".join(SETS))
    ap.add_argument("--report-only", action="store_true")
    args = ap.parse_args(argv)
    if args.report_only:
        rows = json.loads(JSON.read_text())["rows"]
    else:
        rows = [r for name in args.sets.split(",") for r in run_set(args.data, name)]
        tmp = JSON.with_suffix(".tmp")
        tmp.write_text(json.dumps({"rows": rows}, indent=0))
        tmp.replace(JSON)
    report(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
