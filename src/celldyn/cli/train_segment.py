"""``celldyn train segment``: train a deep segmentation model, or fine-tune a shipped one.

A thin shell: reads image/mask pairs and calls
:func:`celldyn.segment.deep.finetune.train_on_pairs` (split, train, write the model
folder ``weights.pt``, ``config.json``, ``thresholds.json``, ``CARD.md``).
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


# what other tools append to a mask's name: Cellpose (X_masks.tif, X_cp_masks.png),
# CellProfiler / ilastik / QuPath exports (X_mask, X_label(s), X_seg, X_instances)
_MASK_SUFFIX = re.compile(r"(?:[_-](?:cp_)?masks?|[_-]labels?|[_-]seg|[_-]instances?)$",
                          re.IGNORECASE)


def _images(folder: Path) -> list[Path]:
    from ..io.frames import IMAGE_SUFFIXES

    return sorted(p for p in folder.iterdir()
                  if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
                  and not p.name.startswith("."))


def _stem(p: Path) -> str:
    return p.name.split(".")[0]


def _mask_key(p: Path) -> str:
    """A mask's image name: its stem less a mask suffix (``X_cp_masks`` -> ``X``)."""
    return _MASK_SUFFIX.sub("", _stem(p))


def _grey(img: Any) -> Any:
    """A colour image (Y, X, 3 or 4) as the mean of its colours, as the shipped models
    were trained and as `celldyn run` reads colour movies; other frames as they are."""
    import numpy as np

    if img.ndim == 3 and img.shape[-1] in (3, 4) and min(img.shape[:2]) > 4:
        return img[..., :3].astype(np.float32).mean(axis=-1)
    return img


def _pairs(images: Path, masks: Path) -> list[tuple[str, Any, Any]]:
    """(name, image, labels) pairs: CTC folders pair by frame number, others by name
    (a mask may carry a suffix such as ``_masks`` or ``_cp_masks``, so Cellpose's layout,
    images and masks in one folder, works); TIFF, PNG or JPEG; colour images as grey.
    Binary masks are split into their connected components (:func:`_split_binary`),
    with one warning for all of them."""
    import warnings

    import numpy as np

    from ..errors import InputError
    from ..io._util import as_int32_labels
    from ..io.frames import read_image_array as _read

    img_files, mask_files = _images(images), _images(masks)
    suffixed = [p for p in mask_files if _MASK_SUFFIX.search(_stem(p))]
    if suffixed:   # masks named after their images, with a suffix
        mask_files = suffixed
        img_files = [p for p in img_files if not _MASK_SUFFIX.search(_stem(p))]
    if not img_files or not mask_files:
        raise InputError(f"no image files (.tif, .png, .jpg) in "
                         f"{images if not img_files else masks}")
    ctc_m = {int(m.group(1)): p for p in mask_files if (m := _CTC_MASK.match(_stem(p)))}
    ctc_i = {int(m.group(1)): p for p in img_files if (m := _CTC_IMAGE.match(_stem(p)))}
    if ctc_m and ctc_i:
        keys = sorted(set(ctc_m) & set(ctc_i))
        pairs = [(f"t{k:03d}", ctc_i[k], ctc_m[k]) for k in keys]
    elif images.resolve() == masks.resolve() and not suffixed:
        raise InputError(
            f"images and masks are in one folder ({images}) but no file is named as a "
            "mask: name each mask after its image with _masks (cell1.tif, "
            "cell1_masks.tif), or put the masks in their own folder")
    else:
        by_name = {_stem(p): p for p in img_files}
        pairs = [(_mask_key(m), by_name[_mask_key(m)], m) for m in mask_files
                 if _mask_key(m) in by_name]
        if not pairs and len(img_files) == len(mask_files):   # pair by sorted order
            pairs = [(_stem(i), i, m) for i, m in zip(img_files, mask_files, strict=True)]
    if not pairs:
        raise InputError(
            f"could not pair images in {images} with masks in {masks}: use the same file "
            "names (a mask may add _masks or _cp_masks), CTC names (tNNN.tif with "
            "man_segNNN.tif), or equal numbers of files")
    out, binary = [], []
    for name, ip, mp in pairs:
        img = _grey(_read(ip))
        lab = _read(mp)
        if lab.ndim == 3 and lab.shape[-1] in (3, 4) and lab.shape[:2] == img.shape[:2]:
            if np.ptp(lab[..., :3], axis=-1).any():
                raise InputError(f"mask {mp} is a colour image: save the instance labels "
                                 "as one integer channel (0 = background)")
            lab = lab[..., 0]   # a grey mask saved with colour samples
        lab = as_int32_labels(lab, name=str(mp), allow_bool=False)
        if img.shape != lab.shape:
            raise InputError(f"mask {mp} has shape {lab.shape} but image {ip} has shape "
                             f"{img.shape}; each mask must match its image")
        if not (np.issubdtype(img.dtype, np.integer) or np.issubdtype(img.dtype, np.floating)):
            raise InputError(f"image {ip} must be integer or float; got {img.dtype}")
        lab, split = _split_binary(lab)
        if split:
            binary.append(mp.name)
        out.append((name, img, lab))
    if binary:   # once per run, not per file
        warnings.warn(
            f"{len(binary)} of {len(out)} mask files ({binary[0]}"
            f"{', ...' if len(binary) > 1 else ''}) are binary (one foreground value, as "
            "thresholding tools save them) and were split into their connected "
            "components (4-connected), one object each; touching objects stay merged "
            "into one. Give label images (one integer per object, 0 = background) to "
            "train on the objects as drawn", stacklevel=2)
    return out


