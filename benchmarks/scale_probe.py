"""How the generalist finds the object size of a movie: the scale probe, judged.

    nice python benchmarks/scale_probe.py --collect   # probe passes on every part (~15 CPU-min)
    nice python benchmarks/scale_probe.py --report    # rules + test AP, RESULTS.md section

The probe (celldyn DeepSegmenter.estimate_diameter) segments a central crop at each of
its zooms and measures the median object diameter found at each. `--collect` records,
per image, those diameters and object counts and the network's bottleneck channels
averaged over the crop (a forward hook: Cellpose's "style" vector), on
* training rows: the training parts of benchmarks/splits.py (every 2D instance set), at
  most TRAIN_PER_SET images per set, each at its own scale and rescaled by two random
  factors (in [0.5, 0.8] and [1.25, 2]; seed 0), so sizes span a wider range;
* validation and test rows: the middle frame of each movie, or each image, of the
  subsampled parts that "Segmentation: generalist and automatic choice" scores.

Rules compared (`--report`), each turning one image's probe record into a diameter:
* plateau, ties to the larger zooms: the shipped rule until 2026-12-04;
* plateau, ties to the run closest to the working size: shipped 2026-12-04;
* the same, at the zooms the crop is wide enough for (its short side, zoomed, holds one
  object of the working diameter: `probe_zooms_for`): shipped since 2026-12-05;
* learned size models in Cellpose's spirit (ours: the features are the probe's own
  passes): ridge regression and extra trees from the record to log(diameter), scored
  leave-one-set-out (refitted without any row of the scored set).
The rule is chosen on training and validation rows only; the test rows are scored once,
for the chosen rule against the previous one, as diameter errors and as the generalist's
AP@0.5 at each rule's diameter. Not blind: the width guard was written after the
mother machine's *test* image (845 x 47 px) had been seen to fail (probe 105 px for
16 px cells); its test row is therefore not held out.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

HERE = Path(__file__).resolve().parent
FEATURES = HERE / "scale_probe_features.npz"       # cache, gitignored (recomputable)
OUT_JSON = HERE / "scale_probe.json"
MODEL = "generalist2d"
TRAIN_PER_SET = 8
SEED = 0
SECTION = "Segmentation: object size probe (benchmarks/scale_probe.py)"


def _segmenter():
    from celldyn.segment.deep import load_segmenter

    return load_segmenter(MODEL)


def probe_record(seg: Any, frame: np.ndarray, *, crop: int = 512,
                 tile: int = 512) -> tuple[np.ndarray, np.ndarray, int]:
    """(features, diameters found per zoom) of one 2D frame, at the model's probe zooms.

    Per zoom the features hold the bottleneck channels averaged over the crop,
    log(found diameter x zoom / working diameter) (0 and a flag when nothing was
    found) and log(1 + objects found). Every zoom is run (the width guard is replayed
    by the rules); the third value is the probed crop's short side.
    """
    from celldyn.segment.deep.inference import segment_image
    from celldyn.segment.deep.tiling import torch_backend

    zooms = sorted(float(z) for z in seg.config["probe_zooms"])
    crop = int(seg.config.get("probe_crop", crop))
    ny, nx = frame.shape
    cy, cx = max(0, (ny - crop) // 2), max(0, (nx - crop) // 2)
    sub = frame[cy:cy + crop, cx:cx + crop]
    pooled: list[np.ndarray] = []

    def hook(_module: Any, _inp: Any, out: Any) -> None:
        pooled.append(out.detach().float().mean(dim=(0, *range(2, out.ndim))).numpy())

    feats, found = [], []
    handle = seg.net.down[-1].register_forward_hook(hook)
    try:
        with torch_backend():              # the hook needs PyTorch's modules
            for z in zooms:
                pooled.clear()
                labels = segment_image(seg.net, sub, seg.thresholds, zoom=z, tile=tile)
                areas = np.bincount(labels.ravel())[1:]
                areas = areas[areas > 0]
                d = float(np.sqrt(4 * np.median(areas) / np.pi)) if areas.size else np.nan
                found.append(d)
                rel = np.log(d * z / seg.target_diameter) if np.isfinite(d) else 0.0
                feats.append(np.concatenate([np.mean(pooled, axis=0),
                                             [rel, float(not np.isfinite(d)),
                                              np.log1p(areas.size)]]))
    finally:
        handle.remove()
    return np.concatenate(feats).astype(np.float64), np.asarray(found), int(min(sub.shape))


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

    seg = _segmenter()
    crop = int(seg.config.get("probe_crop", 512))
    rows: dict[str, list] = {k: [] for k in ("x", "d", "set", "part", "scale", "found",
                                              "name", "side")}
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
                x, found, side = probe_record(seg, _crop_scaled(it.image, s, crop))
                for k, v in zip(rows, (x, d0 * s, set_name, "train", s, found, it.name,
                                       side), strict=True):
                    rows[k].append(v)
        for part in ("validation", "test"):
            items = S._gen_items(sp, part) if getattr(sp, part) else []
            for g in S._gen_groups(set_name, items) if items else []:
                it = items[g[len(g) // 2]]
                d0 = median_diameter(it.labels)
                if not d0:
                    continue
                x, found, side = probe_record(seg, it.image)
                for k, v in zip(rows, (x, d0, set_name, part, 1.0, found,
                                       ",".join(items[i].name for i in g), side),
                                strict=True):
                    rows[k].append(v)
        print(f"{set_name}: {time.time() - t0:.0f} s, {len(rows['x'])} rows", flush=True)
        np.savez_compressed(FEATURES, **{k: np.asarray(v) for k, v in rows.items()})


def _load() -> dict[str, np.ndarray]:
    if not FEATURES.exists():
        raise SystemExit(f"{FEATURES.name} missing: run --collect first")
    with np.load(FEATURES, allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def _plateau_rule(r: dict[str, np.ndarray], seen: bool, guard: bool = False) -> np.ndarray:
    from celldyn.segment.deep.registry import _plateau, probe_zooms_for

    seg_cfg = json.loads((Path(__import__("celldyn").__file__).parent / "models" / MODEL
                          / "config.json").read_text())
    z = np.asarray(sorted(float(v) for v in seg_cfg["probe_zooms"]))
    factor = z / float(seg_cfg["target_diameter"]) if seen else None
    work = float(seg_cfg["target_diameter"])
    out = []
    for f, side in zip(r["found"], r["side"], strict=True):
        f = np.asarray(f, float).copy()
        if guard:
            f[~np.asarray(probe_zooms_for((side, side), z, work))] = np.nan
        out.append(_plateau(f, 1.2, seen=factor))
    return np.array([np.nan if v is None else v for v in out])


def _learned(r: dict[str, np.ndarray], make) -> np.ndarray:
    """Leave-one-set-out predictions of a regressor from the probe record."""
    x, y = r["x"], np.log(r["d"])
    train = r["part"] == "train"
    pred = np.full(len(y), np.nan)
    for name in np.unique(r["set"]):
        fit = train & (r["set"] != name)
        mu, sd = x[fit].mean(0), x[fit].std(0) + 1e-9
        model = make().fit((x[fit] - mu) / sd, y[fit])
        rows = r["set"] == name
        pred[rows] = np.exp(model.predict((x[rows] - mu) / sd))
    return pred


def _err(r, est: np.ndarray, mask: np.ndarray) -> tuple[float, float]:
    """(mean over sets of the median |log2(estimate / truth)|, share off by > 2x);
    an image where the rule finds nothing counts as the working size, 30 px."""
    est = np.where(np.isfinite(est), est, 30.0)
    e = np.abs(np.log2(est / r["d"]))
    sets = np.unique(r["set"][mask])
    return (float(np.mean([np.median(e[mask & (r["set"] == s)]) for s in sets])),
            float(np.mean(e[mask] > 1)))


def report() -> None:
    import segmentation as S
    from _results import markdown_table, write_section
    from sklearn.ensemble import ExtraTreesRegressor
    from sklearn.linear_model import Ridge

    r = _load()
    rules = {
        "plateau, ties to the larger zooms (until 2026-12-04)":
            _plateau_rule(r, seen=False),
        "plateau, ties closest to the working size (shipped 2026-12-04)":
            _plateau_rule(r, seen=True),
        "plateau, ties closest, zooms the crop is wide enough for (shipped)":
            _plateau_rule(r, seen=True, guard=True),
        "learned: ridge (alpha 1000), leave-one-set-out":
            _learned(r, lambda: Ridge(alpha=1000.0)),
        "learned: extra trees (300, leaf 3), leave-one-set-out":
            _learned(r, lambda: ExtraTreesRegressor(300, min_samples_leaf=3,
                                                    random_state=SEED)),
    }
    train, val = r["part"] == "train", r["part"] == "validation"
    dev_rows = []
    for name, est in rules.items():
        (et, ft), (ev, fv) = _err(r, est, train), _err(r, est, val)
        dev_rows.append({"rule": name, "train |log2 err|": round(et, 3),
                         "train share off > 2x": round(ft, 2),
                         "validation |log2 err|": round(ev, 3),
                         "validation share off > 2x": round(fv, 2)})
    old = rules["plateau, ties closest to the working size (shipped 2026-12-04)"]
    new = rules["plateau, ties closest, zooms the crop is wide enough for (shipped)"]
    seg = _segmenter()
    test_rows = []
    for name, sp in S._gen_sets().items():
        items = S._gen_items(sp, "test") if sp.test else []
        if not items:
            continue
        by_name = {str(r["name"][k]): k for k in
                   np.flatnonzero((r["part"] == "test") & (r["set"] == name))}
        counts: dict[str, list] = {"old": [], "new": []}
        diam: dict[str, list] = {"true": [], "old": [], "new": []}
        for g in S._gen_groups(name, items):
            k = by_name.get(",".join(items[i].name for i in g))
            if k is None:               # no annotated object in the group's middle frame
                continue
            d_old = None if not np.isfinite(old[k]) else float(old[k])
            d_new = None if not np.isfinite(new[k]) else float(new[k])
            for key, v in (("true", r["d"][k]), ("old", d_old), ("new", d_new)):
                diam[key].append(np.nan if v is None else v)
            for i in g:
                c_old = S._item_counts(items[i], seg.segment(items[i].image, diameter=d_old))
                counts["old"].append(c_old)
                same = (d_old is None and d_new is None) or (
                    d_old is not None and d_new is not None and abs(d_old - d_new) < 1e-6)
                counts["new"].append(c_old if same else S._item_counts(
                    items[i], seg.segment(items[i].image, diameter=d_new)))
        med = {k: float(np.nanmedian(v)) if np.isfinite(v).any() else float("nan")
               for k, v in diam.items()}
        so, sn = S._summary(counts["old"]), S._summary(counts["new"])
        test_rows.append({"set": name, "images probed": len(diam["true"]),
                          "true px (median)": round(med["true"], 1),
                          "previous rule px": round(med["old"], 1),
                          "shipped rule px": round(med["new"], 1),
                          "AP@0.5 previous": so["AP@0.5"], "AP@0.5 shipped": sn["AP@0.5"],
                          "SEG previous": so["SEG"], "SEG shipped": sn["SEG"]})
        print(test_rows[-1], flush=True)
    test = r["part"] == "test"
    (eo, fo), (en, fn) = _err(r, old, test), _err(r, new, test)
    OUT_JSON.write_text(json.dumps({"development": dev_rows, "test": test_rows,
                                    "test_errors": {"previous": [eo, fo],
                                                    "shipped": [en, fn]}}, indent=1))
    n_tr, n_val, n_te = int(train.sum()), int(val.sum()), int(test.sum())
    moved = {part: int(np.sum(mask & ~np.isclose(np.nan_to_num(old), np.nan_to_num(new))))
             for part, mask in (("training", train), ("validation", val), ("test", test))}
    guard_txt = (f"The width guard changed the estimate of {moved['training']} training, "
                 f"{moved['validation']} validation and {moved['test']} test images "
                 "(only frames narrower than 120 px can be affected); it is kept on "
                 "principle (a strip narrower than one working-size object cannot be "
                 "measured), not on these scores.\n\n")
    body = (
        __doc__.split("\n", 3)[3].strip() + "\n\n"
        f"Rows: {n_tr} training, {n_val} validation, {n_te} test images. "
        "|log2 err| = mean over sets of the median |log2(estimate / true median "
        "equivalent diameter)| (1 = a factor 2 off).\n\n"
        "Development (training and validation rows; the rule was chosen here):\n\n"
        + markdown_table(dev_rows, list(dev_rows[0]))
        + "\n\nThe learned size models generalise worse to a set they did not see than "
        "the probe itself (11 sets are few for a regression of this size), so none is "
        "shipped. Honesty note: while exploring the learned models I printed their "
        "test-row errors too (they were worse than the probe there as well); the "
        "probe rule was chosen on the rows above only.\n\n"
        + guard_txt +
        "Test rows, scored once (previous = the rule shipped 2026-12-04, without the "
        "width guard): "
        f"median |log2 err| previous {eo:.3f} (share off by "
        f"more than 2x {fo:.2f}), shipped {en:.3f} ({fn:.2f}). The generalist's AP@0.5 "
        "and SEG on each test part at each rule's diameter (the same subsampled images "
        "as 'Segmentation: generalist and automatic choice'):\n\n"
        + markdown_table(test_rows, list(test_rows[0])) + "\n")
    write_section(SECTION, body, packages=("torch", "scikit-learn"))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--collect", action="store_true")
    ap.add_argument("--report", action="store_true")
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    if args.collect:
        collect()
    if args.report:
        report()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
