"""Denoising on real noisy/clean pairs: classical (scikit-image) vs self-supervised.

Data (../shared/data, see its README for sources and citations):

- ``denoise-W2S-widefield``: widefield fluorescence, one shot vs the mean of 400
  (Zhou et al., ECCV Workshops 2020; 8-bit copy from Mannam et al., Optica 2022),
  256x256 crops, every pair listed in its pairs.csv.
- ``denoise-FMD-samples``: 2 pairs, one shot vs the mean of 50 (Zhang et al., CVPR 2019).

Both were min-max stretched to 0..255 per image upstream, so every output (and the
noisy input) is first mapped to its clean image by a least-squares affine fit
``clean ~ a * x + b``; PSNR (data range 255) and SSIM are computed on that.

Methods: the noisy input itself; ``nlmeans`` and ``tv`` (sigma estimated per image,
default parameters, nothing tuned on these pairs); ``n2v``: one blind-spot U-Net per
data set, trained self-supervised on that set's *noisy* images only (as a user
would train on their own movie of one microscope; the clean images are never seen
in training; training uses the defaults of :func:`celldyn.denoise.train_denoiser`
except the step count below, chosen before seeing any score). ``temporal`` is not
run: these pairs have no time axis. CAREamics' N2V is not run: installing it here
would replace torch 2.13.0 by a CUDA build of torch 2.11.0.

Seconds per megapixel: inference (denoising) time per output megapixel; n2v's
training time is reported separately.

Usage::

    nice python benchmarks/denoising.py [--data ../shared/data] [--steps 600]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import tifffile
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

sys.path.insert(0, str(Path(__file__).parent))
from _results import markdown_table, write_section  # noqa: E402

from celldyn.denoise import denoise_movie, estimate_noise_model, train_denoiser  # noqa: E402

SETS = ("denoise-W2S-widefield", "denoise-FMD-samples")
CLASSICAL = ("nlmeans", "tv")


def load(folder: Path) -> tuple[list[str], np.ndarray, np.ndarray]:
    files = list(pd.read_csv(folder / "pairs.csv")["file"])
    noisy = np.stack([tifffile.imread(folder / "noisy" / f) for f in files])
    clean = np.stack([tifffile.imread(folder / "clean" / f) for f in files])
    return files, noisy.astype(np.float32), clean.astype(np.float32)


def affine_fit(x: np.ndarray, clean: np.ndarray) -> np.ndarray:
    """Least-squares ``a * x + b`` closest to `clean` (the pairs were scaled apart)."""
    design = np.stack([x.ravel(), np.ones(x.size)], axis=1).astype(np.float64)
    (a, b), *_ = np.linalg.lstsq(design, clean.ravel().astype(np.float64), rcond=None)
    return a * x.astype(np.float64) + b


def scores(x: np.ndarray, clean: np.ndarray) -> tuple[float, float]:
    fit = affine_fit(x, clean)
    c = clean.astype(np.float64)
    return (float(peak_signal_noise_ratio(c, fit, data_range=255.0)),
            float(structural_similarity(c, fit, data_range=255.0)))


def run(data: Path, steps: int, seed: int) -> dict:
    rows, per_image, models = [], [], {}
    for name in SETS:
        files, noisy, clean = load(data / name)
        mpix = noisy.size / 1e6
        nm = estimate_noise_model(noisy)
        outputs: dict[str, np.ndarray] = {"noisy": noisy}
        secs: dict[str, float] = {"noisy": 0.0}
        for m in CLASSICAL:
            t0 = time.perf_counter()
            outputs[m] = denoise_movie(noisy, method=m)
            secs[m] = time.perf_counter() - t0
        t0 = time.perf_counter()
        model = train_denoiser(noisy, method="n2v", epochs=steps // 50,
                               steps_per_epoch=50, seed=seed, progress=True)
        train_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        outputs["n2v"] = model(noisy)
        secs["n2v"] = time.perf_counter() - t0
        models[name] = {"train_seconds": train_s, "steps": steps,
                        "loss_first_last": [model.losses[0], model.losses[-1]],
                        "noise_model": {"gain": nm.gain, "offset": nm.offset}}
        for m, out in outputs.items():
            ps = [scores(o, c) for o, c in zip(out, clean)]
            for f, (p, s) in zip(files, ps):
                per_image.append({"set": name, "file": f, "method": m, "psnr": p, "ssim": s})
            rows.append({
                "set": name, "method": m, "n_pairs": len(files),
                "psnr": float(np.mean([p for p, _ in ps])),
                "ssim": float(np.mean([s for _, s in ps])),
                "s_per_mpix": secs[m] / mpix,
                "train_s": train_s if m == "n2v" else 0.0,
            })
            print(f"{name:24s} {m:8s} PSNR {rows[-1]['psnr']:6.2f}  SSIM "
                  f"{rows[-1]['ssim']:.3f}  {rows[-1]['s_per_mpix']:.2f} s/MP", flush=True)
    gaps = {}
    for name in SETS:
        by = {r["method"]: r for r in rows if r["set"] == name}
        gaps[name] = by["n2v"]["psnr"] - by["nlmeans"]["psnr"]
    return {"rows": rows, "per_image": per_image, "models": models,
            "n2v_minus_nlmeans_db": gaps, "seed": seed}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path,
                    default=Path(__file__).resolve().parents[2] / "shared" / "data")
    ap.add_argument("--json", type=Path, default=Path(__file__).with_name("denoising.json"))
    ap.add_argument("--steps", type=int, default=600, help="n2v training steps per set")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-results-md", action="store_true")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    started = time.perf_counter()
    res = run(args.data, args.steps, args.seed)
    res["seconds"] = time.perf_counter() - started
    args.json.write_text(json.dumps(res, indent=2))
    cols = ["set", "method", "n_pairs", "psnr", "ssim", "s_per_mpix", "train_s"]
    table = markdown_table(res["rows"], cols)
    print(table)
    verdict = []
    for name, gap in res["n2v_minus_nlmeans_db"].items():
        ok = "met" if gap >= 1.0 else "**missed**"
        verdict.append(f"- {name}: n2v − nlmeans = {gap:+.2f} dB (target ≥ +1 dB: {ok})")
    nms = "\n".join(
        f"- {k}: gain {v['noise_model']['gain']:.3g}, offset {v['noise_model']['offset']:.3g} "
        f"(in the 8-bit stretched units; n2v trained {v['steps']} steps in "
        f"{v['train_seconds']:.0f} s, loss {v['loss_first_last'][0]:.3f} → "
        f"{v['loss_first_last'][1]:.3f})" for k, v in res["models"].items())
    body = f"""Script: `nice python benchmarks/denoising.py --steps {args.steps}`
