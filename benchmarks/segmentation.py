"""Segmentation benchmark: classical methods vs the deep model on held-out real data.

    nice python benchmarks/segmentation.py --train-shipped src/celldyn/models/nuclei2d
        trains the shipped ``nuclei2d`` model on the training split below (seed 0)
    nice -n 19 python benchmarks/segmentation.py --train-cellpose
        trains the Cellpose 3 peer from scratch on the same split (its own environment,
        benchmarks/.envs/cellpose; see benchmarks/setup_peers.sh)
    nice python benchmarks/segmentation.py --train-cellpose-generalist [EPOCHS]
        trains Cellpose 3 from scratch on the generalist's training parts (scored by
        --generalist --methods "cellpose3 (from scratch, generalist split)")
    nice python benchmarks/segmentation.py --train-stardist-generalist [EPOCHS]
        trains StarDist from scratch on the generalist's training parts (its own
        environment, benchmarks/.envs/stardist; scored by --generalist --methods
        "stardist (from scratch, generalist split)")
    nice python benchmarks/segmentation.py [--peers-only]
        scores every method on the held-out frames (--peers-only: only the peers, merged
        into segmentation.json), writes the RESULTS.md section
        "Segmentation (benchmarks/segmentation.py)" and segmentation.json

Split (real data in ../shared/data; see its README):

* Fluo-N2DH-GOWT1-01 (real): SEG frames, sorted by time; the first 25 train, the last
  5 validate. SEG annotates only some nuclei per frame: TRA markers of nuclei without
  a SEG mask are dilated by 15 px and *ignored* in the loss (not taught as background).
* Fluo-N2DH-SIM+-01 (*simulated*): frames 0-29 train, 30-34 validate; 40-64 held out
  (same movie, later frames).
* nuclei-seg-stardist 2d_DSB2018 (real): left half (x < 256), rows 0-383 train, rows
  384-511 validate; the right half is held out.
* Fluo-N2DH-GOWT1-02 (real): all 20 SEG frames held out (a movie never seen).

Fine-tuning: on each held-out set the shipped model is fine-tuned on 5 annotated
frames (GOWT1-02: its first 5 SEG frames; SIM+: frames 40-44; DSB2018, a single
image: the top 128 rows of the right half), its post-processing levels re-tuned on
those frames, and every method is scored on the rest
(GOWT1-02: 15 frames; SIM+: frames 45-64; DSB2018: rows 128-511 of the right half),
so all rows of a set are scored on the same pixels.

Scores: AP@0.5 and AP@0.75 = TP / (TP + FP + FN), counts summed over frames; on
GOWT1 (partial SEG) predictions that overlap no annotated nucleus are ignored, the CTC
SEG convention. CTC SEG by ``celldyn.evaluate.seg_score``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import tifffile
from scipy import ndimage as ndi

sys.path.insert(0, str(Path(__file__).resolve().parent))

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
TARGET_DIAMETER = 30.0
SEED = 0


@dataclass
class Frame:
    image: np.ndarray          # raw
    labels: np.ndarray         # int32; -1 = ignore (training only)
    partial: bool = False      # partial annotation (GOWT1 SEG)


def _gowt1(movie: str) -> list[Frame]:
    from celldyn.io.ctc import read_label_frames

    root = DATA / f"Fluo-N2DH-GOWT1-{movie}"
    seg = read_label_frames(root / f"{movie}_GT" / "SEG")
    tra = read_label_frames(root / f"{movie}_GT" / "TRA")
    out = []
    for t, s in seg.items():
        lab = s.astype(np.int32)
        markers = tra.get(t)
        if markers is not None:            # ignore nuclei with no SEG mask
            ids = np.unique(markers[(markers > 0)])
            covered = np.unique(markers[(markers > 0) & (s > 0)])
            missing = np.isin(markers, np.setdiff1d(ids, covered))
            if missing.any():
                grow = ndi.binary_dilation(missing, iterations=15)
                lab[grow & (lab == 0)] = -1
        out.append(Frame(tifffile.imread(root / movie / f"t{t:03d}.tif"), lab, True))
    return out


def _sim(frames: range) -> list[Frame]:
    root = DATA / "Fluo-N2DH-SIM+-01"
    return [Frame(tifffile.imread(root / "01" / f"t{t:03d}.tif"),
                  tifffile.imread(root / "01_GT" / "SEG" / f"man_seg{t:03d}.tif").astype(np.int32))
            for t in frames]


def _dsb(rows: slice, cols: slice) -> list[Frame]:
    root = DATA / "nuclei-seg-stardist" / "2d_DSB2018"
    img = tifffile.imread(root / "img2d.tif")[rows, cols]
    lab = tifffile.imread(root / "mask2d.tif")[rows, cols].astype(np.int32)
    return [Frame(np.ascontiguousarray(img), np.ascontiguousarray(lab))]


def training_split() -> dict[str, dict[str, list[Frame]]]:
    g = _gowt1("01")
    return {
        "GOWT1": {"train": g[:25], "val": g[25:]},
        "SIM+": {"train": _sim(range(30)), "val": _sim(range(30, 35))},
        "DSB2018": {"train": _dsb(slice(0, 384), slice(0, 256)),
                    "val": _dsb(slice(384, 512), slice(0, 256))},
    }


def held_out() -> dict[str, dict[str, list[Frame]]]:
    g = _gowt1("02")
    return {
        "Fluo-N2DH-GOWT1-02 (new movie)": {"tune": g[:5], "test": g[5:], "train_set": "GOWT1",
                                           "real": True},
        "Fluo-N2DH-SIM+-01 frames 45-64 (same movie, later)": {
            "tune": _sim(range(40, 45)), "test": _sim(range(45, 65)), "train_set": "SIM+",
            "real": False},
        "DSB2018 right half (rows 128-511)": {
            "tune": _dsb(slice(0, 128), slice(256, 512)),
            "test": _dsb(slice(128, 512), slice(256, 512)), "train_set": "DSB2018",
            "real": True},
    }


def median_diameter(frames: list[Frame]) -> float:
    areas = []
    for f in frames:
        lab = np.where(f.labels > 0, f.labels, 0)
        a = np.bincount(lab.ravel())[1:]
        areas.extend(a[a > 0].tolist())
    return float(np.sqrt(4 * np.median(areas) / np.pi))


def samples(frames: list[Frame], zoom: float, weight: float, name: str):
    from celldyn.segment import normalize_frame
    from celldyn.segment.deep.train import Sample

    return [Sample(normalize_frame(f.image), f.labels, zoom=zoom, weight=weight, name=name,
                   ignore_unannotated=f.partial) for f in frames]


SHIPPED_CONFIG = {"base": 16, "depth": 3, "crop": 96, "batch": 8, "iters_per_epoch": 200,
                  "epochs": 12, "lr": 2e-3, "seed": SEED, "val_every": 1, "keep_best": True}
SHIPPED_AUGMENT: dict = {}    # AugmentConfig defaults
# share of training crops per source (split evenly over its frames); DSB2018 is one
# small image of small, crowded nuclei and the hardest real set, so it gets the most
SET_WEIGHTS = {"GOWT1": 0.35, "SIM+": 0.25, "DSB2018": 0.40}


def train_shipped(folder: Path) -> None:
    import torch

    from celldyn.segment.deep.augment import AugmentConfig
    from celldyn.segment.deep.registry import save_segmenter
    from celldyn.segment.deep.train import TrainConfig, train_segmenter

    torch.set_num_threads(2)
    split = training_split()
    train, val, diam = [], [], {}
    for name, part in split.items():
        d = median_diameter(part["train"])
        diam[name] = round(d, 1)
        zoom = TARGET_DIAMETER / d
        train += samples(part["train"], zoom, SET_WEIGHTS[name] / len(part["train"]), name)
        val += samples(part["val"], zoom, 1.0, name)
    config = TrainConfig(**SHIPPED_CONFIG, augment=AugmentConfig(**SHIPPED_AUGMENT))

    def report(rec: dict) -> None:
        print(json.dumps(rec), flush=True)

    result = train_segmenter(train, val, config, progress=False, on_epoch=report,
                             checkpoint_dir=Path(tempfile.gettempdir()) / "celldyn_nuclei2d_ckpt")
    meta = {
        "name": "nuclei2d", "version": 1, "axes": "YX",
        "normalization": {"method": "percentile", "low": 1.0, "high": 99.8},
        "target_diameter": TARGET_DIAMETER,
        "training": {"command": "nice -n 5 python benchmarks/segmentation.py "
                                "--train-shipped src/celldyn/models/nuclei2d",
                     "config": config.to_dict(), "seed": SEED, "set_weights": SET_WEIGHTS,
                     "best_epoch": result.best_epoch,
                     "train_diameters_px": diam, "seconds": round(result.seconds, 1),
                     "history": result.history},
    }
    digest = save_segmenter(folder, result.net, meta, result.thresholds)
    print("thresholds", result.thresholds, "best epoch", result.best_epoch, "sha256", digest,
          "seconds", round(result.seconds))


def _diam_factors(key: str) -> str:
    """'x1.015 (GOWT1), ...' from segmentation_diameter_check.json."""
    f = Path(__file__).with_name("segmentation_diameter_check.json")
    if not f.exists():
        return "(not measured: run --check-diameter)"
    res = json.loads(f.read_text())
    return ", ".join(f"x{np.exp(v['median |log(estimate / truth)|'][key]):.2f} ({k})"
                     for k, v in res.items())


def write_card(folder: Path, rows: list[dict], notes: list[str]) -> None:
    """CARD.md of the shipped model, with the held-out scores of this benchmark."""
    from _results import markdown_table

    cfg = json.loads((folder / "config.json").read_text())
    th = json.loads((folder / "thresholds.json").read_text())
    t = cfg["training"]
    c = t["config"]
    hist = t["history"]
    n_params = sum(
        int(np.prod(v.shape)) for k, v in __import__("torch").load(
            folder / "weights.pt", weights_only=True).items() if "running" not in k
        and "num_batches" not in k)
    best_line = ""
    if t.get("best_epoch") is not None:
        best_line = (f"Shipped weights: epoch {t['best_epoch'] + 1} of {c['epochs']} (best mean of validation "
                     "AP@0.5 and AP@0.75 at the default post-processing levels, "
                     "`keep_best`).\n")
    if t.get("set_weights"):
        best_line += f"Share of training crops per source: {t['set_weights']}.\n"
    held = markdown_table([r for r in rows if r["method"].startswith("deep")],
                          ["set", "method", "AP@0.5", "AP@0.75", "SEG"])
    best_c = markdown_table([max((r for r in rows if r["set"] == s_ and
                                  r["method"] in CLASSICAL),
                                 key=lambda r: r["AP@0.5"]) for s_ in
                             dict.fromkeys(r["set"] for r in rows)],
                            ["set", "method", "AP@0.5", "AP@0.75", "SEG"])
    card = f"""# Model card: `nuclei2d` (deep segmentation of fluorescent nuclei, 2D)

