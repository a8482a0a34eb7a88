"""Link detections with btrack 0.6.5 (run in benchmarks/.envs/btrack).

    python run_btrack.py btrack IN.npz OUT.npz --max-distance R --max-gap G --divisions 1

btrack's sample configuration is downloaded at run time, so the configuration is
built here, in code: the values of btrack's published ``cell_config.json`` example
(constant-velocity Kalman motion model; hypotheses P_FP, P_init, P_term, P_link,
P_branch [divisions], P_dead), with ``max_search_radius = R``, ``max_lost = G + 1`` and
the imaging volume from the detections. The timed call is ``track()`` + ``optimize()``
(the global hypothesis step that makes divisions and closes gaps).
"""

from __future__ import annotations

import logging
import time

import numpy as np
from _protocol import load, max_rss_mib, parse, repeats, save


def make_config(max_distance, max_gap, divisions, volume):
    from btrack.config import TrackerConfig
    from btrack.models import HypothesisModel, MotionModel

    A = np.eye(6)
    A[0, 3] = A[1, 4] = A[2, 5] = 1.0
    H = np.zeros((3, 6))
    H[0, 0] = H[1, 1] = H[2, 2] = 1.0
    P = 150.0 * np.diag([0.1, 0.1, 0.1, 1.0, 1.0, 1.0])
    G = 15.0 * np.array([[0.5, 0.5, 0.5, 1.0, 1.0, 1.0]])
    Q = G.T @ G
    R = 5.0 * np.eye(3)
    motion = MotionModel(
        name="cell_motion", measurements=3, states=6, A=A, H=H, P=P, G=G, Q=Q, R=R,
        dt=1.0, accuracy=7.5, max_lost=max_gap + 1, prob_not_assign=0.1,
    )
    hyps = ["P_FP", "P_init", "P_term", "P_link", "P_dead"]
    if divisions:
        hyps.insert(4, "P_branch")
    hypothesis = HypothesisModel(
        name="cell_hypothesis", hypotheses=hyps, lambda_time=5.0, lambda_dist=3.0,
        lambda_link=10.0, lambda_branch=50.0, eta=1e-10, theta_dist=20.0, theta_time=5.0,
        dist_thresh=40.0, time_thresh=2.0, apop_thresh=5, segmentation_miss_rate=0.1,
        apoptosis_rate=0.001, relax=True,
    )
    return TrackerConfig(
        name="celldyn-benchmark", motion_model=motion, hypothesis_model=hypothesis,
        max_search_radius=max_distance, volume=volume, verbose=False,
    )


def main(argv=None):
    args = parse(argv, trackers=("btrack",))
    t, y, x = load(args.input)
    import btrack
    from btrack.io.utils import objects_from_dict

    logging.getLogger("btrack").setLevel(logging.ERROR)
    for h in list(logging.getLogger("btrack").handlers):
        h.setLevel(logging.ERROR)
    pad = 1.0
    volume = ((float(x.min()) - pad, float(x.max()) + pad),
              (float(y.min()) - pad, float(y.max()) + pad), (-1e5, 1e5))
    cfg = make_config(args.max_distance, args.max_gap, bool(args.divisions), volume)
    objects = objects_from_dict({
        "ID": np.arange(len(t)), "t": t.astype(np.int64), "x": x, "y": y,
        "z": np.zeros(len(t)),
    })
    before = max_rss_mib()
    times = []
    while not times or repeats(args, times[-1], len(times)):
        with btrack.BayesianTracker(verbose=False) as tracker:
            tracker.configure(cfg)
            tracker.append(objects)
            start = time.perf_counter()
            tracker.track(step_size=100)
            tracker.optimize()
            times.append(time.perf_counter() - start)
            tracks = tracker.tracks
    seconds = min(times)
    src, tgt = [], []
    last_of, first_of = {}, {}
    for trk in tracks:
        refs = [int(r) for r, d in zip(trk.refs, trk.dummy) if not d and r >= 0]
        if not refs:
            continue
        src += refs[:-1]
        tgt += refs[1:]
        first_of[trk.ID], last_of[trk.ID] = refs[0], refs[-1]
    for trk in tracks:
        if trk.ID not in first_of:
            continue
        parent = trk.parent
        if parent and parent != trk.ID and parent in last_of:
            src.append(last_of[parent])
            tgt.append(first_of[trk.ID])
    save(args.output, src, tgt, seconds, before)


if __name__ == "__main__":
    main()
