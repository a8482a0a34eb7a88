"""npe2 sample data: the embedded demo (a 40-frame crop of a real phase-contrast movie
of a growing E. coli colony, ``celldyn/data/ecoli_demo``) with its ground-truth tracks."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from ._layers import LayerData
from ._reader import read_ctc_gt_layers, read_movie_layers

__all__ = ["demo"]


def demo() -> list[LayerData]:
    """The demo movie and its ground truth (labels and tracks with the divisions)."""
    folder = Path(str(resources.files("celldyn") / "data" / "ecoli_demo"))
    movie = read_movie_layers(folder / "movie.ome.tif")
    truth = [(d, {**kw, "name": f"ecoli_demo truth {t}"}, t)
             for d, kw, t in read_ctc_gt_layers(folder / "gt") if t != "points"]
    return movie + truth
