"""A small PyTorch CNN on fixed-size crops around each object, with saliency.

Crops (ours, numpy/scipy): a square window centred on the object's centroid, of side
``context`` times the object's largest bounding-box side, resampled to ``size`` x
``size`` pixels (so objects of any pixel size fill the crop alike), with two channels:
intensity (scaled to the crop's 1st-99th percentiles) and the object's own mask. 3D
objects are max-projected along Z over their bounding box first (2.5D).

The network is three conv-ReLU-pool blocks, global average pooling and a linear
layer (~7k parameters). Saliency is gradient x input of the predicted class's logit
with respect to the intensity channel. torch is the optional extra ``celldyn[deep]``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import ndimage as ndi

from ..errors import MissingDependencyError, ModelError

__all__ = ["object_crops", "CNNClassifier", "train_cnn", "saliency"]


def _torch():
    try:
        import torch
    except ImportError:  # pragma: no cover - depends on the environment
        raise MissingDependencyError(
            "the CNN classifier needs PyTorch; install the extra: pip install 'celldyn[deep]'"
        ) from None
    return torch


def object_crops(labels: np.ndarray, movie: np.ndarray, objects: pd.DataFrame, *,
                 size: int = 32, context: float = 2.0) -> np.ndarray:
    """Fixed-size two-channel crops around objects.

    Parameters
    ----------
    labels, movie : (T, [Z,] Y, X) arrays
    objects : DataFrame
        Rows with ``t``, ``label`` and bbox columns ``bbox-0..`` (as from
        :func:`celldyn.classify.object_features`) and centroid ``y, x``.
    size : int
        Crop side in pixels.
    context : float
        Window side as a multiple of the object's largest bbox side.

    Returns
    -------
    (n_objects, 2, size, size) float32 array
    """
    labels = np.asarray(labels)
    movie = np.asarray(movie)
    nd = labels.ndim - 1
    out = np.zeros((len(objects), 2, size, size), dtype=np.float32)
    grid = (np.arange(size) + 0.5) / size - 0.5
    t_all = objects["t"].to_numpy()
    lab_all = objects["label"].to_numpy()
    bb = objects[[f"bbox-{i}" for i in range(2 * nd)]].to_numpy()
    cy, cx = objects["y"].to_numpy(), objects["x"].to_numpy()
    cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for i in range(len(objects)):
        t = int(t_all[i])
        lab, img = labels[t], movie[t]
        if nd == 3:
            z0, z1 = int(bb[i, 0]), int(bb[i, 3])
            img = img[z0:z1].max(axis=0)
            lab = (lab[z0:z1] == lab_all[i]).any(axis=0)
            mask = lab.astype(np.float32)
            side = max(bb[i, 4] - bb[i, 1], bb[i, 5] - bb[i, 2])
        else:
            mask = None
            side = max(bb[i, 2] - bb[i, 0], bb[i, 3] - bb[i, 1])
        w = max(float(side) * context, 8.0)
        yy = cy[i] + grid[:, None] * w
        xx = cx[i] + grid[None, :] * w
        coords = np.stack([np.broadcast_to(yy, (size, size)), np.broadcast_to(xx, (size, size))])
        if nd == 2:
            if t not in cache:
                cache.clear()
                cache[t] = (img.astype(np.float32), lab)
            img, lab = cache[t]
            mask_crop = ndi.map_coordinates(lab, coords, order=0, mode="constant") == lab_all[i]
        else:
            img = img.astype(np.float32)
            mask_crop = ndi.map_coordinates(mask, coords, order=0, mode="constant") > 0
        crop = ndi.map_coordinates(img, coords, order=1, mode="nearest")
        lo, hi = np.percentile(crop, [1, 99])
        out[i, 0] = (crop - lo) / max(hi - lo, 1e-6)
        out[i, 1] = mask_crop
    return out


def _build_net(n_classes: int, width: int = 8, arch: str = "small"):
    """``small``: 3 conv-ReLU(-pool) blocks (the default); ``bn``: 3 blocks of two
    conv-BatchNorm-ReLU + pool, dropout before the linear layer (the real-data
    models)."""
    torch = _torch()
    nn = torch.nn
    w = width
    if arch == "bn":
        def block(a: int, b: int) -> list:
            return [nn.Conv2d(a, b, 3, padding=1), nn.BatchNorm2d(b), nn.ReLU(),
                    nn.Conv2d(b, b, 3, padding=1), nn.BatchNorm2d(b), nn.ReLU(),
                    nn.MaxPool2d(2)]
        return nn.Sequential(*block(2, w), *block(w, 2 * w), *block(2 * w, 4 * w),
                             nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.3),
                             nn.Linear(4 * w, n_classes))
    if arch != "small":
        raise ModelError(f"unknown CNN architecture {arch!r}; expected 'small' or 'bn'")
    return nn.Sequential(
        nn.Conv2d(2, w, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(w, 2 * w, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(2 * w, 4 * w, 3, padding=1), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4 * w, n_classes),
    )


@dataclass
class CNNClassifier:
    """A trained crop CNN with its classes and crop settings."""

    net: Any
    classes: list[str]
    size: int = 32
    context: float = 2.0
    width: int = 8
    meta: dict[str, Any] = field(default_factory=dict)
    kind: str = "cnn"
    arch: str = "small"

    def crops(self, labels: np.ndarray, movie: np.ndarray, objects: pd.DataFrame) -> np.ndarray:
        """The model's input crops: :func:`object_crops`, or for a model trained on
        cell crops (``crops`` in its record) :func:`celldyn.classify.phases.cell_crops`
        (rank-equalised crop + in-crop chromatin mask)."""
        spec = self.meta.get("crops")
        if spec:
            from .phases import cell_crops

            return cell_crops(labels, movie, objects, size=int(spec["size"]),
                              reference_diameter=float(spec["reference_diameter"]),
                              window=float(spec.get("window", 64)))
        return object_crops(labels, movie, objects, size=self.size, context=self.context)

    def predict_proba_crops(self, crops: np.ndarray, batch: int = 256) -> np.ndarray:
        """(n, K) class probabilities; models with ``tta`` in their record average
        the four 90-degree rotations."""
        torch = _torch()
        self.net.eval()
        outs = []
        turns = range(4) if self.meta.get("tta") else range(1)
        with torch.no_grad():
            for s in range(0, len(crops), batch):
                x = torch.from_numpy(np.ascontiguousarray(crops[s:s + batch]))
                p = sum(torch.softmax(self.net(torch.rot90(x, k, dims=(2, 3))), dim=1)
                        for k in turns) / len(turns)
                outs.append(p.numpy())
        if not outs:
            return np.zeros((0, len(self.classes)))
        return np.concatenate(outs).astype(np.float64)

    def save(self, folder: str | Path) -> dict[str, str]:
        from .._weights import sha256_file

        torch = _torch()
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        torch.save(self.net.state_dict(), folder / "cnn.pt")
        meta = {"kind": "cnn", "classes": self.classes, "size": self.size,
                "context": self.context, "width": self.width, "arch": self.arch,
                "weights": "cnn.pt",
                "sha256": sha256_file(folder / "cnn.pt"), **self.meta}
        (folder / "model.json").write_text(json.dumps(meta, indent=2, default=float))
        return {"cnn.pt": meta["sha256"]}

    @classmethod
    def load(cls, folder: str | Path, meta: dict[str, Any], weights: str | None = None
             ) -> CNNClassifier:
        torch = _torch()
        net = _build_net(len(meta["classes"]), int(meta.get("width", 8)),
                         str(meta.get("arch", "small")))
        path = Path(folder) / (weights or meta["weights"])
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
            net.load_state_dict(state)
        except Exception as err:  # noqa: BLE001 - any failure means a bad file
            raise ModelError(f"{path} is not a celldyn CNN state_dict ({err})") from None
        net.eval()
        rest = {k: v for k, v in meta.items()
                if k not in ("kind", "classes", "size", "context", "width", "weights",
                             "arch")}
        return cls(net, list(meta["classes"]), int(meta["size"]), float(meta["context"]),
                   int(meta.get("width", 8)), rest, arch=str(meta.get("arch", "small")))


def train_cnn(
    crops: np.ndarray,
    y: Sequence[str],
    *,
    epochs: int = 30,
    batch_size: int = 64,
    lr: float = 3e-3,
    seed: int = 0,
    size: int | None = None,
    context: float = 2.0,
    width: int = 8,
    n_threads: int = 1,
    min_steps: int = 300,
    arch: str = "small",
    recipe: str = "adam",
) -> CNNClassifier:
    """Train the crop CNN (class-balanced cross-entropy, flips/rot90 augmentation).
    Deterministic for a given `seed` and `n_threads`.

    ``recipe="adam"`` (default): Adam at `lr`. ``recipe="onecycle"`` (the real-data
    models): AdamW with a one-cycle learning rate peaking at `lr`, label smoothing
    0.1, shifts of up to 3 px as extra augmentation, and test-time averaging over the
    four rotations (``tta`` in the record).

    Parameters
    ----------
    crops : (n, 2, S, S) float32 array
        From :func:`object_crops`.
    y : sequence of str
        Class per crop.
    epochs : int
        Passes over the data; small data sets get more, to reach `min_steps`
        gradient steps.
    """
    from .labels import check_training_labels

    torch = _torch()
    y = np.asarray([str(v) for v in y])
    classes = check_training_labels(y)
    yi = np.searchsorted(classes, y)
    torch.manual_seed(seed)
    prev_threads = torch.get_num_threads()
    torch.set_num_threads(n_threads)
    rng = np.random.default_rng(seed)
    try:
        net = _build_net(len(classes), width, arch)
        counts = np.bincount(yi, minlength=len(classes))
        weight = torch.tensor(len(yi) / (len(classes) * np.maximum(counts, 1)),
                              dtype=torch.float32)
        one = recipe == "onecycle"
        loss_fn = torch.nn.CrossEntropyLoss(weight=weight, label_smoothing=0.1 if one else 0.0)
        n = len(yi)
        steps_per_epoch = max(1, int(np.ceil(n / batch_size)))
        epochs = max(epochs, int(np.ceil(min_steps / steps_per_epoch)))
        if one:
            opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-3)
            sched = torch.optim.lr_scheduler.OneCycleLR(
                opt, lr, total_steps=epochs * steps_per_epoch)
        else:
            opt = torch.optim.Adam(net.parameters(), lr=lr, weight_decay=1e-4)
            sched = None
        X = torch.from_numpy(np.ascontiguousarray(crops, dtype=np.float32))
        Y = torch.from_numpy(yi.astype(np.int64))
        net.train()
        for _ in range(epochs):
            order = rng.permutation(n)
            for s in range(0, n, batch_size):
                idx = order[s:s + batch_size]
                xb = X[idx]
                k = int(rng.integers(4))
                xb = torch.rot90(xb, k, dims=(2, 3))
                if rng.random() < 0.5:
                    xb = torch.flip(xb, dims=(3,))
                if one:
                    dy, dx = (int(v) for v in rng.integers(-3, 4, 2))
                    xb = torch.roll(xb, (dy, dx), dims=(2, 3))
                opt.zero_grad()
                loss = loss_fn(net(xb), Y[idx])
                loss.backward()
                opt.step()
                if sched is not None:
                    sched.step()
        net.eval()
    finally:
        torch.set_num_threads(prev_threads)
    meta = {"seed": seed, "epochs": epochs, "n_train": int(n), "recipe": recipe,
            "class_counts": {c: int(v) for c, v in zip(classes, counts)}}
    if one:
        meta["tta"] = True
    return CNNClassifier(net, list(classes), int(size or crops.shape[-1]), context, width,
                         meta, arch=arch)


def saliency(model: CNNClassifier, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gradient x input of the predicted class's logit w.r.t. the intensity channel.

    Returns
    -------
    maps : (n, S, S) float array
    predicted : (n,) int array of class indices
    """
    torch = _torch()
    x = torch.from_numpy(np.ascontiguousarray(crops, dtype=np.float32)).requires_grad_(True)
    model.net.eval()
    logits = model.net(x)
    pred = logits.argmax(dim=1)
    logits.gather(1, pred[:, None]).sum().backward()
    maps = (x.grad * x)[:, 0].detach().numpy()
    return maps.astype(np.float64), pred.numpy()
