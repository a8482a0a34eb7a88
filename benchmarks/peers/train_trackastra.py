"""Train a Trackastra model from scratch, on CPU (run in benchmarks/.envs/trackastra).

Called by benchmarks/train_trackastra.py (which writes the CTC parts and picks them
from benchmarks/splits.py); needs only trackastra 0.5.6 and its `train` extra, never
celldyn:

    python train_trackastra.py --train DIR... --val DIR... --out MODEL [--epochs N]
        [--steps N] [--batch N] [--window W] [--d-model D] [--layers L] [--seed S]

Data, model and loss are Trackastra's own: ``trackastra.data.CTCData`` windows with its
``wrfeat`` object features and its augmentation (level ``--augment``), the
``TrackingTransformer`` (rotary positional attention, ``quiet_softmax`` causal norm),
and the loss of Trackastra's training script (scripts/train.py of the Trackastra
repository, re-written here because the wheel does not ship it): binary cross-entropy of
the association logits (weight 0.01) plus that of the causally normalised association
matrix, links of continuing tracks weighted 2 and division links ``1 + div_upweight``,
only pairs 1..``delta_cutoff`` frames apart, each window normalised by its number of
pairs and weighted by that number to the power 0.2. AdamW (weight decay 0.01), linear
warm-up then cosine decay, gradient norm clipped at 1.

What differs from Trackastra's published recipe, because this runs on one CPU thread
in about 20 minutes: a much smaller transformer (``--d-model``, ``--layers``; the
published 2D models use d_model 256 and 6 + 6 layers, window 6-10), a short
schedule (``--epochs`` x ``--steps`` batches), no mixed precision, and our own window
sampler (windows with a division drawn twice as often as those without, a simple
stand-in for Trackastra's division-weighted balanced sampler). Model
selection: after each epoch the loss on the ``--val`` windows (no augmentation); the
epoch with the lowest one is saved (``config.yaml``, ``model.pt``, and
``train_config.yaml`` as ``Trackastra.from_folder`` expects), its log in
``training.json``.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import random
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import torch


def _loss(model_out, batch, causal_norm: str, delta_cutoff: int, div_upweight: float):
    """Trackastra's training loss (see the module docstring)."""
    from trackastra.utils import blockwise_causal_norm, blockwise_sum

    eps = torch.finfo(torch.float32).eps
    A_pred = model_out.clamp(torch.finfo(torch.float16).min, torch.finfo(torch.float16).max)
    A = batch["assoc_matrix"]
    timepoints = batch["timepoints"]
    padding = batch["padding_mask"].bool()
    invalid = padding.unsqueeze(1) | padding.unsqueeze(2)
    A_pred = A_pred.masked_fill(invalid, 0.0)
    loss = torch.nn.functional.binary_cross_entropy_with_logits(A_pred, A, reduction="none")
    if causal_norm != "none":
        soft = torch.stack([blockwise_causal_norm(a, t, mode=causal_norm, mask_invalid=m)
                            for a, t, m in zip(A_pred, timepoints, invalid)])
        loss = 0.01 * loss + torch.nn.functional.binary_cross_entropy(
            soft.clamp(0.0, 1.0), A, reduction="none")
    with torch.no_grad():
        s1 = torch.stack([blockwise_sum(a, t, dim=-1) for a, t in zip(A, timepoints)])
        s2 = torch.stack([blockwise_sum(a, t, dim=-2) for a, t in zip(A, timepoints)])
        block = A * (s1 + s2)
        weight = 1 + 1.0 * (block == 2) + div_upweight * (block > 2)
    loss = loss * weight
    dt = timepoints.unsqueeze(1) - timepoints.unsqueeze(2)
    mask = ((dt > 0) & (dt <= delta_cutoff) & ~invalid).float()
    per_sample = (loss * mask / (mask.sum(dim=(1, 2), keepdim=True) + eps)).sum(dim=(1, 2))
    pre = torch.pow(mask.sum(dim=(1, 2)), 0.2)
    return (per_sample * pre / (pre.sum() + eps)).sum()


