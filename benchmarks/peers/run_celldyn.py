"""Link detections with our trackers in a fresh process (the scale benchmark).

    python run_celldyn.py {lap,global} IN.npz OUT.npz --max-distance R --max-gap G --divisions 0

Same protocol as the peer runners (``_protocol.py``), so that time and peak memory of
every tracker are measured the same way: one process per tracker and movie. The timed
call is ``track_lap`` / ``track_global`` on the point table (no label movie, so no IoU
term), including building the networkx graph they return.
"""

from __future__ import annotations

import time

import pandas as pd
from _protocol import load, max_rss_mib, parse, repeats, save


def main(argv=None):
    args = parse(argv, trackers=("lap", "global"))
    t, y, x = load(args.input)
    from celldyn.track import track_lap
    from celldyn.track.solve_global import track_global

    objects = pd.DataFrame({"t": t, "label": 1, "y": y, "x": x})
    objects["label"] = objects.groupby("t").cumcount() + 1
    fn = track_lap if args.tracker == "lap" else track_global
    before = max_rss_mib()
    times = []
    while not times or repeats(args, times[-1], len(times)):
        start = time.perf_counter()
        graph = fn(objects, max_distance=args.max_distance, max_gap=args.max_gap,
                   divisions=bool(args.divisions))
        times.append(time.perf_counter() - start)
    seconds = min(times)
    edges = list(graph.edges)
    save(args.output, [a for a, _ in edges], [b for _, b in edges], seconds, before)


if __name__ == "__main__":
    main()
