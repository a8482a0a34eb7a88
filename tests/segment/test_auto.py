"""``celldyn.segment.auto``: the automatic segmenter choice and its recorded reason."""

from __future__ import annotations

import numpy as np
import pytest

from celldyn.segment.auto import segment_movie_auto


def test_auto_3d_movie_uses_classical():
    movie = np.zeros((2, 3, 32, 32), dtype=np.float32)
    movie[:, :, 8:16, 8:16] = 1.0
    labels, choice = segment_movie_auto(movie)
    assert choice.segmenter == "classical" and "3D" in choice.reason
    assert labels.shape == movie.shape and labels.max() >= 1


def test_auto_2d_runs_the_deep_model(sim2d):
    pytest.importorskip("torch")
    movie = np.asarray(sim2d.movie.data[:2])
    labels, choice = segment_movie_auto(movie, model="nuclei2d")
    assert choice.segmenter == "deep" and choice.model == "nuclei2d"
    assert choice.diameter is not None and choice.diameter > 0
    assert labels.shape == movie.shape and labels.max() >= 1
    assert choice.to_dict()["reason"] == choice.reason


def test_auto_falls_back_when_the_probe_finds_nothing():
    pytest.importorskip("torch")
    movie = np.zeros((2, 64, 64), dtype=np.uint8)   # nothing to find
    labels, choice = segment_movie_auto(movie, model="nuclei2d")
    assert choice.segmenter == "classical" and "probe found no objects" in choice.reason
    assert labels.shape == movie.shape
