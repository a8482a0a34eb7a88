"""Train the Trackastra peer from scratch on the learned tracker's training parts.

Trackastra's pretrained weights are downloaded at run time (../shared/PEERS.md), so the
peer of benchmarks/tracking.py is a Trackastra model trained here, on exactly the real
tracking parts that ``celldyn learned`` trains and selects on (benchmarks/splits.py
TRACKING; the shipped model's CARD.md):

- training: the train frames of HeLa-01 (0-21), PSC-01 (0-35), the E. coli colony
  (0-23) and DIC-HeLa-01 (0-24), SIM+-01 and GOWT1-01 whole;
- validation (model selection, the epoch with the lowest validation loss): the
  validation frames of those four movies (22-26, 36-44, 24-29, 25-31);
- each at every 1st, 2nd and 4th frame, as celldyn learned (``--subsample 1,2,4``).
  celldyn learned also trains on simulated movies; Trackastra does not (real parts only).

Two steps:

``prepare``: write each part as a CTC folder (``NN/tTTT.tif`` images and
``NN_GT/TRA`` markers, links across the cuts dropped by ``celldyn.training.crop_ctc``,
frames subsampled by ``celldyn.track.graph.subsample_ctc``) under
``benchmarks/.envs/trackastra-data/{train,validation}/SET@xK`` (gitignored).

``train``: run benchmarks/peers/train_trackastra.py in ``benchmarks/.envs/trackastra``
(``bash benchmarks/setup_peers.sh trackastra``), 1 thread, ``nice -n 10``; the model
goes to ``benchmarks/.envs/trackastra-model`` (never committed), its log beside it.

    python benchmarks/train_trackastra.py prepare
    python benchmarks/train_trackastra.py train [--epochs N --steps N ...]

Our own contribution: the choice of parts (splits.py) and this file's plumbing; the
model, its features and its training loss are Trackastra's.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from splits import SHARED_DATA, TRACKING, frame_range

ENV = HERE / ".envs" / "trackastra"
DATA = HERE / ".envs" / "trackastra-data"
MODEL = HERE / ".envs" / "trackastra-model"
STEPS = (1, 2, 4)


def parts(data: Path):
    """(part, name, first, last) of every training / validation part of the sets."""
    for name, sp in TRACKING.items():
        if sp.unit == "frame":
            for part in ("train", "validation"):
                a, b = frame_range(getattr(sp, part))
                yield part, name, a, b
        elif sp.train and not sp.test:
            yield "train", name, None, None


def prepare(data: Path, out: Path) -> list[str]:
    import tifffile

    from celldyn.io import read_ctc_gt, read_ctc_movie
    from celldyn.io.ctc import write_ctc_gt
    from celldyn.track.graph import subsample_ctc
    from celldyn.training import crop_ctc

    written = []
    if out.exists():
        shutil.rmtree(out)
    for part, name, a, b in parts(data):
        seq = name[-2:]
        labels, table, _ = read_ctc_gt(data / name / f"{seq}_GT")
        movie = np.asarray(read_ctc_movie(data / name / seq).data)
        labels = np.asarray(labels)
        if a is not None:
            labels, table = crop_ctc(labels, table, a, b)
            movie = movie[a:b + 1]
        for k in STEPS:
            lab, tab = subsample_ctc(labels, table, k)
            img = movie[::k]
            root = out / part / f"{name}@x{k}"
            (root / "01").mkdir(parents=True)
            for t, frame in enumerate(img):
                tifffile.imwrite(root / "01" / f"t{t:03d}.tif", frame)
            write_ctc_gt(root / "01_GT", lab, tab, seg_frames=[])
            written.append(f"{part} {root.name}: frames {a}-{b} every {k}: "
                           f"{lab.shape[0]} frames, {len(tab)} tracks")
            print(written[-1], flush=True)
    return written


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("step", choices=("prepare", "train"))
    ap.add_argument("--data", type=Path, default=SHARED_DATA)
    ap.add_argument("--out", type=Path, default=MODEL)
    args, rest = ap.parse_known_args(argv)
    if args.step == "prepare":
        prepare(args.data, DATA)
        return 0
    python = ENV / "bin" / "python"
    if not python.exists():
        print(f"no {python}: run bash benchmarks/setup_peers.sh trackastra", file=sys.stderr)
        return 1
    train = sorted(str(p / "01") for p in (DATA / "train").iterdir())
    val = sorted(str(p / "01") for p in (DATA / "validation").iterdir())
    cmd = ["nice", "-n", "10", str(python), str(HERE / "peers" / "train_trackastra.py"),
           "--train", *train, "--val", *val, "--out", str(args.out), *rest]
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               PYTHONWARNINGS="ignore")
    return subprocess.call(cmd, env=env)


if __name__ == "__main__":
    raise SystemExit(main())