({res['seconds']:.0f} s in all, 1 torch thread, seed {res['seed']}).

Real noisy/clean pairs (denoise-W2S-widefield: one widefield shot vs the mean of
400; denoise-FMD-samples: one shot vs the mean of 50). Each output is mapped to its
clean image by a least-squares affine fit before PSNR (data range 255) and SSIM,
because the pairs were stretched to 0..255 separately upstream. The noisy row is
the input after the same fit. nlmeans / tv: scikit-image with sigma estimated per
image, default parameters (not tuned on these pairs). n2v: one blind-spot U-Net per
set trained self-supervised on that set's noisy images only (clean never seen); it is
applied to the images it was trained on, as it would be to a user's own movie.
s_per_mpix: denoising time per megapixel; train_s: n2v training time for the set.
`temporal` is not run (no time axis in these pairs); CAREamics N2V is not run
(installing it would replace torch 2.13.0 by a CUDA torch 2.11.0).

{table}

Target (self-supervised beats non-local means by ≥ 1 dB on the real pairs):
{chr(10).join(verdict)}

Noise model estimated from each set's noisy images:
{nms}

Not measured yet: added Poisson-Gaussian noise at three levels on real frames, and
the downstream effect on segmentation AP@0.5 and tracking TRA.
"""
    if not args.no_results_md:
        write_section("Denoising", body, packages=("torch", "scikit-image"))


if __name__ == "__main__":
    main()
