"""The one segmentation entry (issue 14, item 3): segment_movie(movie, segmenter=...)
for classical and deep, and the public listing of each method's parameters that
`celldyn methods` and the error messages use."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from celldyn.cli import main
from celldyn.errors import ConfigError
from celldyn.segment import METHODS, methods, segment_movie, segmenter_parameters
from celldyn.segment import classical


def test_classical_entry_matches_the_classical_function(sim2d):
    for method in ("watershed", "threshold:li"):
        new = segment_movie(sim2d.movie, segmenter="classical", method=method, min_size=10)
        old = classical.segment_movie(sim2d.movie, method=method, min_size=10)
        np.testing.assert_array_equal(new, old)


def test_deep_entry_matches_the_deep_function(sim2d):
    pytest.importorskip("torch")
    from celldyn.segment.deep.registry import segment_movie_deep

    new = segment_movie(sim2d.movie, segmenter="deep", tile=256)
    old = segment_movie_deep(sim2d.movie, tile=256)
    np.testing.assert_array_equal(new, old)
    assert new.max() > 0



def test_dark_objects_invert_only_for_bright_object_models(sim2d):
    """`dark_objects` inverts the frames for nuclei2d (trained on bright nuclei only,
    config polarity "bright"), not for the generalist, which reads raw frames."""
    pytest.importorskip("torch")
    movie = sim2d.movie
    kw = {"segmenter": "deep", "tile": 256, "diameter": 12}
    same = [segment_movie(movie, model="generalist2d", dark_objects=d, **kw) for d in (0, 1)]
    np.testing.assert_array_equal(same[0], same[1])
    plain, dark = (segment_movie(movie, model="nuclei2d", dark_objects=d, **kw)
                   for d in (False, True))
    assert plain.max() > 0 and not np.array_equal(plain, dark)

def test_dark_objects_are_inverted(sim2d):
    """dark_objects segments the inverted movie (holes kept: fill_holes=False)."""
    data = sim2d.movie.data.astype(np.float32)
    dark = type(sim2d.movie)(float(data.max()) - data, sim2d.movie.axes)
    got = segment_movie(dark, method="threshold", dark_objects=True)
    want = segment_movie(sim2d.movie.data.astype(np.float32), method="threshold",
                         fill_holes=False)
    np.testing.assert_array_equal(got, want)


def test_every_parameter_is_listed_with_default_and_meaning():
    table = methods()
    assert set(table) == set(METHODS) | {"deep"}
    for name, params in table.items():
        assert params, name
        for p in params:
            assert p.meaning, (name, p.name)
    names = [p.name for p in segmenter_parameters("classical", "watershed")]
    import inspect

    assert names == [n for n in inspect.signature(METHODS["watershed"]).parameters
                     if n != "image"]


def test_unknown_parameter_error_lists_what_the_method_takes(sim2d):
    with pytest.raises(ConfigError, match="unknown parameters") as err:
        segment_movie(sim2d.movie, method="threshold", min_sise=10)
    assert "min_size (default" in str(err.value) and "celldyn methods" in str(err.value)
    with pytest.raises(ConfigError, match="deep segmenter.*diameter"):
        segment_movie(sim2d.movie, segmenter="deep", min_size=3)
    with pytest.raises(ConfigError, match="segmenter must be one of"):
        segment_movie(sim2d.movie, segmenter="magic")


def test_methods_command_lists_parameters():
    r = CliRunner().invoke(main, ["methods"])
    assert r.exit_code == 0, r.output
    for name in (*METHODS, "deep", "min_size", "threshold_method", "diameter"):
        assert name in r.output
    r = CliRunner().invoke(main, ["methods", "magic"])
    assert r.exit_code == 2 and r.output.count("Error") == 1
    assert "--param" in CliRunner().invoke(main, ["run", "--help"]).output


def test_the_variant_as_a_parameter_still_works(sim2d):
    """--param method=li with --method threshold is threshold:li (as before the entry)."""
    from celldyn.pipeline import run

    a = run(sim2d.movie, method="threshold", method_params={"method": "li"})
    b = run(sim2d.movie, method="threshold:li")
    np.testing.assert_array_equal(a.labels, b.labels)
    np.testing.assert_array_equal(
        segment_movie(sim2d.movie, method="threshold", params={"method": "li"}),
        segment_movie(sim2d.movie, method="threshold:li"))
    with pytest.raises(ConfigError, match="variant once"):
        segment_movie(sim2d.movie, method="threshold:li", params={"method": "otsu"})


@pytest.mark.parametrize("params", [{"tile": "abc"}, {"tile": 0}, {"diameter": -3},
                                    {"thresholds": {"min_size": "x"}},
                                    {"thresholds": [1, 2]}])
def test_deep_params_of_the_wrong_kind_get_one_line(params):
    from celldyn.errors import ConfigError
    from celldyn.segment.api import check_params

    with pytest.raises(ConfigError):
        check_params("deep", "watershed", params)
    check_params("deep", "watershed", {"tile": 512, "diameter": 30.5,
                                       "thresholds": {"min_size": 16}})
