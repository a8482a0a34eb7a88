"""The ``celldyn`` command: thin shells over the library (read, call, write, summarise).

User mistakes (:class:`celldyn.errors.CelldynError`) end with one line on stderr and
exit code 2; ``--debug`` shows the traceback instead. Any other exception is a bug and
keeps its traceback.
"""

from __future__ import annotations

import contextlib
import json
import math
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import click

from ..errors import CelldynError
from ._common import (SERIES_HELP, SeriesParam, _floats, _show_warning, _user_errors,  # noqa: F401,E501
                      config_options, demo_path)
from ..units import (DurationParam, LengthParam, format_duration, parse_duration,
                     parse_length, parse_lengths)

__all__ = ["main"]


def _spacing_text(spacing: tuple[float, ...] | None) -> str:
    if spacing is None:
        return "unknown"
    return " x ".join(f"{v:g}" for v in spacing) + " µm"


def _pixel_size(value: Any) -> tuple[float, ...] | None:
    """--pixel-size as given on the command line (a tuple) or saved in run.json."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return tuple(parse_length(v) for v in value)
    try:
        return parse_lengths(value)
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="--pixel-size") from None


def _channel_text(movie: Any, channel: int | None) -> str | None:
    """The summary's words for the channel a run segmented (None: one channel)."""
    if "C" not in movie.axes:
        return None
    if channel is None and movie.is_rgb:
        return "the mean of the colour channels R, G, B (--channel N picks one)"
    return (f"{0 if channel is None else channel} of {movie.n_channels} "
            f"(0-{movie.n_channels - 1}; --channel N picks another)")


def _print_summary(result, path: Path | None, seconds: float, source: Any = None,
                   segmented: bool = True, channel: str | None = None) -> None:
    s = result.summary()
    rows = []
    if source is not None:
        rows.append(("movie", str(source)))
    if channel:
        rows.append(("channel", channel))
    m = result.movie
    rows.append(("pixel size, frame interval",
                 f"{_spacing_text(m.spacing)}, "
                 f"{format_duration(m.frame_interval) if m.frame_interval else 'unknown'}"))
    rows += [
        ("frames", f"{s['frames']}"),
        ("objects", f"{s['objects']}"),
        (
            "objects per frame",
            f"{s['objects_per_frame_min']} min, {s['objects_per_frame_mean']:.1f} mean, "
            f"{s['objects_per_frame_max']} max",
        ),
        ("tracks", f"{s['tracks']}"),
        ("divisions", f"{s['divisions']}"),
        ("merges / gaps closed", f"{s['merges']} / {s['gaps_closed']}"),
        ("tracking", s.get("tracking", "")),
    ]
    if s.get("segmentation"):
        rows.insert(1, ("segmentation", s["segmentation"]))
    rows += [(f"time: {k}", f"{v:.2f} s") for k, v in s["seconds"].items()]
    rows.append(("time: total", f"{seconds:.2f} s"))
    if path is not None:
        rows.append(("results", str(path)))
    width = max(len(k) for k, _ in rows)
    click.echo("")
    for k, v in rows:
        click.echo(f"  {k:<{width}}  {v}")
    from ..measure.checks import run_notes

    # count jumps: the pipeline already warned (segment.sanity) when it segmented
    for note in run_notes(result.objects, result.edges, s["frames"], s["tracks"],
                          jumps=not segmented):
        click.echo(f"  note: {note}")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="celldyn")
def main() -> None:
    """Segment, track and measure cells in microscopy movies."""


