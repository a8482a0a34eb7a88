"""The run folder (DESIGN.md): its one owner. Write it, read it back, and keep the
resume cache of a run in progress.

- :func:`write_run_folder` writes ``labels.ome.zarr``, ``objects.parquet``,
  ``tracks.geff``, ``ctc/`` and ``run.json`` atomically (everything appears at once,
  or nothing), then lets the caller add its derived files (tables, report) inside the
  same temporary folder.
- :func:`run_record` is the content of ``run.json``; :func:`fingerprint` binds a
  :class:`FrameCache` to its movie and parameters.
- :func:`read_run_folder` reads the parts back (no analysis: that is the caller's).

Only files here: no stage is imported (the caller passes tables, arrays and records).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import __version__
from .._atomic import atomic_path
from .._memory import release_memory
from ..errors import CelldynError, FileFormatError, InputError
from .ctc import write_ctc_result
from .geff import read_geff, write_geff_table
from .omezarr import read_labels_ome_zarr, write_labels_ome_zarr
from .read import read_labels, read_run_movie
from .tables import read_parquet, read_run_record, write_parquet

__all__ = [
    "FrameCache",
    "RunFolder",
    "fingerprint",
    "read_overlay_movie",
    "read_run_arrays",
    "read_run_folder",
    "run_record",
    "write_csv",
    "write_run_folder",
    "write_text",
]

_VERSIONED = ("numpy", "scipy", "scikit-image", "tifffile", "zarr", "pandas", "networkx", "geff")


class FrameCache:
    """Per-frame labels kept on disk while a run is in progress (``--resume``).

    Each frame is written to a temporary file and renamed, so a killed run leaves only
    whole frames. The folder is bound to a fingerprint of the movie and parameters: a
    cache made for other inputs is ignored, never mixed in.
    """

    def __init__(self, folder: str | Path, fingerprint: str) -> None:
        self.folder = Path(folder)
        self.fingerprint = fingerprint
        stamp = self.folder / "fingerprint.txt"
        if self.folder.exists() and (
            not stamp.exists() or stamp.read_text() != fingerprint
        ):
            shutil.rmtree(self.folder)

    def _open(self) -> None:
        """Create the folder on the first write (a run that fails early leaves none)."""
        stamp = self.folder / "fingerprint.txt"
        if not stamp.exists():
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp = stamp.with_suffix(".tmp")
            tmp.write_text(self.fingerprint)
            os.replace(tmp, stamp)

    def _path(self, t: int) -> Path:
        return self.folder / f"labels_{t:06d}.npy"

    def get(self, t: int) -> np.ndarray | None:
        p = self._path(t)
        if not p.exists():
            return None
        try:
            return np.load(p, allow_pickle=False)
        except (OSError, ValueError):  # a damaged frame is recomputed
            return None

    def put(self, t: int, frame: np.ndarray) -> None:
        self._open()
        tmp = self.folder / f".labels_{t:06d}.tmp.npy"
        np.save(tmp, frame, allow_pickle=False)
        os.replace(tmp, self._path(t))

    def __len__(self) -> int:
        """Frames finished: per-frame files and frames of complete chunks."""
        if not self.folder.exists():
            return 0
        chunks = sum(t1 - t0 for t0, t1 in self._parts().values())
        return len(list(self.folder.glob("labels_*.npy"))) + chunks

    # Chunks (the Dask path, celldyn.scale): labels in one zarr store, one chunk of
    # frames per task, and the chunk's objects as a Parquet part written after its
    # labels, so a part on disk means a complete chunk.

    def _parts(self) -> dict[int, tuple[int, int]]:
        found = {}
        for p in (self.folder / "objects").glob("part_*_*.parquet"):
            t0, t1 = (int(v) for v in p.stem.split("_")[1:3])
            found[t0] = (t0, t1)
        return found

    def chunk_labels(self, shape: tuple[int, ...], *, chunks: tuple[int, ...]) -> Any:
        """The zarr array of per-frame labels (created on first use, kept on resume)."""
        import zarr

        self._open()
        path = self.folder / "segmented.zarr"
        if path.exists():
            store = zarr.open_array(str(path), mode="r+")
            if tuple(store.shape) == tuple(shape) and tuple(store.chunks) == tuple(chunks):
                return store
            shutil.rmtree(path)
            shutil.rmtree(self.folder / "objects", ignore_errors=True)
        return zarr.open_array(str(path), mode="w", shape=shape, chunks=chunks,
                               dtype=np.int32, fill_value=0)

    def chunks_done(self) -> set[int]:
        """First frames of the complete chunks."""
        return set(self._parts()) if self.folder.exists() else set()

    def put_chunk(self, t0: int, labels: np.ndarray, objects: pd.DataFrame) -> None:
        """Write frames ``t0..t0+len(labels)``: labels, then their objects (atomic)."""
        import zarr

        store = zarr.open_array(str(self.folder / "segmented.zarr"), mode="r+")
        store[t0:t0 + len(labels)] = labels
        folder = self.folder / "objects"
        folder.mkdir(exist_ok=True)
        with atomic_path(folder / f"part_{t0:06d}_{t0 + len(labels):06d}.parquet") as tmp:
            objects.to_parquet(tmp, index=False)

    def repaired_labels(self, shape: tuple[int, ...], *, chunks: tuple[int, ...]) -> Any:
        """A fresh zarr array beside the segmented one, for the run's temporal repair
        (:mod:`celldyn.segment.temporal`): the segmented store and its objects stay as
        the chunks wrote them, so a resumed run repairs (and re-measures) again."""
        import zarr

        self._open()
        return zarr.open_array(str(self.folder / "repaired.zarr"), mode="w", shape=shape,
                               chunks=chunks, dtype=np.int32, fill_value=0)

    def chunk_objects(self) -> pd.DataFrame:
        """The objects of every complete chunk, in frame order (one table)."""
        parts = [pd.read_parquet(p) for p in sorted((self.folder / "objects").glob(
            "part_*_*.parquet"))]
        full = [p for p in parts if len(p)]
        if not full:
            return parts[0] if parts else pd.DataFrame()
        table = pd.concat(full, ignore_index=True)
        return table.sort_values(["t", "label"], kind="stable").reset_index(drop=True)

    def frames(self, shape: tuple[int, ...]) -> _CachedFrames:
        """A read-only, frame-indexable view of the cached label movie."""
        return _CachedFrames(self, shape)

    def tracked_store(self, shape: tuple[int, ...]) -> Any:
        """A zarr array (one chunk per frame) for the tracked label movie."""
        import zarr

        self._open()
        return zarr.open_array(
            str(self.folder / "tracked.zarr"), mode="w", shape=shape,
            chunks=(1, *shape[1:]), dtype=np.int32, fill_value=0,
        )


class _CachedFrames:
    """Array-like view of a :class:`FrameCache`: ``shape``, ``dtype``, ``ndim`` and
    ``view[t]``, each frame read from disk when asked for (memory stays one frame)."""

    def __init__(self, cache: FrameCache, shape: tuple[int, ...]) -> None:
        self.cache, self.shape = cache, tuple(shape)
        self.dtype, self.ndim = np.dtype(np.int32), len(shape)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, t: int) -> np.ndarray:
        if not isinstance(t, (int, np.integer)):
            return np.stack([self[i] for i in range(self.shape[0])])[t]
        frame = self.cache.get(int(t))
        if frame is None:
            raise KeyError(f"frame {t} is not in the cache")
        return frame


def fingerprint(movie: Any, config: Any, *, source: str | Path | None = None) -> str:
    """A short hash of the movie's pixels, metadata and the segmentation parameters
    (`config`: a :class:`~celldyn.pipeline.RunConfig`).

    With `source`, the file or folder (OME-Zarr, zarr) the movie was read from, the
    path, size and modification time of each of its files stand in for the pixels, as
    make and rsync decide what changed: a movie rewritten or edited in place gets a new
    fingerprint (its resume cache is then ignored) without reading every pixel, which on
    a movie larger than memory cost as much as reading it once more (2.7 s of a 1 GB
    movie's 110 s run on 2 workers; 100 CPU-seconds on 20 GB). A copy gets a new
    fingerprint too (new times): a resume from it starts over, which is safe.
    """
    h = hashlib.sha256()
    h.update(json.dumps(
        {"axes": movie.axes, "shape": list(movie.data.shape), "dtype": str(movie.data.dtype),
         "spacing": movie.spacing, "segmenter": config.segmenter, "method": config.method,
         "model": config.model if config.segmenter == "deep" else None,
         "params": config.method_params, "dark": config.dark_objects,
         "channel": config.channel,
         "denoise": getattr(config, "denoise_settings", getattr(config, "denoise", None)),
         "version": __version__,
         # given blocks segment differently (ids; the statistics of deep models)
         **({"blocks": [config.block_size, config.block_overlap]}
            if getattr(config, "block_size", None) else {}),
         **({"plane": config.plane} if getattr(config, "plane", None) is not None else {}),
         # the cache numbers the selected frames from 0
         **({"frames": config.frames} if getattr(config, "frames", None) else {})},
        sort_keys=True, default=str).encode())
    try:
        stats = [(f, f.stat()) for f in _source_files(source)]
    except OSError:  # an unreadable file or subfolder in the movie's folder: the pixels
        stats = []
    if stats:
        root = Path(source).resolve()
        for f, st in stats:
            h.update(f"{f.relative_to(root) if f != root else f.name}\0{st.st_size}\0"
                     f"{st.st_mtime_ns}\n".encode())
        return h.hexdigest()[:16]
    for t in range(movie.n_frames):
        h.update(np.ascontiguousarray(np.asarray(movie.data[t])).tobytes())
    return h.hexdigest()[:16]


def _source_files(source: str | Path | None) -> list[Path]:
    """The files of a movie on disk, in a fixed order ([] when there is no such path)."""
    if source is None:
        return []
    root = Path(source).resolve()
    if root.is_file():
        return [root]
    if root.is_dir():  # not a run's own scratch, should -o lie inside the movie's folder
        return sorted(p for p in root.rglob("*") if p.is_file() and not any(
            part.startswith(".") and (part.endswith(".partial") or ".tmp-" in part
                                      or ".old-" in part)
            for part in p.relative_to(root).parts))
    return []


def run_record(
    movie: Any, *, config: dict[str, Any], summary: dict[str, Any], max_distance: float,
    seed: int, source: str = "",
) -> dict[str, Any]:
    """The content of run.json: versions, parameters, metadata, seed and timings."""
    import importlib.metadata as md

    versions = {"celldyn": __version__, "python": platform.python_version()}
    for pkg in _VERSIONED:
        try:
            versions[pkg] = md.version(pkg)
        except md.PackageNotFoundError:  # pragma: no cover
            pass
    m = movie
    return {
        "source": source or m.name,
        "movie": {
            "axes": m.axes,
            "shape": list(m.data.shape),
            "dtype": str(m.data.dtype),
            "spacing": list(m.spacing) if m.spacing else None,
            "spacing_unit": "µm" if m.spacing else "px",
            "frame_interval": m.frame_interval,
            "time_unit": "s" if m.frame_interval else "frame",
        },
        "config": config,
        "max_distance_used": max_distance,
        "seed": seed,
        "summary": summary,
        "versions": versions,
        "machine": {"platform": platform.platform(), "processor": platform.machine()},
    }


def write_csv(path: str | Path, df: pd.DataFrame) -> None:
    """A table as CSV, atomically."""
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False)


def write_text(path: str | Path, text: str) -> None:
    """A UTF-8 text file, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_run_folder(
    path: str | Path,
    *,
    labels: Any,
    objects: pd.DataFrame,
    nodes: pd.DataFrame,
    edges: np.ndarray,
    tracks: pd.DataFrame,
    record: dict[str, Any],
    spacing: Any = None,
    frame_interval: float | None = None,
    overwrite: bool = False,
    progress: bool = False,
    derived: Callable[[Path], Any] | None = None,
    semantic: dict[str, Any] | None = None,
) -> Path:
    """Write the run folder atomically: everything appears at once, or nothing.

    Layout: ``labels.ome.zarr`` (tracked labels), ``objects.parquet``, ``tracks.geff``
    (`nodes` with geff names, `edges` as row pairs), ``ctc/`` (mask*.tif +
    res_track.txt from `tracks`), ``run.json`` (`record`), then whatever
    ``derived(folder)`` writes into the temporary folder (tables, report). With a
    semantic model's output (`semantic`: ``{"semantic": (T, [Z,] Y, X) uint8 class map,
    "classes": names}``) also ``semantic.ome.tif``, named in run.json's ``semantic``.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise InputError(
            f"{path} already exists; choose another -o folder or pass --overwrite"
        )
    steps = ["labels.ome.zarr", "objects.parquet", "tracks.geff", "ctc", "run.json",
             "dynamics.csv + report.html"]
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(steps), desc="write", unit="file")

    def done() -> None:
        if bar is not None:
            bar.update()
        release_memory()  # each step frees its scratch before the next one's peak

    n_spatial = len(labels.shape) - 1
    axis_names = ["z", "y", "x"][-n_spatial:]
    with atomic_path(path, overwrite=overwrite) as tmp:
        tmp.mkdir(parents=True)
        write_labels_ome_zarr(
            tmp / "labels.ome.zarr", labels, spacing=spacing, frame_interval=frame_interval,
        )
        done()
        write_parquet(tmp / "objects.parquet", objects)
        done()
        write_geff_table(
            tmp / "tracks.geff", nodes, edges, axis_names=axis_names, spacing=spacing,
            frame_interval=frame_interval,
        )
        done()
        write_ctc_result(tmp / "ctc", labels, tracks, check=False)  # painted from it
        done()
        if semantic and semantic.get("semantic") is not None:
            record = {**record, "semantic": _write_semantic(tmp, semantic, labels, spacing,
                                                            frame_interval)}
        (tmp / "run.json").write_text(json.dumps(record, indent=2, default=str))
        done()
        if derived is not None:
            derived(tmp)
        done()
    if bar is not None:
        bar.close()
    return path


def _write_semantic(folder: Path, semantic: dict[str, Any], labels: Any, spacing: Any,
                    frame_interval: float | None) -> dict[str, Any]:
    """``semantic.ome.tif`` (uint8 class indices) and its run.json entry."""
    from ..movie import Movie
    from .tiff import write_tiff

    classes = np.asarray(semantic["semantic"], dtype=np.uint8)
    axes = "TYX" if classes.ndim == 3 else "TZYX"
    write_tiff(folder / "semantic.ome.tif",
               Movie(classes, axes, spacing=spacing, frame_interval=frame_interval))
    return {"file": "semantic.ome.tif", "classes": list(semantic.get("classes", [])),
            "objects_are": semantic.get("objects_are"), "model": semantic.get("model")}


@dataclass
class RunFolder:
    """The parts of a run folder, as stored (see :func:`read_run_folder`)."""

    record: dict[str, Any]
    objects: pd.DataFrame
    graph: Any  # networkx.DiGraph from tracks.geff, or None
    ctc_tracks: Path  # ctc/res_track.txt (may not exist; read with read_track_table)
    labels: Any  # tracked label movie, or None
    spacing: Any
    frame_interval: float | None
    n_frames: int | None


def read_run_folder(folder: str | Path) -> RunFolder:
    """Read a run folder's record, objects, tracks graph, CTC table and labels.

    Raises
    ------
    FileFormatError
        If the folder or its ``objects.parquet`` is missing, or a file in it is damaged.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileFormatError(f"{folder} is not a folder; pass a results folder from celldyn run")
    if not (folder / "objects.parquet").exists():
        raise FileFormatError(
            f"{folder} has no objects.parquet; pass a results folder from celldyn run"
        )
    record = read_run_record(folder)
    objects = read_parquet(folder / "objects.parquet")
    graph = read_geff(folder / "tracks.geff") if (folder / "tracks.geff").exists() else None
    ctc_tracks = folder / "ctc" / "res_track.txt"
    labels = None
    if (folder / "labels.ome.zarr").exists():
        labels = read_labels_ome_zarr(folder / "labels.ome.zarr")
    graph_meta = graph.graph if graph is not None else {}
    movie_meta = record.get("movie", {})
    n_frames = None
    if movie_meta.get("shape"):
        n_frames = int(movie_meta["shape"][0])
    elif labels is not None:
        n_frames = int(labels.shape[0])
    return RunFolder(
        record=record, objects=objects, graph=graph, ctc_tracks=ctc_tracks, labels=labels,
        spacing=movie_meta.get("spacing", graph_meta.get("spacing")),
        frame_interval=movie_meta.get("frame_interval", graph_meta.get("frame_interval")),
        n_frames=n_frames,
    )


def read_overlay_movie(record: dict[str, Any], labels: Any) -> Any:
    """The raw movie named in run.json for overlays, or None when it cannot be read or
    does not match `labels`."""
    try:
        movie = read_run_movie(record)
    except (CelldynError, OSError, ValueError):
        return None
    if labels is not None and tuple(movie.data.shape) != tuple(labels.shape):
        return None
    return movie.data


def read_run_arrays(results: str | Path, movie_path: str | Path | None = None,
                    hint: str = "RESULTS") -> dict[str, Any]:
    """Labels, graph, movie and objects of a run folder (what the classifier commands
    train and explain on); `hint` names the argument the folder came from."""
    results = Path(results)
    if not (results / "labels.ome.zarr").exists():
        raise FileFormatError(
            f"{results} is not a celldyn results folder (it has no labels.ome.zarr); pass "
            f"as {hint} what a `celldyn run -o FOLDER` wrote"
        )
    record = read_run_record(results)
    movie = read_run_movie(record, movie_path)
    labels = read_labels(results / "labels.ome.zarr")
    graph = read_geff(results / "tracks.geff") if (results / "tracks.geff").exists() else None
    objects = read_parquet(results / "objects.parquet")
    return {"labels": labels, "movie": np.asarray(movie.data), "spacing": movie.spacing,
            "graph": graph, "objects": objects}
