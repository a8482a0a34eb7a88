"""The file protocol between benchmarks/tracking.py and a tracker run in its own process.

Input (``.npz``): ``t`` (int64), ``y``, ``x`` (float64, pixels), one entry per detection;
row ``i`` is detection ``i``. Output (``.npz``): ``src``, ``tgt`` (int64 row indices of the
chosen links, forward in time), ``seconds`` (the linking call only; the fastest of
up to ``--repeat`` calls, a call over ``REPEAT_BELOW_S`` not being repeated),
``rss_before_mib`` and
``rss_peak_mib`` (max RSS of this process before the call and at the end, MiB).

This file has no dependency beyond numpy, so every peer environment can import it.
"""

from __future__ import annotations

import argparse
import resource
import sys

import numpy as np

REPEAT_BELOW_S = 5.0  # --repeat: a call slower than this is not repeated


def repeats(args, seconds: float, done: int) -> bool:
    """Whether to link once more after `done` calls, the last taking `seconds`."""
    return done < max(1, args.repeat) and seconds < REPEAT_BELOW_S


def max_rss_mib() -> float:
    """Peak resident memory of this process (MiB).

    Linux: ``VmHWM`` of /proc/self/status. ``ru_maxrss`` is not used there because it
    keeps the high-water mark of the parent's memory copied at fork, across exec.
    """
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024.0 if sys.platform != "darwin" else kb / 2**20


def parse(argv=None, trackers=()):
    ap = argparse.ArgumentParser()
    ap.add_argument("tracker", choices=list(trackers))
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("--max-distance", type=float, required=True)
    ap.add_argument("--max-gap", type=int, default=2)
    ap.add_argument("--divisions", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=1,
                    help="link up to this many times; seconds = the fastest call (a call "
                    f"over {REPEAT_BELOW_S:.0f} s is not repeated)")
    return ap.parse_args(argv)


def load(path):
    with np.load(path) as f:
        return f["t"].astype(np.int64), f["y"].astype(float), f["x"].astype(float)


def save(path, src, tgt, seconds, rss_before):
    np.savez(
        path, src=np.asarray(src, np.int64), tgt=np.asarray(tgt, np.int64),
        seconds=float(seconds), rss_before_mib=float(rss_before),
        rss_peak_mib=float(max_rss_mib()),
    )
