"""Single-set recipes: a 3D nuclei instance model and a 2D semantic (class-map) model.

``celldyn train segment --splits benchmarks/splits.py --set NAME`` trains on the train
part of one set of the split table and selects on its validation part; the test part is
never read. The set decides the model:

* a 3D set (:data:`~.datasets.SETS_3D`, e.g. ``seg-PlantSeg-3D-nuclei``): a U-Net with
  3D convolutions and the instance heads (``nuclei3d``). **Anisotropy**: the voxel size
  comes from the set's ``index.csv`` (``voxel_size_um_zyx``; 0.284 x 0.127 x 0.127 µm
  there, Z 2.2x coarser). The network pools Y and X only, so its first pooled level is
  nearly isotropic (0.28 x 0.25 x 0.25 µm); the distance target is computed in
  physical units (``TrainConfig.sampling``), so it peaks at a nucleus's centre rather
  than spreading over its middle slices; the voxel size is stored in ``config.json``
  and a movie with another voxel size is resampled to it for inference
  (:meth:`~.registry.DeepSegmenter.segment` with ``spacing``).
* a semantic set (:data:`~.datasets.SETS_SEMANTIC`, e.g. ``seg-EM-drosophila-vnc-mito``):
  a 2D U-Net with a C-class softmax head (``mito_em``), trained with a class-weighted
  cross-entropy (weights ``1/sqrt(frequency)`` of the training pixels, mean 1), the
  epoch with the best validation mean IoU kept, then the smallest-object size of the
  instance class tuned on the validation images' instance masks.

Ours: the recipes (what is read, the weights, the selection); training is
:func:`~.train.train_segmenter`.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from .augment import AugmentConfig
from .datasets import SETS_3D, SETS_SEMANTIC, load_set_part
from .train import Sample, TrainConfig, TrainResult, train_segmenter

__all__ = ["SEMANTIC_CLASSES", "SetModel", "set_kind", "set_samples", "train_set_model",
           "voxel_size"]

# class names of masks_semantic (data README) and the class whose components are objects
SEMANTIC_CLASSES: dict[str, dict[str, Any]] = {
    "seg-EM-drosophila-vnc-mito": {
        "classes": ["intracellular", "membrane", "glia/extracellular", "mitochondria",
                    "synapse"],
        "instance_class": 3},
}


def set_kind(name: str) -> str:
    """``"3d"``, ``"semantic"`` or ``"2d"`` (the generalist's kind)."""
    return "3d" if name in SETS_3D else "semantic" if name in SETS_SEMANTIC else "2d"


def voxel_size(root: str | Path, name: str) -> tuple[float, ...] | None:
    """Median ``voxel_size_um_zyx`` of a set's ``index.csv`` (None if not given)."""
    path = Path(root) / name / "index.csv"
    if not path.is_file():
        return None
    with path.open() as fh:
        rows = [r.get("voxel_size_um_zyx") for r in csv.DictReader(fh)]
    sizes = [tuple(float(v) for v in r.split()) for r in rows if r]
    if not sizes:
        return None
    return tuple(float(v) for v in np.median(np.array(sizes), axis=0).round(4))


def set_samples(split: Any, part: str, root: str | Path) -> list[Sample]:
    """Training / validation samples of one 3D or semantic set, at the native scale."""
    from ..classical import normalize_frame

    out = []
    items = load_set_part(split, part, root)
    for it in items:
        img = normalize_frame(it.image)
        if img is not None:
            out.append(Sample(img, it.labels, zoom=1.0, weight=1.0 / len(items),
                              name=it.name))
    return out


@dataclass
class SetModel:
    """What :func:`train_set_model` wrote."""

    digest: str
    result: TrainResult
    meta: dict[str, Any]
    thresholds: dict[str, Any]
    n_train: int
    n_val: int


def _class_weights(train: list[Sample], n: int) -> tuple[float, ...]:
    counts = sum(np.bincount(s.labels[s.labels >= 0].ravel(), minlength=n)[:n]
                 for s in train).astype(np.float64)
    w = 1.0 / np.sqrt(np.maximum(counts / counts.sum(), 1e-4))
    return tuple(round(float(v), 4) for v in w / w.mean())


def train_set_model(
    table: dict[str, Any], name: str, root: str | Path, out: str | Path, *,
    config: TrainConfig, checkpoint_dir: str | Path | None = None, resume: bool = False,
    progress: bool | type = False, on_epoch: Callable[[dict[str, float]], None] | None = None,
    stop_after: int | None = None, command: str | None = None, device: str = "cpu",
) -> SetModel:
    """Train the model of set `name` (3D instance or semantic) and write its folder.

    `config` gives the schedule and size (``base``, ``depth``, ``crop``, ``z_crop``,
    ``batch``, ``epochs``, ``iters_per_epoch``, ``lr``, ``seed``); the kind-specific
    fields (``ndim``, ``sampling``, ``n_classes``, ``class_weights``, ``keep_best``)
    are set here. `device` as :func:`~.train.train_segmenter` (CPU: the reproducible
    reference). Returns the sha256 and the record; the folder has no CARD.md (the
    shipped cards are written by hand from the benchmark's test scores).
    """
    from ...errors import InputError
    from .registry import save_segmenter

    kind = set_kind(name)
    if kind == "2d" or name not in table:
        raise InputError(f"--set {name!r} is not a 3D or semantic set of the split table; "
                         f"those are {sorted((SETS_3D | SETS_SEMANTIC) & set(table))}")
    split = table[name]
    train = set_samples(split, "train", root)
    val = set_samples(split, "validation", root)
    if not train or not val:
        raise InputError(f"no train or validation images of {name} under {root}")
    meta: dict[str, Any] = {"name": Path(out).name, "version": 1,
                            "normalization": {"method": "percentile", "low": 1.0,
                                              "high": 99.8}}
    if kind == "3d":
        vox = voxel_size(root, name)
        sampling = (round(vox[0] / vox[2], 4), 1.0, 1.0) if vox else None
        config = replace(config, ndim=3, sampling=sampling, keep_best=True, n_classes=None)
        from .datasets import median_diameter
        diam = float(np.median([median_diameter(s.labels[s.labels.shape[0] // 2])
                                for s in train]))
        meta.update(axes="ZYX", voxel_size_um=list(vox) if vox else None,
                    target_diameter=round(diam, 1),
                    architecture_text=f"3D convolutions, base {config.base}, "
                                      f"depth {config.depth} (pools Y and X only)")
    else:
        info = SEMANTIC_CLASSES[name]
        n = len(info["classes"])
        config = replace(config, ndim=2, n_classes=n, keep_best=True,
                         class_weights=_class_weights(train, n))
        meta.update(axes="YX", task="semantic", classes=info["classes"],
                    instance_class=info["instance_class"],
                    architecture_text=f"2D, base {config.base}, depth {config.depth}, "
                                      f"{n}-class softmax head")
    # 3D: fragments under 100 voxels (3% of a median nucleus) are dropped
    start = {"fg_threshold": 0.5, "marker_threshold": 0.5, "min_size": 100} \
        if kind == "3d" else None
    result = train_segmenter(train, val, config, thresholds=start,
                             checkpoint_dir=checkpoint_dir,
                             resume=resume, progress=progress, on_epoch=on_epoch,
                             freeze_norm=False, stop_after=stop_after, device=device)
    thresholds = result.thresholds
    if kind == "semantic":
        from .semantic import predict_classes, tune_min_size

        items = load_set_part(split, "validation", root)
        preds = [predict_classes(result.net, s.image, normalized=True) for s in val]
        size, ap = tune_min_size(preds, [it.instances for it in items],
                                 int(meta["instance_class"]))
        thresholds = {"min_size": size, "validation_ap50": round(ap, 4)}
    meta["training"] = {
        "command": command, "set": name, "seed": config.seed, "epochs": config.epochs,
        "stop_after": stop_after, "iters_per_epoch": config.iters_per_epoch,
        "batch": config.batch, "crop": config.crop, "n_train_images": len(train),
        "n_validation_images": len(val), "config": config.to_dict(),
        "seconds": round(result.seconds, 1), "best_epoch": result.best_epoch,
        "history": result.history}
    digest = save_segmenter(out, result.net, meta, thresholds, None)
    return SetModel(digest, result, meta, thresholds, len(train), len(val))


def default_augment(kind: str) -> AugmentConfig:
    """Augmentation of the set recipes: milder scale range than the generalist's (one
    set, one microscope), no Poisson noise for EM."""
    if kind == "semantic":
        return AugmentConfig(scale=(0.8, 1.25), noise_p=0.0)
    return AugmentConfig(scale=(0.8, 1.25))
