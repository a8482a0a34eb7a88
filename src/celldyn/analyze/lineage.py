"""Lineages from the CTC track table: parents, children, generations, cell cycles.

The track table (``label, begin, end, parent``; see :mod:`celldyn.track.graph`) is
enough: a track with two or more children ends by division; a track with exactly one
child does *not* divide: the child continues it after a gap (the CTC way to encode an
object that was missed for some frames, or a link the tracker re-opened), so the two
tracks are one *cell*. Merges are not in the CTC table (the merged track has parent 0)
and are ignored here.

Cell cycle (division to division) of a cell born by division and ending by division::

    cycle_frames = division_frame - birth_frame

where ``birth_frame`` is the first frame of the cell's first track (the frame its
mother's daughters first appear) and ``division_frame`` the first frame in which its
own daughters appear. Without gaps this is the number of frames the cell is seen,
``end - begin + 1``, and the time between the two divisions. Cells that begin or end
without division (first frame, entering, leaving, end of movie) have no complete cycle
and get no cycle length.

This module is ours: a few dictionary walks over the table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import InputError
from ..track.graph import check_ctc_table
from ._result import accepts_run_result

__all__ = ["cycle_durations", "lineage_table"]

LINEAGE_COLUMNS = [
    "track_id",
    "parent_id",
    "children",
    "n_children",
    "lineage_id",
    "cell_id",
    "generation",
    "start_frame",
    "end_frame",
    "starts_by_division",
    "ends_by_division",
    "division_frame",
    "cycle_frames",
]


@accepts_run_result("tracks")
def lineage_table(tracks: pd.DataFrame) -> pd.DataFrame:
    """Lineage facts for every track of a CTC track table.

    Parameters
    ----------
    tracks : DataFrame
        Columns ``label, begin, end, parent`` (frames inclusive, parent 0 = none).

    Returns
    -------
    DataFrame
        One row per track, sorted by ``track_id``:

        ``track_id``, ``parent_id`` (0 = none), ``children`` (child ids joined by
        ``;``), ``n_children``, ``lineage_id`` (id of the root track),
        ``cell_id`` (first track of the chain of gap continuations this track belongs
        to), ``generation`` (divisions since the root; a gap continuation keeps its
        parent's generation), ``start_frame``, ``end_frame``, ``starts_by_division``,
        ``ends_by_division``, ``division_frame`` (first frame of the daughters, or
        <NA>) and ``cycle_frames`` (complete cycle length in frames, on the track that
        ends the cycle, or <NA>).

    Raises
    ------
    InputError
        If the table is not a valid CTC track table.

    Examples
    --------
    >>> t = pd.DataFrame({"label": [1, 2, 3, 4, 5], "begin": [0, 5, 5, 12, 12],
    ...                   "end": [4, 11, 9, 20, 20], "parent": [0, 1, 1, 2, 2]})
    >>> lin = lineage_table(t)
    >>> lin["generation"].tolist(), lin["ends_by_division"].tolist()
    ([0, 1, 1, 2, 2], [True, True, False, False, False])
    >>> int(lin.loc[lin.track_id == 2, "cycle_frames"].iloc[0])
    7
    """
    if tracks is None:
        raise InputError("lineage_table needs a track table with columns label, begin, end, parent")
    table = check_ctc_table(tracks)
    labels = table["label"].tolist()
    begin = dict(zip(labels, table["begin"].tolist()))
    end = dict(zip(labels, table["end"].tolist()))
    parent = dict(zip(labels, table["parent"].tolist()))
    children: dict[int, list[int]] = {lab: [] for lab in labels}
    for lab in labels:
        if parent[lab]:
            children[parent[lab]].append(lab)
    n_children = {lab: len(children[lab]) for lab in labels}

    def divides(lab: int) -> bool:
        return n_children[lab] >= 2

    order = sorted(labels, key=lambda lab: (begin[lab], lab))  # parents before children
    generation: dict[int, int] = {}
    root: dict[int, int] = {}
    cell: dict[int, int] = {}
    for lab in order:
        p = parent[lab]
        if not p:
            generation[lab], root[lab], cell[lab] = 0, lab, lab
        elif divides(p):
            generation[lab], root[lab], cell[lab] = generation[p] + 1, root[p], lab
        else:  # gap continuation: same cell
            generation[lab], root[lab], cell[lab] = generation[p], root[p], cell[p]

    rows = []
    for lab in sorted(labels):
        p = parent[lab]
        starts_div = bool(p) and divides(p)
        ends_div = divides(lab)
        div_frame = min(begin[c] for c in children[lab]) if ends_div else pd.NA
        first = cell[lab]
        first_parent = parent[first]
        complete = ends_div and bool(first_parent) and divides(first_parent)
        cycle = div_frame - begin[first] if complete else pd.NA
        rows.append(
            [
                lab,
                p,
                ";".join(str(c) for c in sorted(children[lab])),
                n_children[lab],
                root[lab],
                first,
                generation[lab],
                begin[lab],
                end[lab],
                starts_div,
                ends_div,
                div_frame,
                cycle,
            ]
        )
    out = pd.DataFrame(rows, columns=LINEAGE_COLUMNS)
    for col in ("division_frame", "cycle_frames"):
        out[col] = out[col].astype("Int64")
    for col in ("track_id", "parent_id", "n_children", "lineage_id", "cell_id",
                "generation", "start_frame", "end_frame"):
        out[col] = out[col].astype(np.int64)
    return out


@accepts_run_result("tracks")
def cycle_durations(tracks: pd.DataFrame) -> dict[int, int]:
    """Complete cell-cycle lengths in frames, keyed by the track that ends the cycle.

    See the module docstring for the definition. Equivalent to the non-missing
    ``cycle_frames`` of :func:`lineage_table`.

    Examples
    --------
    >>> t = pd.DataFrame({"label": [1, 2, 3, 4, 5], "begin": [0, 5, 5, 12, 12],
    ...                   "end": [4, 11, 9, 20, 20], "parent": [0, 1, 1, 2, 2]})
    >>> cycle_durations(t)
    {2: 7}
    """
    lin = lineage_table(tracks)
    done = lin.dropna(subset=["cycle_frames"])
    return {int(k): int(v) for k, v in zip(done["track_id"], done["cycle_frames"])}
