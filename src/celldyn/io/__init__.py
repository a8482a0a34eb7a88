"""IO stage: read movies and labels, write results (TIFF, CTC, OME-Zarr, GEFF, Parquet).

IO only converts between files and the data model (:class:`~celldyn.movie.Movie`,
label arrays, the tracks graph, tables); it never computes. Each format module says
which library it delegates to. Every write is atomic (temporary sibling, then rename).
"""

from __future__ import annotations

from .ctc import (
    read_ctc_gt,
    read_ctc_movie,
    read_ctc_result,
    read_label_folder,
    read_label_frames,
    read_track_table,
    write_ctc_gt,
    write_ctc_result,
    write_track_table,
)
from .geff import read_geff, write_geff, write_geff_table
from .omezarr import read_labels_ome_zarr, read_ome_zarr, write_labels_ome_zarr, write_ome_zarr
from .read import read_labels, read_movie, read_run_movie, series_count, validate_movie
from .tables import read_csv, read_parquet, read_run_record, write_parquet
from .tiff import read_tiff, write_tiff
from .run_folder import FrameCache, fingerprint, read_run_folder, write_run_folder

__all__ = [
    "FrameCache",
    "fingerprint",
    "read_run_folder",
    "write_run_folder",
    "read_csv",
    "read_ctc_gt",
    "read_ctc_movie",
    "read_ctc_result",
    "read_geff",
    "read_label_folder",
    "read_label_frames",
    "read_labels",
    "read_labels_ome_zarr",
    "read_movie",
    "read_ome_zarr",
    "read_parquet",
    "read_run_record",
    "read_tiff",
    "read_track_table",
    "read_run_movie",
    "series_count",
    "validate_movie",
    "write_ctc_gt",
    "write_ctc_result",
    "write_geff",
    "write_geff_table",
    "write_labels_ome_zarr",
    "write_ome_zarr",
    "write_parquet",
    "write_tiff",
    "write_track_table",
]
