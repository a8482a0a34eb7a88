"""Classify: object features -> class, with explanations and temporal smoothing.

scikit-learn and PyTorch fit the models; ours are the features' normalisations, the
tree walks that explain single predictions, Shapley sampling, the crop CNN and its
saliency, HMM smoothing along tracks (transition matrices fitted on lineages, strength
chosen on validation tracks), the cell crops at the training crops' scale and their
features (:mod:`.phases`), label handling and the model registry.
"""

from .classical import (
    CLASSICAL_MODELS,
    ClassicalClassifier,
    shapley_sampling,
    train_classical,
)
from .explain import explain_object, saliency_figure
from .features import feature_columns, object_features
from .labels import (
    check_training_labels,
    labels_from_painted,
    labels_from_points,
    match_labels,
    mitosis_labels,
)
from .phases import PHASES, cell_crops, crop_features, phase_transition
from .predict import (
    class_timeline,
    classify_objects,
    model_features,
    predict_proba_objects,
)
from .registry import SHIPPED, load_classifier
from .temporal import (
    choose_strength,
    fit_transition,
    forward_backward,
    mitosis_transition,
    smooth_tracks,
    viterbi,
)
from .trees import TreeEnsemble

__all__ = [
    "CLASSICAL_MODELS",
    "ClassicalClassifier",
    "PHASES",
    "SHIPPED",
    "TreeEnsemble",
    "cell_crops",
    "check_training_labels",
    "choose_strength",
    "crop_features",
    "class_timeline",
    "classify_objects",
    "explain_object",
    "feature_columns",
    "fit_transition",
    "forward_backward",
    "labels_from_painted",
    "labels_from_points",
    "load_classifier",
    "match_labels",
    "mitosis_labels",
    "mitosis_transition",
    "model_features",
    "object_features",
    "phase_transition",
    "predict_proba_objects",
    "saliency_figure",
    "shapley_sampling",
    "smooth_tracks",
    "train_classical",
    "viterbi",
]
