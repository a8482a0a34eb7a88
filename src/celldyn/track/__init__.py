"""Track: link objects through time into a tracks graph (see :mod:`celldyn.track.graph`)."""

from .graph import (
    CTC_COLUMNS,
    assign_tracklets,
    check_ctc_table,
    ctc_table_from_graph,
    graph_from_ctc,
    relabel_by_tracklet,
)
from .link import auto_max_distance, link_labels, link_objects

__all__ = [
    "CTC_COLUMNS",
    "assign_tracklets",
    "auto_max_distance",
    "check_ctc_table",
    "ctc_table_from_graph",
    "graph_from_ctc",
    "link_labels",
    "link_objects",
    "relabel_by_tracklet",
]
