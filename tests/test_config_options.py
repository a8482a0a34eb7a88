"""RunConfig is the one place a run parameter is declared (issue 14, item 4): the
options of `celldyn run`, the RunConfig made from them, run.json's "inputs" and the
--config replay are derived from its fields."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field

import click
import pytest

from celldyn.cli import main
from celldyn.cli._common import config_options
from celldyn.config import RunConfig, cli_option, run_options
from celldyn.errors import ConfigError


def _invoke(*args):
    from click.testing import CliRunner

    try:
        runner = CliRunner(mix_stderr=False)
    except TypeError:
        runner = CliRunner()
    return runner.invoke(main, [str(a) for a in args], catch_exceptions=False)


def _run_params() -> dict[str, click.Parameter]:
    return {p.name: p for p in main.commands["run"].params}


def test_every_field_has_one_run_option_with_its_default():
    params = _run_params()
    flags = [f for p in params.values() for f in p.opts]
    assert len(flags) == len(set(flags)), "a flag is declared twice"
    for f in dataclasses.fields(RunConfig):
        opt = f.metadata["cli"]  # every field declares its option
        p = params[opt.name]
        assert p.opts == [opt.flag]
        default = f.default_factory() if callable(f.default_factory) else f.default
        if opt.invert:  # --no-divisions: off by default, divisions on
            assert p.is_flag and p.default is False and default is True
        elif opt.type is dict:  # --param KEY=VALUE, repeatable: none by default
            assert p.multiple and not p.default and default == {}
        else:
            assert p.default == default, f.name
        if opt.choices is not None:
            assert list(p.type.choices) == list(opt.choices)
    # the choices are the package's own lists, not a copy that can drift
    from celldyn.denoise import METHODS
    from celldyn.track import TRACKERS

    assert list(params["tracker"].type.choices) == list(TRACKERS)
    assert list(params["denoise"].type.choices) == list(METHODS)


def test_options_round_trip_to_the_same_config():
    config = RunConfig(method="threshold:li", method_params={"min_size": 5}, max_gap=1,
                       divisions=False, min_daughter_frames=0, seed=4, tracker="global")
    options = config.to_options()
    assert options["no_divisions"] is True and options["params"] == {"min_size": 5}
    assert RunConfig.from_options(options) == config
    assert RunConfig.from_options({}) == RunConfig()
    # run.json records the first options always, later ones only when not default
    assert "min_daughter_frames" in config.to_options(recorded=True)
    assert "min_daughter_frames" not in RunConfig().to_options(recorded=True)
    assert "merges" in RunConfig().to_options(recorded=True)


def test_unknown_option_and_bad_param_are_config_errors():
    with pytest.raises(ConfigError, match="unknown run options"):
        RunConfig.from_options({"max_gapp": 1})
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        RunConfig.from_options({"params": ("sigma",)})
    params = ("smooth_sigma=2", "threshold_method=otsu")
    assert RunConfig.from_options({"params": params}).method_params == {
        "smooth_sigma": 2, "threshold_method": "otsu"}


def test_a_new_field_is_a_new_option_without_other_edits():
    @dataclass(frozen=True)
    class Extended(RunConfig):
        smoothing: float = field(default=1.5, metadata=cli_option(
            "--smoothing", "Gaussian sigma before segmenting.", type=float))

    seen = {}

    @click.command()
    @config_options(Extended)
    def cmd(**kwargs):
        seen["config"] = Extended.from_options(kwargs)

    names = [p.name for p in cmd.params]
    assert names == [opt.name for _, opt, _ in run_options(Extended)]
    assert names[-1] == "smoothing"
    from click.testing import CliRunner

    r = CliRunner().invoke(cmd, ["--smoothing", "0.5", "--max-gap", "4"])
    assert r.exit_code == 0, r.output
    assert seen["config"].smoothing == 0.5 and seen["config"].max_gap == 4
    assert seen["config"].to_options(recorded=True)["smoothing"] == 0.5
    r = CliRunner().invoke(cmd, [])
    assert seen["config"] == Extended() and "--smoothing" in CliRunner().invoke(
        cmd, ["--help"]).output


@pytest.fixture(scope="module")
def movie_file(tmp_path_factory):
    from celldyn.io import write_tiff
    from celldyn.simulate import simulate_movie

    root = tmp_path_factory.mktemp("cfg")
    sim = simulate_movie(ndim=2, n_frames=6, shape=(64, 64), n_objects=5, rng=3)
    write_tiff(root / "movie.ome.tif", sim.movie)
    return root / "movie.ome.tif"


def test_run_json_replayed_by_config_gives_the_same_run_config(movie_file, tmp_path):
    r = _invoke("run", movie_file, "-o", tmp_path / "a", "--no-progress", "--method",
                "watershed", "--param", "threshold_method=li", "--max-gap", "1",
                "--no-divisions", "--min-daughter-frames", "5", "--seed", "7",
                "--max-distance", "9.5", "--pixel-size", "0.5um")
    assert r.exit_code == 0, r.stderr
    a = json.loads((tmp_path / "a" / "run.json").read_text())
    config = RunConfig(**a["config"])
    assert config == RunConfig(method="watershed", method_params={"threshold_method": "li"},
                               max_gap=1, divisions=False, min_daughter_frames=5, seed=7,
                               max_distance=9.5)
    from celldyn.cli.main import _MOVIE_KEYS   # how to read the movie, not RunConfig's

    inputs = {k: v for k, v in a["inputs"].items() if k not in ("movie", *_MOVIE_KEYS)}
    assert RunConfig.from_options(inputs) == config
    r = _invoke("run", "--config", tmp_path / "a" / "run.json", "-o", tmp_path / "b",
                "--no-progress")
    assert r.exit_code == 0, r.stderr
    b = json.loads((tmp_path / "b" / "run.json").read_text())
    assert b["config"] == a["config"] and b["inputs"] == a["inputs"]
    assert b["movie"]["spacing"] == [0.5, 0.5]


def test_new_run_option_missing_from_an_older_run_json_replays_its_default(
        movie_file, tmp_path):
    """A run.json written before --min-daughter-frames existed replays with its default
    (and a value on the command line beats the file)."""
    r = _invoke("run", movie_file, "-o", tmp_path / "a", "--no-progress",
                "--min-daughter-frames", "0")
    assert r.exit_code == 0, r.stderr
    record = json.loads((tmp_path / "a" / "run.json").read_text())
    del record["inputs"]["min_daughter_frames"]
    (tmp_path / "old.json").write_text(json.dumps(record))
    r = _invoke("run", "--config", tmp_path / "old.json", "-o", tmp_path / "b",
                "--no-progress", "--max-gap", "0")
    assert r.exit_code == 0, r.stderr
    b = json.loads((tmp_path / "b" / "run.json").read_text())["config"]
    assert b["min_daughter_frames"] == 3 and b["max_gap"] == 0


def test_bad_param_on_the_command_line_is_one_line(movie_file, tmp_path):
    r = _invoke("run", movie_file, "-o", tmp_path / "a", "--param", "sigma")
    assert r.exit_code == 2 and "KEY=VALUE" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "a").exists()


def test_unknown_model_or_classifier_is_found_before_any_work(movie_file, tmp_path,
                                                               monkeypatch):
    """An unknown --model is reported when the run is configured: the movie is never
    read (so never denoised or segmented)."""
    pytest.importorskip("torch")
    import celldyn.io

    def no_reading(*args, **kwargs):
        raise AssertionError("the movie was read before the config was checked")

    monkeypatch.setattr(celldyn.io, "read_movie", no_reading)
    r = _invoke("run", movie_file, "-o", tmp_path / "a", "--segmenter", "deep",
                "--model", "no-such-model", "--denoise", "nlmeans")
    assert r.exit_code == 2 and "unknown segmentation model 'no-such-model'" in r.stderr
    r = _invoke("run", movie_file, "-o", tmp_path / "a", "--classifier", "no-such")
    assert r.exit_code == 2 and "unknown classifier 'no-such'" in r.stderr
    assert not (tmp_path / "a").exists()


def test_short_daughter_branches_are_undone_on_own_segmentation_only():
    """min_daughter_frames left unset is resolved per run: 3 when celldyn segments the
    movie (over-segmentation reads as short daughter branches), 0 when the detections
    are given (--labels); a value given is kept either way."""
    import numpy as np

    assert RunConfig().min_daughter_frames is None
    own = RunConfig().for_movie(None)
    given = RunConfig().for_movie(None, labels=np.zeros((2, 4, 4), np.int32))
    assert own.min_daughter_frames == 3 and given.min_daughter_frames == 0
    assert RunConfig(min_daughter_frames=5).for_movie(
        None, labels=np.zeros((2, 4, 4), np.int32)).min_daughter_frames == 5


def test_a_given_label_movie_keeps_a_daughter_that_leaves_early(tmp_path):
    """--labels: a mother whose daughter is seen for one frame only (then leaves) keeps
    her division; the same objects as celldyn's own segmentation would lose it."""
    import numpy as np

    from celldyn import pipeline

    labels = np.zeros((4, 40, 60), np.int32)
    labels[0, 15:25, 20:30] = 1                       # the mother
    labels[1, 15:25, 14:22], labels[1, 15:25, 28:36] = 1, 2   # two daughters
    labels[2, 15:25, 12:20] = 1                       # daughter 2 has left
    labels[3, 15:25, 10:18] = 1
    movie = (labels > 0).astype(np.float32) * 100 + 10
    given = pipeline.run(movie, labels=labels, axes="TYX")
    assert given.config.min_daughter_frames == 0
    assert len(given.edges) == 4                      # 3 links of one track + 1 daughter
    pruned = pipeline.run(movie, labels=labels, axes="TYX", min_daughter_frames=3)
    assert len(pruned.edges) == 3
