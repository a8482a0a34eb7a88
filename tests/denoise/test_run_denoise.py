"""`celldyn run --denoise` / ``run(..., denoise=...)``: segmentation sees the denoised
movie, measurement the raw one; the choice is validated, recorded and replayed."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from click.testing import CliRunner

from celldyn.cli import main
from celldyn.config import RunConfig
from celldyn.errors import ConfigError
from celldyn.pipeline import run
from celldyn.simulate import simulate_movie


@pytest.fixture(scope="module")
def noisy():
    sim = simulate_movie(ndim=2, n_frames=4, shape=(64, 64), n_objects=5, rng=3)
    rng = np.random.default_rng(0)
    data = sim.movie.data.astype(np.float32)
    scale = float(data.max() - data.min())
    noise = rng.normal(0, 0.35 * scale, data.shape)
    return sim, dataclasses.replace(sim.movie, data=(data + noise).astype(np.float32))


def test_unknown_denoise_method_is_a_config_error():
    with pytest.raises(ConfigError, match="denoise must be one of"):
        RunConfig(denoise="median")


def test_denoised_segmentation_raw_intensities(noisy):
    sim, movie = noisy
    plain = run(movie)
    cleaned = run(movie, denoise="tv")
    assert cleaned.labels.shape == sim.labels.shape
    # denoising changes what is segmented ...
    assert not np.array_equal(np.asarray(plain.labels), np.asarray(cleaned.labels))
    # ... while the intensities are measured on the raw movie: a single object's mean
    # intensity equals the raw pixels under its mask
    row = cleaned.objects.iloc[0]
    frame = np.asarray(cleaned.labels[int(row["t"])])
    mask = frame == int(row["label"])
    assert np.isclose(row["intensity_mean"], np.asarray(movie.data[int(row["t"])])[mask].mean(),
                      rtol=1e-5)


def test_cli_records_and_replays_denoise(noisy, tmp_path):
    from celldyn.io import write_tiff

    _, movie = noisy
    write_tiff(tmp_path / "m.ome.tif", movie)
    runner = CliRunner()
    out = tmp_path / "res"
    r = runner.invoke(main, ["run", str(tmp_path / "m.ome.tif"), "--denoise", "tv", "-o",
                             str(out), "--no-progress"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    record = json.loads((out / "run.json").read_text())
    assert record["inputs"]["denoise"] == "tv" and record["config"]["denoise"] == "tv"
    again = tmp_path / "again"
    r = runner.invoke(main, ["run", "--config", str(out / "run.json"), "-o", str(again),
                             "--no-progress"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert json.loads((again / "run.json").read_text())["config"]["denoise"] == "tv"
    r = runner.invoke(main, ["run", str(tmp_path / "m.ome.tif"), "--denoise", "median",
                             "-o", str(tmp_path / "x")])
    assert r.exit_code == 2 and "median" in r.output


@pytest.mark.parametrize("case, says", [("all-nan", "no finite value"),
                                        ("constant", "constant")])
def test_cli_run_denoise_bad_movie_is_one_line(noisy, tmp_path, case, says):
    import tifffile

    data = np.asarray(noisy[1].data, np.float32).copy()
    if case == "all-nan":   # a frame with some NaN is filled (test_bad_inputs.py)
        data[1] = np.nan
    else:
        data[2] = 3.0
    src = tmp_path / f"{case}.tif"
    tifffile.imwrite(src, data, imagej=True, metadata={"axes": "TYX"})
    out = tmp_path / "res"
    r = CliRunner().invoke(main, ["run", str(src), "--denoise", "tv", "-o", str(out),
                                  "--no-progress"])
    assert r.exit_code == 2, r.output
    errors = [line for line in r.output.splitlines() if line.startswith("Error")]
    assert len(errors) == 1 and says in errors[0], r.output   # (a metadata warning may
    assert "Traceback" not in r.output and not out.exists()    # come before it)


def test_resume_fingerprint_follows_the_learned_denoisers_defaults(noisy, monkeypatch):
    """A resumed run must not reuse frames denoised under other defaults: the cache key
    holds a learned denoiser's training length and n2v's context; runs without a
    denoiser, or with a classical one, keep the key they had."""
    from celldyn.denoise import learned
    from celldyn.pipeline import fingerprint

    _, movie = noisy
    keys = {m: fingerprint(movie, RunConfig(denoise=m)) for m in (None, "nlmeans", "n2v",
                                                                   "temporal")}
    assert len(set(keys.values())) == 4
    assert RunConfig(denoise="nlmeans").denoise_settings == "nlmeans"
    assert RunConfig().denoise_settings is None
    monkeypatch.setattr(learned, "DEFAULT_CONTEXT", learned.DEFAULT_CONTEXT + 1)
    assert fingerprint(movie, RunConfig(denoise="n2v")) != keys["n2v"]
    assert fingerprint(movie, RunConfig(denoise="temporal")) == keys["temporal"]
    assert fingerprint(movie, RunConfig(denoise="nlmeans")) == keys["nlmeans"]
    assert fingerprint(movie, RunConfig()) == keys[None]
    monkeypatch.setitem(learned.DEFAULT_EPOCHS, "temporal", 99)
    assert fingerprint(movie, RunConfig(denoise="temporal")) != keys["temporal"]
