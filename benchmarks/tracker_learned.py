"""Held-out scores of the learned association model vs the hand-made LAP costs.

Both trackers run on ground-truth detections (objects measured on the CTC TRA masks)
with the same candidates (max_distance = 2 x median object diameter, max_gap = 2) and
the same solver (track_lap); only the link costs differ: ``LinkCosts()`` (Kalman
motion, IoU, area) vs ``-log p`` of the learned model. Movies are subsampled in time
(every k-th frame, CTC table rebuilt with celldyn.track.graph.subsample_ctc), scored
by celldyn.training.held_out_scores (divisions: celldyn.evaluate.match_divisions, +-1
frame, as every division figure of celldyn; JSON written before 2026-12-03 used an
exact node match).

Held-out split: Fluo-N2DH-GOWT1-02 and PhC-C2DL-EcoliColony-vanVliet-01, never seen
in training (the shipped model trains on Fluo-N2DH-SIM+-01, Fluo-N2DH-GOWT1-01 and
simulated movies).

Usage::

    nice python benchmarks/tracker_learned.py [--model src/celldyn/models/tracker]
        [--data ../shared/data] [--json benchmarks/tracker_learned.json] [--card]

``--card`` writes the table into the model's CARD.md (section "Held-out scores").
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from celldyn.io import read_ctc_gt, read_ctc_movie
from celldyn.track.learned import LearnedAssociation
from celldyn.training import held_out_scores

HELD_OUT = ["Fluo-N2DH-GOWT1-02", "PhC-C2DL-EcoliColony-vanVliet-01"]
STEPS = (1, 2, 4)


# validation colonies: simulate_colony seeds never used in training (training uses
# seeds 0.. of `celldyn train tracker --colonies`, the division sweep seeds 0 and 1)
VALIDATION_COLONIES = (1000, 1001)


def ctc_sources(data: Path, movies=HELD_OUT):
    """(name, labels, table, movie) of CTC movies in `data`."""
    for name in movies:
        seq = name[-2:]
        labels, table, _ = read_ctc_gt(data / name / f"{seq}_GT")
        yield name, labels, table, read_ctc_movie(data / name / seq).data


def validation_sources(seeds=VALIDATION_COLONIES):
    """Simulated movies never trained on: bacterial colonies, and nuclei movies made as
    `celldyn train tracker --simulated` makes them (its seeds are 0..N-1; these 1000+)."""
    from celldyn.simulate import simulate_colony
    from celldyn.training import simulated_movie

    for seed in seeds:
        sim = simulate_colony(n_frames=40, shape=(400, 400), rng=seed)
        yield f"colony-{seed} (validation)", sim.labels, sim.table, sim.movie.data
    for k in range(3):  # speeds 1, 3, 6 px per frame
        sim = simulated_movie(k, seed=1000)
        yield f"nuclei-{1000 + k} (validation)", sim.labels, sim.table, sim.movie.data


def evaluate(model: LearnedAssociation, data: Path, movies=HELD_OUT, steps=STEPS,
             sources=None, solver: str = "lap"):
    rows = []
    for name, labels, table, movie in (sources if sources is not None
                                       else ctc_sources(data, movies)):
        for step in steps:
            for tracker in ("lap", "learned"):
                t0 = time.perf_counter()
                sc = held_out_scores(labels, table, movie=movie, tracker=tracker,
                                     model=model, step=step, solver=solver)
                sec = time.perf_counter() - t0
                row = {"movie": name, "step": step, "tracker": tracker, "TRA": sc["TRA"],
                       "LNK": sc["LNK"], "division_f1": sc["div_F1"],
                       "divisions_gt": int(sc["gt_divisions"]),
                       "divisions_pred": int(sc["res_divisions"]),
                       "candidate_recall": sc["candidate_recall"], "seconds": sec}
                print({k: round(v, 4) if isinstance(v, float) else v
                       for k, v in row.items()}, flush=True)
                rows.append(row)
    return rows


def table_md(rows) -> str:
    out = ["| movie | frames | tracker | TRA | LNK | division F1 (pred/GT) | GT links in candidates |",
           "|---|---|---|---|---|---|---|"]
    for r in rows:
        out.append(
            f"| {r['movie']} | every {r['step']} | {'learned' if r['tracker'] == 'learned' else 'hand-made LAP'} "
            f"| {r['TRA']:.4f} | {r['LNK']:.4f} | {r['division_f1']:.3f} "
            f"({r['divisions_pred']}/{r['divisions_gt']}) | {r['candidate_recall']:.4f} |"
        )
    return "\n".join(out)


VALIDATION_JSON = Path("benchmarks/tracker_learned_validation.json")


def validation_md(model: LearnedAssociation) -> str:
    """The card's validation section, from --validate's JSON (if it scored this model)."""
    if not VALIDATION_JSON.exists():
        return ""
    res = json.loads(VALIDATION_JSON.read_text())
    if res.get("model_sha256") != model.config.get("sha256"):
        return ""
    return ("## Validation (simulated movies never trained on)\n\n"
            "Two bacterial colonies (simulate_colony seeds 1000, 1001) and three nuclei "
            "movies (as `--simulated` makes them, seed 1000); same protocol as below. "
            "Command: `nice python benchmarks/tracker_learned.py --validate`.\n\n"
            + table_md(res["rows"]) + "\n\n")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", type=Path, default=Path("src/celldyn/models/tracker"))
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--json", type=Path, default=None,
                    help="default benchmarks/tracker_learned.json (held out) or "
                         "benchmarks/tracker_learned_validation.json (--validate)")
    ap.add_argument("--card", action="store_true")
    ap.add_argument("--solver", choices=("lap", "global"), default="lap",
                    help="solver for the learned costs (the hand-made rows use track_lap)")
    ap.add_argument("--validate", action="store_true",
                    help="score on validation colonies (simulated, never trained on) "
                         "instead of the held-out movies; writes --json only")
    args = ap.parse_args()
    torch.set_num_threads(1)
    model = LearnedAssociation.load(args.model)
    if args.json is None:
        args.json = VALIDATION_JSON if args.validate else Path("benchmarks/tracker_learned.json")
    if args.validate:
        rows = evaluate(model, args.data, sources=list(validation_sources()),
                        solver=args.solver)
        for kind in ("colony", "nuclei"):
            for tracker in ("lap", "learned"):
                sub = [r for r in rows if r["tracker"] == tracker
                       and r["movie"].startswith(kind)]
                f1 = [r["division_f1"] for r in sub]
                tra = [r["TRA"] for r in sub]
                print(f"{kind} {tracker}: mean division F1 {sum(f1) / len(f1):.3f}, "
                      f"mean TRA {sum(tra) / len(tra):.4f}", flush=True)
        args.json.write_text(json.dumps({"model_sha256": model.config.get("sha256"),
                                         "rows": rows}, indent=1) + "\n")
        return
    rows = evaluate(model, args.data, solver=args.solver)
    args.json.write_text(json.dumps(rows, indent=1) + "\n")
    if args.card:
        card = args.model / "CARD.md"
        text = card.read_text().split("\n## Held-out scores")[0].rstrip() + "\n"
        text += (
            "\n## Held-out scores\n\n"
            "Held-out movies (never seen in training): " + ", ".join(HELD_OUT) + ". "
            "Tracking on ground-truth detections (TRA masks), same candidates "
            "(2 x median diameter, max_gap 2) and solver (track_lap) for both; "
            "`every k`: every k-th frame, CTC table rebuilt. Division F1: same parent "
            "and same two daughter nodes as the GT. Command: "
            "`nice python benchmarks/tracker_learned.py --card`.\n\n"
            + table_md(rows) + "\n\n"
            + validation_md(model) +
            "## Limits\n\n"
            "- Trained on 2D nuclei (SIM+, GOWT1-01, simulated) and simulated bacterial "
            "colonies; the real E. coli movie is held out. Real bacteria were never "
            "seen in training.\n"
            "- GOWT1-02 has 1 division, so its division F1 is anecdotal.\n"
            "- Scores are on ground-truth detections: segmentation errors are not "
            "modelled (no false/merged detections in training).\n"
            "- 2D only tested; 3D objects tables run but were never trained on.\n"
        )
        card.write_text(text)


if __name__ == "__main__":
    main()