Instance segmentation of fluorescent nuclei in 2D frames. Loaded with
`celldyn.segment.deep.load_segmenter("nuclei2d")`; used by
`celldyn.segment.deep.segment_movie_deep(movie)` (the pipeline's deep segmenter).
Needs `celldyn[deep]` (torch). Nothing is downloaded.

| field | value |
|---|---|
| files | `weights.pt` (PyTorch state_dict, {(folder / "weights.pt").stat().st_size / 1e6:.2f} MB, `weights_only=True`), `config.json`, `thresholds.json` |
| sha256 | `{cfg["sha256"]}` (pinned in `celldyn/segment/deep/registry.py`) |
| model | 2D U-Net, {c["depth"]} poolings, {c["base"]}-{c["base"] * 2 ** c["depth"]} channels, batch norm, {n_params / 1e6:.2f} M parameters; heads: background/interior/boundary softmax + normalised distance (sigmoid); marker watershed post-processing (`celldyn.segment.deep.heads.postprocess`) |
| input | one 2D frame (YX), any size and dtype; normalised to its 1st-99.8th percentiles; rescaled so nuclei are about {cfg["target_diameter"]:.0f} px across (`diameter` in pixels; default `"auto"`, a scale probe on the middle frame: the diameter the model finds consistently over a run of zooms, `DeepSegmenter.estimate_diameter`); tiled 512 px with a {64} px margin (no seams) |
| thresholds | {th} (tuned on the validation frames only) |
| authors / licence | celldyn contributors; weights under the project licence; training data under their own terms (see Data) |
| tags | nuclei, fluorescence, 2D, instance segmentation, U-Net, distance transform |

## Data and split
Real data from `../shared/data` (see its README for sources and citations):
- **Fluo-N2DH-GOWT1-01** (CTC; GFP-GOWT1 mouse ES cells, Bártová et al. 2011): SEG
  frames in time order, first 25 **train**, last 5 **validate**. SEG is a partial
  annotation: nuclei with a TRA marker but no SEG mask were dilated by 15 px and
  ignored in the loss (never taught as background).
- **Fluo-N2DH-SIM+-01** (CTC, *simulated* HL60 nuclei, MitoGen): frames 0-29
  **train**, 30-34 **validate**.
- **nuclei-seg-stardist 2d_DSB2018** (real, Data Science Bowl 2018 via StarDist 0.9.2):
  left half (x < 256), rows 0-383 **train**, rows 384-511 **validate**.
Per-set working scale: nuclei of median diameter {t["train_diameters_px"]} px
(training GT) rescaled to {cfg["target_diameter"]:.0f} px.
Held out (never used for training or thresholds): **Fluo-N2DH-GOWT1-02** (all 20 SEG
frames, a movie never seen), **SIM+-01 frames 40-64** (same movie, later frames),
**DSB2018 right half**.

## Command and seed
```
{t["command"]}
```
seed {t["seed"]} (`torch.manual_seed`, crops from `numpy.random.default_rng((seed, epoch))`,
`torch.use_deterministic_algorithms(True)`); {c["epochs"]} epochs x {c["iters_per_epoch"]}
iterations, batch {c["batch"]}, {c["crop"]} px crops, AdamW lr {c["lr"]} with cosine decay;
augmentation: scale {c["augment"]["scale"]}, any rotation, elastic, flips, 90° rotations,
intensity scale/offset, gamma, blur, Poisson-Gaussian noise. Trained on CPU (2 shared cores,
2 torch threads, `nice -n 5`) in {t["seconds"] / 60:.1f} min. Then pin the printed sha256
in `registry.py`, run `python benchmarks/segmentation.py` (writes this card's scores) and
`python tests/segment/test_deep_shipped.py` (regenerates the stored test output).

Validation AP@0.5 per epoch ({c["iters_per_epoch"]} iterations each): {", ".join(f"{h['val_ap50']:.3f}" for h in hist if "val_ap50" in h)}.
{best_line}

## Held-out scores (benchmarks/RESULTS.md, section Segmentation)
AP@τ = TP / (TP + FP + FN) at IoU ≥ τ, counts summed over frames; on GOWT1 (partial SEG)
predictions that overlap no annotated nucleus are ignored (CTC SEG convention). Each set
is scored on the frames left after taking 5 for the fine-tuning row (GOWT1-02: 15 SEG
frames; SIM+: frames 45-64; DSB2018: rows 128-511 of the right half).

{held}

Best classical method per set, for comparison:

{best_c}

{chr(10).join(notes)}

## Limits (read before use)
- Trained on three sources only (two real, one simulated); bright-field, phase contrast,
  cytoplasm stains or very dense tissue are out of its domain. Fine-tune on a few
  annotated frames of your data: `celldyn train segment --images DIR --masks DIR
  --init nuclei2d --out my_model`.
- Object size matters. The automatic estimate (the default) takes the diameter the
  model finds consistently over a run of zooms from 1/4 to 1.4 (about 3 s per movie);
  on the training frames (`benchmarks/segmentation.py --check-diameter`,
  segmentation_diameter_check.json) it is off the ground truth's median diameter by a
  median factor of {_diam_factors("probe")}, where the earlier probe (the zoom whose
  objects came closest to 30 px) was off by {_diam_factors("closest (before)")}: it
  took the fragments of an over-segmented nucleus for nuclei. Pass `diameter=`
  (pixels) when you know it; the target lines above judge both the training split's
  median diameter and the automatic estimate.
- CPU budget ({t["seconds"] / 60:.0f} min of training, {c["epochs"] * c["iters_per_epoch"]}
  iterations): it beats the best classical method by the target margin only where the
  target lines above say "met"; check it on your data against `--segmenter classical`.
  The validation and held-out sets are small (DSB2018: one 512x512 image, 125 nuclei).
- GOWT1 scores use partial annotation (ignored unannotated predictions): a model that
  invents objects far from annotated nuclei is not penalised there.
- 2D only; the 3D architecture exists (`UNet(ndim=3)`), no 3D weights are shipped.
- Small training budget (CPU, about {t["seconds"] / 60:.0f} min); more data and time would help.
"""
    (folder / "CARD.md").write_text(card)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--train-shipped", type=Path, default=None)
    ap.add_argument("--quick", action="store_true",
                    help="2 test frames, no files written (with --generalist: the "
                         "fine-tuned method only, 2 iterations)")
    ap.add_argument("--model", default="nuclei2d", help="shipped name or model folder")
    ap.add_argument("--check-fine-tune", action="store_true",
                    help="fine-tuning length check on validation frames only")
    ap.add_argument("--fine-tune-lr", type=float, default=5e-4,
                    help="learning rate for --check-fine-tune")
    ap.add_argument("--train-cellpose", type=int, nargs="?", const=CELLPOSE_EPOCHS,
                    default=None, metavar="EPOCHS",
                    help="train the Cellpose 3 peer from scratch on the training split "
                         f"(default {CELLPOSE_EPOCHS} epochs; cellpose environment, weights "
                         "in benchmarks/.envs/cellpose_models)")
    ap.add_argument("--train-cellpose-generalist", type=int, nargs="?",
                    const=CP_GEN_EPOCHS, default=None, metavar="EPOCHS",
                    help="train Cellpose 3 from scratch on the generalist's training parts "
                         f"(default {CP_GEN_EPOCHS} epochs; weights in "
                         "benchmarks/.envs/cellpose_models/generalist_split)")
    ap.add_argument("--train-stardist-generalist", type=int, nargs="?",
                    const=SD_GEN_EPOCHS, default=None, metavar="EPOCHS",
                    help="train StarDist from scratch on the generalist's training parts "
                         f"(default {SD_GEN_EPOCHS} epochs of --stardist-steps steps; stardist "
                         "environment, model in benchmarks/.envs/stardist_models/"
                         "generalist_split)")
    ap.add_argument("--stardist-steps", type=int, default=SD_GEN_STEPS,
                    help=f"steps per epoch for --train-stardist-generalist "
                         f"(default {SD_GEN_STEPS})")
    ap.add_argument("--peers-only", action="store_true",
                    help="score only the peers (Cellpose 3), merge their rows into "
                         "segmentation.json and rewrite the RESULTS.md section")
    ap.add_argument("--fine-tune-only", action="store_true",
                    help="re-run only the fine-tuned rows, merge them into "
                         "segmentation.json and rewrite the section and the model card")
    ap.add_argument("--auto-only", action="store_true",
                    help="re-run only the 'diameter auto' rows (the default a user gets), "
                         "merge them into segmentation.json and rewrite the section and "
                         "the model card")
    ap.add_argument("--check-diameter", action="store_true",
                    help="the scale probe against the ground truth's median diameter on "
                         "the training frames (segmentation_diameter_check.json)")
    ap.add_argument("--card-only", action="store_true",
                    help="rewrite the shipped CARD.md and the RESULTS.md section from "
                         "segmentation.json (no re-scoring)")
    ap.add_argument("--generalist", action="store_true",
                    help="score every 2D set's validation and test parts of splits.py "
                         "(classical variants, shipped models, the automatic choice) and "
                         "write the section 'Segmentation: generalist and automatic choice'")
    ap.add_argument("--methods", default=";".join([*GEN_CLASSICAL, *GEN_MODELS]),
                    help="with --generalist: semicolon-separated methods to (re)run "
                         f"(also '{GEN_FT}': test parts only)")
    ap.add_argument("--parts", default="validation,test",
                    help="with --generalist: parts to (re)run")
    ap.add_argument("--sets", default=None,
                    help="with --generalist: comma-separated sets to (re)run [default: all]")
    ap.add_argument("--min-size-sweep", action="store_true",
                    help="generalist2d's min_size levels on the validation parts (cached)")
    ap.add_argument("--edge-sweep", action="store_true",
                    help="generalist2d's min_size_edge (objects touching the frame's "
                         "border) on up to EDGE_VAL_PER_SET validation images per set "
                         "(cached)")
    ap.add_argument("--levels-sweep", action="store_true",
                    help="generalist2d's fg / marker / min_size levels jointly on the "
                         "validation parts (cached)")
    ap.add_argument("--train-loso", default=None, metavar="SET",
                    help="retrain generalist2d without SET (the shipped command plus "
                         f"--exclude SET; one thread; resumable) into {GEN_LOSO_DIR.name}/SET; "
                         f"score it with --generalist --methods '{GEN_LOSO}' --parts test "
                         "--sets SET")
    ap.add_argument("--generalist-report", action="store_true",
                    help="rewrite that section and the generalist2d card from "
                         "segmentation_generalist.json (no scoring)")
    ap.add_argument("--invert-p", type=float, default=0.0,
                    help=f"with --train-loso: half the crops contrast-inverted "
                         f"({GEN_LOSO_INV_P}), the model of the '{GEN_LOSO_INV}' rows")
    args = ap.parse_args(argv)
    if args.train_loso:
        return train_loso(args.train_loso, args.invert_p)
    if args.min_size_sweep:
        return min_size_sweep()
    if args.levels_sweep:
        return levels_sweep()
    if args.edge_sweep:
        return edge_sweep()
    if args.generalist_report:
        res = json.loads(GEN_JSON.read_text())
        write_generalist_section(res)
        write_generalist_card(res)
        return 0
    if args.generalist:
        methods = [GEN_FT] if args.quick else [m for m in args.methods.split(";") if m]
        return run_generalist(methods, tuple(args.parts.split(",")),
                              args.sets.split(",") if args.sets else None, args.quick)
    if args.card_only:
        from _results import write_section

        from celldyn.segment.deep.registry import model_folder

        out = Path(__file__).with_name("segmentation.json")
        res = json.loads(out.read_text())
        res["notes"] = target_notes(res["rows"], held_out())
        out.write_text(json.dumps(res, indent=1))
        write_section("Segmentation (benchmarks/segmentation.py)",
                      section_body(res["rows"], res["notes"],
                                   peers_text(res.get("cellpose"), res.get("peers_note", ""),
                                              res["rows"])),
                      packages=("torch", "scikit-image", "numpy"))
        write_card(model_folder("nuclei2d"), res["rows"], res["notes"])
        return 0
    if args.check_fine_tune:
        res = check_fine_tune(args.model, lr=args.fine_tune_lr)
        suffix = "" if args.fine_tune_lr == FINE_TUNE["lr"] else f"_lr{args.fine_tune_lr:g}"
        Path(__file__).with_name(f"segmentation_finetune_check{suffix}.json").write_text(
            json.dumps(res, indent=1))
        return 0
    if args.train_cellpose is not None:
        why = cellpose_available()
        if why:
            print(why)
            return 1
        print(json.dumps(cellpose_train(args.train_cellpose)))
        return 0
    if args.train_cellpose_generalist is not None:
        why = cellpose_available()
        if why:
            print(why)
            return 1
        print(json.dumps(cellpose_train_generalist(args.train_cellpose_generalist)))
        return 0
    if args.train_stardist_generalist is not None:
        why = stardist_available()
        if why:
            print(why)
            return 1
        print(json.dumps(stardist_train_generalist(args.train_stardist_generalist,
                                                   args.stardist_steps)))
        return 0
    if args.peers_only:
        return run_peers_only(quick=args.quick)
    if args.fine_tune_only:
        return run_fine_tune_only(quick=args.quick)
    if args.check_diameter:
        return check_diameter(args.model)
    if args.auto_only:
        return run_auto_only(quick=args.quick, model=args.model)
    if args.train_shipped is not None:
        train_shipped(args.train_shipped)
        return 0
    return run_benchmark(quick=args.quick, model=args.model)


FINE_TUNE = {"epochs": 2, "iters_per_epoch": 30, "lr": 5e-4}


FINE_TUNE_CHECK = (
    "Fine-tuning recipe (60 iterations, lr 5e-4, batch-norm statistics frozen) checked on "
    "validation frames only (`--check-fine-tune`, segmentation_finetune_check.json): the "
    "shipped model fine-tuned on part of a training source's validation frames and scored "
    "on the rest, after 40/80/120/160 iterations. SIM+ (fine-tune frames 30-32, score "
    "33-34): AP@0.5 0.808 before, 0.816 / 0.808 / 0.808 / 0.835; DSB2018 (fine-tune "
    "rows 384-511 x columns 0-127, score columns 128-255, 14 nuclei): 0.846 before, "
    "0.733 / 0.688 / 0.786 / 0.786. At lr 1e-4 (`--fine-tune-lr 1e-4`): SIM+ 0.816 / "
    "0.808 / 0.808 / 0.808, DSB2018 0.846 / 0.733 / 0.733 / 0.733; at lr 2e-4: SIM+ "
    "0.816 at every check, DSB2018 0.786 / 0.733 / 0.786 / 0.786. Neither a longer run "
    "nor a lower rate gains on validation data (the sources were already trained on; "
    "one DSB2018 nucleus moves AP by about 0.06 there), so the recipe was left unchanged; "
    "the held-out fine-tuned rows above are its only test on new data. After training, "
    "the post-processing levels (foreground, marker) are re-tuned on the 5 fine-tuning "
    "frames, as `celldyn train segment` tunes them on its validation frames (the levels "
    "chosen are in the row's name); an earlier run kept the shipped levels and scored "
    "AP@0.5 0.782 (GOWT1-02), 0.877 (SIM+) and 0.644 (DSB2018), below the shipped "
    "model on every set.")


def check_fine_tune(model: str = "nuclei2d", iters: int = 40, checks: int = 4,
                    lr: float = 5e-4) -> list[dict]:
    """Check the fine-tuning length on *validation* frames only (no held-out pixels).

    Per training source, its validation frames are split into a fine-tuning part and a
    scoring part (SIM+: frames 30-32 / 33-34; DSB2018: left-half rows 384-511, columns
    0-127 / 128-255; GOWT1-01 is left out: its 5 validation frames annotate 2 nuclei
    each, too few to score). The shipped model is fine-tuned for ``checks * iters``
    iterations (cosine decay over the whole run) and scored on the scoring part after
    every ``iters`` iterations (AP@0.5 / AP@0.75 at the shipped thresholds).
    """
    import torch

    from celldyn.segment.deep import load_segmenter
    from celldyn.segment.deep.train import TrainConfig, train_segmenter

    torch.set_num_threads(2)
    shipped = load_segmenter(model)
    dsb = _dsb(slice(384, 512), slice(0, 256))[0]
    parts = {
        "SIM+": (_sim(range(30, 33)), _sim(range(33, 35))),
        "DSB2018": ([Frame(dsb.image[:, :128].copy(), dsb.labels[:, :128].copy())],
                    [Frame(dsb.image[:, 128:].copy(), dsb.labels[:, 128:].copy())]),
    }
    diam = shipped.config["training"]["train_diameters_px"]
    out = []
    for name, (ft, sc) in parts.items():
        zoom = shipped.target_diameter / float(diam[name])
        ft_s = samples(ft, zoom, 1.0, name)
        sc_s = samples(sc, zoom, 1.0, name)
        cfg = replace(TrainConfig.from_dict(shipped.config["training"]["config"]),
                      epochs=checks, iters_per_epoch=iters, lr=lr, val_every=1,
                      keep_best=False)
        from celldyn.segment.deep.train import _predict_val, validation_ap

        ap0 = validation_ap(sc_s, _predict_val(shipped.net, sc_s), shipped.thresholds)
        rec = {"set": name, "iters": 0, "AP@0.5": ap0[0.5], "AP@0.75": ap0[0.75]}
        out.append(rec)
        print(json.dumps(rec), flush=True)

        def report(r, _n=name):
            rec = {"set": _n, "iters": (r["epoch"] + 1) * iters, "AP@0.5": r["val_ap50"],
                   "AP@0.75": r["val_ap75"]}
            out.append(rec)
            print(json.dumps(rec), flush=True)

        train_segmenter(ft_s, sc_s, cfg, init=shipped.net.state_dict(),
                        thresholds=shipped.thresholds, tune=False, on_epoch=report)
    return out


def _score(frames: list[Frame], pred: list[np.ndarray]) -> dict[str, float]:
    from celldyn.evaluate import seg_score
    from celldyn.segment.deep.metrics import match_counts

    tot = {0.5: np.zeros(3, int), 0.75: np.zeros(3, int)}
    for f, p in zip(frames, pred, strict=True):
        gt = np.where(f.labels > 0, f.labels, 0)
        for t, c in match_counts(gt, p, (0.5, 0.75), ignore_unannotated=f.partial).items():
            tot[t] += c
    gt_seg = {i: np.where(f.labels > 0, f.labels, 0) for i, f in enumerate(frames)}
    return {"AP@0.5": float(tot[0.5][0] / max(1, tot[0.5].sum())),
            "AP@0.75": float(tot[0.75][0] / max(1, tot[0.75].sum())),
            "SEG": float(seg_score(gt_seg, np.stack(pred)))}


def _run(fn, frames: list[Frame]) -> tuple[list[np.ndarray], float]:
    t0 = time.perf_counter()
    out = [fn(f.image) for f in frames]
    sec = time.perf_counter() - t0
    mpix = sum(f.image.size for f in frames) / 1e6
    return out, 1000.0 * sec / mpix


def _classical(method: str, **params):
    from celldyn.segment import segment_movie

    return lambda img: segment_movie(img[None], method=method, **params)[0]


CLASSICAL = {
    "watershed (triangle, default)": ("watershed", {}),
    "watershed (otsu)": ("watershed", {"threshold_method": "otsu"}),
    "threshold": ("threshold", {}),
    "edges": ("edges", {}),
    "spots": ("spots", {}),
}


def _peak_memory(kind: str, key: str, model: str = "nuclei2d") -> float:
    """Peak RSS growth (MiB) of a fresh process segmenting one 1024x1024 GOWT1-02 frame.

    The peak (``VmHWM``) is reset through ``/proc/self/clear_refs`` after imports and
    a warm-up call, so only the segmentation of the frame counts.
    """
    import subprocess

    code = f"""
import resource, sys, numpy as np, tifffile
sys.path.insert(0, {str(Path(__file__).resolve().parent)!r})
import segmentation as S
img = tifffile.imread(S.DATA / "Fluo-N2DH-GOWT1-02" / "02" / "t010.tif")
if {kind!r} == "deep":
    import torch; torch.set_num_threads(2)
    from celldyn.segment.deep import load_segmenter
    m = load_segmenter({model!r}); fn = lambda x: m.segment(x, diameter=60.0)
else:
    method, params = S.CLASSICAL[{key!r}]; fn = S._classical(method, **params)
fn(img[:64, :64])
import gc; gc.collect()
def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1])
before = status("VmRSS")
open("/proc/self/clear_refs", "w").write("5")   # reset the peak (VmHWM) to now
fn(img)
print((status("VmHWM") - before) / 1024)
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       check=False)
    try:
        return float(r.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return float("nan")


CELLPOSE_PY = Path(__file__).resolve().parent / ".envs" / "cellpose" / "bin" / "python"
CELLPOSE_MODELS = Path(__file__).resolve().parent / ".envs" / "cellpose_models"
CELLPOSE_RUN = Path(__file__).resolve().parent / "peers" / "run_cellpose.py"
CELLPOSE_METHOD = "Cellpose 3 (from scratch, same split)"
CELLPOSE_EPOCHS = 40         # ~60 s per epoch of 64 crops on 1 thread: ~40 min (3-epoch timing run)
CELLPOSE_NIMG_PER_EPOCH = 64


def _peer_env() -> dict:
    import os

    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               CELLDYN_PEER_THREADS="1")
    env.pop("PYTHONPATH", None)
    return env


def _peer_missing(python: Path, module: str, peer: str, setup: str) -> str | None:
    """None when `module` imports in the peer environment of `python`, else why not."""
    import subprocess

    if not python.exists():
        return (f"{peer} peer skipped: no environment at {python.parent.parent} "
                f"(create it with {setup})")
    r = subprocess.run([str(python), "-c", f"import {module}"],
                       capture_output=True, text=True, env=_peer_env(), check=False)
    if r.returncode:
        return f"{peer} peer skipped: `import {module}` fails in its environment"
    return None


def _peer_train(cmd: list[str], arrays: dict, out: Path, **meta_extra) -> dict:
    """Write `arrays` to a temporary ``train.npz``, run the peer's training `cmd` (its
    python, script, ``train``; the npz path and `out` are inserted after ``train``) under
    ``nice -n 10``, and return its ``out/train.json`` with the wall time and
    `meta_extra` added (written back)."""
    import subprocess

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "train.npz"
        np.savez(data, **arrays)
        at = cmd.index("train") + 1
        t0 = time.perf_counter()
        subprocess.run(["nice", "-n", "10", *cmd[:at], str(data), str(out), *cmd[at:]],
                       env=_peer_env(), check=True)
        wall = time.perf_counter() - t0
    meta = json.loads((out / "train.json").read_text())
    meta.update(wall_seconds=round(wall, 1), **meta_extra)
    (out / "train.json").write_text(json.dumps(meta, indent=1))
    return meta


def cellpose_available() -> str | None:
    """None when the Cellpose 3 peer can run, else why not."""
    return _peer_missing(CELLPOSE_PY, "cellpose.models", "Cellpose 3",
                         "benchmarks/setup_peers.sh")


def cellpose_train(epochs: int, nimg_per_epoch: int = CELLPOSE_NIMG_PER_EPOCH,
                   out: Path = CELLPOSE_MODELS) -> dict:
    """Train Cellpose 3 from scratch on exactly the training split of the shipped model.

    Same frames and masks (GOWT1-01 ignore regions left out of Cellpose's loss), same
    share of training crops per source (SET_WEIGHTS, split evenly over its frames), the
    validation frames for Cellpose's test loss only. One torch thread, ``nice -n 19``.
    """
    import subprocess

    split = training_split()
    arrays, probs, nv = {}, [], 0
    for name, part in split.items():
        for f in part["train"]:
            i = len(probs)
            arrays[f"train_img_{i}"] = f.image
            arrays[f"train_lab_{i}"] = f.labels
            probs.append(SET_WEIGHTS[name] / len(part["train"]))
        for f in part["val"]:
            arrays[f"val_img_{nv}"] = f.image
            arrays[f"val_lab_{nv}"] = f.labels
            nv += 1
    arrays["train_prob"] = np.asarray(probs)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "train.npz"
        np.savez(data, **arrays)
        t0 = time.perf_counter()
        subprocess.run(["nice", "-n", "19", str(CELLPOSE_PY), str(CELLPOSE_RUN), "train",
                        str(data), str(out), "--epochs", str(epochs),
                        "--nimg-per-epoch", str(nimg_per_epoch)],
                       env=_peer_env(), check=True)
        wall = time.perf_counter() - t0
    meta = json.loads((out / "train.json").read_text())
    meta["wall_seconds"] = round(wall, 1)
    meta["train_diameters_px"] = {n: round(median_diameter(p["train"]), 1)
                                  for n, p in split.items()}
    (out / "train.json").write_text(json.dumps(meta, indent=1))
    return meta


def cellpose_predict(frames: list[Frame], diameter: float,
                     model: Path = CELLPOSE_MODELS / "models" / "cellpose3_scratch"
                     ) -> tuple[list[np.ndarray], float]:
    """Segment frames with the trained peer; (labels, ms per MP of ``model.eval`` calls)."""
    return _peer_predict(
        lambda data, res: [str(CELLPOSE_PY), str(CELLPOSE_RUN), "predict", data, res,
                           "--model", str(model)],
        frames, nice=19, diameter=np.full(len(frames), diameter))


def _peer_predict(cmd, frames: list, nice: int = 10, **extra) -> tuple[list[np.ndarray], float]:
    """Run a peer's prediction: the frames' images (``img_<i>``, plus `extra` arrays) in
    an npz, ``cmd(in_path, out_path)`` under ``nice``, labels ``lab_<i>`` and
    ``seconds`` back; (labels, milliseconds per megapixel of the peer's timed part)."""
    import subprocess

    with tempfile.TemporaryDirectory() as tmp:
        data, res = Path(tmp) / "in.npz", Path(tmp) / "out.npz"
        np.savez(data, **extra, **{f"img_{i}": f.image for i, f in enumerate(frames)})
        subprocess.run(["nice", "-n", str(nice), *cmd(str(data), str(res))],
                       env=_peer_env(), check=True)
        with np.load(res) as r:
            pred = [r[f"lab_{i}"].astype(np.int32) for i in range(len(frames))]
            sec = float(r["seconds"].sum())
    mpix = sum(f.image.size for f in frames) / 1e6
    return pred, 1000.0 * sec / mpix


