"""The user's class labels: reading, matching to objects, checking; mitosis labels
derived from lineages.

Accepted label sources (ours: the matching rules and the checks):

- a table with columns ``t, label, class`` (one row per labelled object);
- a napari points layer saved as CSV (``axis-0`` = t, then ``axis-1..`` = [z,] y, x,
  plus a ``class`` column from the layer's features): each point labels the object
  under it in the label movie;
- a napari labels layer (an array of the label movie's shape painted with class ids):
  each object gets the class painted on most of its pixels.
"""

from __future__ import annotations

from collections.abc import Sequence

import networkx as nx
import numpy as np
import pandas as pd

from ..errors import InputError

__all__ = [
    "check_training_labels",
    "labels_from_points",
    "labels_from_painted",
    "match_labels",
    "mitosis_labels",
]


def check_training_labels(y: Sequence[str]) -> np.ndarray:
    """Sorted classes of `y`; InputError unless there are >= 2 classes, each with >= 2
    examples."""
    y = np.asarray([str(v) for v in y])
    if y.size == 0:
        raise InputError("no labelled objects; label at least 2 objects of 2 classes each")
    classes, counts = np.unique(y, return_counts=True)
    if len(classes) < 2:
        raise InputError(
            f"labels have one class only ({classes[0]!r}); label objects of at least 2 "
            "classes"
        )
    single = [str(c) for c, n in zip(classes, counts) if n < 2]
    if single:
        raise InputError(
            f"classes {single} have a single example; label at least 2 objects of each "
            "class"
        )
    return classes


def match_labels(objects: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """Attach the classes of a ``t, label, class`` table to the objects table.

    Returns
    -------
    DataFrame
        The labelled rows of `objects` with a ``class`` column (str), in `objects`'
        order.

    Raises
    ------
    InputError
        Missing columns, unknown (t, label) objects (up to 5 listed), an object with
        two different classes.
    """
    missing = [c for c in ("t", "label", "class") if c not in table.columns]
    if missing:
        raise InputError(
            f"labels table lacks columns {missing}; expected columns t, label, class "
            f"(got {list(table.columns)})"
        )
    tab = table[["t", "label", "class"]].copy()
    try:
        tab = tab.astype({"t": np.int64, "label": np.int64})
    except (ValueError, TypeError):
        raise InputError("labels table: t and label must be integers") from None
    tab["class"] = tab["class"].astype(str)
    tab = tab.drop_duplicates()
    dup = tab[tab.duplicated(["t", "label"], keep=False)]
    if len(dup):
        pairs = list(dup[["t", "label"]].drop_duplicates().itertuples(index=False, name=None))
        raise InputError(f"objects {pairs[:5]} have two different classes; keep one")
    keys = objects[["t", "label"]].astype(np.int64)
    merged = keys.reset_index().merge(tab, on=["t", "label"], how="inner")
    known = set(map(tuple, keys.to_numpy().tolist()))
    unknown = [p for p in tab[["t", "label"]].itertuples(index=False, name=None)
               if p not in known]
    if unknown:
        shown = ", ".join(f"(t={t}, label={lab})" for t, lab in unknown[:5])
        raise InputError(
            f"{len(unknown)} labelled object(s) are not in the objects table: {shown}"
            "; check that the labels refer to this run's (t, label) ids"
        )
    out = objects.loc[merged["index"]].copy()
    out["class"] = merged["class"].to_numpy()
    return out


def labels_from_points(points: pd.DataFrame, labels: np.ndarray) -> pd.DataFrame:
    """Turn a napari points layer (CSV) into a ``t, label, class`` table.

    `points` has ``axis-0`` (t), ``axis-1``... (spatial, pixels) and ``class``.
    A point on background raises InputError.
    """
    nd = labels.ndim
    axes = [f"axis-{i}" for i in range(nd)]
    missing = [c for c in axes + ["class"] if c not in points.columns]
    if missing:
        raise InputError(
            f"points table lacks columns {missing}; expected napari's {axes} and a "
            "'class' feature column"
        )
    idx = np.rint(points[axes].to_numpy(dtype=np.float64)).astype(np.int64)
    bad_bounds = ((idx < 0) | (idx >= np.asarray(labels.shape))).any(axis=1)
    if bad_bounds.any():
        raise InputError(
            f"{int(bad_bounds.sum())} point(s) lie outside the label movie of shape "
            f"{labels.shape}"
        )
    ids = np.asarray(labels)[tuple(idx.T)]
    if (ids == 0).any():
        where = [tuple(p) for p in idx[ids == 0][:3].tolist()]
        raise InputError(
            f"{int((ids == 0).sum())} point(s) lie on background, e.g. {where}; place "
            "each point inside the object it labels"
        )
    return pd.DataFrame({"t": idx[:, 0], "label": ids.astype(np.int64),
                         "class": points["class"].astype(str).to_numpy()})


def labels_from_painted(painted: np.ndarray, labels: np.ndarray,
                        names: dict[int, str] | None = None) -> pd.DataFrame:
    """Turn a napari labels layer painted with class ids into a ``t, label, class`` table.

    Each object touched by paint gets the class id covering most of its painted
    pixels; `names` maps class ids to names (default: the id as text).
    """
    painted = np.asarray(painted)
    if painted.shape != labels.shape:
        raise InputError(
            f"painted class layer must have the label movie's shape {labels.shape}; got "
            f"{painted.shape}"
        )
    rows = []
    for t in range(labels.shape[0]):
        lab, pt = np.asarray(labels[t]), painted[t]
        m = (lab > 0) & (pt > 0)
        if not m.any():
            continue
        pairs = pd.DataFrame({"label": lab[m], "cls": pt[m]})
        best = pairs.groupby(["label", "cls"]).size().reset_index(name="n")
        best = best.sort_values("n", ascending=False).drop_duplicates("label")
        for r in best.itertuples(index=False):
            rows.append((t, int(r.label), (names or {}).get(int(r.cls), str(int(r.cls)))))
    return pd.DataFrame(rows, columns=["t", "label", "class"])


def mitosis_labels(objects: pd.DataFrame, graph: nx.DiGraph, *, window: int = 3,
                   mitotic: str = "mitosis", interphase: str = "interphase") -> pd.Series:
    """Mitosis / interphase per object from a lineage: the last `window` frames of a
    track that ends in a division (out-degree 2) are mitotic, all others interphase.

    `objects` rows are matched to graph nodes by (t, label) = (``t``, ``seg_id``).
    """
    node_of = {(int(d["t"]), int(d["seg_id"])): n for n, d in graph.nodes(data=True)}
    div_end: dict[int, int] = {}
    for n, d in graph.nodes(data=True):
        if graph.out_degree(n) == 2:
            div_end[int(d["seg_id"])] = int(d["t"])
    out = []
    for t, lab in objects[["t", "label"]].itertuples(index=False, name=None):
        end = div_end.get(int(lab))
        is_m = end is not None and end - window < int(t) <= end and (int(t), int(lab)) in node_of
        out.append(mitotic if is_m else interphase)
    return pd.Series(out, index=objects.index, name="class")
