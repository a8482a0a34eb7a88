"""Cellpose 3 trained from scratch, run in its own environment for benchmarks/segmentation.py.

Runs with the python of ``benchmarks/.envs/cellpose`` (cellpose 3.1.1.3, torch 2.13.0 CPU;
see benchmarks/setup_peers.sh); needs only numpy/tifffile/torch/cellpose, never celldyn.

    python run_cellpose.py train  DATA.npz MODEL_DIR --epochs N [--nimg-per-epoch M]
                                  [--save-every K]
    python run_cellpose.py predict DATA.npz OUT.npz --model MODEL_FILE
    python run_cellpose.py peakmem IMAGE.tif --model MODEL_FILE --diameter D

``train`` input (.npz): ``train_img_<i>`` (2D, raw), ``train_lab_<i>`` (int32; 0 background,
>0 nucleus, -1 ignore), ``train_prob`` (sampling probability per training image), and the
same ``val_img_<i>`` / ``val_lab_<i>`` (test loss only, no model selection).
The network is a fresh ``CPnet`` (``CellposeModel(pretrained_model=False)``: no weights
are loaded or downloaded), ``diam_mean`` 30, trained by ``cellpose.train.train_seg`` with its
defaults (AdamW lr 0.005, weight decay 1e-5, batch 8, 224 px crops, scale range 0.5,
per-image rescaling to diameter 30, its own LR warm-up/decay) except ``min_train_masks=1``
(GOWT1 SEG frames annotate few nuclei) and sampling probabilities per source. Ignored
pixels (-1) are left out of both loss terms: the flows are computed from the labels with
the ignore region as background and the loss is Cellpose's own (flow MSE / 2 + cell
probability BCE) averaged over non-ignored pixels only (identical where nothing is ignored).
Writes ``MODEL_DIR/cellpose3_scratch`` (weights) and ``MODEL_DIR/train.json``.

``predict`` input: ``img_<i>`` and ``diameter`` (one per image). Output: ``lab_<i>`` and
``seconds`` (per image, ``model.eval`` only: normalisation, network, flow dynamics, masks).
``peakmem`` prints the growth (MiB) of this process's peak RSS while segmenting one image,
the peak being reset after imports and a 64x64 warm-up (as benchmarks/segmentation.py does).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np
import torch

SEED = 0


def _setup():
    torch.set_num_threads(int(os.environ.get("CELLDYN_PEER_THREADS", "1")))
    torch.manual_seed(SEED)
    np.random.seed(SEED)


def _masked_loss(lbl, y, device):
    """cellpose.train._loss_fn_seg with pixels where lbl[:, 0] < 0 left out.

    ``lbl[:, 0]`` is the cell-probability target (1 inside, 0 outside, -1 ignore; warped with
    nearest-neighbour interpolation by ``random_rotate_and_resize``), ``lbl[:, 1:]`` the flows.
    """
    lbl_t = torch.from_numpy(lbl).to(device)
    valid = (lbl_t[:, 0] >= 0).float()
    n = valid.sum().clamp(min=1.0)
    veci = 5.0 * lbl_t[:, 1:]
    mse = ((y[:, :2] - veci) ** 2 * valid[:, None]).sum() / (2.0 * n)
    loss = mse / 2.0   # MSELoss(mean) over 2 channels, then /2, as in cellpose
    bce = torch.nn.functional.binary_cross_entropy_with_logits(
        y[:, -1], (lbl_t[:, 0] > 0.5).float(), reduction="none")
    return loss + (bce * valid).sum() / n


def _flows(labels: list[np.ndarray], device) -> list[np.ndarray]:
    """[labels, cellprob, flowY, flowX] per image; cellprob -1 where labels == -1."""
    from cellpose import dynamics

    out = []
    for lab in labels:
        ignore = lab < 0
        clean = np.where(ignore, 0, lab).astype(np.int32)
        f = dynamics.labels_to_flows([clean], device=device)[0]
        f[1][ignore] = -1.0
        out.append(f)
    return out


def train(args) -> int:
    import logging

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("cellpose.dynamics").setLevel(logging.WARNING)
    _setup()
    from cellpose import models
    from cellpose import train as cp_train

    with np.load(args.data) as d:
        n_tr = sum(k.startswith("train_img_") for k in d.files)
        n_va = sum(k.startswith("val_img_") for k in d.files)
        imgs = [d[f"train_img_{i}"].astype(np.float32) for i in range(n_tr)]
        labs = [d[f"train_lab_{i}"] for i in range(n_tr)]
        prob = d["train_prob"].astype(float)
        vimgs = [d[f"val_img_{i}"].astype(np.float32) for i in range(n_va)]
        vlabs = [d[f"val_lab_{i}"] for i in range(n_va)]
    prob = prob / prob.sum()
    model = models.CellposeModel(gpu=False, pretrained_model=False, diam_mean=30.0, nchan=2)
    assert not model.pretrained_model, "must start from random weights"
    dev = model.device
    cp_train._loss_fn_seg = _masked_loss
    out_dir = Path(args.model_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    flows, vflows = _flows(labs, dev), (_flows(vlabs, dev) if vimgs else None)
    t_flows = time.perf_counter() - t0
    t1 = time.perf_counter()
    path, tr_loss, te_loss = cp_train.train_seg(
        model.net, train_data=imgs, train_labels=flows, train_probs=prob,
        test_data=vimgs or None, test_labels=vflows, channels=[0, 0], normalize=True,
        n_epochs=args.epochs, nimg_per_epoch=args.nimg_per_epoch, min_train_masks=1,
        save_path=str(out_dir), save_every=args.save_every, model_name="cellpose3_scratch")
    sec = time.perf_counter() - t1
    meta = {"cellpose": _version(), "torch": torch.__version__, "epochs": args.epochs,
            "nimg_per_epoch": args.nimg_per_epoch, "batch": 8, "bsize": 224,
            "iterations": args.epochs * -(-args.nimg_per_epoch // 8),
            "n_train_images": n_tr, "n_val_images": n_va,
            "train_probs": [round(float(p), 5) for p in prob], "seed": SEED,
            "threads": torch.get_num_threads(), "flow_seconds": round(t_flows, 1),
            "train_seconds": round(sec, 1), "model": str(path),
            "train_loss": [round(float(x), 4) for x in tr_loss],
            "test_loss": {i: round(float(x), 4) for i, x in enumerate(te_loss) if x}}
    (out_dir / "train.json").write_text(json.dumps(meta, indent=1))
    print(json.dumps({k: v for k, v in meta.items() if k not in ("train_loss", "train_probs")}),
          flush=True)
    return 0


def _version() -> str:
    import importlib.metadata as md

    return md.version("cellpose")


def _load(model_file: str):
    from cellpose import models

    return models.CellposeModel(gpu=False, pretrained_model=model_file)


def _eval(model, img: np.ndarray, diameter: float) -> np.ndarray:
    masks = model.eval(img.astype(np.float32), channels=[0, 0], diameter=float(diameter))[0]
    return np.asarray(masks, np.int32)


def predict(args) -> int:
    _setup()
    model = _load(args.model)
    with np.load(args.data) as d:
        n = sum(k.startswith("img_") for k in d.files)
        imgs = [d[f"img_{i}"] for i in range(n)]
        diam = d["diameter"].astype(float)
    out, secs = {}, []
    _eval(model, imgs[0][:64, :64], diam[0])    # warm-up (not timed)
    for i, img in enumerate(imgs):
        t0 = time.perf_counter()
        out[f"lab_{i}"] = _eval(model, img, diam[i])
        secs.append(time.perf_counter() - t0)
    np.savez_compressed(args.output, seconds=np.asarray(secs), **out)
    return 0


def _status(key: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key):
                return int(line.split()[1])
    return 0


def peakmem(args) -> int:
    import gc

    import tifffile

    _setup()
    model = _load(args.model)
    img = tifffile.imread(args.image)
    _eval(model, img[:64, :64], args.diameter)
    gc.collect()
    before = _status("VmRSS")
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")
    _eval(model, img, args.diameter)
    print((_status("VmHWM") - before) / 1024)
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train")
    t.add_argument("data")
    t.add_argument("model_dir")
    t.add_argument("--epochs", type=int, required=True)
    t.add_argument("--nimg-per-epoch", type=int, default=64)
    t.add_argument("--save-every", type=int, default=10**9,
                   help="also write the weights every N epochs (a checkpoint to stop at)")
    p = sub.add_parser("predict")
    p.add_argument("data")
    p.add_argument("output")
    p.add_argument("--model", required=True)
    m = sub.add_parser("peakmem")
    m.add_argument("image")
    m.add_argument("--model", required=True)
    m.add_argument("--diameter", type=float, required=True)
    args = ap.parse_args(argv)
    return {"train": train, "predict": predict, "peakmem": peakmem}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
