"""Link detections with Trackastra 0.5.6 (run in benchmarks/.envs/trackastra).

    python run_trackastra.py trackastra IN.npz OUT.npz --max-distance R --max-gap G
        [--divisions 1] [--model DIR]

The file protocol of _protocol.py, with three more input arrays, because Trackastra
links masks, not points: ``label`` (the mask label of each detection row), ``masks``
((T, Y, X) label movie) and ``images`` ((T, Y, X) movie). Detection ``i`` is the object
``label[i]`` of frame ``t[i]``; the links come back as row indices.

The model is the one trained from scratch by benchmarks/train_trackastra.py
(``--model``, default ``benchmarks/.envs/trackastra-model``; Trackastra's pretrained
weights are downloaded at run time, so none are used). Tracking runs at Trackastra's
API defaults: ``Trackastra.track(images, masks, mode="greedy")`` (``greedy_nodiv``
with ``--divisions 0``): images normalised by Trackastra, association probabilities
from sliding windows, greedy global matching of links with probability >= 0.5
between consecutive frames (``delta_t = 1``: no gap closing), candidate links within
256 px. ``--max-distance`` and ``--max-gap`` are accepted for the protocol and not
used. The timed call is ``track()`` (features, transformer, matching); loading the
model is not timed.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from functools import partial
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
from _protocol import max_rss_mib, parse, repeats, save
from tqdm import tqdm

DEFAULT_MODEL = Path(__file__).resolve().parents[1] / ".envs" / "trackastra-model"


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    model_dir = DEFAULT_MODEL
    if "--model" in argv:
        i = argv.index("--model")
        model_dir = Path(argv[i + 1])
        del argv[i:i + 2]
    args = parse(argv, trackers=("trackastra",))
    import torch

    torch.set_num_threads(int(os.environ.get("CELLDYN_PEER_THREADS", "1")))
    logging.disable(logging.WARNING)
    from trackastra.model import Trackastra

    with np.load(args.input) as f:
        t = f["t"].astype(np.int64)
        label = f["label"].astype(np.int64)
        masks = f["masks"].astype(np.int32)
        images = f["images"].astype(np.float32)
    row = {(int(a), int(b)): i for i, (a, b) in enumerate(zip(t, label))}
    model = Trackastra.from_folder(model_dir, device="cpu")
    mode = "greedy" if args.divisions else "greedy_nodiv"
    before = max_rss_mib()
    times = []
    while not times or repeats(args, times[-1], len(times)):
        start = time.perf_counter()
        graph, _ = model.track(images, masks, mode=mode, progbar_class=partial(tqdm, disable=True))
        times.append(time.perf_counter() - start)
    src, tgt = [], []
    for a, b in graph.edges:
        na, nb = graph.nodes[a], graph.nodes[b]
        src.append(row[(int(na["time"]), int(na["label"]))])
        tgt.append(row[(int(nb["time"]), int(nb["label"]))])
    save(args.output, src, tgt, min(times), before)


if __name__ == "__main__":
    main()
