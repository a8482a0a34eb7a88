"""GEFF (graph exchange file format) for the tracks graph.

The ``geff`` library writes, reads and validates the Zarr store; the graph already uses
geff's property names (``t``, ``seg_id``, ``z``, ``y``, ``x``, ``tracklet``, see
:mod:`celldyn.track.graph`), so export is a call. Ours is the axes metadata and the
atomic write: positions are stored in pixels (``t`` in frames) with unit ``pixel`` /
``frame``; `spacing` and `frame_interval` become each axis' ``scale`` with
``scaled_unit`` ``micrometer`` / ``second``, so viewers can show physical units and
the graph round-trips unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
import zarr

from ..errors import FileFormatError, InputError
from ._atomic import atomic_path
from ._util import PathLike, check_exists

__all__ = ["read_geff", "write_geff", "write_geff_table"]

_SPACE = ("z", "y", "x")
_EXTRA_KEY = "celldyn"


def _default_axes(graph: nx.DiGraph) -> list[str]:
    if graph.number_of_nodes() == 0:
        return ["t", "y", "x"]
    first = next(iter(graph.nodes.values()))
    return ["t", *[a for a in _SPACE if a in first]]


def write_geff(
    path: PathLike,
    graph: nx.DiGraph,
    *,
    axis_names: Sequence[str] | None = None,
    spacing: Sequence[float] | None = None,
    frame_interval: float | None = None,
    overwrite: bool = True,
) -> None:
    """Write a tracks graph as a GEFF store, atomically.

    Parameters
    ----------
    path : str or path-like
        Output folder, conventionally ``tracks.geff``.
    graph : networkx.DiGraph
        Tracks graph; every node has ``t`` and the position attributes named in
        `axis_names` (pixels), e.g. ``seg_id`` and ``tracklet`` too.
    axis_names : sequence of str, optional
        Node attributes that are spatial axes (``z``, ``y``, ``x`` or ``y``, ``x``);
        ``t`` is always the time axis and may be listed first. Default: those of
        ``z, y, x`` the first node has.
    spacing : sequence of float, optional
        Pixel size in µm per spatial axis in `axis_names` order; stored as scale.
    frame_interval : float, optional
        Seconds between frames; stored as the scale of ``t``.
    overwrite : bool
        Replace an existing store.

    Notes
    -----
    ``tracklet`` is declared in ``track_node_props`` only when every node has it and
    geff's tracklet validator accepts it; the property is written either way.

    Raises
    ------
    InputError
        If a node lacks an axis attribute or `spacing` has the wrong length.
    """
    names = _axis_names(axis_names, _default_axes(graph), spacing)
    missing = [
        (n, a) for n, d in graph.nodes(data=True) for a in names if d.get(a) is None
    ][:5]
    if missing:
        raise InputError(f"nodes lack axis attributes (node, attribute): {missing}")
    nodes = list(graph.nodes)
    tracklets = None
    if nodes and all("tracklet" in graph.nodes[n] for n in nodes):
        index = {n: i for i, n in enumerate(nodes)}
        edges = np.asarray([(index[u], index[v]) for u, v in graph.edges], dtype=np.int64)
        tracklets = (edges.reshape(-1, 2), [graph.nodes[n]["tracklet"] for n in nodes])

    def write(tmp: Any, axes: dict[str, Any]) -> None:
        import geff

        geff.write(graph, str(tmp), axis_names=names, **axes)

    _write(path, write, names, spacing, frame_interval, tracklets, overwrite)


def write_geff_table(
    path: PathLike,
    nodes: pd.DataFrame,
    edges: np.ndarray,
    *,
    axis_names: Sequence[str],
    spacing: Sequence[float] | None = None,
    frame_interval: float | None = None,
    overwrite: bool = True,
) -> None:
    """Write a tracks graph held as columns, without building a networkx graph.

    The store is the one :func:`write_geff` writes for the same graph (read it back
    with :func:`read_geff`). Node ids are the rows of `nodes` (0, 1, ...); each column
    is a node property (``t``, the axes in `axis_names`, ``seg_id``, ``tracklet``...);
    `edges` is an ``(E, 2)`` array of row indices. Long movies stay a few dozen bytes
    per object this way (a networkx node costs about a kilobyte).
    """
    from geff.core_io import write_arrays
    from geff_spec.utils import create_or_update_metadata, update_metadata_axes

    names = _axis_names(axis_names, ["t", *axis_names], spacing)
    absent = [a for a in names if a not in nodes.columns]
    if absent or any(nodes[a].isna().any() for a in names if a in nodes.columns):
        raise InputError(f"nodes lack axis values for {absent or names}")
    edges = np.asarray(edges, dtype=np.uint64).reshape(-1, 2)
    tracklets = None
    if "tracklet" in nodes.columns and len(nodes):
        tracklets = (edges.astype(np.int64), nodes["tracklet"].to_numpy())

    def write(tmp: Any, axes: dict[str, Any]) -> None:
        meta = create_or_update_metadata(metadata=None, is_directed=True)
        meta = update_metadata_axes(meta, names, **axes)
        props = {
            str(c): {"values": nodes[c].to_numpy(), "missing": None} for c in nodes.columns
        }
        write_arrays(
            str(tmp), np.arange(len(nodes), dtype=np.uint64), props, edges, {}, meta,
        )

    _write(path, write, names, spacing, frame_interval, tracklets, overwrite)


def _axis_names(
    given: Sequence[str] | None, default: list[str], spacing: Sequence[float] | None
) -> list[str]:
    names = list(given) if given is not None else default
    if names and names[0] != "t":
        names = ["t", *names]
    if not names or names[0] != "t" or not set(names[1:]) <= set(_SPACE):
        raise InputError(
            f"axis_names must be spatial axes among 'z', 'y', 'x'; got {list(given or [])}"
        )
    n_space = len(names) - 1
    if spacing is not None and len(spacing) != n_space:
        raise InputError(
            f"spacing must have {n_space} values ({', '.join(names[1:])}); got {spacing!r}"
        )
    return names


def _write(
    path: PathLike,
    write: Any,
    names: list[str],
    spacing: Sequence[float] | None,
    frame_interval: float | None,
    tracklets: tuple[np.ndarray, Any] | None,
    overwrite: bool,
) -> None:
    """Axes metadata, atomic write, tracklet declaration, sorted metadata, validation."""
    import geff
    from geff.validate.tracks import validate_tracklets
    from geff_spec import GeffMetadata

    n_space = len(names) - 1
    units: list[str | None] = ["frame"] + ["pixel"] * n_space
    types: list[Any] = ["time"] + ["space"] * n_space
    scales: list[float | None] = [float(frame_interval) if frame_interval else None]
    scales += [float(s) for s in spacing] if spacing is not None else [None] * n_space
    scaled: list[str | None] = ["second" if frame_interval else None]
    scaled += ["micrometer" if spacing is not None else None] * n_space

    track_props: dict[str, str] = {}
    if tracklets is not None:
        edges, ids = tracklets
        ok, _ = validate_tracklets(np.arange(len(ids)), edges, np.asarray(ids))
        if ok:
            track_props["tracklet"] = "tracklet"

    # every chunk is stored, even one of fill values, so a missing chunk can be told
    # apart from data on reading (see _check_chunks); `extra` says so
    with (
        atomic_path(path, overwrite=overwrite) as tmp,
        zarr.config.set({"array.write_empty_chunks": True}),
    ):
        write(tmp, {"axis_units": units, "axis_types": types, "axis_scales": scales,
                    "scaled_units": scaled})
        # geff collects property names in a set, whose order changes from one process
        # to the next; sort them so that the same graph always gives the same bytes.
        meta = GeffMetadata.read(str(tmp))
        update: dict[str, Any] = {
            "extra": {**(meta.extra or {}), _EXTRA_KEY: {"all_chunks_stored": True}}
        }
        if track_props:
            update["track_node_props"] = track_props
        for field in ("node_props_metadata", "edge_props_metadata"):
            value = getattr(meta, field, None)
            if isinstance(value, dict):
                update[field] = dict(sorted(value.items()))
        meta = meta.model_copy(update=update)
        meta.write(str(tmp))
        geff.validate_structure(str(tmp))


def read_geff(path: PathLike) -> nx.DiGraph:
    """Read a GEFF store as a tracks graph.

    Parameters
    ----------
    path : str or path-like
        GEFF folder (a Zarr group with ``geff`` metadata).

    Returns
    -------
    networkx.DiGraph
        Nodes and edges with their properties. ``graph.graph`` holds ``axis_names``,
        ``spacing`` (µm, or None) and ``frame_interval`` (s, or None) recovered from
        the axes' scales, and ``geff_metadata`` (the metadata as a dict).

    Raises
    ------
    FileFormatError
        If the path is missing or not a valid GEFF store (geff's structure validation
        fails), or the graph is undirected.
    """
    import geff
    from geff.validate.data import ValidationConfig

    p = check_exists(path)
    fix = "write it again (celldyn run, or the tool that made it)"
    try:
        graph, meta = geff.read(str(p), data_validation=ValidationConfig(graph=True))
    except Exception as err:  # noqa: BLE001 - geff raises ValueError, KeyError, pydantic errors...
        first = (
            " ".join(str(err).split())[:200] if str(err).strip() else type(err).__name__
        )
        raise FileFormatError(f"{p} is not a valid GEFF store ({first}); {fix}") from None
    if (meta.extra or {}).get(_EXTRA_KEY, {}).get("all_chunks_stored"):
        _check_chunks(p, fix)
    if not meta.directed:
        raise FileFormatError(
            f"{p} holds an undirected graph; a tracks graph is directed"
        )
    axes = list(meta.axes or [])
    spacing = None
    interval = None
    space = [a for a in axes if a.type == "space"]
    if space and all(a.scale is not None for a in space):
        spacing = tuple(float(a.scale) for a in space)  # type: ignore[arg-type]
    for a in axes:
        if a.type == "time" and a.scale is not None:
            interval = float(a.scale)
    graph = nx.DiGraph(graph)
    graph.graph.update(
        axis_names=[a.name for a in axes],
        spacing=spacing,
        frame_interval=interval,
        geff_metadata=meta.model_dump(mode="json"),
    )
    return graph


def _check_chunks(path: Any, fix: str) -> None:
    """Raise if an array of a store written with every chunk stored lacks one."""
    group = zarr.open_group(str(path), mode="r")
    missing: list[str] = []

    def walk(g: Any, prefix: str) -> None:
        for name, member in g.members():
            if isinstance(member, zarr.Array):
                n = member.nchunks - member.nchunks_initialized
                if n:
                    missing.append(f"{prefix}{name} ({n} of {member.nchunks})")
            else:
                walk(member, f"{prefix}{name}/")

    walk(group, "")
    if missing:
        raise FileFormatError(
            f"{path} is incomplete: chunks are missing in {', '.join(missing[:5])} "
            f"(interrupted copy?); copy it again or {fix}"
        )
