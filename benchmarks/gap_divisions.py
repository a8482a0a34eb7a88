"""Divisions across a gap: does step 4 of celldyn.track.lap find them, and at what cost?

A detection is missed (the segmentation lost a cell for a frame) or a whole frame is
black (a dropped camera frame): a mother whose daughters first show after the gap was a
track that continued into one daughter, and the other daughter a new track with no
parent. :func:`celldyn.track.lap.gap_divisions` (step 4, :data:`~celldyn.track.lap.GAP_DIVISIONS`)
lets such a mother take the second daughter that starts in the same frame as her first.

For every CTC set with tracking ground truth (benchmarks/tracking.py SETS), the GT
detections, every 1st / 2nd / 4th frame, in three forms: as they are; 5 % of the
detections deleted at random (seed 0, each detection alone); the middle frame blank. The
default tracker (celldyn LAP, as ``celldyn run --labels`` runs it) with step 4 off and
on, scored against the full GT (TRA, BC(1), division TP / FP / FN and F1).

**The choice was made on the training parts** (the frames splits.TRACKING lets a default
be chosen on; SIM+-01 and GOWT1-01 whole): a first form of step 4 that also let the
mother's link or the daughter's alone cross a gap added more false divisions than true
ones where detections were deleted at random (TP 385 -> 405, FP 101 -> 137); the form
shipped (both daughters after the mother's gap) was kept because it raised the summed
division F1 in all three forms but 'as is' (one false division more). The test parts
(held out; GOWT1-02 whole) were scored once, after.

Run: ``OMP_NUM_THREADS=1 python benchmarks/gap_divisions.py`` (about 12 minutes;
``--report-only`` re-writes the section from the JSON). Writes
benchmarks/gap_divisions.json and the section 'Tracking: divisions across a gap' of
RESULTS.md.
"""

from __future__ import annotations

import sys
from pathlib import Path
from unittest import mock

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import tracking as T  # noqa: E402  (sets, parts, loading, scoring)
from _results import f1, markdown_table  # noqa: E402

SECTION = "Tracking: divisions across a gap"
FORMS = ("as is", "5% deleted", "middle frame blank")
DROP = 0.05
SEED = 0
OWN = "training, own segmentation"


