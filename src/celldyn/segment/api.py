"""One entry for segmentation: :func:`segment_movie` runs the classical methods
(:mod:`celldyn.segment.classical`) or a deep model (:mod:`celldyn.segment.deep`) over
a movie, and :func:`segmenter_parameters` lists what each one takes (name, default,
meaning), for ``celldyn methods``, ``--help`` and the error messages.

Ours: dispatch, the per-movie settings both share (inverting dark objects, the
movie's pixel size, one object-size estimate per movie for deep models) and the
frame loop with an optional resume cache.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ConfigError, InputError, MissingDependencyError, ModelError
from ..movie import Movie
from .classical import METHODS, _method, block_settings

# `--segmenter deep` without `--model`: the shipped generalist (nuclei, whole cells and
# bacteria; issue 15). Chosen on the validation parts of benchmarks/splits.py, where it
# scored mean AP@0.5 0.735 over the 11 2D sets against nuclei2d's 0.460, and the same on
# the five nuclei sets (0.851 each); RESULTS.md, 'Segmentation: generalist and automatic
# choice'. A 3D movie gets the shipped 3D nuclei model, the one 3D instance model.
DEFAULT_MODEL = "generalist2d"
DEFAULT_MODEL_3D = "nuclei3d"


def default_model(n_spatial: int) -> str:
    """The shipped model ``--segmenter deep`` runs without ``--model``: :data:`DEFAULT_MODEL`
    for 2D movies, :data:`DEFAULT_MODEL_3D` for 3D ones."""
    return DEFAULT_MODEL_3D if n_spatial == 3 else DEFAULT_MODEL

__all__ = ["DEFAULT_MODEL", "DEFAULT_MODEL_3D", "SEGMENTERS", "Parameter", "check_params",
           "default_model", "frame_function", "methods", "segment_movie_auto",
           "segment_movie", "segmenter_parameters"]

SEGMENTERS = ("auto", "classical", "deep")
_DEEP_PARAMS = ("diameter", "tile", "thresholds", "tta")


@dataclass(frozen=True)
class Parameter:
    """One parameter of a segmentation method."""

    name: str
    default: Any
    meaning: str

    def describe(self) -> str:
        return f"{self.name} (default {self.default!r}): {self.meaning}"


def _doc_params(func: Callable[..., Any]) -> dict[str, str]:
    """The numpydoc ``Parameters`` section of `func`: name -> first sentence."""
    doc = inspect.getdoc(func) or ""
    match = re.search(r"Parameters\n-+\n(.*?)(\n\n[A-Z][a-z]+\n-+\n|\Z)", doc, flags=re.S)
    out: dict[str, str] = {}
    if not match:
        return out
    names: list[str] = []
    lines: list[str] = []

    def flush() -> None:
        text = " ".join(lines).strip()
        text = text.split(". ")[0].rstrip(".") if text else ""
        for n in names:
            out[n] = text

    for line in match.group(1).splitlines():
        if line and not line.startswith(" "):
            flush()
            names = [n.strip() for n in line.split(" : ")[0].split(",") if n.strip()]
            lines = []
        else:
            lines.append(line.strip())
    flush()
    return out


def segmenter_parameters(segmenter: str = "classical", method: str = "watershed"
                         ) -> list[Parameter]:
    """The parameters of a classical `method` (name, without ``:variant``) or of the
    deep segmenter (``segmenter="deep"``), with their defaults and meanings.

    Examples
    --------
    >>> [p.name for p in segmenter_parameters("deep")]
    ['diameter', 'tile', 'thresholds', 'tta']
    >>> "min_size" in [p.name for p in segmenter_parameters("classical", "threshold")]
    True
    """
    if segmenter == "deep":
        try:
            from .deep.registry import segment_movie_deep
        except ImportError:  # pragma: no cover - depends on the environment
            raise MissingDependencyError(
                "the deep segmenter needs PyTorch; install the extra: "
                "pip install 'celldyn[deep]'"
            ) from None
        func, names = segment_movie_deep, _DEEP_PARAMS
    elif segmenter in ("classical", "auto"):   # auto's watershed takes the method's
        name = str(method).partition(":")[0]
        if name not in METHODS:
            raise ConfigError(
                f"segmentation method must be one of {sorted(METHODS)}; got {method!r}"
            )
        func = METHODS[name]
        names = tuple(p for p in inspect.signature(func).parameters if p != "image")
    else:
        raise ConfigError(f"segmenter must be one of {SEGMENTERS} (got {segmenter!r})")
    sig = inspect.signature(func).parameters
    meaning = _doc_params(func)
    from . import classical

    for ref in re.findall(r":func:`(\w+)`", inspect.getdoc(func) or ""):  # "see find_spots"
        other = getattr(classical, ref, None)
        if callable(other):
            meaning = {**_doc_params(other), **{k: v for k, v in meaning.items() if v}}
    return [Parameter(n, sig[n].default, meaning.get(n, "")) for n in names]


def methods() -> dict[str, list[Parameter]]:
    """Every segmentation method and its parameters: the classical methods by name,
    and ``deep`` (when PyTorch is installed)."""
    out = {name: segmenter_parameters("classical", name) for name in METHODS}
    try:
        out["deep"] = segmenter_parameters("deep")
    except MissingDependencyError:  # pragma: no cover - without torch: not offered
        pass
    return out


def check_model(model: Any) -> None:
    """Raise :class:`ModelError` for a deep model that is neither a shipped name nor a
    folder from ``celldyn train segment``: found when the run is configured, before any
    reading, denoising or segmenting (the loader checks the weights themselves)."""
    from pathlib import Path

    from .deep.registry import SHIPPED  # the deep segmenter needs torch anyway

    if not isinstance(model, (str, Path)) or (isinstance(model, str) and model in SHIPPED):
        return
    if not (Path(model) / "config.json").is_file():
        raise ModelError(
            f"unknown segmentation model {str(model)!r}: not one of {sorted(SHIPPED)} "
            "and not a folder with config.json (train one with: celldyn train segment)"
        )


def check_params(segmenter: str, method: str, params: dict[str, Any]) -> None:
    """Raise :class:`ConfigError` naming what a method takes, for an unknown segmenter,
    method or parameter."""
    if segmenter not in SEGMENTERS:
        raise ConfigError(f"segmenter must be one of {SEGMENTERS} (got {segmenter!r})")
    if segmenter != "deep" and str(method).partition(":")[0] not in METHODS:
        _method(str(method), {})  # the message names the methods and their variants
    known = segmenter_parameters(segmenter, method)
    unknown = sorted(set(params) - {p.name for p in known})
    if unknown:
        what = "the deep segmenter" if segmenter == "deep" else \
            f"method {str(method).partition(':')[0]!r}"
        takes = "; ".join(f"{p.name} (default {p.default!r})" for p in known)
        raise ConfigError(
            f"unknown parameters {unknown} for {what}; it takes {takes} "
            "(see `celldyn methods`)"
        )
    if segmenter != "deep":
        _method(str(method), dict(params))  # a variant given twice
    else:
        _check_deep_params(params)


def _check_deep_params(params: dict[str, Any]) -> None:
    """One-line errors for deep parameters of the wrong kind (a user's --param)."""
    def number(v: Any) -> bool:
        return isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0

    if params.get("tile") is not None and not (number(params["tile"])
                                               and float(params["tile"]).is_integer()):
        raise ConfigError(f"tile must be a whole number of pixels (got {params['tile']!r})")
    if params.get("diameter") is not None and not number(params["diameter"]):
        raise ConfigError(f"diameter must be a positive number of pixels (got "
                          f"{params['diameter']!r})")
    tta = params.get("tta")
    if tta is not None and not (isinstance(tta, int) and not isinstance(tta, bool)
                                and 1 <= tta <= 8):
        raise ConfigError(f"tta must be a whole number from 1 to 8 (got {tta!r})")
    th = params.get("thresholds")
    names = ("fg_threshold", "marker_threshold", "min_size", "min_size_edge",
             "min_width_px", "marker_h")
    if th is not None and not (isinstance(th, dict) and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0
            for v in th.values())):
        raise ConfigError(f"thresholds must map names ({', '.join(names)}) to numbers of "
                          f"0 or more (got {th!r})")
    unknown = sorted(set(th or ()) - set(names))
    if unknown:   # a misspelt level would otherwise be ignored without a word
        raise ConfigError(f"thresholds: unknown name {unknown[0]!r}; the post-processing "
                          f"levels are {', '.join(names)}")