def _datasets(dirs, window, max_tokens, augment, log):
    import joblib
    from trackastra.data import CTCData

    out = []
    for d in dirs:
        with joblib.parallel_config(backend="sequential"):  # one CPU thread
            ds = CTCData(root=d, ndim=2, detection_folders=["TRA"], window_size=window,
                         max_tokens=max_tokens, augment=augment, features="wrfeat",
                         compress=False)
        log(f"{Path(d).parent.name}: {len(ds)} windows, "
            f"{sum(1 for n in ds.n_divs if n)} with a division")
        if len(ds):
            out.append(ds)
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", nargs="+", required=True)
    ap.add_argument("--val", nargs="+", required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--steps", type=int, default=100, help="batches per epoch")
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--window", type=int, default=4)
    ap.add_argument("--d-model", type=int, default=64)
    ap.add_argument("--layers", type=int, default=2, help="encoder and decoder layers")
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--max-tokens", type=int, default=1024)
    ap.add_argument("--augment", type=int, default=1)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--warmup", type=int, default=1, help="warm-up epochs")
    ap.add_argument("--div-upweight", type=float, default=2.0)
    ap.add_argument("--delta-cutoff", type=int, default=2)
    ap.add_argument("--causal-norm", default="quiet_softmax")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    torch.set_num_threads(1)
    logging.basicConfig(level=logging.WARNING)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    import trackastra
    import yaml
    from trackastra.data import collate_sequence_padding
    from trackastra.model import TrackingTransformer

    args.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    lines = []

    def log(msg):
        msg = f"[{time.perf_counter() - started:7.1f} s] {msg}"
        lines.append(msg)
        print(msg, flush=True)

    train = _datasets(args.train, args.window, args.max_tokens, args.augment, log)
    val = _datasets(args.val, args.window, args.max_tokens, 0, log)
    items = [(i, j) for i, ds in enumerate(train) for j in range(len(ds))]
    weights = np.array([2.0 if train[i].n_divs[j] else 1.0 for i, j in items])
    weights /= weights.sum()
    val_batches = [collate_sequence_padding([ds[j]]) for ds in val for j in range(len(ds))]
    log(f"{len(items)} training windows, {len(val_batches)} validation windows; "
        f"data loaded")

    feat_dim = train[0][0]["features"].shape[-1]
    model = TrackingTransformer(
        coord_dim=2, feat_dim=feat_dim, d_model=args.d_model, nhead=args.heads,
        num_encoder_layers=args.layers, num_decoder_layers=args.layers, dropout=0.0,
        pos_embed_per_dim=32, feat_embed_per_dim=8, window=args.window,
        spatial_pos_cutoff=256, attn_positional_bias="rope",
        attn_positional_bias_n_spatial=16, causal_norm=args.causal_norm)
    n_params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    total = args.epochs * args.steps
    warm = args.warmup * args.steps

    def factor(step):
        if step < warm:
            return 0.01 + 0.99 * step / warm
        return 0.001 + 0.999 * 0.5 * (1 + math.cos(math.pi * (step - warm) / max(1, total - warm)))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, factor)
    rng = np.random.default_rng(args.seed)
    history, best = [], math.inf
    train_config = {"features": "wrfeat", "window": args.window, "ndim": 2,
                    "trained_by": "celldyn benchmarks/peers/train_trackastra.py",
                    **{k: (str(v) if isinstance(v, Path) else v)
                       for k, v in vars(args).items()}}
    for epoch in range(args.epochs):
        model.train()
        losses = []
        for _ in range(args.steps):
            pick = rng.choice(len(items), size=args.batch, p=weights)
            batch = collate_sequence_padding([train[items[k][0]][items[k][1]] for k in pick])
            out = model(batch["coords"], batch["features"],
                        padding_mask=batch["padding_mask"])
            loss = _loss(out, batch, args.causal_norm, args.delta_cutoff, args.div_upweight)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            losses.append(float(loss))
        model.eval()
        with torch.no_grad():
            vl = float(np.mean([float(_loss(
                model(b["coords"], b["features"], padding_mask=b["padding_mask"]), b,
                args.causal_norm, args.delta_cutoff, args.div_upweight))
                for b in val_batches]))
        history.append({"epoch": epoch, "train_loss": float(np.mean(losses)),
                        "val_loss": vl, "seconds": round(time.perf_counter() - started, 1)})
        kept = vl < best
        if kept:
            best = vl
            model.save(args.out)
            with open(args.out / "train_config.yaml", "w") as fh:
                yaml.safe_dump({**train_config, "best_epoch": epoch}, fh)
        log(f"epoch {epoch}: train loss {np.mean(losses):.4f}, validation loss {vl:.4f}"
            + (" (kept)" if kept else ""))
        summary = {"trackastra": trackastra.__version__, "torch": torch.__version__,
                   "parameters": n_params, "args": train_config, "history": history,
                   "best_epoch": min(history, key=lambda h: h["val_loss"])["epoch"],
                   "train_windows": len(items), "validation_windows": len(val_batches),
                   "seconds": round(time.perf_counter() - started, 1),
                   "cpu_seconds": round(time.process_time(), 1), "log": lines}
        (args.out / "training.json").write_text(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
