"""Mitosis vs interphase classification on CTC lineages: classical vs CNN, with and
without temporal (HMM/Viterbi) smoothing, and a learning curve.

Labels come from the ground-truth lineages: the last WINDOW (= 3) frames of a track
that ends in a division are ``mitosis``, every other object ``interphase``. Objects
are the ground-truth TRA masks (full masks for SIM+ and E. coli, markers for GOWT1).

Splits (held out = never seen in training):

- ``nuclei``: train on Fluo-N2DH-SIM+-01 (simulated), test on the held-out *movies*
  Fluo-N2DH-GOWT1-01 + GOWT1-02 (real; 3 divisions between them).
- ``sim-lineage``: Fluo-N2DH-SIM+-01 split by lineage (roots in track-id order,
  alternately to train and test): many more test divisions, but simulated.
- ``ecoli``: PhC-C2DL-EcoliColony-vanVliet-01 has one movie, so it is split by
  *lineage*: train on the descendants of root cell 1, test on those of root cell 2
  (same movie, disjoint cells).

Usage::

    nice python benchmarks/classification.py [--data ../shared/data] [--json out.json]
    nice python benchmarks/classification.py --ship src/celldyn/models/mitosis

``--ship`` trains the shipped default models (random forest + CNN) on the ``nuclei``
training split and writes them with their held-out scores.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from _results import markdown_table, write_section  # noqa: E402

from celldyn.classify import (  # noqa: E402
    feature_columns,
    mitosis_labels,
    mitosis_transition,
    object_features,
    smooth_tracks,
    train_classical,
)
from celldyn.classify.cnn import object_crops, train_cnn  # noqa: E402
from celldyn.io import read_ctc_gt, read_ctc_movie  # noqa: E402
from celldyn.track.graph import graph_from_ctc  # noqa: E402

WINDOW = 3
SIZES = (10, 30, 100, 300)
REPEATS = 3
SEED = 0
MOVIES = {
    "SIM+-01": ("Fluo-N2DH-SIM+-01", "01"),
    "GOWT1-01": ("Fluo-N2DH-GOWT1-01", "01"),
    "GOWT1-02": ("Fluo-N2DH-GOWT1-02", "02"),
    "EcoliColony-01": ("PhC-C2DL-EcoliColony-vanVliet-01", "01"),
}


def load_movie(data: Path, key: str) -> dict:
    folder, nn = MOVIES[key]
    movie = read_ctc_movie(data / folder / nn)
    labels, table, _ = read_ctc_gt(data / folder / f"{nn}_GT")
    graph = graph_from_ctc(labels, table)
    feats = object_features(labels, movie.data, graph=graph)
    feats["class"] = mitosis_labels(feats, graph, window=WINDOW).to_numpy()
    feats["movie"] = key
    feats["root"] = _roots(table).reindex(feats["label"]).to_numpy()
    crops = object_crops(labels, movie.data, feats)
    return {"features": feats, "crops": crops}


def _roots(table: pd.DataFrame) -> pd.Series:
    parent = dict(zip(table["label"], table["parent"]))
    out = {}
    for lab in parent:
        r = lab
        while parent.get(r, 0):
            r = parent[r]
        out[lab] = r
    return pd.Series(out)


def _concat(parts: list[dict], mask=None) -> dict:
    f = pd.concat([p["features"] for p in parts], ignore_index=True)
    c = np.concatenate([p["crops"] for p in parts])
    if mask is not None:
        m = mask(f).to_numpy()
        f, c = f[m].reset_index(drop=True), c[m]
    return {"features": f, "crops": c}


def splits(data: Path) -> dict[str, tuple[dict, dict]]:
    sim = load_movie(data, "SIM+-01")
    g1, g2 = load_movie(data, "GOWT1-01"), load_movie(data, "GOWT1-02")
    # the track id alone is not unique across the two test movies: smooth per movie
    for k, g in ((1, g1), (2, g2)):
        g["features"]["label"] = g["features"]["label"] + 100000 * k
    eco = load_movie(data, "EcoliColony-01")
    roots = np.unique(sim["features"]["root"])
    even = set(roots[::2].tolist())
    return {
        "nuclei": (sim, _concat([g1, g2])),
        "sim-lineage": (_concat([sim], lambda f: f["root"].isin(even)),
                        _concat([sim], lambda f: ~f["root"].isin(even))),
        "ecoli": (_concat([eco], lambda f: f["root"] != 2),
                  _concat([eco], lambda f: f["root"] == 2)),
    }


def fit(model: str, train: dict, idx: np.ndarray, seed: int):
    f = train["features"].iloc[idx]
    y = f["class"].tolist()
    if model == "cnn":
        return train_cnn(train["crops"][idx], y, epochs=30, seed=seed)
    return train_classical(f, y, model=model, feature_names=feature_columns(2), seed=seed)


def proba(clf, test: dict) -> np.ndarray:
    if clf.kind == "cnn":
        return clf.predict_proba_crops(test["crops"])
    return clf.predict_proba(test["features"])


def score(clf, p: np.ndarray, test: dict) -> dict:
    from sklearn.metrics import balanced_accuracy_score, f1_score

    f = test["features"]
    classes = list(clf.classes)
    truth = f["class"].to_numpy()
    raw = np.asarray(classes)[p.argmax(axis=1)]
    states, _ = smooth_tracks(f, p, transition=mitosis_transition(classes))
    smooth = np.asarray(classes)[states]
    out = {}
    for name, pred in (("raw", raw), ("smoothed", smooth)):
        out[f"bacc_{name}"] = float(balanced_accuracy_score(truth, pred))
        f1 = f1_score(truth, pred, labels=classes, average=None, zero_division=0)
        for c, v in zip(classes, f1):
            out[f"f1_{c}_{name}"] = float(v)
    return out


def sample(train: dict, n: int, rng: np.random.Generator) -> np.ndarray:
    """n labelled objects, as balanced as the training pool allows (half mitotic)."""
    y = train["features"]["class"].to_numpy()
    mit = np.flatnonzero(y == "mitosis")
    inter = np.flatnonzero(y != "mitosis")
    n_m = min(n // 2, len(mit))
    return np.concatenate([rng.choice(mit, n_m, replace=False),
                           rng.choice(inter, n - n_m, replace=False)])


def run(data: Path) -> dict:
    t0 = time.perf_counter()
    sets = splits(data)
    load_s = time.perf_counter() - t0
    full_rows, curve_rows, counts = [], [], {}
    for task, (train, test) in sets.items():
        ytr, yte = train["features"]["class"], test["features"]["class"]
        counts[task] = {"train": ytr.value_counts().to_dict(), "test": yte.value_counts().to_dict()}
        all_idx = np.arange(len(ytr))
        for model in ("rf", "gb", "svm", "cnn"):
            s = time.perf_counter()
            clf = fit(model, train, all_idx, SEED)
            r = score(clf, proba(clf, test), test)
            full_rows.append({"task": task, "model": model, "n_train": len(all_idx), **r,
                              "seconds": round(time.perf_counter() - s, 1)})
            print(full_rows[-1], flush=True)
        for n in SIZES:
            for model in ("rf", "svm", "cnn"):
                res = []
                for rep in range(REPEATS):
                    idx = sample(train, n, np.random.default_rng(1000 * rep + n))
                    clf = fit(model, train, idx, rep)
                    res.append(score(clf, proba(clf, test), test))
                b = np.array([[r["bacc_raw"], r["bacc_smoothed"]] for r in res])
                curve_rows.append({"task": task, "model": model, "n_labelled": n,
                                   "bacc_raw": float(b[:, 0].mean()),
                                   "bacc_raw_sd": float(b[:, 0].std()),
                                   "bacc_smoothed": float(b[:, 1].mean()),
                                   "bacc_smoothed_sd": float(b[:, 1].std())})
                print(curve_rows[-1], flush=True)
    return {"window": WINDOW, "sizes": list(SIZES), "repeats": REPEATS, "counts": counts,
            "full": full_rows, "curve": curve_rows, "load_seconds": load_s,
            "seconds": time.perf_counter() - t0}


def ship(data: Path, out: Path) -> None:
    """Train the shipped models on the nuclei training split; print held-out scores."""
    import shutil
    import tempfile

    train, test = splits(data)["nuclei"]
    idx = np.arange(len(train["features"]))
    out.mkdir(parents=True, exist_ok=True)
    scores = {}
    for model in ("rf", "cnn"):
        clf = fit(model, train, idx, SEED)
        scores[model] = score(clf, proba(clf, test), test)
        clf.meta.update({
            "data": "Fluo-N2DH-SIM+-01 GT (TRA masks), mitosis = last 3 frames before a "
                    "division",
            "held_out": "Fluo-N2DH-GOWT1-01 + GOWT1-02", "held_out_scores": scores[model],
            "command": "nice python benchmarks/classification.py --ship "
                       "src/celldyn/models/mitosis",
        })
        with tempfile.TemporaryDirectory() as tmp:
            clf.save(tmp)
            if model == "rf":
                shutil.copy(Path(tmp) / "trees.npz", out / "trees.npz")
                shutil.copy(Path(tmp) / "model.json", out / "model.json")
            else:
                shutil.copy(Path(tmp) / "cnn.pt", out / "cnn.pt")
                shutil.copy(Path(tmp) / "model.json", out / "cnn.json")
    # a stored output for the reproduction test: first 20 objects of GOWT1-02 t=0..
    from celldyn.classify.registry import SHIPPED

    print(json.dumps(scores, indent=2))
    for name, f in (("mitosis", "trees.npz"), ("mitosis-cnn", "cnn.pt")):
        from celldyn.classify._store import sha256_file

        print(name, f, sha256_file(out / f), "(pin in celldyn/classify/registry.py; "
              f"was {SHIPPED[name]['sha256'][:12]})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path,
                    default=Path(__file__).resolve().parents[2] / "shared" / "data")
    ap.add_argument("--json", type=Path,
                    default=Path(__file__).with_name("classification.json"))
    ap.add_argument("--no-results-md", action="store_true")
    ap.add_argument("--ship", type=Path, help="train and write the shipped models here")
    ap.add_argument("--from-json", type=Path,
                    help="write the RESULTS.md section from a finished run's JSON")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    if args.ship:
        ship(args.data, args.ship)
        return
    if args.from_json:
        res = json.loads(args.from_json.read_text())
    else:
        res = run(args.data)
    args.json.write_text(json.dumps(res, indent=2))
    if args.no_results_md:
        return
    cols = ["task", "model", "n_train", "bacc_raw", "bacc_smoothed",
            "f1_mitosis_raw", "f1_mitosis_smoothed", "f1_interphase_raw",
            "f1_interphase_smoothed", "seconds"]
    curve_cols = ["task", "model", "n_labelled", "bacc_raw", "bacc_raw_sd",
                  "bacc_smoothed", "bacc_smoothed_sd"]
    c = res["counts"]
    body = f"""Script: `nice python benchmarks/classification.py` ({res['seconds']:.0f} s in all,
{res['load_seconds']:.0f} s of it reading data and computing features and crops).

