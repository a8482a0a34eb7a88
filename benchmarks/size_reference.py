"""The daughters' size reference from a first pass: should the LAP link twice when the
movie shows too few likely divisions?

The default division cost compares the daughters' summed size with their mother's
against the movie's own reference (``celldyn.track.scale.conservation_reference``: the
median and spread of ``log((a1 + a2) / a_m)`` over its *likely* divisions, a mother
nearest to exactly two objects astride her). A dense movie at a low frame rate shows
almost none (the E. coli colony's training frames 16-29 at every 4th frame: 0-3 likely
divisions per start frame, the reference needs 8), so the term is off there, and a
neighbour that did not divide was offered a stranger's daughter: on those frames
(GT detections, the four start frames pooled) the false divisions' "daughters" added up
to 2-3.3 times their mother, the true ones to 1.4-1.5 times. With
``celldyn.track.scale.REFERENCE_FROM_LINKS`` on, ``track_objects`` (LAP) takes the
reference from the first pass's own divisions (``conservation_from_links``) and links
again.

Cases, every 1st / 2nd / 4th frame, celldyn LAP as ``celldyn run`` runs it, the second
pass off and on:

- training (the frames splits.TRACKING lets a default be chosen on): GT detections of
  each set's training frames whole and cut into windows of its test part's length (as
  benchmarks/tracking_short.py: short movies show few likely divisions), and celldyn's
  own segmentation of the real movies' training frames whole;
- test (held out): each test part, GT detections and own segmentation (as
  benchmarks/rod_sisters.py); scored once, after the rule below decided.

Rule, fixed before the sweep: on if the training cases' pooled division F1 (TP, FP and
FN summed over every case, GT and own segmentation) is higher with it, and their mean
TRA is not lower by more than 0.001. The section also gives, for each set with a true
division, the decision taken without that set's rows and that set's pooled F1 under it.

Run: ``OMP_NUM_THREADS=1 python benchmarks/size_reference.py`` (``--parts training``,
``--merge``, ``--report-only`` as in merge_split.py). Writes
benchmarks/size_reference.json and the section 'Tracking: size reference from a first
pass'.
"""

from __future__ import annotations

import sys
from pathlib import Path
from unittest import mock

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import tracking as T  # noqa: E402  (sets, parts, loading, scoring)
import tracking_short as TS  # noqa: E402  (the training windows)
from _results import f1, markdown_table  # noqa: E402

SECTION = "Tracking: size reference from a first pass"
TRA_SLACK = 0.001


def _inputs(data: Path, name: str, part: str):
    """``(source, kind, k, labels, gt_labels, gt_table, movie, objects)``."""
    if part == "training":
        for (_, kind, a, b, k, gt_labels, gt_table, labels, objects,
             mov) in TS._cases(data, [name]):
            yield "GT detections", f"{kind} {a}-{b}", k, labels, gt_labels, gt_table, mov, objects
    for source, k, labels, gt_labels, gt_table, mov, objects in T.part_inputs(data, name,
                                                                                part):
        if part == "training" and source == "GT detections":
            continue   # the whole training part is among the cases above
        yield source, "whole", k, labels, gt_labels, gt_table, mov, objects


def rows_for(data: Path, name: str, part: str) -> list[dict]:
    import celldyn.track.scale as scale

    out = []
    for source, kind, k, labels, gt_labels, gt_table, mov, objects in _inputs(data, name,
                                                                                part):
        got = {}
        for on in (False, True):
            with mock.patch.object(scale, "REFERENCE_FROM_LINKS", on):
                edges, seconds, s = T.lap_scored(objects, labels, mov, gt_labels, gt_table,
                                                 own_segmentation=source != "GT detections")
            got[on] = edges
            row = {"set": name, "part": part, "detections": source, "kind": kind,
                   "step": k, "second pass": "on" if on else "off",
                   "seconds": round(seconds, 3), "gt_divisions": int(s["gt_divisions"] or 0),
                   **{q: s[q] for q in ("TRA", "div_F1", "div_TP", "div_FP", "div_FN")}}
            if on:
                row["links changed"] = bool(got[False].shape != edges.shape
                                            or (got[False] != edges).any())
            print(row, flush=True)
            out.append(row)
    return out


def pooled(rows: list[dict]) -> dict:
    tp, fp, fn = (sum(r[q] for r in rows) for q in ("div_TP", "div_FP", "div_FN"))
    return {"TP": tp, "FP": fp, "FN": fn, "F1": f1(tp, fp, fn),
            "TRA": float(np.mean([r["TRA"] for r in rows])) if rows else float("nan")}


def decide(rows: list[dict]) -> tuple[bool, dict, dict]:
    """The rule on the training `rows`: (on?, pooled off, pooled on)."""
    off = pooled([r for r in rows if r["second pass"] == "off"])
    on = pooled([r for r in rows if r["second pass"] == "on"])
    return (on["F1"] > off["F1"] and on["TRA"] >= off["TRA"] - TRA_SLACK), off, on


