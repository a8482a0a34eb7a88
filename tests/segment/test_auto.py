"""``celldyn.segment.auto``: the automatic segmenter choice and its recorded reason."""

from __future__ import annotations

import numpy as np
import pytest

from celldyn.segment.auto import segment_movie_auto


def test_auto_keeps_a_plausible_watershed(sim2d):
    movie = np.asarray(sim2d.movie.data[:3])
    labels, choice = segment_movie_auto(movie)
    assert choice.segmenter == "classical" and "plausible" in choice.reason
    assert labels.shape == movie.shape and labels.max() >= 1
    assert choice.to_dict()["reason"] == choice.reason


def test_auto_3d_movie_stays_classical():
    movie = np.zeros((2, 3, 32, 32), dtype=np.float32)   # empty: suspect, but 3D
    labels, choice = segment_movie_auto(movie)
    assert choice.segmenter == "classical" and "3D" in choice.reason
    assert labels.shape == movie.shape


def test_auto_tries_the_deep_model_when_the_watershed_fails():
    pytest.importorskip("torch")
    movie = np.zeros((2, 64, 64), dtype=np.uint8)   # nothing to find: every frame empty
    labels, choice = segment_movie_auto(movie, model="nuclei2d")
    assert choice.segmenter == "classical"
    assert "empty" in choice.reason and "nuclei2d" in choice.reason
    assert labels.shape == movie.shape
