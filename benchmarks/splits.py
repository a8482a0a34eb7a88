"""One train / validation / test split of every annotated set in ../shared/data.

Training commands, model selection and every benchmark read their parts from here and
nowhere else, so a test part can never leak into training or tuning. Each entry names the
set (its folder in ../shared/data), the unit it is split by (movie, frame, image or
region) and which units fall in each part. Leave-one-set-out figures drop a whole set
from training and score its test part.

Hand-written: this is our bookkeeping, not a library's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Split", "SEGMENTATION", "TRACKING", "SHARED_DATA", "split"]

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@dataclass(frozen=True)
class Split:
    """Where one set's train / validation / test parts lie.

    ``unit`` says what is split ("movie", "frame", "image", "region"); ``train``,
    ``validation`` and ``test`` list the units (frame indices, image names, region
    descriptions or movie folders) in each part.
    """

    set: str
    unit: str
    train: tuple = field(default_factory=tuple)
    validation: tuple = field(default_factory=tuple)
    test: tuple = field(default_factory=tuple)
    note: str = ""


# Segmentation sets: filled in by the segmentation work (issue 15).
SEGMENTATION: dict[str, Split] = {}

# Tracking sets (lineage ground truth): filled in by the tracking work (issue 16).
TRACKING: dict[str, Split] = {}


def split(name: str) -> Split:
    """The split of set `name`, whichever task registered it."""
    for table in (SEGMENTATION, TRACKING):
        if name in table:
            return table[name]
    raise KeyError(f"no split registered for {name!r}")