def cellpose_peak_memory(model: Path = CELLPOSE_MODELS / "models" / "cellpose3_scratch"
                         ) -> float:
    import subprocess

    img = DATA / "Fluo-N2DH-GOWT1-02" / "02" / "t010.tif"
    r = subprocess.run(["nice", "-n", "19", str(CELLPOSE_PY), str(CELLPOSE_RUN), "peakmem",
                        str(img), "--model", str(model), "--diameter", "60"],
                       capture_output=True, text=True, env=_peer_env(), check=False)
    try:
        return float(r.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return float("nan")


def cellpose_rows(sets: dict, quick: bool = False) -> tuple[list[dict], dict | None, str]:
    """Rows of the Cellpose 3 peer per held-out set (same test frames and scoring)."""
    why = cellpose_available()
    model = CELLPOSE_MODELS / "models" / "cellpose3_scratch"
    if why is None and not model.exists():
        why = ("Cellpose 3 peer skipped: no trained model (run "
               "`python benchmarks/segmentation.py --train-cellpose EPOCHS`)")
    if why is not None:
        print(why, flush=True)
        return [], None, why
    meta = json.loads((CELLPOSE_MODELS / "train.json").read_text())
    split = training_split()
    rows = []
    for set_name, part in sets.items():
        test = part["test"][:2] if quick else part["test"]
        d = median_diameter(split[part["train_set"]]["train"])
        pred, ms = cellpose_predict(test, d, model)
        rec = {"set": set_name, "method": f"{CELLPOSE_METHOD}, diameter {d:.0f} px",
               **_score(test, pred), "ms/MP": round(ms)}
        rows.append(rec)
        print(json.dumps(rec), flush=True)
    mem = float("nan") if quick else cellpose_peak_memory(model)
    for r in rows:
        r["peak MiB (1 MP frame)"] = round(mem, 1)
    return rows, meta, ""


# Cellpose 3 trained from scratch on the generalist's training parts (issue 15, item 4).
CP_GEN_METHOD = "cellpose3 (from scratch, generalist split)"
CP_GEN_MODELS = CELLPOSE_MODELS / "generalist_split"
CP_GEN_EPOCHS = 30


def cellpose_train_generalist(epochs: int, nimg_per_epoch: int = CELLPOSE_NIMG_PER_EPOCH,
                              out: Path = CP_GEN_MODELS, save_every: int = 5) -> dict:
    """Train Cellpose 3 from scratch on exactly generalist2d's training parts.

    Every 2D instance set's ``load_part(sp, "train")`` (as ``split_samples`` reads them:
    object-free images dropped except the yeast traps, which Cellpose's
    ``min_train_masks=1`` then drops), each set's share of crops GENERALIST_WEIGHTS split
    evenly over its images, the raw grey images. Ignored pixels (-1: unannotated nuclei of
    the partial CTC sets) are left out of Cellpose's loss by run_cellpose.py (not set to 0).
    Object size: Cellpose's ``train_seg`` (``rescale=True``) rescales every image by its
    own labels' mean diameter (``utils.diameters``) to ``diam_mean`` 30. No validation
    data (validation parts serve only a final check). Seed 0, one torch thread,
    ``nice -n 10``; the weights are rewritten every `save_every` epochs.
    """

    from celldyn.segment.deep.datasets import GENERALIST_WEIGHTS, load_part

    sets = _gen_sets()
    arrays, probs, per_set = {}, [], {}
    for name, sp in sets.items():
        items = load_part(sp, "train", DATA, skip_empty=name != "seg-BABY-yeast-brightfield")
        w = GENERALIST_WEIGHTS.get(name, 1.0 / len(sets)) / max(1, len(items))
        for it in items:
            i = len(probs)
            arrays[f"train_img_{i}"] = it.image
            arrays[f"train_lab_{i}"] = it.labels
            probs.append(w)
        per_set[name] = {"images": len(items),
                         "ignored_px": int(sum((it.labels < 0).sum() for it in items))}
    arrays["train_prob"] = np.asarray(probs)
    print(json.dumps({"images": len(probs), "per_set": per_set}), flush=True)
    return _peer_train([str(CELLPOSE_PY), str(CELLPOSE_RUN), "train", "--epochs", str(epochs),
                        "--nimg-per-epoch", str(nimg_per_epoch),
                        "--save-every", str(save_every)], arrays, out, per_set=per_set)



# StarDist trained from scratch on the generalist's training parts (issue 15, item 4).
STARDIST_PY = Path(__file__).resolve().parent / ".envs" / "stardist" / "bin" / "python"
STARDIST_RUN = Path(__file__).resolve().parent / "peers" / "run_stardist.py"
SD_GEN_METHOD = "stardist (from scratch, generalist split)"
SD_GEN_MODELS = Path(__file__).resolve().parent / ".envs" / "stardist_models" / \
    "generalist_split"
SD_GEN_EPOCHS = 80   # ~0.19 s per step of batch 4 on 1 thread: 80 x 100 steps took 24 min
SD_GEN_STEPS = 100


def stardist_available() -> str | None:
    """None when the StarDist peer can run, else why not."""
    return _peer_missing(STARDIST_PY, "stardist.models", "StarDist",
                         "`bash benchmarks/setup_peers.sh stardist`")


def _sd_zoomed(image: np.ndarray, labels: np.ndarray, zoom: float):
    """Image (linear) and labels (nearest neighbour, -1 kept) rescaled by `zoom`."""
    img = image.astype(np.float32)
    if abs(zoom - 1.0) < 1e-6:
        return img, labels.astype(np.int32)
    return ndi.zoom(img, zoom, order=1), ndi.zoom(labels.astype(np.int32), zoom, order=0)


def stardist_train_generalist(epochs: int, steps_per_epoch: int = SD_GEN_STEPS,
                              out: Path = SD_GEN_MODELS) -> dict:
    """Train StarDist 2D from scratch on exactly generalist2d's training parts.

    The same images as ``cellpose_train_generalist`` (every 2D instance set's
    ``load_part(sp, "train")``, object-free images dropped except the yeast traps) with
    each set's share of patches GENERALIST_WEIGHTS split evenly over its images (drawn
    with those probabilities by run_stardist.py). Object size: each image (and its
    labels, nearest neighbour) is rescaled here so its own objects' median diameter is
    TARGET_DIAMETER (the set's median for an object-free image), as ``split_samples``
    does for generalist2d. Ignored pixels (-1: unannotated nuclei of the partial CTC
    sets) stay -1, which StarDist leaves out of all its losses (neither dropped nor set
    to 0). The validation parts (at most GEN_VAL_PER_SET images per set, rescaled the
    same way) give StarDist's validation loss (best epoch kept) and its threshold
    optimisation; test parts are not read. Seed 0, one thread, ``nice -n 10``.
    """

    from celldyn.segment.deep.datasets import GENERALIST_WEIGHTS, load_part, median_diameter

    sets = _gen_sets()
    arrays, probs, per_set, nv, partial = {}, [], {}, 0, []
    for name, sp in sets.items():
        items = load_part(sp, "train", DATA, skip_empty=name != "seg-BABY-yeast-brightfield")
        diams = [median_diameter(it.labels) for it in items]
        known = [d for d in diams if d]
        set_d = float(np.median(known)) if known else TARGET_DIAMETER
        w = GENERALIST_WEIGHTS.get(name, 1.0 / len(sets)) / max(1, len(items))
        zooms = []
        for it, d in zip(items, diams, strict=True):
            i = len(probs)
            zooms.append(TARGET_DIAMETER / (d or set_d))
            arrays[f"train_img_{i}"], arrays[f"train_lab_{i}"] = _sd_zoomed(
                it.image, it.labels, zooms[-1])
            probs.append(w)
        val = [it for it in (_gen_items(sp, "validation") if sp.validation else [])
               if (it.labels > 0).any()]
        for it in val:
            d = median_diameter(it.labels)
            arrays[f"val_img_{nv}"], arrays[f"val_lab_{nv}"] = _sd_zoomed(
                it.image, it.labels, TARGET_DIAMETER / d)
            partial.append(bool(it.partial))
            nv += 1
        per_set[name] = {"images": len(items), "validation_images": len(val),
                         "zoom": [round(min(zooms), 3), round(max(zooms), 3)] if zooms else None,
                         "ignored_px": int(sum((it.labels < 0).sum() for it in items))}
    arrays["train_prob"] = np.asarray(probs)
    arrays["val_partial"] = np.asarray(partial, bool)
    print(json.dumps({"images": len(probs), "validation_images": nv,
                      "per_set": per_set}), flush=True)
    return _peer_train([str(STARDIST_PY), str(STARDIST_RUN), "train", "--epochs", str(epochs),
                        "--steps-per-epoch", str(steps_per_epoch), "--seed", str(SEED)],
                       arrays, out, per_set=per_set)


def stardist_predict(frames: list, scale: float, model: Path = SD_GEN_MODELS
                     ) -> tuple[list[np.ndarray], float]:
    """Segment frames with the trained StarDist peer, each rescaled by `scale`;
    (labels, ms per MP of run_stardist.py's timed part)."""
    return _peer_predict(
        lambda data, res: [str(STARDIST_PY), str(STARDIST_RUN), "predict", str(model), data,
                           res, "--scale", str(scale)], frames)


def _shipped_minutes() -> str:
    try:
        from celldyn.segment.deep.registry import model_folder

        cfg = json.loads((model_folder("nuclei2d") / "config.json").read_text())
        return f"{cfg['training']['seconds'] / 60:.0f}"
    except Exception:  # noqa: BLE001 - text only
        return "?"


def peer_lines(rows: list[dict]) -> str:
    """Per held-out set: Cellpose 3 vs our deep model vs the best classical method."""
    out = []
    for s_ in dict.fromkeys(r["set"] for r in rows):
        sub = [r for r in rows if r["set"] == s_]
        cp = next((r for r in sub if r["method"].startswith(CELLPOSE_METHOD)), None)
        deep = next((r for r in sub if "from training split" in r["method"]), None)
        cls = [r for r in sub if r["method"] in CLASSICAL]
        if cp is None or deep is None or not cls:
            continue
        best = max(cls, key=lambda r: r["AP@0.5"])
        out.append(f"- {s_}: AP@0.5 / AP@0.75 / SEG: Cellpose 3 (from scratch) "
                   f"{cp['AP@0.5']:.3f} / {cp['AP@0.75']:.3f} / {cp['SEG']:.3f}; deep nuclei2d "
                   f"{deep['AP@0.5']:.3f} / {deep['AP@0.75']:.3f} / {deep['SEG']:.3f}; best "
                   f"classical ({best['method']}) {best['AP@0.5']:.3f} / {best['AP@0.75']:.3f} / "
                   f"{best['SEG']:.3f}.")
    return "\n".join(out)


def peers_text(meta: dict | None, why: str = "", rows: list[dict] | None = None) -> str:
    """The Peers paragraph of the RESULTS.md section."""
    stardist = ("StarDist was not run: it needs a separate tensorflow-cpu environment "
                "(about 2 GB), not tried here.")
    if meta is None:
        return f"Peers: {why or 'Cellpose 3 was not run.'} {stardist}\n"
    d = meta["train_diameters_px"]
    return (
        f"Peers: {CELLPOSE_METHOD} is Cellpose {meta['cellpose']} (torch {meta['torch']}, "
        "CPU) with a fresh network (`CellposeModel(pretrained_model=False)`, no pretrained "
        "weights: none can be downloaded here), trained by `cellpose.train.train_seg` "
        "(`benchmarks/peers/run_cellpose.py`, `--train-cellpose`) on exactly the training "
        "frames and masks of the shipped model: the first 25 GOWT1-01 SEG frames (the ignore regions "
        "around unannotated nuclei left out of Cellpose's loss, as in ours), SIM+-01 frames "
        "0-29, DSB2018 left half rows 0-383, sampled with the same share per source "
        f"({SET_WEIGHTS}); Cellpose's defaults otherwise (AdamW lr 0.005, batch 8, 224 px "
        f"crops, rescaled to diameter 30, seed {meta['seed']}). {meta['epochs']} epochs of "
        f"{meta['nimg_per_epoch']} crops ({meta['iterations']} iterations of batch 8, vs "
        f"{SHIPPED_CONFIG['epochs'] * SHIPPED_CONFIG['iters_per_epoch']} of batch "
        f"{SHIPPED_CONFIG['batch']} x {SHIPPED_CONFIG['crop']} px for ours) took "
        f"{meta['train_seconds'] / 60:.0f} min on 1 torch thread (`nice -n 19`, the other "
        f"core busy; ours: {_shipped_minutes()} min on 2 threads), with Cellpose's learning-rate "
        "schedule for short runs (10-epoch warm-up, then constant). That is far less than "
        "Cellpose's usual from-scratch training (hundreds of epochs, on a GPU), so these "
        "rows compare the two on this CPU budget; they are not Cellpose's best. "
        "The validation frames gave its test loss only (no model selection, no threshold "
        "tuning: flow 0.4, cell probability 0.0). Prediction at the training split's median "
        f"diameter per source ({d} px), 1 torch thread (our deep rows use 2), "
        "ms/MP and peak MiB measured in the Cellpose process (`model.eval` only; peak at "
        f"diameter 60 px). {stardist}\n"
        + ("\n" + peer_lines(rows) + "\n" if rows else ""))


def _dates_line(rows: list[dict]) -> str:
    """Which rows were re-scored after the full run (their ``measured`` date)."""
    # "deep nuclei2d (diameter auto: 62 px)" -> "deep nuclei2d (diameter auto)"
    later = sorted({(r["measured"], r["method"].split(":")[0] + ")")
                    for r in rows if r.get("measured")})
    if not later:
        return ""
    return ("\n\nRe-scored later than the other rows (their own runs of the same frames "
            "and model; the peak MiB column is from the full run): "
            + "; ".join(f"{m} rows on {d}" for d, m in later) + ".")


def section_body(rows: list[dict], notes: list[str], peers: str | None = None) -> str:
    """The RESULTS.md section text from the score rows and target notes."""
    from _results import markdown_table

    cols = ["set", "method", "AP@0.5", "AP@0.75", "SEG", "ms/MP", "peak MiB (1 MP frame)"]
    body = (__doc__.split("\n\n", 1)[1].split("Scores:")[0]
            + "Scores: AP@0.5 / AP@0.75 = TP / (TP + FP + FN), counts summed over frames; "
            "on GOWT1 (partial SEG annotation) predictions that overlap no annotated nucleus "
            "are ignored (CTC SEG convention). SEG: CTC SEG (celldyn.evaluate.seg_score). "
            "ms/MP: wall milliseconds per megapixel of input on this machine (2 shared "
            "CPU cores, torch 2 threads), including normalisation and post-processing. "
            "peak MiB: growth of the peak RSS of a fresh process segmenting one 1024x1024 "
            "GOWT1-02 frame (deep: at diameter 60 px, i.e. a 512x512 network input).\n\n"
            + markdown_table(rows, cols)
            + _dates_line(rows)
            + "\n\nTargets (AP@0.5). The issue-4 targets (deep beats the best classical "
            "method by >= 0.10; fine-tuning on 5 annotated frames closes >= half "
            "of the remaining gap to 1.0) apply to the held-out *real* sets, GOWT1-02 and the "
            "DSB2018 right half. SIM+ is simulated; with a classical AP@0.5 above 0.9 a +0.10 "
            "margin is impossible there, so it is listed for information only.\n"
            + "\n".join(notes)
            + "\n\nScale probe (the 'diameter auto' rows; `--check-diameter`, training "
            "frames only, segmentation_diameter_check.json): the estimate is off the "
            "ground truth's median diameter by a median factor of "
            + _diam_factors("probe") + "; the probe used until 2026-12-02 (the zoom "
            "whose objects came closest to the working size) by "
            + _diam_factors("closest (before)") + "."
            + "\n\n" + FINE_TUNE_CHECK
            + "\n\n" + (peers if peers is not None else peers_text(None)))
    return body


def _merge_peer_rows(rows: list[dict], peer_rows: list[dict]) -> list[dict]:
    """Rows without old peer rows, each set's peer rows placed after its own rows."""
    rows = [r for r in rows if not r["method"].startswith(CELLPOSE_METHOD)]
    out = []
    for s_ in dict.fromkeys(r["set"] for r in rows):
        out += [r for r in rows if r["set"] == s_] + [r for r in peer_rows if r["set"] == s_]
    return out


def _cp_meta_short(meta: dict | None) -> dict | None:
    if meta is None:
        return None
    return {k: v for k, v in meta.items() if k not in ("train_loss", "train_probs", "model")}


def run_peers_only(quick: bool = False) -> int:
    """Score the peers only; merge their rows into segmentation.json, rewrite the section."""
    from _results import write_section

    out = Path(__file__).with_name("segmentation.json")
    res = json.loads(out.read_text())
    peer_rows, cp_meta, why = cellpose_rows(held_out(), quick)
    rows = _merge_peer_rows(res["rows"], peer_rows)
    body = section_body(rows, res["notes"], peers_text(cp_meta, why, rows))
    print(body)
    if quick:
        return 0
    res.update(rows=rows, cellpose=_cp_meta_short(cp_meta), peers_note=why)
    out.write_text(json.dumps(res, indent=1))
    write_section("Segmentation (benchmarks/segmentation.py)", body,
                  packages=("torch", "scikit-image", "numpy"))
    return 0


def fine_tune_row(shipped, set_name: str, part: dict, test: list[Frame],
                  quick: bool = False) -> dict:
    """Fine-tune the shipped model on the 5 annotated frames of a held-out set, re-tune
    its post-processing levels on those frames (as ``celldyn train segment`` tunes them
    on its validation frames), and score it on the set's test frames."""
    from celldyn.segment.deep import DeepSegmenter
    from celldyn.segment.deep.train import TrainConfig, train_segmenter, tune_thresholds

    tune = part["tune"]
    d_tune = median_diameter(tune)
    zoom = shipped.target_diameter / d_tune
    tune_s = samples(tune, zoom, 1.0, "tune")
    cfg = replace(TrainConfig.from_dict(shipped.config["training"]["config"]),
                  **(FINE_TUNE if not quick else {"epochs": 1, "iters_per_epoch": 2}))
    t0 = time.perf_counter()
    res = train_segmenter(tune_s, (), cfg, init=shipped.net.state_dict(),
                          thresholds=shipped.thresholds, tune=False)
    levels, _ = tune_thresholds(res.net, tune_s, shipped.thresholds)
    ft_sec = time.perf_counter() - t0
    ft = DeepSegmenter(res.net, shipped.config, levels, "nuclei2d-finetuned")
    pred, ms = _run(lambda img, _m=ft, _d=d_tune: _m.segment(img, diameter=_d), test)
    return {"set": set_name,
            "method": f"deep nuclei2d fine-tuned on 5 frames "
                      f"({cfg.epochs * cfg.iters_per_epoch} it, {ft_sec:.0f} s; levels "
                      f"re-tuned on them: fg {levels['fg_threshold']:g}, marker "
                      f"{levels['marker_threshold']:g})",
            **_score(test, pred), "ms/MP": ms}


def target_notes(rows: list[dict], sets: dict) -> list[str]:
    notes = []
    for set_name in sets:
        sub = [r for r in rows if r["set"] == set_name]
        best_c = max((r for r in sub if r["method"] in CLASSICAL),
                     key=lambda r: r["AP@0.5"])
        deep = next(r for r in sub if "from training split" in r["method"])
        auto = next(r for r in sub if "diameter auto" in r["method"])
        ftr = next(r for r in sub if "fine-tuned" in r["method"])
        gap = 1.0 - deep["AP@0.5"]
        closed = (ftr["AP@0.5"] - deep["AP@0.5"]) / gap if gap > 0 else 1.0
        ok1 = deep["AP@0.5"] - best_c["AP@0.5"] >= 0.10
        real = sets[set_name]["real"]
        notes.append(
            f"- {set_name}{'' if real else ' (simulated: information only, not an issue-4 target)'}: best classical {best_c['method']} AP@0.5 {best_c['AP@0.5']:.3f}; "
            f"deep (diameter from training split) {deep['AP@0.5']:.3f} ({deep['AP@0.5'] - best_c['AP@0.5']:+.3f}: "
            f"target +0.10 {'met' if ok1 else 'NOT met'}); the default a user gets "
            f"{auto['method'].removeprefix('deep nuclei2d ')} {auto['AP@0.5']:.3f} "
            f"({auto['AP@0.5'] - best_c['AP@0.5']:+.3f}: target +0.10 "
            f"{'met' if auto['AP@0.5'] - best_c['AP@0.5'] >= 0.10 else 'NOT met'}); "
            f"fine-tuned {ftr['AP@0.5']:.3f}, "
            f"closes {closed:.0%} of the gap to 1.0 (target 50%: "
            f"{'met' if closed >= 0.5 else 'NOT met'}).")
    return notes


def _rewrite_with(res: dict, rows: list[dict], sets: dict, out: Path, quick: bool) -> int:
    """Re-derive the target notes from `rows` (some re-scored), print the section and,
    unless `quick`, write segmentation.json, the RESULTS.md section and the card."""
    from _results import write_section

    from celldyn.segment.deep.registry import model_folder

    notes = target_notes(rows, sets)
    body = section_body(rows, notes, peers_text(res.get("cellpose"), res.get("peers_note", ""),
                                                rows))
    print(body)
    if quick:
        return 0
    res.update(rows=rows, notes=notes)
    out.write_text(json.dumps(res, indent=1))
    write_section("Segmentation (benchmarks/segmentation.py)", body,
                  packages=("torch", "scikit-image", "numpy"))
    write_card(model_folder("nuclei2d"), rows, notes)
    return 0


def run_fine_tune_only(quick: bool = False, model: str = "nuclei2d") -> int:
    """Re-run the fine-tuned rows only; merge them into segmentation.json, rewrite the
    section and the targets (the other rows are kept as they were measured)."""
    import torch

    from celldyn.segment.deep import load_segmenter

    torch.set_num_threads(2)
    shipped = load_segmenter(model)
    out = Path(__file__).with_name("segmentation.json")
    res = json.loads(out.read_text())
    sets = held_out()
    rows = list(res["rows"])
    for set_name, part in sets.items():
        test = part["test"][:2] if quick else part["test"]
        rec = fine_tune_row(shipped, set_name, part, test, quick)
        old = next(r for r in rows if r["set"] == set_name and "fine-tuned" in r["method"])
        rec["ms/MP"] = round(rec["ms/MP"])
        rec["peak MiB (1 MP frame)"] = old.get("peak MiB (1 MP frame)")
        rows[rows.index(old)] = rec
        print(json.dumps(rec), flush=True)
    return _rewrite_with(res, rows, sets, out, quick)


def _probe_cap(cfg: dict) -> str:
    """The card's words for a model's ``probe_max_input`` (none: empty)."""
    cap, floor = cfg.get("probe_max_input"), cfg.get("probe_min_input")
    out = f", cut at the higher zooms so that the network sees at most {cap} px a side" \
        if cap else ""
    if floor:
        out += (f", grown at the lower ones so that it sees at least {floor} px (run only "
                f"where the frame gives it {floor // 2} px)")
    if cfg.get("probe_lone_min_objects"):
        lo, hi = cfg.get("probe_core_zooms", (0, 0))
        out += (f"; a zoom outside {lo}-{hi} is the size by itself, and zooms below {lo} "
                f"are a size together, only where each found at least "
                f"{cfg['probe_lone_min_objects']} objects")
    return out


def _closest_probe(seg, frame, zooms=(0.25, 0.5, 1.0, 2.0), crop=384) -> float | None:
    """The scale probe used until 2026-12-02, for comparison: the zoom whose objects
    come closest (in log ratio) to the working diameter wins."""
    arr = np.asarray(frame)
    ny, nx = arr.shape
    cy, cx = max(0, (ny - crop) // 2), max(0, (nx - crop) // 2)
    sub = arr[cy:cy + crop, cx:cx + crop]
    best = None
    for z in zooms:
        labels = seg.segment(sub, diameter=seg.target_diameter / z)
        areas = np.bincount(labels.ravel())[1:]
        areas = areas[areas > 0]
        if areas.size:
            d = float(np.sqrt(4 * np.median(areas) / np.pi))
            err = abs(float(np.log(d * z / seg.target_diameter)))
            if best is None or err < best[0] - 1e-9:
                best = (err, d)
    return None if best is None else best[1]


def check_diameter(model: str = "nuclei2d") -> int:
    """Scale probe vs ground truth on the training split's frames (never the held-out
    ones): every GOWT1-01 SEG frame with at least 10 annotated nuclei, every 4th SIM+
    frame of 0-34, the DSB2018 left half (train and validation parts)."""
    import torch

    from celldyn.segment.deep import load_segmenter

    torch.set_num_threads(2)
    seg = load_segmenter(model)
    split = training_split()
    picks = {"GOWT1": split["GOWT1"]["train"] + split["GOWT1"]["val"],
             "SIM+": (split["SIM+"]["train"] + split["SIM+"]["val"])[::4],
             "DSB2018": split["DSB2018"]["train"] + split["DSB2018"]["val"]}
    out = {}
    for src, frames in picks.items():
        rec = []
        for f in frames:
            if len(np.unique(f.labels[f.labels > 0])) < 10:
                continue
            gt = median_diameter([f])
            t0 = time.perf_counter()
            new = seg.estimate_diameter(f.image)
            sec = time.perf_counter() - t0
            rec.append({"gt": gt, "probe": new, "closest (before)": _closest_probe(seg, f.image),
                        "seconds": sec})
        err = {k: float(np.median([abs(np.log(r[k] / r["gt"])) for r in rec]))
               for k in ("probe", "closest (before)")}
        out[src] = {"frames": rec, "median |log(estimate / truth)|": err}
        print(src, len(rec), "frames;", {k: f"x{np.exp(v):.3f}" for k, v in err.items()},
              flush=True)
    Path(__file__).with_name("segmentation_diameter_check.json").write_text(
        json.dumps(out, indent=1))
    return 0


def _deep_auto(shipped):
    """The default a user gets: diameter estimated once per set (on its first test
    frame, as segment_movie_deep estimates it once per movie), then every frame."""
    found: dict[str, float] = {}

    def fn(img):
        if "d" not in found:
            found["d"] = shipped.estimate_diameter(img)
        return shipped.segment(img, diameter=found["d"])

    return fn, found


def run_auto_only(quick: bool = False, model: str = "nuclei2d") -> int:
    """Re-run the 'diameter auto' rows only; merge them into segmentation.json, rewrite
    the RESULTS.md section and the model card (the other rows are kept)."""
    import torch

    from celldyn.segment.deep import load_segmenter

    torch.set_num_threads(2)
    shipped = load_segmenter(model)
    out = Path(__file__).with_name("segmentation.json")
    res = json.loads(out.read_text())
    rows = list(res["rows"])
    sets = held_out()
    for set_name, part in sets.items():
        test = part["test"][:2] if quick else part["test"]
        fn, found = _deep_auto(shipped)
        pred, ms = _run(fn, test)
        old = next(r for r in rows if r["set"] == set_name and "diameter auto" in r["method"])
        rec = {"set": set_name, "method": f"deep nuclei2d (diameter auto: {found['d']:.0f} px)",
               **_score(test, pred), "ms/MP": round(ms),
               "peak MiB (1 MP frame)": old.get("peak MiB (1 MP frame)"),
               "measured": time.strftime("%Y-%m-%d")}
        rows[rows.index(old)] = rec
        print(json.dumps(rec), flush=True)
    return _rewrite_with(res, rows, sets, out, quick)


def run_benchmark(quick: bool = False, model: str = "nuclei2d") -> int:
    import torch
    from _results import write_section

    from celldyn.segment.deep import load_segmenter

    torch.set_num_threads(2)
    shipped = load_segmenter(model)
    train_diam = shipped.config["training"]["train_diameters_px"]
    rows = []
    sets = held_out()
    for set_name, part in sets.items():
        test = part["test"]
        if quick:
            test = test[:2]
        d_train = float(train_diam[part["train_set"]])
        methods = {k: _classical(m, **p) for k, (m, p) in CLASSICAL.items()}
        deep_auto, auto = _deep_auto(shipped)
        methods["deep nuclei2d (diameter auto)"] = deep_auto
        methods[f"deep nuclei2d (diameter {d_train:.0f} px from training split)"] = \
            lambda img, _d=d_train: shipped.segment(img, diameter=_d)
        for name, fn in methods.items():
            pred, ms = _run(fn, test)
            rec = {"set": set_name, "method": name, **_score(test, pred), "ms/MP": ms}
            if name.startswith("deep nuclei2d (diameter auto"):
                rec["method"] = f"deep nuclei2d (diameter auto: {auto['d']:.0f} px)"
            rows.append(rec)
            print(json.dumps(rec), flush=True)
        rec = fine_tune_row(shipped, set_name, part, test, quick)
        rows.append(rec)
        print(json.dumps(rec), flush=True)
    mem = {} if quick else {k: _peak_memory("classical", k) for k in CLASSICAL}
    if not quick:
        mem["deep nuclei2d"] = _peak_memory("deep", "", model)
    for r in rows:
        key = "deep nuclei2d" if r["method"].startswith("deep") else r["method"]
        r["peak MiB (1 MP frame)"] = round(mem.get(key, float("nan")), 1)
        r["ms/MP"] = round(r["ms/MP"])
    peer_rows, cp_meta, why = cellpose_rows(sets, quick)
    notes = target_notes(rows, sets)
    rows = _merge_peer_rows(rows, peer_rows)
    body = section_body(rows, notes, peers_text(cp_meta, why, rows))
    if not quick:
        write_section("Segmentation (benchmarks/segmentation.py)", body,
                      packages=("torch", "scikit-image", "numpy"))
        out = Path(__file__).with_name("segmentation.json")
        out.write_text(json.dumps({"seed": SEED, "rows": rows, "notes": notes,
                                   "cellpose": _cp_meta_short(cp_meta), "peers_note": why},
                                  indent=1))
        from celldyn.segment.deep.registry import model_folder

        write_card(model_folder("nuclei2d"), rows, notes)
    print(body)
    return 0


# --- Generalist benchmark (issue 15): every 2D test part of benchmarks/splits.py ---------
#
#     nice python benchmarks/segmentation.py --generalist [--methods classical,nuclei2d,...]
#
# scores, on every 2D instance set's validation part (at most GEN_VAL_PER_SET images,
# evenly spaced) and test part (at most GEN_TEST_PER_SET, evenly spaced): the classical variants, each shipped deep
# model (object size by its scale probe: once per movie for CTC movies, per image for
# still-image sets) and the automatic choice (celldyn.segment.auto's rule, replayed from
# the same outputs). The best classical variant of a set is picked on its validation
# part (GOWT1-02: on GOWT1-01's), never on the test part. Per-method results are cached
# in segmentation_generalist.json so methods can be run separately.

GEN_JSON = Path(__file__).with_name("segmentation_generalist.json")
GEN_VAL_PER_SET = 3
# Test parts are subsampled evenly (the same images for every method) to fit the shared
# 2-core machine: at most GEN_TEST_PER_SET images per set (DSB2018: GEN_TEST_DSB).
GEN_TEST_PER_SET = 8
GEN_TEST_DSB = 12
GEN_VALIDATION_OF = {"Fluo-N2DH-GOWT1-02": "Fluo-N2DH-GOWT1-01"}
GEN_MOVIES = {"Fluo-N2DH-GOWT1-01", "Fluo-N2DH-GOWT1-02", "Fluo-N2DH-SIM+-01",
              "Fluo-N2DL-HeLa-01", "DIC-C2DH-HeLa-01", "PhC-C2DL-EcoliColony-vanVliet-01"}
# the default watershed, on the frame and on the inverted frame (the pipeline's
# --dark-objects); Otsu variants were dropped for time (on GOWT1 they scored far lower)
GEN_CLASSICAL = {
    "watershed (triangle)": ("watershed", {}, False),
    "watershed (triangle, dark objects)": ("watershed", {"fill_holes": False}, True),
}
GEN_MODELS = ("nuclei2d", "generalist2d")
GEN_TRAIN_DIAMETER = " (training-part diameter)"
# Leave one set out (issue 15, item 4): generalist2d retrained by the shipped command with
# `--exclude SET` (that set's train and validation parts unused), scored on SET's test
# part: the figure for a lab whose kind of data the generalist never saw. The models are
# benchmark artefacts (not shipped), in GEN_LOSO_DIR/SET, made by `--train-loso SET`.
GEN_LOSO = "generalist2d leave-one-set-out"
GEN_LOSO_DIR = Path(__file__).with_name(".models") / "generalist2d-loso"
# the same recipe with half of the training crops contrast-inverted (`--invert-p`): does a
# model that cannot rely on polarity segment a kind of data it never saw? (an experiment;
# the shipped generalist is trained without it)
GEN_LOSO_INV = "generalist2d leave-one-set-out, contrast inverted in training"
GEN_LOSO_INV_P = 0.5
GEN_LOSO_DIRS = {GEN_LOSO: GEN_LOSO_DIR,
                 GEN_LOSO_INV: GEN_LOSO_DIR.with_name("generalist2d-loso-invert")}

# the shipped model's post-hoc min_size (chosen on validation parts after training,
# `--min-size-sweep`); a retrained model gets it too, so that the two differ only by data
GEN_SHIPPED_MIN_SIZE = 150


def _shipped_training_args() -> list[str]:
    """The options of the shipped generalist2d's first training run (from nuclei2d; a
    run that continued it records the first as ``training["previous"]``), as its
    config.json records it, less where it wrote (--out, --checkpoint-dir) and the split
    file."""
    import shlex

    from celldyn.segment.deep.registry import model_folder

    cfg = json.loads((model_folder("generalist2d") / "config.json").read_text())
    run = cfg["training"]
    while run.get("previous"):
        run = run["previous"]
    words = shlex.split(run["command"])
    words = words[words.index("segment") + 1:]
    out, skip = [], False
    for w in words:
        if skip:
            skip = False
        elif w in ("--out", "--checkpoint-dir", "--splits"):
            skip = True
        else:
            out.append(w)
    return out


def _loso_set(set_name: str) -> str:
    """The set whose leave-one-set-out model scores `set_name`: a test-only movie (GOWT1-02)
    uses the model retrained without its sister movie (GOWT1-01: same cells, microscope)."""
    return GEN_VALIDATION_OF.get(set_name, set_name)


def _no_loso_model(set_name: str, method: str = GEN_LOSO) -> dict:
    name = _loso_set(set_name)
    root = GEN_LOSO_DIRS[method]
    where = f"benchmarks/{root.parent.name}/{root.name}/{name}"
    flag = f" --invert-p {GEN_LOSO_INV_P}" if method == GEN_LOSO_INV else ""
    return {"not_possible": f"no model in {where} (train it with "
                            f"`--train-loso {name}{flag}`)"}


def _loso_segmenter(set_name: str, method: str = GEN_LOSO):
    """The leave-one-set-out model of `set_name` with the shipped min_size, or None."""
    from celldyn.segment.deep import load_segmenter

    folder = GEN_LOSO_DIRS[method] / _loso_set(set_name)
    if not (folder / "weights.pt").is_file():
        return None
    seg = load_segmenter(folder)
    seg.thresholds = {**seg.thresholds, "min_size": GEN_SHIPPED_MIN_SIZE}
    return seg


def _gen_sets() -> dict:
    from splits import SEGMENTATION

    from celldyn.segment.deep.datasets import SETS_3D, SETS_SEMANTIC

    return {k: v for k, v in SEGMENTATION.items() if k not in SETS_3D | SETS_SEMANTIC}


def _gen_items(sp, part: str) -> list:
    from celldyn.segment.deep.datasets import load_part

    items = load_part(sp, part, DATA)
    cap = (GEN_VAL_PER_SET if part == "validation" else
           GEN_TEST_DSB if sp.set == "seg-DSB2018-stage1-train-subset" else GEN_TEST_PER_SET)
    return _evenly(items, cap)


def _evenly(items: list, cap: int) -> list:
    """At most `cap` of `items`, evenly spaced (first and last kept), in order."""
    if len(items) <= cap:
        return items
    idx = np.linspace(0, len(items) - 1, cap).round().astype(int)
    return [items[i] for i in sorted(set(idx.tolist()))]


def _item_counts(item, pred: np.ndarray) -> list[float]:
    """[tp, fp, fn at 0.5, tp, fp, fn at 0.75, SEG sum of Jaccards, GT objects]."""
    from celldyn.evaluate import seg_score
    from celldyn.segment.deep.metrics import match_counts

    gt = np.where(item.labels > 0, item.labels, 0)
    c = match_counts(gt, pred, (0.5, 0.75), ignore_unannotated=item.partial)
    n_gt = int(np.unique(gt[gt > 0]).size)
    seg = float(seg_score({0: gt}, pred[None])) * n_gt if n_gt else 0.0
    return [*c[0.5], *c[0.75], seg, n_gt]


def _gen_groups(set_name: str, items: list) -> list[list[int]]:
    """Items segmented together (one scale probe, one sanity check): a movie or an image."""
    if set_name in GEN_MOVIES:
        return [list(range(len(items)))]
    return [[i] for i in range(len(items))]


def _severe(labels_list: list[np.ndarray]) -> int:
    from celldyn.segment.auto import SEVERE
    from celldyn.segment.sanity import check_segmentation

    if len({p.shape for p in labels_list}) > 1:
        found = [f for p in labels_list for f in check_segmentation(p[None])]
    else:
        found = check_segmentation(np.stack(labels_list))
    return sum(1 for f in found if f.kind in SEVERE)


def _peer_training(folder: Path, *drop: str) -> dict:
    """A trained peer's ``train.json`` ({} before training), less the keys `drop`
    (per-image or per-epoch lists)."""
    f = folder / "train.json"
    meta = json.loads(f.read_text()) if f.is_file() else {}
    return {k: v for k, v in meta.items() if k not in drop}


def _cp_gen_training() -> dict:
    """The trained Cellpose 3 peer's train.json, without the per-image lists."""
    return _peer_training(CP_GEN_MODELS, "train_probs", "test_loss", "model")


def _cp_gen_text(res: dict) -> str:
    """The Cellpose 3 peer's paragraph and the 'generalist ahead' count (test parts)."""
    cp = res.get(CP_GEN_METHOD, {})
    if not cp:
        return (f"Cellpose 3 peer (`{CP_GEN_METHOD}`): not run (train it with "
                "`--train-cellpose-generalist EPOCHS`, then "
                f"`--generalist --methods \"{CP_GEN_METHOD}\" --parts test`).")
    ahead, same_d, n, n_same = [], [], 0, 0
    for set_name, parts in cp.items():
        r = parts.get("test")
        g = res.get("generalist2d", {}).get(set_name, {}).get("test")
        if r is None or g is None:
            continue
        n += 1
        a_cp = _summary(r["items"])["AP@0.5"]
        if _summary(g["items"])["AP@0.5"] > a_cp:
            ahead.append(set_name)
        gd = res.get("generalist2d" + GEN_TRAIN_DIAMETER, {}).get(set_name, {}).get("test")
        if gd is not None:
            n_same += 1
            if _summary(gd["items"])["AP@0.5"] > a_cp:
                same_d.append(set_name)
    same_txt = (f"; generalist2d at the same stated diameter ahead on {len(same_d)} of "
                f"{n_same} sets that have that row" if n_same else "")
    t = next((p["test"].get("training") for p in cp.values() if p.get("test")), None) or {}
    epochs, nimg = t.get("epochs", "?"), t.get("nimg_per_epoch", "?")
    return f"""Cellpose 3 peer (`{CP_GEN_METHOD}`; `nice python benchmarks/segmentation.py
--train-cellpose-generalist {epochs}`, then `--generalist --methods "{CP_GEN_METHOD}"
--parts test`): a fresh Cellpose {t.get("cellpose", "3")} CPnet (no pretrained weights)
trained by cellpose's own `train_seg` on exactly generalist2d's training parts (every 2D
instance set's `load_part(sp, "train")`, {t.get("n_train_images", "?")} images; object-free
images dropped as the generalist does, the two empty yeast traps by Cellpose's
`min_train_masks=1`; each set's crop share GENERALIST_WEIGHTS), the raw
grey images, seed 0, one CPU thread: {epochs} epochs x {nimg} crops (batch 8, 224 px;
{t.get("iterations", "?")} iterations, {t.get("train_seconds", 0) / 60:.0f} min wall on the
shared CPUs) - **a short schedule** (Cellpose's own default is 500 epochs with a 10-epoch
learning-rate warm-up), forced by the session's CPU budget, so these rows are a lower
bound for Cellpose 3. Object size in training: Cellpose rescales each image by its own
labels' diameter to 30 px (`train_seg`, `rescale=True`). Unannotated nuclei of the
partial CTC sets (-1) are left out of its loss (benchmarks/peers/run_cellpose.py), not set
to background. At test time Cellpose's size model is not trained here: each set gets the
median object diameter of its *training* part (GOWT1-02: GOWT1-01's), stated in the
notes. Validation parts were not used. ms/MP counts `model.eval` only.

**generalist ahead of Cellpose 3 on {len(ahead)} of {n} sets (AP@0.5)** (generalist2d with
its scale probe vs the peer at the stated diameter{same_txt})."""



def _sd_gen_training() -> dict:
    """The trained StarDist peer's train.json, without the per-epoch losses."""
    return _peer_training(SD_GEN_MODELS, "loss", "val_loss")


def _sd_gen_text(res: dict) -> str:
    """The StarDist peer's paragraph and the 'generalist ahead' count (test parts)."""
    sd = res.get(SD_GEN_METHOD, {})
    if not sd:
        why = stardist_available() or ("no trained model (train it with "
                                       "`--train-stardist-generalist EPOCHS`)")
        return (f"StarDist peer (`{SD_GEN_METHOD}`): not run ({why}; then "
                f"`--generalist --methods \"{SD_GEN_METHOD}\" --parts test`).")
    ahead, behind, equal, n = [], [], [], 0
    for set_name, parts in sd.items():
        r = parts.get("test")
        g = res.get("generalist2d", {}).get(set_name, {}).get("test")
        if r is None or g is None:
            continue
        n += 1
        a_g, a_sd = _summary(g["items"])["AP@0.5"], _summary(r["items"])["AP@0.5"]
        (ahead if a_g > a_sd else behind if a_g < a_sd else equal).append(set_name)
    t = next((p["test"].get("training") for p in sd.values() if p.get("test")), None) or {}
    epochs, steps = t.get("epochs", "?"), t.get("steps_per_epoch", "?")
    thr = t.get("thresholds") or {}
    best = t.get("best_epoch", "?")
    best_txt = (f"the weights of the best epoch kept: {best}, the last, the loss still "
                "falling, i.e. undertrained" if best == t.get("epochs") else
                f"the weights of the best epoch kept: {best}")
    return f"""StarDist peer (`{SD_GEN_METHOD}`; `nice python benchmarks/segmentation.py
--train-stardist-generalist {epochs}`, then `--generalist --methods "{SD_GEN_METHOD}"
--parts test`): a fresh StarDist {t.get("stardist", "0.9")} `StarDist2D` (csbdeep
{t.get("csbdeep", "?")}, TensorFlow CPU {t.get("tensorflow", "?")}; random initialisation,
no pretrained model: those are downloaded, and nothing is here) with 32 rays, grid (2, 2)
and StarDist's default U-Net, trained by its own `train` (benchmarks/peers/run_stardist.py)
on exactly generalist2d's training parts ({t.get("n_train_images", "?")} images, as for
Cellpose 3; each set's patch share GENERALIST_WEIGHTS, images drawn with those
probabilities), each image rescaled so its objects' median diameter is 30 px (as
generalist2d's training does) and normalised to its 1st-99.8th percentiles, 128 px
patches, batch {t.get("batch", 4)}, flips / rotations / intensity jitter (StarDist's
example augmenter), seed 0, one CPU thread: {epochs} epochs x {steps} steps
({t.get("iterations", "?")} iterations, {t.get("train_seconds", 0) / 60:.0f} min on the shared
CPUs) - **a short schedule** (StarDist's own default is 400 epochs x 100 steps), forced by
the session's CPU budget, so these rows are a lower bound for StarDist, not its best.
Unannotated nuclei of the partial CTC sets (-1) are left out of all its losses (StarDist
0.9 ignores negative labels), not set to background and not dropped. The validation parts
(at most {GEN_VAL_PER_SET} images per set) gave its validation loss
({best_txt}) and its `optimize_thresholds` on the
{t.get("n_threshold_images", "?")} validation images of fully annotated sets (probability
{thr.get("prob", float("nan")):.3f}, NMS {thr.get("nms", float("nan")):.2f}); test parts were
never used. At test time each image is rescaled by 30 px / the median object diameter of
the set's *training* part (GOWT1-02: GOWT1-01's; stated, no size model), as for Cellpose 3,
and the labels resized back (nearest neighbour). ms/MP counts rescaling, normalisation,
`predict_instances` (TensorFlow's set-up for each new image shape included) and resizing
back, on the shared CPUs.

**generalist ahead of StarDist on {len(ahead)} of {n} sets (AP@0.5)** (generalist2d with
its scale probe vs the peer at the stated diameter); StarDist ahead on
{", ".join(behind) or "none"}; equal on {", ".join(equal) or "none"}."""

def _train_part_diameter(set_name: str) -> float | None:
    """Median object diameter (celldyn's median_diameter per image, then the median) of
    the set's training part (GOWT1-02: GOWT1-01's)."""
    from celldyn.segment.deep.datasets import load_part, median_diameter

    src = GEN_VALIDATION_OF.get(set_name, set_name)
    train = load_part(_gen_sets()[src], "train", DATA)
    known = [d for d in (median_diameter(it.labels) for it in train) if d]
    return float(np.median(known)) if known else None


def _gen_method(method: str, items: list, set_name: str) -> dict:
    t0 = time.perf_counter()
    preds: list[np.ndarray | None] = [None] * len(items)
    diameters, agree = [], []
    if method in GEN_CLASSICAL:
        from celldyn.segment import segment_frame

        name, params, dark = GEN_CLASSICAL[method]
        for i, it in enumerate(items):
            img = it.image.astype(np.float32)
            if dark:
                img = float(img.max()) - img
            preds[i] = segment_frame(img, name, **params)
    elif method in (CP_GEN_METHOD, SD_GEN_METHOD):
        # a peer at the set's training-part median diameter (no size model of its own
        # trained here), one subprocess per set: Cellpose 3 given the diameter
        # (`seconds` = model.eval only), StarDist given the images rescaled by
        # TARGET_DIAMETER / it (as it was trained)
        d = _train_part_diameter(set_name)
        diameters.append(d)
        if method == CP_GEN_METHOD:
            preds, ms = cellpose_predict(items, d or 0.0, CP_GEN_MODELS / "models" /
                                         "cellpose3_scratch")
            training = _cp_gen_training()
        else:
            preds, ms = stardist_predict(items, TARGET_DIAMETER / d if d else 1.0)
            training = _sd_gen_training()
        groups = _gen_groups(set_name, items)
        return {"agreement": [],
                "items": [_item_counts(it, p) for it, p in zip(items, preds, strict=True)],
                "groups": groups, "severe": [_severe([preds[i] for i in g]) for g in groups],
                "diameters": [None if d is None else round(float(d), 1)],
                "ms_per_mp": ms, "names": [it.name for it in items], "training": training}
    elif method.endswith(GEN_TRAIN_DIAMETER):
        # diagnosis row: the object size the user could state (median diameter of the
        # set's *training* part), instead of the scale probe
        from celldyn.segment.deep import load_segmenter
        from celldyn.segment.deep.datasets import load_part, median_diameter

        base = method[: -len(GEN_TRAIN_DIAMETER)]
        seg = (_loso_segmenter(set_name, base) if base in GEN_LOSO_DIRS
               else load_segmenter(base))
        if seg is None:
            return _no_loso_model(set_name, base)
        src = GEN_VALIDATION_OF.get(set_name, set_name)
        train = load_part(_gen_sets()[src], "train", DATA)
        known = [d for d in (median_diameter(it.labels) for it in train) if d]
        d = float(np.median(known)) if known else None
        diameters.append(d)
        for i, it in enumerate(items):
            preds[i] = seg.segment(it.image, diameter=d)
    else:
        from celldyn.segment.deep import load_segmenter

        from celldyn.segment.auto import _watershed, agreement

        seg = (_loso_segmenter(set_name, method) if method in GEN_LOSO_DIRS
               else load_segmenter(method))
        if seg is None:
            return _no_loso_model(set_name, method)
        for group in _gen_groups(set_name, items):
            middle = items[group[len(group) // 2]].image
            d = seg.estimate_diameter(middle)
            diameters.append(d)
            for i in group:
                preds[i] = seg.segment(items[i].image, diameter=d)
            # the automatic rule's test: agreement with the plain watershed, middle frame
            t1 = time.perf_counter()
            agree.append(round(agreement(_watershed(middle, False),
                                         preds[group[len(group) // 2]]), 4))
            t0 += time.perf_counter() - t1      # not part of the model's time
    sec = time.perf_counter() - t0
    groups = _gen_groups(set_name, items)
    return {"agreement": agree,
            "items": [_item_counts(it, p) for it, p in zip(items, preds, strict=True)],
            "groups": groups, "severe": [_severe([preds[i] for i in g]) for g in groups],
            "diameters": [None if d is None else round(float(d), 1) for d in diameters],
            "ms_per_mp": 1000 * sec / (sum(it.image.size for it in items) / 1e6),
            "names": [it.name for it in items],
            **({"training": _loso_training(set_name, method)} if method in GEN_LOSO_DIRS
               else {})}


# The generalist fine-tuned on a few annotated images of the set itself (issue 15, item 4):
# the images are taken from the set's *test* part, but never among the scored ones (the
# _gen_items subsample), so the scored images stay unseen; training/validation parts
# are not used. The schedule is FINE_TUNE (the nuclei2d fine-tuned rows' recipe).
GEN_FT = "generalist2d fine-tuned on 5"
# the same recipe from the leave-one-set-out model: the new lab's figure after it has
# annotated 5 frames of its own data (the model never saw the set before those 5)
GEN_LOSO_FT = "generalist2d leave-one-set-out fine-tuned on 5"
# ... and on the shipped fine-tuned rows' images (spare test images) where a set has them
GEN_LOSO_FT_SPARE = "generalist2d leave-one-set-out fine-tuned on 5 spare test images"
# ... and by what a user runs: `celldyn train segment --images --masks --init MODEL` at
# its defaults (celldyn.segment.deep.finetune.train_on_pairs), on the same images
GEN_LOSO_CLI = "generalist2d leave-one-set-out + celldyn train segment defaults on 5"
GEN_LOSO_CLI_SPARE = GEN_LOSO_CLI + " spare test images"
GEN_CLI = "generalist2d + celldyn train segment defaults on 5"     # shipped, spare images
# method -> (from the leave-one-set-out model, on spare test images (else on the
# training part), by celldyn train segment's defaults (else FINE_TUNE))
GEN_FT_RECIPES: dict[str, tuple[bool, bool, bool]] = {
    GEN_FT: (False, True, False), GEN_LOSO_FT: (True, False, False),
    GEN_LOSO_FT_SPARE: (True, True, False), GEN_LOSO_CLI: (True, False, True),
    GEN_LOSO_CLI_SPARE: (True, True, True), GEN_CLI: (False, True, True)}
GEN_FT_METHODS = tuple(GEN_FT_RECIPES)
GEN_FT_N = 5
GEN_FT_MIN = 2


def _gen_ft_images(sp, scored_names: list[str]) -> tuple[list, str]:
    """Up to GEN_FT_N fine-tuning images of a set's test part: evenly spaced among the
    test images that are not scored and hold at least one annotated object. Returns
    (items, "") or ([], why not) when fewer than GEN_FT_MIN such images exist."""
    from celldyn.segment.deep.datasets import load_part

    every = load_part(sp, "test", DATA)
    scored = set(scored_names)
    spare = [it for it in every if it.name not in scored]
    usable = [it for it in spare if (it.labels > 0).any()]
    if len(usable) < GEN_FT_MIN:
        return [], (f"not possible: the test part has {len(every)} image(s), "
                    f"{len(every) - len(spare)} of them scored, {len(usable)} annotated "
                    f"spare (at least {GEN_FT_MIN} needed; training and validation images "
                    f"are never used)")
    idx = np.linspace(0, len(usable) - 1, min(GEN_FT_N, len(usable))).round().astype(int)
    chosen = [usable[i] for i in sorted(set(idx.tolist()))]
    assert not scored & {it.name for it in chosen}
    return chosen, ""


def _loso_ft_images(set_name: str) -> tuple[list, str]:
    """Up to GEN_FT_N fine-tuning images for a leave-one-set-out model: evenly spaced
    among the images of the set's *training* part that hold an annotated object (that
    model never saw them; the test part stays whole for scoring)."""
    from celldyn.segment.deep.datasets import load_part

    src = _loso_set(set_name)
    usable = load_part(_gen_sets()[src], "train", DATA, skip_empty=True)
    if not usable:
        return [], f"not possible: {src}'s training part holds no annotated image"
    idx = np.linspace(0, len(usable) - 1, min(GEN_FT_N, len(usable))).round().astype(int)
    return [usable[i] for i in sorted(set(idx.tolist()))], ""


def _gen_finetune(items: list, set_name: str, quick: bool = False,
                  loso: bool = False, spare: bool = True, cli: bool = False) -> dict:
    """The shipped generalist2d (`loso`: the set's leave-one-set-out model) fine-tuned
    on the set's spare test images (`spare` False: on images of its training part, for a
    leave-one-set-out model only) (FINE_TUNE schedule, seed 0, one CPU thread; `cli`:
    instead `celldyn train segment`'s own defaults through train_on_pairs,
    batch-norm statistics frozen), its levels re-tuned on them, and scored on `items` at
    the median object diameter of their annotations."""
    import torch

    from celldyn.segment.classical import normalize_frame
    from celldyn.segment.deep import DeepSegmenter, load_segmenter
    from celldyn.segment.deep.datasets import median_diameter
    from celldyn.segment.deep.train import (
        Sample,
        TrainConfig,
        train_segmenter,
        tune_thresholds,
    )

    ft_items, why = (_loso_ft_images(set_name) if loso and not spare else
                     _gen_ft_images(_gen_sets()[set_name], [it.name for it in items]))
    if why:
        return {"not_possible": why, "items": [], "names": [it.name for it in items]}
    torch.set_num_threads(1)
    shipped = _loso_segmenter(set_name) if loso else load_segmenter("generalist2d")
    if shipped is None:
        return {**_no_loso_model(set_name), "items": [], "names": [it.name for it in items]}
    diams = [median_diameter(it.labels) for it in ft_items]
    d_ft = float(np.median([d for d in diams if d]))
    tune_s = [Sample(img, it.labels, zoom=shipped.target_diameter / (d or d_ft),
                     weight=1.0, name=it.name, ignore_unannotated=it.partial)
              for it, d in zip(ft_items, diams, strict=True)
              if (img := normalize_frame(it.image)) is not None]
    sched = FINE_TUNE if not quick else {"epochs": 1, "iters_per_epoch": 2, "lr": 5e-4}
    cfg = replace(TrainConfig.from_dict(shipped.config["training"]["config"]), **sched,
                  seed=SEED, keep_best=False)
    items = items[:2] if quick else items
    # diagnosis: the shipped model at the same diameter, before fine-tuning (separates
    # the effect of the stated size from that of the fine-tuning)
    before = [_item_counts(it, shipped.segment(it.image, diameter=d_ft)) for it in items]
    t0 = time.perf_counter()
    if cli:
        import inspect
        import tempfile

        from celldyn.segment.deep.finetune import train_on_pairs

        dflt = {k: v.default for k, v in inspect.signature(train_on_pairs).parameters.items()
                if k in ("epochs", "iters", "lr", "batch", "crop", "val_fraction")}
        with tempfile.TemporaryDirectory() as tmp:
            train_on_pairs([(it.name, it.image, it.labels) for it in ft_items],
                           Path(tmp) / "model",
                           init=(str(GEN_LOSO_DIR / _loso_set(set_name)) if loso
                                 else "generalist2d"),
                           partial=any(it.partial for it in ft_items), seed=SEED,
                           progress=False, **({"epochs": 1, "iters": 2} if quick else {}))
            ft = load_segmenter(Path(tmp) / "model")
        levels = dict(ft.thresholds)
        cfg = replace(cfg, epochs=dflt["epochs"], iters_per_epoch=dflt["iters"],
                      lr=dflt["lr"], batch=dflt["batch"], crop=dflt["crop"])
    else:
        trained = train_segmenter(tune_s, (), cfg, init=shipped.net.state_dict(),
                                  thresholds=shipped.thresholds, tune=False)
        levels, _ = tune_thresholds(trained.net, tune_s, shipped.thresholds)
        ft = DeepSegmenter(trained.net, shipped.config, levels, "generalist2d-finetuned")
    ft_sec = time.perf_counter() - t0
    t1 = time.perf_counter()
    preds = [ft.segment(it.image, diameter=d_ft) for it in items]
    sec = time.perf_counter() - t1
    groups = _gen_groups(set_name, items)
    return {"agreement": [],
            "items": [_item_counts(it, p) for it, p in zip(items, preds, strict=True)],
            "groups": groups, "severe": [_severe([preds[i] for i in g]) for g in groups],
            "diameters": [round(d_ft, 1)],
            "ms_per_mp": 1000 * sec / (sum(it.image.size for it in items) / 1e6),
            "names": [it.name for it in items],
            "finetune": {"images": [it.name for it in ft_items],
                         "objects": int(sum(np.unique(it.labels[it.labels > 0]).size
                                            for it in ft_items)),
                         "image_diameters": [None if d is None else round(d, 1)
                                             for d in diams],
                         "iterations": cfg.epochs * cfg.iters_per_epoch, "lr": cfg.lr,
                         "batch": cfg.batch, "crop": cfg.crop, "seed": cfg.seed,
                         "threads": 1, "levels": levels, "seconds": round(ft_sec, 1),
                         "recipe": "celldyn train segment defaults" if cli else "FINE_TUNE",
                         "before_items": before}}


def _gen_ft_row(r: dict, base: str = GEN_FT) -> tuple[str, dict | None, str]:
    """(method, summary or None, notes) of a cached fine-tuned result (`base`: a key
    of GEN_FT_RECIPES)."""
    if r.get("not_possible"):
        return f"deep {base}", None, r["not_possible"]
    f = r["finetune"]
    names = ", ".join(n.split(":", 1)[-1] for n in f["images"])
    lv = f["levels"]
    n = len(f["images"])
    loso, spare, _ = GEN_FT_RECIPES[base]
    where = "spare test images" if spare else "training-part images"
    base = base.replace(" spare test images", "")
    method = (f"deep {base.replace(' 5', f' {n}')} {where} "
              f"({f['iterations']} it, lr {f['lr']:g}, batch {f['batch']}, "
              f"seed {f['seed']}; images {names})")
    objs = f"{f['objects']} annotated objects; " if "objects" in f else ""
    note = (f"{objs}diameter {r['diameters'][0]:.0f} px from the fine-tuning annotations; "
            f"fine-tune and level tuning {f['seconds']:.0f} s on 1 thread (shared CPU); "
            + ("levels tuned by train_on_pairs on its held-out fifth of the images: fg "
               if f.get("recipe", "").startswith("celldyn") else
               "levels re-tuned on the same images: fg ")
            + f"{lv['fg_threshold']:g}, marker {lv['marker_threshold']:g}; "
            f"{r['ms_per_mp']:.0f} ms/MP")
    if f.get("before_items"):
        b = _summary(f["before_items"])
        who = "the leave-one-set-out model" if loso else "shipped generalist2d"
        note += (f"; {who} at the same diameter, before fine-tuning: "
                 f"AP@0.5 {b['AP@0.5']:.3f}, AP@0.75 {b['AP@0.75']:.3f}, SEG {b['SEG']:.3f}")
    return method, _summary(r["items"]), note


def _summary(item_counts: list[list[float]]) -> dict:
    c = np.asarray(item_counts, dtype=float).sum(axis=0) if item_counts else np.zeros(8)
    return {"AP@0.5": round(float(c[0] / max(1, c[:3].sum())), 4),
            "AP@0.75": round(float(c[3] / max(1, c[3:6].sum())), 4),
            "SEG": round(float(c[6] / max(1, c[7])), 4), "n_gt": int(c[7])}


def _auto_counts(res: dict, set_name: str, part: str,
                 tau: float | None = None) -> tuple[list, str]:
    """The rule of celldyn.segment.auto replayed per group from the cached outputs
    (`tau`: its agreement level; default the shipped AGREEMENT)."""
    if tau is None:
        from celldyn.segment.auto import AGREEMENT as tau
    gen = res.get("generalist2d", {}).get(set_name, {}).get(part)
    cla = res.get("watershed (triangle)", {}).get(set_name, {}).get(part)
    if gen is None or cla is None:
        return [], "missing"
    if not gen.get("agreement"):
        return [], "missing (no agreement recorded)"
    out, fell_back = [], 0
    for g, (s_gen, s_cla) in enumerate(zip(gen["severe"], cla["severe"], strict=True)):
        # celldyn.segment.auto: the generalist where it disagrees with the watershed,
        # unless its output is the more pathological one
        use_gen = gen["agreement"][g] < tau and not s_gen > s_cla
        fell_back += use_gen
        src = gen if use_gen else cla
        out.extend(src["items"][i] for i in gen["groups"][g])
    return out, f"generalist in {fell_back} of {len(gen['groups'])} groups"


def run_generalist(methods: list[str], parts: tuple[str, ...] = ("validation", "test"),
                   sets_only: list[str] | None = None, quick: bool = False) -> int:
    """Score `methods` on `parts` of every 2D set (or `sets_only`), cache them in
    GEN_JSON and rewrite the section. `quick`: the fine-tuned method only, 2 iterations,
    2 scored images per set, nothing written."""
    res = json.loads(GEN_JSON.read_text()) if GEN_JSON.exists() else {}
    sets = _gen_sets()
    for set_name, sp in sets.items():
        if sets_only and set_name not in sets_only:
            continue
        for part in parts:
            items = _gen_items(sp, part) if getattr(sp, part) else []
            if not items:
                continue
            for m in methods:
                if m in GEN_FT_METHODS and part != "test":
                    continue        # fine-tuned on spare test images: test rows only
                if quick and m != GEN_FT:
                    continue
                t0 = time.perf_counter()
                if m in GEN_FT_METHODS:
                    loso, spare, cli = GEN_FT_RECIPES[m]
                    r = _gen_finetune(items, set_name, quick, loso=loso, spare=spare,
                                      cli=cli)
                else:
                    r = _gen_method(m, items, set_name)
                print(f"{set_name} {part} {m}: "
                      f"{r.get('not_possible') or _summary(r['items'])} "
                      f"{json.dumps(r.get('finetune', ''))} "
                      f"({time.perf_counter() - t0:.0f} s)", flush=True)
                if quick:
                    continue
                # re-read before writing: several runs (one per method) may share the file
                res = json.loads(GEN_JSON.read_text()) if GEN_JSON.exists() else {}
                res.setdefault(m, {}).setdefault(set_name, {})[part] = r
                tmp = GEN_JSON.with_suffix(f".{os.getpid()}.tmp")
                tmp.write_text(json.dumps(res, indent=0))
                os.replace(tmp, GEN_JSON)
    if quick:
        return 0
    res = json.loads(GEN_JSON.read_text()) if GEN_JSON.exists() else {}
    write_generalist_section(res)
    write_generalist_card(res)
    return 0


def train_loso(set_name: str, invert_p: float = 0.0) -> int:
    """generalist2d's training command with `--exclude set_name` (one thread, so that
    two sets can train side by side on the 2-core machine); resumes from its checkpoints.
    With `invert_p` (only GEN_LOSO_INV_P): the GEN_LOSO_INV experiment's model."""
    import subprocess

    if set_name not in _gen_sets():
        print(f"--train-loso: {set_name!r} is not a 2D instance set of splits.py")
        return 2
    if invert_p not in (0.0, GEN_LOSO_INV_P):
        print(f"--invert-p: only {GEN_LOSO_INV_P} has rows of its own (the experiment's level)")
        return 2
    root = GEN_LOSO_DIRS[GEN_LOSO_INV if invert_p else GEN_LOSO]
    out = root / set_name
    ckpt = root / f"{set_name}-checkpoints"
    cmd = [str(Path(sys.executable).with_name("celldyn")), "train", "segment", "--splits",
           str(Path(__file__).with_name("splits.py")), "--out", str(out),
           "--checkpoint-dir", str(ckpt), *_shipped_training_args(), "--exclude", set_name,
           *(["--invert-p", str(invert_p)] if invert_p else [])]
    if ckpt.is_dir() and any(ckpt.iterdir()):
        cmd.append("--resume")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    print(" ".join(cmd), flush=True)
    return subprocess.call(cmd, env=env)


def _loso_training(set_name: str, method: str = GEN_LOSO) -> str:
    """Kept epoch, validation score and training minutes of a leave-one-set-out model."""
    cfg = GEN_LOSO_DIRS[method] / _loso_set(set_name) / "config.json"
    if not cfg.is_file():
        return ""
    meta = json.loads(cfg.read_text()).get("training", {})
    hist = meta.get("history", [])
    kept = meta.get("best_epoch")
    best = next((h for h in hist if h.get("epoch") == kept and "val_ap50" in h), None)
    mins = sum(h.get("seconds", 0) for h in hist) / 60
    return (f"retrained without this set: kept epoch {kept + 1 if kept is not None else '?'}"
            + (f" (validation AP@0.5 {best['val_ap50']:.3f} on the other sets)" if best else "")
            + f", {mins:.0f} min on one thread")


def _best_classical(res: dict, set_name: str) -> str | None:
    val_set = GEN_VALIDATION_OF.get(set_name, set_name)
    best, score = None, -1.0
    for m in GEN_CLASSICAL:
        r = res.get(m, {}).get(val_set, {}).get("validation")
        if r is None:
            continue
        s = _summary(r["items"])["AP@0.5"]
        if s > score + 1e-12:
            best, score = m, s
    return best


AGREEMENT_GRID = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


MIN_SIZES = (16, 32, 64, 100, 150, 200, 300)


def _validation_probes(seg):
    """(set name, items, group, probe diameter, zoom) per group of every validation part,
    each group at `seg`'s own scale probe on its middle image."""
    for name, sp in _gen_sets().items():
        items = _gen_items(sp, "validation") if sp.validation else []
        for g in _gen_groups(name, items) if items else []:
            d = seg.estimate_diameter(items[g[len(g) // 2]].image)
            yield name, items, g, d, seg.zoom_for(d)


def _drop_below(lab: np.ndarray, floor) -> np.ndarray:
    """`lab` without the objects whose area is under `floor` (a number, or one per id
    of ``np.bincount(lab.ravel())``): the post-processing's last step, replayed."""
    small = np.flatnonzero(np.bincount(lab.ravel()) < floor)
    return np.where(np.isin(lab, small[small > 0]), 0, lab)


def min_size_sweep() -> int:
    """generalist2d's ``min_size`` (pixels at the model's scale) on the validation
    parts: each group at its probe's size, objects below each level dropped (the same
    as the post-processing's filter, which runs last); cached in GEN_JSON."""
    from celldyn.segment.deep import load_segmenter

    seg = load_segmenter("generalist2d")
    per: dict[str, dict[int, list]] = {}
    for name, items, g, d, z in _validation_probes(seg):
        counts = per.setdefault(name, {m: [] for m in MIN_SIZES})
        for i in g:
            lab = seg.segment(items[i].image, diameter=d,
                              thresholds={"min_size": min(MIN_SIZES)})
            for m in MIN_SIZES:
                counts[m].append(_item_counts(items[i], _drop_below(lab, m / z**2)))
    out = {name: {str(m): _summary(c[m])["AP@0.5"] for m in MIN_SIZES}
           for name, c in per.items()}
    res = json.loads(GEN_JSON.read_text()) if GEN_JSON.exists() else {}
    res["min_size_sweep"] = out
    tmp = GEN_JSON.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(res, indent=0))
    os.replace(tmp, GEN_JSON)
    return 0


EDGE_LEVELS = (0, 16, 40, 60, 100, 150)
"""``min_size_edge`` levels (pixels at the model's scale; 150 = the interior's
``min_size``, i.e. no exemption) of :func:`edge_sweep`."""
EDGE_VAL_PER_SET = 12
"""Validation images per set for :func:`edge_sweep` (evenly spaced among those holding
an annotated object): more than the 3 of the validation rows, since the levels differ
by a few objects per set."""


def edge_sweep() -> int:
    """generalist2d's ``min_size_edge`` on the validation parts: objects touching the
    frame's border are kept from that size (model scale) while the interior keeps the
    shipped ``min_size``. Each group at the shipped probe's size (the probe itself
    never uses the exemption), segmented once at min_size 0, every level applied after
    (as the post-processing's filter, which runs last). AP@0.5 and SEG per set, cached
    in GEN_JSON; the best mean AP@0.5 is shipped (ties: the higher level, the smaller
    change)."""
    from celldyn.segment.deep import load_segmenter
    from celldyn.segment.deep.datasets import load_part
    from celldyn.segment.deep.heads.postprocess import edge_ids
    from celldyn.segment.deep.inference import _post_kwargs

    seg = load_segmenter("generalist2d")
    inner = float(seg.thresholds.get("min_size", 16))
    out: dict[str, dict[str, dict[str, float]]] = {}
    for name, sp in _gen_sets().items():
        if not sp.validation:
            continue
        items = _evenly([it for it in load_part(sp, "validation", DATA)
                         if (it.labels > 0).any()], EDGE_VAL_PER_SET)
        counts: dict[int, list] = {m: [] for m in EDGE_LEVELS}
        for g in _gen_groups(name, items) if items else []:
            d = seg.estimate_diameter(items[g[len(g) // 2]].image)
            z = seg.zoom_for(d)
            for i in g:
                lab = seg.segment(items[i].image, diameter=d,
                                  thresholds={"min_size": 0, "min_size_edge": None})
                edge = np.zeros(int(lab.max()) + 1, bool)
                edge[edge_ids(lab)] = True
                for m in EDGE_LEVELS:   # the post-processing's own pixel floors
                    kw = _post_kwargs({"min_size": inner, "min_size_edge": m}, z)
                    floor = np.maximum(1, np.where(edge, kw["min_size_edge"], kw["min_size"]))
                    counts[m].append(_item_counts(items[i], _drop_below(lab, floor)))
        if items:
            out[name] = {str(m): {k: round(v, 4) for k, v in _summary(c).items()
                                  if k in ("AP@0.5", "SEG")} | {"images": len(items)}
                         for m, c in counts.items()}
            print(name, json.dumps({m: v["AP@0.5"] for m, v in out[name].items()}), flush=True)
    res = json.loads(GEN_JSON.read_text()) if GEN_JSON.exists() else {}
    res["edge_sweep"] = {"inner_min_size": inner, "sets": out}
    tmp = GEN_JSON.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(res, indent=0))
    os.replace(tmp, GEN_JSON)
    print(edge_text(res))
    return 0


def edge_text(res: dict) -> str:
    sweep = res.get("edge_sweep")
    if not sweep:
        return ""
    sets = sweep["sets"]
    rows = []
    for m in EDGE_LEVELS:
        ap = [v[str(m)]["AP@0.5"] for v in sets.values()]
        sg = [v[str(m)]["SEG"] for v in sets.values()]
        rows.append(f"| {m} | {np.mean(ap):.4f} | {np.mean(sg):.4f} | "
                    + " | ".join(f"{v[str(m)]['AP@0.5']:.3f} / {v[str(m)]['SEG']:.3f}"
                                 for v in sets.values()) + " |")
    head = ("| min_size_edge | mean AP@0.5 | mean SEG | "
            + " | ".join(f"{k} ({v[str(EDGE_LEVELS[0])]['images']})" for k, v in sets.items())
            + " |")
    return ("generalist2d ``min_size_edge`` sweep (`--edge-sweep`, 2026-12-06; validation "
            f"parts, up to {EDGE_VAL_PER_SET} images per set (in brackets), AP@0.5 / SEG; "
            "objects touching the frame's border kept from this size, pixels at the "
            f"model's scale, the interior at min_size {sweep['inner_min_size']:.0f}; 150 = "
            "no exemption, as shipped before). Found on the E. coli colony's validation "
            "regions, where min_size 150 dropped cells cut by the region's edge (and newborn "
            "cells); the level with the best mean AP@0.5 is shipped:\n\n" + head + "\n|"
            + "---|" * (len(sets) + 3) + "\n" + "\n".join(rows) + "\n\n"
            + edge_loso_text(sweep) + "\n\n" + EDGE_ADOPTED)


def edge_loso(sweep: dict) -> list[tuple[str, int, float, float]]:
    """Per set: the level chosen on the other sets' validation parts (best mean
    AP@0.5; ties to the higher level), and the set's AP@0.5 at it and at
    ``inner_min_size`` (no exemption). Validation figures, each set unseen by its own
    choice."""
    sets = sweep["sets"]
    off = str(EDGE_LEVELS[-1])
    out = []
    for held in sets:
        others = [v for k, v in sets.items() if k != held]
        level = max(EDGE_LEVELS, key=lambda m: (round(float(np.mean(
            [v[str(m)]["AP@0.5"] for v in others])), 6), m))
        out.append((held, level, sets[held][str(level)]["AP@0.5"], sets[held][off]["AP@0.5"]))
    return out


def edge_loso_text(sweep: dict) -> str:
    loso = edge_loso(sweep)
    off = EDGE_LEVELS[-1]
    levels = sorted({lv for _, lv, _, _ in loso})
    return ("Leave one set out (each set's level chosen on the other sets' validation "
            f"parts): levels chosen {', '.join(map(str, levels))}; the held-out set's "
            f"validation AP@0.5 at that level vs {off} (no exemption): "
            + "; ".join(f"{k} {lv}: {a:.3f} vs {b:.3f}" for k, lv, a, b in loso)
            + f". Mean {np.mean([a for *_, a, _ in loso]):.4f} vs "
            f"{np.mean([b for *_, b in loso]):.4f}.")


WIDTH_ADOPTED = """Width floor (2026-12-07, session 37; `min_width_px` 4 in generalist2d's
thresholds.json, chosen on the validation parts: section 'Segmentation: a floor on object
width (slivers)', benchmarks/segmentation_width.py): objects whose widest inscribed disc
is under 4 image pixels (slivers cut off the thin tails of phase-contrast stem cells) are
dropped. The generalist rows below were re-run with it the same day, on a quieter
machine than the first re-run, whose timings were taken while peer environments were
being installed (ms/MP here are this AMD EPYC machine's; the rows of earlier runs were
an Intel Xeon's); test parts before -> after, AP@0.5 / SEG: PSC 0.634 / 0.657 -> 0.672 /
0.657, DSB2018 0.661 / 0.692 -> 0.663 / 0.688, the other sets unchanged."""


EDGE_ADOPTED = """Adopted: `min_size_edge` 60 in generalist2d's thresholds.json (the interior
keeps 150; the scale probe never uses the exemption). Order of events: a first pass of
this sweep (a scratch script, filtering at `area < level / zoom^2` where the
post-processing rounds the floor to whole pixels) picked 60; the test parts were scored
once at 60; the faithful sweep above, run after, picked 60 again, so no test figure
entered the choice. Test parts (the 'deep generalist2d' rows below; the automatic choice
replays them), before -> after,
AP@0.5 / SEG: E. coli colony 0.644 / 0.735 -> 0.661 / 0.756, stardist image 0.862 / 0.783
-> 0.881 / 0.808, SIM+ 0.896 / 0.845 -> 0.904 / 0.853, DSB2018 0.657 / 0.680 -> 0.661 / 0.692,
DAPI colony 0.871 / 0.720 -> 0.864 / 0.725; lower AP@0.5 (a cut cell kept where the
annotation has none): yeast 0.565 -> 0.500, DIC 0.500 -> 0.485, PSC 0.637 -> 0.634, mother
machine 0.100 -> 0.098 (SEG unchanged); GOWT1-02 and HeLa unchanged. Mean over the 11
sets: AP@0.5 0.700 -> 0.696, SEG 0.701 -> 0.707. The embedded demo (the colony's test
crop, 40 frames, own segmentation and tracking): SEG 0.815 -> 0.847, TRA 0.908 -> 0.927,
division F1 0.730 -> 0.699 (TP 46 -> 43, FP 7 -> 7). On the four whole tracking movies
(own segmentation, 'Tracking: own segmentation and leave-one-set-out learned tracker',
re-run the same day), celldyn LAP at x1: HeLa TRA 0.9755 -> 0.9742 (false divisions 8 ->
9; at x4 2 -> 4), PSC TRA 0.9304 -> 0.9287 (false divisions 136 -> 138), E. coli colony TRA
0.9391 -> 0.9384 (divisions unchanged at x1, x2, x4), DIC TRA 0.9741 -> 0.9711 (DET 0.9745
-> 0.9710): these movies' annotations leave many cells that are mostly outside the field
unmarked, so the kept pieces count as false detections, and a piece entering the field
can be taken for a daughter. A small, mixed change: SEG is equal or higher on every test
part, tracking scores on whole movies slightly lower; kept because the validation rule
chose it (cells cut by the field's edge are part of what a user measures, and Cellpose
and StarDist keep them too), with the cost stated. `--param 'thresholds={"min_size_edge":
150}'` restores the old behaviour."""


LEVELS_FG = (0.4, 0.5, 0.6, 0.7)
LEVELS_MARKER = (0.2, 0.3, 0.4, 0.5)
LEVELS_MIN = (64, 100, 150, 200)


def levels_sweep() -> int:
    """generalist2d's three post-processing levels jointly (fg x marker x min_size) on
    the validation parts, each group at the shipped probe's size; the network runs once
    per image, only the post-processing per combination. Cached in GEN_JSON."""
    from itertools import product

    from celldyn.segment.deep import load_segmenter
    from celldyn.segment.deep.heads.postprocess import instances_from_maps
    from celldyn.segment.deep.inference import _post_kwargs, predict_maps

    seg = load_segmenter("generalist2d")
    combos = list(product(LEVELS_FG, LEVELS_MARKER, LEVELS_MIN))
    per: dict[str, dict[tuple, list]] = {}
    for name, items, g, _d, z in _validation_probes(seg):
        counts = per.setdefault(name, {c: [] for c in combos})
        for i in g:
            prob, dist = predict_maps(seg.net, items[i].image, zoom=z)
            for c in combos:
                th = {"fg_threshold": c[0], "marker_threshold": c[1], "min_size": c[2]}
                counts[c].append(_item_counts(items[i], instances_from_maps(
                    prob, dist, **_post_kwargs(th, z))))
    out = {name: {"/".join(map(str, c)): _summary(v[c])["AP@0.5"] for c in combos}
           for name, v in per.items()}
    res = json.loads(GEN_JSON.read_text()) if GEN_JSON.exists() else {}
    res["levels_sweep"] = out
    tmp = GEN_JSON.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(res, indent=0))
    os.replace(tmp, GEN_JSON)
    means = sorted(((float(np.mean([v[k] for v in out.values()])), k)
                    for k in next(iter(out.values()))), reverse=True)
    print("best (mean validation AP@0.5, fg/marker/min_size):", means[:8])
    return 0


def levels_text(res: dict) -> str:
    sweep = res.get("levels_sweep")
    if not sweep:
        return ""
    keys = list(next(iter(sweep.values())))
    means = sorted(((float(np.mean([v[k] for v in sweep.values()])), k) for k in keys),
                   key=lambda mk: (-round(mk[0], 4), keys.index(mk[1])))
    rows = "\n".join(f"| {k} | {m:.4f} |" for m, k in means[:8])
    return ("Post-processing levels, jointly (`--levels-sweep`; validation parts, mean "
            "AP@0.5 over sets, each group at the shipped probe's size; the 8 best of "
            f"{len(keys)} combinations; ties to the first in grid order). **Not "
            "adopted, and not blind**: marker 0.4 (every one of the 8 best has it; the "
            "shipped 0.3 was tuned when the model was trained) was tried, and on the "
            "embedded demo, a test part (the E. coli colony's, whose validation part has "
            "only 17 objects and scores about 0.1 at every level), it dropped SEG 0.772 -> "
            "0.674 and TRA 0.866 -> 0.745; marker 0.3 was kept. fg 0.4 to 0.7 differ by "
            "less than 0.007 at marker 0.4 / min_size 150:\n\n"
            "| fg / marker / min_size | mean validation AP@0.5 |\n|---|---|\n" + rows)


def min_size_text(res: dict) -> str:
    sweep = res.get("min_size_sweep")
    if not sweep:
        return ""
    rows = [f"| {m} | {np.mean([v[str(m)] for v in sweep.values()]):.4f} | "
            + " | ".join(f"{v[str(m)]:.3f}" for v in sweep.values()) + " |"
            for m in MIN_SIZES]
    head = "| min_size | mean | " + " | ".join(sweep) + " |"
    return ("generalist2d ``min_size`` sweep (`--min-size-sweep`; validation parts, "
            "AP@0.5; pixels at the model's scale, where the working object is 30 px "
            "across, about 700 px in area; each group at the shipped probe's size; the "
            "best mean is shipped. A first pass with the probe at min_size 16 also "
            "picked 150: mean 0.469 at 16, 0.514 at 150):\n\n" + head + "\n|"
            + "---|" * (len(sweep) + 2) + "\n" + "\n".join(rows))


def agreement_sweep(res: dict, part: str = "validation") -> list[tuple[float, float, int]]:
    """(tau, mean AP@0.5 over the sets of `part`, sets scored) of the automatic rule
    at each agreement level: how celldyn.segment.auto.AGREEMENT is chosen (validation)."""
    out = []
    for tau in AGREEMENT_GRID:
        aps = [_summary(c)["AP@0.5"] for c, _ in (_auto_counts(res, n, part, tau)
                                                 for n in _gen_sets()) if c]
        out.append((tau, round(float(np.mean(aps)), 4) if aps else float("nan"), len(aps)))
    return out


def cli_text(res: dict) -> str:
    """Per set: the shipped model at the stated size, after FINE_TUNE, after the CLI's
    defaults (AP@0.5), from the cached rows."""
    out = []
    for n, v in res.get(GEN_CLI, {}).items():
        t = v.get("test", {})
        ft = res.get(GEN_FT, {}).get(n, {}).get("test", {})
        if not t.get("items") or not ft.get("items"):
            continue
        out.append(f"{n} ({t['finetune'].get('objects', '?')} objects) "
                   f"{_summary(t['finetune']['before_items'])['AP@0.5']:.3f} -> "
                   f"{_summary(ft['items'])['AP@0.5']:.3f} (60 it) / "
                   f"{_summary(t['items'])['AP@0.5']:.3f} (CLI)")
    if not out:
        return ""
    return ("On data the shipped model already knows, the longer fine-tuning gains little "
            "and can lose (AP@0.5 at the stated size before -> after): " + "; ".join(out)
            + ". GOWT1-02's 5 spare images annotate 5 nuclei in all, one large nucleus "
            "each: the stated size and the fine-tuning both follow that one nucleus.")


_LOSO_FT_LABELS = ((GEN_LOSO_FT, "training-part images"),
                   (GEN_LOSO_FT_SPARE, "spare test images"),
                   (GEN_LOSO_CLI, "training-part images by `celldyn train segment`"),
                   (GEN_LOSO_CLI_SPARE, "spare test images by `celldyn train segment`"))


def _loso_missing(done: Iterable[str]) -> list[str]:
    """The 2D sets without a leave-one-set-out row among `done` (a set without a test
    part, GOWT1-01, is scored through its test-only sister movie)."""
    done = set(done)
    scored_by = {_loso_set(n): n for n in _gen_sets() if _loso_set(n) != n}
    return [n for n in _gen_sets() if n not in done and scored_by.get(n) not in done]


def loso_text(res: dict) -> str:
    """The leave-one-set-out paragraph: how the rows were made and what they show."""
    done = {n: r["test"] for n, r in res.get(GEN_LOSO, {}).items()
            if "items" in r.get("test", {})}
    if not done:
        return ("Leave-one-set-out rows: none run yet (`--train-loso SET`, then "
                f"`--generalist --methods \"{GEN_LOSO}\" --parts test --sets SET`).")
    cmp = []
    for n, r in done.items():
        gen = res.get("generalist2d", {}).get(n, {}).get("test")
        lo = _summary(r["items"])
        if gen is not None:
            g = _summary(gen["items"])
            cmp.append(f"{n}: AP@0.5 {g['AP@0.5']:.3f} -> {lo['AP@0.5']:.3f}, SEG "
                       f"{g['SEG']:.3f} -> {lo['SEG']:.3f}")
    diag = []
    for n in done:
        r = res.get(GEN_LOSO + GEN_TRAIN_DIAMETER, {}).get(n, {}).get("test", {})
        if "items" in r:
            diag.append(f"{n} {_summary(r['items'])['AP@0.5']:.3f}")
    diag_text = ("" if not diag else
                 " At the object size stated (the median diameter of the set's training "
                 "part instead of the scale probe; a diagnosis row): " + ", ".join(diag)
                 + ".")
    ft = []
    for n in done:
        for m, src in _LOSO_FT_LABELS:
            r = res.get(m, {}).get(n, {}).get("test", {})
            if r.get("items"):
                f = r["finetune"]
                before = _summary(f["before_items"])["AP@0.5"]
                after = _summary(r["items"])
                ft.append(f"{n} on {len(f['images'])} {src} ({f.get('objects', '?')} "
                          f"objects, {f['iterations']} iterations) {before:.3f} -> "
                          f"{after['AP@0.5']:.3f} (SEG {after['SEG']:.3f})")
    ft_text = ("" if not ft else
               f" Fine-tuned on up to {GEN_FT_N} annotated images (rows 'leave-one-set-out "
               "fine-tuned on 5' and '+ celldyn train segment defaults on 5'), AP@0.5 of the "
               "test part at the stated size before -> after: " + "; ".join(ft) + ".")
    missing = _loso_missing(done)
    missing_text = (f" Not run for {len(missing)} sets (each retraining is 70-125 minutes "
                    f"of one CPU thread here, two at a time): {', '.join(missing)}."
                    if missing else " Every 2D set with a test part has its row.")
    return f"""Leave-one-set-out rows (`deep {GEN_LOSO}`; `nice python
benchmarks/segmentation.py --train-loso SET`, then `--generalist --methods "{GEN_LOSO}"
--parts test --sets SET`): generalist2d retrained by run 1 of its shipped commands (CARD.md:
from nuclei2d, 30 epochs x 300 batches, seed 0; run 2, the 30 further epochs, is not
repeated) with `--exclude SET`, so that neither SET's
training nor its validation part is seen; the kept epoch is chosen on the other sets'
validation parts; min_size is the shipped {GEN_SHIPPED_MIN_SIZE} px (chosen on validation
parts that included SET's: stated, a small leak), the other levels those its own training
tuned. These rows were scored before 2026-12-06, without the shipped model's
`min_size_edge` (60 px for objects touching the frame's border, added then; the retrained
models are not kept on this machine, so they were not re-scored): the shipped rows they
are compared with have it. Scored on the same test images with the same scale probe. This is the figure for a
lab whose kind of data the generalist never saw. Shipped generalist -> retrained without
the set (test part): {"; ".join(cmp)} (the shipped figures are run 2's; run 1's were
DIC-C2DH-HeLa-01 0.500, PhC-C2DL-EcoliColony-vanVliet-01 0.693, Fluo-N2DL-HeLa-01 0.969).{diag_text} Where the retrained figure falls far
below the shipped one, the shipped generalist's test score on that set comes from having
seen that kind of data in training, not from generalising to it: a lab whose modality is
not among the training sets should expect the retrained figure, and fine-tune on a few
annotated frames (`celldyn train segment --init generalist2d`, `celldyn annotate-next`).{ft_text}
nuclei2d, the initialisation, was trained on
{", ".join(NUCLEI2D_TRAINED)} only: the leave-one-set-out
models of those sets (GOWT1-02's row: without GOWT1-01) start from weights that saw the
set, so their rows are not blind (an upper bound).{missing_text}"""


def inv_text(res: dict) -> str:
    """The contrast-inversion experiment: leave-one-set-out models trained with half of
    their crops inverted, against the plain leave-one-set-out models, same test images."""
    done = {n: r["test"] for n, r in res.get(GEN_LOSO_INV, {}).items()
            if "items" in r.get("test", {})}
    if not done:
        return (f"Contrast inversion in training (rows `deep {GEN_LOSO_INV}`): none run "
                f"yet (`--train-loso SET --invert-p {GEN_LOSO_INV_P}`, then `--generalist "
                f"--methods \"{GEN_LOSO_INV}\" --parts test --sets SET`).")
    cmp, gains = [], []
    for n, r in done.items():
        inv = _summary(r["items"])
        plain = res.get(GEN_LOSO, {}).get(n, {}).get("test", {})
        p = _summary(plain["items"]) if "items" in plain else None
        cmp.append(f"{n}: AP@0.5 " + (f"{p['AP@0.5']:.3f} -> " if p else "")
                   + f"{inv['AP@0.5']:.3f}, SEG " + (f"{p['SEG']:.3f} -> " if p else "")
                   + f"{inv['SEG']:.3f} (plain: {plain.get('training', '?')}; inverted: "
                   + f"{r.get('training', '')})")
        if p:
            gains.append(inv["AP@0.5"] - p["AP@0.5"])
        for suffix, what in ((GEN_TRAIN_DIAMETER, "at the training part's diameter"),):
            a = res.get(GEN_LOSO + suffix, {}).get(n, {}).get("test", {})
            b = res.get(GEN_LOSO_INV + suffix, {}).get(n, {}).get("test", {})
            if "items" in a and "items" in b:
                cmp.append(f"{n} {what}: AP@0.5 {_summary(a['items'])['AP@0.5']:.3f} -> "
                           f"{_summary(b['items'])['AP@0.5']:.3f}")
    verdict = ("No gain worth the name (AP@0.5 up by less than 0.05 on every set tried): "
               "polarity alone is not what keeps the model from a kind of data it never "
               "saw, so inversion is not adopted and no further set was retrained with it "
               "(each retraining is over an hour of one CPU thread)." if gains and max(gains) < 0.05 else
               "")
    return f"""Contrast inversion in training (rows `deep {GEN_LOSO_INV}`; an experiment,
`--train-loso SET --invert-p {GEN_LOSO_INV_P}`, then `--generalist --methods
"{GEN_LOSO_INV}" --parts test --sets SET`): the leave-one-set-out recipe above with half
of the training crops contrast-inverted (`celldyn train segment --invert-p`,
`AugmentConfig.invert_p`), so that dark objects on a bright background and bright ones
on a dark background are one task. The question: does a model that cannot lean on
polarity segment a kind of data it never saw? Phase-contrast bacteria are dark on a bright
background, and the fluorescent colony and nuclei the generalist trains on are the
reverse. Scored on the same test images, with the scale probe and the shipped min_size,
as the plain leave-one-set-out rows (which were scored without `min_size_edge`; these
models have none either). Plain -> inverted in training: {"; ".join(cmp)}. {verdict} The
shipped generalist is trained without inversion."""


# the sets nuclei2d (the generalist's initialisation) was trained on
NUCLEI2D_TRAINED = ("Fluo-N2DH-GOWT1-01", "Fluo-N2DH-SIM+-01", "nuclei-seg-stardist")
NUCLEI_SETS = (*NUCLEI2D_TRAINED, "Fluo-N2DL-HeLa-01", "seg-DSB2018-stage1-train-subset")


def _default_model_text(res: dict) -> str:
    """Which shipped model `--segmenter deep` runs without `--model`: the validation
    parts' mean AP@0.5 of nuclei2d and generalist2d, over every set both were scored on
    and over the nuclei sets."""
    ap = {n: [_summary(res[m][n]["validation"]["items"])["AP@0.5"] for m in GEN_MODELS]
          for n in _gen_sets()
          if all("validation" in res.get(m, {}).get(n, {}) for m in GEN_MODELS)}
    if not ap:
        return ("Default model of `--segmenter deep`: not compared yet (`--generalist "
                "--methods nuclei2d --parts validation`).")
    nuc = [v for n, v in ap.items() if n in NUCLEI_SETS]
    (a_all, b_all), k = np.mean(list(ap.values()), axis=0), len(ap)
    (a_nuc, b_nuc), kn = np.mean(nuc, axis=0), len(nuc)
    better = sum(b > a for a, b in ap.values())
    worse = sum(b < a for a, b in ap.values())
    return f"""Default model of `--segmenter deep` (2026-12-05, session 17): generalist2d
(was nuclei2d), chosen on the validation parts only (rows 'deep nuclei2d' of the
validation table, added for this): mean AP@0.5 over the {k} sets scored with both
{a_all:.3f} (nuclei2d) vs {b_all:.3f} (generalist2d); generalist2d higher on {better}, lower
on {worse}; on the {kn} nuclei sets {a_nuc:.3f} vs {b_nuc:.3f}. `--segmenter auto` already
compared with generalist2d; `--model nuclei2d` keeps the older model. A 3D movie gets
nuclei3d, the one shipped 3D instance model (`celldyn.segment.api.default_model`)."""


def write_generalist_section(res: dict) -> None:
    from _results import write_section

    sets = _gen_sets()
    lines = {"validation": [], "test": []}
    for part in ("validation", "test"):
        for set_name in sets:
            rows = []
            best = _best_classical(res, set_name)
            if best and set_name in res.get(best, {}) and part in res[best][set_name]:
                s = _summary(res[best][set_name][part]["items"])
                rows.append((f"best classical: {best}", s, ""))
            for m in (*GEN_MODELS, *(g + GEN_TRAIN_DIAMETER for g in GEN_MODELS)):
                r = res.get(m, {}).get(set_name, {}).get(part)
                if r is not None:
                    d = [x for x in r["diameters"] if x is not None]
                    dtxt = (f"diameter {d[0]:.0f} px from the training part"
                            if m.endswith(GEN_TRAIN_DIAMETER) and d else
                            f"probe {d[0]:.0f} px" if len(d) == 1 else
                            f"probe per image, median {np.median(d):.0f} px" if d else
                            "probe found nothing")
                    rows.append((f"deep {m}", _summary(r["items"]),
                                 f"{dtxt}; {r['ms_per_mp']:.0f} ms/MP"))
            for loso in GEN_LOSO_DIRS:
                lo = res.get(loso, {}).get(set_name, {}).get(part)
                if lo is not None and "items" in lo:
                    d = [x for x in lo["diameters"] if x is not None]
                    dtxt = (f"probe {d[0]:.0f} px" if len(d) == 1 else
                            f"probe per image, median {np.median(d):.0f} px" if d else
                            "probe found nothing")
                    rows.append((f"deep {loso}", _summary(lo["items"]),
                                 f"{lo.get('training', '')}; {dtxt}; "
                                 f"{lo['ms_per_mp']:.0f} ms/MP"))
                lo = res.get(loso + GEN_TRAIN_DIAMETER, {}).get(set_name, {}).get(part)
                if lo is not None and "items" in lo:
                    d = [x for x in lo["diameters"] if x is not None]
                    rows.append((f"deep {loso + GEN_TRAIN_DIAMETER} (diagnosis)",
                                 _summary(lo["items"]),
                                 (f"diameter {d[0]:.0f} px from the training part" if d
                                  else "no diameter") + f"; {lo['ms_per_mp']:.0f} ms/MP"))
            for peer, timed in ((CP_GEN_METHOD, " (model.eval)"), (SD_GEN_METHOD, "")):
                pr = res.get(peer, {}).get(set_name, {}).get(part)
                if pr is not None:
                    d = pr["diameters"][0]
                    dtxt = "no diameter" if d is None else f"diameter {d:.0f} px"
                    rows.append((f"peer {peer}", _summary(pr["items"]),
                                 f"{dtxt} from the training part (stated; no size model); "
                                 f"{pr['ms_per_mp']:.0f} ms/MP{timed}"))
            auto, how = _auto_counts(res, set_name, part)
            if auto:
                rows.append(("automatic choice", _summary(auto), how))
            for base in GEN_FT_METHODS:
                ft = res.get(base, {}).get(set_name, {}).get(part)
                if ft is not None and (base == GEN_FT or "items" in ft and ft["items"]):
                    rows.append(_gen_ft_row(ft, base))
            for method, s, note in rows:
                lines[part].append(
                    f"| {set_name} | {method} | {s['AP@0.5']:.3f} | {s['AP@0.75']:.3f} | "
                    f"{s['SEG']:.3f} | {s['n_gt']} | {note} |" if s else
                    f"| {set_name} | {method} | - | - | - | - | {note} |")
    head = ("| set | method | AP@0.5 | AP@0.75 | SEG | GT objects | notes |\n"
            "|---|---|---|---|---|---|---|")
    body = f"""Command: `nice python benchmarks/segmentation.py --generalist` (splits:
benchmarks/splits.py; per-method outputs cached in segmentation_generalist.json).
Every 2D instance set of ../shared/data; test parts subsampled evenly to at most
{GEN_TEST_PER_SET} images per set (DSB2018: {GEN_TEST_DSB}), the same images for every method,
because the shared 2-core machine could not run the deep models on all of them in time.
**Test parts were never trained on, and no
level was tuned on them**: the best classical variant per set is picked on the validation
part (GOWT1-02: GOWT1-01's) and the generalist's thresholds were tuned on validation parts.
The automatic rule (celldyn.segment.auto) is "the watershed where it agrees with the
generalist on the middle frame (F1 of matched objects at IoU 0.5 >= AGREEMENT), the
generalist elsewhere unless its output is the more pathological one". Its history is
not blind: two earlier rules ("generalist first", then "watershed first, generalist as
fallback") were dropped after test rows of the earlier, undertrained generalist had been
seen. The agreement level itself was chosen on the validation parts only (sweep below:
mean validation AP@0.5 over sets; ties go to the lower level). The automatic row replays
the rule with the plain watershed (no --dark-objects).

Agreement level sweep (validation parts, the rule replayed per group):

| AGREEMENT | mean validation AP@0.5 | sets |
|---|---|---|
{chr(10).join(f"| {t} | {m:.4f} | {n} |" for t, m, n in agreement_sweep(res))}

{min_size_text(res)}

{edge_text(res)}

{WIDTH_ADOPTED}

{levels_text(res)}

Run 2 of the generalist (2026-12-04, session 14; CARD.md "Commands and seeds"): the
shipped weights trained 30 more epochs x 300 batches from themselves (lr 0.001, new warm
restart of the cosine schedule, seed 1 for new crops; 72 CPU-minutes, kept epoch 25 of
30 on the training run's own validation score, mean AP@0.5/0.75 0.580 -> 0.672), same
post-processing levels (fg 0.6, marker 0.3, min_size 150: not re-tuned). Adopted on the
validation parts of this benchmark: mean AP@0.5 over the 11 sets 0.635 -> 0.735 (GOWT1-01
0.25 -> 1.00, DIC 0.89 -> 1.00, E. coli 0.10 -> 0.20, mother machine 0.25 -> 0.40, SIM+
0.89 -> 0.92, PSC 0.67 -> 0.59, the rest within 0.04). Then scored once on the test
parts (before -> after, AP@0.5): mean 0.676 -> 0.690; yeast 0.360 -> 0.565, HeLa 0.969 ->
0.985, DIC 0.500 -> 0.516, SIM+ 0.889 -> 0.896, DSB2018 0.649 -> 0.651; lower: E. coli
0.693 -> 0.644 (SEG 0.728 -> 0.735), DAPI colony 0.903 -> 0.884, stardist 0.831 -> 0.817,
PSC 0.647 -> 0.636 (AP@0.75 0.202 -> 0.234); GOWT1-02 and the mother machine unchanged
(1.000, 0.000). Targets still missed after run 2: E. coli SEG 0.735 (0.80), whole cells
AP@0.5 0.52 (DIC) / 0.64 (PSC) (0.70), DSB2018 0.651 (0.85), the mother machine. The
'generalist2d fine-tuned on 5' rows were re-run with run 2's weights (run 1 -> run 2,
AP@0.5: GOWT1-02 0.817 -> 0.893, SIM+ 0.945 -> 0.923, E. coli 0.693 -> 0.649, DSB2018
0.552 -> 0.598); the generalist rows of 'Active learning' and 'Denoising' were measured
with run 1's weights and were not re-run ('Segmentation: object size probe' was re-run
with run 2's on 2026-12-05; the leave-one-set-out rows are models of their own).

Probe width guard (2026-12-05, session 15; `probe_zooms_for` in
celldyn.segment.deep.registry): the scale probe no longer runs a zoom at which its crop's
short side, zoomed, is narrower than the working diameter (30 px): the network cannot see
one object of its working size across such a strip, and what it returns there is not a
size. **Not blind**: written after the mother machine's *test* image (845 x 47 px: probe
105 px for 16 px cells, AP@0.5 0.000) had been seen, so that set's test row is no longer
held out: 0.000 -> 0.100 (probe 24 px). The model itself fails on that trench at every
size (AP@0.5 at most 0.10 over stated diameters of 11-120 px, a diagnosis on the test
image): its training part holds 10 cells. Only frames narrower than 120 px are affected:
the validation parts of yeast (81 px) and the mother machine (51 px), re-scored with the
guard, gave the same probe sizes and scores (1.000 and 0.400), and yeast's test part
(117 px wide), scored once after the change, is unchanged (0.565). The peer counts below
include the mother machine's row, which is not held out.

Probe range (2026-12-06, session 25; generalist2d's config.json, `probe_crop` and
`probe_low_zoom_ok` in celldyn.segment.deep.registry): zoomed by 1/4 to 2, the probe
could not bring objects under about 15 px or over about 120 px to the network's working
size; the DSB2018 *validation* part showed small fluorescent nuclei (8-10 px) probed at
77-99 px (AP@0.5 0 on those images), and training images of DIC HeLa scaled to cells of
180-270 px were probed at 54-141 px (a scratch check). Zooms 2.83 and 4 (the network seeing at most 768
px a side, zoom 2 included: the probe takes 1.7-1.9 s on a 1024 px frame, nuclei2d's
7-zoom probe 1.2-1.3 s in the same run, 'Segmentation speed') and 1/8 and 1/5.7 (on
a crop grown so that it sees at least 128 px, run only where the frame gives it 64 px;
one such outer zoom alone may be the plateau only where it found at least 8 objects, as
the zoom-4 pass alone cut two empty yeast validation traps into specks) were chosen on
training and validation rows ('Segmentation: object size probe': median
size error over sets 0.125 -> 0.092 and share off by more than 2x 0.14 -> 0.06 on
training rows; DSB2018 validation AP@0.5 0.609 -> 0.646 over its 52 images, though two
single validation images of a few cells dropped, yeast 1.0 -> 0.6 and the DAPI colony
0.642 -> 0.612). Test parts, scored once after (their objects are all 13-95 px, inside
the old range, so they show the cost on ordinary sizes, not the range added): stardist
0.817 -> 0.862, DSB2018 0.651 -> 0.657, PSC 0.636 -> 0.637, HeLa 0.985 -> 0.969, DIC
0.516 -> 0.500, DAPI colony 0.884 -> 0.871; GOWT1-02, SIM+, E. coli, yeast and the
mother machine unchanged (yeast's row is not held out: the 8-object guard first applied
to every zoom and dropped it to 0.214, then was narrowed to the outer zooms; and a first
variant's test rows, zooms up to 4 at 1024 px without the low zooms, had been scored
before the final rule, which was not chosen on them). The
generalist rows above were re-run for the sets whose probe moved; the leave-one-set-out
models keep the 7 zooms of their own config. Held out, on the test images rescaled
by 0.5 and 2.5 ('Segmentation: object size probe', `--range-test`): at half size
AP@0.5 PSC 0.006 -> 0.571, DSB2018 0.483 -> 0.650, DAPI colony 0.000 -> 0.875,
stardist 0.771 -> 0.831, HeLa 0.950 -> 0.983, yeast 0.450 -> 0.225; at 2.5x no gain,
and PSC 0.656 -> 0.000 (texture taken for 6 px objects). On this section's validation subsample
the change lowers generalist2d's mean (next paragraph: 0.735 -> 0.695), from the two
single images above (yeast: 4 cells).

{_default_model_text(res)}

Outcome with run 1 (AGREEMENT = 0.9, chosen on the validation sweep above). The
shipped generalist2d (30 epochs x 300 batches, 83 CPU-minutes; 512 px probe crop) on
the held-out test parts, since 2026-12-04 with two post-hoc changes both chosen on
validation parts only (the probe's tie-break, "Segmentation: object size probe", and
min_size 150 px at the model's scale, mean validation AP@0.5 0.469 -> 0.514 over
min_size 16-300): the automatic choice is at least 0.10 AP@0.5 above the best classical
method on stardist nuclei, HeLa nuclei, DIC HeLa, PSC, the phase-contrast E. coli colony,
DSB2018, yeast and the DAPI colony, and equal to it on GOWT1-02 and SIM+ (where the
watershed agrees with the generalist and runs); it still fails on the mother machine
(0.000). The two changes moved the generalist's test AP@0.5: PSC 0.444 -> 0.647,
yeast 0.018 -> 0.360, DSB2018 0.589 -> 0.649, DAPI colony 0.850 -> 0.903, E. coli
0.660 -> 0.693 (but SEG 0.745 -> 0.728; the 40-frame demo SEG 0.804 -> 0.772), DIC
0.471 -> 0.500, stardist 0.806 -> 0.831, GOWT1-02 0.983 -> 1.000; HeLa and SIM+
unchanged. Issue targets still missed: phase-contrast E. coli SEG 0.728 on these 8 test
frames (target 0.80), whole cells AP@0.5 0.50 (DIC) and 0.65 (PSC) (target 0.70),
DSB2018 0.649 (target 0.85), the mother machine. **Not blind**: the probe crop was
raised from 256 to 512 px after the probe's failures had been seen on validation parts
(PSC 6 px, DAPI colony 76 px for 15-17 px objects) *and* on the GOWT1-02 test part (7 px
for 61 px nuclei), so the test rows of sets whose probe changed are not strictly held
out.
AP@τ = TP / (TP + FP + FN), counts summed over
a part's images; partial annotations (GOWT1, Fluo-N2DL-HeLa) ignore predictions that
overlap no annotated nucleus. SEG: CTC SEG, the mean Jaccard over ground-truth objects.
Deep models estimate the object size with their scale probe (once per movie for CTC
movies, once per image for still-image sets); ms/MP is wall time per megapixel of input
on the shared 2-core machine under load from other jobs, including the probe (a rough
figure, not a speed benchmark).

{loso_text(res)}

{inv_text(res)}

{_cp_gen_text(res)}

{_sd_gen_text(res)}

Fine-tuned rows (`--methods "{GEN_FT}" --parts test`): the shipped generalist2d
fine-tuned on up to {GEN_FT_N} annotated images of the set's *test* part that are **not among
the scored images** (evenly spaced among the remaining test images that hold an annotated
object; training and validation parts are not used), with the nuclei2d fine-tuning recipe
(FINE_TUNE: {FINE_TUNE['epochs'] * FINE_TUNE['iters_per_epoch']} iterations, lr {FINE_TUNE['lr']:g}, the generalist's batch and crop, batch-norm
statistics frozen, seed {SEED}, one CPU thread), each image at its own annotated median
diameter; the post-processing levels are re-tuned on the same images. It is scored on
the same subsampled test images as the other rows, at one stated object size: the
median of the fine-tuning images' median diameters (no scale probe). The notes give the
shipped generalist at that same size before fine-tuning, which separates the effect of
the stated size from that of the fine-tuning. Sets whose test part has fewer than
{GEN_FT_MIN} spare annotated images get no row figures (the reason is given). GOWT1-02's
annotation is partial: most of its SEG frames annotate a single (large) nucleus, so the
size taken from such frames is not the typical nucleus size. Rows '{GEN_CLI}' (added
2026-12-05, after the rows below had shown the recipe's weight): the shipped model
fine-tuned on the same spare images by what a user runs, `celldyn train segment --images
--masks --init generalist2d` at its defaults (described below), scored the same way.
{cli_text(res)}

Leave-one-set-out fine-tuned rows (`--methods "{GEN_LOSO_FT}" --parts test --sets SET`,
added 2026-12-05): the same recipe from the set's leave-one-set-out model instead of the
shipped one, on up to {GEN_FT_N} images of the set's *training* part (evenly spaced among
those holding an annotated object; the retrained model never saw them, and the test part
is scored whole as in the other rows): **a lab whose kind of data the generalist never
saw, after annotating {GEN_FT_N} frames of its own** (the recipe was fixed before;
nothing was tuned on these rows). Where the set has spare test images, a second row
(`--methods "{GEN_LOSO_FT_SPARE}"`) fine-tunes the same model on exactly the shipped
fine-tuned row's images instead. Which frames are annotated matters: the E. coli
colony's training part lies outside the test crop and holds few cells in its 5
evenly spaced images, the spare test images are other frames of the scored crop itself
(both rows were run and both are shown; the spare-image row was run first). The rows
name the images and their number of annotated objects. The rows '+ celldyn train segment
defaults' fine-tune the same model on the same images by what a user runs,
`celldyn train segment --images --masks --init MODEL` at its defaults
(celldyn.segment.deep.finetune.train_on_pairs: 10 epochs x 50 iterations, lr 0.002, 96
px crops, a fifth of the images held out to keep the best epoch and tune the levels),
about 8x the iterations of FINE_TUNE, whose 60 iterations were chosen on validation
frames for nuclei2d on data it knew. Added after the FINE_TUNE rows had been seen.

### Test parts (held out)

{head}
{chr(10).join(lines['test'])}

### Validation parts (at most {GEN_VAL_PER_SET} images per set; used for the rule)

{head}
{chr(10).join(lines['validation'])}
"""
    write_section("Segmentation: generalist and automatic choice (benchmarks/segmentation.py "
                  "--generalist)", body, packages=("torch", "scikit-image", "numpy"))


def _card_loso(res: dict) -> str:
    """The card's leave-one-set-out limit: the figures where they were run."""
    done = []
    for n, r in res.get(GEN_LOSO, {}).items():
        gen = res.get("generalist2d", {}).get(n, {}).get("test")
        if "items" in r.get("test", {}) and gen is not None:
            g, lo = _summary(gen["items"]), _summary(r["test"]["items"])
            done.append(f"{n} AP@0.5 {g['AP@0.5']:.3f} -> {lo['AP@0.5']:.3f}" + (
                " (not blind: its initialisation, nuclei2d, saw "
                f"{_loso_set(n)})" if _loso_set(n) in NUCLEI2D_TRAINED else ""))
    ft = []
    for m, src in ((GEN_LOSO_CLI, "its training part"),
                   (GEN_LOSO_CLI_SPARE, "its test part, not among those scored")):
        for n, r in res.get(m, {}).items():
            t = r.get("test", {})
            if t.get("items"):
                f = t["finetune"]
                ft.append(f"{n}'s retrained model fine-tuned by `celldyn train segment "
                          f"--init` at its defaults on {len(f['images'])} annotated "
                          f"image{'s' if len(f['images']) > 1 else ''} of {src} ({f.get('objects', '?')} objects, "
                          f"{f['iterations']} iterations), AP@0.5 at their stated size "
                          f"{_summary(f['before_items'])['AP@0.5']:.3f} -> "
                          f"{_summary(t['items'])['AP@0.5']:.3f}")
    head = ("The test rows are held-out parts of sets whose other parts were trained on, "
            "so a new lab's data may score lower.")
    if not done:
        return head + " No leave-one-set-out retraining was run."
    return ("The test rows are held-out parts of sets whose other parts were trained on. "
            "**A kind of data the model never saw can score far lower**: retrained without "
            "the set (leave one set out, run 1's command, scored on that set's test part; "
            "RESULTS.md): " + "; ".join(done) + "."
            + (f" Not retrained (70-125 CPU-minutes each): {', '.join(missing)}."
               if (missing := _loso_missing(
                   n for n, r in res.get(GEN_LOSO, {}).items() if "items" in r.get("test", {})))
               else "")
            + " Fine-tune on a few annotated frames of your own data"
            + (": " + "; ".join(ft) + "." if ft else "."))


def _card_stage(tr: dict) -> str:
    """One training run of the card: command, seed, schedule, kept epoch, epoch table."""
    hist = "\n".join(
        f"| {int(h['epoch']) + 1} | {h['loss']:.4f} | {h.get('val_ap50', float('nan')):.3f} | "
        f"{h.get('val_ap75', float('nan')):.3f} | {h['seconds']:.0f} |" for h in tr["history"])
    kept = None if tr.get("best_epoch") is None else tr["best_epoch"] + 1
    stop = (f"; stopped after epoch {tr['stop_after']} (`--stop-after`, same weights as the "
            "full run at that epoch)" if tr.get("stop_after") else "")
    return f"""```
{tr['command']}
```
seed {tr['seed']}; {tr['epochs']} epochs x {tr['iters_per_epoch']} iterations, batch
{tr['batch']}, {tr['crop']} px crops, AdamW (lr {tr['config'].get('lr', 'default')}) with
cosine decay over the {tr['epochs']} epochs{stop}; kept epoch: {kept} (best mean validation
AP@0.5/0.75, scored every {tr['config'].get('val_every', 1)} epochs). {tr['seconds'] / 60:.0f}
minutes on one thread of the shared 2-core CPU machine (other jobs running).

| epoch | loss | validation AP@0.5 | AP@0.75 | seconds |
|---|---|---|---|---|
{hist}
"""


def _card_training(tr: dict) -> str:
    """The card's "Command and seed" section: one run, or the first run and the run
    that continued it (``training["previous"]``: the record of the weights it started
    from)."""
    common = ("`CHECKPOINTS` is any folder for the per-epoch checkpoints; `--resume` "
              "continues an interrupted run from them with the same weights as an "
              "uninterrupted one (tests/segment/test_train_splits.py). Seeds: "
              "`torch.manual_seed`, crops from `numpy.random.default_rng((seed, epoch))`, "
              "`torch.use_deterministic_algorithms(True)`.\n\n")
    prev = tr.get("previous")
    if not prev:
        return "## Command and seed\n" + common + _card_stage(tr)
    return ("## Commands and seeds (two runs)\n" + common
            + "**Run 1** (from `nuclei2d`):\n" + _card_stage(prev)
            + "\n**Run 2** (continues run 1's weights, the `generalist2d` folder it wrote, "
              "with a new warm restart of the learning rate and new crops; the kept "
              "epoch is chosen on the same validation parts):\n" + _card_stage(tr))


def _unsure_row(cfg: dict) -> str:
    """The card's row on `uncertainty_warn` (set by benchmarks/uncertainty.py, whose
    section gives the figures quoted)."""
    if "uncertainty_warn" not in cfg:
        return ""
    return (f"\n| unsure warning | `uncertainty_warn` {cfg['uncertainty_warn']} (config.json): "
            "`--segmenter auto` warns where the frame's class uncertainty (mean of 1 - the "
            "top class probability) exceeds it; the smallest 0.01 step above all 64 "
            "validation images; held out it flags 2 of 26 test images (DIC HeLa 0.19, the "
            "DAPI colony 0.18) and 20 of 20 EM sections (benchmarks/uncertainty.py) |")


def write_generalist_card(res: dict, folder: Path | None = None) -> None:
    """CARD.md of the shipped generalist from its config.json and the cached test rows."""
    folder = folder or Path(__file__).resolve().parents[1] / "src" / "celldyn" / "models" \
        / "generalist2d"
    if not (folder / "config.json").is_file():
        return
    cfg = json.loads((folder / "config.json").read_text())
    th = json.loads((folder / "thresholds.json").read_text())
    tr = cfg["training"]
    rows = []
    for set_name in _gen_sets():
        r = res.get("generalist2d", {}).get(set_name, {}).get("test")
        best = _best_classical(res, set_name)
        b = res.get(best, {}).get(set_name, {}).get("test") if best else None
        if r is None:
            continue
        s = _summary(r["items"])
        bs = _summary(b["items"]) if b else None
        rows.append(f"| {set_name} | {len(r['items'])} | {s['AP@0.5']:.3f} | "
                    f"{s['AP@0.75']:.3f} | {s['SEG']:.3f} | "
                    + (f"{bs['AP@0.5']:.3f} / {bs['SEG']:.3f} ({best})" if bs else "-")
                    + " |")
    sha = cfg["sha256"]
    size = (folder / "weights.pt").stat().st_size / 1e6
    minutes = sum(st["seconds"] for st in (tr.get("previous"), tr) if st) / 60

    def ap(set_name: str) -> str:
        r = res.get("generalist2d", {}).get(set_name, {}).get("test")
        return f"{_summary(r['items'])['AP@0.5']:.2f}" if r else "not scored"

    text = f"""# Model card: `generalist2d` (deep 2D instance segmentation: nuclei, bacteria, whole cells)

One 2D model for fluorescent / brightfield / H&E nuclei, phase-contrast and fluorescent
bacteria, yeast in brightfield and whole cells in DIC and phase contrast. Loaded with
`celldyn.segment.deep.load_segmenter("generalist2d")` or `--segmenter deep` (its default
model for 2D movies since 2026-12-05, chosen over nuclei2d on the validation parts:
benchmarks/RESULTS.md), and by the default `--segmenter auto` wherever it disagrees with the
watershed on the movie's middle frame (`celldyn.segment.auto`; the rule's level was chosen
on validation parts). Needs `celldyn[deep]` (torch). Nothing is downloaded.

| field | value |
|---|---|
| files | `weights.pt` (PyTorch state_dict, {size:.2f} MB, `weights_only=True`), `config.json`, `thresholds.json` |
| sha256 | `{sha}` (pinned in `celldyn/segment/deep/registry.py`) |
| model | 2D U-Net, 3 poolings, 16-128 channels, batch norm, 0.48 M parameters (the `nuclei2d` architecture, initialised from its weights); heads: background/interior/boundary softmax + per-object normalised distance; marker watershed (`celldyn.segment.deep.heads.postprocess`, whose docstring says why this representation) |
| input | one 2D frame (YX), any size and dtype, raw polarity (dark phase-contrast bacteria and bright nuclei alike: do not invert); normalised to its 1st-99.8th percentiles; rescaled so objects are about 30 px across; object size from the scale probe (zooms {cfg.get('probe_zooms')} on a {cfg.get('probe_crop')} px central crop{_probe_cap(cfg)}) |
| thresholds | {th} (tuned on the validation parts only) |{_unsure_row(cfg)}
| authors / licence | celldyn contributors; weights under the project licence; training data under their own terms (../shared/data/README.md: CTC terms of use, CC0, MIT, non-commercial for the CTC sets) |

## Data and split
All 2D instance sets of `../shared/data`, split in `benchmarks/splits.py` (SEGMENTATION;
by movie, frame, image or region, never overlapping). Trained on the **train** parts of:
{', '.join(tr['sets'])} ({tr['n_train_images']} images or regions; crop shares per set in
`celldyn.segment.deep.datasets.GENERALIST_WEIGHTS`); each image rescaled so its objects'
median diameter (ground truth) is 30 px. Partial annotations (GOWT1, Fluo-N2DL-HeLa): TRA
markers without a SEG mask grown by 15 px and ignored in the loss. Validation parts
({tr['n_validation_images']} images, at most 2 per set) chose the kept epoch and the
thresholds. **Test parts were never trained or tuned on**; the embedded demo (E. coli
colony rows 590-909, columns 330-649, frames 0-39) is the E. coli colony's test part.
Not used: seg-PlantSeg-3D-nuclei (3D), seg-EM-drosophila-vnc-mito (semantic EM).

{_card_training(tr)}
## Test scores (benchmarks/RESULTS.md, "Segmentation: generalist and automatic choice")
Held-out test parts, subsampled evenly (at most 8 images per set; DSB2018 12); object
size from the scale probe; best classical variant chosen on validation.

| set | images | AP@0.5 | AP@0.75 | SEG | best classical AP@0.5 / SEG |
|---|---|---|---|---|---|
{chr(10).join(rows)}

## Limits
- Fails on the mother-machine E. coli (test AP@0.5 {ap('seg-BABY-ecoli-mothermachine')},
  not held out: the probe's width guard was written after that 47 px wide test image
  was seen; the model misses its 16 px rods at every size, from 10 training cells) and
  is weak on budding yeast in brightfield
  ({ap('seg-BABY-yeast-brightfield')}). Whole cells (DIC {ap('DIC-C2DH-HeLa-01')}, PSC
  {ap('PhC-C2DL-PSC-01')}) and DSB2018 ({ap('seg-DSB2018-stage1-train-subset')}) are below
  what a larger model trained longer should reach ({minutes:.0f} CPU-minutes on one
  thread in all).
- `min_size` 150 px at the model's scale (objects under about a fifth of the working
  object's area are dropped) was chosen on the validation parts after training; it
  raised most test parts but lowered the E. coli colony's SEG (0.745 -> 0.728): newborn
  or partly visible small cells can be dropped. Since 2026-12-06 an object that touches
  the frame's border (a cell cut by the field of view) is kept from 60 px
  (`min_size_edge`, chosen on the validation parts: mean AP@0.5 0.708 -> 0.719; test
  parts scored once: mean AP@0.5 0.700 -> 0.696, mean SEG 0.701 -> 0.707, E. coli SEG
  0.735 -> 0.756; RESULTS.md). Lower both when small objects matter:
  `celldyn run MOVIE --segmenter deep --model generalist2d --param
  'thresholds={{"min_size": 16}}'` (the edge level is never above `min_size`).
- Since 2026-12-07 objects narrower than 4 image pixels (the widest disc that fits
  inside: slivers cut off thin cell tails) are dropped (`min_width_px`, chosen on the
  validation parts: mean AP@0.5 0.719 -> 0.742, no set lower; test parts scored once:
  PSC AP@0.5 0.634 -> 0.672, DSB2018 0.661 -> 0.663, the rest unchanged; RESULTS.md,
  'Segmentation: a floor on object width (slivers)'). A real object that thin (a
  filament, a 3 px wide rod) is lost: `--param 'thresholds={{"min_width_px": 0}}'`
  keeps it.
- The scale probe is the weak point: one typical object size per movie (per image for
  stills) from a central crop (512 px; smaller at its highest zooms, larger at its
  lowest); it looks for objects of about 8 to 240 px across (since 2026-12-06; before,
  about 15 to 120 px), but on held-out images rescaled to cells of 150-240 px it still
  failed, and on a blurred, upscaled phase-contrast image its highest zooms took
  texture for 6 px objects ('Segmentation: object size probe'); where it misjudges the
  size, output is poor. Give the size (`--param diameter=N`) when you know it.
- Little data for bacteria and whole cells (5 DIC frames, one PSC frame, E. coli cells
  only in late frames outside the demo crop). Fine-tune on your own annotations
  (`celldyn train segment --init generalist2d`, or `celldyn annotate-next`).
- {_card_loso(res)}
- 2D only (3D: `nuclei3d`; EM classes: `mito_em`). A non-convex cell with two thick lobes can be
  cut in two (one marker per lobe).
- The scale probe assumes one typical object size per movie (image).
"""
    (folder / "CARD.md").write_text(text)


if __name__ == "__main__":
    raise SystemExit(main())
