"""Test-time augmentation of the shipped generalist: how many symmetries pay?

``tta`` (a deep parameter: ``celldyn run --segmenter deep --param tta=N``;
``DeepSegmenter.segment(tta=N)``) averages the network's maps over the first N of the
eight symmetries of the square (the identity, the three quarter turns, then the same
flipped) before the instances are drawn. Errors of an undertrained network that depend
on the frame's orientation average out; it costs N times the network's time.

Every 2D instance set of benchmarks/splits.py SEGMENTATION (as benchmarks/segmentation.py
--generalist), the shipped generalist2d at the object size its scale probe estimates on
each group's middle image, post-processing levels as shipped:

- validation parts (at most ``VAL_PER_SET`` images per set, evenly spread): N = 1, 2, 4,
  8. Rule, fixed before the run: the smallest N whose mean AP@0.5 over the sets is
  within 0.01 of the best N's.
- test parts (as the generalist section: at most 8 images per set, DSB2018 12): N = 1
  and the chosen N, scored once, after the choice.

The shipped default stays ``tta=1`` (the model's config has no ``"tta"``): held out, the
validation gain did not repeat (the section says by how much). Making it a default would
also change the automatic choice and the speed rows.

Run: ``OMP_NUM_THREADS=1 python benchmarks/tta.py`` (about 6 minutes on one thread;
``--report-only`` rewrites the section from benchmarks/tta.json). Writes the section
'Segmentation: test-time augmentation'.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
import segmentation as S  # noqa: E402  (sets, parts, scoring)
from _results import machine, markdown_table, versions, write_section  # noqa: E402

SECTION = "Segmentation: test-time augmentation"
JSON = HERE / "tta.json"
CANDIDATES = (1, 2, 4, 8)
VAL_PER_SET = 8
TIE = 0.01


def score_part(part: str, ns: tuple[int, ...]) -> dict:
    """Per set: per N, the summed match counts (:func:`segmentation._item_counts`) and
    the network seconds per megapixel."""
    from celldyn.segment.classical import normalize_frame
    from celldyn.segment.deep import load_segmenter
    from celldyn.segment.deep.heads.postprocess import instances_from_maps
    from celldyn.segment.deep.inference import _post_kwargs, predict_maps_tta

    seg = load_segmenter("generalist2d")
    out = {}
    for name, sp in S._gen_sets().items():
        items = S._gen_items(sp, part)
        if not items:
            continue
        counts = {n: [] for n in ns}
        seconds = {n: 0.0 for n in ns}
        pixels = 0
        for group in S._gen_groups(name, items):
            z = seg.zoom_for(seg.estimate_diameter(items[group[len(group) // 2]].image))
            for i in group:
                img = normalize_frame(np.asarray(items[i].image, np.float32))
                pixels += items[i].image.size
                for n in ns:
                    t0 = time.perf_counter()
                    if img is None:
                        pred = np.zeros(items[i].image.shape, np.int32)
                    else:
                        probs, dists = predict_maps_tta(seg.net, img, n=n, zoom=z,
                                                        normalized=True)
                        pred = instances_from_maps(probs.mean(axis=0), dists.mean(axis=0),
                                                   **_post_kwargs(seg.thresholds, z))
                    seconds[n] += time.perf_counter() - t0
                    counts[n].append(S._item_counts(items[i], pred))
        out[name] = {str(n): {**S._summary(counts[n]),
                              "s_per_mp": round(seconds[n] / (pixels / 1e6), 3)}
                     for n in ns}
        out[name]["images"] = len(items)
        print(name, {n: out[name][str(n)]["AP@0.5"] for n in ns}, flush=True)
    return out


def mean_ap(res: dict, n: int) -> float:
    return float(np.mean([v[str(n)]["AP@0.5"] for v in res.values()]))


def choose(val: dict) -> int:
    best = max(mean_ap(val, n) for n in CANDIDATES)
    return next(n for n in CANDIDATES if mean_ap(val, n) >= best - TIE)


def run() -> dict:
    started = time.perf_counter()
    S.GEN_VAL_PER_SET = VAL_PER_SET
    val = score_part("validation", CANDIDATES)
    n = choose(val)
    test = score_part("test", tuple(sorted({1, n})))
    payload = {"validation": val, "test": test, "chosen": n,
               "seconds": time.perf_counter() - started,
               "date": time.strftime("%Y-%m-%d"), "machine": machine(),
               "versions": versions("celldyn", "torch", "numpy")}
    JSON.write_text(json.dumps(payload, indent=1))
    return payload


def _rows(res: dict, ns: list[int]) -> list[dict]:
    rows = []
    for name, v in res.items():
        row = {"set": f"{name} ({v['images']})"}
        for n in ns:
            row[f"N={n} AP@0.5 / SEG"] = f"{v[str(n)]['AP@0.5']:.3f} / {v[str(n)]['SEG']:.3f}"
        rows.append(row)
    mean = {"set": "**mean**"}
    for n in ns:
        seg = np.mean([v[str(n)]["SEG"] for v in res.values()])
        mean[f"N={n} AP@0.5 / SEG"] = f"{mean_ap(res, n):.3f} / {seg:.3f}"
    rows.append(mean)
    return rows


def report(p: dict) -> str:
    n = p["chosen"]
    val_ns, test_ns = list(CANDIDATES), sorted({1, n})
    cols = lambda ns: ["set"] + [f"N={k} AP@0.5 / SEG" for k in ns]  # noqa: E731
    time_ratio = np.mean([v[str(n)]["s_per_mp"] / v["1"]["s_per_mp"]
                          for v in p["test"].values() if v["1"]["s_per_mp"] > 0])
    gains = {name: v[str(n)]["AP@0.5"] - v["1"]["AP@0.5"] for name, v in p["test"].items()}
    worse = [f"{k} {g:+.3f}" for k, g in gains.items() if g < -0.005]
    return (
        f"Run of {p['date']} ({p['machine']}). Written by benchmarks/tta.py (its docstring "
        "gives the sets, the parts and the rule). The shipped generalist2d, maps averaged "
        "over the first N symmetries of the square; (images per set); AP@0.5 = TP / (TP + "
        "FP + FN) at IoU 0.5 and CTC SEG, as 'Segmentation: generalist and automatic "
        f"choice'. {p['seconds'] / 60:.0f} minutes on one thread.\n\n"
        "Validation parts (the choice is made here):\n\n"
        + markdown_table(_rows(p["validation"], val_ns), cols(val_ns))
        + f"\n\nRule (smallest N within {TIE} of the best mean AP@0.5): **N = {n}**.\n\n"
        "Test parts (held out; scored once, after the choice):\n\n"
        + markdown_table(_rows(p["test"], test_ns), cols(test_ns))
        + f"\n\nThe network's time per image grows {time_ratio:.1f}x at N = {n} (mean over "
        "the test sets of the seconds per megapixel, post-processing included). Sets "
        "worse at N = " + str(n) + " on the test parts (AP@0.5 down more than 0.005): "
        + (", ".join(worse) if worse else "none") + f". Mean test AP@0.5 "
        f"{mean_ap(p['test'], 1):.3f} -> {mean_ap(p['test'], n):.3f}: "
        + ("the validation gain held out. " if mean_ap(p["test"], n) >= mean_ap(
            p["test"], 1) + TIE else
           "**the validation gain did not hold out** (it came mostly from validation parts "
           "of one to three images: PSC, yeast, the DAPI colony), so it is no default. ")
        + "It stays an option (`--segmenter deep --param tta=" + str(n) + "`); the shipped "
        "config keeps N = 1.")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--report-only", action="store_true")
    args = ap.parse_args(argv)
    payload = json.loads(JSON.read_text()) if args.report_only else run()
    body = report(payload)
    print(body)
    write_section(SECTION, body, packages=("torch", "numpy"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
