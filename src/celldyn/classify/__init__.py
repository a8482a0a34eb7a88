"""Classify: object features -> class, with explanations and temporal smoothing.

scikit-learn and PyTorch fit the models; ours are the features' normalisations, the
tree walks that explain single predictions, Shapley sampling, the crop CNN and its
saliency, HMM smoothing along tracks, label handling and the model registry.
"""

from .classical import CLASSICAL_MODELS, ClassicalClassifier, shapley_sampling, train_classical
from .explain import explain_object, saliency_figure
from .features import feature_columns, object_features
from .labels import (
    check_training_labels,
    labels_from_painted,
    labels_from_points,
    match_labels,
    mitosis_labels,
)
from .predict import class_timeline, classify_objects, predict_proba_objects
from .registry import SHIPPED, load_classifier
from .temporal import forward_backward, mitosis_transition, smooth_tracks, viterbi
from .trees import TreeEnsemble

__all__ = [
    "CLASSICAL_MODELS",
    "ClassicalClassifier",
    "SHIPPED",
    "TreeEnsemble",
    "check_training_labels",
    "class_timeline",
    "classify_objects",
    "explain_object",
    "feature_columns",
    "forward_backward",
    "labels_from_painted",
    "labels_from_points",
    "load_classifier",
    "match_labels",
    "mitosis_labels",
    "mitosis_transition",
    "object_features",
    "predict_proba_objects",
    "saliency_figure",
    "shapley_sampling",
    "smooth_tracks",
    "train_classical",
    "viterbi",
]