def frame_function(
    movie: Movie, *, segmenter: str = "classical", method: str = "watershed",
    model: Any = None, dark_objects: bool = False,
    params: dict[str, Any] | None = None, tiler: Callable[..., np.ndarray] | None = None,
) -> Callable[[np.ndarray], np.ndarray]:
    """The segmentation of one frame of `movie`, with every per-movie setting resolved
    (see :func:`segment_movie`).

    `tiler` ``(frame, block_function) -> labels`` segments a frame in pieces (e.g.
    :func:`celldyn.scale.segment_blocks` with its block size bound); a classical method
    then gets the whole frame's statistics fixed for every block
    (:func:`~celldyn.segment.classical.block_settings`).
    """
    params = dict(params or {})
    check_params(segmenter, method, params)
    invert = float(np.max(movie.data)) if dark_objects else None
    if segmenter == "deep":
        model = default_model(movie.n_spatial) if model is None else model
        func = _deep_frame(movie, model, params, invert)
        if not func.bright_only:  # type: ignore[attr-defined]
            invert = None  # the model reads both polarities: give it the raw frames
        params = {}
    else:
        func = _method(method, params)
        accepts = inspect.signature(func).parameters
        if invert is not None and "fill_holes" in accepts:
            params.setdefault("fill_holes", False)
        if movie.spacing is not None and "spacing" in accepts:
            params.setdefault("spacing", movie.spacing)

    def segment_frame(frame: np.ndarray, **out: Any) -> np.ndarray:
        frame = np.asarray(frame)
        if invert is not None:
            frame = invert - frame.astype(np.float32)
        if tiler is None:
            return func(frame, **params, **out)
        if out:
            raise InputError("a semantic model's class map cannot be made in blocks; "
                             "use --block-size 0 (whole frames)")
        if segmenter == "deep":
            return tiler(frame, func)
        fixed, finish = block_settings(frame, func, params)
        return finish(tiler(frame, lambda block: func(block, **fixed)))

    # a semantic deep model's classes (segment_frame(..., classes_out=array) fills the
    # frame's class map): {"classes", "objects_are"}; None for the other segmenters
    segment_frame.semantic = getattr(func, "semantic", None)  # type: ignore[attr-defined]
    return segment_frame


