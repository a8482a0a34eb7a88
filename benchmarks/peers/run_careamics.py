"""CAREamics Noise2Void, run in its own environment for benchmarks/denoising.py.

Runs with the python of ``benchmarks/.envs/careamics`` (careamics 0.3.5 with the pinned
CPU torch 2.13.0; see benchmarks/setup_peers.sh); needs only numpy/torch/careamics,
never celldyn.

    python run_careamics.py IN.npz OUT.npz --steps N [--patch 64] [--batch 16] [--seed 0]

Input (.npz): ``noisy``, a (S, Y, X) float32 stack (the images of one data set or the
frames of one movie; axes ``SYX``). Output: ``denoised`` (same shape, float32),
``train_seconds``, ``predict_seconds``, ``steps`` (optimizer steps actually run),
``last_loss`` (training loss of the last epoch) and ``version``.

CAREamics at its N2V defaults (``create_advanced_n2v_config``: UNet depth 2, 32 channels,
0.2 % of pixels masked per patch in an 11 px window, flips and 90° rotations, Adam lr
1e-4 with ReduceLROnPlateau, mean/std normalisation, 8 validation patches held out of the
training data), except the training length (``max_steps``, so it trains for the same number
of steps and batch size as celldyn's n2v), ``num_workers=0`` and the seed.

torchvision: CAREamics imports it at package import (its LVAE modules, its BioImage.IO
export), never on the N2V path. The PyPI wheel of torchvision for torch 2.13.0 is a
CUDA build whose operators fail to load against the CPU torch ("operator
torchvision::nms does not exist"), so setup_peers.sh does not install it and this script
puts empty stand-in modules in ``sys.modules`` before importing CAREamics, after telling
torchmetrics that torchvision is absent. Any real use of torchvision would fail loudly
(AttributeError), so the figures are those of CAREamics' own N2V code.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import types

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import torch


def _torchvision_stand_in() -> None:
    import torchmetrics.utilities.imports as tmi

    for name in dir(tmi):
        req = getattr(tmi, name)
        if "TORCHVISION" in name and hasattr(req, "requirement"):
            req.available, req.message = False, "torchvision not installed (CPU torch)"
    tv = types.ModuleType("torchvision")
    tv.__version__ = "0+absent"
    tr = types.ModuleType("torchvision.transforms")
    fn = types.ModuleType("torchvision.transforms.functional")
    tv.transforms, tr.functional = tr, fn
    sys.modules.update({"torchvision": tv, "torchvision.transforms": tr,
                        "torchvision.transforms.functional": fn})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("inp")
    ap.add_argument("out")
    ap.add_argument("--steps", type=int, required=True)
    ap.add_argument("--patch", type=int, default=64)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(int(os.environ.get("CELLDYN_PEER_THREADS", "1")))
    _torchvision_stand_in()
    import careamics
    from careamics import CAREamist
    from careamics.config import create_advanced_n2v_config
    from lightning.pytorch import seed_everything

    seed_everything(args.seed, workers=True)
    noisy = np.load(args.inp)["noisy"].astype(np.float32)
    cfg = create_advanced_n2v_config(
        experiment_name="celldyn_bench", data_type="array", axes="SYX",
        patch_size=[args.patch, args.patch], batch_size=args.batch, num_epochs=100000,
        num_workers=0, trainer_params={"max_steps": args.steps,
                                       "enable_progress_bar": False},
        logger="none")
    with tempfile.TemporaryDirectory() as work:
        t0 = time.perf_counter()
        model = CAREamist(cfg, work_dir=work)
        model.train(train_data=noisy)
        train_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        pred, _ = model.predict(pred_data=noisy, data_type="array", axes="SYX",
                                tile_size=(256, 256), tile_overlap=(48, 48))
        predict_s = time.perf_counter() - t0
        steps = int(model.trainer.global_step)
        hist = getattr(model.trainer, "callback_metrics", {})
        last = float(hist["train_loss_epoch"]) if "train_loss_epoch" in hist else float("nan")
    den = np.concatenate([np.asarray(p, np.float32).reshape(-1, *noisy.shape[-2:])
                          for p in pred])
    if den.shape != noisy.shape:
        raise SystemExit(f"careamics returned {den.shape}, expected {noisy.shape}")
    np.savez(args.out, denoised=den, train_seconds=train_s, predict_seconds=predict_s,
             steps=steps, last_loss=last, version=careamics.__version__)
    print(f"careamics {careamics.__version__}: {steps} steps in {train_s:.1f} s, "
          f"predict {predict_s:.1f} s, last epoch loss {last:.4f}")


if __name__ == "__main__":
    main()
