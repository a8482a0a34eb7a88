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
from _results import markdown_table, write_section

from celldyn.denoise import denoise_movie, estimate_noise_model, train_denoiser

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


ADDED_SET = "Fluo-N2DL-HeLa-01"
ADDED_FRAMES = range(12, 16)          # 4 consecutive frames with SEG (13 is dense)
ADDED_PEAKS = (300.0, 100.0, 30.0)    # expected photons at the brightest clean pixel
READ_SIGMA = 2.0                      # Gaussian read noise, photons


def _seg_ap50(frames: list[np.ndarray], gts: list[np.ndarray]) -> float:
    """AP@0.5 = TP / (TP + FP + FN), counts summed over frames; unannotated nuclei
    (HeLa SEG is partial except frame 13) ignored, as in benchmarks/segmentation.py."""
    from celldyn.segment import segment_movie
    from celldyn.segment.deep.metrics import match_counts

    pred = segment_movie(np.stack(frames), method="watershed")
    tot = np.zeros(3, int)
    for gt, p in zip(gts, pred):
        tot += match_counts(gt, p, (0.5,), ignore_unannotated=True)[0.5]
    return float(tot[0] / max(1, tot.sum()))


def run_added(data: Path, steps: int, seed: int) -> dict:
    """Real HeLa frames (taken as clean) + simulated Poisson-Gaussian noise."""
    from celldyn.denoise import NoiseModel
    from celldyn.io.ctc import read_label_frames

    root = data / ADDED_SET
    seg = read_label_frames(root / "01_GT" / "SEG")
    full = np.stack([tifffile.imread(root / "01" / f"t{t:03d}.tif") for t in ADDED_FRAMES])
    clean = full.astype(np.float64)
    gts = [seg[t].astype(np.int32) for t in ADDED_FRAMES]
    clean = (clean - clean.min()) / (clean.max() - clean.min())
    ap_clean = _seg_ap50(list(clean), gts)
    rows = []
    for peak in ADDED_PEAKS:
        x = clean * peak
        noisy = NoiseModel(gain=1.0, offset=READ_SIGMA**2).add_noise(x, rng=seed)
        outputs = {"noisy": noisy}
        secs = {"noisy": 0.0}
        for m in CLASSICAL:
            t0 = time.perf_counter()
            outputs[m] = denoise_movie(noisy, method=m)
            secs[m] = time.perf_counter() - t0
        train = {}
        for m in ("n2v", "temporal"):
            t0 = time.perf_counter()
            model = train_denoiser(noisy, method=m, epochs=max(1, steps // 50),
                                   steps_per_epoch=50, seed=seed)
            train[m] = time.perf_counter() - t0
            t0 = time.perf_counter()
            outputs[m] = model(noisy)
            secs[m] = time.perf_counter() - t0
        nm = estimate_noise_model(noisy)
        ap_noisy = None
        for m, out in outputs.items():
            ps = [float(peak_signal_noise_ratio(c, o.astype(np.float64), data_range=peak))
                  for c, o in zip(x, out)]
            ss = [float(structural_similarity(c, o.astype(np.float64), data_range=peak))
                  for c, o in zip(x, out)]
            ap = _seg_ap50(list(out), gts)
            ap_noisy = ap if m == "noisy" else ap_noisy
            lost = ap_clean - ap_noisy
            rows.append({"peak_photons": peak, "method": m, "psnr": float(np.mean(ps)),
                         "ssim": float(np.mean(ss)), "ap50_watershed": ap,
                         "ap50_restored": (ap - ap_noisy) / lost if lost > 0.01 and m != "noisy"
                         else float("nan"),
                         "s_per_mpix": secs[m] / (noisy.size / 1e6),
                         "train_s": train.get(m, 0.0),
                         "gain_est": nm.gain, "offset_est": nm.offset})
            print(f"peak {peak:5.0f} {m:8s} PSNR {rows[-1]['psnr']:6.2f} SSIM "
                  f"{rows[-1]['ssim']:.3f} AP50 {ap:.3f}", flush=True)
    return {"set": ADDED_SET, "frames": list(ADDED_FRAMES),
            "ap50_clean": ap_clean, "read_sigma": READ_SIGMA, "steps": steps, "rows": rows}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path,
                    default=Path(__file__).resolve().parents[2] / "shared" / "data")
    ap.add_argument("--json", type=Path, default=Path(__file__).with_name("denoising.json"))
    ap.add_argument("--steps", type=int, default=600, help="n2v training steps per set")
    ap.add_argument("--added-steps", type=int, default=300,
                    help="n2v / temporal training steps per added-noise movie")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-results-md", action="store_true")
    ap.add_argument("--part", choices=["pairs", "added", "all", "none"], default="all",
                    help="run only one part (none: rewrite RESULTS.md from --json); the "
                    "other's results are kept from --json")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    old = json.loads(args.json.read_text()) if args.json.exists() else {}
    if args.part in ("pairs", "all"):
        started = time.perf_counter()
        res = run(args.data, args.steps, args.seed)
        res["seconds"] = time.perf_counter() - started
    else:
        res = {k: v for k, v in old.items() if k != "added"}
        if "rows" not in res:
            raise SystemExit(f"--part added needs the pairs results in {args.json}; "
                             "run --part pairs (or all) first")
    if args.part in ("added", "all"):
        started = time.perf_counter()
        res["added"] = run_added(args.data, args.added_steps, args.seed)
        res["added"]["seconds"] = time.perf_counter() - started
    elif "added" in old:
        res["added"] = old["added"]
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

