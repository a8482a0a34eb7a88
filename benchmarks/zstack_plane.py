"""A brightfield z-stack movie run whole (3D) and as one plane (`--plane middle`).

The BABY yeast set's test trap (benchmarks/splits.py SEGMENTATION:
seg-BABY-yeast-brightfield, test = prime95b_testC_tp1..tp5) is five time points of one
trap, each a stack of five focal planes: a TZYX movie as a microscope writes it. Its
ground truth is one mask per time point (the cells of the stack, drawn on the middle
plane). This runs ``celldyn.pipeline.run`` with default options on the whole stack
(TZYX: 3D segmentation) and with ``RunConfig(plane="middle")`` (the 2D movie of the
middle plane), and scores each time point's labels (the middle plane of a 3D result)
against the masks: AP@0.5 and AP@0.75 (celldyn.segment.deep.metrics, counts summed over
the time points), objects per frame, seconds. Held out: nothing in celldyn was trained
or chosen on the test trap.

    python benchmarks/zstack_plane.py
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import tifffile

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _results import markdown_table, write_section  # noqa: E402
from splits import SEGMENTATION  # noqa: E402

SET = "seg-BABY-yeast-brightfield"
SECTION = "Segmentation: a brightfield z-stack movie, whole stack vs one plane"


def load(data: Path) -> tuple[np.ndarray, list[np.ndarray], list[str]]:
    """The test trap as a TZYX movie and its masks, time points in order."""
    stems = sorted(SEGMENTATION[SET].test)
    folder = data / SET
    movie = np.stack([tifffile.imread(folder / "images" / f"{s}.tif") for s in stems])
    masks = [tifffile.imread(folder / "masks" / f"{s}.tif") for s in stems]
    return movie.astype(np.float32), masks, stems


def main(argv: list[str] | None = None) -> int:
    from celldyn.config import RunConfig
    from celldyn.movie import Movie
    from celldyn.pipeline import run
    from celldyn.segment.deep.metrics import average_precision

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=HERE.parents[1] / "shared" / "data")
    ap.add_argument("--json", type=Path, default=HERE / "zstack_plane.json")
    ap.add_argument("--no-results-md", action="store_true")
    args = ap.parse_args(argv)
    if not (args.data / SET).is_dir():
        print(f"{SET} not under {args.data}", file=sys.stderr)
        return 1
    data, masks, stems = load(args.data)
    movie = Movie(data, "TZYX")
    rows = []
    for label, config in (("whole stack (3D, default)", RunConfig()),
                          ("--plane middle (2D)", RunConfig(plane="middle"))):
        started = time.perf_counter()
        result = run(movie, config=config)
        seconds = time.perf_counter() - started
        labels = np.asarray(result.labels)
        if labels.ndim == 4:   # a 3D result: its middle plane, where the masks lie
            labels = labels[:, labels.shape[1] // 2]
        scores = average_precision(list(zip(masks, labels)))
        counts = [len(np.unique(lab)) - 1 for lab in labels]
        rows.append({"run": label, "AP@0.5": f"{scores[0.5]:.3f}",
                     "AP@0.75": f"{scores[0.75]:.3f}",
                     "objects per frame": " ".join(map(str, counts)),
                     "true objects per frame": " ".join(
                         str(len(np.unique(m)) - 1) for m in masks),
                     "seconds": f"{seconds:.1f}",
                     "segmenter": result.segmentation or config.segmenter})
        print(rows[-1], flush=True)
    cols = ["run", "AP@0.5", "AP@0.75", "objects per frame", "true objects per frame",
            "seconds"]
    table = markdown_table(rows, cols)
    args.json.write_text(json.dumps({"rows": rows, "stems": stems}, indent=1))
    print("\n" + table)
    if not args.no_results_md:
        body = (
            "Written by benchmarks/zstack_plane.py. " + __doc__.split("\n\n")[1].replace(
                "\n", " ") + f" Movie: {data.shape[0]} time points x {data.shape[1]} "
            f"planes x {data.shape[2]} x {data.shape[3]} px; 2 CPU cores.\n\n" + table
            + "\n\nWhat `--segmenter auto` chose, per run: " + "; ".join(
                f"{r['run']}: {r['segmenter']}" for r in rows) + ".")
        write_section(SECTION, body, packages=("numpy", "torch"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
