"""Training loop for the segmentation U-Net: seeded, checkpointed, resumable.

Every batch is drawn from the training samples by :func:`~.augment.sample_crop` and
:func:`~.augment.augment_intensity` with the generator ``default_rng((seed, epoch))``,
so epoch ``e`` sees the same crops whether or not the run was resumed before it, and
the network's initial weights come from ``torch.manual_seed(seed)``. Training runs with
``torch.use_deterministic_algorithms(True)``: the same data, config and seed give the
same weights on the same machine (tested). No DataLoader is used (crops are drawn in
the main process), so there are no worker seeds to manage.

Loss: cross-entropy over background / interior / boundary (boundary weighted 3x, as
it is thin) plus binary cross-entropy of the distance head against the normalised
distance transform. Optimiser: AdamW with cosine decay of the learning rate.

After the last epoch, :func:`tune_thresholds` picks the foreground and marker levels
that maximise mean AP@0.5 and AP@0.75 on the *validation* samples.

3D (``ndim=3``): ``sampling`` (relative voxel size ZYX) makes the distance target
physical, so an anisotropic nucleus still peaks at its centre. Semantic models
(``n_classes=C``): the samples' ``labels`` are class maps, the loss is a class-weighted
cross-entropy over the C-class head (:mod:`.semantic`), validation scores the mean IoU
over classes (recorded as ``val_miou``), and ``keep_best`` keeps the epoch with the
best mean IoU.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from .augment import AugmentConfig, augment_intensity, foreground_index, sample_crop
from .heads.postprocess import instances_from_maps, make_targets
from .inference import _post_kwargs, predict_maps
from .unet import UNet, build_unet

__all__ = ["Sample", "TrainConfig", "TrainResult", "seed_everything", "train_segmenter",
           "tune_thresholds", "validation_ap"]


@dataclass
class Sample:
    """One training or validation image.

    ``image`` is normalised (``celldyn.segment.normalize_frame``), ``labels`` int
    instances of the same shape (negative: ignore these pixels in the loss); ``zoom`` brings its objects to the model's working
    diameter (``target_diameter / object diameter``); ``weight`` is its share of crops;
    ``ignore_unannotated`` marks partial annotations (for validation AP).
    """

    image: np.ndarray
    labels: np.ndarray
    zoom: float = 1.0
    weight: float = 1.0
    name: str = ""
    ignore_unannotated: bool = False


@dataclass(frozen=True)
class TrainConfig:
    ndim: int = 2
    base: int = 16
    depth: int = 3
    crop: int = 96
    z_crop: int | None = None
    batch: int = 8
    iters_per_epoch: int = 50
    epochs: int = 20
    lr: float = 2e-3
    weight_decay: float = 1e-4
    boundary_weight: float = 3.0
    distance_weight: float = 1.0
    seed: int = 0
    val_every: int = 1          # validate every n epochs (and after the last one)
    keep_best: bool = False     # return the validated epoch with the best mean AP
    sampling: tuple[float, ...] | None = None   # relative voxel size (ZYX) for targets
    n_classes: int | None = None    # semantic model with this many classes
    class_weights: tuple[float, ...] | None = None   # semantic loss weights per class
    augment: AugmentConfig = field(default_factory=AugmentConfig)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["augment"] = self.augment.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        d = dict(d)
        aug = d.pop("augment", None)
        aug = AugmentConfig(**{k: tuple(v) if isinstance(v, list) else v
                               for k, v in aug.items()}) if aug else AugmentConfig()
        for key in ("sampling", "class_weights"):
            if d.get(key) is not None:
                d[key] = tuple(d[key])
        return cls(**d, augment=aug)

    def architecture(self) -> dict[str, int]:
        out = {"ndim": self.ndim, "in_channels": 1, "base": self.base, "depth": self.depth}
        if self.n_classes:
            out["out_channels"] = int(self.n_classes)
        return out


@dataclass
class TrainResult:
    net: UNet
    history: list[dict[str, float]]
    thresholds: dict[str, float]
    seconds: float
    best_epoch: int | None = None   # the epoch returned, with ``keep_best``


def seed_everything(seed: int) -> int:
    """Seed torch (CPU) and switch on deterministic algorithms; returns the seed."""
    torch.manual_seed(int(seed))
    torch.use_deterministic_algorithms(True)
    return int(seed)


def _prepare(samples: Sequence[Sample]) -> list[tuple[Sample, np.ndarray, np.ndarray]]:
    """Per sample, once: the float32 image and the object pixels crops centre on."""
    return [(s, np.ascontiguousarray(s.image, dtype=np.float32), foreground_index(s.labels))
            for s in samples]


def _batch(samples: Sequence[Sample] | Sequence[tuple[Sample, np.ndarray, np.ndarray]],
           config: TrainConfig,
           rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    prepared = samples if samples and isinstance(samples[0], tuple) else _prepare(samples)
    w = np.array([max(s.weight, 0.0) for s, _, _ in prepared], dtype=float)
    p = w / w.sum()
    xs, sems, dists = [], [], []
    for _ in range(config.batch):
        s, image, fg = prepared[int(rng.choice(len(prepared), p=p))]
        img, lab = sample_crop(image, s.labels, config.crop, rng, config.augment,
                               zoom=s.zoom, z_size=config.z_crop, fg_index=fg)
        img = augment_intensity(img, rng, config.augment)
        if config.n_classes:             # a class map: the target as it is
            sem, dist = lab.astype(np.int64), np.zeros(lab.shape, dtype=np.float32)
        else:
            sem, dist = make_targets(lab, sampling=config.sampling)
        xs.append(img)
        sems.append(sem)
        dists.append(dist)
    if config.ndim == 3:               # equal Z in a batch: crop to the smallest
        nz = min(x.shape[0] for x in xs)
        xs, sems, dists = ([a[:nz] for a in arrs] for arrs in (xs, sems, dists))
    return (torch.from_numpy(np.stack(xs))[:, None], torch.from_numpy(np.stack(sems)),
            torch.from_numpy(np.stack(dists)))


def _loss(net: UNet, x: torch.Tensor, sem: torch.Tensor, dist: torch.Tensor,
          config: TrainConfig) -> torch.Tensor:
    out = net(x)
    if config.n_classes:
        cw = (torch.tensor(config.class_weights, dtype=torch.float32, device=out.device)
              if config.class_weights else None)
        return F.cross_entropy(out, sem, weight=cw, ignore_index=-1)
    weight = torch.tensor([1.0, 1.0, config.boundary_weight], device=out.device)
    ce = F.cross_entropy(out[:, :3], sem, weight=weight, ignore_index=-1)
    valid = (dist >= 0).float()
    bce = (F.binary_cross_entropy_with_logits(out[:, 3], dist.clamp(min=0),
                                              reduction="none") * valid).sum() \
        / valid.sum().clamp(min=1.0)
    return ce + config.distance_weight * bce


def _predict_val(net: UNet, val: Sequence[Sample]) -> list[tuple[np.ndarray, np.ndarray]]:
    return [predict_maps(net, s.image, zoom=s.zoom, normalized=True) for s in val]


def validation_miou(net: UNet, val: Sequence[Sample], n_classes: int) -> float:
    """Mean over classes of the IoU of a semantic `net` on `val` (one confusion)."""
    from .semantic import class_scores, confusion, predict_classes

    conf = sum(confusion(s.labels, predict_classes(net, s.image, zoom=s.zoom,
                                                   normalized=True), n_classes)
               for s in val)
    return float(np.nanmean(class_scores(conf)["iou"]))


def validation_ap(
    val: Sequence[Sample], maps: Sequence[tuple[np.ndarray, np.ndarray]],
    thresholds: dict[str, float], ious: Sequence[float] = (0.5, 0.75),
) -> dict[float, float]:
    """AP of the post-processed `maps` against the validation labels."""
    full = [(s.labels, instances_from_maps(p, d, **_post_kwargs(thresholds, s.zoom)))
            for s, (p, d) in zip(val, maps, strict=True) if not s.ignore_unannotated]
    part = [(s.labels, instances_from_maps(p, d, **_post_kwargs(thresholds, s.zoom)))
            for s, (p, d) in zip(val, maps, strict=True) if s.ignore_unannotated]
    # one dataset AP: sum counts over both kinds of annotation
    from .metrics import match_counts
    tot = {float(t): np.zeros(3, dtype=np.int64) for t in ious}
    for pairs, ign in ((full, False), (part, True)):
        for g, r in pairs:
            for t, c in match_counts(g, r, ious, ignore_unannotated=ign).items():
                tot[t] += c
    return {t: float(c[0] / max(1, c.sum())) for t, c in tot.items()}


def tune_thresholds(
    net: UNet, val: Sequence[Sample], base: dict[str, float] | None = None,
    fg: Sequence[float] = (0.3, 0.4, 0.5, 0.6),
    marker: Sequence[float] = (0.3, 0.4, 0.5, 0.6, 0.7),
) -> tuple[dict[str, float], float]:
    """Grid search of ``fg_threshold`` x ``marker_threshold`` on validation samples.

    Returns the best thresholds and their score (mean of AP@0.5 and AP@0.75); ties go
    to the first in grid order.
    """
    base = dict(base or {"fg_threshold": 0.5, "marker_threshold": 0.5, "min_size": 16})
    maps = _predict_val(net, val)
    best, best_score = dict(base), -1.0
    for f in fg:
        for m in marker:
            th = {**base, "fg_threshold": float(f), "marker_threshold": float(m)}
            ap = validation_ap(val, maps, th)
            score = float(np.mean(list(ap.values())))
            if score > best_score + 1e-12:
                best, best_score = th, score
    return best, best_score


def _save_checkpoint(folder: Path, net: UNet, opt: Any, sched: Any, epoch: int,
                     history: list[dict[str, float]], config: TrainConfig,
                     best: dict[str, Any] | None = None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / "last.pt.tmp"
    state = {"model": net.state_dict(), "optimizer": opt.state_dict(),
             "scheduler": sched.state_dict(), "epoch": epoch}
    if best is not None:
        state["best"] = best
    torch.save(state, tmp)
    tmp.replace(folder / "last.pt")
    meta = folder / "last.json.tmp"
    meta.write_text(json.dumps({"epoch": epoch, "history": history,
                                "config": config.to_dict()}, indent=1))
    meta.replace(folder / "last.json")


def train_segmenter(
    train: Sequence[Sample],
    val: Sequence[Sample] = (),
    config: TrainConfig = TrainConfig(),
    *,
    init: dict[str, torch.Tensor] | None = None,
    thresholds: dict[str, float] | None = None,
    tune: bool = True,
    checkpoint_dir: str | Path | None = None,
    resume: bool = False,
    progress: bool | type = False,
    on_epoch: Callable[[dict[str, float]], None] | None = None,
    freeze_norm: bool | None = None,
    stop_after: int | None = None,
    device: str = "cpu",
) -> TrainResult:
    """Train (or fine-tune, with `init`) a U-Net on `train`; score `val` every epoch.

    Parameters
    ----------
    train, val : sequences of :class:`Sample`
    config : TrainConfig
    init : state_dict, optional
        Start from these weights (fine-tuning a shipped model).
    thresholds : dict, optional
        Post-processing levels for the per-epoch validation score (and the start of
        tuning); default 0.5 / 0.5 / min_size 16.
    tune : bool
        Tune the levels on `val` after training (needs `val`).
    checkpoint_dir : path, optional
        Write ``last.pt`` + ``last.json`` after every epoch.
    resume : bool
        Continue from ``checkpoint_dir/last.pt`` (same config and data).
    progress : bool or tqdm-like class
        A progress bar over iterations, with the loss and the validation AP.
    freeze_norm : bool, optional
        Keep batch-norm statistics fixed (eval mode) while training; default: True
        when fine-tuning (`init` given), so a few frames do not overwrite statistics
        learnt on the full training set.
    stop_after : int, optional
        Stop after this many epochs of the schedule (which still spans
        ``config.epochs``): the same weights as the full run had at that epoch. With
        `resume` past that epoch, nothing is trained: the best (``keep_best``) or last
        checkpoint is tuned and returned.
    device : str
        Torch device to train on (``"cuda"`` where a GPU is available). Inference and
        the returned network are on the CPU; CPU training is the reproducible
        reference (GPU kernels are not bit-identical).
    on_epoch : callable, optional
        Called with each epoch's record ``{"epoch", "loss", "val_ap50", "val_ap75",
        "seconds"}``.
    """
    if not train:
        raise ValueError("no training samples")
    torch.set_num_threads(max(1, min(torch.get_num_threads(), 2)))
    seed_everything(config.seed)
    dev = torch.device(device)
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            from ...errors import InputError
            raise InputError("--device cuda: no CUDA GPU is available to torch here")
        torch.use_deterministic_algorithms(True, warn_only=True)
    net = build_unet(config.architecture())
    if init is not None:
        net.load_state_dict(init)
    net.to(dev)
    opt = torch.optim.AdamW(net.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    total = config.epochs * config.iters_per_epoch
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, total))
    thresholds = dict(thresholds or {"fg_threshold": 0.5, "marker_threshold": 0.5,
                                     "min_size": 16})
    history: list[dict[str, float]] = []
    best: dict[str, Any] | None = None      # {"score", "epoch", "model"} with keep_best
    start = 0
    prepared = _prepare(train)
    ckpt = Path(checkpoint_dir) if checkpoint_dir is not None else None
    if resume:
        if ckpt is None or not (ckpt / "last.pt").is_file():
            raise FileNotFoundError(f"no checkpoint to resume in {ckpt}")
        state = torch.load(ckpt / "last.pt", weights_only=True, map_location=dev)
        net.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        start = int(state["epoch"]) + 1
        history = json.loads((ckpt / "last.json").read_text())["history"]
        best = state.get("best")
    bar = None
    if progress:
        if progress is True:
            from tqdm.auto import tqdm as bar_cls
        else:
            bar_cls = progress
        bar = bar_cls(total=total, initial=start * config.iters_per_epoch,
                      desc="train segment", unit="it")
    t0 = time.perf_counter()
    end = config.epochs if stop_after is None else max(0, min(config.epochs, stop_after))
    for epoch in range(start, end):
        te = time.perf_counter()
        rng = np.random.default_rng((config.seed, epoch))
        net.train()
        if freeze_norm if freeze_norm is not None else init is not None:
            for mod in net.modules():
                if isinstance(mod, torch.nn.modules.batchnorm._BatchNorm):
                    mod.eval()
        losses = []
        for _ in range(config.iters_per_epoch):
            x, sem, dist = (t.to(dev) for t in _batch(prepared, config, rng))
            loss = _loss(net, x, sem, dist, config)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            losses.append(float(loss.detach()))
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{losses[-1]:.3f}")
        record = {"epoch": epoch, "loss": float(np.mean(losses))}
        every = max(1, int(config.val_every))
        validate = val and ((epoch + 1) % every == 0 or epoch == config.epochs - 1)
        if validate and config.n_classes:
            net.eval()
            score = validation_miou(net, val, config.n_classes)
            record["val_miou"] = score
            if bar is not None:
                bar.set_postfix(loss=f"{record['loss']:.3f}", val_miou=f"{score:.3f}")
            if config.keep_best and (best is None or score > best["score"] + 1e-12):
                best = {"score": score, "epoch": epoch,
                        "model": {k: v.detach().cpu().clone()
                                  for k, v in net.state_dict().items()}}
        elif validate:
            ap = validation_ap(val, _predict_val(net, val), thresholds)
            record.update(val_ap50=ap[0.5], val_ap75=ap[0.75])
            if bar is not None:
                bar.set_postfix(loss=f"{record['loss']:.3f}", val_ap50=f"{ap[0.5]:.3f}")
            score = float(np.mean([ap[0.5], ap[0.75]]))
            if config.keep_best and (best is None or score > best["score"] + 1e-12):
                best = {"score": score, "epoch": epoch,
                        "model": {k: v.detach().cpu().clone()
                                  for k, v in net.state_dict().items()}}
        record["seconds"] = time.perf_counter() - te
        history.append(record)
        if ckpt is not None:
            _save_checkpoint(ckpt, net, opt, sched, epoch, history, config, best)
        if on_epoch is not None:
            on_epoch(record)
    if bar is not None:
        bar.close()
    net.eval()
    net.to("cpu")
    if config.keep_best and best is not None:
        net.load_state_dict(best["model"])
    if tune and val and not config.n_classes:
        thresholds, _ = tune_thresholds(net, val, thresholds)
    return TrainResult(net=net, history=history, thresholds=thresholds,
                       seconds=time.perf_counter() - t0,
                       best_epoch=int(best["epoch"]) if best is not None else None)


def tiny_config(**kw: Any) -> TrainConfig:
    """A seconds-long config for tests and smoke runs."""
    return replace(TrainConfig(base=4, depth=2, crop=32, batch=2, iters_per_epoch=3,
                               epochs=2), **kw)
