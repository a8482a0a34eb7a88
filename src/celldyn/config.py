"""The one config of a run: :class:`RunConfig` (saved in run.json, read back by
``celldyn run --config``), checked when made so that a wrong value costs no
segmentation.

Every field declares its command-line option once, in its metadata (:class:`Option`:
flag, help, type, choices; the default is the field's). ``celldyn run``'s options,
the RunConfig made from them (:meth:`RunConfig.from_options`), the options recorded
in run.json (:meth:`RunConfig.to_options`) and their replay by ``--config`` are all
derived from it: a new run parameter is one new field.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .errors import ConfigError
from .denoise import METHODS as DENOISE_METHODS
from .classify.registry import check_classifier
from .segment.api import SEGMENTERS, check_model, check_params, default_model
from .track import TRACKERS

__all__ = ["SEGMENTERS", "TRACKERS", "Option", "RunConfig", "cli_option", "parse_params",
           "run_options"]


@dataclass(frozen=True)
class Option:
    """How a :class:`RunConfig` field appears on the command line.

    Attributes
    ----------
    flag : str
        The option, e.g. ``--max-gap``.
    help : str
        Its ``--help`` text.
    type : type
        ``str``, ``int``, ``float``, ``bool`` (an on/off flag) or ``dict`` (repeated
        ``KEY=VALUE``, values read as JSON where they parse).
    choices : tuple of str, optional
        The allowed values.
    minimum : int, optional
        The smallest allowed value of an ``int``.
    invert : bool
        A ``--no-...`` flag: given, it sets the (True by default) field to False.
    key : str, optional
        The option's name in Python and in run.json's ``inputs``; default: the flag
        without dashes (``--max-gap`` -> ``max_gap``).
    metavar : str, optional
        The value's placeholder in ``--help``.
    """

    flag: str
    help: str
    type: type = str
    choices: tuple[str, ...] | None = None
    minimum: int | None = None
    invert: bool = False
    key: str | None = None
    metavar: str | None = None

    @property
    def name(self) -> str:
        return self.key or self.flag.lstrip("-").replace("-", "_")


def cli_option(flag: str, help: str, **kwargs: Any) -> dict[str, Option]:
    """Field metadata declaring the field's command-line option."""
    choices = kwargs.pop("choices", None)
    return {"cli": Option(flag, help, choices=None if choices is None else tuple(choices),
                          **kwargs)}


def _field_default(f: dataclasses.Field) -> Any:
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return None if f.default is dataclasses.MISSING else f.default


def run_options(cls: type | None = None) -> Iterator[tuple[str, Option, Any]]:
    """``(field name, option, option default)`` of every field of `cls` (default
    :class:`RunConfig`) in field order; the option default is the field's default as
    the option spells it (negated for a ``--no-...`` flag, ``()`` for ``KEY=VALUE``)."""
    for f in dataclasses.fields(cls or RunConfig):
        opt = f.metadata.get("cli")
        if opt is None:
            continue
        default = _field_default(f)
        if opt.invert:
            default = not default
        elif opt.type is dict:
            default = ()
        yield f.name, opt, default


