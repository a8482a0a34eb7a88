"""``celldyn bench``: which pipeline suits my movie, scored on my own annotations.

A thin shell over :func:`celldyn.bench.bench`: read the movie and the CTC ground truth,
rank every pipeline, print the table, write ``OUT/best_config.json`` (taken by
``celldyn run --config``), ``OUT/bench.json`` and ``OUT/bench.csv``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import click

from ..units import DurationParam, LengthParam
from ._common import _user_errors, plane_option, series_option

__all__ = ["bench_command"]

_COLUMNS = (("rank", "rank"), ("segmenter", "segmenter"), ("tracker", "tracker"),
            ("SEG", "SEG"), ("DET", "DET"), ("TRA", "TRA"), ("LNK", "LNK"),
            ("BC(1)", "BC(1)"), ("div F1", "div_F1"), ("AP@0.5", "AP@0.5"),
            ("s/frame", "s/frame"))


def _cell(v: Any) -> str:
    if isinstance(v, float):
        return "n/a" if math.isnan(v) else f"{v:.3f}"
    return str(v)


def _print_table(df: Any) -> None:
    rows, kinds = [[h for h, _ in _COLUMNS]], [""]
    for _, r in df.iterrows():
        name = r["segmenter"] + (" (auto)" if r["auto"] else "")
        rows.append([_cell(name if k == "segmenter" else r[k]) for _, k in _COLUMNS])
        kinds.append(r["kind"])
    widths = [max(len(row[i]) for row in rows) for i in range(len(_COLUMNS))]
    titles = {"pipeline": "pipelines on the whole movie, ranked by TRA:",
              "segmentation": "segmenters on the annotated frames, ranked by "
                              + (df["primary"].iloc[-1] if len(df) else "SEG") + ":"}
    for i, row in enumerate(rows):
        if i and kinds[i] != kinds[i - 1]:
            click.echo(f"  {titles[kinds[i]]}")
        click.echo("  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
        if i == 0:
            click.echo("  " + "  ".join("-" * w for w in widths))


@click.command("bench")
@click.argument("movie", type=click.Path(path_type=Path))
@click.option("--gt", "gt_path", type=click.Path(path_type=Path), required=True,
              help="Ground truth of this movie: a CTC folder with TRA/ (markers + "
                   "man_track.txt) and/or SEG/ (man_segTTT.tif for some frames); or, for "
                   "segmentation only, a label movie (a frame with no object counts as not "
                   "annotated) or a folder of label images named by frame (mask_005.png).")
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="Folder to write best_config.json, bench.json and bench.csv to.")
@click.option("--quick", is_flag=True,
              help="Fewer combinations: watershed and threshold among the classical "
                   "methods, only the best segmenter tracked.")
@click.option("--model", "models", multiple=True,
              help="Also score this deep model (a folder from `celldyn train segment`; "
                   "repeatable). The shipped models are always scored.")
@click.option("--no-deep", is_flag=True, help="Score the classical methods only.")
@click.option("--tracked", type=click.IntRange(1), default=None,
              help="How many of the best segmenters to track on the full movie "
                   "[default: 2, 1 with --quick].")
@click.option("--max-frames", type=click.IntRange(1), default=20, show_default=True,
              help="Segment at most this many annotated frames for the segmentation "
                   "scores.")
@click.option("--dark-objects", is_flag=True,
              help="Objects are darker than background (phase contrast).")
@click.option("--axes", help="Axes of the movie when metadata lacks them, e.g. TYX.")
@series_option
@click.option("--pixel-size", type=LengthParam(), help="Pixel size (0.24um; a plain "
              "number is µm).")
@click.option("--frame-interval", type=DurationParam(), help="Time between frames (5min).")
@click.option("--channel", type=int, default=None,
              help="Channel, from 0 [default: the first; an RGB image: the mean of its "
                   "colour channels].")
@plane_option("score every pipeline on")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of the bootstrap intervals and of every run.")
@click.option("--overwrite", is_flag=True, help="Replace an existing output folder.")
@click.option("--no-progress", is_flag=True, help="Hide progress bars.")
@_user_errors
def bench_command(movie: Path, gt_path: Path, output: Path, quick: bool,
                  models: tuple[str, ...], no_deep: bool, tracked: int | None,
                  max_frames: int, dark_objects: bool, axes: str | None,
                  series: int | None, pixel_size: tuple[float, ...] | None, frame_interval: float | None,
                  channel: int, plane: str | None, seed: int, overwrite: bool,
                  no_progress: bool) -> None:
    """Rank every pipeline (segmenters x trackers) on MOVIE against its ground truth.

    Segmentation is scored on the annotated frames only (SEG, AP@0.5, DET); the best
    segmenters are tracked on the whole movie with each tracker (DET, TRA, LNK,
    BC(1), division F1). Pipelines within the bootstrap interval of each other are
    shown as ties (rank 1=). The winner is written to OUT/best_config.json:
    `celldyn run --config OUT/best_config.json -o results` runs it. With --plane, one
    z-plane of a z-stack is benchmarked in 2D; ground truth drawn on the whole stack is
    cut to that plane, and the plane is part of the written configuration.
    """
    from dataclasses import replace

    from ..bench import bench, ground_truth_plane, read_ground_truth
    from ..movie import selected
    from ..errors import InputError
    from ..io import read_movie
    from ..io._atomic import atomic_path

    if output.exists() and not overwrite:
        raise InputError(f"{output} already exists; choose another -o folder or pass "
                         "--overwrite")
    mov = read_movie(movie, axes=axes, spacing=pixel_size, frame_interval=frame_interval,
                     series=series)
    if pixel_size is not None and len(pixel_size) == 1:
        mov = mov.with_metadata(spacing=pixel_size * mov.n_spatial)
    gt = read_ground_truth(gt_path)
    if plane is not None:
        gt = ground_truth_plane(gt, mov.plane_index(plane))
    mov, _ = selected(mov, channel=channel, plane=plane)
    result = bench(mov, gt, dark_objects=dark_objects, quick=quick, models=models,
                   deep=not no_deep, n_tracked=tracked, max_frames=max_frames, seed=seed,
                   progress=not no_progress)
    table = result.table()
    click.echo("")
    _print_table(table)
    click.echo("")
    for note in result.notes:
        click.echo(f"  note: {note}")
    c = result.best_config if plane is None else replace(result.best_config, plane=plane)
    inputs = {  # as celldyn run writes run.json's inputs, so --config replays it
        "movie": str(movie.resolve()), "labels_path": None, "axes": axes, "series": series,
        "pixel_size": None if pixel_size is None else list(mov.spacing or pixel_size),
        "frame_interval": frame_interval, **c.to_options(recorded=True),
    }
    best = result.best
    summary = {"best": {"segmenter": best.name, "tracker": best.tracker,
                        "rank": best.rank, "ranked_by": best.primary,
                        "scores": best.scores, "seconds_per_frame": best.seconds_per_frame},
               "gt": str(gt_path.resolve()), "notes": result.notes}
    with atomic_path(output, overwrite=overwrite) as tmp:
        tmp.mkdir(parents=True)
        (tmp / "best_config.json").write_text(json.dumps(
            {"inputs": inputs, "bench": summary}, indent=2, default=float))
        (tmp / "bench.json").write_text(json.dumps(
            {**summary, "rows": table.to_dict(orient="records")}, indent=2, default=float))
        table.to_csv(tmp / "bench.csv", index=False)
    what = best.name + (f" + {best.tracker} tracker" if best.tracker else "")
    click.echo(f"  best: {what} (rank {best.rank} by {best.primary}); run it with: "
               f"celldyn run --config {output / 'best_config.json'} -o RESULTS")
