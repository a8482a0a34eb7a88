"""generalist2d: split a marker that holds two prominent peaks of the distance map,
swept on the validation parts.

The post-processing's markers are the connected components of ``distance >
marker_threshold`` (celldyn.segment.deep.heads.postprocess). Where the network's
distance does not dip below that level between two touching cells (sisters just after
division, nuclei pressed together, rods end to end), they share one marker and become
one object: in `celldyn run`'s own segmentation of the whole PhC-C2DL-PSC-01 movie
(counts read in session 37, over the tracking split's training and test frames alike),
25 of its 116 divisions had both daughters drawn as one object for more than six
frames after birth, and about 20 more were found two to six frames late. This
script asks whether taking as markers the *h-maxima* of the distance inside that region
(``skimage.morphology.h_maxima``: peaks that rise at least ``h`` above the saddle to a
higher one) pays on every 2D set: each image of a part (up to EDGE_VAL_PER_SET per
set, as the width sweep) is run through the network once at the scale probe's size,
then post-processed at each ``h`` (None: the shipped markers). The rule, fixed before
the run: the level with the best mean validation AP@0.5 over the sets is shipped (within
0.001 of the best: the first in the table's order, None first); each set left out, the
level the others choose. The test parts are scored once, after the decision.

Not blind in one respect, stated: a joint sweep of the levels (`segmentation.py
--levels-sweep`) once found marker_threshold 0.4 better on the validation parts and was
not adopted after the embedded demo (a test part) had been looked at; this sweep keeps
the shipped marker_threshold and changes only how a marker region is split.

Usage::

    python benchmarks/segmentation_markers.py --part validation
    python benchmarks/segmentation_markers.py --part test
    python benchmarks/segmentation_markers.py --tracking-training
    python benchmarks/segmentation_markers.py --report-only
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _level_sweep as L

JSON = Path(__file__).with_name("segmentation_markers.json")
SECTION = "Segmentation: markers split at prominent peaks"
LEVELS = (None, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4)
"""``h`` levels (fractions of the per-object normalised distance; None: as shipped).
The first run had 0.05-0.2 and the rule picked 0.2, the grid's edge, with the bacteria
sets losing most at the low levels: 0.25-0.4 were added, validation rows only seen."""
KEYS = tuple(str(h) for h in LEVELS)
TIE = 0.001


def post(prob: np.ndarray, dist: np.ndarray, kw: dict, h: float | None) -> np.ndarray:
    """The shipped post-processing at marker split depth `h` (None: none, as before)."""
    from celldyn.segment.deep.heads.postprocess import instances_from_maps

    return instances_from_maps(prob, dist, **{**kw, "marker_h": h or 0.0})


def _split(seg, image, d, z) -> dict[str, tuple]:
    """Per level: the labels of the network's maps (computed once) post-processed at
    that marker split depth, and their number."""
    from celldyn.segment.deep.inference import _post_kwargs, predict_maps

    kw = _post_kwargs(seg.thresholds, z)
    prob, dist = predict_maps(seg.net, seg._check(image), zoom=z)
    out = {}
    for h in LEVELS:
        lab = post(prob, dist, kw, h)
        out[str(h)] = (lab, int(lab.max()))
    return out


def sweep(part: str) -> dict:
    return L.sweep(part, KEYS, _split, "objects")


TRACK_SETS = ("Fluo-N2DL-HeLa-01", "PhC-C2DL-PSC-01", "PhC-C2DL-EcoliColony-vanVliet-01",
              "DIC-C2DH-HeLa-01")


def tracking_rows(h: float) -> list[dict]:
    """Own segmentation (``celldyn run``'s defaults with ``marker_h`` = `h`, repaired
    as the run repairs it) of the *training* frames of benchmarks/splits.py TRACKING,
    tracked by the default LAP at every 1st / 2nd / 4th frame and scored against the GT
    markers (benchmarks/tracking.py's functions)."""
    import tracking as T

    from celldyn.measure.features import measure_objects
    from celldyn.segment.deep import inference

    shipped = inference._post_kwargs
    inference._post_kwargs = lambda th, z: {**shipped(th, z), "marker_h": h}
    try:
        rows = []
        for name in TRACK_SETS:
            movie, gt, table = T.load_set(T.HERE.parents[1] / "shared" / "data", name,
                                          T.training_frames(name))
            seg = T.segment(movie, name, repair=False)
            for k in (1, 2, 4):
                gl, gtab = T.subsample_ctc(np.asarray(gt), table, k)
                labels = T.repaired(np.asarray(seg[::k]))
                mov = np.asarray(movie.data)[::k]
                objects = measure_objects(labels, mov)
                edges, _ = T.track_with("celldyn LAP", objects, labels, mov, max_distance=None,
                                        repeat=1, own_segmentation=True)
                sc = T.score(objects, edges, labels, gl, gtab)
                rows.append({"set": name, "k": k, "TRA": round(sc["TRA"], 4),
                             "DET": round(sc["DET"], 4), "TP": sc["div_TP"],
                             "FP": sc["div_FP"], "FN": sc["div_FN"]})
                print(json.dumps(rows[-1]), flush=True)
        return rows
    finally:
        inference._post_kwargs = shipped


def tracking_table(res: dict) -> str:
    off, on = res["tracking_training"]["0"], res["tracking_training"]["0.25"]
    lines = ["| set | step | TRA off -> 0.25 | divisions TP/FP/FN off -> 0.25 |",
             "|---|---|---|---|"]
    tot = {"off": [0, 0, 0], "on": [0, 0, 0]}
    for a, b in zip(off, on):
        lines.append(f"| {a['set']} | x{a['k']} | {a['TRA']:.4f} -> {b['TRA']:.4f} | "
                     f"{a['TP']}/{a['FP']}/{a['FN']} -> {b['TP']}/{b['FP']}/{b['FN']} |")
        for key, r in (("off", a), ("on", b)):
            tot[key] = [t + r[c] for t, c in zip(tot[key], ("TP", "FP", "FN"))]
    f1 = {k: 2 * t[0] / (2 * t[0] + t[1] + t[2]) for k, t in tot.items()}
    lines.append(f"| pooled | | | {'/'.join(map(str, tot['off']))} (F1 {f1['off']:.3f}) -> "
                 f"{'/'.join(map(str, tot['on']))} (F1 {f1['on']:.3f}) |")
    return "\n".join(lines)


def choose(sets: dict) -> str:
    return L.choose(sets, KEYS, TIE)


def table(sets: dict) -> str:
    names = list(sets)
    rows = ["| h | mean AP@0.5 | mean AP@0.75 | mean SEG | objects | "
            + " | ".join(f"{n} ({sets[n]['images']})" for n in names) + " |",
            "|" + "---|" * (5 + len(names))]
    for h in LEVELS:
        k = str(h)
        rows.append(f"| {k} | {np.mean([sets[n][k]['AP@0.5'] for n in names]):.4f} | "
                    f"{np.mean([sets[n][k]['AP@0.75'] for n in names]):.4f} | "
                    f"{np.mean([sets[n][k]['SEG'] for n in names]):.4f} | "
                    f"{sum(sets[n][k]['objects'] for n in names)} | "
                    + " | ".join(f"{sets[n][k]['AP@0.5']:.3f} / {sets[n][k]['SEG']:.3f}"
                                 for n in names) + " |")
    return "\n".join(rows)


def loso(sets: dict) -> str:
    return L.loso(sets, KEYS, "None", "")


def report(res: dict) -> str:
    body = [__doc__.split("Usage::")[0].strip(), ""]
    if res.get("validation"):
        val = res["validation"]
        body += ["Validation parts (AP@0.5 / SEG per set; images in brackets):", "",
                 table(val), "", f"Chosen by the rule: **{choose(val)}**. Each set left "
                 "out, the level the others choose and the set's validation AP@0.5 there "
                 "vs as shipped: " + loso(val) + ".", ""]
    if res.get("test"):
        body += ["Test parts, scored once after the decision (AP@0.5 / SEG):", "",
                 table(res["test"]), ""]
    if res.get("validation_first"):
        body += [("First implementation (h-maxima over the whole frame, where markers "
                  "that touch diagonally interact; replaced by the per-marker one above, "
                  "which is what `marker_h` runs), validation then test parts:"), "",
                 table(res["validation_first"]), "", table(res["test_first"]), ""]
    if res.get("tracking_training"):
        body += [("Own segmentation tracked (`--tracking-training`; training frames of the "
                  "tracking split, default LAP, GT markers):"), "", tracking_table(res), ""]
    return L.write(SECTION, body, res)


def main(argv: list[str] | None = None) -> int:
    return L.cli(argv, __doc__, JSON, sweep, report, {"tracking-training": (
        "own segmentation of the tracking training parts, tracked, marker_h 0 and 0.25",
        lambda: {"0": tracking_rows(0.0), "0.25": tracking_rows(0.25)})})


if __name__ == "__main__":
    raise SystemExit(main())
