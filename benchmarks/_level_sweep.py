"""Shared by the sweeps of one generalist2d post-processing level over the 2D sets
(segmentation_width.py, segmentation_markers.py): the images of a part at the scale
probe's size, the per-set scores of every level, the choice rule and the JSON file."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

SCORES = ("AP@0.5", "AP@0.75", "SEG")


def sweep(part: str, keys: Iterable[str], predictions: Callable[..., dict[str, tuple]],
          extra: str) -> dict:
    """Per set of benchmarks/splits.py SEGMENTATION (2D instance sets), `part`'s images
    that hold an object (at most segmentation.EDGE_VAL_PER_SET, evenly spaced), each
    group at generalist2d's scale probe on its middle image. `predictions(seg, image,
    diameter, zoom)` gives ``{key: (labels, count)}``; per key the set's AP@0.5,
    AP@0.75 and SEG, and the counts summed under `extra`."""
    import segmentation as S

    from celldyn.segment.deep import load_segmenter
    from celldyn.segment.deep.datasets import load_part

    keys = list(keys)
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
        counts: dict[str, list] = {k: [] for k in keys}
        summed = {k: 0 for k in keys}
        for g in S._gen_groups(name, items):
            d = seg.estimate_diameter(items[g[len(g) // 2]].image)
            z = seg.zoom_for(d)
            for i in g:
                for k, (pred, n) in predictions(seg, items[i].image, d, z).items():
                    counts[k].append(S._item_counts(items[i], pred))
                    summed[k] += int(n)
        out[name] = {k: {m: round(v, 4) for m, v in S._summary(c).items() if m in SCORES}
                     | {extra: summed[k]} for k, c in counts.items()}
        out[name]["images"] = len(items)
        print(f"{name} ({len(items)} images, {time.perf_counter() - start:.0f} s): "
              + json.dumps({k: out[name][k]["AP@0.5"] for k in keys}), flush=True)
    return out


def choose(sets: dict, keys: Iterable[str], tie: float = 0.001) -> str:
    """The key with the best mean AP@0.5 over the sets; within `tie` of the best, the
    first in `keys`' order."""
    keys = list(keys)
    means = {k: float(np.mean([v[k]["AP@0.5"] for v in sets.values()])) for k in keys}
    best = max(means.values())
    return next(k for k in keys if means[k] >= best - tie)


def loso(sets: dict, keys: Iterable[str], base: str, label: str) -> str:
    """Each set left out: the key the others choose, and the set's AP@0.5 there vs at
    `base` (`label` after it)."""
    keys = list(keys)
    out = []
    for n in sets:
        k = choose({m: v for m, v in sets.items() if m != n}, keys)
        out.append(f"{n}: {k} ({sets[n][k]['AP@0.5']:.3f} vs {sets[n][base]['AP@0.5']:.3f}"
                   f"{label})")
    return "; ".join(out)


def load(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def save(path: Path, res: dict[str, Any]) -> None:
    """`res` written to `path` through a temporary file (never half written)."""
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(res, indent=1))
    os.replace(tmp, path)


def write(section: str, body: list[str], res: dict) -> str:
    """`body` and the run's notes as `section` of RESULTS.md; the text."""
    from _results import write_section

    if res.get("notes"):
        body = [*body, res["notes"], ""]
    text = "\n".join(body)
    write_section(section, text, packages=("torch", "scikit-image", "numpy"))
    return text


def cli(argv: list[str] | None, doc: str, path: Path, sweep_part: Callable[[str], dict],
        report: Callable[[dict], str],
        more: dict[str, tuple[str, Callable[[], Any]]] | None = None) -> int:
    """``--part validation|test`` sweeps that part into `path`, ``--report-only``
    rewrites the section; each of `more` is a flag ``--NAME`` (help, the function whose
    result is stored under NAME)."""
    import argparse

    ap = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    ap.add_argument("--part", choices=("validation", "test"))
    ap.add_argument("--report-only", action="store_true")
    for flag, (text, _) in (more or {}).items():
        ap.add_argument(f"--{flag}", action="store_true", help=text)
    args = ap.parse_args(argv)
    res = load(path)
    for flag, (_, fn) in (more or {}).items():
        if getattr(args, flag.replace("-", "_")):
            res[flag.replace("-", "_")] = fn()
            save(path, res)
    if args.part and not args.report_only:
        res[args.part] = sweep_part(args.part)
        save(path, res)
    print(report(res))
    return 0
