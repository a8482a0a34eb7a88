"""``celldyn train segment``: a tiny run writes a loadable model folder; resume; fine-tune."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from click.testing import CliRunner

from celldyn.cli import main


@pytest.fixture(scope="module")
def folders(tmp_path_factory, sim2d):
    import tifffile

    d = tmp_path_factory.mktemp("seg")
    (d / "img").mkdir()
    (d / "SEG").mkdir()
    for t in range(4):          # CTC names: tNNN.tif + man_segNNN.tif
        tifffile.imwrite(d / "img" / f"t{t:03d}.tif", np.asarray(sim2d.movie.data[t]))
        tifffile.imwrite(d / "SEG" / f"man_seg{t:03d}.tif", sim2d.labels[t].astype(np.uint16))
    return d


def _args(d, out, *extra):
    return ["train", "segment", "--images", str(d / "img"), "--masks", str(d / "SEG"),
            "--out", str(out), "--epochs", "2", "--iters", "2", "--batch", "2", "--crop", "32",
            "--base", "4", "--depth", "2", "--no-progress", *extra]


def test_train_segment_cli(folders):
    torch.set_num_threads(2)
    out = folders / "model"
    r = CliRunner().invoke(main, _args(folders, out))
    assert r.exit_code == 0, r.output
    assert "validation AP@0.5" in r.output and "wrote" in r.output
    for name in ("weights.pt", "config.json", "thresholds.json", "CARD.md",
                 "checkpoints/last.pt"):
        assert (out / name).is_file(), name
    card = (out / "CARD.md").read_text()
    assert "celldyn train segment" in card and "seed 0" in card
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["training"]["val"] and cfg["training"]["train"]

    from celldyn.segment.deep import load_segmenter, segment_movie_deep

    model = load_segmenter(out)
    labels = segment_movie_deep(np.stack([folders_img(folders, 0)]), model=model, diameter=None)
    assert labels.dtype == np.int32 and labels.shape == (1, 64, 64)

    # resume: the finished run continues from its last epoch and gives the same weights
    r2 = CliRunner().invoke(main, _args(folders, folders / "model2", "--checkpoint-dir",
                                        str(out / "checkpoints"), "--resume"))
    assert r2.exit_code == 0, r2.output
    a = torch.load(out / "weights.pt", weights_only=True)
    b = torch.load(folders / "model2" / "weights.pt", weights_only=True)
    assert all(torch.equal(a[k], b[k]) for k in a)

    # fine-tune the model just written
    r3 = CliRunner().invoke(main, _args(folders, folders / "ft", "--init", str(out),
                                        "--epochs", "1"))
    assert r3.exit_code == 0, r3.output
    assert "fine-tuned" in (folders / "ft" / "CARD.md").read_text()


def test_fine_tuned_model_sizes_objects_as_its_initialisation(folders):
    # the generalist's scale probe (zooms 1/8 to 4, crop bounds) passes to a model
    # fine-tuned from it; a model trained from scratch on pairs keeps the default probe
    from celldyn.segment.deep import load_segmenter

    torch.set_num_threads(2)
    out = folders / "ft_generalist"
    r = CliRunner().invoke(main, _args(folders, out, "--init", "generalist2d", "--epochs", "1"))
    assert r.exit_code == 0, r.output
    cfg = json.loads((out / "config.json").read_text())
    init = load_segmenter("generalist2d").config
    for key in ("probe_zooms", "probe_crop", "probe_max_input", "probe_min_input"):
        assert cfg[key] == init[key], key


def test_train_segment_noise_from_movie(folders, tmp_path):
    """--noise-from: the movie's noise model, in normalised units, is the noise
    augmentation recorded in the model folder."""
    import tifffile

    from celldyn.denoise import NoiseModel

    clean = np.stack([np.tile(np.linspace(20, 220, 128), (128, 1))] * 2)
    movie = NoiseModel(2.0, 9.0).add_noise(clean, rng=0)
    src = tmp_path / "noisy.tif"
    tifffile.imwrite(src, movie, imagej=True, metadata={"axes": "TYX"})
    out = tmp_path / "model"
    r = CliRunner().invoke(main, _args(folders, out, "--epochs", "1", "--noise-from",
                                       str(src)))
    assert r.exit_code == 0, r.output
    assert "noise model of noisy.tif" in r.output
    aug = json.loads((out / "config.json").read_text())["training"]["config"]["augment"]
    gain, offset = aug["noise_model"]
    low, high = np.percentile(movie, [1.0, 99.8])
    assert gain * (high - low) == pytest.approx(2.0, rel=0.15)   # back in movie units
    assert offset > 0
    assert aug["invert_p"] == 0.0


def test_train_segment_invert_p_is_recorded(folders, tmp_path):
    """--invert-p: the share of contrast-inverted crops is the augmentation recorded."""
    out = tmp_path / "model"
    r = CliRunner().invoke(main, _args(folders, out, "--epochs", "1", "--invert-p", "0.5"))
    assert r.exit_code == 0, r.output
    aug = json.loads((out / "config.json").read_text())["training"]["config"]["augment"]
    assert aug["invert_p"] == 0.5
    bad = CliRunner().invoke(main, _args(folders, tmp_path / "m2", "--invert-p", "2"))
    assert bad.exit_code == 2 and "--invert-p" in bad.output
    split_file = tmp_path / "splits.py"
    split_file.write_text("")
    one_set = CliRunner().invoke(main, ["train", "segment", "--splits", str(split_file),
                                        "--set", "x", "--out", str(tmp_path / "m3"),
                                        "--invert-p", "0.5"])
    assert one_set.exit_code != 0 and "--invert-p applies" in one_set.output
    assert "Traceback" not in one_set.output


def folders_img(d, t):
    import tifffile

    return tifffile.imread(d / "img" / f"t{t:03d}.tif")


def test_train_segment_cli_errors(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    r = CliRunner().invoke(main, ["train", "segment", "--images", str(tmp_path / "a"),
                                  "--masks", str(tmp_path / "b"), "--out", str(tmp_path / "m")])
    assert r.exit_code == 2 and "no image files" in r.output


def test_train_segment_device_cuda_without_gpu_is_one_line(folders, tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA GPU is present")
    r = CliRunner().invoke(main, _args(folders, tmp_path / "m", "--device", "cuda"))
    assert r.exit_code == 2, r.output
    assert "no CUDA GPU" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "m" / "weights.pt").exists()


def test_pairs_read_cellpose_layouts_png_masks_and_colour_images(tmp_path, sim2d):
    """The layouts users bring: Cellpose's (X.tif and X_cp_masks.png in one folder),
    masks as PNG in their own folder, a colour image among grey ones (read as the mean
    of its colours, as the models were trained); the same pairs either way."""
    import imageio.v3 as iio
    import tifffile

    from celldyn.cli.train_segment import _pairs

    one, img, msk = tmp_path / "one", tmp_path / "img", tmp_path / "msk"
    for d in (one, img, msk):
        d.mkdir()
    frames = [np.asarray(sim2d.movie.data[t]) for t in range(3)]
    for t, frame in enumerate(frames):
        im = frame if t else np.stack([frame] * 3, -1)            # image 0 in colour
        lab = sim2d.labels[t].astype(np.uint16)
        tifffile.imwrite(one / f"cell{t}.tif", im)
        iio.imwrite(one / f"cell{t}{'_cp_masks' if t else '_masks'}.png", lab)
        tifffile.imwrite(img / f"cell{t}.tif", im)
        iio.imwrite(msk / f"cell{t}.png", lab)
    a, b = _pairs(one, one), _pairs(img, msk)
    from celldyn.errors import InputError

    with pytest.raises(InputError, match="no file is named as a mask"):
        _pairs(img, img)                       # images alone: never their own masks
    assert [p[0] for p in a] == [p[0] for p in b] == ["cell0", "cell1", "cell2"]
    for (_, ia, la), (_, ib, lb), frame, t in zip(a, b, frames, range(3)):
        assert ia.shape == frame.shape and la.shape == frame.shape
        np.testing.assert_allclose(ia, frame)     # colour: the mean of equal channels
        np.testing.assert_array_equal(ia, ib)
        np.testing.assert_array_equal(la, sim2d.labels[t])
        np.testing.assert_array_equal(la, lb)
