"""``--segmenter auto``: which segmenter a movie gets, and why (a documented rule).

The rule, fixed from the *validation* parts of benchmarks/splits.py only (figures in
benchmarks/RESULTS.md, section "Segmentation: generalist and automatic choice"):

1. Primary: the classical watershed (``--dark-objects`` as the user says). On the
   validation parts the shipped ``generalist2d`` (a short CPU training) did not beat it:
   on DIC HeLa and the phase-contrast E. coli colony both fail (AP@0.5 <= 0.03), the
   generalist's scale probe misjudged the object size there (4-7 px for 25-110 px
   objects), and on nuclei the watershed is strong. So the generalist is not the
   default until a better-trained model beats the watershed on validation data.
2. Fallback: if the watershed's output is pathological
   (:func:`celldyn.segment.sanity.check_segmentation` finds empty frames, one object
   covering a frame, or fragments) and torch is installed and the movie is 2D, the
   shipped generalist (:data:`FALLBACK_MODEL`, object size by its scale probe once per
   movie) is run too and kept if it has fewer such findings. The reason is recorded.

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

__all__ = ["FALLBACK_MODEL", "Choice", "segment_movie_auto"]

FALLBACK_MODEL = "generalist2d"
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


def segment_movie_auto(data: Any, *, dark_objects: bool = False,
                       model: str = FALLBACK_MODEL,
                       progress: bool | type = False) -> tuple[np.ndarray, Choice]:
    """Labels ``(T, [Z,] Y, X)`` of a single-channel movie array and the :class:`Choice`.

    `dark_objects` applies to the watershed only: the generalist was trained on both
    polarities (phase-contrast bacteria, H&E and fluorescence) and sees the raw frame.
    """
    arr = data if hasattr(data, "ndim") else np.asarray(data)
    labels = _classical(arr, dark_objects)
    found = check_segmentation(labels)
    if _severe(found) == 0:
        return labels, Choice("classical", None, "the watershed (the validated default) "
                              "gave plausible output", None, found)
    kinds = ", ".join(f.kind for f in found if f.kind in SEVERE)
    if arr.ndim != 3:
        return labels, Choice("classical", None, f"the watershed output is suspect ({kinds}) "
                              "but no 3D deep model is shipped", None, found)
    if importlib.util.find_spec("torch") is None:
        return labels, Choice("classical", None, f"the watershed output is suspect ({kinds}); "
                              "install torch (celldyn[deep]) to try the deep model", None,
                              found)
    from .deep.registry import load_segmenter, segment_movie_deep

    seg = load_segmenter(model)
    diameter = seg.estimate_diameter(np.asarray(arr[arr.shape[0] // 2]))
    if diameter is None:
        return labels, Choice("classical", None, f"the watershed output is suspect ({kinds}) "
                              f"and the {model} scale probe found no objects", None, found)
    deep = segment_movie_deep(arr, model=seg, diameter=diameter, progress=progress)
    found_d = check_segmentation(deep)
    if _severe(found_d) < _severe(found):
        return deep, Choice("deep", model, f"the watershed output was pathological "
                            f"({kinds}); {model} was not (objects about {diameter:.0f} px)",
                            diameter, found_d)
    return labels, Choice("classical", None, f"the watershed output is suspect ({kinds}) "
                          f"and {model} was no better", None, found)
