"""Link detections with our trackers in a fresh process (the scale benchmark).

    python run_celldyn.py {lap,global,lap-graph,global-graph,default} IN.npz OUT.npz --max-distance R --max-gap G --divisions 0

Same protocol as the peer runners (``_protocol.py``), so that time and peak memory of
every tracker are measured the same way: one process per tracker and movie. The timed
call is ``lap_links`` / ``global_links`` on the point table (no label movie, so no IoU
term), the links as an edge array (what ``celldyn run`` uses); ``lap-graph`` /
``global-graph`` time ``track_lap`` / ``track_global``, the same links as a networkx graph.
``default`` times :func:`celldyn.track.track_objects` as ``celldyn run`` calls it with no
tracking option: the search radius measured on the movie (``--max-distance`` ignored),
the stage-drift check, then LAP with the division evidence.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
from _protocol import load, max_rss_mib, parse, repeats, save


def main(argv=None):
    args = parse(argv, trackers=("lap", "global", "lap-graph", "global-graph", "default"))
    t, y, x = load(args.input)
    from celldyn.track import global_links, lap_links, track_global, track_lap, track_objects

    objects = pd.DataFrame({"t": t, "label": 1, "y": y, "x": x})
    objects["label"] = objects.groupby("t").cumcount() + 1
    as_edges = not args.tracker.endswith("-graph")
    if args.tracker == "default":
        def fn(objects, *, max_distance, max_gap, divisions):  # noqa: ARG001 (measured)
            tracks = track_objects(objects, max_gap=max_gap, divisions=divisions)
            return np.asarray(tracks.rows, np.int64)[tracks.edges].reshape(-1, 2)
    elif args.tracker.startswith("lap"):
        fn = lap_links if as_edges else track_lap
    else:
        fn = global_links if as_edges else track_global
    before = max_rss_mib()
    times = []
    while not times or repeats(args, times[-1], len(times)):
        start = time.perf_counter()
        out = fn(objects, max_distance=args.max_distance, max_gap=args.max_gap,
                 divisions=bool(args.divisions))
        times.append(time.perf_counter() - start)
    seconds = min(times)
    edges = out if as_edges else np.asarray(list(out.edges), np.int64).reshape(-1, 2)
    save(args.output, edges[:, 0], edges[:, 1], seconds, before)


if __name__ == "__main__":
    main()
