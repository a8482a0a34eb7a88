"""segment stage: frame-wise instance segmentation, classical or deep.

Entry point: :func:`segment_movie` (:mod:`celldyn.segment.api`); what each method
takes: :func:`segmenter_parameters` / :func:`methods`.
"""

from __future__ import annotations

from .api import SEGMENTERS, Parameter, methods, segment_movie, segmenter_parameters
from .classical import (
    METHODS,
    detect_spots,
    find_spots,
    normalize_frame,
    segment_edges,
    segment_frame,
    segment_threshold,
    segment_watershed,
)

__all__ = [
    "METHODS",
    "SEGMENTERS",
    "Parameter",
    "methods",
    "segmenter_parameters",
    "detect_spots",
    "find_spots",
    "normalize_frame",
    "segment_edges",
    "segment_frame",
    "segment_movie",
    "segment_threshold",
    "segment_watershed",
]