def _split_binary(lab: Any) -> tuple[Any, bool]:
    """A binary mask (every non-zero pixel one value, e.g. 0/255 or 0/1) of more than one
    connected component as those components labelled 1..N, and True; any other mask
    (a label image, or one object) as it is, and False.

    Components are 4-connected (``skimage.measure.label``, connectivity 1): objects
    that touch only at a corner stay apart; objects sharing an edge stay one.

    >>> import numpy as np
    >>> m = np.array([[255, 0, 0], [0, 255, 255]], np.int32)
    >>> _split_binary(m)[0].tolist(), _split_binary(m)[1]
    ([[1, 0, 0], [0, 2, 2]], True)
    >>> _split_binary(np.array([[1, 0, 2]], np.int32))[1]   # a label image
    False
    """
    import numpy as np
    from skimage.measure import label

    fg = lab[lab != 0]
    if fg.size == 0 or (fg != fg[0]).any():
        return lab, False
    parts, n = label(lab != 0, connectivity=1, return_num=True)
    if n < 2:
        return lab, False
    return parts.astype(np.int32, copy=False), True


def _noise_augment(movie: Path) -> Any:
    """The default augmentation with `movie`'s noise model in normalised units."""
    import numpy as np

    from ..denoise import estimate_noise_model
    from ..io import read_movie
    from ..segment.deep.augment import AugmentConfig

    src = read_movie(movie)
    from ..movie import selected

    data = np.asarray(selected(src)[0].data)
    model = estimate_noise_model(data)
    low, high = (float(v) for v in np.percentile(data, [1.0, 99.8]))
    norm = model.rescaled(low, high)
    click.echo(f"noise model of {movie.name}: gain {model.gain:.4g}, offset "
               f"{model.offset:.4g} (movie units); {norm.gain:.4g}, {norm.offset:.4g} "
               "normalised: used as the noise augmentation", err=True)
    return AugmentConfig(noise_model=(norm.gain, norm.offset))


@click.command("segment")
@click.option("--images", "images", type=click.Path(exists=True, file_okay=False,
              path_type=Path), default=None,
              help="Folder of images: TIFF, PNG or JPEG (a CTC NN folder with tNNN.tif "
                   "works; colour images are read as the mean of their colours).")
@click.option("--masks", "masks", type=click.Path(exists=True, file_okay=False,
              path_type=Path), default=None,
              help="Folder of instance label images (TIFF or PNG): the images' names, "
                   "optionally with _masks / _cp_masks (Cellpose: the same folder as "
                   "--images), or a CTC SEG folder. A binary mask (one foreground "
                   "value) is split into its connected components, with a warning.")
@click.option("--splits", "splits", type=click.Path(dir_okay=False, path_type=Path),
              default=None,
              help="Instead of --images/--masks: train on the train parts of every 2D "
                   "instance set in this split file's SEGMENTATION table "
                   "(benchmarks/splits.py), validate on their validation parts.")