def _deep_frame(movie: Movie, model: Any, params: dict[str, Any],
                invert: float | None) -> Callable[..., np.ndarray]:
    """The deep model as a per-frame function, with the object size estimated once."""
    from .._optional import require_torch

    require_torch("the deep segmenter (--segmenter deep)")
    from .deep.registry import DeepSegmenter, load_segmenter

    net = model if isinstance(model, DeepSegmenter) else load_segmenter(model)
    # `dark_objects` inverts the frames only for a model trained on bright objects alone
    # (config "polarity": "bright": nuclei2d, nuclei3d). The generalist, mito_em and any
    # model from `celldyn train segment` learned the raw frames of their data; inverted,
    # the generalist's validation AP@0.5 fell to 0.00-0.28 on the four dark-object sets
    # (phase-contrast E. coli and PSC, brightfield yeast, mother machine; 0.20-1.00 raw).
    bright_only = (getattr(net, "config", None) or {}).get("polarity") == "bright"
    if not bright_only:
        invert = None
    if movie.n_spatial != net.ndim:
        raise InputError(
            f"deep model {model!r} is {net.ndim}D but the movie has axes "
            f"{movie.axes}; use a {movie.n_spatial}D model "
            f"({'--model nuclei3d' if movie.n_spatial == 3 else '--model generalist2d'}) "
            "or --segmenter classical"
        )
    tile = params.pop("tile", None)
    tile = None if tile is None else int(tile)
    thresholds = params.pop("thresholds", None)
    tta = params.pop("tta", None)
    if tta is not None and int(tta) > 1 and (net.ndim != 2 or net.semantic):
        import warnings

        warnings.warn(f"segmentation: tta={tta} is ignored: test-time augmentation is for "
                      f"2D instance models and {net.name} is "
                      f"{'semantic' if net.semantic else f'{net.ndim}D'}", stacklevel=2)
        tta = None
    diameter = params.pop("diameter", "auto")
    if diameter == "auto":
        from .._frames import reference_frame

        middle = np.asarray(movie.data[reference_frame(movie.data)])
        if invert is not None:
            middle = invert - middle.astype(np.float32)
        diameter = net.estimate_diameter(middle, tile=tile) \
            if net.ndim == 2 and not net.semantic else None
    spacing = movie.spacing if net.ndim == 3 else None  # 3D: resampled to its voxels

    def segment_frame(frame: np.ndarray, **out: Any) -> np.ndarray:
        return net.segment(frame, diameter=diameter, tile=tile, thresholds=thresholds,
                           spacing=spacing, tta=tta, **out)

    segment_frame.semantic = ({"classes": net.classes, "objects_are": net.classes[int(  # type: ignore[attr-defined]
        net.config.get("instance_class", 1))]} if net.semantic else None)
    segment_frame.bright_only = bright_only  # type: ignore[attr-defined]
    return segment_frame


