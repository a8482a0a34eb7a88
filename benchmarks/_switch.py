"""A tracking switch off and on, over the training and test parts: the cases, the rule
and the report that benchmarks/size_reference.py and benchmarks/exchanges.py share.

Cases, every 1st / 2nd / 4th frame, celldyn LAP as ``celldyn run`` runs it, the switch
off and on:

- training (the frames splits.TRACKING lets a default be chosen on): GT detections of
  each set's training frames whole and cut into windows of its test part's length (as
  benchmarks/tracking_short.py: short movies show few likely divisions), and celldyn's
  own segmentation of the real movies' training frames whole;
- test (held out): each test part, GT detections and own segmentation (as
  benchmarks/rod_sisters.py); scored once, after the rule decided.

Rule, fixed before a sweep: on if the training cases' pooled division F1 (TP, FP and FN
summed over every case, GT and own segmentation) is higher with it, and their mean TRA
is not lower by more than :data:`TRA_SLACK`. The report also gives, for each set with
a true division, the decision taken without that set's rows and that set's pooled F1
under it.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import tracking as T  # noqa: E402  (sets, parts, loading, scoring)
import tracking_short as TS  # noqa: E402  (the training windows)
from _results import f1, markdown_table  # noqa: E402

TRA_SLACK = 0.001


def inputs(data: Path, name: str, part: str):
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


@dataclass(frozen=True)
class Switch:
    """``module.attribute`` switched off and on (`values`: the off and the on value);
    `column`: its name in the rows and tables."""

    module: object
    attribute: str
    column: str
    values: tuple = (False, True)

    def rows_for(self, data: Path, name: str, part: str) -> list[dict]:
        out = []
        for source, kind, k, labels, gt_labels, gt_table, mov, objects in inputs(
                data, name, part):
            got = {}
            for on in (False, True):
                with mock.patch.object(self.module, self.attribute, self.values[on]):
                    edges, seconds, s = T.lap_scored(
                        objects, labels, mov, gt_labels, gt_table,
                        own_segmentation=source != "GT detections")
                got[on] = edges
                row = {"set": name, "part": part, "detections": source, "kind": kind,
                       "step": k, self.column: "on" if on else "off",
                       "seconds": round(seconds, 3),
                       "gt_divisions": int(s["gt_divisions"] or 0),
                       **{q: s[q] for q in ("TRA", "div_F1", "div_TP", "div_FP", "div_FN")}}
                if on:
                    row["links changed"] = bool(got[False].shape != edges.shape
                                                or (got[False] != edges).any())
                print(row, flush=True)
                out.append(row)
        return out

    def decide(self, rows: list[dict]) -> tuple[bool, dict, dict]:
        """The rule on the training `rows`: (on?, pooled off, pooled on)."""
        off = pooled([r for r in rows if r[self.column] == "off"])
        on = pooled([r for r in rows if r[self.column] == "on"])
        return (on["F1"] > off["F1"] and on["TRA"] >= off["TRA"] - TRA_SLACK), off, on

    def summary(self, rows: list[dict], part: str) -> list[dict]:
        out = []
        for source in ("GT detections", "own segmentation", "all"):
            for rule in ("off", "on"):
                r = [x for x in rows if x["part"] == part and x[self.column] == rule
                     and source in ("all", x["detections"])]
                if not r:
                    continue
                p = pooled(r)
                out.append({"detections": source, self.column: rule, "TP": p["TP"],
                            "FP": p["FP"], "FN": p["FN"], "F1": f"{p['F1']:.3f}",
                            "mean TRA": f"{p['TRA']:.4f}"})
        return out

    def changed(self, rows: list[dict], part: str) -> list[dict]:
        key = ("set", "detections", "kind", "step")
        off = {tuple(r[q] for q in key): r for r in rows
               if r["part"] == part and r[self.column] == "off"}
        out = []
        for r in rows:
            if r["part"] != part or r[self.column] != "on" or not r.get("links changed"):
                continue
            o = off[tuple(r[q] for q in key)]
            out.append({"set": f"{r['set']} x{r['step']}", "detections": r["detections"],
                        "frames": r["kind"],
                        "TRA off -> on": f"{o['TRA']:.4f} -> {r['TRA']:.4f}",
                        "division F1 (TP/FP/FN) off -> on":
                            f"{o['div_F1']:.3f} ({o['div_TP']}/{o['div_FP']}/{o['div_FN']})"
                            f" -> {r['div_F1']:.3f} ({r['div_TP']}/{r['div_FP']}/"
                            f"{r['div_FN']})"})
        return out

    def leave_one_out(self, rows: list[dict]) -> list[dict]:
        train = [r for r in rows if r["part"] == "training"]
        out = []
        for name in dict.fromkeys(r["set"] for r in train):
            mine = [r for r in train if r["set"] == name]
            if not any(r["gt_divisions"] for r in mine):
                continue
            on, _, _ = self.decide([r for r in train if r["set"] != name])
            p = {rule: pooled([r for r in mine if r[self.column] == rule])
                 for rule in ("off", "on")}
            out.append({"left out": name, "chosen without it": "on" if on else "off",
                        "its F1 (off / on)": f"{p['off']['F1']:.3f} / {p['on']['F1']:.3f}",
                        "its F1 under the choice": f"{p['on' if on else 'off']['F1']:.3f}"})
        return out

    def tables(self, payload: dict, shipped: str) -> list[str]:
        """The decision, the training and test tables and the leave-one-set-out table,
        as markdown paragraphs; `shipped` names the shipped setting."""
        rows = payload["rows"]
        train = [r for r in rows if r["part"] == "training"]
        on, off_p, on_p = self.decide(train)
        parts = [f"**Decision** (training cases pooled): division F1 {off_p['F1']:.3f} -> "
                 f"{on_p['F1']:.3f}, mean TRA {off_p['TRA']:.4f} -> {on_p['TRA']:.4f}: "
                 f"{self.column} **{'on' if on else 'off'}** (shipped: {shipped})."]
        for part, title in (("training", "Training frames (the rule decides on these: "
                                         "training figures)"),
                            ("test", "Test parts (held out; scored once, after the "
                                     "decision)")):
            if not any(r["part"] == part for r in rows):
                continue
            diff = self.changed(rows, part)
            parts.append(f"{title}, summed over sets, frames and steps:\n\n"
                         + markdown_table(self.summary(rows, part),
                                          ["detections", self.column, "TP", "FP", "FN",
                                           "F1", "mean TRA"])
                         + "\n\nRows whose links changed (every other row is identical):\n\n"
                         + (markdown_table(diff, ["set", "detections", "frames",
                                                  "TRA off -> on",
                                                  "division F1 (TP/FP/FN) off -> on"])
                            if diff else "none"))
        loo = self.leave_one_out(rows)
        if loo:
            parts.append("Each set left out of the decision (training cases):\n\n"
                         + markdown_table(loo, ["left out", "chosen without it",
                                                "its F1 (off / on)",
                                                "its F1 under the choice"]))
        return parts


def switch_main(argv: list[str] | None, doc: str, json_name: str, section: str,
                switch: Switch, report) -> int:
    """The command line of a switch benchmark (:func:`tracking.parts_main`); the report
    gets the shipped value as ``payload["shipped"]`` unless the JSON has one."""
    shipped = getattr(switch.module, switch.attribute)

    def with_shipped(payload: dict) -> str:
        payload.setdefault("shipped", shipped)
        return report(payload)

    return T.parts_main(argv, doc, json_name, section, switch.rows_for, with_shipped)


def pooled(rows: list[dict]) -> dict:
    tp, fp, fn = (sum(r[q] for r in rows) for q in ("div_TP", "div_FP", "div_FN"))
    return {"TP": tp, "FP": fp, "FN": fn, "F1": f1(tp, fp, fn),
            "TRA": float(np.mean([r["TRA"] for r in rows])) if rows else float("nan")}
