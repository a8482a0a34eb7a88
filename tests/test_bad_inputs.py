"""The bad-input corpus of issue 8: every command, every kind of broken file.

The corpus is generated here (never committed as data): truncated and zero-byte TIFFs,
wrong dtypes, empty and 1x1 movies, NaN/Inf and constant frames, axes that cannot be
inferred, label ids beyond int32, malformed CTC track tables, masks that disagree with
their table, GEFF stores with dangling edges or missing chunks, OME-Zarr stores with
missing chunks, ground truth of another shape, and damaged run folders.

Every case must end with exactly one line ``Error: ...`` on stderr that names the
problem and what to do, exit code 2, no traceback, and no output: no new or changed
file anywhere in the corpus, no ``-o`` target and no hidden temporary sibling.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import tifffile
import zarr
from click.testing import CliRunner

from celldyn.cli import main

# ----------------------------------------------------------------------------- corpus


def _tif(path: Path, data, axes: str | None = "TYX") -> None:
    """A TIFF with tifffile's own axes metadata (trusted), or a plain one (axes=None)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tifffile.imwrite(path, data, metadata={"axes": axes} if axes else None)


def _zarr_chunks(store: Path) -> list[Path]:
    """Chunk files of a Zarr v2 or v3 store (everything but the metadata files)."""
    meta = {"zarr.json", ".zarray", ".zattrs", ".zgroup"}
    return sorted(p for p in store.rglob("*") if p.is_file() and p.name not in meta)


def _set_track_table(folder: Path, name: str, lines: list[str]) -> None:
    (folder / name).write_text("".join(f"{ln}\n" for ln in lines))


