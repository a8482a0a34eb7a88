"""CTC folders: raw frames, label masks, track tables, result and GT export."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import tifffile

from celldyn.errors import FileFormatError, InputError
from celldyn.io import (
    read_ctc_gt,
    read_ctc_movie,
    read_ctc_result,
    read_label_folder,
    read_label_frames,
    read_labels,
    read_movie,
    read_track_table,
    write_ctc_gt,
    write_ctc_result,
)

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def _data(name: str) -> Path:
    p = DATA / name
    if not p.exists():
        pytest.skip(f"real data not found at {p}")
    return p


def _tracked(n_frames=4, shape=(16, 16)):
    """Known labels: track 1 divides into 2 and 3 at frame 2; track 4 appears at 1."""
    labels = np.zeros((n_frames, *shape), np.int32)
    labels[:2, 2:5, 2:5] = 1
    labels[2:, 1:3, 1:3] = 2
    labels[2:, 5:7, 5:7] = 3
    labels[1:, 10:13, 10:13] = 4
    table = pd.DataFrame(
        [
            [1, 0, 1, 0],
            [2, 2, n_frames - 1, 1],
            [3, 2, n_frames - 1, 1],
            [4, 1, n_frames - 1, 0],
        ],
        columns=["label", "begin", "end", "parent"],
    )
    return labels, table


def _write_frames(folder: Path, prefix: str, frames: dict[int, np.ndarray], width=3):
    folder.mkdir(parents=True, exist_ok=True)
    for t, a in frames.items():
        tifffile.imwrite(
            folder / f"{prefix}{t:0{width}d}.tif", a, photometric="minisblack"
        )


@pytest.mark.parametrize("shape", [(6, 7), (3, 6, 7)], ids=["2d", "3d"])
def test_read_ctc_movie(tmp_path, shape):
    rng = np.random.default_rng(0)
    frames = {t: rng.integers(0, 255, shape, dtype=np.uint8) for t in range(5)}
    _write_frames(tmp_path / "01", "t", frames)
    m = read_ctc_movie(tmp_path / "01")
    assert m.axes == ("TYX" if len(shape) == 2 else "TZYX")
    np.testing.assert_array_equal(m.data, np.stack(list(frames.values())))
    sub = read_ctc_movie(tmp_path / "01", frames=slice(1, 3))
    np.testing.assert_array_equal(sub.data, np.stack([frames[1], frames[2]]))
    assert sub.metadata["frames"] == [1, 2]
    assert read_movie(tmp_path / "01", spacing=(1.0,) * len(shape)).spacing is not None


def test_ctc_movie_sorted_by_number_4_digits(tmp_path):
    frames = {t: np.full((4, 4), t, np.uint8) for t in range(12)}
    _write_frames(tmp_path / "01", "t", frames, width=4)
    m = read_ctc_movie(tmp_path / "01")
    assert m.data[:, 0, 0].tolist() == list(range(12))


def test_ctc_movie_missing_frame(tmp_path):
    frames = {t: np.zeros((4, 4), np.uint8) for t in (0, 1, 3, 4)}
    _write_frames(tmp_path / "01", "t", frames)
    with pytest.raises(FileFormatError, match="image frames 2 are missing"):
        read_ctc_movie(tmp_path / "01")


def test_ctc_movie_shape_mismatch(tmp_path):
    _write_frames(
        tmp_path / "01",
        "t",
        {0: np.zeros((4, 4), np.uint8), 1: np.zeros((5, 4), np.uint8)},
    )
    with pytest.raises(FileFormatError, match="same shape"):
        read_ctc_movie(tmp_path / "01")


def test_ctc_result_round_trip(tmp_path):
    labels, table = _tracked()
    out = tmp_path / "01_RES"
    write_ctc_result(out, labels, table)
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "mask000.tif",
        "mask001.tif",
        "mask002.tif",
        "mask003.tif",
        "res_track.txt",
    ]
    assert tifffile.imread(out / "mask000.tif").dtype == np.uint16
    back = read_label_folder(out)
    assert back.dtype == np.int32
    np.testing.assert_array_equal(back, labels)
    pd.testing.assert_frame_equal(
        read_track_table(out / "res_track.txt"), table.astype(np.int64)
    )
    np.testing.assert_array_equal(read_labels(out), labels)
    res_labels, res_table = read_ctc_result(out)
    np.testing.assert_array_equal(res_labels, labels)
    assert res_table["label"].tolist() == [1, 2, 3, 4]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_ctc_result_uint32_for_large_ids(tmp_path):
    labels, table = _tracked()
    labels[labels == 4] = 70000
    table.loc[table["label"] == 4, "label"] = 70000
    write_ctc_result(tmp_path / "r", labels, table)
    assert tifffile.imread(tmp_path / "r" / "mask003.tif").dtype == np.uint32
    np.testing.assert_array_equal(read_label_folder(tmp_path / "r"), labels)


def test_ctc_result_4_digits(tmp_path):
    labels = np.zeros((1000, 2, 2), np.int32)
    table = pd.DataFrame(columns=["label", "begin", "end", "parent"])
    write_ctc_result(tmp_path / "r", labels, table)
    assert (tmp_path / "r" / "mask0999.tif").exists()


def test_ctc_result_rejects_inconsistent(tmp_path):
    labels, table = _tracked()
    with pytest.raises(InputError, match="label 4 at frame 1"):
        write_ctc_result(tmp_path / "r", labels, table[table["label"] != 4])
    with pytest.raises(InputError, match="integer"):
        write_ctc_result(tmp_path / "r", labels.astype(float), table)
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("ndim", [2, 3], ids=["2d", "3d"])
def test_ctc_gt_round_trip(tmp_path, ndim):
    labels, table = _tracked()
    if ndim == 3:
        labels = np.stack([labels, labels], axis=1)
    write_ctc_gt(tmp_path / "01_GT", labels, table, seg_frames=[0, 2])
    assert sorted(p.name for p in (tmp_path / "01_GT" / "SEG").iterdir()) == [
        "man_seg000.tif",
        "man_seg002.tif",
    ]
    tra, tab, seg = read_ctc_gt(tmp_path / "01_GT")
    np.testing.assert_array_equal(tra, labels)
    assert tab["parent"].tolist() == [0, 1, 1, 0]
    assert sorted(seg) == [0, 2]
    np.testing.assert_array_equal(seg[2], labels[2])
    frames = read_label_frames(tmp_path / "01_GT" / "SEG")
    assert list(frames) == [0, 2]
    with pytest.raises(FileFormatError, match="label frames 1 are missing"):
        read_label_folder(tmp_path / "01_GT" / "SEG")


def test_ctc_gt_explicit_seg_masks(tmp_path):
    labels, table = _tracked()
    seg = {1: (labels[1] > 0).astype(np.uint8)}
    write_ctc_gt(tmp_path / "gt", labels, table, seg_frames=seg)
    _, _, back = read_ctc_gt(tmp_path / "gt")
    np.testing.assert_array_equal(back[1], seg[1])


def test_track_table_malformed_lines(tmp_path):
    f = tmp_path / "man_track.txt"
    f.write_text("1 0 4 0\n2 5 9\n\n3 5 9 one\n")
    with pytest.raises(
        FileFormatError, match=r"man_track\.txt: 2 malformed line\(s\) \(line 2, 4\)"
    ):
        read_track_table(f)


def test_track_table_unknown_parent(tmp_path):
    f = tmp_path / "res_track.txt"
    f.write_text("1 0 4 0\n2 5 9 7\n")
    with pytest.raises(
        FileFormatError, match=r"res_track\.txt: invalid track table: parents \[7\]"
    ):
        read_track_table(f)


def test_track_table_missing_and_empty(tmp_path):
    with pytest.raises(FileFormatError, match="does not exist"):
        read_track_table(tmp_path / "man_track.txt")
    (tmp_path / "e.txt").write_text("")
    assert len(read_track_table(tmp_path / "e.txt")) == 0


def test_label_folder_errors(tmp_path):
    with pytest.raises(FileFormatError, match="no label files"):
        read_label_frames(tmp_path)
    _write_frames(tmp_path / "f", "mask", {0: np.zeros((3, 3), np.float32)})
    with pytest.raises(FileFormatError, match="must be integers"):
        read_label_frames(tmp_path / "f")


@pytest.mark.real_data
def test_real_ctc_2d_gowt1():
    """Fluo-N2DH-GOWT1-01: 2D uint8 frames (LZW) and its TRA/SEG ground truth."""
    root = _data("Fluo-N2DH-GOWT1-01")
    m = read_ctc_movie(root / "01", frames=slice(0, 3))
    assert (
        m.axes == "TYX" and m.data.shape == (3, 1024, 1024) and m.data.dtype == np.uint8
    )
    table = read_track_table(root / "01_GT" / "TRA" / "man_track.txt")
    assert len(table) == 27 and (table["parent"] > 0).sum() == 4
    seg = read_label_frames(root / "01_GT" / "SEG")
    assert len(seg) == 30 and min(seg) == 2 and max(seg) == 47
    assert all(a.dtype == np.int32 and a.shape == (1024, 1024) for a in seg.values())


@pytest.mark.real_data
def test_real_ctc_3d_cho():
    """Fluo-N3DH-CHO-02-subset: 3D Z-stacks (5x443x512) and ERR_SEG masks."""
    root = _data("Fluo-N3DH-CHO-02-subset")
    m = read_ctc_movie(root / "02", frames=[0, 1])
    assert m.axes == "TZYX" and m.data.shape == (2, 5, 443, 512)
    masks = read_label_frames(root / "02_ERR_SEG")
    assert len(masks) == 20 and masks[0].shape == (5, 443, 512)
    assert 8 <= len(np.unique(masks[0])) - 1 <= 11


@pytest.mark.real_data
def test_real_ctc_result_ecoli():
    """PhC-C2DL-EcoliColony-vanVliet-01: predicted RES (ZSTD masks + res_track.txt)."""
    root = _data("PhC-C2DL-EcoliColony-vanVliet-01")
    table = read_track_table(root / "01_RES" / "res_track.txt")
    assert len(table) > 0
    frames = read_label_frames(root / "01_RES")
    assert len(frames) == 40 and frames[0].shape == (1305, 1009)


def test_ctc_result_without_the_pixel_check_writes_the_same_files(tmp_path):
    labels, table = _tracked()
    write_ctc_result(tmp_path / "a", labels, table)
    write_ctc_result(tmp_path / "b", labels, table, check=False)
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "b").iterdir()) and len(names) > 2
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    # the shape and dtype checks stay: only the frame-by-frame pass is skipped
    with pytest.raises(InputError, match="integer"):
        write_ctc_result(tmp_path / "c", labels.astype(float), table, check=False)
