"""The learned association model on real lineages: training, held-out scores, speed.

Modes (one per call; each writes its JSON, then the section "Tracking: learned
association on real lineages" of benchmarks/RESULTS.md is rebuilt from the JSONs):

- ``--train full`` / ``--train without:SET``: run ``celldyn train tracker`` on the
  training parts of benchmarks/splits.py TRACKING (the real sets' training frames,
  SIM+-01 and GOWT1-01 whole) plus simulation, the epoch chosen on the real sets'
  validation frames; ``full`` writes the shipped model (src/celldyn/models/tracker),
  ``without:SET`` a leave-one-set-out model without SET (training and validation) in
  benchmarks/tracker_models/without-SET.
- default: the shipped model and the default LAP tracker on the test parts (the real
  sets' test frames, GOWT1-02 whole), GT detections, every 1st, 2nd, 4th frame;
  ``--card`` also writes the table into the model's CARD.md.
- ``--loso``: every leave-one-set-out model on all frames of its left-out set.
- ``--speed MAIN_SRC``: CPU seconds per 1,000 detections of ``tracker="learned"`` on
  PhC-C2DL-PSC-01, this checkout vs another (main before the change).

Usage::

    python benchmarks/tracker_learned.py [--train full|without:SET] [--loso]
        [--speed /work/main/src] [--card] [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from splits import TRACKING, frame_range

from celldyn.evaluate import tracking_scores
from celldyn.io import read_ctc_gt, read_ctc_movie
from celldyn.measure import measure_objects
from celldyn.track import track_objects
from celldyn.track.learned import LearnedAssociation, subsample_ctc
from celldyn.training import crop_ctc

STEPS = (1, 2, 4)
RESULTS_JSON = Path("benchmarks/tracker_learned.json")
LOSO_JSON = Path("benchmarks/tracker_learned_loso.json")
SPEED_JSON = Path("benchmarks/tracker_learned_speed.json")
SECTION = "Tracking: learned association on real lineages"


def load(data: Path, name: str):
    seq = name[-2:]
    labels, table, _ = read_ctc_gt(data / name / f"{seq}_GT")
    return np.asarray(labels), table, np.asarray(read_ctc_movie(data / name / seq).data)


def part_sources(data: Path, part: str = "test", names=None):
    """(set, frames, labels, table, movie): `part` frames of the frame-split sets and
    the whole test movies of splits.TRACKING."""
    for name, sp in TRACKING.items():
        if names is not None and name not in names:
            continue
        if sp.unit == "frame":
            a, b = frame_range(getattr(sp, part))
            labels, table, movie = load(data, name)
            lab, tab = crop_ctc(labels, table, a, b)
            yield name, f"{part} {a}-{b}", lab, tab, movie[a:b + 1]
        elif part == "test" and sp.test:
            labels, table, movie = load(data, name)
            yield name, f"test, all {labels.shape[0]}", labels, table, movie


def score(tracks, labels, gt_labels, gt_table) -> dict:
    s = tracking_scores(gt_labels, gt_table, tracks.relabel(labels), tracks.table)
    return {k: float(s[k]) for k in ("TRA", "LNK", "BC(1)", "div_precision", "div_recall",
                                      "div_F1")} | {
        k: int(s[k]) for k in ("div_TP", "div_FP", "div_FN", "gt_divisions")}


def evaluate(models: dict[str, LearnedAssociation | None], sources, steps=STEPS):
    """Rows per (source, step, tracker); `models` maps a row name to a learned model
    (None: the default hand-made LAP tracker). Both run with no tracking option."""
    rows = []
    for name, frames, labels, table, movie in sources:
        for step in steps:
            if labels.shape[0] < 2 * step:
                continue
            sub, tab = subsample_ctc(labels, table, step)
            mov = movie[::step]
            objects = measure_objects(sub, mov)
            for tracker, model in models.items():
                t0 = time.process_time()
                tracks = track_objects(objects, labels=sub, movie=mov,
                                       tracker="lap" if model is None else "learned",
                                       model=model)
                row = {"set": name, "frames": frames, "step": step, "tracker": tracker,
                       "detections": len(objects),
                       "cpu_seconds": round(time.process_time() - t0, 3),
                       **score(tracks, sub, sub, tab)}
                print({k: round(v, 4) if isinstance(v, float) else v
                       for k, v in row.items()}, flush=True)
                rows.append(row)
    return rows


def _f(v, d=3):
    return "n/a" if math.isnan(v) else f"{v:.{d}f}"


def table_md(rows) -> str:
    out = ["| set | frames | step | tracker | TRA | LNK | BC(1) | div P / R / F1 "
           "(TP/FP/FN) |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        out.append(
            f"| {r['set']} | {r['frames']} | x{r['step']} | {r['tracker']} | "
            f"{_f(r['TRA'], 4)} | {_f(r['LNK'])} | {_f(r['BC(1)'])} | "
            f"{_f(r['div_precision'], 2)} / {_f(r['div_recall'], 2)} / "
            f"{_f(r['div_F1'], 2)} ({r['div_TP']}/{r['div_FP']}/{r['div_FN']}) |")
    return "\n".join(out)


def speed_of(src: Path, model_dir: Path | None, data: Path, repeat: int = 3) -> dict:
    """CPU seconds of track_objects(tracker="learned") on PhC-C2DL-PSC-01's GT
    detections, the code under `src` (another checkout, e.g. main before the change)."""
    code = f"""
