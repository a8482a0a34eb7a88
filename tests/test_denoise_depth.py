"""The learned denoiser's U-Net depth: trains, round-trips through its state, and
keeps the original two-level network's weights (same seed, same result)."""

import numpy as np
import pytest

from celldyn.denoise import Denoiser, train_denoiser
from celldyn.errors import ConfigError, InputError


def _movie() -> np.ndarray:
    rng = np.random.default_rng(3)
    clean = np.zeros((3, 48, 56), np.float32)
    clean[:, 10:30, 12:34] = 6.0
    return rng.poisson(clean + 1.0).astype(np.float32)


def test_depth3_trains_and_state_round_trips():
    movie = _movie()
    model = train_denoiser(movie, epochs=1, steps_per_epoch=3, batch_size=2, depth=3, seed=0)
    assert model.depth == 3
    assert any(k.startswith("e4.") for k in model.weights)
    out = model(movie)
    assert out.shape == movie.shape and out.dtype == np.float32
    again = Denoiser.from_state(model.state)
    assert again.depth == 3
    np.testing.assert_array_equal(again(movie), out)


def test_old_state_without_depth_loads_as_two_levels():
    movie = _movie()
    model = train_denoiser(movie, epochs=1, steps_per_epoch=2, batch_size=2, seed=1)
    state = dict(model.state)
    del state["depth"]
    np.testing.assert_array_equal(Denoiser.from_state(state)(movie), model(movie))
    assert not any(k.startswith("e4.") for k in model.weights)


def test_bad_depth_is_a_clear_error():
    with pytest.raises(ConfigError, match="depth"):
        train_denoiser(_movie(), epochs=1, steps_per_epoch=1, depth=0)
    with pytest.raises(InputError, match="too small"):
        train_denoiser(_movie()[:, :12, :12], epochs=1, steps_per_epoch=1,
                       depth=4)
