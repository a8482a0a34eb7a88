"""``celldyn.segment.auto``: the automatic segmenter choice and its recorded reason."""

from __future__ import annotations

import numpy as np
import pytest

from celldyn.segment import auto
from celldyn.segment.api import segment_movie_auto
from celldyn.segment.auto import AGREEMENT, agreement, choose_segmenter


def test_agreement_is_the_f1_of_matched_objects():
    a = np.zeros((20, 20), np.int32)
    a[2:8, 2:8], a[12:18, 12:18] = 1, 2
    b = a.copy()
    assert agreement(a, b) == 1.0
    b[12:18, 12:18] = 0                       # one of two objects missing
    assert agreement(a, b) == pytest.approx(2 / 3)
    assert agreement(np.zeros_like(a), np.zeros_like(a)) == 1.0


def test_auto_3d_movie_stays_classical():
    movie = np.zeros((2, 3, 32, 32), dtype=np.float32)
    labels, choice = segment_movie_auto(movie)
    assert choice.segmenter == "classical" and "3D" in choice.reason
    assert labels.shape == movie.shape


class _Stub:
    """A stand-in for the generalist that returns fixed labels (the rule is tested,
    not the network)."""

    ndim = 2
    semantic = False
    config: dict = {}

    def __init__(self, labels, diameter=12.0):
        self.labels, self.diameter = labels, diameter

    def estimate_diameter(self, frame):
        return self.diameter

    def segment(self, frame, diameter=None, **kw):
        return self.labels


def _blobs():
    from celldyn.simulate import simulate_movie

    sim = simulate_movie(n_frames=3, shape=(96, 96), n_objects=6, rng=1)
    return np.asarray(sim.movie.data), np.asarray(sim.labels)


@pytest.fixture
def stub(monkeypatch):
    pytest.importorskip("torch")
    holder = {}
    import celldyn.segment.deep.registry as registry

    monkeypatch.setattr(registry, "load_segmenter", lambda name: holder["seg"])
    return holder


def test_auto_keeps_the_watershed_when_the_generalist_agrees(stub):
    movie, _ = _blobs()
    stub["seg"] = _Stub(auto._watershed(movie[1], False))   # the same objects
    choice = choose_segmenter(movie)
    assert choice.segmenter == "classical" and "agree" in choice.reason
    assert choice.agreement == 1.0 and choice.frame == 1
    labels, _ = segment_movie_auto(movie)
    assert labels.shape == movie.shape and labels.max() >= 1


def test_auto_runs_the_generalist_where_they_disagree(stub):
    movie, _ = _blobs()
    other = np.zeros(movie.shape[1:], np.int32)
    other[10:30, 10:30], other[50:70, 40:60] = 1, 2      # objects elsewhere
    stub["seg"] = _Stub(other, diameter=20.0)
    choice = choose_segmenter(movie)
    assert choice.segmenter == "deep" and choice.agreement < AGREEMENT
    assert choice.diameter == 20.0 and "disagree" in choice.text()
    labels, _ = segment_movie_auto(movie)
    assert np.array_equal(labels[0], other)               # the stub's output, every frame


def test_a_blank_middle_frame_does_not_decide_the_movie(stub):
    """A middle frame left black by a failed shutter (or pixel noise only) is skipped:
    the choice is made on the nearest frame with content, which the generalist's
    size probe sees too."""
    from celldyn._frames import reference_frame

    movie, _ = _blobs()
    movie = np.concatenate([movie, movie[:2]])            # 5 frames, middle one 2
    seen = []

    class _Seeing(_Stub):
        def estimate_diameter(self, frame):
            seen.append(np.asarray(frame).copy())
            return self.diameter

    stub["seg"] = _Seeing(auto._watershed(movie[3], False))
    assert choose_segmenter(movie).frame == 2             # a good middle frame: kept
    movie[2] = 0
    choice = choose_segmenter(movie)
    assert choice.frame == 3 and "frame 2, the middle one, is blank: frame 3" in choice.reason
    assert np.array_equal(seen[-1], movie[3])             # the probe saw frame 3
    noise = np.random.default_rng(0).normal(100, 5, movie.shape[1:])
    movie[2], movie[3] = noise, 0                         # noise, then black
    assert reference_frame(movie) == 1
    assert reference_frame(np.zeros((4, 32, 32))) == 2    # all blank: the middle one


