"""Analyze: lineages, cell-cycle timing, motion, morphology and classes over time.

Pure functions compute tables (:mod:`.dynamics`, :mod:`.lineage`, :mod:`.motion`),
plotting functions return matplotlib Figures (:mod:`.plots`), :mod:`.report` assembles
a self-contained HTML page, and :mod:`.write` is the thin IO shell (run folder in,
``dynamics.csv``, ``population.csv``, ``report.html`` and figures out).
"""

from .dynamics import (
    Analysis,
    analyze,
    column_units,
    population_dynamics,
    track_dynamics,
    tracks_from_objects,
    units_for,
)
from .lineage import cycle_durations, lineage_table
from .motion import ensemble_msd, fit_msd, instantaneous_speed, msd, track_motion

__all__ = [
    "Analysis",
    "analyze",
    "column_units",
    "cycle_durations",
    "ensemble_msd",
    "fit_msd",
    "instantaneous_speed",
    "lineage_table",
    "msd",
    "population_dynamics",
    "track_dynamics",
    "track_motion",
    "tracks_from_objects",
    "units_for",
]
