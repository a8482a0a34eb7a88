"""What the viewer shows of a run, as napari layer-data tuples ``(data, kwargs, type)``.

No napari import: these are plain arrays, dicts and tables built from what
:func:`celldyn.pipeline.run` returns or :func:`celldyn.outputs.load_run` reads, so the
reader, the widget and the tests without a viewer share them. :class:`RunView` keeps
one run's tables for the widget (clicks, corrections, saving).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..analyze.lineage import lineage_table
from ..io.napari_tracks import napari_tracks

__all__ = ["LayerData", "RunView", "movie_layer", "run_layers", "view_of_folder",
           "view_of_result"]

LayerData = tuple[Any, dict[str, Any], str]


@dataclass
class RunView:
    """One run as the viewer holds it.

    Attributes
    ----------
    labels : (T, [Z,] Y, X) int array
        Tracked labels (an object's id is its track id).
    objects : DataFrame
        One row per (t, label), with ``class`` / ``class_proba`` when classified.
    tracks : DataFrame
        CTC track table (label, begin, end, parent).
    movie : array or None
        The intensities (for explanations and re-runs), when known.
    spacing : tuple of float or None
        Pixel size in µm per spatial axis.
    folder : Path or None
        The run folder it was read from or written to.
    config : dict
        The run's parameters (:class:`celldyn.config.RunConfig` fields).
    annotations : DataFrame
        The user's class annotations: ``t, label, class``.
    """

    labels: Any
    objects: pd.DataFrame
    tracks: pd.DataFrame
    movie: Any = None
    spacing: tuple[float, ...] | None = None
    frame_interval: float | None = None
    folder: Path | None = None
    config: dict[str, Any] = field(default_factory=dict)
    name: str = "celldyn"
    annotations: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame({"t": pd.Series(dtype=int),
                                              "label": pd.Series(dtype=int),
                                              "class": pd.Series(dtype=str)}))
    _features: Any = None

    def frame_objects(self, t: int) -> pd.DataFrame:
        """The objects of frame `t` (the widget's table)."""
        cols = [c for c in ("t", "label", "y", "x", "area", "volume", "class", "class_proba")
                if c in self.objects.columns]
        return self.objects.loc[self.objects["t"] == t, cols].reset_index(drop=True)

    def annotate(self, t: int, label: int, cls: str) -> None:
        """Record the user's class for object (t, label) (replacing an earlier one)."""
        a = self.annotations
        a = a[~((a["t"] == t) & (a["label"] == label))]
        row = pd.DataFrame({"t": [int(t)], "label": [int(label)], "class": [str(cls)]})
        self.annotations = pd.concat([a, row], ignore_index=True)

    def describe_object(self, t: int, label: int, *, explain: bool = True) -> str:
        """Track id, lineage, class and (for a classified run) the features that drove
        the class of object (t, label); several lines of plain text."""
        if label == 0:
            return f"t={t}: background"
        hit = self.objects[(self.objects["t"] == t) & (self.objects["label"] == label)]
        if hit.empty:
            return f"t={t}: label {label} is not in this run's objects (edited?)"
        lines = [f"object t={t}, track id {label}"]
        lin = lineage_table(self.tracks).set_index("track_id")
        if label in lin.index:
            r = lin.loc[label]
            parent = int(r["parent_id"]) or "none"
            children = r["children"] or "none"
            lines.append(f"lineage {int(r['lineage_id'])}, generation {int(r['generation'])}, "
                         f"frames {int(r['start_frame'])}-{int(r['end_frame'])}, parent "
                         f"{parent}, daughters {children}")
        row = hit.iloc[0]
        if "class" in hit.columns:
            proba = row.get("class_proba", np.nan)
            lines.append(f"class {row['class']} (p={float(proba):.2f})")
            if explain:
                lines.extend(self._explanation(t, label))
        return "\n".join(lines)

    def _explanation(self, t: int, label: int, top: int = 3) -> list[str]:
        from ..classify import explain_object, load_classifier, model_features
        from ..track.graph import graph_from_ctc

        name = self.config.get("classifier")
        if not name or self.movie is None:
            return ["(no explanation: the run's classifier or movie is not known)"]
        model = load_classifier(name)
        if not hasattr(model, "explain"):
            return [f"(no feature explanation for the {name} classifier)"]
        if self._features is None:
            labels = np.asarray(self.labels)
            self._features = model_features(  # as the model was trained (crop features)
                model, labels, np.asarray(self.movie),
                graph_from_ctc(labels, self.tracks), spacing=self.spacing)
        table, info = explain_object(model, self._features, t, label)
        out = [f"why {info['predicted']}: " + ", ".join(
            f"{r.feature} {r.contribution:+.3f}" for r in table.head(top).itertuples())]
        return out


def _scale(spacing: Any, ndim: int) -> dict[str, Any]:
    if not spacing:
        return {}
    return {"scale": (1.0, *[float(s) for s in spacing][-(ndim - 1):])}


def movie_layer(data: Any, *, name: str, spacing: Any = None, axes: str = "") -> LayerData:
    """An image layer of a T[Z]YX movie; a ``C`` axis in `axes` becomes one layer per
    channel (napari's ``channel_axis``)."""
    if "C" in axes:
        return data, {"name": name, "channel_axis": axes.index("C"),
                      **_scale(spacing, data.ndim - 1)}, "image"
    return data, {"name": name, **_scale(spacing, data.ndim)}, "image"


def run_layers(view: RunView) -> list[LayerData]:
    """Image (when the movie is known), labels, tracks (``graph``: the divisions) and one
    point per object (features: the objects table; coloured by class when classified).
    """
    labels = view.labels
    scale = _scale(view.spacing, labels.ndim)
    meta = {"celldyn": view}
    out: list[LayerData] = []
    if view.movie is not None and np.ndim(view.movie) == labels.ndim:
        out.append(movie_layer(view.movie, name=f"{view.name} movie", spacing=view.spacing))
    out.append((labels, {"name": f"{view.name} labels", "metadata": meta, **scale}, "labels"))
    table, graph = napari_tracks(view.objects, view.tracks)
    axes = [a for a in ("z", "y", "x") if a in table.columns]
    if len(table):
        out.append((table[["track_id", "t", *axes]].to_numpy(float),
                    {"name": f"{view.name} tracks", "graph": graph, "metadata": meta,
                     "tail_length": 10, **scale}, "tracks"))
    feats = view.objects[[c for c in ("t", "label", "class", "class_proba", "area", "volume")
                          if c in view.objects.columns]].reset_index(drop=True)
    points = {"name": f"{view.name} objects", "features": feats, "size": 4,
              "metadata": meta, **scale}
    if "class" in feats.columns:
        points["face_color"] = "class"
    out.append((view.objects[["t", *axes]].to_numpy(float), points, "points"))
    return out


def view_of_result(result: Any, *, name: str = "celldyn") -> RunView:
    """A :class:`RunView` of a :class:`celldyn.pipeline.RunResult` (in memory)."""
    m = result.movie
    return RunView(labels=np.asarray(result.labels), objects=result.objects,
                   tracks=result.tracks, movie=np.asarray(m.data), spacing=m.spacing,
                   frame_interval=m.frame_interval, config=result.config.to_dict(),
                   name=name)


def view_of_folder(folder: str | Path) -> RunView:
    """A :class:`RunView` of a run folder (:func:`celldyn.outputs.load_run`); the movie
    is None when run.json's movie cannot be read any more."""
    from ..outputs import load_run

    data = load_run(folder)
    a = data.analysis
    folder = Path(folder)
    return RunView(labels=np.asarray(data.labels), objects=a.objects, tracks=a.tracks,
                   movie=None if data.movie is None else np.asarray(data.movie),
                   spacing=None if not a.spacing else tuple(a.spacing),
                   frame_interval=a.frame_interval, folder=folder,
                   config=dict(data.record.get("config") or {}), name=folder.name)


def replace_labels(view: RunView, labels: Any) -> RunView:
    """The same view with other labels (an edited copy)."""
    return dataclasses.replace(view, labels=labels, _features=None)
