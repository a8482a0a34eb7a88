"""Temporal repairs of objects that moved (celldyn.segment.temporal, ``moved``): tracking
on celldyn's own segmentation with the repairs comparing objects where they are ('not
moved', as before 2026-12-07) and after moving the neighbouring frame's pieces onto the
object ('moved', the default since then).

For each real tracking set (benchmarks/tracking.py SETS; the parts of splits.TRACKING),
the pipeline's default segmentation of the part (``celldyn.pipeline.run``, its imaging
facts, the repairs off), every 1st / 2nd / 4th frame kept (the repairs run on the
subsampled movie, as ``celldyn run`` would on a movie taken at that rate), then
``split_merged`` and ``split_joined_sisters`` with ``moved`` False or True, the default
LAP tracker as ``celldyn run`` calls it on its own segmentation, scored against the GT
markers by the CTC measures (tracking.py's ``score``).

The rule, fixed before this script's first run: ``moved`` becomes the default if, on
the training parts (the frames splits.TRACKING lets a default be chosen on), the
division F1 pooled over the sets and steps rises and no set's true-minus-false
divisions, summed over the steps, falls. Not blind: a scratch version of the same
comparison (2026-12-07, session 38; the repairs' separation look-ahead then compared
objects where they are) had been run on the same training parts first, and the idea
came from reading the E. coli colony's training frames (sisters 0.51 / 0.52 inside the
joined rod a frame earlier). The test parts are scored once, after the decision
(``--parts test``).

    python benchmarks/temporal_moved.py --parts training     # JSON rows of those parts
    python benchmarks/temporal_moved.py --parts test
    python benchmarks/temporal_moved.py --report-only        # RESULTS.md section
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

import tracking as T  # the set loader, segmentation, tracker and scorer
from _results import markdown_table, write_section
from temporal_repair import parts_of

SECTION = "Segmentation: temporal repairs of objects that moved (own segmentation, tracked)"
OUT = {"training": HERE / "temporal_moved_training.json",
       "test": HERE / "temporal_moved_test.json"}   # one per part: the two may run at once
SETS = ("Fluo-N2DL-HeLa-01", "PhC-C2DL-PSC-01", "PhC-C2DL-EcoliColony-vanVliet-01",
        "DIC-C2DH-HeLa-01", "Fluo-N2DH-GOWT1-01", "Fluo-N2DH-GOWT1-02")
VARIANTS = {"not moved": False, "moved": True}
STEPS = (1, 2, 4)


def bench_part(data: Path, name: str, part: str, frames) -> list[dict]:
    from celldyn.measure.features import measure_objects
    from celldyn.segment.temporal import split_joined_sisters, split_merged

    movie, gt, table = T.load_set(data, name, frames)
    started = time.perf_counter()
    seg = T.segment(movie, name, repair=False)
    seg_seconds = time.perf_counter() - started
    rows = []
    for k in STEPS:
        gl, gtab = T.subsample_ctc(np.asarray(gt), table, k)
        images = np.asarray(movie.data)[::k]
        for variant, moved in VARIANTS.items():
            labels = np.array(seg[::k], copy=True)
            started = time.perf_counter()
            merged = split_merged(labels, moved=moved)
            joined = split_joined_sisters(labels, moved=moved)
            repair_seconds = time.perf_counter() - started
            objects = measure_objects(labels, images)
            edges, _ = T.track_with("celldyn LAP", objects, labels, images,
                                    max_distance=None, repeat=1, own_segmentation=True)
            s = T.score(objects, edges, labels, gl, gtab)
            rows.append({"set": name, "part": part, "k": k, "variant": variant,
                         "objects": len(objects),
                         "frames_split": len(set(merged) | set(joined)),
                         "repair_seconds": round(repair_seconds, 2),
                         "segmentation_seconds": round(seg_seconds, 1),
                         **{key: s[key] for key in ("TRA", "DET", "LNK", "BC(1)", "div_TP",
                                                    "div_FP", "div_FN", "div_F1")}})
            print(json.dumps(rows[-1]), flush=True)
    return rows


def _f1(tp: int, fp: int, fn: int) -> float:
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def decide(rows: list[dict]) -> tuple[bool, str]:
    """The rule of the module docstring on the training rows."""
    train = [r for r in rows if r["part"] == "training"]
    pooled = {}
    per_set: dict[str, dict[str, int]] = {}
    for v in VARIANTS:
        mine = [r for r in train if r["variant"] == v]
        tp, fp, fn = (sum(r[c] for r in mine) for c in ("div_TP", "div_FP", "div_FN"))
        pooled[v] = (tp, fp, fn, _f1(tp, fp, fn))
        for r in mine:
            per_set.setdefault(r["set"], {}).setdefault(v, 0)
            per_set[r["set"]][v] += r["div_TP"] - r["div_FP"]
    worse = [s for s, d in per_set.items() if d["moved"] < d["not moved"]]
    adopt = pooled["moved"][3] > pooled["not moved"][3] and not worse
    a, b = pooled["not moved"], pooled["moved"]
    text = (f"Training parts, pooled over {len(per_set)} sets and {len(STEPS)} steps: "
            f"divisions TP/FP/FN {a[0]}/{a[1]}/{a[2]} (F1 {a[3]:.3f}) not moved -> "
            f"{b[0]}/{b[1]}/{b[2]} (F1 {b[3]:.3f}) moved; true-minus-false divisions per "
            "set, not moved -> moved: "
            + "; ".join(f"{s}: {d['not moved']} -> {d['moved']}" for s, d in per_set.items())
            + f". By the rule: **{'moved adopted' if adopt else 'moved not adopted'}**"
            + (f" (lower: {', '.join(worse)})" if worse else "") + ".")
    return adopt, text


# measured apart from the rows' runs (which shared the machine with other jobs)
TIMING_NOTE = ("'repair s' is the wall time of both repairs on a shared machine (the "
               "training rows of 2026-12-07 ran beside the test suite). Measured alone "
               "on the same machine, PSC's training frames at every frame (45 frames, "
               "about 250 objects each): 2.6-2.8 s not moved, 4.4-5.1 s moved, against "
               "about 119 s to segment them.")


def report(rows: list[dict]) -> str:
    cols = ["set", "part", "step", "variant", "objects", "frames split", "TRA", "DET", "LNK",
            "BC(1)", "div F1 (TP/FP/FN)", "repair s"]
    table = [{"set": r["set"], "part": r["part"], "step": f"x{r['k']}",
              "variant": r["variant"], "objects": r["objects"],
              "frames split": r["frames_split"], "TRA": round(r["TRA"], 4),
              "DET": round(r["DET"], 4), "LNK": round(r["LNK"], 3),
              "BC(1)": "n/a" if r["BC(1)"] != r["BC(1)"] else round(r["BC(1)"], 3),
              "div F1 (TP/FP/FN)": f"{r['div_F1']:.2f} ({r['div_TP']}/{r['div_FP']}/"
                                   f"{r['div_FN']})",
              "repair s": r["repair_seconds"]} for r in rows]
    test = [r for r in rows if r["part"] == "test"]
    lines = []
    if test:
        for s in dict.fromkeys(r["set"] for r in test):
            d = {v: sum(r["div_TP"] - r["div_FP"] for r in test
                        if r["set"] == s and r["variant"] == v) for v in VARIANTS}
            tra = {v: np.mean([r["TRA"] for r in test if r["set"] == s and r["variant"] == v])
                   for v in VARIANTS}
            lines.append(f"- {s}: true-minus-false divisions over the steps "
                         f"{d['not moved']} -> {d['moved']}, mean TRA "
                         f"{tra['not moved']:.4f} -> {tra['moved']:.4f}")
    _, decision = decide(rows)
    head = __doc__.split("\n\n    python")[0].strip()
    return (f"Written by benchmarks/temporal_moved.py. {head}\n\n{decision}\n\n"
            + markdown_table(table, cols) + "\n\n" + TIMING_NOTE
            + ("\n\nTest parts (scored once, after the decision), not moved -> moved:\n\n"
               + "\n".join(lines) if lines else "\n\nTest parts: not run yet."))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--parts", default="training", help="training, test or both")
    ap.add_argument("--sets", default=",".join(SETS))
    ap.add_argument("--report-only", action="store_true")
    ap.add_argument("--no-results-md", action="store_true")
    args = ap.parse_args(argv)
    data = HERE.parents[1] / "shared" / "data"
    if not args.report_only:
        wanted = {"training", "test"} if args.parts == "both" else {args.parts}
        for kind in sorted(wanted):
            out = OUT[kind]
            rows = json.loads(out.read_text()) if out.exists() else []
            for name in args.sets.split(","):
                for part, frames in parts_of(name, {kind}):
                    new = bench_part(data, name, kind, frames)
                    rows = [r for r in rows if not (r["set"] == name and r["part"] == kind)]
                    rows += new
                    # every part as it finishes: a long run stopped keeps what it did
                    tmp = out.with_suffix(".json.tmp")
                    tmp.write_text(json.dumps(rows, indent=1))
                    tmp.replace(out)
    rows = [r for kind in ("training", "test") if OUT[kind].exists()
            for r in json.loads(OUT[kind].read_text())]
    order = {s: i for i, s in enumerate(SETS)}
    rows.sort(key=lambda r: (r["part"] != "training", order.get(r["set"], 99), r["k"],
                             r["variant"] != "not moved"))
    text = report(rows)
    print(text)
    if not args.no_results_md:
        write_section(SECTION, text, packages=("numpy", "scipy", "scikit-image"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