# Options of `celldyn run` that say how to read the movie (recorded in run.json's
# "inputs" and replayed by --config); the run's parameters are RunConfig's fields
# (config_options), the rest say where to write and how to show progress.
_MOVIE_OPTIONS = (
    click.Option(["--labels", "labels_path"], type=click.Path(path_type=Path),
                 help="Your own segmentation (label movie or folder of mask*.tif); skips "
                 "segmentation."),
    click.Option(["--axes"], help="Axes of the movie when metadata lacks them, e.g. TYX, "
                 "TZYX."),
    click.Option(["--series"], type=SeriesParam(), metavar="N|all",
                 help="Which image series of a multi-series TIFF or bioformats2raw "
                 "OME-Zarr to read (e.g. one stage position), from 0, or 'all': one run "
                 "per series, each in -o/seriesNNN, listed in -o/series.csv. Default: the "
                 "first."),
    click.Option(["--pixel-size"], type=LengthParam(),
                 help="Pixel size: one value or Z,Y,X, with a unit (0.24um, 240nm; a plain "
                 "number is µm)."),
    click.Option(["--frame-interval"], type=DurationParam(),
                 help="Time between frames, with a unit (30s, 5min, 1h; a plain number is "
                 "seconds)."),
)
_MOVIE_KEYS = tuple(o.name for o in _MOVIE_OPTIONS)


def _run_options(f):
    """The options of `celldyn run`: output, the movie's, RunConfig's, then display."""
    first = [click.Option(["-o", "--output"], type=click.Path(path_type=Path),
                          required=True, help="Results folder to create."),
             _MOVIE_OPTIONS[0]]
    last = [*_MOVIE_OPTIONS[1:],
            click.Option(["--overwrite"], is_flag=True,
                         help="Replace an existing results folder."),
            click.Option(["--no-progress"], is_flag=True, help="Hide progress bars.")]
    f.__click_params__ = getattr(f, "__click_params__", []) + last[::-1]
    f = config_options()(f)
    f.__click_params__ += first[::-1]
    return f


def _input_keys() -> tuple[str, ...]:
    """The options saved in run.json["inputs"] and replayed by --config."""
    from ..config import run_options

    return _MOVIE_KEYS + tuple(opt.name for _, opt, _ in run_options())


def _load_config(path: Path) -> dict[str, Any]:
    from ..errors import ConfigError

    try:
        record = json.loads(Path(path).read_text())
        inputs = dict(record["inputs"])
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except (OSError, ValueError, KeyError, TypeError):
        raise ConfigError(
            f"{path} is not a celldyn run.json (no 'inputs' section); pass the run.json "
            "of an earlier run"
        ) from None
    unknown = sorted(set(inputs) - set(_input_keys()) - {"movie"})
    if unknown:
        raise ConfigError(f"{path}: unknown keys {unknown} in 'inputs'")
    return inputs


def _warn_one_stack(movie: Any, movie_path: Any) -> None:
    """One time point of several z-planes: maybe a time-lapse whose frames were saved as
    slices (a common ImageJ export); say how to read it as one before segmenting."""
    if movie.n_frames != 1 or "Z" not in movie.axes:
        return
    nz = int(movie.data.shape[movie.axes.index("Z")])
    stored = str(movie.metadata.get("source_axes") or "")
    hint = (f"--axes {stored.replace('Z', 'T')}" if stored and "T" not in stored
            else "--axes with T in place of Z")
    warnings.warn(f"{Path(str(movie_path)).name} is one time point of {nz} z-planes: "
                  f"nothing will be linked over time; if its planes are time points, "
                  f"pass {hint}")


