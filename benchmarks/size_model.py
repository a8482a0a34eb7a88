"""The generalist's learned size model (celldyn.segment.deep.size): fit, and judge it.

    nice python benchmarks/size_model.py --collect     # probe features, all parts (~20 CPU-min)
    nice python benchmarks/size_model.py --fit         # fit on training parts -> models/generalist2d/size.json
    nice python benchmarks/size_model.py --report      # diameters + test AP, RESULTS.md section

Training rows: the training parts of benchmarks/splits.py (every 2D instance set), at
most TRAIN_PER_SET images per set, each probed at its own scale and at two random
rescalings (factor in [0.5, 0.8] and [1.25, 2]; seed 0), so the regression must read
scale from the image. Validation and test rows: the middle frame of each movie, or each
image, of the benchmark's subsampled parts (the same images as "Segmentation: generalist
and automatic choice"), at their own scale. The rule that combines the size model with
the plateau probe is chosen on the validation rows only; test rows are scored once.
Leave-one-set-out: the regression refitted without any row of a set, scored on that set.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

HERE = Path(__file__).resolve().parent
FEATURES = HERE / "size_model_features.npz"       # cache, gitignored (recomputable)
OUT_JSON = HERE / "size_model.json"
MODEL = "generalist2d"
TRAIN_PER_SET = 8
SEED = 0


def _segmenter():
    from celldyn.segment.deep import load_segmenter

    return load_segmenter(MODEL)


def _crop_scaled(img: np.ndarray, s: float, crop: int) -> np.ndarray:
    """The central `crop` of `img` rescaled by `s` (crop first: cheaper)."""
    from skimage.transform import rescale

    side = int(np.ceil(crop / s))
    ny, nx = img.shape
    cy, cx = max(0, (ny - side) // 2), max(0, (nx - side) // 2)
    sub = img[cy:cy + side, cx:cx + side].astype(np.float32)
    if abs(s - 1) < 1e-6:
        return sub
    return rescale(sub, s, order=1, preserve_range=True, anti_aliasing=s < 1).astype(np.float32)


def collect() -> None:
    import segmentation as S

    from celldyn.segment.deep.datasets import load_part, median_diameter
    from celldyn.segment.deep.size import probe_features

    seg = _segmenter()
    crop = int(seg.config.get("probe_crop", 512))
    rows: dict[str, list] = {k: [] for k in ("x", "d", "set", "part", "scale", "found",
                                              "name")}
    rng = np.random.default_rng(SEED)
    for set_name, sp in S._gen_sets().items():
        t0 = time.time()
        train = load_part(sp, "train", S.DATA, skip_empty=True)
        idx = np.linspace(0, len(train) - 1, min(TRAIN_PER_SET, len(train))).round().astype(int)
        for i in sorted(set(idx.tolist())):
            it = train[i]
            d0 = median_diameter(it.labels)
            if not d0:
                continue
            for s in (1.0, float(rng.uniform(0.5, 0.8)), float(rng.uniform(1.25, 2.0))):
                x, found = probe_features(seg, _crop_scaled(it.image, s, crop))
                for k, v in zip(rows, (x, d0 * s, set_name, "train", s, found, it.name),
                                strict=True):
                    rows[k].append(v)
        for part in ("validation", "test"):
            items = S._gen_items(sp, part) if getattr(sp, part) else []
            for g in S._gen_groups(set_name, items):
                it = items[g[len(g) // 2]]
                d0 = median_diameter(it.labels)
                if not d0:
                    continue
                x, found = probe_features(seg, it.image)
                for k, v in zip(rows, (x, d0, set_name, part, 1.0, found,
                                       ",".join(items[i].name for i in g)), strict=True):
                    rows[k].append(v)
        print(f"{set_name}: {time.time() - t0:.0f} s, {len(rows['x'])} rows", flush=True)
        np.savez_compressed(FEATURES, **{k: np.asarray(v) for k, v in rows.items()})


def _load() -> dict[str, np.ndarray]:
    if not FEATURES.exists():
        raise SystemExit(f"{FEATURES.name} missing: run --collect first")
    with np.load(FEATURES, allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def _fit(r: dict[str, np.ndarray], mask: np.ndarray):
    from celldyn.segment.deep.size import fit_size_model

    return fit_size_model(r["x"][mask], r["d"][mask], groups=list(r["set"][mask]))


def _probe(found: np.ndarray) -> float:
    from celldyn.segment.deep.registry import _plateau

    p = _plateau(np.asarray(found, dtype=float), 1.2)
    return float("nan") if p is None else p


def _rule(rule: str, probe: float, size: float) -> float:
    from celldyn.segment.deep.size import combine

    return combine(rule, probe, size)


def _loso(r: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
    """(probe diameters, leave-one-set-out size predictions, validation score per rule)."""
    from celldyn.segment.deep.size import RULES

    is_train = r["part"] == "train"
    size_loso = np.full(len(r["d"]), np.nan)
    for name in np.unique(r["set"]):
        m = _fit(r, is_train & (r["set"] != name))
        rows = r["set"] == name
        size_loso[rows] = [m.predict(x) for x in r["x"][rows]]
    probe = np.array([_probe(f) for f in r["found"]])
    # mean over sets of the median |log2 error| on validation rows
    val = r["part"] == "validation"
    scores = {}
    for rule in RULES:
        est = np.array([_rule(rule, p, s) for p, s in zip(probe, size_loso, strict=True)])
        scores[rule] = float(np.mean([_errors(r, val & (r["set"] == n), est)
                                      for n in np.unique(r["set"][val])]))
    return probe, size_loso, scores


def fit() -> None:
    from celldyn.segment.deep.size import RULES

    r = _load()
    model = _fit(r, r["part"] == "train")
    _, _, scores = _loso(r)
    rule = min(RULES, key=lambda k: (round(scores[k], 3), RULES.index(k)))
    model.meta.update(rule=rule, rule_validation_scores=scores)
    model.meta.update(features="celldyn.segment.deep.size.probe_features",
                      training="training parts of benchmarks/splits.py, 2D instance sets, "
                      f"<= {TRAIN_PER_SET} images per set, each at scale 1 and two random "
                      f"rescalings (seed {SEED})", command="python benchmarks/size_model.py "
                      "--collect && python benchmarks/size_model.py --fit")
    from celldyn import models

    out = Path(models.__file__).parent / MODEL / "size.json"
    model.save(out)
    print(f"wrote {out} ({out.stat().st_size / 1e3:.0f} kB): {model.meta}")


def _errors(r, rows: np.ndarray, pred: np.ndarray) -> float:
    return float(np.median(np.abs(np.log2(pred[rows] / r["d"][rows])))) if rows.any() else np.nan


def _fmt(a: np.ndarray, rows: np.ndarray) -> str:
    return ", ".join(f"{v:.0f}" if np.isfinite(v) else "none" for v in a[rows])


def report() -> None:
    import segmentation as S
    from _results import markdown_table, write_section

    from celldyn.segment.deep.size import SizeModel

    r = _load()
    shipped = SizeModel.load(Path(__import__("celldyn.models").models.__file__).parent
                             / MODEL / "size.json")
    size_all = np.array([shipped.predict(x) for x in r["x"]])
    probe, size_loso, scores = _loso(r)
    chosen = shipped.meta["rule"]
    table = []
    for part in ("validation", "test"):
        for name in S._gen_sets():
            rows = (r["part"] == part) & (r["set"] == name)
            if not rows.any():
                continue
            table.append({"part": part, "set": name, "true diameter": _fmt(r["d"], rows),
                          "probe": _fmt(probe, rows),
                          "size model (all sets)": _fmt(size_all, rows),
                          "size model (leave set out)": _fmt(size_loso, rows),
                          "|log2 err| probe": round(_errors(r, rows, probe), 2),
                          "|log2 err| size, set out": round(_errors(r, rows, size_loso), 2)})
    # test AP@0.5 at the chosen rule's diameter (shipped size model) vs the probe
    seg = _segmenter()
    ap_rows = []
    for name, sp in S._gen_sets().items():
        items = S._gen_items(sp, "test") if sp.test else []
        if not items:
            continue
        by_name = {str(r["name"][k]): k for k in
                   np.flatnonzero((r["part"] == "test") & (r["set"] == name))}
        counts = {"probe": [], "chosen": []}
        for g in S._gen_groups(name, items):
            row = by_name.get(",".join(items[i].name for i in g))
            if row is None:             # no annotated object in the group's middle frame
                continue
            dp = probe[row] if np.isfinite(probe[row]) else None
            dc = _rule(chosen, probe[row], size_all[row])
            for i in g:
                if dp is not None:
                    counts["probe"].append(S._item_counts(items[i], seg.segment(
                        items[i].image, diameter=dp)))
                same = dp is not None and abs(dc - dp) < 1e-6
                counts["chosen"].append(counts["probe"][-1] if same else S._item_counts(
                    items[i], seg.segment(items[i].image, diameter=dc)))
        ap_rows.append({"set": name,
                        "AP@0.5 probe": S._summary(counts["probe"])["AP@0.5"],
                        f"AP@0.5 {chosen}": S._summary(counts["chosen"])["AP@0.5"],
                        "SEG probe": S._summary(counts["probe"])["SEG"],
                        "SEG chosen": S._summary(counts["chosen"])["SEG"]})
        print(ap_rows[-1], flush=True)
    OUT_JSON.write_text(json.dumps({"rules_validation": scores, "chosen": chosen,
                                    "diameters": table, "test_ap": ap_rows,
                                    "meta": shipped.meta}, indent=1))
    body = (
        "Written by `benchmarks/size_model.py` (module docstring: rows, rescalings, seed). "
        f"The size model is a ridge regression (alpha {shipped.meta.get('alpha')}, chosen "
        "by leave-one-set-out cross-validation on training rows) from the generalist's "
        "pooled bottleneck features and the probe's per-zoom measurements to the log "
        f"object diameter, fitted on {shipped.meta.get('n')} training rows. "
        "Diameters are median equivalent diameters in pixels of each validation/test "
        "movie's middle frame or image. 'size, set out' is refitted without any row of "
        "that set (the figure for a new kind of data); 'size model (all sets)' is the "
        "shipped fit, whose training rows include other images of the same set.\n\n"
        "Rule chosen on validation rows only (mean over sets of the median |log2 error|, "
        "leave-set-out size model):\n\n"
        + markdown_table([{"rule": k, "validation |log2 err|": round(v, 3)}
                          for k, v in scores.items()], ["rule", "validation |log2 err|"])
        + f"\n\nChosen: **{chosen}**.\n\n"
        + markdown_table(table, list(table[0]))
        + "\n\nTest parts (held out; the shipped size model, which was fitted on training "
        "rows of every set, so these are not leave-one-set-out figures), generalist2d "
        "at the probe's diameter vs the chosen rule's:\n\n"
        + markdown_table(ap_rows, list(ap_rows[0])) + "\n")
    write_section("Segmentation: learned object size (benchmarks/size_model.py)", body,
                  packages=("torch", "scikit-learn"))
    print(f"chosen rule: {chosen}; validation scores {scores}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--collect", action="store_true")
    ap.add_argument("--fit", action="store_true")
    ap.add_argument("--report", action="store_true")
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    if args.collect:
        collect()
    if args.fit:
        fit()
    if args.report:
        report()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
