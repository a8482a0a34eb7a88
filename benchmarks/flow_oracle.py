"""Is the image flow what limits divisions in a growing colony at a low frame rate?

A diagnostic on the **training** frames of the E. coli colony (benchmarks/splits.py
TRACKING; never its test part): the GT masks as detections, every k-th frame, tracked as
``celldyn run --labels`` tracks them (LAP, radius measured, the image-flow relink that
the colony opens). Two runs per step: the per-object steps of
:func:`celldyn.track.flow.image_flow` as shipped, and an *oracle* that replaces them by
each object's true step (her own position in the next kept frame, or her two
daughters' midpoint). A gap between the two is what a better motion estimate could
gain; none means the cost model, not the motion, loses the divisions. It also prints the
error of the image flow's steps against the true ones for a few settings of the flow
(downscale, the whole frame, no colony map, the masks' inner distance transform in place
of the image), and two predictors built from the true steps themselves (the colony's
affine map plus the 5 nearest neighbours' median residual: a bound for any motion field
smooth at a cell's scale; the object's own step one kept frame earlier: a bound for a
motion model).

Run: ``OMP_NUM_THREADS=1 python benchmarks/flow_oracle.py`` (about 3 minutes). Writes
benchmarks/flow_oracle.json and the section 'Tracking: image flow against true steps
(training frames)' of RESULTS.md. Training figures only.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import tracking as T  # noqa: E402  (sets, parts, loading, scoring)
from _results import machine, markdown_table, write_section  # noqa: E402

SECTION = "Tracking: image flow against true steps (training frames)"
SET = "PhC-C2DL-EcoliColony-vanVliet-01"
STEPS = (2, 4)


def true_steps(objects, table) -> np.ndarray:
    """Per object, its step to the next frame of `objects`: to itself, or to the
    midpoint of its two daughters; NaN where neither is there."""
    pos = {(int(t), int(lab)): np.array([y, x]) for t, lab, y, x in
           objects[["t", "label", "y", "x"]].itertuples(index=False)}
    kids: dict[int, list[int]] = {}
    for lab, parent in table[["label", "parent"]].itertuples(index=False):
        if parent > 0:
            kids.setdefault(int(parent), []).append(int(lab))
    out = np.full((len(objects), 2), np.nan)
    for i, (t, lab) in enumerate(zip(objects["t"].to_numpy(), objects["label"].to_numpy())):
        t, lab = int(t), int(lab)
        if (t + 1, lab) in pos:
            out[i] = pos[(t + 1, lab)] - pos[(t, lab)]
            continue
        ds = [d for d in kids.get(lab, []) if (t + 1, d) in pos]
        if len(ds) == 2:
            out[i] = np.mean([pos[(t + 1, d)] for d in ds], axis=0) - pos[(t, lab)]
    return out


def neighbours_true_steps(objects, truth: np.ndarray, labels: np.ndarray,
                          k: int = 5) -> np.ndarray:
    """Per object, its step as the colony's affine map of its frame
    (:func:`celldyn.track.flow.colony_affine`) carries it, plus the median of what that
    map leaves of the true steps of the `k` nearest *other* objects of its frame: the
    best a motion field smooth at the scale of a cell (after the colony's growth) could
    know of its step, whatever measured it."""
    from scipy.spatial import cKDTree

    from celldyn.track.flow import colony_affine

    pos = objects[["y", "x"]].to_numpy(float)
    t = objects["t"].to_numpy()
    out = np.full(truth.shape, np.nan)
    for f in np.unique(t):
        rows = np.flatnonzero(t == f)
        if f + 1 >= len(labels):
            continue
        lin, off = colony_affine(labels[f], labels[f + 1])
        grown = pos[rows] @ lin.T + off - pos[rows]        # the map's step per object
        resid = truth[rows] - grown
        ok = np.flatnonzero(~np.isnan(resid[:, 0]))
        if len(ok) <= k:
            continue
        _, idx = cKDTree(pos[rows][ok]).query(pos[rows], k=k + 1)
        for i in range(len(rows)):
            others = [ok[n] for n in idx[i] if ok[n] != i][:k]
            out[rows[i]] = grown[i] + np.median(resid[others], axis=0)
    return out


def previous_true_steps(objects, table, truth: np.ndarray) -> np.ndarray:
    """Per object, its own true step one kept frame earlier (or its mother's): what a
    motion model that extrapolates the track would predict."""
    parent = dict(zip(table["label"].astype(int), table["parent"].astype(int)))
    row = {(int(t), int(lab)): i for i, (t, lab) in
           enumerate(zip(objects["t"], objects["label"]))}
    out = np.full(truth.shape, np.nan)
    for i, (t, lab) in enumerate(zip(objects["t"], objects["label"])):
        j = row.get((int(t) - 1, int(lab)))
        if j is None and parent.get(int(lab), 0):
            j = row.get((int(t) - 1, parent[int(lab)]))
        if j is not None:
            out[i] = truth[j]
    return out


def error_row(k: int, name: str, est: np.ndarray, truth: np.ndarray,
              rows: np.ndarray) -> dict:
    """The table row of one step estimate: its error against the true steps over
    `rows` (median, 75th and 90th percentiles, maximum; px)."""
    err = np.linalg.norm(est - truth, axis=1)[rows]
    return {"step": k, "flow": name, "objects": int(rows.sum()),
            "median px": round(float(np.median(err)), 1),
            "75 % px": round(float(np.percentile(err, 75)), 1),
            "90 % px": round(float(np.percentile(err, 90)), 1),
            "max px": round(float(err.max()), 1)}


def inner_distance(labels: np.ndarray) -> np.ndarray:
    """Each object's distance to its own border: an image made of the masks alone."""
    from scipy import ndimage as ndi
    from skimage.segmentation import find_boundaries

    out = np.zeros(labels.shape, np.float32)
    for t in range(labels.shape[0]):
        inside = (labels[t] > 0) & ~find_boundaries(labels[t], mode="inner")
        out[t] = ndi.distance_transform_edt(inside)
    return out


def run(data: Path) -> tuple[list[dict], list[dict]]:
    import celldyn.track.flow as flow
    from celldyn.config import RunConfig
    from celldyn.measure.features import measure_objects
    from celldyn.track import track_objects
    from celldyn.track.graph import subsample_ctc

    movie, gt, table = T.load_set(data, SET, T.training_frames(SET))
    short = RunConfig().daughter_frames(labels_given=True)
    tracked, errors = [], []
    shipped = flow.image_flow
    try:
        for k in STEPS:
            lab, tab = subsample_ctc(np.asarray(gt), table, k)
            lab = np.asarray(lab)
            mov = np.asarray(movie.data)[::k].astype(np.float32)
            objects = measure_objects(lab, mov)
            truth = true_steps(objects, tab)
            known = ~np.isnan(truth[:, 0])
            for name, kw, images in (("shipped", {}, mov), ("downscale 2", {"downscale": 2}, mov),
                                     ("downscale 8", {"downscale": 8}, mov),
                                     ("whole frame", {"margin": None}, mov),
                                     ("no colony map", {"align": False}, mov),
                                     ("masks' inner distance", {}, inner_distance(lab))):
                errors.append(error_row(k, name, shipped(objects, images, lab, **kw),
                                        truth, known))
                print(errors[-1], flush=True)
            # what other predictors know, from the *true* steps themselves: the
            # neighbours' (any smooth field) and the object's own previous one (a
            # motion model); rows where the predictor has no value are left out
            for name, est in (("colony map + 5 nearest neighbours' true residual steps",
                               neighbours_true_steps(objects, truth, lab)),
                              ("own true step one kept frame earlier",
                               previous_true_steps(objects, tab, truth))):
                errors.append(error_row(k, name, est, truth,
                                        known & ~np.isnan(est[:, 0])))
                print(errors[-1], flush=True)

            def oracle(objs, *a, **kw):
                est = shipped(objs, *a, **kw)
                # the rows of `objs` are those of `objects` (the relink's own table)
                steps = true_steps(objs, tab)
                return np.where(np.isnan(steps), est, steps)

            for mode in ("image flow (shipped)", "true steps (oracle)"):
                flow.image_flow = shipped if mode.startswith("image") else oracle
                tr = track_objects(objects, labels=lab, movie=mov, tracker="lap",
                                   max_gap=T.MAX_GAP, min_daughter_frames=short)
                edges = np.asarray(tr.rows, np.int64)[tr.edges].reshape(-1, 2)
                s = T.score(objects, edges, lab, lab, tab)
                tracked.append({"step": k, "steps given": mode, "TRA": round(s["TRA"], 4),
                                "division F1": round(s["div_F1"], 3),
                                "div TP/FP/FN": f"{s['div_TP']}/{s['div_FP']}/{s['div_FN']}",
                                "image flow used": "image flow" in tr.note})
                print(tracked[-1], flush=True)
    finally:
        flow.image_flow = shipped
    return tracked, errors


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=T.HERE.parents[1] / "shared" / "data")
    ap.add_argument("--no-results-md", action="store_true")
    args = ap.parse_args(argv)
    started = time.perf_counter()
    tracked, errors = run(args.data)
    seconds = time.perf_counter() - started
    t1 = markdown_table(tracked, list(tracked[0]))
    t2 = markdown_table(errors, list(errors[0]))
    print("\n" + t1 + "\n\n" + t2)
    path = Path(__file__).with_name("flow_oracle.json")
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps({"tracked": tracked, "errors": errors, "set": SET,
                               "training_frames": T.training_frames(SET),
                               "machine": machine(), "seconds": round(seconds)},
                              indent=1, default=float))
    tmp.replace(path)
    if not args.no_results_md:
        body = (
            "Written by benchmarks/flow_oracle.py. **Training figures** (the colony's "
            f"training frames, {SET}; its test part is not read). GT masks as detections, "
            "every k-th frame, tracked as `celldyn run --labels` tracks them (LAP, radius "
            "measured, the image-flow relink the colony opens); the oracle replaces the "
            "per-object steps of celldyn.track.flow.image_flow by the true ones (an "
            "object's own next position, or her daughters' midpoint). Where the oracle "
            "gains, a better motion estimate would; the second table is the image flow's "
            "error against the true steps for a few settings (shipped: TV-L1 at a quarter "
            "of the resolution after the colony's affine map, in the box around the "
            "objects). The last two rows of each step are not estimates from the images: "
            "they predict an object's step from *true* steps: the colony's affine map plus "
            "the median of what it leaves of its 5 nearest neighbours' true steps (what "
            "any motion field smooth at the scale of a cell could know at best), and its "
            "own true step one kept frame earlier (what a motion model extrapolating "
            "the track could know at best). Where they are no better than the image flow, "
            "neither a smoother flow nor a motion model can close the oracle's gap; only "
            "matching each object to its own successor (shape, texture) can. "
            f"{seconds:.0f} s.\n\n" + t1 + "\n\n" + t2)
        write_section(SECTION, body, packages=("numpy", "scipy", "scikit-image"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
