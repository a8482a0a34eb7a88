"""``--segmenter auto``: which segmenter a movie gets, and why (a documented rule).

The rule (measured on the *validation* parts of benchmarks/splits.py only; the figures
are in benchmarks/RESULTS.md, section "Segmentation: generalist and automatic choice"):

1. A 3D movie, or no torch installed: the classical watershed (no 3D model is shipped;
   deep models need ``celldyn[deep]``).
2. A 2D movie: the shipped generalist (:data:`AUTO_MODEL`) with its object size
   estimated once per movie by the scale probe on the middle frame. On validation it
   scored at or above the best classical method on most sets (nuclei, bacteria and
   whole cells alike), so it is the first choice; the classical method is not run.
3. Fallback: if the probe finds no objects, or the generalist's output is
   pathological (:func:`celldyn.segment.sanity.check_segmentation` finds empty frames,
   one object covering a frame, or fragments), the classical watershed is run too and
   kept if it has fewer such findings; the reason is recorded.

:func:`segment_movie_auto` returns the labels and a :class:`Choice` (what ran, the
diameter, the reason and the remaining findings) for the summary and run.json; it prints
nothing.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .sanity import Finding, check_segmentation

__all__ = ["AUTO_MODEL", "Choice", "segment_movie_auto"]

AUTO_MODEL = "generalist2d"
SEVERE = ("empty", "covering", "fragments")


@dataclass
class Choice:
    """What `--segmenter auto` ran and why."""

    segmenter: str                      # "deep" or "classical"
    model: str | None
    reason: str
    diameter: float | None = None
    findings: list[Finding] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"segmenter": self.segmenter, "model": self.model, "reason": self.reason,
                "diameter": self.diameter,
                "findings": [{"kind": f.kind, "frames": list(f.frames),
                              "message": f.message} for f in self.findings]}


def _severe(findings: list[Finding]) -> int:
    return sum(1 for f in findings if f.kind in SEVERE)


def _classical(data: Any, dark_objects: bool) -> np.ndarray:
    from .classical import segment_movie

    if dark_objects:
        arr = np.asarray(data, dtype=np.float32)
        return segment_movie(float(arr.max()) - arr, fill_holes=False)
    return segment_movie(data)


def segment_movie_auto(data: Any, *, dark_objects: bool = False, model: str = AUTO_MODEL,
                       progress: bool | type = False) -> tuple[np.ndarray, Choice]:
    """Labels ``(T, [Z,] Y, X)`` of a single-channel movie array and the :class:`Choice`.

    `dark_objects` is used only by the classical fallback: the generalist was trained on
    both polarities (phase-contrast bacteria, H&E and fluorescence) and sees the raw frame.
    """
    arr = data if hasattr(data, "ndim") else np.asarray(data)
    if arr.ndim != 3:
        return _classical(arr, dark_objects), Choice(
            "classical", None, "3D movie: no 3D deep model is shipped")
    if importlib.util.find_spec("torch") is None:
        return _classical(arr, dark_objects), Choice(
            "classical", None, "torch is not installed (pip install celldyn[deep])")
    from .deep.registry import load_segmenter, segment_movie_deep

    seg = load_segmenter(model)
    middle = np.asarray(arr[arr.shape[0] // 2])
    diameter = seg.estimate_diameter(middle)
    if diameter is None:
        return _classical(arr, dark_objects), Choice(
            "classical", None, f"the {model} scale probe found no objects")
    deep = segment_movie_deep(arr, model=seg, diameter=diameter, progress=progress)
    found = check_segmentation(deep)
    if _severe(found) == 0:
        return deep, Choice("deep", model, f"2D movie: {model} (the validated default), "
                            f"objects about {diameter:.0f} px across", diameter, found)
    classical = _classical(arr, dark_objects)
    found_c = check_segmentation(classical)
    if _severe(found_c) < _severe(found):
        kinds = ", ".join(f.kind for f in found if f.kind in SEVERE)
        return classical, Choice("classical", None, f"{model} output was pathological "
                                 f"({kinds}); the classical watershed was not", None, found_c)
    return deep, Choice("deep", model, f"{model}; the classical watershed was no better",
                        diameter, found)
