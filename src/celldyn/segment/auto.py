"""``--segmenter auto`` (the default): which segmenter a movie gets, and why.

The rule (our own; its one level, :data:`AGREEMENT`, was chosen on the *validation*
parts of benchmarks/splits.py only: benchmarks/RESULTS.md, section "Segmentation:
generalist and automatic choice"):

1. On the middle frame (or, where it is blank, the nearest one that is not:
   :func:`celldyn._frames.reference_frame`), run the classical watershed
   (``--dark-objects`` as the user says) and the shipped generalist
   (:data:`GENERALIST`, object size from its scale probe on that frame; it sees the
   raw frame, as it was trained on both polarities).
2. If they agree (F1 of their objects matched at IoU 0.5 at least :data:`AGREEMENT`),
   the movie is the watershed's kind (fluorescent nuclei and blobs, where it was
   validated as strong): keep the watershed, which is about a hundred times cheaper.
3. If they disagree, the generalist is run on the whole movie at that object size,
   unless its frame is pathological (:func:`celldyn.segment.sanity.check_segmentation`:
   empty, one object covering the frame, fragments) and the watershed's is not.
   Where the generalist runs but is unsure of that frame (its class uncertainty,
   :func:`celldyn.segment.deep.inference.class_uncertainty`, above the model's
   ``uncertainty_warn``, set just above every validation image's), the reason says so
   and :func:`resolve_auto` warns: it may never have seen this kind of image (EM).
4. Without torch, or for 3D movies (the shipped 3D model, nuclei3d, is for nuclei and
   was validated on one volume: too little to choose it unasked), the watershed runs and
   the reason says so.

:func:`choose_segmenter` decides from one frame (cheap, and the same decision in
process and on a Dask cluster); :func:`celldyn.segment.api.segment_movie_auto` also
segments. Both return
a :class:`Choice` (what ran, the object size, the agreement and the reason) for the
summary and run.json; nothing is printed here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .sanity import Finding, check_segmentation

__all__ = ["AGREEMENT", "GENERALIST", "Choice", "choose_segmenter", "forced_deep",
           "resolve_auto", "resolve_segmenter"]

GENERALIST = "generalist2d"
AGREEMENT = 0.9
SEVERE = ("empty", "covering", "fragments")


@dataclass
class Choice:
    """What `--segmenter auto` ran and why."""

    segmenter: str                      # "deep" or "classical"
    model: str | None
    reason: str
    diameter: float | None = None
    findings: list[Finding] = field(default_factory=list)
    agreement: float | None = None
    frame: int | None = None
    uncertainty: float | None = None
    unsure: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"segmenter": self.segmenter, "model": self.model, "reason": self.reason,
                "diameter": self.diameter, "agreement": self.agreement, "frame": self.frame,
                **({"uncertainty": round(self.uncertainty, 4), "unsure": self.unsure}
                   if self.uncertainty is not None else {}),
                "findings": [{"kind": f.kind, "frames": list(f.frames),
                              "message": f.message} for f in self.findings]}

    def text(self) -> str:
        """One line for the run summary."""
        what = (f"deep {self.model}" + (f" (objects about {self.diameter:.0f} px)"
                                        if self.diameter else "")
                if self.segmenter == "deep" else "classical watershed")
        return f"auto: {what}; {self.reason}"

    def how(self, dark_objects: bool = False) -> dict[str, Any]:
        """Keywords of :func:`celldyn.segment.api.segment_movie` for this choice."""
        if self.segmenter == "deep":
            return {"segmenter": "deep", "model": self.model, "dark_objects": False,
                    "params": {"diameter": self.diameter}}
        return {"segmenter": "classical", "dark_objects": dark_objects}


def _severe(findings: list[Finding]) -> int:
    return sum(1 for f in findings if f.kind in SEVERE)


def _watershed(frame: np.ndarray, dark_objects: bool, method: str = "watershed",
               params: dict[str, Any] | None = None) -> np.ndarray:
    import inspect

    from .classical import _method

    arr = np.asarray(frame, dtype=np.float32)
    params = dict(params or {})
    func = _method(method, params)          # takes a variant out of `params`
    if dark_objects:
        arr = float(arr.max()) - arr
        if "fill_holes" in inspect.signature(func).parameters:
            params.setdefault("fill_holes", False)
    return func(arr, **params)


def agreement(a: np.ndarray, b: np.ndarray, iou: float = 0.5) -> float:
    """F1 of the objects of two label images matched one-to-one at IoU >= `iou`
    (1.0 when both are empty)."""
    from .deep.metrics import match_counts

    tp, fp, fn = match_counts(np.asarray(a), np.asarray(b), (iou,))[iou]
    return 1.0 if tp + fp + fn == 0 else float(2 * tp / max(1, 2 * tp + fp + fn))


def choose_segmenter(data: Any, *, dark_objects: bool = False, model: str = GENERALIST,
                     method: str = "watershed",
                     params: dict[str, Any] | None = None) -> Choice:
    """The :class:`Choice` for a single-channel movie ``(T, [Z,] Y, X)`` (array-like,
    dask included: only the middle frame is read, or where it is blank the nearest
    frame with content, which the reason then names)."""
    from .._frames import reference_frame

    t = reference_frame(data)   # the middle frame, unless it is blank
    choice = _choose_on(data, t, dark_objects=dark_objects, model=model, method=method,
                        params=params)
    middle = int(data.shape[0]) // 2
    if t != middle:
        choice.reason += f" (frame {middle}, the middle one, is blank: frame {t} decided)"
    return choice


def _choose_on(data: Any, t: int, *, dark_objects: bool, model: str, method: str,
               params: dict[str, Any] | None) -> Choice:
    """:func:`choose_segmenter`'s rule on frame `t`."""
    frame = np.asarray(data[t])
    if frame.ndim != 2:
        return Choice("classical", None, "3D movie: the watershed runs (auto never picks "
                      "the 3D nuclei model nuclei3d, validated on one volume only; try "
                      "--segmenter deep for confocal nuclei; for a stack of a few "
                      "focal planes, e.g. brightfield, --plane middle segments one plane "
                      "with the 2D models)", frame=t)
    from .._optional import require_torch
    from ..errors import MissingDependencyError

    try:
        require_torch("the generalist")
    except MissingDependencyError:
        return Choice("classical", None, "torch is not installed (celldyn[deep]), so the "
                      "generalist cannot be compared", frame=t)
    ws = _watershed(frame, dark_objects, method, params)
    found = check_segmentation(ws[None])
    from .deep.registry import load_segmenter

    seg = load_segmenter(model)
    diameter = seg.estimate_diameter(frame)
    if diameter is None:
        return Choice("classical", None, f"the {model} scale probe found no objects in "
                      f"frame {t}", None, found, frame=t)
    unsure: list[float] = []
    deep = seg.segment(frame, diameter=diameter, uncertainty_out=unsure)
    score = agreement(ws, deep)
    found_d = check_segmentation(deep[None])
    if score >= AGREEMENT:
        return Choice("classical", None, f"the watershed and {model} agree on frame {t} "
                      f"(F1 {score:.2f} >= {AGREEMENT}): the cheaper watershed runs",
                      None, found, score, t)
    if _severe(found_d) > _severe(found):
        return Choice("classical", None, f"the watershed and {model} disagree on frame {t} "
                      f"(F1 {score:.2f}) but {model}'s output is pathological there",
                      None, found, score, t)
    u = unsure[0] if unsure else None
    doubt, note = _doubt(seg, u)
    return Choice("deep", model, f"the watershed and {model} disagree on frame {t} "
                  f"(F1 {score:.2f} < {AGREEMENT}): the generalist runs"
                  + (f"; {note}" if doubt else ""),
                  float(diameter), found_d, score, t, u, doubt)


