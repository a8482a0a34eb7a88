"""``celldyn train classifier`` and ``celldyn explain``: thin shells over
:mod:`celldyn.classify` (read a run folder, call, write, summarise)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ._common import _user_errors

__all__ = ["train_classifier_command", "explain_command"]


def _load_run(results: Path, movie_path: Path | None, hint: str = "RESULTS") -> dict[str, Any]:
    """Labels, graph, movie and objects of a celldyn run folder."""
    from ..io.run_folder import read_run_arrays

    return read_run_arrays(results, movie_path, hint)


def _read_label_source(path: Path, labels) -> Any:
    from ..classify import labels_from_painted, labels_from_points
    from ..io import read_csv, read_labels

    if path.suffix.lower() in (".csv", ".tsv", ".txt"):
        table = read_csv(path, expected="t,label,class, or napari points axis-0,... + class")
        if "axis-0" in table.columns:
            return labels_from_points(table, labels)
        return table
    return labels_from_painted(read_labels(path), labels)


@click.command("classifier")
@click.option("--objects", "objects_path", type=click.Path(path_type=Path), required=True,
              help="objects.parquet of a celldyn run folder (its labels, tracks and movie "
              "are used too).")
@click.option("--annotations", "labels_path", type=click.Path(path_type=Path),
              help="Your class annotations: CSV with t,label,class; a napari points CSV "
              "(axis-0.. + class); or a painted class label movie (TIFF/OME-Zarr). "
              "[required]")
@click.option("--labels", "old_labels_path", type=click.Path(path_type=Path), hidden=True,
              help="Deprecated spelling of --annotations (--labels is a segmentation "
              "elsewhere).")
@click.option("--model", type=click.Choice(["rf", "gb", "svm", "cnn"]), default="rf",
              show_default=True, help="Random forest, gradient boosting, SVM, or crop CNN.")
@click.option("--movie", "movie_path", type=click.Path(path_type=Path),
              help="The run's movie, if run.json's source path has moved.")
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="Model folder to create.")
@click.option("--transition", type=click.Path(path_type=Path),
              help="CSV of a K x K transition matrix (rows/columns = classes in sorted "
              "order) for smoothing along tracks.")
@click.option("--epochs", type=int, default=30, show_default=True, help="CNN epochs.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--overwrite", is_flag=True, help="Replace an existing model folder.")
@_user_errors
def train_classifier_command(objects_path: Path, labels_path: Path | None, model: str,
                             movie_path: Path | None, output: Path, transition: Path | None,
                             epochs: int, seed: int, overwrite: bool,
                             old_labels_path: Path | None = None) -> None:
    """Train a classifier on your labelled objects of a run."""
    import warnings

    import numpy as np

    if old_labels_path is not None:
        if labels_path is not None:
            raise click.UsageError("give --annotations once (--labels is its old spelling)")
        warnings.warn("--labels is deprecated here; use --annotations", stacklevel=2)
        labels_path = old_labels_path
    if labels_path is None:
        raise click.UsageError("Missing option '--annotations'.")

    from ..classify import feature_columns, match_labels, object_features
    from ..classify.temporal import check_transition
    from ..errors import InputError
    from ..io._atomic import atomic_path

    if output.exists() and not overwrite:
        raise InputError(f"{output} already exists; choose another -o folder or pass --overwrite")
    run = _load_run(objects_path.parent, movie_path, hint="--objects FOLDER/objects.parquet")
    feats = object_features(run["labels"], run["movie"], graph=run["graph"],
                            spacing=run["spacing"])
    table = _read_label_source(labels_path, run["labels"])
    labelled = match_labels(feats, table)
    y = labelled["class"].tolist()
    if model == "cnn":
        from ..classify.cnn import object_crops, train_cnn

        crops = object_crops(run["labels"], run["movie"], labelled)
        clf = train_cnn(crops, y, epochs=epochs, seed=seed)
    else:
        from ..classify import train_classical

        clf = train_classical(labelled, y, model=model,
                              feature_names=feature_columns(run["labels"].ndim - 1), seed=seed)
    if transition is not None:
        A = np.loadtxt(transition, delimiter=",", ndmin=2)
        clf.meta["transition"] = check_transition(A, len(clf.classes)).tolist()
    clf.meta["command"] = (f"celldyn train classifier --objects {objects_path} --annotations "
                           f"{labels_path} --model {model} --seed {seed}")
    with atomic_path(output, overwrite=overwrite) as tmp:
        clf.save(tmp)
    counts = ", ".join(f"{c}: {n}" for c, n in clf.meta["class_counts"].items())
    click.echo(f"  trained {model} on {len(y)} labelled objects ({counts})")
    click.echo(f"  model written to {output}")


def _parse_object(text: str) -> tuple[int, int]:
    try:
        t, lab = (int(v) for v in text.split(","))
    except ValueError:
        raise click.BadParameter(f"expected T,LABEL such as 12,3; got {text!r}",
                                 param_hint="--object") from None
    return t, lab


@click.command("explain")
@click.argument("results", type=click.Path(path_type=Path))
@click.option("--object", "obj", required=True, help="The object as T,LABEL (frame, track id).")
@click.option("--classifier", default="mitosis", show_default=True,
              help="Feature-based classifier: shipped name (mitosis, phases) or model "
              "folder.")
@click.option("--cnn", default="mitosis-cnn", show_default=True,
              help="CNN for the saliency image: shipped name (mitosis-cnn, phases-cnn) or "
              "model folder; 'none' to skip.")
@click.option("--movie", "movie_path", type=click.Path(path_type=Path),
              help="The run's movie, if run.json's source path has moved.")
@click.option("--top", type=int, default=8, show_default=True, help="Features to print.")
@click.option("-o", "--output", type=click.Path(path_type=Path),
              help="Saliency image path (default RESULTS/explain/saliency_T_LABEL.png).")
@_user_errors
def explain_command(results: Path, obj: str, classifier: str, cnn: str, movie_path,
                    top: int, output: Path | None) -> None:
    """Print the features that drove an object's class; write the CNN's saliency image."""
    from ..classify import explain_object, load_classifier, model_features, saliency_figure
    from ..classify.explain import find_object

    t, lab = _parse_object(obj)
    run = _load_run(results, movie_path)
    model = load_classifier(classifier)
    feats = model_features(model, run["labels"], run["movie"], run["graph"],
                           spacing=run["spacing"])
    find_object(feats, t, lab)
    table, info = explain_object(model, feats, t, lab)
    probs = ", ".join(f"{c} {p:.3f}" for c, p in info["proba"].items())
    click.echo(f"object t={t} label={lab}: {info['predicted']} ({probs})")
    click.echo(f"contributions ({info['space']}; bias {info['bias']:+.4f} -> "
               f"{info['output']:+.4f}):")
    for r in table.head(top).itertuples(index=False):
        click.echo(f"  {r.feature:<20} {r.value:>10.4g}  {r.contribution:+.4f}")
    if cnn.lower() == "none":
        return
    from ..classify.cnn import saliency

    net = load_classifier(cnn)
    i = find_object(feats, t, lab)
    crops = net.crops(run["labels"], run["movie"], feats.iloc[[i]])
    maps, pred = saliency(net, crops)
    out = output or results / "explain" / f"saliency_{t}_{lab}.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    from ..io._atomic import atomic_path

    img = saliency_figure(crops[0], maps[0])
    with atomic_path(out) as tmp:
        import matplotlib.image

        matplotlib.image.imsave(tmp, img, format="png")
    click.echo(f"CNN: {net.classes[int(pred[0])]}; saliency (gradient x input) written to {out}")