def _do_run(movie_path: Path, *, output: Path, labels_path=None, axes=None, series=None,
            pixel_size=None, frame_interval=None, overwrite=False, no_progress=False,
            resume=False, units_note=None, workers=None, scheduler=None,
            **options: Any):
    """`celldyn run`: `options` are RunConfig's (:meth:`RunConfig.from_options`)."""
    import shutil

    from ..errors import InputError
    from ..io import read_labels, read_movie
    from ..pipeline import FrameCache, RunConfig, fingerprint, run, write_run

    started = time.perf_counter()
    config = RunConfig.from_options(options)  # a wrong value costs no reading
    if output.exists() and not overwrite:
        raise InputError(f"{output} already exists; choose another -o folder or pass --overwrite")
    spacing = _pixel_size(pixel_size)
    frame_interval = None if frame_interval is None else parse_duration(frame_interval)
    movie = read_movie(movie_path, axes=axes, spacing=spacing, frame_interval=frame_interval,
                       series=series)
    if spacing is not None and len(spacing) == 1:
        movie = movie.with_metadata(spacing=spacing * movie.n_spatial)
    from ..analyze.report import missing_units_message  # the one wording of it

    missing = missing_units_message(movie.spacing, movie.frame_interval)
    if missing:
        warnings.warn(units_note or missing)
    _warn_one_stack(movie, movie_path)
    n_series = int(movie.metadata.get("n_series") or 1)
    if n_series > 1 and series is None:  # e.g. the stage positions of one acquisition
        warnings.warn(f"{Path(movie_path).name} holds {n_series} image series (stage "
                      "positions?); celldyn reads the first (series 0): pick another with "
                      f"--series N (0-{n_series - 1}), or run each with --series all")
    labels = None if labels_path is None else read_labels(labels_path)
    for stale in output.parent.glob(f".{output.name}.*-*"):  # left by a killed run
        if stale.name.split(".")[-1].startswith(("tmp-", "old-")):
            shutil.rmtree(stale, ignore_errors=True)
    work = output.with_name(f".{output.name}.partial")
    if work.exists() and not resume:
        shutil.rmtree(work)
    cache = None if labels is not None else FrameCache(
        work, fingerprint(movie, config, source=movie_path))
    if resume and cache is not None and len(cache):
        click.echo(f"resuming: {len(cache)} of {movie.n_frames} frames already segmented",
                   err=True)
    with _dask_client(workers, scheduler, movie) as client:
        result = run(movie, config=config, labels=labels, progress=not no_progress,
                     cache=cache, client=client)
    inputs = {
        "movie": str(Path(movie_path).resolve()),
        "labels_path": None if labels_path is None else str(Path(labels_path).resolve()),
        "axes": axes, "series": series,
        "pixel_size": None if spacing is None else list(spacing),
        "frame_interval": frame_interval, **config.to_options(recorded=True),
    }
    write_run(result, output, source=str(Path(movie_path).resolve()), overwrite=overwrite,
              progress=not no_progress, inputs=inputs)
    shutil.rmtree(work, ignore_errors=True)
    source = (f"{movie_path} (series {movie.metadata.get('series', 0)} of {n_series})"
              if n_series > 1 else movie_path)
    _print_summary(result, output, time.perf_counter() - started, source=source,
                   segmented=labels_path is None,
                   channel=_channel_text(movie, config.channel))
    return result


# Execution (issue 19): where the work runs; not part of the run's inputs or
# fingerprint (the results are the same on any of them).
_EXECUTION_HELP = {
    "workers": "Run on a dask LocalCluster of N worker processes (N=1: one worker "
               "thread in this process). Default: in this process, or one worker per CPU "
               "for a movie over a quarter of memory.",
    "scheduler": "Run on an existing dask.distributed cluster, e.g. tcp://HOST:8786 "
                 "(the workers must see the movie and the -o folder).",
}


@contextlib.contextmanager
def _dask_client(workers, scheduler, movie):
    """A dask client for `--workers` / `--scheduler` (or picked for a movie larger than
    a quarter of memory), None for the plain in-process run; says what it picked."""
    from ..scale import auto_workers, connect

    if workers is None and scheduler is None:
        nbytes = math.prod(movie.data.shape) * movie.data.dtype.itemsize
        workers = auto_workers(nbytes) if hasattr(movie.data, "dask") else 0
        if not workers:
            yield None
            return
    with connect(workers=workers, scheduler=scheduler) as (client, note):
        click.echo(f"running on {note}", err=True)
        yield client


@main.command("run")
@click.argument("movie", required=False)
@_run_options
@click.option("--workers", type=click.IntRange(min=1), help=_EXECUTION_HELP["workers"])
@click.option("--scheduler", metavar="ADDRESS", help=_EXECUTION_HELP["scheduler"])
@click.option("--resume", is_flag=True,
              help="Continue an interrupted run into the same -o folder, reusing the "
              "frames it finished.")
