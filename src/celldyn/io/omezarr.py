"""OME-Zarr (OME-NGFF): write tracked label movies, read images and labels.

``ome-zarr`` writes and reads the multiscales metadata and zarr stores the chunks; we
choose the layout and check what we read. A tracked label movie is written as a
single-scale NGFF 0.5 image at the root of the store, one frame per chunk, with axes
(``t``, [``z``,] ``y``, ``x``), their units and scales (µm, s) and ``image-label``
metadata, so napari (napari-ome-zarr) opens it as a labels layer. It is not copied
under ``labels/``: a label movie has no intensity image to hang from, and a second
copy would double the size. :func:`read_labels_ome_zarr` also reads the standard
layout (an image with ``labels/<name>``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import zarr

from ..errors import FileFormatError, InputError
from ..movie import Movie, normalize_axes
from ._atomic import atomic_path
from ._util import PathLike, as_int32_labels, check_exists, length_to_um, time_to_s

__all__ = ["read_labels_ome_zarr", "read_ome_zarr", "write_labels_ome_zarr", "write_ome_zarr"]


def write_labels_ome_zarr(
    path: PathLike,
    labels: Any,
    *,
    spacing: tuple[float, ...] | None = None,
    frame_interval: float | None = None,
    chunks: tuple[int, ...] | None = None,
    overwrite: bool = True,
) -> None:
    """Write a tracked label movie as OME-Zarr (NGFF 0.5), atomically.

    Parameters
    ----------
    path : str or path-like
        Output folder, conventionally ``labels.ome.zarr``.
    labels : (T, [Z,] Y, X) int array, numpy or dask
        Label movie; stored as int32.
    spacing : sequence of float, optional
        Pixel size per spatial axis ((Z,) Y, X) in µm; written as scale with unit
        ``micrometer``. Default: scale 1, no unit.
    frame_interval : float, optional
        Seconds between frames; written as the ``t`` scale with unit ``second``.
    chunks : tuple of int, optional
        Chunk shape; default one frame per chunk, ``(1, [Z,] Y, X)``.
    overwrite : bool
        Replace an existing store.

    Raises
    ------
    InputError
        If `labels` is not an integer array with 3 or 4 dimensions, or `spacing` has
        the wrong length.

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "labels.ome.zarr")
    >>> write_labels_ome_zarr(path, np.ones((2, 4, 4), np.int32), spacing=(0.5, 0.5))
    >>> read_labels_ome_zarr(path).shape
    (2, 4, 4)
    """
    from ome_zarr.writer import write_image

    try:
        import dask.array as da
    except ImportError:  # pragma: no cover - dask is a core dependency
        da = None
    if da is not None and isinstance(labels, da.Array):
        if not np.issubdtype(labels.dtype, np.integer):
            raise InputError(f"labels must be integers; got {labels.dtype}")
        data: Any = labels.astype(np.int32)
    else:
        data = as_int32_labels(labels, name="labels")
    if data.ndim not in (3, 4):
        raise InputError(
            "labels must be an integer array with axes T(Z)YX; got "
            f"{data.dtype} with shape {tuple(data.shape)}"
        )
    axes = "tyx" if data.ndim == 3 else "tzyx"
    n_sp = data.ndim - 1
    if spacing is not None and len(spacing) != n_sp:
        raise InputError(
            f"spacing must have {n_sp} values ({axes[1:].upper()}); got {spacing!r}"
        )
    scale = {"t": float(frame_interval) if frame_interval else 1.0}
    scale.update({a: float(s) for a, s in zip(axes[1:], spacing or [1.0] * n_sp)})
    units: dict[str, str] = {}
    if frame_interval:
        units["t"] = "second"
    if spacing is not None:
        units.update({a: "micrometer" for a in axes[1:]})
    chunks = tuple(chunks) if chunks is not None else (1, *data.shape[1:])
    # empty (all-0) frames must be stored too, or a missing chunk is undetectable
    with (
        atomic_path(path, overwrite=overwrite) as tmp,
        zarr.config.set({"array.write_empty_chunks": True}),
    ):
        root = zarr.open_group(str(tmp), mode="w")
        write_image(
            data,
            root,
            scale_factors=[],
            axes=axes,
            scale=scale,
            axes_units=units or None,
            storage_options={"chunks": chunks},
            name="labels",
        )
        ome = dict(root.attrs["ome"])
        ome["image-label"] = {"version": ome.get("version", "0.5"), "colors": []}
        root.attrs["ome"] = ome


def _series_images(group: Any) -> list[str]:
    """The image groups of a bioformats2raw store ("0", "1", ...), in order."""
    return sorted((k for k in group.group_keys() if str(k).isdigit()), key=int)


def _open_node(path: Path, series: int | None = None) -> tuple[Any, dict[str, Any]]:
    """Open the multiscales node of an OME-Zarr: (zarr group, its ome attrs). A
    bioformats2raw store (``bioformats2raw.layout``: one image group per series of the
    source file, e.g. the stage positions of a .czi / .nd2 / .lif) opens its `series`-th
    image (default the first); a plain image holds one."""
    try:
        group = zarr.open_group(str(path), mode="r")
    except Exception as err:  # noqa: BLE001 - zarr raises many types
        raise FileFormatError(
            f"{path} is not a Zarr store ({type(err).__name__}); expected an OME-Zarr folder"
        ) from None
    attrs = dict(group.attrs)
    ome = attrs.get("ome", attrs)  # NGFF 0.5 nests under "ome"; 0.4 does not
    if "multiscales" not in ome and "bioformats2raw.layout" in ome:
        images = _series_images(group)
        index = 0 if series is None else int(series)
        if str(index) not in images:
            held = f"{len(images)} image series (0-{len(images) - 1})" if images else \
                "no image series"
            raise InputError(f"{path.name} holds {held}; --series {index} is not one of them")
        group = group[str(index)]
        attrs = dict(group.attrs)
        ome = {**attrs.get("ome", attrs), "n_series": len(images), "series": index}
    elif series not in (None, 0):
        raise InputError(f"{path.name} holds one image; --series {series} is not one of "
                         "them (only a multi-series TIFF or a bioformats2raw OME-Zarr holds "
                         "several)")
    if "multiscales" not in ome:
        raise FileFormatError(
            f"{path} is a Zarr store but not an OME-Zarr image (no 'multiscales' metadata)"
        )
    return group, ome


def _series_count(path: Path) -> int:
    """How many image series an OME-Zarr holds: the image groups of a bioformats2raw
    store, else 1. Reads the metadata only (no chunk), and fails as :func:`_open_node`."""
    return int(_open_node(path)[1].get("n_series", 1))


def _array_and_axes(
    path: Path, group: Any, ome: dict[str, Any]
) -> tuple[Any, list[dict[str, Any]], list[float] | None]:
    ms = ome["multiscales"][0]
    try:
        axes = [a if isinstance(a, dict) else {"name": a} for a in ms["axes"]]
        ds = ms["datasets"][0]
        arr = group[ds["path"]]
    except (KeyError, IndexError, TypeError) as err:
        raise FileFormatError(
            f"{path}: incomplete multiscales metadata ({err!r})"
        ) from None
    scale = None
    for tr in ds.get("coordinateTransformations", []) + ms.get(
        "coordinateTransformations", []
    ):
        if tr.get("type") == "scale" and scale is None:
            scale = [float(s) for s in tr["scale"]]
    n_init = arr.nchunks_initialized
    if n_init < arr.nchunks:
        raise FileFormatError(
            f"{path}: {arr.nchunks - n_init} of {arr.nchunks} chunks are missing; the "
            "store is incomplete (interrupted copy?): copy or export it again"
        )
    return arr, axes, scale


def read_ome_zarr(path: PathLike, *, axes: str | None = None, series: int | None = None
                  ) -> Movie:
    """Read the full-resolution image of an OME-Zarr as a Movie (lazy dask data).

    Parameters
    ----------
    path : str or path-like
        OME-Zarr folder (NGFF 0.4 or 0.5) with multiscales metadata at the root.
    axes : str, optional
        Axes letters overriding the metadata's axes names.
    series : int, optional
        Which image of a bioformats2raw store (one per series of the converted file,
        e.g. a stage position) to read, from 0; default the first.

    Returns
    -------
    Movie
        Canonical T[C][Z]YX dask array; spacing in µm and frame interval in s from the
        scale transform when the axes have known units (no unit is read as µm / s).

    Raises
    ------
    FileFormatError
        If `path` is missing, not an OME-Zarr, or has missing chunks.
    InputError
        If the axes cannot be mapped to ``TCZYX``.
    """
    import dask.array as da

    p = check_exists(path)
    group, ome = _open_node(p, series)
    arr, ax_meta, scale = _array_and_axes(p, group, ome)
    names = "".join(str(a.get("name", "?"))[:1].upper() for a in ax_meta)
    data, canon = normalize_axes(da.from_zarr(arr), axes or names)
    src = axes or names
    spacing: tuple[float, ...] | None = None
    interval = None
    if scale is not None and len(scale) == len(src):
        by_ax = {a: (s, m.get("unit")) for a, s, m in zip(src, scale, ax_meta)}
        sizes = [length_to_um(*by_ax[a]) for a in canon if a in "ZYX" and a in by_ax]
        if (
            sizes
            and all(s is not None for s in sizes)
            and len(sizes) == len(canon.replace("T", "").replace("C", ""))
        ):
            spacing = tuple(sizes)  # type: ignore[arg-type]
        if "T" in by_ax:
            interval = time_to_s(*by_ax["T"])
    return Movie(
        data=data,
        axes=canon,
        spacing=spacing,
        frame_interval=interval,
        name=p.name,
        metadata={
            "format": "ome-zarr",
            "source_axes": src,
            "ome": json.loads(json.dumps(ome)),
            "n_series": int(ome.get("n_series", 1)),
            "series": int(ome.get("series", 0)),
        },
    )


def read_labels_ome_zarr(path: PathLike, *, name: str | None = None) -> np.ndarray:
    """Read a label movie from an OME-Zarr into memory.

    Parameters
    ----------
    path : str or path-like
        A store written by :func:`write_labels_ome_zarr` (labels at the root), or an
        NGFF image with a ``labels/`` group.
    name : str, optional
        Which entry of ``labels/`` to read; default the root if it is a label image,
        else the first listed label.

    Returns
    -------
    (T, [Z,] Y, X) int32 ndarray

    Raises
    ------
    FileFormatError
        If the store is missing, not an OME-Zarr, has missing chunks, holds no labels,
        or the labels are not integers.
    """
    p = check_exists(path)
    group, ome = _open_node(p)
    if name is None and "image-label" not in ome and "labels" in group:
        label_attrs = dict(group["labels"].attrs)
        listed = label_attrs.get("ome", label_attrs).get("labels", [])
        if not listed:
            raise FileFormatError(f"{p}: the labels/ group lists no label images")
        name = listed[0]
    if name is not None:
        p = p / "labels" / name
        group, ome = _open_node(check_exists(p))
    arr, ax_meta, _ = _array_and_axes(p, group, ome)
    names = "".join(str(a.get("name", "?"))[:1].upper() for a in ax_meta)
    data = np.asarray(arr[...])
    try:
        data = as_int32_labels(data, name=str(p), allow_bool=False)
    except InputError as err:
        raise FileFormatError(str(err)) from None
    if names in ("TYX", "TZYX"):  # already canonical: keep singleton axes (Z = 1)
        return data
    try:
        data, canon = normalize_axes(data, names)
    except InputError as err:
        raise FileFormatError(f"{p}: {err}") from None
    if "C" in canon:
        raise FileFormatError(
            f"{p}: label images cannot have channels; got axes {names!r}"
        )
    return data


def write_ome_zarr(path: PathLike, movie: Movie, *, overwrite: bool = True) -> None:
    """Write an intensity movie as a single-scale OME-Zarr (NGFF 0.5) image, atomically.

    One frame per chunk, the movie's dtype kept, axes (``t``, [``c``,] [``z``,] ``y``,
    ``x``) with µm / s scales when the movie knows them; :func:`read_ome_zarr` reads
    it back.

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "movie.ome.zarr")
    >>> write_ome_zarr(path, Movie(np.ones((2, 4, 4), np.float32), "TYX"))
    >>> read_ome_zarr(path).data.shape
    (2, 4, 4)
    """
    from ome_zarr.writer import write_image

    data = np.asarray(movie.data)
    axes = movie.axes.lower()
    scale = {"t": float(movie.frame_interval) if movie.frame_interval else 1.0}
    if "c" in axes:
        scale["c"] = 1.0
    spatial = movie.spatial_axes.lower()
    scale.update({a: float(s) for a, s in zip(spatial, movie.spacing or [1.0] * len(spatial))})
    units: dict[str, str] = {}
    if movie.frame_interval:
        units["t"] = "second"
    if movie.spacing is not None:
        units.update({a: "micrometer" for a in spatial})
    chunks = (1, *data.shape[1:])
    with (
        atomic_path(path, overwrite=overwrite) as tmp,
        zarr.config.set({"array.write_empty_chunks": True}),
    ):
        root = zarr.open_group(str(tmp), mode="w")
        write_image(data, root, scale_factors=[], axes=axes,
                    scale=scale,
                    axes_units=units or None, storage_options={"chunks": chunks})
