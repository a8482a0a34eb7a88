import numpy as np
import pandas as pd
import pytest

from celldyn.classify import forward_backward, mitosis_transition, smooth_tracks, viterbi
from celldyn.errors import InputError


def test_viterbi_hand_made():
    # states: 0 = interphase, 1 = mitosis; mitosis is absorbing
    A = np.array([[0.8, 0.2], [0.0, 1.0]])
    p = np.array([[.9, .1], [.3, .7], [.9, .1], [.8, .2], [.2, .8], [.1, .9]])
    # unsmoothed argmax flickers: 0 1 0 0 1 1; the flicker at t=1 cannot be mitosis
    # because interphase follows it
    assert viterbi(np.log(p), A).tolist() == [0, 0, 0, 0, 1, 1]
    post = forward_backward(np.log(p), A)
    assert np.allclose(post.sum(axis=1), 1) and post[1, 1] < 0.5


def test_smooth_tracks_per_track_and_custom_matrix():
    objects = pd.DataFrame({"t": [2, 0, 1, 0, 1], "label": [1, 1, 1, 2, 2]})
    p = np.array([[.05, .95], [.99, .01], [.1, .9], [.3, .7], [.9, .1]])
    A = mitosis_transition(["interphase", "mitosis"])
    states, post = smooth_tracks(objects, p, transition=A)
    assert states.tolist() == [1, 0, 1, 0, 0]
    # a user matrix that forbids entering or staying in mitosis: only a first frame
    # may be mitotic
    states, _ = smooth_tracks(objects, p, transition=np.array([[1.0, 0.0], [1.0, 0.0]]))
    assert states[objects["t"].to_numpy() > 0].tolist() == [0, 0, 0]
    with pytest.raises(InputError, match="sum to 1"):
        smooth_tracks(objects, p, transition=np.array([[0.5, 0.1], [0.2, 0.8]]))
