"""Denoise stage: each method improves PSNR on a synthetic noisy movie, learned
methods are deterministic, tiling matches whole-frame inference, bad input errors,
the noise model recovers known parameters, the CLI writes the same shape."""

from __future__ import annotations

import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio

from celldyn.denoise import (
    NoiseModel,
    denoise_movie,
    estimate_noise_model,
    train_denoiser,
)
from celldyn.errors import ConfigError, InputError

FAST = {"epochs": 2, "steps_per_epoch": 25, "batch_size": 8, "patch": 32}


def _clean(n_frames: int = 5, size: int = 64, shift: int = 1) -> np.ndarray:
    """Gaussian blobs drifting `shift` px per frame on a flat background."""
    yy, xx = np.mgrid[:size, :size]
    out = np.full((n_frames, size, size), 10.0)
    centres = [(0.3, 0.3), (0.6, 0.7), (0.25, 0.75), (0.75, 0.3)]
    for t in range(n_frames):
        for cy, cx in centres:
            out[t] += 100 * np.exp(-((yy - cy * size - shift * t) ** 2
                                     + (xx - cx * size) ** 2) / 50.0)
    return out


@pytest.fixture(scope="module")
def pair():
    clean = _clean()
    noisy = clean + np.random.default_rng(0).normal(scale=15, size=clean.shape)
    return clean, noisy


def _psnr(clean, x):
    return peak_signal_noise_ratio(clean, x, data_range=float(clean.max() - clean.min()))


@pytest.mark.parametrize("method", ["nlmeans", "tv", "n2v", "temporal"])
def test_each_method_improves_psnr(pair, method):
    clean, noisy = pair
    params = FAST if method in ("n2v", "temporal") else {}
    out = denoise_movie(noisy, method=method, seed=0, **params)
    assert out.shape == noisy.shape and out.dtype == np.float32
    assert _psnr(clean, out) > _psnr(clean, noisy) + 2.0


def test_wavelet_improves_psnr_or_names_pywavelets(pair):
    clean, noisy = pair
    try:
        import pywt  # noqa: F401
    except ImportError:
        from celldyn.errors import MissingDependencyError

        with pytest.raises(MissingDependencyError, match="PyWavelets"):
            denoise_movie(noisy, method="wavelet")
        return
    out = denoise_movie(noisy, method="wavelet")
    assert _psnr(clean, out) > _psnr(clean, noisy) + 2.0


@pytest.mark.parametrize("method", ["n2v", "temporal"])
def test_learned_is_deterministic_for_a_seed(pair, method):
    _, noisy = pair
    kw = {"method": method, "epochs": 1, "steps_per_epoch": 5, "batch_size": 4, "patch": 32}
    a = train_denoiser(noisy, seed=3, **kw)(noisy)
    b = train_denoiser(noisy, seed=3, **kw)(noisy)
    c = train_denoiser(noisy, seed=4, **kw)(noisy)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize(("method", "epochs"), [("n2v", 20), ("temporal", 10)])
def test_default_training_length_per_method(pair, method, epochs):
    # n2v's default was raised to 20 epochs on the validation frames of
    # benchmarks/denoising.py; temporal keeps 10; an explicit value still wins
    _, noisy = pair
    tiny = {"steps_per_epoch": 1, "batch_size": 2, "patch": 16}
    assert len(train_denoiser(noisy, method=method, **tiny).losses) == epochs
    assert len(train_denoiser(noisy, method=method, epochs=3, **tiny).losses) == 3


def test_tiled_inference_matches_whole_frame(pair):
    _, noisy = pair
    model = train_denoiser(noisy, method="n2v", epochs=1, steps_per_epoch=5,
                           batch_size=4, patch=32, seed=0)
    whole = model(noisy, tile=256)
    tiled = model(noisy, tile=56, overlap=24)  # 8 px tile centres: many tiles
    assert np.abs(whole - tiled).max() < 1e-3 * noisy.std()


