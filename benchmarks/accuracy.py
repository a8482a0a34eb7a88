"""Accuracy of the classical pipeline on every CTC set with ground truth in ../shared/data.

Runs ``celldyn.pipeline.run`` (classical watershed segmentation + frame-to-frame LAP
linking) on each full movie, scores it with our CTC measures (SEG, DET, TRA, which a
test cross-checks against py-ctcmetrics) and prints a Markdown table, writes JSON and the
"Accuracy: classical pipeline" section of benchmarks/RESULTS.md.

Nothing is tuned per set: every set is run with the same few classical variants (the
default watershed with the triangle level, watershed with Otsu's level, Li threshold);
the only per-set inputs are facts about the imaging (phase contrast has dark objects;
the pixel size and frame interval from ../shared/data/README.md).

    python benchmarks/accuracy.py [--data ../shared/data] [--frames N] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _results import markdown_table, write_section  # noqa: E402

from celldyn.evaluate import evaluate_ctc  # noqa: E402
from celldyn.io import read_ctc_gt, read_ctc_movie  # noqa: E402
from celldyn.pipeline import RunConfig, run  # noqa: E402

VARIANTS = {
    "watershed (default: triangle level)": ("watershed", {}),
    "watershed, Otsu level": ("watershed", {"threshold_method": "otsu"}),
    "threshold:li": ("threshold:li", {}),
}

# set name -> (sequence, imaging facts from ../shared/data/README.md)
SETS = {
    "Fluo-N2DH-GOWT1-01": ("01", dict(spacing=(0.24, 0.24), frame_interval=300.0)),
    "Fluo-N2DH-GOWT1-02": ("02", dict(spacing=(0.24, 0.24), frame_interval=300.0)),
    "Fluo-N2DH-SIM+-01": ("01", dict(spacing=(0.125, 0.125), frame_interval=1740.0)),
    "PhC-C2DL-EcoliColony-vanVliet-01": ("01", dict(dark_objects=True)),
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path,
                    default=Path(__file__).resolve().parents[1].parent / "shared" / "data")
    ap.add_argument("--frames", type=int, default=None, help="only the first N frames")
    ap.add_argument("--json", type=Path, default=Path(__file__).with_name("accuracy.json"))
    ap.add_argument("--no-results-md", action="store_true")
    args = ap.parse_args(argv)

    rows = []
    for name, (seq, facts) in SETS.items():
        folder = args.data / name
        if not (folder / f"{seq}_GT").is_dir():
            print(f"skip {name}: not found under {args.data}", file=sys.stderr)
            continue
        movie = read_ctc_movie(folder / seq)
        gt_labels, gt_table, gt_seg = read_ctc_gt(folder / f"{seq}_GT")
        if args.frames:
            n = args.frames
            movie = type(movie)(movie.data[:n], movie.axes, movie.spacing,
                                movie.frame_interval, movie.name)
            gt_labels = gt_labels[:n]
            gt_table = gt_table[gt_table.begin < n].copy()
            gt_table["end"] = gt_table["end"].clip(upper=n - 1)
            gt_seg = {t: v for t, v in gt_seg.items() if t < n}
        movie = movie.with_metadata(spacing=facts.get("spacing"),
                                    frame_interval=facts.get("frame_interval"))
        for variant, (method, params) in VARIANTS.items():
            # the classical segmenter named (the pipeline's default is `auto`, which may
            # pick the deep model; this section is about the classical methods)
            config = RunConfig(dark_objects=facts.get("dark_objects", False),
                               segmenter="classical", method=method, method_params=params)
            start = time.perf_counter()
            result = run(movie, config=config)
            seconds = time.perf_counter() - start
            scores = evaluate_ctc(gt_labels, gt_table, result.labels, result.tracks,
                                  gt_seg=gt_seg)
            row = {
                "set": name,
                "frames": movie.n_frames,
                "method": variant,
                "SEG": float(scores["SEG"]),
                "DET": float(scores["DET"]),
                "TRA": float(scores["TRA"]),
                "seconds": round(seconds, 1),
            }
            print(row, flush=True)
            rows.append(row)

    columns = ["set", "frames", "method", "SEG", "DET", "TRA", "seconds"]
    table = markdown_table(rows, columns)
    print(table)
    args.json.write_text(json.dumps({"rows": rows}, indent=2))
    if not args.no_results_md and rows and not args.frames:
        write_section(
            "Accuracy: classical pipeline (benchmarks/accuracy.py)",
            "`segmenter='classical'` with each method, everything else default (no "
            "per-set tuning; the run's default segmenter is `auto`, see 'Segmentation: "
            "generalist and automatic choice'); SEG/DET/TRA by "
            "celldyn.evaluate (cross-checked against py-ctcmetrics in the tests). "
            "The whole movie is both run and scored: classical methods have no "
            "training split.\n\n" + table,
            packages=("numpy", "scipy", "scikit-image"),
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