@click.option("--config", "config_path", type=click.Path(path_type=Path),
              help="Re-run with the inputs and parameters of a run.json; flags given "
              "here override it.")
@_user_errors
def run_command(movie: str | None, config_path: Path | None, **kwargs: Any) -> None:
    """Segment, track and measure MOVIE; write the results folder.

    MOVIE is a TIFF / OME-TIFF / ImageJ hyperstack, an OME-Zarr, a CTC folder of
    t000.tif files, a folder of .tif / .png / .jpg files (one per frame, in the order of
    the number in their names) or one .png / .jpg image (with --config, the movie of
    that run by default). `celldyn demo`
    runs the embedded demo movie.
    """
    from ..errors import InputError

    if movie is not None and not movie.strip():
        raise InputError("the MOVIE argument is empty; pass a movie file or folder "
                         "(`celldyn demo` runs the embedded demo)")
    if config_path is not None:
        ctx = click.get_current_context()
        saved = _load_config(config_path)
        for key in _input_keys():
            source = ctx.get_parameter_source(key)
            if source is not click.core.ParameterSource.COMMANDLINE and key in saved:
                kwargs[key] = saved[key]
        if movie is None:
            movie = saved["movie"]
    if movie is None:
        raise InputError("no MOVIE given; pass a movie file or folder, e.g. celldyn run "
                         "movie.tif -o results (`celldyn demo` runs the embedded demo)")
    try:
        if kwargs.get("series") == "all":
            _run_all_series(Path(movie), kwargs)
        else:
            _do_run(Path(movie), **kwargs)
    except KeyboardInterrupt:
        _interrupted(kwargs.get("output"))


def _run_all_series(movie_path: Path, kwargs: dict[str, Any]) -> None:
    """`--series all`: one run per image series (stage position) of `movie_path`, each
    written to ``-o/seriesNNN`` as a run of its own, then ``-o/series.csv`` (one row per
    series: its folder and counts). A series that fails with a user error (an empty
    position, say) does not stop the others; the command then exits 2 naming it. With
    --resume, series whose folder is complete are kept."""
    import pandas as pd

    from .._atomic import atomic_path
    from ..errors import InputError
    from ..io import series_count

    output: Path = kwargs["output"]
    if output.exists() and not (kwargs.get("overwrite") or kwargs.get("resume")):
        raise InputError(f"{output} already exists; choose another -o folder or pass "
                         "--overwrite")
    n = series_count(movie_path)   # headers and metadata only: no series is loaded
    width = max(3, len(str(n - 1)))
    created = not output.exists()
    output.mkdir(parents=True, exist_ok=True)
    rows, failed = [], []
    for s in range(n):
        folder = output / f"series{s:0{width}d}"
        row = {"series": s, "folder": folder.name}
        if kwargs.get("resume") and (folder / "run.json").is_file():
            click.echo(f"series {s} ({s + 1} of {n}): already done in {folder}", err=True)
            summary = json.loads((folder / "run.json").read_text()).get("summary", {})
        else:
            click.echo(f"series {s} ({s + 1} of {n}) -> {folder}", err=True)
            try:
                summary = _do_run(movie_path, **{**kwargs, "series": s,
                                                 "output": folder}).summary()
            except CelldynError as err:
                if n == 1:   # one series: its error is the command's, as without --series
                    if created and not any(output.iterdir()):
                        output.rmdir()
                    raise
                failed.append(f"series {s}: {err}")
                click.echo(f"Error (series {s}): {err}", err=True)
                rows.append({**row, "error": str(err)})
                continue
        rows.append({**row, **{k: summary.get(k) for k in (
            "frames", "objects", "tracks", "divisions")}, "error": ""})
    with atomic_path(output / "series.csv") as tmp:
        table = pd.DataFrame(rows, columns=["series", "folder", "frames", "objects",
                                            "tracks", "divisions", "error"])
        counts = ["frames", "objects", "tracks", "divisions"]
        table[counts] = table[counts].astype("Int64")  # a failed series: empty, not NaN
        table.to_csv(tmp, index=False)
    click.echo(f"{n - len(failed)} of {n} series written under {output} "
               f"(list: {output / 'series.csv'})")
    if failed:
        raise InputError(f"{len(failed)} of {n} series failed ({'; '.join(failed)})")


