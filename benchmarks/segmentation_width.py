"""generalist2d: drop objects thinner than a width (slivers), swept on the validation parts.

Reading celldyn's own segmentation of PhC-C2DL-PSC-01's *training* frames (every 3rd of
frames 0-44, against its GT markers) showed, among the objects that cover no marker,
thin slivers cut off the tails of the elongated cells: 121 of 812 unmatched objects were
at most 3 px wide (the widest inscribed disc), against 2 of 2,870 matched ones. This
script asks whether a floor on an object's width (``min_width``, pixels at the model's
scale, where the working object is 30 px across; celldyn.segment.deep.heads.postprocess
.object_widths) pays on every 2D set, as min_size and min_size_edge were chosen
(benchmarks/segmentation.py --min-size-sweep / --edge-sweep): each group of up to
EDGE_VAL_PER_SET images of a part is segmented once at the shipped thresholds and the
scale probe's size, each level applied after. The rule, fixed before the run: the level
with the best mean validation AP@0.5 over the sets is shipped (within 0.001 of the best:
the first such level in the table's order, the smaller change); each set left out, the level the others
choose. The test parts are scored once, after the decision (`--part test`).

Usage::

    python benchmarks/segmentation_width.py --part validation
    python benchmarks/segmentation_width.py --part test
    python benchmarks/segmentation_width.py --report-only
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

JSON = Path(__file__).with_name("segmentation_width.json")
SECTION = "Segmentation: a floor on object width (slivers)"
MODEL_LEVELS = (0, 4, 6, 8, 10, 12)
"""``min_width`` levels, pixels at the model's scale (0: none, as shipped before)."""
IMAGE_LEVELS = ("px2", "px3", "px4", "px5")
"""The same floor in the image's own pixels (2-5 px), whatever the model's zoom: added
after the first sweep, where every level at the model's scale cost the E. coli colony's
rods (6 px wide there) more than it gave elsewhere."""
LEVELS = (*MODEL_LEVELS, *IMAGE_LEVELS)
TIE = 0.001


def sweep(part: str) -> dict:
    """Per set: counts per level (summed AP / SEG inputs) for `part`'s images."""
    import segmentation as S

    from celldyn.segment.deep import load_segmenter
    from celldyn.segment.deep.datasets import load_part
    from celldyn.segment.deep.heads.postprocess import object_widths

    seg = load_segmenter("generalist2d")
    out: dict[str, dict] = {}
    for name, sp in S._gen_sets().items():
        if not getattr(sp, part):
            continue
        items = S._evenly([it for it in load_part(sp, part, S.DATA)
                           if (it.labels > 0).any()], S.EDGE_VAL_PER_SET)
        if not items:
            continue
        start = time.perf_counter()
        counts: dict[int, list] = {m: [] for m in LEVELS}
        dropped = {m: 0 for m in LEVELS}
        for g in S._gen_groups(name, items):
            d = seg.estimate_diameter(items[g[len(g) // 2]].image)
            z = seg.zoom_for(d)
            for i in g:
                lab = seg.segment(items[i].image, diameter=d)
                width = object_widths(lab)              # image pixels
                for m in LEVELS:
                    floor = float(m[2:]) if isinstance(m, str) else m / z
                    thin = np.flatnonzero(width < floor)
                    thin = thin[thin > 0]
                    dropped[m] += int(np.isin(thin, np.unique(lab)).sum())
                    pred = np.where(np.isin(lab, thin), 0, lab)
                    counts[m].append(S._item_counts(items[i], pred))
        out[name] = {str(m): {k: round(v, 4) for k, v in S._summary(c).items()
                              if k in ("AP@0.5", "AP@0.75", "SEG")}
                     | {"dropped": dropped[m]} for m, c in counts.items()}
        out[name]["images"] = len(items)
        print(f"{name} ({len(items)} images, {time.perf_counter() - start:.0f} s): "
              + json.dumps({m: out[name][str(m)]["AP@0.5"] for m in LEVELS}), flush=True)
    return out


def choose(sets: dict) -> int:
    means = {m: float(np.mean([v[str(m)]["AP@0.5"] for v in sets.values()]))
             for m in LEVELS}
    best = max(means.values())
    return next(m for m in LEVELS if means[m] >= best - TIE)


def table(sets: dict) -> str:
    names = list(sets)
    head = ("| min_width | mean AP@0.5 | mean SEG | objects dropped | "
            + " | ".join(f"{n} ({sets[n]['images']})" for n in names) + " |")
    rows = [head, "|" + "---|" * (4 + len(names))]
    for m in LEVELS:
        ap = [sets[n][str(m)]["AP@0.5"] for n in names]
        sg = [sets[n][str(m)]["SEG"] for n in names]
        dr = sum(sets[n][str(m)]["dropped"] for n in names)
        rows.append(f"| {m} | {np.mean(ap):.4f} | {np.mean(sg):.4f} | {dr} | "
                    + " | ".join(f"{sets[n][str(m)]['AP@0.5']:.3f} / "
                                 f"{sets[n][str(m)]['SEG']:.3f}" for n in names) + " |")
    return "\n".join(rows)


def loso(sets: dict) -> str:
    lines = []
    for n in sets:
        others = {k: v for k, v in sets.items() if k != n}
        m = choose(others)
        lines.append(f"{n}: {m} ({sets[n][str(m)]['AP@0.5']:.3f} vs "
                     f"{sets[n]['0']['AP@0.5']:.3f} at 0)")
    return "; ".join(lines)


def report(res: dict) -> str:
    from _results import write_section

    val = res.get("validation")
    body = [__doc__.split("Usage::")[0].strip(), ""]
    if val:
        chosen = choose(val)
        body += ["Validation parts (AP@0.5 / SEG per set; images in brackets):", "",
                 table(val), "",
                 f"Chosen by the rule: **{chosen}**. Each set left out, the level the "
                 f"others choose and the set's validation AP@0.5 there vs none: "
                 + loso(val) + ".", ""]
    if res.get("test"):
        body += ["Test parts, scored once after the decision (same images as the "
                 "validation sweep's cap; AP@0.5 / SEG):", "", table(res["test"]), ""]
    if res.get("notes"):
        body += [res["notes"], ""]
    text = "\n".join(body)
    write_section(SECTION, text, packages=("torch", "scikit-image", "numpy"))
    return text


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--part", choices=("validation", "test"))
    ap.add_argument("--report-only", action="store_true")
    args = ap.parse_args(argv)
    res = json.loads(JSON.read_text()) if JSON.exists() else {}
    if args.part and not args.report_only:
        res[args.part] = sweep(args.part)
        tmp = JSON.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(res, indent=1))
        os.replace(tmp, JSON)
    print(report(res))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
