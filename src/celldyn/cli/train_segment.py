"""``celldyn train segment``: train a deep segmentation model, or fine-tune a shipped one.

A thin shell: reads image/mask pairs, splits off validation images, calls
:func:`celldyn.segment.deep.train.train_segmenter`, writes the model folder
(``weights.pt``, ``config.json``, ``thresholds.json``, ``CARD.md``).
"""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path
from typing import Any

import click

from ._common import _user_errors

__all__ = ["train_segment"]

_CTC_MASK = re.compile(r"^(?:man_seg|man_track|mask)(\d+)$")
_CTC_IMAGE = re.compile(r"^t(\d+)$")


def _tiffs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in (".tif", ".tiff"))


def _stem(p: Path) -> str:
    return p.name.split(".")[0]


def _pairs(images: Path, masks: Path) -> list[tuple[str, Any, Any]]:
    """(name, image, labels) pairs; CTC folders pair by frame number, others by name."""
    import numpy as np

    from ..errors import InputError
    from ..io._util import as_int32_labels
    from ..io.tiff import read_tiff_array

    img_files, mask_files = _tiffs(images), _tiffs(masks)
    if not img_files or not mask_files:
        raise InputError(f"no TIFF files in {images if not img_files else masks}")
    ctc_m = {int(m.group(1)): p for p in mask_files if (m := _CTC_MASK.match(_stem(p)))}
    ctc_i = {int(m.group(1)): p for p in img_files if (m := _CTC_IMAGE.match(_stem(p)))}
    if ctc_m and ctc_i:
        keys = sorted(set(ctc_m) & set(ctc_i))
        pairs = [(f"t{k:03d}", ctc_i[k], ctc_m[k]) for k in keys]
    else:
        by_name = {_stem(p): p for p in img_files}
        pairs = [(_stem(m), by_name[_stem(m)], m) for m in mask_files if _stem(m) in by_name]
        if not pairs and len(img_files) == len(mask_files):   # pair by sorted order
            pairs = [(_stem(i), i, m) for i, m in zip(img_files, mask_files, strict=True)]
    if not pairs:
        raise InputError(
            f"could not pair images in {images} with masks in {masks}: use the same file "
            "names, CTC names (tNNN.tif with man_segNNN.tif), or equal numbers of files")
    out = []
    for name, ip, mp in pairs:
        img = read_tiff_array(ip)
        lab = as_int32_labels(read_tiff_array(mp), name=str(mp), allow_bool=False)
        if img.shape != lab.shape:
            raise InputError(f"mask {mp} has shape {lab.shape} but image {ip} has shape "
                             f"{img.shape}; each mask must match its image")
        if not (np.issubdtype(img.dtype, np.integer) or np.issubdtype(img.dtype, np.floating)):
            raise InputError(f"image {ip} must be integer or float; got {img.dtype}")
        out.append((name, img, lab))
    return out


def _card(meta: dict[str, Any], names_train: list[str], names_val: list[str],
          history: list[dict[str, float]], thresholds: dict[str, Any]) -> str:
    last = history[-1] if history else {}
    rows = "\n".join(
        f"| {int(h['epoch'])} | {h['loss']:.4f} | {h.get('val_ap50', float('nan')):.4f} | "
        f"{h.get('val_ap75', float('nan')):.4f} |" for h in history)
    t = meta["training"]
    return f"""# Model card: `{meta['name']}` (celldyn deep segmentation)

U-Net ({meta['architecture_text']}) with a semantic head (background / interior /
boundary) and a normalised-distance head, marker-watershed post-processing
(`celldyn.segment.deep`). Axes {meta['axes']}; input normalised to its
1st-99.8th percentiles; objects rescaled to {meta['target_diameter']:.0f} px diameter
(training objects: {t['diameter_px']:.1f} px, so zoom {t['zoom']:.3f}).

## Data and split
Images `{t['images']}`, masks `{t['masks']}`.
Training: {len(names_train)} images ({', '.join(names_train[:10])}{' ...' if len(names_train) > 10 else ''}).
Validation: {len(names_val)} images ({', '.join(names_val[:10]) or 'none'}).
{'Initialised from: `' + str(t['init']) + '` (fine-tuned).' if t.get('init') else 'Trained from scratch.'}

## Command and seed
```
{t['command']}
```
seed {t['seed']}; {t['epochs']} epochs x {t['iters_per_epoch']} iterations, batch
{t['batch']}, crops {t['crop']} px, augmentation: flips, 90° rotations, rotation,
scale, elastic, intensity scale/offset, gamma, blur, Poisson-Gaussian noise.
{t['seconds']:.0f} s on CPU.

## Validation (used to tune thresholds.json: {thresholds})

| epoch | loss | AP@0.5 | AP@0.75 |
|---|---|---|---|
{rows}

Final validation AP@0.5 {last.get('val_ap50', float('nan')):.4f}. These images also
chose the thresholds: they are not a held-out test; score the model on images it has
never seen before trusting it.

## Limits
Trained only on the images above; other modalities, magnifications or object types
need their own annotations (fine-tune with `--init`).
"""