def _interrupted(output: Path | None) -> None:
    """Ctrl-C: say how to continue, exit 130 (the shell's code for SIGINT)."""
    import shlex

    prog = sys.argv[0] if Path(sys.argv[0]).name == "celldyn" else "celldyn"
    args = shlex.join([a for a in sys.argv[1:] if a != "--resume"])
    click.echo("", err=True)
    click.echo(f"Interrupted. The frames segmented so far are kept; continue with: "
               f"{prog} {args} --resume", err=True)
    sys.exit(130)


@main.command("demo")
@click.option("-o", "--output", type=click.Path(path_type=Path), default=Path("demo-results"),
              show_default=True, help="Results folder to create.")
@click.option("--overwrite", is_flag=True, help="Replace an existing results folder.")
@click.option("--no-progress", is_flag=True, help="Hide progress bars.")
@_user_errors
def demo_command(output: Path, overwrite: bool, no_progress: bool) -> None:
    """Run the pipeline on the embedded demo movie and score it against its ground truth.

    The movie is a 320x320, 40-frame crop of a phase-contrast E. coli colony
    (van Vliet et al., Cell Systems 2018), with its tracking ground truth.
    """
    folder = demo_path()
    params = json.loads((folder / "params.json").read_text())
    click.echo(f"celldyn demo: {params['source']}")
    _do_run(folder / "movie.ome.tif", output=output, dark_objects=params["dark_objects"],
            overwrite=overwrite, no_progress=no_progress, units_note=params.get("units"))
    _evaluate(output, folder / "gt")


@main.command("example-data")
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--overwrite", is_flag=True, help="Replace an existing folder.")
@_user_errors
def example_data_command(folder: Path, overwrite: bool) -> None:
    """Write the embedded demo's files into FOLDER, to try the commands on.

    FOLDER/movie.tif is the demo movie as a plain TIFF without metadata (so it needs
    --axes TYX), FOLDER/labels.tif its ground-truth segmentation as a label movie, and
    FOLDER/gt/ its Cell Tracking Challenge ground truth (TRA/ and SEG/) for
    `celldyn evaluate`. The movie is a 40-frame crop of a phase-contrast E. coli colony
    (van Vliet et al., Cell Systems 2018); its objects are dark (--dark-objects).
    """
    import shutil

    import numpy as np
    import tifffile

    from ..errors import InputError
    from ..io import read_ctc_gt, read_movie
    from ..io._atomic import atomic_path

    if folder.exists() and not overwrite:
        raise InputError(f"{folder} already exists; choose another folder or pass --overwrite")
    src = demo_path()
    movie = read_movie(src / "movie.ome.tif")
    labels = read_ctc_gt(src / "gt")[0]
    with atomic_path(folder, overwrite=overwrite) as tmp:
        tmp.mkdir(parents=True)
        tifffile.imwrite(tmp / "movie.tif", np.asarray(movie.data), metadata=None,
                         compression="zlib")
        tifffile.imwrite(tmp / "labels.tif", labels.astype(np.uint16), metadata=None,
                         compression="zlib")
        shutil.copytree(src / "gt", tmp / "gt")
    click.echo(f"wrote {folder}/movie.tif ({movie.n_frames} frames, "
               f"{'x'.join(map(str, movie.frame_shape))} px), {folder}/labels.tif and "
               f"{folder}/gt/")


@main.command("export")
@click.argument("results", type=click.Path(path_type=Path))
@click.option("--to", "fmt", type=click.Choice(["trackmate", "napari"]), required=True,
              help="trackmate: TrackMate XML (Fiji: Plugins > Tracking > Load a "
              "TrackMate file); napari: tracks CSV for a napari Tracks layer.")
