"""Track: link objects through time into a tracks graph (see :mod:`celldyn.track.graph`).

Entry point: :func:`track_objects`, which runs :func:`track_lap` (fast, frame by frame
+ gap/division pass), :func:`track_global` (integer program over windows) or the
learned tracker, and returns :class:`Tracks` for each. The
building blocks every solver shares: :func:`candidate_links` (the candidate table that
outside ``edge_costs`` align with) and :class:`LinkCosts` / :func:`link_costs`.
"""

from .api import TRACKERS, track_objects
from .candidates import CANDIDATE_COLUMNS, candidate_links, search_radius
from .costs import LinkCosts, costs_from_probabilities, iou_of_candidates, link_costs
from .graph import (
    CTC_COLUMNS,
    assign_tracklets,
    check_ctc_table,
    ctc_table_from_graph,
    graph_from_ctc,
    prune_short_branches,
    relabel_by_tracklet,
)
from .lap import lap_links, track_lap
from .link import auto_max_distance, link_labels, link_objects
from .motion import MotionState, track_velocities
from .scale import MotionScale, estimate_motion_scale
from .solve_global import global_links, total_cost, track_global
from .tracks import Tracks

__all__ = [
    "CANDIDATE_COLUMNS",
    "CTC_COLUMNS",
    "LinkCosts",
    "MotionScale",
    "MotionState",
    "assign_tracklets",
    "auto_max_distance",
    "candidate_links",
    "check_ctc_table",
    "costs_from_probabilities",
    "ctc_table_from_graph",
    "estimate_motion_scale",
    "global_links",
    "graph_from_ctc",
    "iou_of_candidates",
    "lap_links",
    "link_costs",
    "link_labels",
    "link_objects",
    "prune_short_branches",
    "relabel_by_tracklet",
    "search_radius",
    "TRACKERS",
    "Tracks",
    "total_cost",
    "track_global",
    "track_lap",
    "track_objects",
    "track_velocities",
]
