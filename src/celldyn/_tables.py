"""The CTC track table (label, begin, end, parent): its columns and its validation.

Below every package: io reads and writes the table, track builds it, analyze reads it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import InputError

__all__ = ["CTC_COLUMNS", "check_ctc_table"]

CTC_COLUMNS = ["label", "begin", "end", "parent"]


def check_ctc_table(table: pd.DataFrame) -> pd.DataFrame:
    """Validate a CTC track table; return it with int64 columns.

    Raises
    ------
    InputError
        On missing columns, duplicate labels, begin > end, unknown parents, a parent
        that does not end before its child begins, or cycles.
    """
    missing = [c for c in CTC_COLUMNS if c not in table.columns]
    if missing:
        raise InputError(f"track table lacks columns {missing}; expected {CTC_COLUMNS}")
    table = table[CTC_COLUMNS].astype(np.int64).reset_index(drop=True)
    problems = []
    if (table["label"] <= 0).any():
        problems.append("labels must be positive")
    if table["label"].duplicated().any():
        dup = table.loc[table["label"].duplicated(), "label"].tolist()[:5]
        problems.append(f"duplicate track labels {dup}")
    if (table["begin"] > table["end"]).any() or (table["begin"] < 0).any():
        problems.append("begin must be >= 0 and <= end")
    known = set(table["label"]) | {0}
    orphans = sorted(set(table["parent"]) - known)
    if orphans:
        problems.append(f"parents {orphans[:5]} are not tracks")
    if (table["parent"] == table["label"]).any():
        problems.append("a track is its own parent")
    end = dict(zip(table["label"], table["end"]))
    late = [
        int(r.label) for r in table.itertuples() if r.parent and end.get(r.parent, -1) >= r.begin
    ]
    if late:
        problems.append(f"tracks {late[:5]} begin before their parent ends")
    if problems:
        raise InputError("invalid track table: " + "; ".join(problems))
    return table