{added_text(res.get("added"))}
"""
    if not args.no_results_md:
        write_section("Denoising", body, packages=("torch", "scikit-image"))


def added_text(add: dict | None) -> str:
    if not add:
        return ("Not measured yet: added Poisson-Gaussian noise on real frames and its "
                "downstream effect.")
    cols = ["peak_photons", "method", "psnr", "ssim", "ap50_watershed", "ap50_restored",
            "s_per_mpix", "train_s"]
    lost = {r["peak_photons"]: add["ap50_clean"] - r["ap50_watershed"]
            for r in add["rows"] if r["method"] == "noisy"}
    est = {r["peak_photons"]: (r["gain_est"], r["offset_est"]) for r in add["rows"]}
    notes = [f"- peak {p:g}: AP lost to noise {v:+.3f}"
             + (" (no AP lost: the share restored is undefined, nan)" if v <= 0.01 else "")
             + f"; noise model estimate gain {est[p][0]:.3g}, offset {est[p][1]:.3g}"
             for p, v in lost.items()]
    return f"""### Added Poisson-Gaussian noise on real frames

{add['set']} frames {add['frames'][0]}–{add['frames'][-1]} (full 700x1100 frames; SEG
annotates 2, 59, 4 and 8 nuclei in them), rescaled to 0..1 and taken as *clean* (they
carry their own camera noise), times the peak photon count, Poisson noise plus Gaussian read noise
(sigma {add['read_sigma']:g} photons). PSNR/SSIM against that clean movie (no fit: the
denoisers keep the scale). Downstream: AP@0.5 of the classical watershed segmenter
(defaults) against the partial SEG annotation (unannotated nuclei ignored); on the clean
frames it is {add['ap50_clean']:.3f}. ap50_restored = (AP denoised − AP noisy) / (AP clean −
AP noisy), the share of the AP lost to noise that denoising gives back (target ≥ 0.5 at
the highest noise level). n2v and temporal trained {add['steps']} steps on each noisy
movie. gain_est / offset_est: the noise model estimated from the noisy movie (truth:
gain 1, offset {add['read_sigma']**2:g}). Not measured: the deep segmenter and tracking TRA.

{markdown_table(add['rows'], cols)}

{chr(10).join(notes)}
"""


if __name__ == "__main__":
    main()