@click.option("-o", "--output", type=click.Path(path_type=Path),
              help="File to write. Default: RESULTS/tracks.trackmate.xml or "
              "RESULTS/tracks.napari.csv.")
@_user_errors
def export_command(results: Path, fmt: str, output: Path | None) -> None:
    """Export the tracks of RESULTS (a celldyn run folder) to TrackMate or napari."""
    from ..errors import FileFormatError
    from ..io import read_parquet, read_track_table
    from ..io.napari_tracks import write_napari_tracks
    from ..io.trackmate import write_trackmate

    needed = [results / "objects.parquet", results / "ctc" / "res_track.txt"]
    if not all(p.exists() for p in needed):
        raise FileFormatError(f"{results} is not a celldyn results folder (no "
                              "objects.parquet and ctc/); pass what `celldyn run -o` wrote")
    objects = read_parquet(results / "objects.parquet")
    tracks = read_track_table(results / "ctc" / "res_track.txt")
    if fmt == "napari":
        path = write_napari_tracks(output or results / "tracks.napari.csv", objects, tracks)
    else:
        record = json.loads((results / "run.json").read_text())
        movie = record.get("movie", {})
        path = write_trackmate(output or results / "tracks.trackmate.xml", objects, tracks,
                               spacing=movie.get("spacing"),
                               frame_interval=movie.get("frame_interval"),
                               image_shape=movie.get("shape"), source=record.get("source", ""))
    click.echo(f"wrote {path}")


def _evaluate(results: Path, gt: Path) -> dict[str, Any]:
    from ..errors import FileFormatError
    from ..evaluate import evaluate_ctc
    from ..io import read_ctc_gt, read_ctc_result

    if not results.exists():
        raise FileFormatError(f"{results} does not exist; pass a results folder from celldyn run")
    res_folder = results / "ctc" if (results / "ctc").is_dir() else results
    if not (Path(gt) / "TRA").is_dir():  # a label movie or mask folder: SEG only
        return _evaluate_seg_only(results, res_folder, Path(gt))
    gt_labels, gt_table, gt_seg = read_ctc_gt(gt)
    frames = _run_frames(results)
    if frames:   # a run of some frames (--frames): the ground truth of those frames
        from ..bench import GroundTruth, ground_truth_frames

        cut = ground_truth_frames(GroundTruth(gt_labels, gt_table, dict(gt_seg)), frames)
        gt_labels, gt_table, gt_seg = cut.tra, cut.table, cut.seg
    res_labels, res_table = read_ctc_result(res_folder)
    if tuple(gt_labels.shape) != tuple(res_labels.shape):
        raise FileFormatError(
            f"the ground truth in {gt} has shape {tuple(gt_labels.shape)} but the results "
            f"in {res_folder} have {tuple(res_labels.shape)}; pass the ground truth of the "
            "same movie (same frames and size)"
        )
    # a ground truth of markers only (TRA/, no SEG/) scores the tracking, not SEG
    scores = evaluate_ctc(gt_labels, gt_table, res_labels, res_table, gt_seg=gt_seg or None)
    from ..evaluate import lineage_scores  # divisions, BC(i), CT, CCA (issue 16)
    from ..io._atomic import atomic_path

    scores.update(lineage_scores(gt_labels, gt_table, res_labels, res_table))
    with atomic_path(results / "evaluation.json") as tmp:
        tmp.write_text(json.dumps({"gt": str(gt), **scores}, indent=2, default=float))
    click.echo("")
    for key in ("SEG", "DET", "TRA", "LNK", "BC(1)", "CT", "CCA"):
        if scores.get(key) is not None and scores[key] == scores[key]:  # not NaN
            click.echo(f"  {key:<6} {scores[key]:.4f}")
    f = lambda v: "n/a" if v != v else f"{v:.3f}"  # noqa: E731
    if not gt_seg:
        click.echo(f"  SEG    n/a ({gt.name} has no SEG/ masks: tracking scores only)")
    click.echo(f"  divisions  precision {f(scores['div_precision'])}, recall "
               f"{f(scores['div_recall'])}, F1 {f(scores['div_F1'])} (TP {scores['div_TP']}, "
               f"FP {scores['div_FP']}, FN {scores['div_FN']}; +-1 frame)")
    click.echo(f"  written to {results / 'evaluation.json'}")
    _update_report(results)
    return scores