@click.option("--data", "data", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Data folder the split file names [default: the split "
                                 "file's SHARED_DATA].")
@click.option("--set", "set_name", default=None,
              help="With --splits: train a single-set model on this set's train part "
                   "(3D sets: a 3D instance model; semantic sets such as "
                   "seg-EM-drosophila-vnc-mito: a class-map model).")
@click.option("--z-crop", type=click.IntRange(4), default=32, show_default=True,
              help="With --set and a 3D set: Z extent of the training crops.")
@click.option("--exclude", "exclude", multiple=True,
              help="With --splits: leave this set out of training (leave-one-set-out).")
@click.option("--val-per-set", type=click.IntRange(1), default=6, show_default=True,
              help="With --splits: validation images per set scored each epoch.")
@click.option("--val-every", type=click.IntRange(1), default=1, show_default=True,
              help="With --splits: score the validation parts every N epochs (and after "
                   "the last); the best scored epoch is kept.")
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
@click.option("--device", default="cpu", show_default=True,
              help="Torch device for training, e.g. cuda where a GPU is available; the "
                   "model runs on the CPU afterwards. CPU runs are the reproducible "
                   "reference.")
@click.option("--noise-from", "noise_from", type=click.Path(exists=True, path_type=Path),
              help="A movie of the microscope to segment: its Poisson-Gaussian noise model "
              "(celldyn.denoise.estimate_noise_model, first channel) is brought to the "
              "training images' normalised units with the movie's 1st/99.8th "
              "percentiles and replaces the random noise augmentation, so the model "
              "learns on cleaner annotated images with the noise it will meet.")
@click.option("--invert-p", "invert_p", type=click.FloatRange(0, 1), default=0.0,
              show_default=True,
              help="Share of training crops shown with inverted contrast, so that the "
                   "model learns dark objects on a bright background and bright ones on a "
                   "dark background alike (an experiment: the shipped models use 0).")
@click.option("--progress/--no-progress", default=True, show_default=True)
@_user_errors
def train_segment(images: Path | None, masks: Path | None, splits: Path | None,
                  continue_from: tuple[Path, ...], data: Path | None,
                  set_name: str | None, z_crop: int, exclude: tuple[str, ...], val_per_set: int, val_every: int,
                  stop_after: int | None, out: Path | None,
                  init: str | None, epochs: int,
                  iters: int, batch: int, crop: int, lr: float, base: int, depth: int,
                  diameter: float | None, val_fraction: float, partial: bool, seed: int,
                  checkpoint_dir: Path | None, resume: bool, noise_from: Path | None,
                  progress: bool, device: str = "cpu", invert_p: float = 0.0) -> None:
    """Train a deep segmentation model on images + instance masks (or fine-tune one)."""
    from ..errors import InputError

    augment = _noise_augment(noise_from) if noise_from is not None else None
    if invert_p > 0:
        import dataclasses

        from ..segment.deep.augment import AugmentConfig

        augment = dataclasses.replace(augment or AugmentConfig(), invert_p=invert_p)

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
        if set_name is not None:
            if invert_p > 0:
                raise InputError("--invert-p applies to the generalist (--splits without "
                                 "--set) and to --images/--masks, not to --set")
            _train_one_set(splits, data, set_name, out, epochs, iters, batch, crop, z_crop,
                           lr, base, depth, seed, checkpoint_dir, resume, progress,
                           stop_after, val_every, device)
            return
        _train_from_splits(splits, data, exclude, val_per_set, out, init, epochs, iters,
                           batch, crop, lr, base, depth, seed, checkpoint_dir, resume,
                           progress, stop_after, val_every, device, augment)
        return
    if images is None or masks is None:
        raise InputError("give --images and --masks (or --splits benchmarks/splits.py)")

    from .._optional import require_torch

    require_torch("celldyn train segment")
    from ..segment.deep.finetune import train_on_pairs

    pairs = annotated if annotated is not None else _pairs(images, masks)

    def report(rec: dict[str, float]) -> None:
        score = (f", validation AP@0.5 {rec['val_ap50']:.3f}, AP@0.75 {rec['val_ap75']:.3f}"
                 if "val_ap50" in rec else "")
        click.echo(f"epoch {int(rec['epoch']) + 1}/{epochs}: loss {rec['loss']:.4f}{score}",
                   err=True)

    command = ("celldyn train segment " + " ".join(shlex.quote(a) for a in sys.argv[3:])
               if len(sys.argv) > 3 and sys.argv[1:3] == ["train", "segment"] else None)
    done = train_on_pairs(pairs, out, init=init, epochs=epochs, iters=iters, batch=batch,
                          crop=crop, lr=lr, base=base, depth=depth, diameter=diameter,
                          val_fraction=val_fraction, partial=partial, seed=seed,
                          checkpoint_dir=checkpoint_dir, resume=resume, progress=progress,
                          on_epoch=report, images=str(images), masks=str(masks),
                          command=command, device=device, augment=augment,
                          # crops of a dark-object movie were inverted (read_annotations):
                          # the model learns bright objects, and `run --dark-objects`
                          # must invert for it as well
                          polarity="bright" if annotated is not None
                          and manifest.get("dark_objects") else None)
    click.echo(f"wrote {out} (weights sha256 {done.digest[:12]}...; {done.n_train} "
               f"training, {done.n_val} validation images; {done.seconds:.0f} s)")


def _command() -> str | None:
    if len(sys.argv) > 3 and sys.argv[1:3] == ["train", "segment"]:
        return "celldyn train segment " + " ".join(shlex.quote(a) for a in sys.argv[3:])
    return None


def _train_one_set(splits: Path, data: Path | None, set_name: str, out: Path,
                   epochs: int, iters: int, batch: int, crop: int, z_crop: int, lr: float,
                   base: int, depth: int, seed: int, checkpoint_dir: Path | None,
                   resume: bool, progress: bool, stop_after: int | None,
                   val_every: int, device: str = "cpu") -> None:
    """A 3D or semantic model of one set (:mod:`celldyn.segment.deep.set_models`)."""
    from .._optional import require_torch

    require_torch("celldyn train segment")
    from ..errors import InputError
    from ..segment.deep.datasets import _split_module_data, load_split_table
    from ..segment.deep.set_models import default_augment, set_kind, train_set_model
    from ..segment.deep.train import TrainConfig

    table = load_split_table(splits)
    data = data if data is not None else _split_module_data(splits)
    if not Path(data).is_dir():
        raise InputError(f"data folder {data} does not exist (give --data)")
    config = TrainConfig(base=base, depth=depth, crop=crop, z_crop=z_crop, batch=batch,
                         iters_per_epoch=iters, epochs=epochs, lr=lr, seed=seed,
                         val_every=val_every, augment=default_augment(set_kind(set_name)))

    def report(rec: dict[str, float]) -> None:
        score = "".join(f", validation {k[4:]} {rec[k]:.3f}" for k in
                        ("val_ap50", "val_ap75", "val_miou") if k in rec)
        click.echo(f"epoch {int(rec['epoch']) + 1}/{epochs}: loss {rec['loss']:.4f}{score} "
                   f"({rec['seconds']:.0f} s)", err=True)

    done = train_set_model(table, set_name, data, out, config=config,
                           checkpoint_dir=checkpoint_dir or out / "checkpoints",
                           resume=resume, progress=progress, on_epoch=report,
                           stop_after=stop_after, command=_command(), device=device)
    click.echo(f"wrote {out} (weights sha256 {done.digest}; {done.n_train} training, "
               f"{done.n_val} validation images of {set_name}; best epoch "
               f"{done.result.best_epoch}; thresholds {done.thresholds}; "
               f"{done.result.seconds:.0f} s)")


def _train_from_splits(splits: Path, data: Path | None, exclude: tuple[str, ...],
                       val_per_set: int, out: Path, init: str | None, epochs: int,
                       iters: int, batch: int, crop: int, lr: float, base: int, depth: int,
                       seed: int, checkpoint_dir: Path | None, resume: bool,
                       progress: bool, stop_after: int | None = None,
                       val_every: int = 1, device: str = "cpu", augment: Any = None) -> None:
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
                         val_every=val_every, keep_best=True)
    if augment is not None:
        import dataclasses

        config = dataclasses.replace(config, augment=augment)
    ckpt = checkpoint_dir or out / "checkpoints"

    def report(rec: dict[str, float]) -> None:
        score = (f", validation AP@0.5 {rec['val_ap50']:.3f}, AP@0.75 {rec['val_ap75']:.3f}"
                 if "val_ap50" in rec else "")
        click.echo(f"epoch {int(rec['epoch']) + 1}/{epochs}: loss {rec['loss']:.4f}{score} "
                   f"({rec['seconds']:.0f} s)", err=True)

    result = train_segmenter(train_s, val_s, config, init=init_state, thresholds=thresholds,
                             checkpoint_dir=ckpt, resume=resume, progress=progress,
                             on_epoch=report, freeze_norm=False, stop_after=stop_after,
                             device=device)
    command = ("celldyn train segment " + " ".join(shlex.quote(a) for a in sys.argv[3:])
               if len(sys.argv) > 3 and sys.argv[1:3] == ["train", "segment"] else
               f"celldyn train segment --splits {splits} --out {out} --epochs {epochs} "
               f"--iters {iters} --batch {batch} --crop {crop} --seed {seed}"
               + (f" --init {init}" if init else "")
               + "".join(f" --exclude {e}" for e in exclude)
               + (f" --stop-after {stop_after}" if stop_after else "")
               + (f" --val-every {val_every}" if val_every != 1 else ""))
    sets = sorted({s.name.split(":")[0] for s in train_s})
    meta: dict[str, Any] = {
        "name": out.name, "version": 1, "axes": "YX",
        # the scale probe: half-octave zooms 1/8..4 (objects of about 8 to 240 px) on a
        # 512 px central crop (a 256 px crop often held no object or only a few, and the
        # probe then measured texture), cut or grown so that the network sees 128 to
        # 768 px a side (benchmarks/RESULTS.md, 'Segmentation: object size probe')
        "probe_zooms": [round(2.0 ** (k / 2), 4) for k in range(-6, 5)],
        "probe_crop": 512, "probe_max_input": 768, "probe_min_input": 128,
        "probe_lone_min_objects": 8, "probe_core_zooms": [0.25, 2.0],
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
