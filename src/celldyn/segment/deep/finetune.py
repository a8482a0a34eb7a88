"""Train or fine-tune a deep segmentation model on (name, image, labels) pairs and
write its model folder (``weights.pt``, ``config.json``, ``thresholds.json``,
``CARD.md``).

The reusable part of ``celldyn train segment --images/--masks`` and ``--continue``
(the CLI reads the pairs and calls :func:`train_on_pairs`); the napari widget's
"Retrain" calls it through :func:`celldyn.active.fine_tune`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import InputError

__all__ = ["TrainedModel", "model_card", "train_on_pairs"]


@dataclass
class TrainedModel:
    """What :func:`train_on_pairs` wrote."""

    folder: Path
    digest: str
    n_train: int
    n_val: int
    seconds: float


def model_card(meta: dict[str, Any], names_train: list[str], names_val: list[str],
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


def train_on_pairs(pairs: Sequence[tuple[str, Any, Any]], out: str | Path, *,
                   init: Any = None, epochs: int = 10, iters: int = 50, batch: int = 8,
                   crop: int = 96, lr: float = 2e-3, base: int = 12, depth: int = 3,
                   diameter: float | None = None, val_fraction: float = 0.2,
                   partial: bool = False, seed: int = 0,
                   checkpoint_dir: str | Path | None = None, resume: bool = False,
                   progress: bool = True,
                   on_epoch: Callable[[dict[str, float]], None] | None = None,
                   images: str = "", masks: str = "", command: str | None = None,
                   device: str = "cpu", augment: Any = None,
                   polarity: str | None = None) -> TrainedModel:
    """Train a model on ``(name, image, labels)`` pairs (fine-tune `init` when given:
    its architecture, thresholds and object size), split off ``val_fraction`` of the
    pairs for validation, write the model folder `out`.

    `images` / `masks` / `command` only describe the data in the model card.
    `augment`: an :class:`~.augment.AugmentConfig` (default: the shipped model's), e.g.
    with the user's ``noise_model``. `polarity` ``"bright"``: the pairs show bright
    objects made so by inverting a dark-object movie (``--continue`` of such crops), so
    ``dark_objects`` runs invert for this model too (config.json ``polarity``).
    """
    from .. import normalize_frame
    from .registry import load_segmenter, save_segmenter
    from .train import Sample, TrainConfig, train_segmenter

    out = Path(out)
    if not pairs:
        raise InputError("no image/mask pairs to train on")
    ndim = pairs[0][1].ndim
    if ndim not in (2, 3) or any(p[1].ndim != ndim for p in pairs):
        raise InputError("images must all be 2D (YX) or all 3D (ZYX) single-channel frames")
    areas = np.concatenate([np.bincount(p[2][p[2] > 0].ravel())[1:] for p in pairs])
    areas = areas[areas > 0]
    if areas.size == 0:
        raise InputError(f"the masks in {masks or 'the annotations'} hold no objects")
    if diameter is None:
        per_slice = areas / (pairs[0][2].shape[0] if ndim == 3 else 1)
        diameter = float(np.sqrt(4 * np.median(per_slice) / np.pi))
    thresholds, init_state, target, probe = None, None, 30.0, {}
    if init is not None:
        base_model = load_segmenter(init)
        if base_model.ndim != ndim:
            raise InputError(f"model {init} is {base_model.ndim}D but the images are {ndim}D")
        init_state = base_model.net.state_dict()
        thresholds = dict(base_model.thresholds)
        target = base_model.target_diameter
        base, depth = base_model.net.base, base_model.net.depth
        # the fine-tuned model sizes objects as its initialisation does (e.g. the
        # generalist's zooms 1/8 to 4)
        probe = {k: v for k, v in base_model.config.items() if k.startswith("probe_")}
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
    if augment is not None:
        config = dataclasses.replace(config, augment=augment)
    ckpt = Path(checkpoint_dir) if checkpoint_dir is not None else out / "checkpoints"
    result = train_segmenter(train_s, val_s, config, init=init_state, thresholds=thresholds,
                             device=device,
                             checkpoint_dir=ckpt, resume=resume, progress=progress,
                             on_epoch=on_epoch)
    if command is None:
        command = (f"celldyn train segment --images {images} --masks {masks} --out {out} "
                   f"--epochs {epochs} --iters {iters} --batch {batch} --crop {crop} "
                   f"--seed {seed}" + (f" --init {init}" if init else ""))
    meta: dict[str, Any] = {
        "name": out.name, "version": 1, "axes": "YX" if ndim == 2 else "ZYX",
        "normalization": {"method": "percentile", "low": 1.0, "high": 99.8},
        "target_diameter": target,
        "architecture_text": f"{ndim}D, base {base}, depth {depth}",
        **({"polarity": polarity} if polarity else {}),
        **probe,
        "training": {"command": command, "images": str(images), "masks": str(masks),
                     "init": None if init is None else str(init), "seed": seed,
                     "epochs": epochs,
                     "iters_per_epoch": iters, "batch": batch, "crop": crop,
                     "diameter_px": diameter, "zoom": zoom,
                     "train": [pairs[i][0] for i in train_idx],
                     "val": [pairs[i][0] for i in val_idx],
                     "config": config.to_dict(), "seconds": round(result.seconds, 1),
                     "history": result.history},
    }
    card = model_card(meta, meta["training"]["train"], meta["training"]["val"],
                      result.history, result.thresholds)
    digest = save_segmenter(out, result.net, meta, result.thresholds, card)
    return TrainedModel(out, digest, len(train_idx), len(val_idx), result.seconds)