def _run_frames(results: Path) -> str | None:
    """The ``--frames`` of a celldyn run folder (its run.json), or None (a CTC result
    folder has no run.json)."""
    from ..io import read_run_record

    return (read_run_record(results).get("config") or {}).get("frames") or None


def _update_report(results: Path) -> None:
    """A celldyn run folder's report.html shows the scores just written."""
    if (results / "run.json").is_file() and (results / "objects.parquet").is_file():
        from ..outputs import write_report

        try:
            write_report(results)
            click.echo(f"  report updated: {results / 'report.html'}")
        except CelldynError as err:  # e.g. the movie moved: the scores are written
            click.echo(f"  report not updated ({err}); run celldyn report {results}")


def _evaluate_seg_only(results: Path, res_folder: Path, gt: Path) -> dict[str, Any]:
    """SEG of `results` against segmentation-only ground truth (a CTC SEG/ folder without
    TRA/, a label movie, or label images named by frame: celldyn.bench's reader)."""
    from ..bench import check_ground_truth, ground_truth_frames, read_ground_truth
    from ..evaluate import seg_score
    from ..io import read_ctc_result
    from ..io._atomic import atomic_path

    truth = read_ground_truth(gt)   # the ground truth first: its errors name it
    frames = _run_frames(results)
    if frames:                      # a run of some frames: their annotations, renumbered
        truth = ground_truth_frames(truth, frames)
    res_labels, _ = read_ctc_result(res_folder)
    truth = check_ground_truth(truth, tuple(res_labels.shape))  # bench's shape checks
    scores = {"SEG": seg_score(truth.seg, res_labels), "frames_scored": sorted(truth.seg)}
    with atomic_path(results / "evaluation.json") as tmp:
        tmp.write_text(json.dumps({"gt": str(gt), **scores, "notes": truth.notes},
                                  indent=2, default=float))
    click.echo("")
    click.echo(f"  SEG    {scores['SEG']:.4f} ({len(truth.seg)} annotated frame(s))")
    click.echo("  DET, TRA, LNK, divisions: n/a (no tracking ground truth: that needs a "
               "CTC TRA/ folder with man_track.txt)")
    click.echo(f"  written to {results / 'evaluation.json'}")
    _update_report(results)
    return scores


@main.command("evaluate")
@click.argument("results", type=click.Path(path_type=Path))
@click.option("--gt", type=click.Path(path_type=Path), required=True,
              help="CTC ground-truth folder (TRA/, and SEG/ for SEG); for SEG only, a "
                   "SEG/ folder alone, a label movie or a folder of label images named by "
                   "frame (mask_005.png).")
@_user_errors
def evaluate_command(results: Path, gt: Path) -> None:
    """Score RESULTS (a celldyn run folder or CTC result folder): SEG, DET, TRA, LNK,
    BC(i), CT, CCA and division precision / recall / F1 (SEG only against segmentation
    ground truth without TRA/)."""
    _evaluate(results, gt)


# Subcommands from the modules below main (they import only cli._common), registered
# here explicitly: `celldyn --help` lists exactly these.
from .analyze import plot_command, report_command  # noqa: E402
from .annotate import annotate_next_command  # noqa: E402
from .bench import bench_command  # noqa: E402
from .classify import explain_command  # noqa: E402
from .denoise import denoise_command  # noqa: E402
from .methods import methods_command  # noqa: E402
from .models import models_command  # noqa: E402
from .train import train  # noqa: E402

for _command in (train, explain_command, report_command, plot_command, methods_command,
                 denoise_command, bench_command, annotate_next_command, models_command):
    main.add_command(_command)

if __name__ == "__main__":  # pragma: no cover
    main()