def summary(rows: list[dict], part: str) -> list[dict]:
    out = []
    for source in ("GT detections", "own segmentation", "all"):
        for rule in ("off", "on"):
            r = [x for x in rows if x["part"] == part and x["second pass"] == rule
                 and source in ("all", x["detections"])]
            if not r:
                continue
            p = pooled(r)
            out.append({"detections": source, "second pass": rule, "TP": p["TP"],
                        "FP": p["FP"], "FN": p["FN"], "F1": f"{p['F1']:.3f}",
                        "mean TRA": f"{p['TRA']:.4f}"})
    return out


def changed(rows: list[dict], part: str) -> list[dict]:
    key = ("set", "detections", "kind", "step")
    off = {tuple(r[q] for q in key): r for r in rows
           if r["part"] == part and r["second pass"] == "off"}
    out = []
    for r in rows:
        if r["part"] != part or r["second pass"] != "on" or not r.get("links changed"):
            continue
        o = off[tuple(r[q] for q in key)]
        out.append({"set": f"{r['set']} x{r['step']}", "detections": r["detections"],
                    "frames": r["kind"],
                    "TRA off -> on": f"{o['TRA']:.4f} -> {r['TRA']:.4f}",
                    "division F1 (TP/FP/FN) off -> on":
                        f"{o['div_F1']:.3f} ({o['div_TP']}/{o['div_FP']}/{o['div_FN']}) -> "
                        f"{r['div_F1']:.3f} ({r['div_TP']}/{r['div_FP']}/{r['div_FN']})"})
    return out


def leave_one_out(rows: list[dict]) -> list[dict]:
    train = [r for r in rows if r["part"] == "training"]
    out = []
    for name in dict.fromkeys(r["set"] for r in train):
        mine = [r for r in train if r["set"] == name]
        if not any(r["gt_divisions"] for r in mine):
            continue
        on, _, _ = decide([r for r in train if r["set"] != name])
        p = {rule: pooled([r for r in mine if r["second pass"] == rule])
             for rule in ("off", "on")}
        out.append({"left out": name, "chosen without it": "on" if on else "off",
                    "its F1 (off / on)": f"{p['off']['F1']:.3f} / {p['on']['F1']:.3f}",
                    "its F1 under the choice": f"{p['on' if on else 'off']['F1']:.3f}"})
    return out


def report(payload: dict) -> str:
    rows = payload["rows"]
    train = [r for r in rows if r["part"] == "training"]
    on, off_p, on_p = decide(train)
    parts = [f"**Decision** (training cases pooled): division F1 {off_p['F1']:.3f} -> "
             f"{on_p['F1']:.3f}, mean TRA {off_p['TRA']:.4f} -> {on_p['TRA']:.4f}: "
             f"second pass **{'on' if on else 'off'}** (shipped: "
             f"REFERENCE_FROM_LINKS = {payload.get('shipped', 'n/a')})."]
    for part, title in (("training", "Training frames (the rule decides on these: "
                                     "training figures)"),
                        ("test", "Test parts (held out; scored once, after the decision)")):
        if not any(r["part"] == part for r in rows):
            continue
        diff = changed(rows, part)
        parts.append(f"{title}, summed over sets, frames and steps:\n\n"
                     + markdown_table(summary(rows, part),
                                      ["detections", "second pass", "TP", "FP", "FN", "F1",
                                       "mean TRA"])
                     + "\n\nRows whose links changed (every other row is identical):\n\n"
                     + (markdown_table(diff, ["set", "detections", "frames",
                                              "TRA off -> on",
                                              "division F1 (TP/FP/FN) off -> on"])
                        if diff else "none"))
    loo = leave_one_out(rows)
    if loo:
        parts.append("Each set left out of the decision (training cases):\n\n"
                     + markdown_table(loo, ["left out", "chosen without it",
                                            "its F1 (off / on)", "its F1 under the choice"]))
    return (f"Run of {payload['date']} ({payload['machine']}). Written by "
            "benchmarks/size_reference.py (its docstring gives the cases and the rule). "
            "Sets: " + ", ".join(payload["sets"]) + ". celldyn LAP as `celldyn run` runs "
            "it; 'second pass' = celldyn.track.scale.REFERENCE_FROM_LINKS (the daughters' "
            "size reference from the first pass's divisions when the movie shows too few "
            f"likely ones). {payload['seconds']:.0f} s in all.\n\n" + "\n\n".join(parts)
            + "\n\nHow to read it. On the training cases the gain is small (the rule's "
            "margin is 2 true and 4 false divisions of about 1,300; one SIM+ window lost "
            "a division): most cases show enough likely divisions, or too few divisions "
            "for a first-pass reference, and only a crowded movie at a low frame rate "
            "has neither. The frames that asked the question (the E. coli colony's "
            "training frames 16-29 at every 4th frame, started at each of frames 16-19, "
            "GT detections: 64/10/10 -> 68/6/6 TP/FP/FN) are not among the cases, whose "
            "windows start at frames 0, 10 and 20 only; they were looked at while "
            "diagnosing and are training figures. The held-out rows were scored once, "
            "after the decision.")


def main(argv: list[str] | None = None) -> int:
    import celldyn.track.scale as scale

    shipped = scale.REFERENCE_FROM_LINKS

    def with_shipped(payload: dict) -> str:
        payload.setdefault("shipped", shipped)
        return report(payload)

    return T.parts_main(argv, __doc__, "size_reference.json", SECTION, rows_for,
                        with_shipped)


if __name__ == "__main__":
    raise SystemExit(main())