def test_auto_keeps_the_watershed_when_the_generalist_is_pathological(stub):
    movie, _ = _blobs()
    stub["seg"] = _Stub(np.ones(movie.shape[1:], np.int32))  # one object over the frame
    choice = choose_segmenter(movie)
    assert choice.segmenter == "classical" and "pathological" in choice.reason


def test_auto_on_a_simulated_nuclei_movie_with_the_shipped_generalist(sim2d):
    """Real models: whichever segmenter the rule picks on simulated nuclei, the choice
    follows the agreement level, is recorded, and its objects match the truth."""
    pytest.importorskip("torch")
    movie = np.asarray(sim2d.movie.data[:3])
    labels, choice = segment_movie_auto(movie)
    assert (choice.segmenter == "classical") == (choice.agreement >= AGREEMENT)
    assert choice.to_dict()["reason"] == choice.reason
    assert labels.shape == movie.shape
    assert agreement(np.asarray(sim2d.labels[1]), labels[1]) >= 0.8


class _UnsureStub(_Stub):
    """The stub with a warning level and a class uncertainty for its frame."""

    def __init__(self, labels, uncertainty, level=0.16):
        super().__init__(labels, diameter=20.0)
        self.uncertainty, self.config = uncertainty, {"uncertainty_warn": level}

    def segment(self, frame, diameter=None, uncertainty_out=None, **kw):
        if uncertainty_out is not None:
            uncertainty_out.append(self.uncertainty)
        return self.labels


@pytest.mark.parametrize("uncertainty, unsure", [(0.25, True), (0.10, False)])
def test_auto_says_when_the_generalist_is_unsure_of_the_frame(stub, uncertainty, unsure):
    movie, _ = _blobs()
    other = np.zeros(movie.shape[1:], np.int32)
    other[10:30, 10:30], other[50:70, 40:60] = 1, 2
    stub["seg"] = _UnsureStub(other, uncertainty)
    choice = choose_segmenter(movie)
    assert choice.segmenter == "deep" and choice.unsure is unsure
    assert ("unsure" in choice.reason) is unsure
    assert choice.to_dict()["uncertainty"] == uncertainty
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        auto.resolve_auto(movie, {"segmenter": "auto"})
    assert any("unsure" in str(w.message) for w in caught) is unsure


class _ForcedStub(_UnsureStub):
    """The unsure stub whose probe may be forbidden (a size the user gave)."""

    name = "stubmodel"

    def __init__(self, labels, uncertainty, level=0.16, probe=True):
        super().__init__(labels, uncertainty, level)
        self.probe = probe

    def estimate_diameter(self, frame, **kw):
        assert self.probe, "the probe ran although the user gave the size"
        return self.diameter


@pytest.mark.parametrize("uncertainty, unsure", [(0.25, True), (0.10, False)])
def test_forced_deep_says_when_the_model_is_unsure(stub, uncertainty, unsure):
    import warnings

    movie, _ = _blobs()
    stub["seg"] = _ForcedStub(np.zeros(movie.shape[1:], np.int32), uncertainty)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        how, clause = auto.forced_deep(movie, {"segmenter": "deep", "model": "x",
                                               "params": {}})
    assert any("unsure of frame 1" in str(w.message) for w in caught) is unsure
    assert ("unsure" in clause) is unsure
    # the size measured here is handed on: the run's segmentation does not probe again
    assert how["params"] == {"diameter": 20.0} and "objects about 20 px" in clause


def test_forced_deep_keeps_the_users_size_and_skips_models_without_a_level(stub):
    movie, _ = _blobs()
    stub["seg"] = _ForcedStub(np.zeros(movie.shape[1:], np.int32), 0.3, probe=False)
    with pytest.warns(UserWarning, match="unsure"):
        how, clause = auto.forced_deep(movie, {"model": "x", "params": {"diameter": 15}})
    assert how["params"]["diameter"] == 15.0 and "unsure" in clause
    stub["seg"] = _Stub(np.zeros(movie.shape[1:], np.int32))   # config without a level
    given = {"model": "x", "params": {}}
    assert auto.forced_deep(movie, given) == (given, "")
    assert auto.forced_deep(np.zeros((2, 3, 16, 16)), given) == (given, "")   # 3D
