"""segment stage: frame-wise instance segmentation (classical; deep models later)."""

from __future__ import annotations

from .classical import (
    METHODS,
    detect_spots,
    find_spots,
    normalize_frame,
    segment_edges,
    segment_frame,
    segment_movie,
    segment_threshold,
    segment_watershed,
)

__all__ = [
    "METHODS",
    "detect_spots",
    "find_spots",
    "normalize_frame",
    "segment_edges",
    "segment_frame",
    "segment_movie",
    "segment_threshold",
    "segment_watershed",
]