def test_3d_movie_keeps_shape():
    clean = np.stack([_clean(3, 32)] * 4, axis=1)  # T, Z, Y, X
    noisy = clean + np.random.default_rng(1).normal(scale=15, size=clean.shape)
    tiny = {"epochs": 1, "steps_per_epoch": 3, "batch_size": 4, "patch": 16}
    for method, params in (("nlmeans", {}), ("tv", {}), ("n2v", tiny), ("temporal", tiny)):
        out = denoise_movie(noisy, method=method, **params)
        assert out.shape == noisy.shape and out.dtype == np.float32
        assert np.isfinite(out).all()


@pytest.mark.parametrize("method", ["nlmeans", "n2v", "temporal"])
@pytest.mark.parametrize("case", ["nan", "constant", "2d"])
def test_bad_input_is_one_line_input_error(pair, method, case):
    noisy = pair[1].copy()
    if case == "nan":
        noisy[1, 5, 5] = np.nan
    elif case == "constant":
        noisy[2] = 7.0
    else:
        noisy = noisy[0]
    with pytest.raises(InputError) as err:
        denoise_movie(noisy, method=method)
    assert "\n" not in str(err.value)


def test_temporal_needs_three_frames(pair):
    with pytest.raises(InputError, match="3 frames"):
        denoise_movie(pair[1][:2], method="temporal")


def test_unknown_method_is_config_error(pair):
    with pytest.raises(ConfigError, match="nlmeans"):
        denoise_movie(pair[1], method="bm3d")


@pytest.mark.parametrize("gain, offset", [(2.0, 9.0), (0.5, 25.0), (5.0, 4.0)])
def test_noise_model_recovers_simulated_parameters(gain, offset):
    clean = np.stack([_clean(1, 256, 0)[0] * 2 + np.linspace(0, 60, 256)] * 3)
    noisy = NoiseModel(gain, offset).add_noise(clean, rng=7)
    est = estimate_noise_model(noisy)
    assert est.gain == pytest.approx(gain, rel=0.1)
    # the offset is the small intercept of the fit: checked on the noise variance at
    # the darkest level instead, where it matters most
    dark = float(clean.min())
    assert est.variance(dark) == pytest.approx(gain * dark + offset, rel=0.15)


def _dim_scene(seed: int, n_frames: int = 8, size: int = 256) -> np.ndarray:
    """Photon-starved frames: 0.2 photons of background, sparse round objects about 2
    photons above it (like HeLa frames at a peak of ~10 photons)."""
    from scipy import ndimage as ndi

    rng = np.random.default_rng(seed)
    frames = []
    for _ in range(n_frames):
        spots = np.zeros((size, size))
        yx = rng.integers(0, size, size=(40, 2))
        spots[yx[:, 0], yx[:, 1]] = 1
        disks = ndi.binary_dilation(spots, iterations=8).astype(float)
        frames.append(0.2 + 2.0 * ndi.gaussian_filter(disks, 2))
    return np.stack(frames)


@pytest.mark.parametrize("gain, offset", [(1.0, 4.0), (2.5, 30.0)])
def test_noise_model_on_a_dim_movie(gain, offset):
    """A few photons under a read noise of sigma 2-3.5 photons: the mean levels of the
    blocks spread little more than the noise of a block mean. Grouping blocks by their
    own noisy mean gave a gain ~0.7 of the truth here (regression dilution); the
    estimate groups by the neighbours' mean and stays within 15 %."""
    clean = _dim_scene(3) * gain            # photons -> camera units
    noisy = NoiseModel(gain, offset).add_noise(clean, rng=11)
    est = estimate_noise_model(noisy)
    assert est.gain == pytest.approx(gain, rel=0.15)
    assert est.offset == pytest.approx(offset, rel=0.05)


def test_cli_writes_same_shape_tiff_and_zarr(tmp_path, pair):
    import tifffile
    from click.testing import CliRunner

    from celldyn.cli.main import main
    from celldyn.io import read_movie

    src = tmp_path / "movie.tif"
    tifffile.imwrite(src, np.clip(pair[1], 0, None).astype(np.uint16), imagej=True,
                     metadata={"axes": "TYX"})
    runner = CliRunner()
    for out, args in ((tmp_path / "den.ome.zarr", []),
                      (tmp_path / "den.tif", ["--method", "n2v", "--epochs", "1",
                                              "--no-progress"])):
        res = runner.invoke(main, ["denoise", str(src), "-o", str(out), *args])
        assert res.exit_code == 0, res.output
        m = read_movie(out)
        assert m.axes == "TYX" and m.data.shape == pair[1].shape
        assert m.data.dtype == np.float32
    res = runner.invoke(main, ["denoise", str(src), "-o", str(tmp_path / "den.tif")])
    assert res.exit_code == 2 and "already exists" in res.output


