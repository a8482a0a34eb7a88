"""The one config of a run: :class:`RunConfig` (saved in run.json, read back by
``celldyn run --config``), checked when made so that a wrong value costs no
segmentation."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

from .errors import ConfigError
from .denoise import METHODS as DENOISE_METHODS
from .segment.api import SEGMENTERS, check_params
from .track import TRACKERS

__all__ = ["SEGMENTERS", "TRACKERS", "RunConfig"]


@dataclass(frozen=True)
class RunConfig:
    """Parameters of one run (saved in run.json).

    Attributes
    ----------
    segmenter : str
        ``classical`` (scikit-image methods, see `method`) or ``deep`` (a shipped or
        trained U-Net, see `model`; needs torch).
    method : str
        Classical method: ``watershed`` (default; splits touching nuclei), ``threshold``,
        ``edges`` or ``spots``, optionally with a variant (``threshold:li``,
        ``edges:canny``, ``spots:dog``; see :func:`celldyn.segment.segment_frame`).
    method_params : dict
        Extra keyword arguments for the method (classical) or for the deep model
        (``diameter``, ``tile``, ``thresholds``).
    model : str
        Deep model: a shipped name (``nuclei2d``) or a folder from
        ``celldyn train segment``.
    dark_objects : bool
        Objects are darker than the background (phase contrast, bright-field):
        intensities are inverted before segmentation, and holes are not filled (in a
        colony, background enclosed by cells is not part of any cell).
    channel : int
        Channel to segment in a multi-channel movie.
    max_distance : float or None
        Largest displacement between frames, in the movie's spacing units; None
        measures it on the objects' motion and divisions
        (:func:`celldyn.track.scale.estimate_motion_scale`; the learned tracker's
        training convention too).
    tracker : str
        ``lap`` (frame-by-frame assignment plus a gap/division/merge pass, fast),
        ``global`` (exact integer program over time windows) or ``learned`` (link
        costs from the shipped association network, solved by LAP; needs torch).
    max_gap : int
        Bridge objects missing for up to this many frames.
    divisions : bool
        Allow divisions (one parent, two children).
    merges : bool
        Allow merges (two parents, one child), for organelles; kept in GEFF, not in
        the CTC export.
    min_daughter_frames : int
        A division whose daughter vanishes within this many frames (before the end of
        the movie) is undone: over-segmentation, not a division (see
        :func:`celldyn.track.prune_short_branches`). On GOWT1 with the classical
        segmentation this removed a third of the false divisions and changed no score
        on ground-truth detections. 0 or 1 keeps every division.
    classifier : str or None
        Name of a shipped classifier (``mitosis``) or a model folder from
        ``celldyn train classifier``; adds ``class`` and ``class_proba`` to the objects.
    seed : int
        Seed for every stochastic step (recorded for reproducibility).
    denoise : str or None
        Denoise the movie before segmenting it (:func:`celldyn.denoise.denoise_movie`:
        ``nlmeans``, ``tv``, ``wavelet``, ``n2v``, ``temporal``); intensities are still
        measured on the raw movie. None: no denoising.
    """

    segmenter: Literal["classical", "deep"] = "classical"
    method: str = "watershed"
    method_params: dict[str, Any] = field(default_factory=dict)
    model: str = "nuclei2d"
    dark_objects: bool = False
    channel: int = 0
    max_distance: float | None = None
    tracker: str = "lap"
    max_gap: int = 2
    divisions: bool = True
    merges: bool = False
    min_daughter_frames: int = 3
    classifier: str | None = None
    seed: int = 0
    denoise: str | None = None

    def __post_init__(self) -> None:
        check_params(self.segmenter, self.method, dict(self.method_params))
        if self.tracker not in TRACKERS:
            raise ConfigError(
                f"tracker must be one of {list(TRACKERS)} (got {self.tracker!r})"
            )
        if self.tracker == "learned" and self.merges:
            raise ConfigError("the learned tracker does not model merges; use --tracker lap")
        if not (isinstance(self.max_gap, int) and self.max_gap >= 0):
            raise ConfigError(f"max_gap must be a whole number >= 0 (got {self.max_gap!r})")
        if self.denoise is not None and self.denoise not in DENOISE_METHODS:
            raise ConfigError(f"denoise must be one of {list(DENOISE_METHODS)} "
                              f"(got {self.denoise!r})")
        if self.max_distance is not None and not self.max_distance > 0:
            raise ConfigError(f"max_distance must be positive (got {self.max_distance!r})")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