def segment_movie(
    movie: Movie | Any,
    *,
    segmenter: str = "classical",
    method: str = "watershed",
    model: Any = None,
    dark_objects: bool = False,
    progress: bool | type = False,
    cache: Any = None,
    params: dict[str, Any] | None = None,
    semantic: dict[str, Any] | None = None,
    tiler: Callable[..., np.ndarray] | None = None,
    **kwargs: Any,
) -> Any:
    """Segment every frame of a movie with a classical method or a deep model.

    Parameters
    ----------
    movie : Movie or (T, [Z,] Y, X) array
        Single-channel movie; an array is read as ``TYX`` when 3D and ``TZYX`` when 4D.
        Frames are loaded one at a time.
    segmenter : {"auto", "classical", "deep"}
        Classical: scikit-image methods (`method`). Deep: a U-Net (`model`; needs
        torch). Auto: one of the two, by the rule of :mod:`celldyn.segment.auto`
        (`model` is then the shipped generalist).
    method : str
        Classical method, a key of :data:`~celldyn.segment.classical.METHODS`,
        optionally ``name:variant`` (``threshold:li``, ``edges:canny``, ``spots:dog``).
    model : str, path or DeepSegmenter
        Deep model: a shipped name (default, None: :func:`default_model`,
        ``generalist2d`` for 2D movies and ``nuclei3d`` for 3D; also ``nuclei2d``,
        ``mito_em``) or a folder from
        ``celldyn train segment``.
    dark_objects : bool
        Objects are darker than the background: intensities are inverted first (for
        classical methods and for deep models trained on bright objects only, whose
        config says ``"polarity": "bright"``: nuclei2d, nuclei3d; the generalist and
        models from ``celldyn train segment`` read raw frames) and (classical) holes
        are not filled.
    progress : bool or tqdm-like class
        Show a progress bar over frames.
    cache : FrameCache, optional
        Finished frames are kept there (and frames already there are skipped); the
        result is then the cache's on-disk view, one frame in memory at a time.
    params, **kwargs
        The method's parameters (see :func:`segmenter_parameters` or
        ``celldyn methods``), as a dict and/or keywords; a classical function's own
        ``method`` (the variant) can only be given in the dict. Classical ``spacing``
        defaults to the movie's.
    semantic : dict, optional
        Filled when the model is semantic (e.g. ``mito_em``): ``semantic``, the
        ``(T, [Z,] Y, X)`` uint8 class map, ``classes`` its names, ``objects_are`` the
        class whose components are the returned labels, ``model`` the model's name.
        Left empty otherwise. With a `cache`, frames are then recomputed, not skipped.
    tiler : callable, optional
        Segment each frame in pieces (frames too large for memory), as
        :func:`frame_function`.

    Returns
    -------
    labels : (T, [Z,] Y, X) int32 array
        Ids are per frame (not tracked).

    Raises
    ------
    InputError
        For a multi-channel movie or an array that is not 3D or 4D.
    ConfigError
        For an unknown segmenter, method or parameter.

    Examples
    --------
    >>> from celldyn.simulate import simulate_movie
    >>> sim = simulate_movie(n_frames=2, rng=0)
    >>> segment_movie(sim.movie, method="threshold").shape == sim.labels.shape
    True
    """
    if isinstance(movie, Movie):
        if "C" in movie.axes:
            raise InputError(
                f"segment_movie needs a single-channel movie; got axes {movie.axes!r} "
                f"with {movie.n_channels} channels; pass movie.channel(i)"
            )
    else:
        data = movie if hasattr(movie, "ndim") else np.asarray(movie)
        if data.ndim not in (3, 4):
            raise InputError(
                "movie must have axes TYX or TZYX; got an array with shape "
                f"{tuple(data.shape)}; wrap it in celldyn.Movie with its axes"
            )
        movie = Movie(data, "TYX" if data.ndim == 3 else "TZYX")
    if segmenter == "auto":
        from .auto import choose_segmenter

        params = {**(params or {}), **kwargs}
        choice = choose_segmenter(movie.data, dark_objects=dark_objects, method=method,
                                  params=params)
        how = choice.how(dark_objects)
        if how["segmenter"] == "classical":
            how["params"] = params
        return segment_movie(movie, method=method, progress=progress, cache=cache,
                             tiler=tiler, **how)
    func = frame_function(movie, segmenter=segmenter, method=method, model=model,
                          dark_objects=dark_objects, params={**(params or {}), **kwargs},
                          tiler=tiler)
    shape = tuple(movie.data.shape)
    info = getattr(func, "semantic", None)
    classes = np.zeros(shape, dtype=np.uint8) if info and semantic is not None else None
    if classes is not None:
        semantic.update(info, semantic=classes, model=str(getattr(model, "name", model)))
    out: Any = np.zeros(shape, dtype=np.int32) if cache is None else None
    frames: Any = range(movie.n_frames)
    if progress:
        if progress is True:
            from tqdm.auto import tqdm as bar
        else:
            bar = progress
        what = method if segmenter == "classical" else f"deep {model}"
        frames = bar(frames, desc=f"segment ({what})", unit="frame")
    for t in frames:
        if cache is not None and classes is None:
            done = cache.get(t)
            if done is not None and done.shape == shape[1:]:
                continue
        labels = func(movie.data[t]) if classes is None else \
            func(movie.data[t], classes_out=classes[t])
        if cache is None:
            out[t] = labels
        else:
            cache.put(t, labels)
    return out if cache is None else cache.frames(shape)


def segment_movie_auto(data: Any, *, dark_objects: bool = False, model: str | None = None,
                       progress: bool | type = False) -> tuple[Any, Any]:
    """Labels ``(T, [Z,] Y, X)`` of a single-channel movie array and the
    :class:`~celldyn.segment.auto.Choice` (`model`: the generalist to compare with)."""
    from .auto import GENERALIST, choose_segmenter

    arr = data if hasattr(data, "ndim") else np.asarray(data)
    choice = choose_segmenter(arr, dark_objects=dark_objects, model=model or GENERALIST)
    labels = segment_movie(arr, progress=progress, **choice.how(dark_objects))
    return labels, choice