def _doubt(seg: Any, u: float | None) -> tuple[bool, str]:
    """Whether the class uncertainty `u` of a frame exceeds the model's
    ``uncertainty_warn`` (its config), and the reason's clause ("" when not)."""
    level = (getattr(seg, "config", None) or {}).get("uncertainty_warn")
    if u is None or level is None or u <= float(level):
        return False, ""
    return True, (f"it is unsure of that frame (class uncertainty {u:.2f} > "
                  f"{float(level):.2f}, above every validation image's): it may not know "
                  "this kind of image; check the outlines in report.html and fine-tune it "
                  "on a few annotated frames (celldyn annotate-next)")


def _warn_unsure(model: Any, frame: int | None, u: float | None) -> None:
    import warnings

    warnings.warn(f"segmentation: {model} is unsure of frame {frame} (class uncertainty "
                  f"{u:.2f}): it may not know this kind of image; check the outlines in "
                  "report.html and fine-tune it on a few annotated frames (celldyn "
                  "annotate-next)", stacklevel=3)


def forced_deep(data: Any, how: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """`how` for ``--segmenter deep`` (keywords of
    :func:`celldyn.segment.api.segment_movie`) with the object size measured once on the
    middle frame, and a summary clause: where the model has an ``uncertainty_warn``
    level (a 2D instance model, e.g. the generalist), the middle frame's class
    uncertainty, with a warning above that level, as ``--segmenter auto`` gives (one
    more network pass over one frame; the probe is not run twice). Models without the
    level (3D, semantic, user-trained ones): `how` unchanged, ""."""
    from .._frames import reference_frame

    params = dict(how.get("params") or {})
    t = reference_frame(data)   # the middle frame, unless it is blank
    frame = np.asarray(data[t])
    if frame.ndim != 2:
        return how, ""
    from .deep.registry import DeepSegmenter, load_segmenter

    model = how.get("model") or GENERALIST   # the run names it (RunConfig.for_movie)
    seg = model if isinstance(model, DeepSegmenter) else load_segmenter(model)
    if seg.ndim != 2 or seg.semantic or "uncertainty_warn" not in (seg.config or {}):
        return how, ""
    tile = None if params.get("tile") is None else int(params["tile"])
    diameter = params.get("diameter", "auto")
    if diameter == "auto":
        diameter = seg.estimate_diameter(frame, tile=tile)
        if diameter is None:   # the run's own probe says so; nothing to add here
            return how, ""
    unsure: list[float] = []
    seg.segment(frame, diameter=float(diameter), tile=tile, uncertainty_out=unsure)
    u = unsure[0] if unsure else None
    doubt, note = _doubt(seg, u)
    name = getattr(seg, "name", model)
    if doubt:
        _warn_unsure(name, t, u)
    return ({**how, "params": {**params, "diameter": float(diameter)}},
            f"deep {name} (--segmenter deep; objects about {float(diameter):.0f} px)"
            + (f": {note}" if doubt else ""))


def resolve_auto(data: Any, how: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """`how` (keywords of :func:`celldyn.segment.api.segment_movie` with
    ``segmenter="auto"``) with the segmenter chosen for `data`, and the summary line."""
    choice = choose_segmenter(data, dark_objects=bool(how.get("dark_objects")),
                              method=how.get("method", "watershed"), params=how.get("params"))
    if choice.unsure:
        _warn_unsure(choice.model, choice.frame, choice.uncertainty)
    return {**how, **choice.how(bool(how.get("dark_objects")))}, choice.text()


def resolve_segmenter(data: Any, how: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """`how` as the run segments `data` and the summary's line: ``auto`` decided by
    :func:`resolve_auto`, ``deep`` checked by :func:`forced_deep`, else unchanged."""
    if how.get("segmenter") == "auto":
        return resolve_auto(data, how)
    if how.get("segmenter") == "deep":
        return forced_deep(data, how)
    return how, ""