def parse_params(items: Any) -> dict[str, Any]:
    """``KEY=VALUE`` strings (values read as JSON where they parse) as a dict; a dict
    (as run.json records it) is returned as a copy."""
    if isinstance(items, Mapping):
        return dict(items)
    out: dict[str, Any] = {}
    for item in items or ():
        key, sep, value = str(item).partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--param expects KEY=VALUE, got {item!r}")
        try:
            out[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            out[key.strip()] = value
    return out


# The options run.json's "inputs" recorded when this table was made: they are always
# written (run folders stay byte-identical); options added later are written when
# they differ from their default, and a missing one replays as its default.
_FIRST_INPUTS = frozenset({
    "segmenter", "model", "method", "params", "dark_objects", "channel", "max_distance",
    "tracker", "max_gap", "no_divisions", "merges", "classifier", "seed", "denoise",
})


# Fields added later (large movies, issue 19; one plane of a z-stack): recorded in
# run.json's "config" only when set, so earlier runs' folders stay byte-identical.
_SCALE_FIELDS = frozenset({"block_size", "block_overlap", "track_window", "plane",
                           "frames"})
MIN_BLOCK = 16  # pixels per side: smaller blocks are all margin
OWN_SEGMENTATION_MIN_DAUGHTER_FRAMES = 3
"""``min_daughter_frames`` of a run that segments the movie itself (see
:class:`RunConfig`); 0 with ``--labels``."""
OWN_SEGMENTATION_DAUGHTER_ALIKE = 2.0
""":attr:`~celldyn.track.costs.LinkCosts.daughter_position_alike` of a run that tracks
its own segmentation (:func:`own_segmentation_costs`); with ``--labels`` the
:class:`~celldyn.track.costs.LinkCosts` default (inf: every pair). A noisy
segmentation makes fragments beside a cell that continues, and the farther daughter's
position refund made such pairs cheap divisions; hand-drawn markers of uneven size are
true sisters. Chosen on the training parts (benchmarks/own_segmentation_alike.py; rule
fixed before the run): own segmentation's false divisions 237 -> 219, no true one lost,
GT detections unchanged; each set left out, the choice stays."""


def own_segmentation_costs() -> Any:
    """The link costs of a run that tracks celldyn's own segmentation: None (the
    defaults) unless :data:`OWN_SEGMENTATION_DAUGHTER_ALIKE` is finite."""
    if OWN_SEGMENTATION_DAUGHTER_ALIKE == float("inf"):
        return None
    from .track.costs import LinkCosts

    return LinkCosts(daughter_position_alike=OWN_SEGMENTATION_DAUGHTER_ALIKE)


@dataclass(frozen=True)
class RunConfig:
    """Parameters of one run (saved in run.json).

    Attributes
    ----------
    segmenter : str
        ``auto`` (default: the watershed or the shipped generalist, by the rule of
        :mod:`celldyn.segment.auto`; the choice and its reason are in the summary),
        ``classical`` (scikit-image methods, see `method`) or ``deep`` (a shipped or
        trained U-Net, see `model`; needs torch).
    method : str
        Classical method: ``watershed`` (default; splits touching nuclei), ``threshold``,
        ``edges`` or ``spots``, optionally with a variant (``threshold:li``,
        ``edges:canny``, ``spots:dog``; see :func:`celldyn.segment.segment_frame`).
    method_params : dict
        Extra keyword arguments for the method (classical) or for the deep model
        (``diameter``, ``tile``, ``thresholds``).
    model : str or None
        Deep model (``segmenter="deep"``): a shipped name or a folder from ``celldyn
        train segment``. None (default): ``generalist2d`` (nuclei, whole cells and
        bacteria) for 2D movies, ``nuclei3d`` for 3D ones
        (:func:`celldyn.segment.api.default_model`); a run records the one it used.
    dark_objects : bool
        Objects are darker than the background (phase contrast, bright-field):
        intensities are inverted before a classical method or a deep model trained on
        bright objects only (nuclei2d, nuclei3d; the generalist and models from
        ``celldyn train segment`` read raw frames of either polarity), and holes are
        not filled (in a colony, background enclosed by cells is not part of any cell).
    channel : int or None
        Channel to segment in a multi-channel movie (None: the first, or the mean of an
        RGB colour image's channels).
    plane : str or None
        A z-stack (``TZYX``) seen as a 2D movie: only this z-plane (``"middle"`` or
        its index from 0) is segmented, tracked and measured (:meth:`Movie.plane`),
        e.g. a brightfield stack of a few focal planes. None (default): the whole
        stack, in 3D.
    frames : str or None
        ``START:STOP[:STEP]``: only those frames are segmented, tracked and measured
        (:meth:`celldyn.movie.Movie.frames`); None (default): every frame.
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
    split_merged : bool
        Split an object of our segmentation that is two cells drawn as one for a few
        frames (it absorbed two objects of the previous frame and separates again
        later; :mod:`celldyn.segment.temporal`), before tracking: such merges read as
        false divisions. Likewise split, one frame before they part, two touching
        sisters it drew as one object (their division is then found on time, not
        late). Not applied to ``--labels``, nor with `merges` (organelles fuse and
        split for real).
    min_daughter_frames : int or None
        A division whose daughter vanishes within this many frames (before the end of
        the movie) is undone: over-segmentation, not a division (see
        :func:`celldyn.track.prune_short_branches`). On GOWT1 with the classical
        segmentation this removed a third of the false divisions. 0 or 1 keeps every
        division. None (the default): :data:`OWN_SEGMENTATION_MIN_DAUGHTER_FRAMES` on
        celldyn's own segmentation, 0 with ``--labels`` (given masks or markers are
        not over-segmented, and at a low frame rate a true daughter often lives fewer
        than 3 kept frames: on the tracking training parts with ground-truth
        detections, every 1st / 2nd / 4th frame, 3 undid 4 true and 2 false divisions
        of the LAP tracker, SIM+ x4 and GOWT1-01 x1 among them: benchmarks/RESULTS.md,
        'Tracking: training parts', rows 'celldyn LAP with short daughter branches
        undone'). :meth:`for_movie` resolves it, so run.json records the value used.
    classifier : str or None
        Name of a shipped classifier (``phases``, ``mitosis``, ``phases-cnn``,
        ``mitosis-cnn``) or a model folder from
        ``celldyn train classifier``; adds ``class`` and ``class_proba`` to the objects.
    seed : int
        Seed for every stochastic step (recorded for reproducibility).
    denoise : str or None
        Denoise the movie before segmenting it (:func:`celldyn.denoise.denoise_movie`:
        ``nlmeans``, ``tv``, ``wavelet``, ``n2v``, ``temporal``); intensities are still
        measured on the raw movie. None: no denoising.
    block_size : int or None
        Segment each frame in blocks of this many pixels per side, overlapping by
        `block_overlap` and stitched (:func:`celldyn.scale.segment_blocks`), for frames
        too large for one worker's memory. None (default): whole frames, or blocks
        when a frame would not fit (:func:`celldyn.scale.plan.auto_block`; the summary
        says); 0: always whole frames.
    block_overlap : int
        Margin around each block, in pixels; wider than the largest clump of touching
        objects for the stitched frame to equal the whole-frame segmentation.
    track_window : int or None
        Track in windows of this many frames, each with context frames before and
        after, joined into one graph (:func:`celldyn.scale.track_windows`): tracker
        memory bounded by the window, not the movie. None: the whole movie at once.
    """

    segmenter: Literal["auto", "classical", "deep"] = field(
        default="auto", metadata=cli_option(
        "--segmenter", "auto: the watershed or the shipped generalist model, whichever "
        "suits the movie (the rule and its reason are in the summary); classical "
        "(scikit-image, see --method); deep (U-Net, see --model).", choices=SEGMENTERS))
    method: str = field(default="watershed", metadata=cli_option(
        "--method", "Classical method: watershed, threshold, edges, spots (their "
        "parameters: `celldyn methods`)."))
    method_params: dict[str, Any] = field(default_factory=dict, metadata=cli_option(
        "--param", "Extra parameter of the method, e.g. --param "
        "threshold_method=triangle (repeatable; list: `celldyn methods`).",
        type=dict, key="params", metavar="KEY=VALUE"))
    model: str | None = field(default=None, metadata=cli_option(
        "--model", "Deep model: a shipped name (list: `celldyn models`) or a folder from "
        "`celldyn train segment`. Default: generalist2d (nuclei, whole cells and "
        "bacteria) for 2D movies, nuclei3d for 3D ones."))
    dark_objects: bool = field(default=False, metadata=cli_option(
        "--dark-objects", "Objects are darker than background (phase contrast): the "
        "classical methods and the nuclei-only deep models see the frames inverted (the "
        "generalist reads both polarities and ignores it).",
        type=bool))
    channel: int | None = field(default=None, metadata=cli_option(
        "--channel", "Channel to segment, from 0. Default: the first; for an RGB colour "
        "image, the mean of its colour channels (as the deep models were trained).",
        type=int))
    plane: str | None = field(default=None, metadata=cli_option(
        "--plane", "A z-stack (TZYX) seen as a 2D movie: segment, track and measure only "
        "this z-plane ('middle', or its index from 0), e.g. a brightfield stack of a "
        "few focal planes, where the 2D models apply. Default: the whole stack in 3D.",
        metavar="middle|N"))
    frames: str | None = field(default=None, metadata=cli_option(
        "--frames", "Only these frames: START:STOP or START:STOP:STEP, from 0, STOP "
        "excluded (0:50 the first 50, ::2 every second frame, e.g. to try settings on "
        "part of a long movie). The results number them from 0; the frame interval is "
        "multiplied by STEP; `celldyn evaluate` cuts the ground truth alike. Default: "
        "every frame.", metavar="START:STOP[:STEP]"))
    max_distance: float | None = field(default=None, metadata=cli_option(
        "--max-distance", "Largest displacement between frames (µm, or px without "
        "pixel size). Default: measured on the movie's own motion and divisions.",
        type=float))
    tracker: str = field(default="lap", metadata=cli_option(
        "--tracker", "lap: fast frame-by-frame assignment with a gap/division pass; "
        "global: exact integer program over time windows; learned: costs from the "
        "shipped association network.", choices=TRACKERS))
    max_gap: int = field(default=2, metadata=cli_option(
        "--max-gap", "Bridge objects missing for up to this many frames.", type=int,
        minimum=0))
    divisions: bool = field(default=True, metadata=cli_option(
        "--no-divisions", "Do not link divisions.", type=bool, invert=True))
    merges: bool = field(default=False, metadata=cli_option(
        "--merges", "Allow merges (two objects become one), e.g. organelles.",
        type=bool))
    split_merged: bool = field(default=True, metadata=cli_option(
        "--no-split-merged", "Keep objects our segmentation drew as one for a few frames "
        "between two separate cells, or as one until the frame two sisters part (by "
        "default they are split before tracking; never with --labels or --merges).",
        type=bool, invert=True))
    min_daughter_frames: int | None = field(default=None, metadata=cli_option(
        "--min-daughter-frames", "Undo a division whose daughter vanishes within this "
        "many frames (over-segmentation); 0 keeps every division. Default: 3 on "
        "celldyn's own segmentation, 0 with --labels.", type=int, minimum=0))
    classifier: str | None = field(default=None, metadata=cli_option(
        "--classifier", "Classify every object: a shipped model name (phases: the 8 "
        "cell-cycle / mitotic phases; mitosis: mitosis vs interphase; their -cnn "
        "variants) or a folder from `celldyn train classifier`."))
    seed: int = field(default=0, metadata=cli_option(
        "--seed", "Seed for every stochastic step.", type=int))
    denoise: str | None = field(default=None, metadata=cli_option(
        "--denoise", "Denoise the movie before segmenting it (intensities are still "
        "measured on the raw movie; see `celldyn denoise`).", choices=DENOISE_METHODS))
    block_size: int | None = field(default=None, metadata=cli_option(
        "--block-size", "Segment each frame in blocks of PIXELS per side, overlapping by "
        "--block-overlap and stitched (frames too large for memory). Default: whole "
        "frames, or blocks when a frame would not fit a worker's memory (the summary "
        "says); 0: always whole frames.", type=int, metavar="PIXELS"))
    block_overlap: int = field(default=64, metadata=cli_option(
        "--block-overlap", "Margin around each block in pixels; wider than the largest "
        "clump of touching objects.", type=int, metavar="PIXELS"))
    track_window: int | None = field(default=None, metadata=cli_option(
        "--track-window", "Track in windows of FRAMES frames with context frames on "
        "either side, joined into one graph (long movies). Default: the whole movie.",
        type=int, metavar="FRAMES"))

    @property
    def denoise_settings(self) -> str | None:
        """The denoiser as the segmentation cache must know it: the method, and for the
        learned ones their default training length (and n2v's frames of context), so that
        a resumed run does not reuse frames denoised under other defaults."""
        if self.denoise in ("n2v", "temporal"):
            from .denoise.learned import DEFAULT_CONTEXT, DEFAULT_EPOCHS

            context = f", context {DEFAULT_CONTEXT}" if self.denoise == "n2v" else ""
            return f"{self.denoise} (epochs {DEFAULT_EPOCHS[self.denoise]}{context})"
        return self.denoise

    def __post_init__(self) -> None:
        check_params(self.segmenter, self.method, dict(self.method_params))
        if self.segmenter == "deep":  # an unknown model is found before any work
            check_model(self.model)
        if self.classifier is not None:
            check_classifier(self.classifier)
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
        if self.plane is not None and not (
                self.plane == "middle" or str(self.plane).isdigit()):
            raise ConfigError(f"plane must be 'middle' or a plane index >= 0 (got "
                              f"{self.plane!r})")
        if self.plane is not None and not isinstance(self.plane, str):
            object.__setattr__(self, "plane", str(self.plane))   # run.json: one type
        if self.frames is not None:
            from .errors import InputError
            from .movie import parse_frames

            try:
                parse_frames(self.frames)
            except InputError as err:
                raise ConfigError(str(err)) from None
            object.__setattr__(self, "frames", str(self.frames))   # run.json: one type
        if self.max_distance is not None and not self.max_distance > 0:
            raise ConfigError(f"max_distance must be positive (got {self.max_distance!r})")
        _whole = lambda v: isinstance(v, int) and not isinstance(v, bool)  # noqa: E731
        if self.block_size is not None and not (_whole(self.block_size) and (
                self.block_size == 0 or self.block_size >= MIN_BLOCK)):
            raise ConfigError(f"block size must be 0 (whole frames) or a whole number of "
                              f"at least {MIN_BLOCK} pixels (got {self.block_size!r})")
        if not (_whole(self.block_overlap) and self.block_overlap >= 0):
            raise ConfigError("block overlap must be a whole number of pixels >= 0 (got "
                              f"{self.block_overlap!r})")
        if self.track_window is not None and not (
                _whole(self.track_window) and self.track_window >= 1):
            raise ConfigError("track window must be a whole number of frames >= 1 (got "
                              f"{self.track_window!r})")

    def for_movie(self, movie: Any, labels: Any = None, **overrides: Any) -> RunConfig:
        """This config with `overrides` applied, ``min_daughter_frames`` resolved (own
        segmentation or `labels` given) and, for a deep run that segments `movie`
        (no `labels` given) without a model named, the default model for its dimension
        (:func:`celldyn.segment.api.default_model`), so that run.json records the one
        used."""
        config = dataclasses.replace(self, **overrides) if overrides else self
        if config.min_daughter_frames is None:  # own segmentation or given labels
            config = dataclasses.replace(config, min_daughter_frames=(
                config.daughter_frames(labels_given=labels is not None)))
        if config.segmenter != "deep" or config.model is not None or labels is not None:
            return config
        return dataclasses.replace(config, model=default_model(movie.n_spatial))

    def daughter_frames(self, *, labels_given: bool = False) -> int:
        """``min_daughter_frames`` as a run uses it: the value set, else
        :data:`OWN_SEGMENTATION_MIN_DAUGHTER_FRAMES` on celldyn's own segmentation and
        0 on given labels.

        >>> RunConfig().daughter_frames(), RunConfig().daughter_frames(labels_given=True)
        (3, 0)
        """
        if self.min_daughter_frames is not None:
            return int(self.min_daughter_frames)
        return 0 if labels_given else OWN_SEGMENTATION_MIN_DAUGHTER_FRAMES

    def to_dict(self) -> dict[str, Any]:
        """The fields as run.json's ``config`` records them; the scale fields only when
        set (run folders of runs without them stay byte-identical)."""
        out = dataclasses.asdict(self)
        for f in dataclasses.fields(self):
            if f.name in _SCALE_FIELDS and out[f.name] == f.default:
                del out[f.name]
        return out

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> RunConfig:
        """The config of command-line option values (keyed by :attr:`Option.name`,
        as click passes them or run.json's ``inputs`` records them); a missing option
        takes its default, an unknown one is an error."""
        known = {opt.name: (name, opt, default) for name, opt, default in run_options(cls)}
        unknown = sorted(set(options) - set(known))
        if unknown:
            raise ConfigError(f"unknown run options {unknown}; known: {sorted(known)}")
        kwargs: dict[str, Any] = {}
        for key, (name, opt, default) in known.items():
            value = options.get(key, default)
            if opt.invert:
                value = not value
            elif opt.type is dict:
                value = parse_params(value)
            kwargs[name] = value
        return cls(**kwargs)

    def to_options(self, *, recorded: bool = False) -> dict[str, Any]:
        """The option values that make this config (:meth:`from_options` inverts it).
        With `recorded`, those written in run.json's ``inputs``: the first options
        always, later ones when they differ from their default."""
        out: dict[str, Any] = {}
        for name, opt, default in run_options(type(self)):
            value = getattr(self, name)
            if opt.invert:
                value = not value
            elif opt.type is dict:
                value = dict(value)
            if recorded and opt.name not in _FIRST_INPUTS and value == (
                    dict(default) if opt.type is dict else default):
                continue
            out[opt.name] = value
        return out
