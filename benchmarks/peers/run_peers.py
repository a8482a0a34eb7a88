"""Link detections with laptrack or trackpy (run in benchmarks/.envs/peers).

    python run_peers.py {laptrack,trackpy} IN.npz OUT.npz --max-distance R --max-gap G --divisions 1

Same settings as our trackers: search radius R (pixels) between consecutive frames, gaps
of up to G missing frames. laptrack gets splitting (divisions) with the same radius, no
merging; trackpy has no divisions (``memory=G``). Only the linking call is timed.
"""

from __future__ import annotations

import time

import numpy as np
from _protocol import load, max_rss_mib, parse, repeats, save


def run_laptrack(t, y, x, max_distance, max_gap, divisions):
    from laptrack import LapTrack

    r2 = max_distance**2
    lt = LapTrack(
        track_dist_metric="sqeuclidean",
        track_cost_cutoff=r2,
        gap_closing_dist_metric="sqeuclidean",
        # our search radius over dt frames is R*sqrt(dt): squared, R^2*dt
        gap_closing_cost_cutoff=r2 * (max_gap + 1) if max_gap > 0 else False,
        gap_closing_max_frame_count=max_gap + 1,
        splitting_dist_metric="sqeuclidean",
        splitting_cost_cutoff=r2 if divisions else False,
        merging_cost_cutoff=False,
    )
    n_frames = int(t.max()) + 1 if len(t) else 0
    order = np.argsort(t, kind="stable")
    rows_by_frame = [order[t[order] == f] for f in range(n_frames)]
    coords = [np.stack([y[r], x[r]], axis=1) for r in rows_by_frame]
    start = time.perf_counter()
    tree = lt.predict(coords)
    seconds = time.perf_counter() - start
    src, tgt = [], []
    for (f1, i1), (f2, i2) in tree.edges():
        if f1 > f2:
            f1, i1, f2, i2 = f2, i2, f1, i1
        src.append(rows_by_frame[f1][i1])
        tgt.append(rows_by_frame[f2][i2])
    return src, tgt, seconds


def run_trackpy(t, y, x, max_distance, max_gap, divisions):
    import pandas as pd
    import trackpy as tp

    tp.quiet()
    df = pd.DataFrame({"frame": t, "y": y, "x": x})
    start = time.perf_counter()
    # trackpy enumerates every assignment of a crowded subnetwork; with a radius of a
    # few cell diameters that explodes (minutes on 4k detections), so use its documented
    # remedy: shrink the search range inside oversize subnets only (adaptive search)
    linked = tp.link_df(df, search_range=max_distance, memory=max_gap, pos_columns=["y", "x"],
                        adaptive_stop=0.1 * max_distance, adaptive_step=0.9)
    seconds = time.perf_counter() - start
    linked = linked.assign(row=np.arange(len(df))).sort_values(["particle", "frame"])
    p = linked["particle"].to_numpy()
    r = linked["row"].to_numpy()
    same = p[1:] == p[:-1]
    return r[:-1][same], r[1:][same], seconds


def main(argv=None):
    args = parse(argv, trackers=("laptrack", "trackpy"))
    t, y, x = load(args.input)
    if args.tracker == "laptrack":  # import before the memory baseline
        import laptrack  # noqa: F401
    else:
        import pandas  # noqa: F401
        import trackpy  # noqa: F401
    before = max_rss_mib()
    fn = run_laptrack if args.tracker == "laptrack" else run_trackpy
    src, tgt, seconds = fn(t, y, x, args.max_distance, args.max_gap, bool(args.divisions))
    done, last = 1, seconds
    while repeats(args, last, done):
        last = fn(t, y, x, args.max_distance, args.max_gap, bool(args.divisions))[2]
        seconds, done = min(seconds, last), done + 1
    save(args.output, src, tgt, seconds, before)


if __name__ == "__main__":
    main()
