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
# Unit: the movie (a sequence folder). The hand-made tracker's data-driven defaults (the
# search-radius factors and the division size rule, celldyn.track.scale) were chosen on
# simulated movies only (benchmarks/tracking_scale.py), so every real movie below is a
# test movie for them. The older cost weights (division, division_size,
# division_midpoint, area) were chosen on SIM+-01 and GOWT1-01 (plus simulated
# colonies; benchmarks/tracking_divisions.py), and the shipped learned tracker was
# trained on those two: they are its training movies and are scored as such.
_HELD_OUT = "test: no default or model was chosen or trained on it"
_TRAINED = ("train: the cost-weight sweep (benchmarks/tracking_divisions.py) and the "
            "learned tracker used it; scored, marked training")
TRACKING: dict[str, Split] = {
    "Fluo-N2DL-HeLa-01": Split("Fluo-N2DL-HeLa-01", "movie", test=("01",), note=_HELD_OUT),
    "PhC-C2DL-PSC-01": Split("PhC-C2DL-PSC-01", "movie", test=("01",), note=_HELD_OUT),
    "PhC-C2DL-EcoliColony-vanVliet-01": Split(
        "PhC-C2DL-EcoliColony-vanVliet-01", "movie", test=("01",),
        note=_HELD_OUT + " (seen in the 2026-12 division-cost diagnosis, see RESULTS.md)"),
    "DIC-C2DH-HeLa-01": Split("DIC-C2DH-HeLa-01", "movie", test=("01",), note=_HELD_OUT),
    "Fluo-N2DH-GOWT1-02": Split("Fluo-N2DH-GOWT1-02", "movie", test=("02",),
                                note=_HELD_OUT),
    "Fluo-N2DH-SIM+-01": Split("Fluo-N2DH-SIM+-01", "movie", train=("01",), note=_TRAINED),
    "Fluo-N2DH-GOWT1-01": Split("Fluo-N2DH-GOWT1-01", "movie", train=("01",),
                                note=_TRAINED),
}


def split(name: str) -> Split:
    """The split of set `name`, whichever task registered it."""
    for table in (SEGMENTATION, TRACKING):
        if name in table:
            return table[name]
    raise KeyError(f"no split registered for {name!r}")