Task: mitosis vs interphase per object. Labels are derived from the ground-truth
lineages: the last {WINDOW} frames of a track that ends in a division are `mitosis`,
all other objects are `interphase`. Objects are the ground-truth TRA masks (full
masks for SIM+ and E. coli, markers for GOWT1). Features: `celldyn.classify.object_features`
(scale-free morphology, intensity, texture, change since the previous frame, frames
since the last division). CNN: 32x32 two-channel crops (intensity + mask), scaled to 2x
the object's size. Smoothing: HMM/Viterbi along each track with the default mitosis
transition matrix (interphase→mitosis 0.05, mitosis→interphase 0.01).

Splits:
- `nuclei`: train Fluo-N2DH-SIM+-01 (*simulated*), test the held-out real movies
  Fluo-N2DH-GOWT1-01 + 02. Train {c['nuclei']['train']}; test {c['nuclei']['test']}.
  Only 3 divisions in the test movies: mitosis scores rest on few objects.
- `sim-lineage`: Fluo-N2DH-SIM+-01 alone, split by lineage (root tracks in id order
  alternately to train and test; same movie, disjoint cells). Train
  {c['sim-lineage']['train']}; test {c['sim-lineage']['test']}.
- `ecoli`: PhC-C2DL-EcoliColony-vanVliet-01, one movie, split by lineage: train on the
  descendants of root cell 1, test on those of root cell 2. Train {c['ecoli']['train']};
  test {c['ecoli']['test']}.

Full training set (class-weighted), seed {SEED}:

{markdown_table(res['full'], cols)}

Learning curve: balanced accuracy on the test set vs number of labelled training
objects (sampled half mitotic, half interphase, as an annotator would pick them;
mean and sd over {REPEATS} draws; where the pool has fewer mitotic objects than n/2,
all of them are used and the rest is interphase):

{markdown_table(res['curve'], curve_cols)}
"""
    write_section("Classification (mitosis vs interphase)", body,
                  packages=("scikit-learn", "torch", "scikit-image"))


if __name__ == "__main__":
    main()
