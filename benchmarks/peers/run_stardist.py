"""StarDist 2D trained from scratch, run in its own environment for benchmarks/segmentation.py.

Runs with the python of ``benchmarks/.envs/stardist`` (stardist 0.9.2, csbdeep 0.8.2,
tensorflow-cpu 2.15.1; see benchmarks/setup_peers.sh); needs only numpy/scipy/scikit-image/
tensorflow/stardist, never celldyn. Nothing is downloaded: no pretrained model is used.

    python run_stardist.py train   DATA.npz MODEL_DIR --epochs E --steps-per-epoch S
                                   [--batch 4] [--seed 0] [--no-optimize-thresholds]
    python run_stardist.py predict MODEL_DIR IMAGES.npz OUT.npz --scale F

``train`` input (.npz), written by ``stardist_train_generalist`` in segmentation.py:
``train_img_<i>`` (2D, raw grey values, already rescaled so that the image's objects'
median diameter is 30 px), ``train_lab_<i>`` (int32, rescaled with nearest neighbour;
0 background, >0 object, **-1 ignore**), ``train_prob`` (sampling probability per
training image: each set's crop share split evenly over its images), and
``val_img_<i>`` / ``val_lab_<i>`` / ``val_partial`` (the validation parts, rescaled the
same way). Each image is normalised on its own to its 1st-99.8th percentiles (csbdeep
``normalize``); images smaller than the patch are padded (reflected image, label -1).

Ignored pixels: StarDist 0.9 turns off every loss term where a label is negative
(``StarDist2D.train``: "Negative values can be used to turn off all losses for the
corresponding pixels"), so the -1 pixels (unannotated nuclei of the partial CTC sets,
TRA markers grown by 15 px) are kept as -1: neither object nor background, as in our
model's and Cellpose's training. No image is dropped and none is set to 0.

The network is a fresh ``StarDist2D(Config2D(...))`` (random initialisation): 32 rays,
grid (2, 2), one input channel, StarDist's default U-Net (depth 3, 32 base filters),
128 px patches, batch 4, StarDist's defaults otherwise (Adam lr 3e-4, 90% of patches
centred on an object, ReduceLROnPlateau, keep the weights of the best validation loss),
flips / 90-degree rotations / intensity jitter as in StarDist's example notebook, and the
training images sampled with ``train_prob`` (with replacement). ``train_tensorboard=False``.
The validation parts give StarDist's validation loss (one random patch per image, drawn
once) and, after training, its ``optimize_thresholds`` (probability and NMS levels) on
the validation images of the fully annotated sets only (StarDist's matching has no
ignore region, so partially annotated frames would count unannotated nuclei as false
positives). Test parts are never read here. Seed fixed (numpy, TensorFlow), one thread.
Writes MODEL_DIR (config.json, weights_best.h5, weights_last.h5, thresholds.json) and
MODEL_DIR/train.json.

``predict`` input: ``img_<i>`` (raw). Each image is rescaled by ``--scale`` (linear),
normalised to its 1st-99.8th percentiles, segmented by ``predict_instances`` (the model's
thresholds; tiles of at most about 1024 px), and the labels are resized back to the
image's shape with nearest neighbour. Output: ``lab_<i>`` and ``seconds`` (per image:
rescaling, normalisation, network, NMS and resizing back).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

THREADS = int(os.environ.get("CELLDYN_PEER_THREADS", "1"))
os.environ.setdefault("OMP_NUM_THREADS", str(THREADS))
os.environ.setdefault("MKL_NUM_THREADS", str(THREADS))
os.environ.setdefault("TF_NUM_INTRAOP_THREADS", str(THREADS))
os.environ.setdefault("TF_NUM_INTEROP_THREADS", str(THREADS))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np  # noqa: E402

SEED = 0
PATCH = 128
LOW, HIGH = 1.0, 99.8


def _setup(seed: int = SEED):
    import random

    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(THREADS)
    tf.config.threading.set_inter_op_parallelism_threads(THREADS)
    random.seed(seed)
    np.random.seed(seed)
    tf.random.set_seed(seed)
    return tf


def _norm(img: np.ndarray) -> np.ndarray:
    from csbdeep.utils import normalize

    return normalize(img.astype(np.float32), LOW, HIGH, axis=None)


def _pad(img: np.ndarray, lab: np.ndarray, size: int = PATCH):
    """Pad an image smaller than the patch (reflected image, ignored labels)."""
    ph, pw = max(0, size - img.shape[0]), max(0, size - img.shape[1])
    if not ph and not pw:
        return img, lab
    pads = ((ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2))
    mode = "reflect" if min(img.shape) > max(ph, pw) // 2 + 1 else "symmetric"
    return (np.pad(img, pads, mode=mode),
            np.pad(lab, pads, mode="constant", constant_values=-1))


def _augment(x: np.ndarray, y: np.ndarray):
    """StarDist's example augmenter: random flips / 90-degree rotations (image and labels
    alike), intensity scale 0.6-2 and shift -0.2-0.2, Gaussian noise sigma 0-0.02."""
    k = np.random.randint(4)
    x, y = np.rot90(x, k), np.rot90(y, k)
    for ax in (0, 1):
        if np.random.rand() > 0.5:
            x, y = np.flip(x, ax), np.flip(y, ax)
    x = x * np.random.uniform(0.6, 2.0) + np.random.uniform(-0.2, 0.2)
    x = x + np.random.normal(0, 0.02 * np.random.uniform(0, 1), x.shape)
    return np.ascontiguousarray(x, np.float32), np.ascontiguousarray(y)


def _weighted_data_class(prob: np.ndarray):
    """StarDistData2D whose training batches draw images with probabilities `prob`
    (with replacement) instead of a uniform permutation; the validation patches (a
    generator of another length) keep StarDist's own sampling."""
    from stardist.models import model2d

    base = model2d.StarDistData2D
    p = np.asarray(prob, float) / float(np.sum(prob))

    class WeightedData(base):
        def __init__(self, X, Y, *a, **kw):
            super().__init__(X, Y, *a, **kw)
            if len(X) == len(p) and self.length > 1:
                self.index_gen = lambda n: np.random.choice(n, size=n, replace=True, p=p)

    return base, WeightedData