@click.command("segment")
@click.option("--images", "images", type=click.Path(exists=True, file_okay=False,
              path_type=Path), default=None,
              help="Folder of TIFF images (a CTC NN folder with tNNN.tif works).")
@click.option("--masks", "masks", type=click.Path(exists=True, file_okay=False,
              path_type=Path), default=None,
              help="Folder of instance label TIFFs (same names, or a CTC SEG folder).")
@click.option("--splits", "splits", type=click.Path(dir_okay=False, path_type=Path),
              default=None,
              help="Instead of --images/--masks: train on the train parts of every 2D "
                   "instance set in this split file's SEGMENTATION table "
                   "(benchmarks/splits.py), validate on their validation parts.")
@click.option("--data", "data", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Data folder the split file names [default: the split "
                                 "file's SHARED_DATA].")
@click.option("--exclude", "exclude", multiple=True,
              help="With --splits: leave this set out of training (leave-one-set-out).")
@click.option("--val-per-set", type=click.IntRange(1), default=6, show_default=True,
              help="With --splits: validation images per set scored each epoch.")
@click.option("--stop-after", type=click.IntRange(1), default=None,
              help="With --splits: stop after this many epochs of the --epochs schedule "
                   "(with --resume past it: just write the best checkpoint so far).")
@click.option("--continue", "continue_from", multiple=True,
              type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Instead of --images/--masks: fine-tune on the corrected crops of a "
                   "`celldyn annotate-next` folder (repeatable: every round so far), from "
                   "the model that proposed the first folder's crops [default --out: "
                   "the last FOLDER/model].")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Model folder to write.")
@click.option("--init", "init", default=None,
              help="Fine-tune this model (shipped name, e.g. nuclei2d, or a folder).")
@click.option("--epochs", type=click.IntRange(1), default=10, show_default=True)
@click.option("--iters", "iters", type=click.IntRange(1), default=50, show_default=True,
              help="Iterations (batches) per epoch.")
@click.option("--batch", type=click.IntRange(1), default=8, show_default=True)
@click.option("--crop", type=click.IntRange(16), default=96, show_default=True)
@click.option("--lr", type=float, default=2e-3, show_default=True)
@click.option("--base", type=click.IntRange(1), default=12, show_default=True,
              help="Channels of the first U-Net level (new models only).")
@click.option("--depth", type=click.IntRange(1, 5), default=3, show_default=True)
@click.option("--diameter", type=float, default=None,
              help="Typical object diameter in pixels [default: median of the masks].")
@click.option("--val-fraction", type=click.FloatRange(0, 0.9), default=0.2, show_default=True)
@click.option("--partial", is_flag=True,
              help="Masks annotate only some objects: validation ignores unmatched "
                   "predictions that overlap no annotated object.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--checkpoint-dir", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Checkpoints [default: OUT/checkpoints].")
@click.option("--resume", is_flag=True, help="Continue from the last checkpoint.")
@click.option("--progress/--no-progress", default=True, show_default=True)
@_user_errors
def train_segment(images: Path | None, masks: Path | None, splits: Path | None,
                  continue_from: tuple[Path, ...], data: Path | None,
                  exclude: tuple[str, ...], val_per_set: int,
                  stop_after: int | None, out: Path | None,
                  init: str | None, epochs: int,
                  iters: int, batch: int, crop: int, lr: float, base: int, depth: int,
                  diameter: float | None, val_fraction: float, partial: bool, seed: int,
                  checkpoint_dir: Path | None, resume: bool, progress: bool) -> None:
    """Train a deep segmentation model on images + instance masks (or fine-tune one)."""
    import numpy as np

    from ..errors import InputError

    annotated = None
    if continue_from:
        if images is not None or masks is not None or splits is not None:
            raise InputError("give either --continue or --images/--masks/--splits")
        from ..active import read_annotations

        annotated, manifest = read_annotations(continue_from)
        init = init or manifest.get("model")
        out = out or continue_from[-1] / "model"
        images = masks = continue_from[-1]
    if out is None:
        raise InputError("give --out, the model folder to write")
    if splits is not None:
        if images is not None or masks is not None:
            raise InputError("give either --splits or --images/--masks, not both")
        _train_from_splits(splits, data, exclude, val_per_set, out, init, epochs, iters,
                           batch, crop, lr, base, depth, seed, checkpoint_dir, resume,
                           progress, stop_after)
        return
    if images is None or masks is None:
        raise InputError("give --images and --masks (or --splits benchmarks/splits.py)")

    from ..errors import InputError
    from ..segment import normalize_frame
    from .._optional import require_torch

    require_torch("celldyn train segment")
    from ..segment.deep.registry import load_segmenter, save_segmenter
    from ..segment.deep.train import Sample, TrainConfig, train_segmenter

    pairs = annotated if annotated is not None else _pairs(images, masks)
    ndim = pairs[0][1].ndim
    if ndim not in (2, 3) or any(p[1].ndim != ndim for p in pairs):
        raise InputError("images must all be 2D (YX) or all 3D (ZYX) single-channel frames")
    areas = np.concatenate([np.bincount(p[2][p[2] > 0].ravel())[1:] for p in pairs])
    areas = areas[areas > 0]
    if areas.size == 0:
        raise InputError(f"the masks in {masks} hold no objects")
    if diameter is None:
        per_slice = areas / (pairs[0][2].shape[0] if ndim == 3 else 1)
        diameter = float(np.sqrt(4 * np.median(per_slice) / np.pi))
    thresholds, init_state, target = None, None, 30.0
    if init is not None:
        base_model = load_segmenter(init)
        if base_model.ndim != ndim:
            raise InputError(f"model {init} is {base_model.ndim}D but the images are {ndim}D")
        init_state = base_model.net.state_dict()
        thresholds = dict(base_model.thresholds)
        target = base_model.target_diameter
        base, depth = base_model.net.base, base_model.net.depth
    zoom = target / diameter
    n_val = round(len(pairs) * val_fraction) if len(pairs) > 1 else 0
    if len(pairs) > 1 and val_fraction > 0:
        n_val = max(1, min(n_val, len(pairs) - 1))
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(pairs))
    val_idx, train_idx = sorted(order[:n_val].tolist()), sorted(order[n_val:].tolist())

    def sample(i: int) -> Sample:
        name, img, lab = pairs[i]
        norm = normalize_frame(img)
        if norm is None:
            norm = np.zeros(img.shape, dtype=np.float32)
        return Sample(norm, lab, zoom=zoom, name=name, ignore_unannotated=partial)

    train_s = [sample(i) for i in train_idx]
    val_s = [sample(i) for i in val_idx]
    config = TrainConfig(ndim=ndim, base=base, depth=depth, crop=crop, batch=batch,
                         iters_per_epoch=iters, epochs=epochs, lr=lr, seed=seed)
    ckpt = checkpoint_dir or out / "checkpoints"

    def report(rec: dict[str, float]) -> None:
        score = (f", validation AP@0.5 {rec['val_ap50']:.3f}, AP@0.75 {rec['val_ap75']:.3f}"
                 if "val_ap50" in rec else "")
        click.echo(f"epoch {int(rec['epoch']) + 1}/{epochs}: loss {rec['loss']:.4f}{score}",
                   err=True)

    result = train_segmenter(train_s, val_s, config, init=init_state, thresholds=thresholds,
                             checkpoint_dir=ckpt, resume=resume, progress=progress,
                             on_epoch=report)
    command = "celldyn train segment " + " ".join(shlex.quote(a) for a in sys.argv[3:]) \
        if len(sys.argv) > 3 and sys.argv[1:3] == ["train", "segment"] else \
        (f"celldyn train segment --images {images} --masks {masks} --out {out} "
         f"--epochs {epochs} --iters {iters} --batch {batch} --crop {crop} --seed {seed}"
         + (f" --init {init}" if init else ""))
    meta: dict[str, Any] = {
        "name": out.name, "version": 1, "axes": "YX" if ndim == 2 else "ZYX",
        "normalization": {"method": "percentile", "low": 1.0, "high": 99.8},
        "target_diameter": target,
        "architecture_text": f"{ndim}D, base {base}, depth {depth}",
        "training": {"command": command, "images": str(images), "masks": str(masks),
                     "init": init, "seed": seed, "epochs": epochs,
                     "iters_per_epoch": iters, "batch": batch, "crop": crop,
                     "diameter_px": diameter, "zoom": zoom,
                     "train": [pairs[i][0] for i in train_idx],
                     "val": [pairs[i][0] for i in val_idx],
                     "config": config.to_dict(), "seconds": round(result.seconds, 1),
                     "history": result.history},
    }
    card = _card(meta, meta["training"]["train"], meta["training"]["val"], result.history,
                 result.thresholds)
    digest = save_segmenter(out, result.net, meta, result.thresholds, card)
    click.echo(f"wrote {out} (weights sha256 {digest[:12]}...; {len(train_idx)} training, "
               f"{len(val_idx)} validation images; {result.seconds:.0f} s)")


def _train_from_splits(splits: Path, data: Path | None, exclude: tuple[str, ...],
                       val_per_set: int, out: Path, init: str | None, epochs: int,
                       iters: int, batch: int, crop: int, lr: float, base: int, depth: int,
                       seed: int, checkpoint_dir: Path | None, resume: bool,
                       progress: bool, stop_after: int | None = None) -> None:
    """The generalist recipe: all train parts together, per-set crop shares, keep_best."""
    from ..errors import InputError
    from ..segment.deep.datasets import load_split_table, split_samples
    from ..segment.deep.registry import load_segmenter, save_segmenter
    from ..segment.deep.train import TrainConfig, train_segmenter

    table = load_split_table(splits)
    unknown = sorted(set(exclude) - set(table))
    if unknown:
        raise InputError(f"--exclude {unknown[0]!r} is not a set of {splits}")
    if data is None:
        from ..segment.deep.datasets import _split_module_data
        data = _split_module_data(splits)
    if not Path(data).is_dir():
        raise InputError(f"data folder {data} does not exist (give --data)")
    thresholds, init_state, target = None, None, 30.0
    if init is not None:
        base_model = load_segmenter(init)
        if base_model.ndim != 2:
            raise InputError(f"model {init} is {base_model.ndim}D; --splits trains 2D models")
        init_state = base_model.net.state_dict()
        thresholds = dict(base_model.thresholds)
        target = base_model.target_diameter
        base, depth = base_model.net.base, base_model.net.depth
    train_s = split_samples(table, data, "train", target_diameter=target, exclude=exclude)
    val_s = split_samples(table, data, "validation", target_diameter=target, exclude=exclude,
                          max_per_set=val_per_set)
    if not train_s:
        raise InputError(f"no training images found under {data} for {splits}")
    config = TrainConfig(ndim=2, base=base, depth=depth, crop=crop, batch=batch,
                         iters_per_epoch=iters, epochs=epochs, lr=lr, seed=seed,
                         val_every=1, keep_best=True)
    ckpt = checkpoint_dir or out / "checkpoints"

    def report(rec: dict[str, float]) -> None:
        score = (f", validation AP@0.5 {rec['val_ap50']:.3f}, AP@0.75 {rec['val_ap75']:.3f}"
                 if "val_ap50" in rec else "")
        click.echo(f"epoch {int(rec['epoch']) + 1}/{epochs}: loss {rec['loss']:.4f}{score} "
                   f"({rec['seconds']:.0f} s)", err=True)

    result = train_segmenter(train_s, val_s, config, init=init_state, thresholds=thresholds,
                             checkpoint_dir=ckpt, resume=resume, progress=progress,
                             on_epoch=report, freeze_norm=False, stop_after=stop_after)
    command = ("celldyn train segment " + " ".join(shlex.quote(a) for a in sys.argv[3:])
               if len(sys.argv) > 3 and sys.argv[1:3] == ["train", "segment"] else
               f"celldyn train segment --splits {splits} --out {out} --epochs {epochs} "
               f"--iters {iters} --batch {batch} --crop {crop} --seed {seed}"
               + (f" --init {init}" if init else "")
               + "".join(f" --exclude {e}" for e in exclude)
               + (f" --stop-after {stop_after}" if stop_after else ""))
    sets = sorted({s.name.split(":")[0] for s in train_s})
    meta: dict[str, Any] = {
        "name": out.name, "version": 1, "axes": "YX",
        # the scale probe: half-octave zooms 1/4..2 (bacteria and small nuclei need
        # zoom 2; HeLa cells 1/4) on a 256 px central crop, cheap enough per image
        "probe_zooms": [round(2.0 ** (k / 2), 4) for k in range(-4, 3)],
        "probe_crop": 256,
        "normalization": {"method": "percentile", "low": 1.0, "high": 99.8},
        "target_diameter": target,
        "architecture_text": f"2D, base {base}, depth {depth}",
        "training": {"command": command, "splits": str(splits), "sets": sets,
                     "excluded": list(exclude), "init": init, "seed": seed,
                     "epochs": epochs, "stop_after": stop_after,
                     "iters_per_epoch": iters, "batch": batch,
                     "crop": crop, "n_train_images": len(train_s),
                     "n_validation_images": len(val_s), "config": config.to_dict(),
                     "seconds": round(result.seconds, 1), "best_epoch": result.best_epoch,
                     "history": result.history},
    }
    digest = save_segmenter(out, result.net, meta, result.thresholds, None)
    click.echo(f"wrote {out} (weights sha256 {digest[:12]}...; {len(train_s)} training "
               f"images from {len(sets)} sets, {len(val_s)} validation images; best epoch "
               f"{result.best_epoch}; {result.seconds:.0f} s)")
