"""Choose the tracker's data-driven defaults on simulated movies only.

The default search radius is measured on each movie (:mod:`celldyn.track.scale`):
``max(MOTION_FACTOR x displacement, DIVISION_FACTOR x division offset)``, and the
daughters' size evidence is compared with the movie's own likely divisions
(``LinkCosts.division_conservation_from = "movie"``). This script picks the two factors
and the conservation rule on simulated movies (celldyn.simulate: nuclei at three speeds
and densities, rod-shaped bacterial colonies), each given to the tracker twice, as full
masks and as tracking markers (a disk of radius 2 px at each object's centroid, as the
Cell Tracking Challenge marks cells), at every 1st, 2nd and 4th frame. No real set is
used, so the real sets of benchmarks/tracking.py are all held out from these choices.

Rule: the row with the highest mean of (TRA + division F1) / 2 over every case (masks
and markers, all steps) is the default; a tie goes to the larger radius. Also reported: how well the estimator recovers
the true displacement and daughter offset of the simulated movies, and how alike the
masks and markers of one movie are tracked with the defaults (the acceptance test of
issue 16 items 1 and 2, pinned in tests/track/test_scale.py).

    python benchmarks/tracking_scale.py [--quick] [--no-results-md]
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _results import machine, markdown_table, versions, write_section

SEED = 0
STEPS = (1, 2, 4)
MOTION_FACTORS = (2.0, 3.0, 4.0)
DIVISION_FACTORS = (1.5, 2.0, 3.0)
CONSERVATION = ("movie", "off")
MARKER_RADIUS = 2

# name -> simulate_movie keywords (nuclei) or None (colony, seed in the name)
NUCLEI = {
    "nuclei slow, sparse": dict(n_objects=20, speed=1.0),
    "nuclei fast": dict(n_objects=30, speed=4.0),
    "nuclei dense": dict(n_objects=60, speed=2.0),
}
COLONIES = {"colony seed 0": 0, "colony seed 1": 1}


HISTORY = (
    "How the estimator came about (2026-12-03, issue 16), and what of the real sets was "
    "seen: the form of the estimator was designed while diagnosing the real sets on "
    "ground-truth detections (HeLa-01, PSC-01, E. coli, DIC-HeLa-01, SIM+-01, "
    "GOWT1-01/02): their true displacements and daughter offsets were compared with "
    "the mutual-nearest-neighbour displacements and the likely divisions, laptrack was "
    "swept over cutoffs on them, and LAP was run with the old and the new size rules. "
    "That diagnosis fixed the form (a high percentile of mutual-nearest-neighbour "
    "displacements; likely divisions as an object that is the nearest neighbour of "
    "two objects on either side of it, the farther at most twice as far, "
    "MAX_OFFSET_RATIO 2; the daughters' summed size compared with the movie's own "
    "likely divisions instead of with the mother). The numbers chosen by a rule, the "
    "two factors and whether the size term stays on, were then chosen on these "
    "simulated movies only (table above). The quantiles (95th, 90th) were set a priori, "
    "not swept. Not blind: the real sets' figures for some variants were seen in that "
    "diagnosis (e.g. HeLa x1 division F1 with the size term as before / off / "
    "compared with the movie: 0.81 / 0.94 / 0.97; E. coli x1: 0.70 / 0.45 / 0.62)."
)


def to_markers(labels: np.ndarray, radius: int = MARKER_RADIUS) -> np.ndarray:
    """Each object replaced by a disk of `radius` px at its centroid (kept inside the
    frame), as tracking markers; label ids kept."""
    from scipy import ndimage as ndi

    out = np.zeros_like(labels)
    yy, xx = np.mgrid[-radius:radius + 1, -radius:radius + 1]
    disk = yy**2 + xx**2 <= radius**2
    for t in range(labels.shape[0]):
        frame = labels[t]
        ids = np.unique(frame)
        ids = ids[ids > 0]
        if ids.size == 0:
            continue
        cents = ndi.center_of_mass(np.ones_like(frame), frame, ids)
        for lab, (cy, cx) in zip(ids.tolist(), cents):
            y, x = int(round(cy)), int(round(cx))
            for dy, dx in zip(yy[disk], xx[disk]):
                yi, xi = y + dy, x + dx
                if 0 <= yi < frame.shape[0] and 0 <= xi < frame.shape[1]:
                    out[t, yi, xi] = lab
    return out


def simulated_movies(quick: bool = False) -> dict[str, tuple[np.ndarray, pd.DataFrame]]:
    """Name -> (labels, CTC table) of the simulated movies (full masks)."""
    from celldyn.simulate import simulate_colony, simulate_movie

    n_frames = 16 if quick else 40
    out = {}
    for k, (name, kw) in enumerate(NUCLEI.items()):
        sim = simulate_movie(n_frames=n_frames, shape=(256, 256), radius=(5.0, 8.0),
                             division_rate=0.03, noise=False, rng=SEED + k, **kw)
        out[name] = (sim.labels, sim.table)
        if quick:
            break
    for name, seed in COLONIES.items():
        sim = simulate_colony(n_frames=24 if quick else 36, shape=(256, 256),
                              noise=False, rng=seed)
        out[name] = (sim.labels, sim.table)
        if quick:
            break
    return out


def cases(quick: bool = False):
    """(movie, input kind, step, labels, table, objects) for every case."""
    from celldyn.measure.features import measure_objects
    from tracking import subsample_ctc

    for name, (labels, table) in simulated_movies(quick).items():
        for kind, lab in (("masks", labels), ("markers", to_markers(labels))):
            for k in STEPS:
                sub, tab = subsample_ctc(lab, table, k)
                yield name, kind, k, sub, tab, measure_objects(sub)


def track_and_score(objects, labels, table, *, max_distance, conservation,
                    division_reach=None):
    from celldyn.evaluate import evaluate_ctc
    from celldyn.evaluate.divisions import lineage_scores
    from celldyn.track import LinkCosts, lap_links
    from celldyn.track.graph import ctc_table, relabel_by_tracklet, tracklet_ids

    costs = LinkCosts() if conservation == "movie" else LinkCosts(division_conservation=0)
    edges = lap_links(objects, labels=labels, max_distance=max_distance, costs=costs,
                      division_reach=division_reach)
    t = objects["t"].to_numpy(np.int64)
    seg = objects["label"].to_numpy(np.int64)
    tid = tracklet_ids(t, seg, edges)
    res_table = ctc_table(t, tid, edges)
    res = relabel_by_tracklet(labels, nodes=(t, seg, tid))
    s = evaluate_ctc(labels, table, res, res_table)
    d = lineage_scores(labels, table, res, res_table)
    return edges, {"TRA": float(s["TRA"]), "div_F1": float(d["div_F1"]),
                   "BC(1)": float(d["BC(1)"]), "gt_divisions": int(d["gt_divisions"])}


def truth_scales(objects: pd.DataFrame, table: pd.DataFrame) -> tuple[float, float]:
    """The true 95th-percentile displacement and 90th-percentile daughter offset."""
    pos = objects[["y", "x"]].to_numpy(float)
    key = {(int(t), int(lab)): i for i, (t, lab) in enumerate(zip(objects["t"],
                                                                  objects["label"]))}
    moves = [np.linalg.norm(pos[key[(t + 1, lab)]] - pos[i])
             for (t, lab), i in key.items() if (t + 1, lab) in key]
    end = dict(zip(table["label"], table["end"]))
    offsets = []
    kids = table[table["parent"] > 0].groupby("parent")["label"].apply(list)
    for p, ch in kids.items():
        if len(ch) < 2 or (end[p], p) not in key:
            continue
        m = key[(end[p], p)]
        for c in ch:
            if (end[p] + 1, c) in key:
                offsets.append(np.linalg.norm(pos[key[(end[p] + 1, c)]] - pos[m]))
    q = lambda a, p: float(np.percentile(a, p)) if len(a) else math.nan  # noqa: E731
    return q(moves, 95), q(offsets, 90)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="one short movie of each kind")
    ap.add_argument("--json", type=Path, default=HERE / "tracking_scale.json")
    ap.add_argument("--no-results-md", action="store_true")
    args = ap.parse_args(argv)

    from celldyn.track.scale import estimate_motion_scale

    start = time.perf_counter()
    rows, estimates, agree = [], [], []
    variants = list(itertools.product(MOTION_FACTORS, DIVISION_FACTORS, CONSERVATION))
    by_case: dict[tuple, dict] = {}
    for name, kind, k, labels, table, objects in cases(args.quick):
        true_move, true_div = truth_scales(objects, table)
        base = estimate_motion_scale(objects)
        estimates.append({"movie": name, "input": kind, "step": k,
                          "displacement (true p95)": true_move,
                          "displacement (estimated)": base.displacement,
                          "daughter offset (true p90)": true_div,
                          "daughter offset (estimated)": base.division_offset,
                          "likely divisions": base.division_events})
        for km, kd, cons in variants:
            scale = estimate_motion_scale(objects, motion_factor=km, division_factor=kd)
            edges, s = track_and_score(objects, labels, table,
                                       max_distance=scale.max_distance, conservation=cons,
                                       division_reach=scale.division_reach)
            row = {"movie": name, "input": kind, "step": k, "motion_factor": km,
                   "division_factor": kd, "conservation": cons,
                   "max_distance": round(scale.max_distance, 2), **s}
            rows.append(row)
            by_case[(name, kind, k, km, kd, cons)] = {"edges": edges, "objects": objects,
                                                      **s}
        print(name, kind, k, f"{time.perf_counter() - start:.0f} s", flush=True)

    df = pd.DataFrame(rows)
    df["score"] = np.where(df["div_F1"].isna(), df["TRA"], (df["TRA"] + df["div_F1"]) / 2)
    summary = (df.groupby(["motion_factor", "division_factor", "conservation"])
               .agg(score=("score", "mean"), TRA=("TRA", "mean"), div_F1=("div_F1", "mean"))
               .reset_index())
    for kind in ("masks", "markers"):
        part = df[df["input"] == kind].groupby(
            ["motion_factor", "division_factor", "conservation"])["div_F1"].mean()
        summary[f"div F1 {kind}"] = part.to_numpy()
    # ties (equal to 1e-6) go to the larger radius: fewer true links cut
    summary["rounded"] = summary["score"].round(6)
    summary = (summary.sort_values(["rounded", "motion_factor", "division_factor"],
                                   ascending=False)
               .drop(columns="rounded").reset_index(drop=True))
    best = summary.iloc[0]
    chosen = (float(best["motion_factor"]), float(best["division_factor"]),
              str(best["conservation"]))
    # what the product uses (celldyn.track.scale, LinkCosts): the masks-vs-markers table
    # describes it, whether or not the rule still picks it
    from celldyn.track import scale as _scale
    from celldyn.track.costs import LinkCosts as _LinkCosts

    default = (float(_scale.MOTION_FACTOR), float(_scale.DIVISION_FACTOR),
               "movie" if _LinkCosts().division_conservation_from == "movie" else "off")
    default_row = summary[(summary["motion_factor"] == default[0])
                          & (summary["division_factor"] == default[1])
                          & (summary["conservation"] == default[2])]
    default_score = float(default_row["score"].iloc[0]) if len(default_row) else float("nan")

    # masks vs markers, with the product's defaults: same links (by object label), same
    # divisions
    for (name, kind, k, km, kd, cons), v in by_case.items():
        if kind != "masks" or (km, kd, cons) != default:
            continue
        w = by_case[(name, "markers", k, km, kd, cons)]

        def links(c):
            o = c["objects"]
            key = list(zip(o["t"].astype(int), o["label"].astype(int)))
            return {(key[a], key[b]) for a, b in c["edges"].tolist()}

        la, lb = links(v), links(w)
        agree.append({"movie": name, "step": k, "links (masks)": len(la),
                      "links (markers)": len(lb),
                      "same links": round(len(la & lb) / max(len(la | lb), 1), 4),
                      "div F1 masks": v["div_F1"], "div F1 markers": w["div_F1"],
                      "TRA masks": v["TRA"], "TRA markers": w["TRA"]})

    seconds = time.perf_counter() - start
    for r in summary.head(6).to_dict("records"):
        print(r)
    print("chosen", chosen)
    cols = ["motion_factor", "division_factor", "conservation", "score", "TRA", "div_F1",
            "div F1 masks", "div F1 markers"]
    t1 = markdown_table([{**r, "motion_factor": f"{r['motion_factor']:g}",
                          "division_factor": f"{r['division_factor']:g}",
                          "score": f"{r['score']:.4f}", "TRA": f"{r['TRA']:.4f}",
                          "div_F1": f"{r['div_F1']:.3f}",
                          "div F1 masks": f"{r['div F1 masks']:.3f}",
                          "div F1 markers": f"{r['div F1 markers']:.3f}",
                          "conservation": r["conservation"]
                          + (" **(rule's pick)**" if i == 0 else "")
                          + (" **(default)**" if (r["motion_factor"], r["division_factor"],
                                                  r["conservation"]) == default else "")}
                         for i, r in enumerate(summary.to_dict("records"))], cols)
    est = pd.DataFrame(estimates)
    t2 = markdown_table([{k_: (f"{v:.3g}" if isinstance(v, float) else v)
                          for k_, v in r.items()} for r in estimates], list(est.columns))
    t3 = markdown_table([{k_: (f"{v:.3f}" if isinstance(v, float) else v)
                          for k_, v in r.items()} for r in agree],
                        list(agree[0]) if agree else [])
    body = (
        f"Simulated movies only (celldyn.simulate, seed {SEED}): "
        + ", ".join(NUCLEI) + " (simulate_movie, 256x256, radius 5-8 px, division rate "
        "0.03 per frame) and " + ", ".join(COLONIES) + " (simulate_colony, 256x256); "
        f"each as full masks and as markers (disk of radius {MARKER_RADIUS} px at each "
        f"centroid), every {', '.join(map(str, STEPS))}-th frame. LAP tracker, GT "
        "detections, defaults otherwise. Rows: search radius = max(motion_factor x "
        "95th-percentile mutual-nearest-neighbour displacement, division_factor x 90th-"
        "percentile likely-daughter offset), and the daughters' size evidence compared "
        "with the movie's likely divisions ('movie') or off. Rule: highest mean of (TRA "
        "+ division F1) / 2 over all cases (TRA alone where a case has no division), a "
        "tie going to the larger factors (fewer true links cut); the first row is the "
        "rule's pick, '(default)' marks what the product uses "
        "(celldyn.track.scale.MOTION_FACTOR, DIVISION_FACTOR; "
        "LinkCosts.division_conservation_from). No real set was used "
        f"for these choices. {len(df)} runs, {seconds:.0f} s."
        + ("" if default == chosen else
           f" The rule now picks {chosen[0]:g} / {chosen[1]:g} / {chosen[2]} (score "
           f"{float(best['score']):.4f}) over the default {default[0]:g} / {default[1]:g} "
           f"/ {default[2]} ({default_score:.4f}): the default, chosen by the same rule "
           "before the IoU link term was on (2026-12-04), is kept, since a difference "
           "this small in simulation does not justify changing every real-set figure "
           "(the pick itself moves with such changes: 3 / 3 with the IoU term, 2 / 2 "
           "since the IoU follows the flow, 2026-12-06); to be revisited.")
        + "\n\n" + t1
        + "\n\nThe estimator on the same movies (default factors; true values from the "
        "GT tracks):\n\n" + t2
        + "\n\nMasks and markers of one movie, the product's defaults ('same links': shared / "
        "all links, objects identified by frame and GT label):\n\n" + t3
        + "\n\n" + HISTORY
    )
    if not args.quick:
        payload = {"rows": rows, "summary": summary.to_dict("records"),
                   "chosen": chosen, "default": default, "estimates": estimates, "agreement": agree,
                   "seed": SEED, "machine": machine(),
                   "versions": versions("celldyn", "numpy", "scipy")}
        tmp = args.json.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(payload, indent=1, default=float))
        os.replace(tmp, args.json)
        if not args.no_results_md:
            write_section("Tracking: motion scale and division evidence (simulation)",
                          "Written by benchmarks/tracking_scale.py. " + body,
                          packages=("numpy", "scipy"))
    else:
        print(body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