def train(args) -> int:
    tf = _setup(args.seed)
    import importlib.metadata as md

    from stardist.models import Config2D, StarDist2D, model2d

    t_load = time.perf_counter()
    with np.load(args.data) as d:
        n_tr = sum(k.startswith("train_img_") for k in d.files)
        n_va = sum(k.startswith("val_img_") for k in d.files)
        X, Y = [], []
        for i in range(n_tr):
            x, y = _pad(_norm(d[f"train_img_{i}"]), d[f"train_lab_{i}"].astype(np.int32))
            X.append(x)
            Y.append(y)
        prob = d["train_prob"].astype(float)
        Xv, Yv, Xo, Yo = [], [], [], []
        for i in range(n_va):
            xo, yo = _norm(d[f"val_img_{i}"]), d[f"val_lab_{i}"].astype(np.int32)
            Xo.append(xo)
            Yo.append(yo)
            x, y = _pad(xo, yo)
            Xv.append(x)
            Yv.append(y)
        val_partial = d["val_partial"].astype(bool) if "val_partial" in d.files else \
            np.zeros(n_va, bool)
    load_sec = time.perf_counter() - t_load
    conf = Config2D(n_rays=32, grid=(2, 2), n_channel_in=1, train_patch_size=(PATCH, PATCH),
                    train_batch_size=args.batch, train_epochs=args.epochs,
                    train_steps_per_epoch=args.steps_per_epoch, train_tensorboard=False,
                    use_gpu=False)
    out = Path(args.model_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    model = StarDist2D(conf, name=out.name, basedir=str(out.parent))
    base, weighted = _weighted_data_class(prob)
    model2d.StarDistData2D = weighted
    t0 = time.perf_counter()
    try:
        hist = model.train(X, Y, validation_data=(Xv, Yv), augmenter=_augment, seed=args.seed,
                           epochs=args.epochs, steps_per_epoch=args.steps_per_epoch)
    finally:
        model2d.StarDistData2D = base
    sec = time.perf_counter() - t0
    thr: dict = {"prob": float(model.thresholds.prob), "nms": float(model.thresholds.nms)}
    opt_sec, n_opt = 0.0, 0
    if args.optimize_thresholds:
        keep = [i for i in range(n_va) if not val_partial[i]]
        n_opt = len(keep)
        t1 = time.perf_counter()
        # StarDist's own tiling guess (tiles of about 256 px) for the validation images
        model.optimize_thresholds([Xo[i] for i in keep], [np.maximum(Yo[i], 0) for i in keep])
        opt_sec = time.perf_counter() - t1
        thr = {"prob": float(model.thresholds.prob), "nms": float(model.thresholds.nms)}
    h = hist.history
    meta = {"stardist": md.version("stardist"), "csbdeep": md.version("csbdeep"),
            "tensorflow": tf.__version__, "epochs": args.epochs,
            "steps_per_epoch": args.steps_per_epoch, "batch": args.batch, "patch": PATCH,
            "iterations": args.epochs * args.steps_per_epoch, "n_rays": 32, "grid": [2, 2],
            "n_train_images": n_tr, "n_val_images": n_va,
            "n_threshold_images": n_opt, "seed": args.seed, "threads": THREADS,
            "load_seconds": round(load_sec, 1), "train_seconds": round(sec, 1),
            "threshold_seconds": round(opt_sec, 1), "thresholds": thr,
            "best_epoch": int(np.argmin(h["val_loss"])) + 1 if h.get("val_loss") else None,
            "loss": [round(float(v), 4) for v in h.get("loss", [])],
            "val_loss": [round(float(v), 4) for v in h.get("val_loss", [])]}
    (out / "train.json").write_text(json.dumps(meta, indent=1))
    print(json.dumps({k: v for k, v in meta.items() if k not in ("loss", "val_loss")}),
          flush=True)
    return 0


def _tiles(shape) -> tuple[int, int]:
    return tuple(max(1, int(np.ceil(s / 1024))) for s in shape)


def _segment(model, img: np.ndarray, scale: float) -> np.ndarray:
    from scipy import ndimage as ndi
    from skimage.transform import resize

    x = img.astype(np.float32)
    if abs(scale - 1.0) > 1e-6:
        x = ndi.zoom(x, scale, order=1)
    x = _norm(x)
    lab = model.predict_instances(x, n_tiles=_tiles(x.shape), show_tile_progress=False)[0]
    if lab.shape != img.shape:
        lab = resize(lab, img.shape, order=0, preserve_range=True, anti_aliasing=False)
    return np.asarray(lab, np.int32)


def predict(args) -> int:
    _setup()
    from stardist.models import StarDist2D

    p = Path(args.model_dir)
    model = StarDist2D(None, name=p.name, basedir=str(p.parent))
    with np.load(args.data) as d:
        n = sum(k.startswith("img_") for k in d.files)
        imgs = [d[f"img_{i}"] for i in range(n)]
    _segment(model, imgs[0][:64, :64], 1.0)    # warm-up (not timed)
    out, secs = {}, []
    for i, img in enumerate(imgs):
        t0 = time.perf_counter()
        out[f"lab_{i}"] = _segment(model, img, args.scale)
        secs.append(time.perf_counter() - t0)
    np.savez_compressed(args.output, seconds=np.asarray(secs), **out)
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train")
    t.add_argument("data")
    t.add_argument("model_dir")
    t.add_argument("--epochs", type=int, required=True)
    t.add_argument("--steps-per-epoch", type=int, required=True)
    t.add_argument("--batch", type=int, default=4)
    t.add_argument("--seed", type=int, default=SEED)
    t.add_argument("--no-optimize-thresholds", dest="optimize_thresholds",
                   action="store_false")
    p = sub.add_parser("predict")
    p.add_argument("model_dir")
    p.add_argument("data")
    p.add_argument("output")
    p.add_argument("--scale", type=float, required=True)
    args = ap.parse_args(argv)
    return {"train": train, "predict": predict}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