import json, sys, time, numpy as np, torch
sys.path.insert(0, {str(src)!r}); torch.set_num_threads(1)
from celldyn.io import read_ctc_gt, read_ctc_movie
from celldyn.measure import measure_objects
from celldyn.track import track_objects
from celldyn.track.learned import LearnedAssociation
d = {str(data / "PhC-C2DL-PSC-01")!r}
labels, table, _ = read_ctc_gt(d + "/01_GT"); labels = np.asarray(labels)
movie = np.asarray(read_ctc_movie(d + "/01").data)
objects = measure_objects(labels, movie)
model = LearnedAssociation.{"from_pretrained()" if model_dir is None else f"load({str(model_dir)!r})"}
track_objects(objects.iloc[:300], labels=labels, movie=movie, tracker="learned", model=model)
times = []
for _ in range({repeat}):
    t0 = time.process_time()
    tr = track_objects(objects, labels=labels, movie=movie, tracker="learned", model=model)
    times.append(time.process_time() - t0)
import celldyn
print(json.dumps({{"detections": len(objects), "cpu_seconds": min(times),
                  "links": int(len(tr.edges)), "celldyn": celldyn.__file__}}))
"""
    import subprocess

    env = {**__import__("os").environ, "PYTHONPATH": str(src), "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, check=True).stdout.strip().splitlines()[-1]
    res = json.loads(out)
    res["s_per_1000"] = res["cpu_seconds"] / res["detections"] * 1000
    return res


def write_results() -> None:
    from _results import write_section

    parts = []
    if SPEED_JSON.exists():
        sp = json.loads(SPEED_JSON.read_text())
        b, a = sp["before"], sp["after"]
        parts.append(
            "### Speed\n\n"
            "`track_objects(objects, labels=..., movie=..., tracker=\"learned\")` as "
            "`celldyn run --tracker learned` calls it (candidates, features, network, "
            "LAP solve; the objects table measured beforehand), PhC-C2DL-PSC-01 GT "
            f"detections ({a['detections']}), one thread, CPU seconds (process time; "
            "the machine is shared, wall time is noisy), fastest of 3. Before: main at "
            f"{sp['before_commit']} with its shipped model (candidates within 2 median "
            "object diameters, hidden 32, scatter attention over up to 8 competitors, "
            "networkx round trip). After: this branch (candidates within the measured "
            "search radius, pruned: one-frame links among the 6 nearest of their "
            "source or target, gaps only mutual-nearest where a one-frame link is "
            "unsure; batched attention over up to 6 competitors; hidden 16; links as an "
            "edge array; IoU over foreground pixels only).\n\n"
            "| code | s per 1,000 detections | seconds | links |\n|---|---|---|---|\n"
            f"| before (main) | {b['s_per_1000']:.4f} | {b['cpu_seconds']:.3f} | {b['links']} |\n"
            f"| after | {a['s_per_1000']:.4f} | {a['cpu_seconds']:.3f} | {a['links']} |\n\n"
            f"Speed-up: {b['cpu_seconds'] / a['cpu_seconds']:.1f}x.")
    if RESULTS_JSON.exists():
        res = json.loads(RESULTS_JSON.read_text())
        parts.append(
            "### Held-out test parts (shipped model)\n\n"
            "The shipped model (src/celldyn/models/tracker, its CARD.md) trained on the "
            "training frames of the real sets, SIM+-01 and GOWT1-01 whole, and "
            "simulation; its epoch chosen on the validation frames. Scored here on the "
            "test frames (the last 25 %, benchmarks/splits.py TRACKING; links into the "
            "part from before it dropped) and on the test movie GOWT1-02, GT "
            "detections, every k-th frame. 'celldyn LAP' is the default tracker (no "
            "option), 'celldyn learned' `--tracker learned` (no option). Scores: "
            "celldyn.evaluate.tracking_scores.\n\n" + table_md(res["rows"]))
    if LOSO_JSON.exists():
        res = json.loads(LOSO_JSON.read_text())
        parts.append(
            "### Leave one set out\n\n"
            "'learned without S': the same recipe (benchmarks/tracker_learned.py "
            "--train without:S; weights in benchmarks/tracker_models/without-S) with "
            "set S left out of training and validation, scored on every frame of S "
            "(held out for it), beside the default LAP tracker.\n\n"
            + table_md(res["rows"]))
    write_section(SECTION, "Written by benchmarks/tracker_learned.py.\n\n"
                  + "\n\n".join(parts), packages=("numpy", "torch"))


# ------------------------------------------------------------------------ training

REAL_SETS = [n for n, sp in TRACKING.items() if sp.unit == "frame"]
WHOLE_TRAIN = [n for n, sp in TRACKING.items() if sp.unit == "movie" and sp.train]
LOSO_DIR = Path("benchmarks/tracker_models")
TRAIN_OPTIONS = ["--simulated", "4", "--colonies", "2", "--subsample", "1,2,4",
                 "--epochs", "10", "--seed", "0"]


def train_command(data: Path, out: Path, without: str | None = None) -> list[str]:
    """`celldyn train tracker` arguments: the training parts of splits.TRACKING (the
    real movies' training frames, SIM+-01 and GOWT1-01 whole) plus simulation,
    validation on the real movies' validation frames; `without` drops a whole set."""
    args = []
    for name in REAL_SETS:
        if name == without:
            continue
        sp = TRACKING[name]
        seq = name[-2:]
        a, b = frame_range(sp.train)
        args += ["--gt", f"{data / name / f'{seq}_GT'}:{a}-{b}"]
    for name in WHOLE_TRAIN:
        if name != without:
            args += ["--gt", str(data / name / f"{name[-2:]}_GT")]
    for name in REAL_SETS:
        if name == without:
            continue
        a, b = frame_range(TRACKING[name].validation)
        args += ["--validation", f"{data / name / f'{name[-2:]}_GT'}:{a}-{b}"]
    return args + TRAIN_OPTIONS + ["--out", str(out), "--overwrite"]


def train(data: Path, without: str | None) -> Path:
    from celldyn.cli.train_tracker import train_tracker_command

    out = (Path("src/celldyn/models/tracker") if without is None
           else LOSO_DIR / f"without-{without}")
    args = train_command(data, out, without)
    print("celldyn train tracker " + " ".join(args), flush=True)
    train_tracker_command.main(args, standalone_mode=False)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--train", default=None, metavar="full|without:SET",
                    help="train the shipped model (full) or a leave-one-set-out model "
                         "(benchmarks/tracker_models/without-SET) on splits.TRACKING")
    ap.add_argument("--loso", action="store_true",
                    help="score every benchmarks/tracker_models/without-SET on all of SET")
    ap.add_argument("--speed", type=Path, default=None, metavar="MAIN_SRC",
                    help="CPU seconds per 1,000 detections, this checkout vs MAIN_SRC "
                         "(e.g. /work/main/src)")
    ap.add_argument("--card", action="store_true",
                    help="also write the held-out table into the model's CARD.md")
    ap.add_argument("--no-results-md", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)
    if args.train:
        train(args.data, None if args.train == "full" else args.train.split(":", 1)[1])
        return
    if args.speed:
        import subprocess

        commit = subprocess.run(["git", "-C", str(args.speed), "rev-parse", "--short",
                                 "HEAD"], capture_output=True, text=True, check=False).stdout.strip()
        here = Path(__file__).resolve().parents[1] / "src"
        res = {"before": speed_of(args.speed, None, args.data),
               "after": speed_of(here, None, args.data), "before_commit": commit}
        print(res, flush=True)
        SPEED_JSON.write_text(json.dumps(res, indent=1) + "\n")
    elif args.loso:
        rows = []
        for folder in sorted(LOSO_DIR.glob("without-*")):
            name = folder.name.removeprefix("without-")
            labels, table, movie = load(args.data, name)
            src = [(name, f"all {labels.shape[0]}", labels, table, movie)]
            rows += evaluate({"celldyn LAP": None,
                              f"learned without {name}": LearnedAssociation.load(folder)},
                             src)
        LOSO_JSON.write_text(json.dumps({"rows": rows}, indent=1) + "\n")
    else:
        model = LearnedAssociation.from_pretrained()
        rows = evaluate({"celldyn LAP": None, "celldyn learned": model},
                        part_sources(args.data))
        RESULTS_JSON.write_text(json.dumps({"model_sha256": model.config.get("sha256"),
                                            "rows": rows}, indent=1) + "\n")
        if args.card:
            card = Path("src/celldyn/models/tracker/CARD.md")
            text = card.read_text().split("\n## Held-out scores")[0].rstrip() + "\n"
            card.write_text(text + CARD_TAIL + table_md(rows) + "\n" + CARD_LIMITS)
    if not args.no_results_md:
        write_results()


CARD_TAIL = """
## Held-out scores

Test parts of benchmarks/splits.py TRACKING (the last 25 % of the frames of HeLa-01,
PSC-01, the E. coli colony and DIC-HeLa-01, never trained on or selected on) and the
test movie GOWT1-02; GT detections, every k-th frame; 'celldyn LAP' is the default
tracker, 'celldyn learned' this model, both with no tracking option. Command:
`python benchmarks/tracker_learned.py --card`. Leave-one-set-out scores (the recipe
trained without a whole set, scored on all of it) are in benchmarks/RESULTS.md,
'Tracking: learned association on real lineages'.

"""

CARD_LIMITS = """
## Limits

- Trained on 2D movies only (nuclei markers, whole cells, E. coli masks, simulation);
  3D objects tables run but were never trained on.
- The test parts are the last frames of the same movies whose first frames trained it
  (same microscope, same cells): they measure generalisation in time, not to new
  movies; see the leave-one-set-out rows for that.
- Scores are on ground-truth detections: segmentation errors are not modelled (no
  false or merged detections in training).
- No merges (use the LAP tracker with `--merges`).
"""


if __name__ == "__main__":
    main()