def _run_folder(movie: Path, out: Path) -> None:
    r = _runner().invoke(main, ["run", str(movie), "-o", str(out), "--no-progress"],
                         catch_exceptions=False)
    assert r.exit_code == 0, r.stderr


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    from celldyn.io import write_ctc_gt, write_labels_ome_zarr, write_tiff
    from celldyn.simulate import simulate_movie

    c = tmp_path_factory.mktemp("corpus")
    sim = simulate_movie(ndim=2, n_frames=4, shape=(40, 40), n_objects=3, rng=3)
    T, Y, X = sim.labels.shape
    good = np.asarray(sim.movie.data)
    lab16 = sim.labels.astype(np.uint16)

    # movies
    m = c / "movie"
    m.mkdir()
    write_tiff(m / "movie.ome.tif", sim.movie)
    raw = (m / "movie.ome.tif").read_bytes()
    (m / "empty.tif").write_bytes(b"")
    (m / "header_cut.tif").write_bytes(b"II*\x00")   # a TIFF cut inside its header
    (m / "truncated.ome.tif").write_bytes(raw[: len(raw) // 3])
    (m / "notatiff.tif").write_bytes(b"this is not a tiff " * 20)
    (m / "movie.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (m / "movie.bmp").write_bytes(b"BM")
    (m / "stage.nd2").write_bytes(b"\xda\xce\xbe\x0a")   # a vendor format
    _tif(m / "complex.tif", good.astype(np.complex64))
    _tif(m / "bool.tif", good > good.mean())
    with warnings.catch_warnings():  # tifffile: "writing zero-size array"
        warnings.simplefilter("ignore", UserWarning)
        _tif(m / "zero_frames.tif", np.zeros((0, Y, X), np.uint16))
    _tif(m / "one_pixel.tif", np.arange(T, dtype=np.uint16).reshape(T, 1, 1) + 100)
    nan = good.astype(np.float32)
    nan[1] = np.nan
    _tif(m / "nan_frame.tif", nan)
    inf = good.astype(np.float32)
    inf[2] = np.inf
    _tif(m / "inf_frame.tif", inf)
    some = good.astype(np.float32)
    some[3, :5, :5] = np.nan
    _tif(m / "some_nan.tif", some)
    _tif(m / "all_nan.tif", np.full((T, Y, X), np.nan, np.float32))
    _tif(m / "constant.tif", np.full((T, Y, X), 7, np.uint16))
    _tif(m / "plain3d.tif", good, axes=None)
    _tif(m / "plain5d.tif", np.zeros((2, 2, 2, 8, 8), np.uint16), axes=None)
    write_labels_ome_zarr(m / "chunkless.ome.zarr", lab16)  # any OME-Zarr image will do
    (_zarr_chunks(m / "chunkless.ome.zarr")[-1]).unlink()
    for t in (0, 2):  # frame 1 missing
        _tif(m / "ctc_gap" / f"t{t:03d}.tif", good[t], axes=None)
    _tif(m / "ctc_shapes" / "t000.tif", good[0], axes=None)
    _tif(m / "ctc_shapes" / "t001.tif", good[1, :-4], axes=None)

    # label movies for `run MOVIE --labels`
    lb = c / "labels"
    lb.mkdir()
    _tif(lb / "float.tif", sim.labels.astype(np.float32))
    _tif(lb / "complex.tif", sim.labels.astype(np.complex64))
    _tif(lb / "bool.tif", sim.labels > 0)
    _tif(lb / "negative.tif", sim.labels.astype(np.int16) - 1)
    big = sim.labels.astype(np.uint32)
    big[big > 0] += np.uint32(2**31)
    _tif(lb / "beyond_int32.tif", big)
    big64 = sim.labels.astype(np.int64)
    big64[big64 > 0] += 2**40
    _tif(lb / "beyond_int32_int64.tif", big64)
    _tif(lb / "other_shape.tif", np.zeros((T, Y // 2, X), np.uint16))
    _tif(lb / "other_frames.tif", lab16[:-1])
    (lb / "empty.tif").write_bytes(b"")
    raw_l = (m / "movie.ome.tif").read_bytes()
    (lb / "truncated.tif").write_bytes(raw_l[: len(raw_l) // 2])
    write_labels_ome_zarr(lb / "chunkless.ome.zarr", lab16)
    (_zarr_chunks(lb / "chunkless.ome.zarr")[0]).unlink()
    for t in range(T):
        arr = lab16[t].astype(np.float32) if t == 1 else lab16[t]
        _tif(lb / "mask_folder_float" / f"mask{t:03d}.tif", arr, axes=None)

    # ground truth for `evaluate --gt`
    g = c / "gt"
    write_ctc_gt(g / "good", sim.labels, sim.table)
    variants = {
        "missing_column": ["1 0 3", "2 0 3", "3 0 3"],
        "unknown_parent": ["1 0 3 0", "2 0 3 0", "3 0 3 7"],
        "parent_cycle": ["1 0 3 2", "2 0 3 1", "3 0 3 0"],
        "child_before_parent_ends": ["1 0 3 0", "2 0 3 0", "3 1 3 1"],
        "table_lacks_a_mask_label": ["1 0 3 0", "2 0 3 0"],
    }
    for name, lines in variants.items():
        shutil.copytree(g / "good", g / name)
        _set_track_table(g / name / "TRA", "man_track.txt", lines)
    shutil.copytree(g / "good", g / "no_table")
    (g / "no_table" / "TRA" / "man_track.txt").unlink()
    shutil.copytree(g / "good", g / "no_tra")
    shutil.rmtree(g / "no_tra" / "TRA")
    (g / "empty_gt").mkdir()   # neither TRA/ nor SEG/ nor label images
    shutil.copytree(g / "good", g / "truncated_mask")
    f = g / "truncated_mask" / "TRA" / "man_track001.tif"
    f.write_bytes(f.read_bytes()[:50])
    other = simulate_movie(ndim=2, n_frames=T, shape=(32, 32), n_objects=2, rng=0)
    write_ctc_gt(g / "other_shape", other.labels, other.table)

    # run folders and CTC result folders
    r = c / "runs"
    _run_folder(m / "movie.ome.tif", r / "good")
    res = c / "res"
    shutil.copytree(r / "good" / "ctc", res / "good")
    for name, lines in {"malformed_table": ["1 0 3 0", "2 zero 3 0", "3 0"],
                        "table_lacks_a_mask_label": ["1 0 3 0"]}.items():
        shutil.copytree(res / "good", res / name)
        _set_track_table(res / name, "res_track.txt", lines)
    shutil.copytree(res / "good", res / "no_table")
    (res / "no_table" / "res_track.txt").unlink()

    def damaged(name: str) -> Path:
        shutil.copytree(r / "good", r / name)
        return r / name

    geff = damaged("geff_dangling_edge") / "tracks.geff"
    edges = zarr.open_array(str(geff / "edges" / "ids"), mode="r+")
    ids = np.asarray(edges[:])
    ids[0, 1] = 9999  # a node that does not exist
    edges[:] = ids
    (damaged("geff_missing_chunk") / "tracks.geff" / "nodes" / "props" / "t" / "values"
     / "0").unlink()
    (_zarr_chunks(damaged("labels_missing_chunk") / "labels.ome.zarr")[1]).unlink()
    p = damaged("objects_truncated") / "objects.parquet"
    p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])
    (damaged("objects_missing") / "objects.parquet").unlink()
    (damaged("no_run_json") / "run.json").unlink()
    (damaged("bad_run_json") / "run.json").write_text('{"source": "movie.ome.tif", ')

    # classifier labels for `train classifier --labels`
    k = c / "cls"
    k.mkdir()
    (k / "labels.csv").write_text("t,label,class\n0,1,a\n0,2,b\n1,1,a\n1,2,b\n")
    (k / "no_class.csv").write_text("t,label\n0,1\n0,2\n")
    (k / "empty.csv").write_bytes(b"")
    (k / "unknown_object.csv").write_text("t,label,class\n0,1,a\n0,77,b\n")
    _tif(k / "painted_float.tif", lab16.astype(np.float32))
    (k / "painted_empty.tif").write_bytes(b"")
    _tif(k / "painted_shape.tif", np.zeros((T, 8, 8), np.uint8))

    # image / mask folders for `train segment --images --masks`
    sg = c / "seg"
    for name in ("a", "b"):
        _tif(sg / "images" / f"{name}.tif", good[0], axes=None)
        _tif(sg / "masks" / f"{name}.tif", lab16[0], axes=None)
    for bad, write in {
        "images_zero_byte": lambda f: f.write_bytes(b""),
        "masks_truncated": lambda f: f.write_bytes(f.read_bytes()[:60]),
        "masks_float": lambda f: _tif(f, lab16[0].astype(np.float32), axes=None),
        "masks_bool": lambda f: _tif(f, lab16[0] > 0, axes=None),
        "masks_shape": lambda f: _tif(f, lab16[0, :20], axes=None),
    }.items():
        folder = sg / bad
        shutil.copytree(sg / bad.split("_")[0], folder)
        write(folder / "a.tif")
    return c


# ------------------------------------------------------------------------------ cases

_RUN = ("run", "--no-progress", "-o", "{out}")
_GOOD_MOVIE = "{c}/movie/movie.ome.tif"
_GOOD_RUN = "{c}/runs/good"


def _train(objects: str, labels: str) -> tuple[str, ...]:
    return ("train", "classifier", "--objects", objects, "--labels", labels, "-o", "{out}")


# (id, arguments, words the error line must contain: the problem and the fix)
CASES: list[tuple[str, tuple[str, ...], tuple[str, ...]]] = [
    # run MOVIE
    ("run-missing-file", (*_RUN, "{c}/movie/nope.tif"), ("nope.tif", "does not exist")),
    ("run-zero-byte-tiff", (*_RUN, "{c}/movie/empty.tif"), ("empty.tif", "0 bytes", "export")),
    ("run-header-cut-tiff", (*_RUN, "{c}/movie/header_cut.tif"), ("header_cut.tif",
                                                                 "truncated")),
    ("labels-header-cut-tiff", (*_RUN, _GOOD_MOVIE, "--labels", "{c}/movie/header_cut.tif"),
     ("header_cut.tif", "truncated")),
    ("run-truncated-tiff", (*_RUN, "{c}/movie/truncated.ome.tif"),
     ("truncated.ome.tif", "truncated", "export")),
    ("run-not-a-tiff", (*_RUN, "{c}/movie/notatiff.tif"), ("notatiff.tif", "export")),
    ("run-unsupported-type", (*_RUN, "{c}/movie/movie.bmp"), ("movie.bmp", ".tif")),
    ("run-vendor-format", (*_RUN, "{c}/movie/stage.nd2"), ("stage.nd2", "Nikon",
                                                           "OME-TIFF", "Bio-Formats")),
    ("run-broken-png", (*_RUN, "{c}/movie/movie.png"), ("movie.png", "PNG")),
    ("run-complex-movie", (*_RUN, "{c}/movie/complex.tif"), ("complex", "convert")),
    ("run-bool-movie", (*_RUN, "{c}/movie/bool.tif"), ("bool", "--labels")),
    ("run-zero-frames", (*_RUN, "{c}/movie/zero_frames.tif"), ("empty", "frames")),
    ("run-1x1-frames", (*_RUN, "{c}/movie/one_pixel.tif"), ("1 x 1", "--axes")),
    ("run-nan-frame", (*_RUN, "{c}/movie/nan_frame.tif"), ("nan", "frame 1", "export")),
    ("run-inf-frame", (*_RUN, "{c}/movie/inf_frame.tif"), ("inf", "frame 2")),
    ("run-all-nan", (*_RUN, "{c}/movie/all_nan.tif"), ("no finite value", "frame 0")),
    ("run-constant-movie", (*_RUN, "{c}/movie/constant.tif"), ("constant", "--channel")),
    ("run-ambiguous-axes", (*_RUN, "{c}/movie/plain3d.tif"), ("plain3d.tif", "--axes")),
    ("run-5d-without-axes", (*_RUN, "{c}/movie/plain5d.tif"), ("plain5d.tif", "--axes")),
    ("run-wrong-axes", (*_RUN, _GOOD_MOVIE, "--axes", "TZYX"), ("axes", "TYX")),
    ("run-unknown-axis-letter", (*_RUN, _GOOD_MOVIE, "--axes", "TQX"), ("axes", "TQX")),
    ("run-zarr-missing-chunk", (*_RUN, "{c}/movie/chunkless.ome.zarr"),
     ("chunkless.ome.zarr", "missing", "again")),
    ("run-ctc-frame-missing", (*_RUN, "{c}/movie/ctc_gap"), ("ctc_gap", "1", "missing")),
    ("run-ctc-frame-shapes", (*_RUN, "{c}/movie/ctc_shapes"), ("t001.tif", "shape")),
    # run MOVIE --labels
    ("labels-float", (*_RUN, _GOOD_MOVIE, "--labels", "{c}/labels/float.tif"),
     ("float.tif", "integer", "convert")),
    ("labels-complex", (*_RUN, _GOOD_MOVIE, "--labels", "{c}/labels/complex.tif"),
     ("complex.tif", "integer")),
    ("labels-bool", (*_RUN, _GOOD_MOVIE, "--labels", "{c}/labels/bool.tif"),
     ("bool.tif", "skimage.measure.label")),
    ("labels-negative", (*_RUN, _GOOD_MOVIE, "--labels", "{c}/labels/negative.tif"),
     ("negative.tif", ">= 0", "relabel")),
    ("labels-beyond-int32", (*_RUN, _GOOD_MOVIE, "--labels", "{c}/labels/beyond_int32.tif"),
     ("beyond_int32.tif", "2**31", "relabel")),
    ("labels-beyond-int32-int64",
     (*_RUN, _GOOD_MOVIE, "--labels", "{c}/labels/beyond_int32_int64.tif"),
     ("beyond_int32_int64.tif", "2**31", "relabel")),
    ("labels-other-shape", (*_RUN, _GOOD_MOVIE, "--labels", "{c}/labels/other_shape.tif"),
     ("shape", "frame for frame")),
    ("labels-other-frames", (*_RUN, _GOOD_MOVIE, "--labels", "{c}/labels/other_frames.tif"),
     ("shape", "frame for frame")),
    ("labels-zero-byte", (*_RUN, _GOOD_MOVIE, "--labels", "{c}/labels/empty.tif"),
     ("empty.tif", "0 bytes")),
    ("labels-truncated", (*_RUN, _GOOD_MOVIE, "--labels", "{c}/labels/truncated.tif"),
     ("truncated.tif", "truncated")),
    ("labels-missing", (*_RUN, _GOOD_MOVIE, "--labels", "{c}/labels/nope.tif"),
     ("nope.tif", "does not exist")),
    ("labels-zarr-missing-chunk",
     (*_RUN, _GOOD_MOVIE, "--labels", "{c}/labels/chunkless.ome.zarr"),
     ("chunkless.ome.zarr", "missing", "again")),
    ("labels-folder-float-mask",
     (*_RUN, _GOOD_MOVIE, "--labels", "{c}/labels/mask_folder_float"),
     ("mask001.tif", "integer")),
    # evaluate RESULTS --gt GT
    ("gt-missing-column", ("evaluate", _GOOD_RUN, "--gt", "{c}/gt/missing_column"),
     ("man_track.txt", "4 integers")),
    ("gt-unknown-parent", ("evaluate", _GOOD_RUN, "--gt", "{c}/gt/unknown_parent"),
     ("man_track.txt", "parents [7]")),
    ("gt-parent-cycle", ("evaluate", _GOOD_RUN, "--gt", "{c}/gt/parent_cycle"),
     ("man_track.txt", "parent")),
    ("gt-child-before-parent-ends",
     ("evaluate", _GOOD_RUN, "--gt", "{c}/gt/child_before_parent_ends"),
     ("man_track.txt", "before their parent ends")),
    ("gt-masks-disagree-with-table",
     ("evaluate", _GOOD_RUN, "--gt", "{c}/gt/table_lacks_a_mask_label"),
     ("man_track.txt", "label 3")),
    ("gt-no-track-table", ("evaluate", _GOOD_RUN, "--gt", "{c}/gt/no_table"),
     ("man_track.txt", "does not exist")),
    # (a GT folder with SEG/ but no TRA/ is scored on SEG: tests/test_cli.py)
    ("gt-empty-folder", ("evaluate", _GOOD_RUN, "--gt", "{c}/gt/empty_gt"),
     ("empty_gt", "TRA")),
    ("gt-truncated-mask", ("evaluate", _GOOD_RUN, "--gt", "{c}/gt/truncated_mask"),
     ("man_track001.tif", "truncated")),
    ("gt-other-shape", ("evaluate", _GOOD_RUN, "--gt", "{c}/gt/other_shape"),
     ("shape", "ground truth")),
    ("gt-missing", ("evaluate", _GOOD_RUN, "--gt", "{c}/gt/nope"), ("nope", "does not exist")),
    ("results-malformed-table", ("evaluate", "{c}/res/malformed_table", "--gt", "{c}/gt/good"),
     ("res_track.txt", "line 2, 3", "4 integers")),
    ("results-masks-disagree-with-table",
     ("evaluate", "{c}/res/table_lacks_a_mask_label", "--gt", "{c}/gt/good"),
     ("res_track.txt", "label 2")),
    ("results-no-track-table", ("evaluate", "{c}/res/no_table", "--gt", "{c}/gt/good"),
     ("res_track.txt", "does not exist")),
    ("results-missing", ("evaluate", "{c}/res/nope", "--gt", "{c}/gt/good"),
     ("nope", "celldyn run")),
    # report / plot / explain on a damaged run folder
    *[
        (f"{cmd}-{case}", (*args, f"{{c}}/runs/{case}", *extra), words)
        for cmd, args, extra in [
            ("report", ("report",), ()),
            ("plot", ("plot",), ("lineage",)),
            ("explain", ("explain", "--object", "0,1", "--cnn", "none"), ()),
        ]
        for case, words in [
            ("geff_dangling_edge", ("tracks.geff", "9999", "again")),
            ("geff_missing_chunk", ("tracks.geff", "missing", "again")),
            ("labels_missing_chunk", ("labels.ome.zarr", "missing", "again")),
            ("objects_truncated", ("objects.parquet", "again")),
            ("bad_run_json", ("run.json", "json")),
            ("nope", ("nope", "celldyn run")),
        ]
    ],
    ("report-objects-missing", ("report", "{c}/runs/objects_missing"),
     ("objects.parquet", "celldyn run")),
    ("plot-objects-missing", ("plot", "{c}/runs/objects_missing", "tracks"),
     ("objects.parquet", "celldyn run")),
    ("explain-no-run-json", ("explain", "{c}/runs/no_run_json", "--object", "0,1"),
     ("run.json", "--movie")),
    # train classifier
    ("train-objects-missing", _train("{c}/runs/nope/objects.parquet", "{c}/cls/labels.csv"),
     ("nope", "objects")),
    ("train-objects-truncated",
     _train("{c}/runs/objects_truncated/objects.parquet", "{c}/cls/labels.csv"),
     ("objects.parquet", "again")),
    ("train-labels-missing-chunk",
     _train("{c}/runs/labels_missing_chunk/objects.parquet", "{c}/cls/labels.csv"),
     ("labels.ome.zarr", "missing")),
    ("train-geff-dangling-edge",
     _train("{c}/runs/geff_dangling_edge/objects.parquet", "{c}/cls/labels.csv"),
     ("tracks.geff", "9999")),
    ("train-no-run-json",
     _train("{c}/runs/no_run_json/objects.parquet", "{c}/cls/labels.csv"),
     ("run.json", "--movie")),
    ("train-csv-without-class",
     _train(f"{_GOOD_RUN}/objects.parquet", "{c}/cls/no_class.csv"), ("class", "columns")),
    ("train-csv-empty", _train(f"{_GOOD_RUN}/objects.parquet", "{c}/cls/empty.csv"),
     ("empty.csv", "t,label,class")),
    ("train-csv-unknown-object",
     _train(f"{_GOOD_RUN}/objects.parquet", "{c}/cls/unknown_object.csv"),
     ("label=77", "not in the objects table")),
    ("train-painted-float",
     _train(f"{_GOOD_RUN}/objects.parquet", "{c}/cls/painted_float.tif"),
     ("painted_float.tif", "integer")),
    ("train-painted-zero-byte",
     _train(f"{_GOOD_RUN}/objects.parquet", "{c}/cls/painted_empty.tif"),
     ("painted_empty.tif", "0 bytes")),
    ("train-painted-other-shape",
     _train(f"{_GOOD_RUN}/objects.parquet", "{c}/cls/painted_shape.tif"),
     ("painted", "shape")),
    ("train-labels-missing", _train(f"{_GOOD_RUN}/objects.parquet", "{c}/cls/nope.csv"),
     ("nope.csv", "does not exist")),
]


def _train_commands() -> set[str]:
    from celldyn.cli.train import train

    return set(train.commands)


# `celldyn train tracker --gt` is checked once it exists (issue 8 covers every command)
TRACKER_CASES = [
    ("train-tracker-gt-missing-column", "missing_column", ("man_track.txt", "4 integers")),
    ("train-tracker-gt-unknown-parent", "unknown_parent", ("man_track.txt", "parents [7]")),
    ("train-tracker-gt-parent-cycle", "parent_cycle", ("man_track.txt", "parent")),
    ("train-tracker-gt-masks-disagree", "table_lacks_a_mask_label",
     ("man_track.txt", "label 3", "fix")),
    ("train-tracker-gt-no-table", "no_table", ("man_track.txt", "does not exist")),
    ("train-tracker-gt-no-tra", "no_tra", ("no_tra", "TRA")),
    ("train-tracker-gt-truncated-mask", "truncated_mask", ("man_track001.tif", "truncated")),
]
# `celldyn train segment --images --masks` likewise
SEGMENT_CASES = [
    ("train-segment-image-zero-byte", "images_zero_byte", "masks", ("a.tif", "0 bytes")),
    ("train-segment-mask-truncated", "images", "masks_truncated", ("a.tif", "truncated")),
    ("train-segment-mask-float", "images", "masks_float", ("a.tif", "integer", "convert")),
    ("train-segment-mask-bool", "images", "masks_bool", ("a.tif", "skimage.measure.label")),
    ("train-segment-mask-shape", "images", "masks_shape", ("a.tif", "shape")),
]
CASES += [
    (cid, ("train", "segment", "--images", f"{{c}}/seg/{img}", "--masks", f"{{c}}/seg/{msk}",
           "--out", "{out}", "--epochs", "1", "--iters", "1", "--no-progress"), words)
    for cid, img, msk, words in SEGMENT_CASES
]
CASES += [
    (cid, ("train", "tracker", "--gt", f"{{c}}/gt/{gt}", "--out", "{out}", "--epochs", "1"),
     words)
    for cid, gt, words in TRACKER_CASES
]


# ------------------------------------------------------------------------------- test


def _runner() -> CliRunner:
    try:
        return CliRunner(mix_stderr=False)  # click < 8.2
    except TypeError:
        return CliRunner()


def _tree(root: Path) -> dict[str, tuple[int, int]]:
    """Every path under `root` with its size and modification time."""
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in root.rglob("*")}


@pytest.mark.parametrize(("args", "words"), [pytest.param(a, w, id=i) for i, a, w in CASES])
def test_bad_input_is_one_line_exit_2_and_no_output(corpus, tmp_path, args, words):
    if args[0] == "train" and args[1] not in _train_commands():
        pytest.skip(f"celldyn train {args[1]} does not exist yet")
    out = tmp_path / "out"
    argv = [a.format(c=corpus, out=out) for a in args]
    before = _tree(corpus)
    r = _runner().invoke(main, argv, catch_exceptions=False)

    assert r.exit_code == 2, (r.exit_code, r.output, r.stderr)
    assert "Traceback" not in r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("Error:")]
    assert len(lines) == 1, r.stderr
    assert "\n" not in lines[0]
    for w in words:
        assert w.lower() in lines[0].lower(), (w, lines[0])
    # no output, no partial output, nothing in the corpus touched
    assert not out.exists()
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")]
    assert _tree(corpus) == before
    assert not [p for p in corpus.rglob("*") if ".tmp-" in p.name or ".partial" in p.name]


def test_corpus_run_folder_is_valid(corpus, tmp_path):
    """The damaged run folders are copies of one that every command accepts."""
    out = tmp_path / "fig"
    r = _runner().invoke(main, ["plot", str(corpus / "runs" / "good"), "lineage", "-o",
                                str(out)], catch_exceptions=False)
    assert r.exit_code == 0, r.stderr
    assert json.loads((corpus / "runs" / "good" / "run.json").read_text())["source"]


@pytest.mark.parametrize("case", ["run-truncated-tiff", "report-geff_dangling_edge"])
def test_in_a_real_process_stderr_is_exactly_one_line(corpus, tmp_path, case):
    """Outside click's test runner nothing else reaches stderr (no library log lines)."""
    args = next(a for i, a, _ in CASES if i == case)
    argv = [a.format(c=corpus, out=tmp_path / "out") for a in args]
    r = subprocess.run([sys.executable, "-c", "from celldyn.cli import main; main()", *argv],
                       check=False, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2, r.stderr
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("Error: "), r.stderr


def test_a_constant_movie_is_tracked_when_its_labels_are_given():
    """Nothing to segment is an error only when the run has to segment: with label
    images given the objects come from them (a warning says their intensities are
    constant)."""
    from celldyn.errors import InputError
    from celldyn.pipeline import run
    from celldyn.simulate import simulate_movie

    sim = simulate_movie(ndim=2, n_frames=4, shape=(40, 40), n_objects=3, rng=3)
    flat = np.full(sim.labels.shape, 7, np.uint16)
    with pytest.warns(UserWarning, match="intensities there are constant"):
        result = run(flat, labels=sim.labels, axes="TYX")
    per_frame = [len(np.unique(f)) - 1 for f in sim.labels]
    assert len(result.objects) == sum(per_frame) > 0
    with pytest.raises(InputError, match="nothing to segment"):
        run(flat, axes="TYX")


def test_run_fills_some_nan_pixels_with_the_frames_median(tmp_path):
    """A registered movie's empty border (NaN) is filled, said in one warning, and the
    run goes on: the objects away from the border are found as without it."""
    import tifffile
    from click.testing import CliRunner

    from celldyn.cli import main
    from celldyn.simulate import simulate_movie

    sim = simulate_movie(n_frames=4, shape=(96, 96), n_objects=5, rng=3)
    data = np.asarray(sim.movie.data, np.float32)
    clean_labels = np.asarray(sim.labels)
    border = np.zeros(data.shape[1:], bool)
    border[:, :6] = True
    keep = np.unique(clean_labels[:, :, :10])      # objects near the border: not compared
    data[:, border] = np.nan
    data[2, 50, 50] = np.inf
    tifffile.imwrite(tmp_path / "nan.tif", data, imagej=True, metadata={"axes": "TYX"})
    res = CliRunner().invoke(main, ["run", str(tmp_path / "nan.tif"), "--segmenter",
                                    "classical", "-o", str(tmp_path / "out"),
                                    "--no-progress"])
    assert res.exit_code == 0, res.output
    assert "frames [0, 1, 2, 3] hold NaN/Inf pixels" in res.output
    assert "filled with the median" in res.output
    from celldyn.io import read_labels

    found = np.asarray(read_labels(tmp_path / "out" / "labels.ome.zarr"))
    far = ~np.isin(clean_labels, keep) & (clean_labels > 0)
    assert (found[far] > 0).mean() > 0.9          # the objects away from the border


def test_fill_nonfinite_keeps_a_lazy_movie_lazy():
    da = pytest.importorskip("dask.array")
    from celldyn._validate import fill_nonfinite
    from celldyn.movie import Movie

    data = np.arange(2 * 4 * 4, dtype=np.float32).reshape(2, 4, 4)
    data[1, 0, 0] = np.nan
    filled = fill_nonfinite(Movie(da.from_array(data, chunks=(1, 4, 4)), "TYX"))
    assert hasattr(filled.data, "dask")
    out = np.asarray(filled.data)
    assert out[1, 0, 0] == np.median(data[1][np.isfinite(data[1])])
    np.testing.assert_array_equal(out[0], data[0])


def test_structure_gain_tells_noise_from_images():
    """The noise test's statistic: about 1 for independent noise of any level or size,
    far above for an image (a simulated movie's frame, a brightfield-like texture)."""
    from celldyn._validate import NOISE_GAIN, structure_gain
    from celldyn.simulate import simulate_movie

    rng = np.random.default_rng(0)
    for shape in ((64, 64), (200, 300), (1024, 512)):
        for noise in (rng.normal(100, 5, shape), rng.poisson(0.3, shape),
                      rng.integers(0, 256, shape)):
            assert 0.8 < structure_gain(noise) < 1.25
    frame = np.asarray(simulate_movie(n_frames=1, shape=(128, 128), rng=1).movie.data[0])
    assert structure_gain(frame) > 2 * NOISE_GAIN
    assert np.isnan(structure_gain(np.full((64, 64), 3.0)))   # constant: other checks
    assert np.isnan(structure_gain(rng.normal(size=(12, 400))))  # under 2 x 2 blocks


def test_a_noise_only_channel_is_warned_and_the_channel_with_cells_named(tmp_path):
    """An empty channel (camera noise only) picked by default is segmented into noise
    objects: the run says so and names the channel that holds the cells; picking that
    one gives no such warning."""
    from celldyn.simulate import simulate_movie

    sim = simulate_movie(n_frames=3, shape=(96, 96), n_objects=5, rng=3)
    cells = np.asarray(sim.movie.data, np.float32)
    noise = np.random.default_rng(1).poisson(50, cells.shape).astype(np.float32)
    path = tmp_path / "two.tif"
    tifffile.imwrite(path, np.stack([noise, cells], 1), imagej=True,
                     metadata={"axes": "TCYX"})
    base = ["run", str(path), "--segmenter", "classical", "--no-progress"]
    res = CliRunner().invoke(main, [*base, "-o", str(tmp_path / "a")])
    assert res.exit_code == 0, res.output
    assert "channel 0 shows no structure above pixel noise" in res.output
    assert "--channel 1" in res.output
    res = CliRunner().invoke(main, [*base, "--channel", "1", "-o", str(tmp_path / "b")])
    assert res.exit_code == 0, res.output
    assert "no structure" not in res.output
    tifffile.imwrite(tmp_path / "noise.tif", noise, imagej=True, metadata={"axes": "TYX"})
    res = CliRunner().invoke(main, ["run", str(tmp_path / "noise.tif"), "--segmenter",
                                    "classical", "--no-progress", "-o", str(tmp_path / "c")])
    assert res.exit_code == 0, res.output
    assert "the movie shows no structure above pixel noise" in res.output
    pytest.importorskip("torch")          # annotate-next proposes with the generalist
    res = CliRunner().invoke(main, ["annotate-next", str(path), "-n", "1", "--crop", "64",
                                    "-o", str(tmp_path / "ann"), "--no-progress"])
    assert res.exit_code == 0, res.output
    assert "channel 0 shows no structure" in res.output and "--channel 1" in res.output


def test_an_ambiguous_colour_stack_suggests_colour_axes(tmp_path):
    data = np.zeros((4, 32, 48, 3), np.uint8)
    tifffile.imwrite(tmp_path / "rgb.tif", data, photometric="rgb")
    res = CliRunner().invoke(main, ["run", str(tmp_path / "rgb.tif"), "-o",
                                    str(tmp_path / "o"), "--no-progress"])
    assert res.exit_code == 2
    assert "--axes TYXS" in res.output
