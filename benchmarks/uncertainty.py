"""When the generalist does not know an image: its class uncertainty, judged.

    nice python benchmarks/uncertainty.py            # ~8 CPU-minutes; RESULTS.md section
    nice python benchmarks/uncertainty.py --write-level   # and set it in config.json
    python benchmarks/uncertainty.py --report-only        # the section from the JSON

`--segmenter auto` runs the generalist on a movie's middle frame and warns where the
network is unsure of that frame: its class uncertainty (the mean over pixels of 1 - the
most likely class's probability, background / interior / boundary:
celldyn.segment.deep.inference.class_uncertainty) above the model's `uncertainty_warn`.
This script measures that uncertainty at the scale probe's object size on
* the validation parts of benchmarks/splits.py (every 2D instance set the generalist was
  trained on; the middle frame of each movie, each image): the level is chosen here,
  the smallest step of 0.01 above every validation image;
* the test parts (the images 'Segmentation: generalist and automatic choice' scores),
  held out: the share of in-distribution images the level flags (false alarms);
* images of kinds the generalist never saw (not used for the level): the EM
  mitochondria sections (seg-EM-drosophila-vnc-mito), widefield cell images
  (denoise-W2S-widefield, noisy) and fluorescence microscopy denoising samples
  (denoise-FMD-samples): the share it flags. These are not all unknown to a
  segmenter of nuclei and cells (W2S channel 0 and some FMD samples show nuclei), so
  their share is what the warning does there, not a target.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
OUT_JSON = HERE / "uncertainty.json"
SECTION = "Segmentation: the generalist's uncertainty (benchmarks/uncertainty.py)"
MODEL = "generalist2d"
UNSEEN = (("seg-EM-drosophila-vnc-mito", "images/*.tif", 20),
          ("denoise-W2S-widefield", "noisy/*.tif", 12),
          ("denoise-FMD-samples", "**/*.tif", 12))


def _stats(seg, img: np.ndarray) -> dict:
    from celldyn.segment.deep.inference import class_uncertainty, predict_maps

    d = seg.estimate_diameter(img)
    prob, _ = predict_maps(seg.net, img, zoom=seg.zoom_for(d) if d else 1.0)
    return {"diameter": None if d is None else round(float(d), 1),
            "uncertainty": round(class_uncertainty(prob), 4)}


def collect() -> list[dict]:
    import segmentation as S
    import tifffile

    from celldyn.segment.deep import load_segmenter
    from celldyn.segment.deep.datasets import load_part

    seg = load_segmenter(MODEL)
    rows = []
    for name, sp in S._gen_sets().items():
        for part in ("validation", "test"):
            if not getattr(sp, part):
                continue
            items = load_part(sp, part, S.DATA) if part == "validation" else \
                S._gen_items(sp, part)
            for g in S._gen_groups(name, items) if items else []:
                it = items[g[len(g) // 2]]
                rows.append({"part": part, "set": name, "image": it.name,
                             **_stats(seg, it.image)})
        print(name, len(rows), flush=True)
    for name, pattern, cap in UNSEEN:
        files = sorted((S.DATA / name).glob(pattern))
        files = [files[i] for i in np.linspace(0, len(files) - 1, min(cap, len(files)))
                 .round().astype(int)] if files else []
        for f in files:
            img = np.asarray(tifffile.imread(f))
            if img.ndim != 2:                       # a stack: its middle plane
                stack = img.reshape(-1, *img.shape[-2:])
                img = stack[stack.shape[0] // 2]
            rows.append({"part": "unseen", "set": name, "image": f.name,
                         **_stats(seg, img)})
        print(name, len(rows), flush=True)
    return rows


def level_of(rows: list[dict], without: str | None = None) -> float:
    """The smallest step of 0.01 above every validation image's uncertainty (of the
    sets other than `without`)."""
    top = max(r["uncertainty"] for r in rows
              if r["part"] == "validation" and r["set"] != without)
    return round(math.floor(top * 100 + 1) / 100, 2)


def leave_one_set_out(rows: list[dict]) -> list[dict]:
    """Per set, the level chosen without it and its images flagged at that level."""
    out = []
    for name in dict.fromkeys(r["set"] for r in rows if r["part"] == "validation"):
        level = level_of(rows, without=name)
        row = {"set left out": name, "level without it": level}
        for part in ("validation", "test"):
            u = [r["uncertainty"] for r in rows if r["part"] == part and r["set"] == name]
            row[f"{part} flagged"] = f"{sum(v > level for v in u)} of {len(u)}"
        out.append(row)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--write-level", action="store_true",
                    help="set the level as generalist2d's uncertainty_warn (config.json)")
    ap.add_argument("--report-only", action="store_true",
                    help="rewrite the section from uncertainty.json (no network run)")
    args = ap.parse_args(argv)
    from _results import markdown_table, write_section

    t0 = time.time()
    if args.report_only:
        saved = json.loads(OUT_JSON.read_text())
        rows, seconds = saved["rows"], saved.get("seconds")
    else:
        import torch

        torch.set_num_threads(1)
        rows = collect()
        seconds = round(time.time() - t0)
    level = level_of(rows)
    table = []
    for part in ("validation", "test", "unseen"):
        for name in dict.fromkeys(r["set"] for r in rows if r["part"] == part):
            u = [r["uncertainty"] for r in rows if r["part"] == part and r["set"] == name]
            table.append({"part": part, "set": name, "images": len(u),
                          "median": round(float(np.median(u)), 3),
                          "max": round(float(np.max(u)), 3),
                          f"flagged (> {level})": sum(v > level for v in u)})
    share = {p: (sum(r["uncertainty"] > level for r in rows if r["part"] == p),
                 sum(r["part"] == p for r in rows)) for p in ("validation", "test", "unseen")}
    loso = leave_one_set_out(rows)
    OUT_JSON.write_text(json.dumps({"level": level, "seconds": seconds, "rows": rows},
                                   indent=1))
    if args.write_level:
        cfg_path = (Path(__import__("celldyn").__file__).parent / "models" / MODEL
                    / "config.json")
        cfg = json.loads(cfg_path.read_text())
        cfg["uncertainty_warn"] = level
        cfg_path.write_text(json.dumps(cfg, indent=2, sort_keys=True) + "\n")
    body = (
        "\n".join(line.strip() if line.startswith("    nice") else line
                  for line in __doc__.split("\n", 2)[2].strip().splitlines()) + "\n\n"
        + markdown_table(table, list(table[0])) + "\n\n"
        f"Level chosen on the validation images: **{level}** (shipped as generalist2d's "
        "`uncertainty_warn`). Flagged: validation "
        f"{share['validation'][0]} of {share['validation'][1]} (none, by construction), "
        f"test {share['test'][0]} of {share['test'][1]} (held out, kinds the model knows: "
        "false alarms, or images it segments poorly), unseen kinds {share['unseen'][0]} of {share['unseen'][1]}. "
        "How it came about: `celldyn run` on an EM section (a smoke test of real images, "
        "2026-12-06) ran the generalist, which never saw EM, and returned 49 "
        "'objects' without a word; a first look at 64 validation images and 13 images of "
        "the unseen kinds (EM, W2S, FMD) showed the EM sections at 0.23-0.29 and every "
        "validation image at or below 0.154 before this script fixed the rule. The "
        "warning asks the user to check the outlines and to fine-tune "
        "(celldyn annotate-next)."
        + (f" {seconds} s on one thread." if seconds else "") + "\n\n"
        "Leave one set out: each set's level chosen on the other sets' validation "
        "images, and that set's images flagged at it (only DSB2018 holds the highest "
        "validation value, so only its level moves):\n\n"
        + markdown_table(loso, list(loso[0])) + "\n")
    write_section(SECTION, body, packages=("torch",))
    print(markdown_table(table, list(table[0])))
    print("level", level, share)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
