"""Memory of `celldyn run` on long movies: peak RSS for 1,000, 2,500 and 10,000 frames.

The movie is a simulated 2D movie (128x128, about a dozen nuclei; celldyn.simulate)
of 250 frames repeated end to end and written as one OME-TIFF. Each length runs in a
fresh process (`celldyn run` in-process, full pipeline: segment, measure, track, write
the run folder with report); the process reports its own peak resident memory
(``VmHWM`` from /proc/self/status). All rows read the TIFF lazily (the CLI does so by itself for files over
256 MB; here the threshold is set to 0 so every row uses the same path).

Memory is flat when peak RSS does not grow with the number of frames beyond the
per-object tables (objects.parquet, the graph's edge array), which grow linearly by
nature: the criterion is at most x1.25 (FLAT) from 1,000 to 10,000 frames.

    python benchmarks/long_movie.py [--frames 1000 2500 10000] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _results import markdown_table, write_section  # noqa: E402

CHILD = r"""
import sys, time
import celldyn.io.tiff as tiff
tiff.LAZY_BYTES = 0
from celldyn.cli import main
t0 = time.perf_counter()
try:
    main(sys.argv[1:], standalone_mode=False)
finally:
    # VmHWM, not ru_maxrss: the latter can carry the parent's mark across fork/exec
    peak = next(int(l.split()[1]) for l in open("/proc/self/status")
                if l.startswith("VmHWM")) / 1024
    print(f"@@ {peak:.1f} {time.perf_counter() - t0:.1f}", file=sys.stderr)
"""


FLAT = 1.25
"""Peak RSS may grow at most this factor from the first row (1,000 frames) to the last
(10,000): what grows is the per-object output (the objects table), not pixels."""


def make_movie(path: Path, n_frames: int) -> None:
    import numpy as np
    import tifffile

    from celldyn.simulate import simulate_movie

    base = simulate_movie(ndim=2, n_frames=250, shape=(128, 128), n_objects=12,
                          rng=0).movie.data
    with tifffile.TiffWriter(path, ome=True) as tw:
        shape = (n_frames, *base.shape[1:])
        tw.write(
            (base[t % base.shape[0]] for t in range(n_frames)),
            shape=shape, dtype=base.dtype, metadata={"axes": "TYX"},
        )
    del np


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, nargs="+", default=[1000, 2500, 10000])
    ap.add_argument("--json", type=Path, default=Path(__file__).with_name("long_movie.json"))
    ap.add_argument("--no-results-md", action="store_true")
    args = ap.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.frames:
            movie = Path(tmp) / f"movie{n}.ome.tif"
            make_movie(movie, n)
            out = Path(tmp) / f"res{n}"
            start = time.perf_counter()
            proc = subprocess.run(
                [sys.executable, "-c", CHILD, "run", str(movie), "-o", str(out),
                 "--no-progress"],
                capture_output=True, text=True,
            )
            wall = time.perf_counter() - start
            line = [ln for ln in proc.stderr.splitlines() if ln.startswith("@@")]
            if proc.returncode != 0 or not line:
                print(proc.stderr[-2000:], file=sys.stderr)
                rows.append({"frames": n, "status": f"failed ({proc.returncode})"})
                continue
            peak, secs = map(float, line[0].split()[1:])
            n_tracks = sum(1 for _ in open(out / "ctc" / "res_track.txt"))
            import pyarrow.parquet as pq

            n_objects = pq.ParquetFile(out / "objects.parquet").metadata.num_rows
            rows.append({
                "frames": n, "movie MB": round(movie.stat().st_size / 2**20, 1),
                "objects": n_objects, "tracks": n_tracks, "peak RSS MB": peak,
                "seconds": round(wall, 1), "status": "ok",
            })
            print(rows[-1], flush=True)
    ok = [r for r in rows if r["status"] == "ok"]
    ratio = 1.0
    if len(ok) >= 2:
        ratio = ok[-1]["peak RSS MB"] / ok[0]["peak RSS MB"]
        for r in ok:
            r["RSS / first row"] = round(r["peak RSS MB"] / ok[0]["peak RSS MB"], 2)
            extra = r["objects"] - ok[0]["objects"]
            if extra > 0:  # growth of the peak per object beyond the first row's
                r["bytes / extra object"] = round(
                    (r["peak RSS MB"] - ok[0]["peak RSS MB"]) * 2**20 / extra)
    table = markdown_table(rows, ["frames", "movie MB", "objects", "tracks", "peak RSS MB",
                                  "RSS / first row", "bytes / extra object", "seconds",
                                  "status"])
    verdict = "flat" if ratio <= FLAT else "NOT flat"
    print(f"peak RSS x{ratio:.2f} from first to last row: {verdict} (criterion <= x{FLAT})")
    print(table)
    args.json.write_text(json.dumps({"rows": rows}, indent=2))
    if not args.no_results_md and ok:
        write_section(
            "Long movies: memory (benchmarks/long_movie.py)",
            "Full `celldyn run` (classical watershed, LAP tracking, run folder with "
            "report) on a simulated 128x128 2D movie, one fresh process per row; peak "
            f"RSS from VmHWM. Peak RSS grew x{ratio:.2f} from {ok[0]['frames']} to "
            f"{ok[-1]['frames']} frames: {verdict} by our criterion (at most x{FLAT} for "
            "ten times the frames; the objects table and the graph's edge array are "
            "per object by nature, about 200 bytes each). 'bytes / extra object': growth "
            "of the peak divided by the objects added since the first row.\n\n" + table,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
