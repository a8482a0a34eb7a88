"""Classify the objects of a run: features or crops -> class, class_proba; the class
over time per track. Ours: glue between the feature, model and smoothing modules."""

from __future__ import annotations

from typing import Any

import networkx as nx
import numpy as np
import pandas as pd

from ..errors import InputError

__all__ = ["predict_proba_objects", "classify_objects", "class_timeline"]


def predict_proba_objects(model: Any, labels: np.ndarray, movie: np.ndarray,
                          graph: nx.DiGraph | None, *, spacing=None,
                          features: pd.DataFrame | None = None,
                          objects: pd.DataFrame | None = None,
                          ) -> tuple[pd.DataFrame, np.ndarray]:
    """Features table of every object and the model's (n, K) probabilities for it
    (`objects`: as measured, reused by :func:`object_features`)."""
    from .features import object_features

    if features is None:
        features = object_features(labels, movie, graph=graph, spacing=spacing,
                                   objects=objects)
    if getattr(model, "kind", "") == "cnn":
        proba = model.predict_proba_crops(model.crops(labels, movie, features))
    else:
        proba = model.predict_proba(features)
    return features, proba


def classify_objects(
    objects: pd.DataFrame,
    labels: np.ndarray,
    movie: Any,
    graph: nx.DiGraph | None,
    *,
    model: Any,
    smooth: bool = True,
    transition: np.ndarray | None = None,
    spacing=None,
) -> pd.DataFrame:
    """Add ``class`` and ``class_proba`` columns to an objects table.

    Parameters
    ----------
    objects : DataFrame
        One row per (t, label); ``label`` is the id in `labels` at frame ``t`` (the
        track id after tracking).
    labels : (T, [Z,] Y, X) int array
        The (tracked) label movie.
    movie : Movie or array of the same shape
        Intensities.
    graph : networkx.DiGraph or None
        Tracks graph (gives the time since the last division).
    model : classifier or str
        From :func:`load_classifier`, or a name / folder passed to it.
    smooth : bool
        Smooth classes along each track with the HMM (Viterbi); uses `transition`,
        else the model's stored ``transition``, else the default mitosis matrix for
        a two-class mitosis model; other models without a matrix are not smoothed.
    transition : (K, K) array, optional
        Your own transition matrix, rows/columns in the model's class order.

    Returns
    -------
    DataFrame
        A copy of `objects` with ``class`` (str) and ``class_proba`` (probability of
        that class; the smoothed posterior when smoothing) and ``proba_<class>``
        columns.
    """
    from .registry import load_classifier
    from .temporal import mitosis_transition, smooth_tracks

    if isinstance(model, str):
        model = load_classifier(model)
    data = np.asarray(getattr(movie, "data", movie))
    if spacing is None:
        spacing = getattr(movie, "spacing", None)
    labels = np.asarray(labels)
    if data.shape != labels.shape:
        raise InputError(
            f"movie has shape {data.shape} but labels {labels.shape}; pass the movie the "
            "labels were made from (one channel)"
        )
    # the objects' measured properties are reused: regionprops runs once per object
    feats, proba = predict_proba_objects(model, labels, data, graph, spacing=spacing,
                                         objects=objects)
    classes = list(model.classes)
    if transition is None and smooth:
        transition = model.meta.get("transition")
        if transition is None and len(classes) == 2 and "mitosis" in classes:
            transition = mitosis_transition(classes)
    if smooth and transition is not None:
        states, post = smooth_tracks(feats, proba, transition=np.asarray(transition))
    else:
        states, post = proba.argmax(axis=1), proba
    res = feats[["t", "label"]].copy()
    res["class"] = [classes[k] for k in states]
    res["class_proba"] = post[np.arange(len(post)), states]
    for k, c in enumerate(classes):
        res[f"proba_{c}"] = post[:, k]
    out = objects.drop(columns=[c for c in res.columns if c not in ("t", "label")
                                and c in objects.columns])
    out = out.merge(res, on=["t", "label"], how="left", validate="one_to_one")
    return out


def class_timeline(objects: pd.DataFrame) -> pd.DataFrame:
    """Class over time per track: rows = track ``label``, columns = frame ``t``,
    values = class (missing where the track is absent)."""
    if "class" not in objects.columns:
        raise InputError("objects have no 'class' column; classify them first")
    return objects.pivot(index="label", columns="t", values="class")