def damaged(labels: np.ndarray, form: str) -> np.ndarray:
    """`labels` with detections missing as `form` says (a copy)."""
    out = np.array(labels, copy=True)
    if form == "5% deleted":
        rng = np.random.default_rng(SEED)
        for t in range(len(out)):
            ids = np.unique(out[t])
            ids = ids[ids > 0]
            gone = ids[rng.random(len(ids)) < DROP]
            out[t][np.isin(out[t], gone)] = 0
    elif form == "middle frame blank":
        out[len(out) // 2] = 0
    return out


def rows_for(data: Path, name: str, part: str) -> list[dict]:
    import celldyn.track.lap as lap
    from celldyn.measure.features import measure_objects
    from celldyn.track.graph import subsample_ctc

    frames = T.test_part(name) if part == "test" else T.training_frames(name)
    movie, gt_full, table_full = T.load_set(data, name, frames)
    own = None
    if part == OWN:   # segmented once, repairs off; each subsampled movie repaired
        own = T.segment(movie, name, repair=False)
    out = []
    for k in T.SUBSAMPLING:
        gt_labels, gt_table = subsample_ctc(gt_full, table_full, k)
        mov = np.asarray(movie.data)[::k]
        for form in FORMS:
            labels = damaged(gt_labels if own is None else T.repaired(own[::k]), form)
            objects = measure_objects(labels, mov)
            for on in (False, True):
                with mock.patch.object(lap, "GAP_DIVISIONS", on):
                    _, seconds, s = T.lap_scored(objects, labels, mov, gt_labels, gt_table,
                                                 own_segmentation=own is not None)
                row = {"set": name, "part": part, "step": k, "form": form,
                       "step 4": "on" if on else "off", "seconds": round(seconds, 3),
                       **{q: s[q] for q in ("TRA", "BC(1)", "div_F1", "div_TP", "div_FP",
                                            "div_FN", "gt_divisions")}}
                print({q: v for q, v in row.items()}, flush=True)
                out.append(row)
    return out


def summary(rows: list[dict], part: str) -> list[dict]:
    """Division TP / FP / FN summed over sets and steps, per form and setting."""
    out = []
    for form in FORMS:
        for on in ("off", "on"):
            r = [x for x in rows if x["part"] == part and x["form"] == form
                 and x["step 4"] == on]
            tp, fp, fn = (sum(x[q] for x in r) for q in ("div_TP", "div_FP", "div_FN"))
            out.append({"form": form, "step 4": on, "TP": tp, "FP": fp, "FN": fn,
                        "F1": f"{f1(tp, fp, fn):.3f}",
                        "mean TRA": f"{np.mean([x['TRA'] for x in r]):.4f}"})
    return out


def per_set(rows: list[dict], part: str) -> list[dict]:
    out = []
    keyed = {(r["set"], r["step"], r["form"], r["step 4"]): r for r in rows
             if r["part"] == part}
    for (name, k, form, on), r in keyed.items():
        if on != "off":
            continue
        new = keyed[(name, k, form, "on")]
        out.append({"set": f"{name} x{k}", "form": form,
                    "off: TRA / F1 (TP/FP/FN)": f"{r['TRA']:.4f} / {r['div_F1']:.3f} "
                    f"({r['div_TP']}/{r['div_FP']}/{r['div_FN']})",
                    "on: TRA / F1 (TP/FP/FN)": f"{new['TRA']:.4f} / {new['div_F1']:.3f} "
                    f"({new['div_TP']}/{new['div_FP']}/{new['div_FN']})"})
    return out


def report(payload: dict) -> str:
    rows = payload["rows"]
    parts = []
    for part, title in (("training", "Training parts (the choice; training figures)"),
                        (OWN, "Training parts, celldyn's own segmentation (checked after "
                         "the choice; training figures)"),
                        ("test", "Test parts (held out; scored once, after the choice)")):
        if not any(r["part"] == part for r in rows):
            continue
        parts.append(f"{title}, summed over sets and steps:\n\n"
                     + markdown_table(summary(rows, part), ["form", "step 4", "TP", "FP",
                                                            "FN", "F1", "mean TRA"])
                     + "\n\nPer set:\n\n"
                     + markdown_table(per_set(rows, part),
                                      ["set", "form", "off: TRA / F1 (TP/FP/FN)",
                                       "on: TRA / F1 (TP/FP/FN)"]))
    sets = payload["sets"]
    return (f"Run of {payload['date']} ({payload['machine']}). Written by "
            "benchmarks/gap_divisions.py (its docstring says how the one form of step 4 "
            "was chosen). GT detections of " + ", ".join(sets) + " (and, on the training "
            "frames of the real movies with test parts, celldyn's own segmentation, "
            "tracked as `celldyn run` tracks it); every 1st / 2nd / 4th frame; detections "
            "as they are, 5 % deleted at random (seed 0), or the middle frame blank; "
            "celldyn LAP as `celldyn run` runs it (GT detections as with `--labels`), "
            "step 4 (divisions across a gap, celldyn.track.lap.gap_divisions) off and "
            f"on; scored against the full GT. {payload['seconds']:.0f} s in all.\n\n"
            + "\n\n".join(parts) + "\n\nLeave one set out (step 4 on or off by the "
            "other sets' summed division F1 on their training rows; each form pooled):"
            "\n\n" + markdown_table(
                [{**r, "detections": "GT"} for r in T.loso_levels(rows, "step 4",
                                                                  ("training",))]
                + [{**r, "detections": "own segmentation"}
                   for r in T.loso_levels(rows, "step 4", (OWN,))],
                ["detections", "left out", "chosen by the others", "others' division F1"]))


def main(argv: list[str] | None = None) -> int:
    return T.parts_main(argv, __doc__, "gap_divisions.json", SECTION, rows_for, report,
                        parts="training,own,test",
                        parts_help="comma-separated: training (GT detections), own "
                        "(training frames, celldyn's own segmentation), test (GT detections)",
                        part_names={"own": OWN})


if __name__ == "__main__":
    raise SystemExit(main())
