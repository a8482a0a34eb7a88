import numpy as np
import pandas as pd
import pytest

from celldyn.classify import (
    feature_columns,
    labels_from_painted,
    labels_from_points,
    match_labels,
    train_classical,
)
from celldyn.errors import InputError


def test_unknown_object_ids(divfeats):
    tab = pd.DataFrame({"t": [0, 0, 99], "label": [1, 2, 5], "class": ["a", "b", "a"]})
    with pytest.raises(InputError, match=r"not in the objects table: \(t=99, label=5\)"):
        match_labels(divfeats, tab)


def test_one_class_and_single_example(divfeats):
    cols = feature_columns(2)
    with pytest.raises(InputError, match="one class only"):
        train_classical(divfeats.iloc[:5], ["a"] * 5, feature_names=cols)
    with pytest.raises(InputError, match=r"\['b'\] have a single example"):
        train_classical(divfeats.iloc[:5], ["a"] * 4 + ["b"], feature_names=cols)


def test_messages_are_one_line(divfeats):
    with pytest.raises(InputError) as err:
        match_labels(divfeats, pd.DataFrame({"t": [0], "label": [1]}))
    assert "\n" not in str(err.value)


def test_points_and_painted(divsim):
    lab = divsim.labels
    t, y, x = np.argwhere(lab > 0)[0]
    pts = pd.DataFrame({"axis-0": [t], "axis-1": [y], "axis-2": [x], "class": ["m"]})
    got = labels_from_points(pts, lab)
    assert got.iloc[0].tolist() == [t, lab[t, y, x], "m"]
    bg = np.argwhere(lab == 0)[0]
    with pytest.raises(InputError, match="background"):
        labels_from_points(pd.DataFrame({"axis-0": [bg[0]], "axis-1": [bg[1]],
                                         "axis-2": [bg[2]], "class": ["m"]}), lab)
    painted = np.zeros_like(lab)
    painted[lab == lab[t, y, x]] = 2
    got = labels_from_painted(painted, lab, names={2: "mitosis"})
    assert set(got["class"]) == {"mitosis"} and set(got["label"]) == {lab[t, y, x]}