@pytest.mark.parametrize("case, says", [("nan", "NaN"), ("constant", "constant")])
def test_cli_bad_movie_is_one_line_exit_2(tmp_path, pair, case, says):
    import tifffile
    from click.testing import CliRunner

    from celldyn.cli.main import main

    bad = pair[1].astype(np.float32)
    if case == "nan":
        bad[0, 3, 3] = np.nan
    else:
        bad[1] = 5.0
    src = tmp_path / f"{case}.tif"
    tifffile.imwrite(src, bad, imagej=True, metadata={"axes": "TYX"})
    out = tmp_path / "den.tif"
    res = CliRunner().invoke(main, ["denoise", str(src), "-o", str(out)])
    assert res.exit_code == 2
    assert says in res.output and res.output.strip().count("\n") == 0
    assert "Traceback" not in res.output
    assert not out.exists()


def test_cli_keeps_channels_and_z(tmp_path):
    from click.testing import CliRunner

    from celldyn.cli.main import main
    from celldyn.io import read_movie, write_ome_zarr
    from celldyn.movie import Movie

    clean = np.stack([_clean(2, 32)] * 3, axis=1)            # T, Z, Y, X
    data = np.stack([clean, 2 * clean], axis=1)               # T, C, Z, Y, X
    data = data + np.random.default_rng(2).normal(scale=10, size=data.shape)
    src = tmp_path / "in.ome.zarr"
    write_ome_zarr(src, Movie(data.astype(np.float32), "TCZYX", spacing=(1.0, 0.5, 0.5)))
    out = tmp_path / "out.ome.zarr"
    res = CliRunner().invoke(main, ["denoise", str(src), "-o", str(out), "--method", "tv"])
    assert res.exit_code == 0, res.output
    m = read_movie(out)
    assert m.axes == "TCZYX" and m.data.shape == data.shape
    assert m.spacing == (1.0, 0.5, 0.5)
    den = np.asarray(m.data)
    # channels are denoised separately: channel 1 stays about twice channel 0
    assert abs(float(den[:, 1].mean() / den[:, 0].mean()) - 2.0) < 0.1


def test_segmentation_augmentation_reproduces_the_estimated_noise():
    """Estimate a movie's noise, bring it to normalised units, let the segmentation
    augmentation add it: a flat normalised image gets the movie's variance back."""
    from celldyn.segment.deep.augment import AugmentConfig, augment_intensity

    gain, offset = 2.0, 9.0
    clean = np.stack([np.tile(np.linspace(20, 220, 256), (256, 1))] * 3)
    noisy = NoiseModel(gain, offset).add_noise(clean, rng=1)
    low, high = np.percentile(noisy, [1.0, 99.8])
    norm = estimate_noise_model(noisy).rescaled(low, high)
    config = AugmentConfig(gamma=(1.0, 1.0), blur_p=0.0, noise_p=1.0,
                           intensity_scale=(1.0, 1.0), intensity_offset=0.0,
                           noise_model=(norm.gain, norm.offset))
    for level in (40.0, 180.0):
        flat = np.full((128, 128), (level - low) / (high - low), np.float32)
        out = augment_intensity(flat, np.random.default_rng(0), config)
        raw_var = float(out.var()) * (high - low) ** 2
        assert raw_var == pytest.approx(gain * level + offset, rel=0.15)
    # without a noise model the default random-level noise is unchanged by the option
    img = np.full((32, 32), 0.5, np.float32)
    a = augment_intensity(img, np.random.default_rng(5), AugmentConfig())
    b = augment_intensity(img, np.random.default_rng(5), AugmentConfig(noise_model=None))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, augment_intensity(img, np.random.default_rng(5), config))
