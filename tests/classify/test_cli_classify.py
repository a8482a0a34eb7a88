import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from celldyn.cli import main


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory, divsim):
    from celldyn.io import write_tiff
    from celldyn.pipeline import run, write_run

    d = tmp_path_factory.mktemp("cls")
    write_tiff(d / "movie.tif", divsim.movie)
    result = run(divsim.movie, labels=divsim.labels)
    write_run(result, d / "results", source=str(d / "movie.tif"))
    objs = result.objects
    y = np.where(np.arange(len(objs)) % 4 == 0, "b", "a")
    pd.DataFrame({"t": objs.t, "label": objs.label, "class": y}).to_csv(d / "labels.csv",
                                                                       index=False)
    return d


def test_train_and_explain(run_folder):
    d = run_folder
    r = CliRunner().invoke(main, ["train", "classifier", "--objects",
                                  str(d / "results" / "objects.parquet"), "--annotations",
                                  str(d / "labels.csv"), "--model", "rf", "-o", str(d / "m")])
    assert r.exit_code == 0, r.output
    assert "trained rf" in r.output and (d / "m" / "trees.npz").is_file()
    t, lab = pd.read_csv(d / "labels.csv").iloc[0][["t", "label"]]
    r = CliRunner().invoke(main, ["explain", str(d / "results"), "--object", f"{t},{lab}",
                                  "--classifier", str(d / "m"), "--cnn", "none"])
    assert r.exit_code == 0, r.output
    assert f"object t={t} label={lab}" in r.output and "contributions" in r.output


@pytest.mark.parametrize("name", ["mitosis", "phases"])
def test_explain_with_shipped_cnn_writes_png(run_folder, name):
    pytest.importorskip("torch")
    d = run_folder
    t, lab = pd.read_csv(d / "labels.csv").iloc[3][["t", "label"]]
    r = CliRunner().invoke(main, ["explain", str(d / "results"), "--object", f"{t},{lab}",
                                  "--classifier", name, "--cnn", f"{name}-cnn",
                                  "-o", str(d / f"sal_{name}.png")])
    assert r.exit_code == 0, r.output
    assert (d / f"sal_{name}.png").stat().st_size > 100 and "saliency" in r.output
    # the crop features drive the real-data models' explanations
    assert "  c_" in r.output


def test_bad_labels_one_line_error(run_folder):
    d = run_folder
    pd.DataFrame({"t": [0, 0, 1], "label": [1, 999, 2], "class": ["a", "b", "a"]}).to_csv(
        d / "bad.csv", index=False)
    r = CliRunner().invoke(main, ["train", "classifier", "--objects",
                                  str(d / "results" / "objects.parquet"), "--annotations",
                                  str(d / "bad.csv"), "-o", str(d / "m2")])
    assert r.exit_code == 2
    err = r.output.strip().splitlines()
    assert len(err) == 1 and "label=999" in err[0] and err[0].startswith("Error:")
    r = CliRunner().invoke(main, ["explain", str(d / "results"), "--object", "0,999",
                                  "--cnn", "none"])
    assert r.exit_code == 2 and "no object with t=0, label=999" in r.output


def test_old_labels_spelling_still_works_with_a_note(run_folder):
    """`train classifier --labels` (class annotations; a segmentation everywhere else)
    is now --annotations; the old spelling works and says so."""
    d = run_folder
    args = ["train", "classifier", "--objects", str(d / "results" / "objects.parquet")]
    r = CliRunner().invoke(main, [*args, "--labels", str(d / "labels.csv"), "-o",
                                  str(d / "m3")])
    assert r.exit_code == 0, r.output
    assert "--labels is deprecated" in r.output and (d / "m3" / "trees.npz").is_file()
    r = CliRunner().invoke(main, [*args, "-o", str(d / "m4")])
    assert r.exit_code == 2 and "--annotations" in r.output and not (d / "m4").exists()
