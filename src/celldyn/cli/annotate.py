"""``celldyn annotate-next``: the crops of a movie whose annotation should help most.

A thin shell over :func:`celldyn.active.propose_crops` and
:func:`celldyn.active.write_proposals` (the uncertainty and diversity rules are
explained there). The loop: correct ``OUT/labels/*.tif`` (napari), then
``celldyn train segment --continue OUT``, then ``celldyn annotate-next`` again with
``--model OUT/model --exclude OUT``.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from ._common import _user_errors, plane_option, series_option

__all__ = ["annotate_next_command"]


@click.command("annotate-next")
@click.argument("movie", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="Folder to write the proposed crops to.")
@click.option("--model", default="generalist2d", show_default=True,
              help="Deep model to improve: a shipped name (default: the one `--segmenter "
                   "auto` runs) or a folder from `celldyn train segment`.")
@click.option("-n", "n", type=click.IntRange(1), default=5, show_default=True,
              help="Crops to propose.")
@click.option("--crop", type=click.IntRange(16), default=256, show_default=True,
              help="Crop side in pixels.")
@click.option("--max-frames", type=click.IntRange(1), default=20, show_default=True,
              help="Frames considered (evenly spread over the movie).")
@click.option("--diameter", type=float, default=None,
              help="Object diameter in pixels [default: the model's scale probe].")
@click.option("--n-aug", type=click.IntRange(2, 8), default=8, show_default=True,
              help="Test-time augmentations (flips and 90° rotations) for the "
                   "uncertainty.")
@click.option("--exclude", "exclude", multiple=True, type=click.Path(path_type=Path),
              help="Folder of an earlier round: its crops are not proposed again "
                   "(repeatable).")
@click.option("--dark-objects", is_flag=True,
              help="Objects are darker than background, for models trained on bright "
                   "objects (nuclei2d); generalist2d takes raw polarity.")
@click.option("--axes", help="Axes of the movie when metadata lacks them, e.g. TYX.")
@series_option
@click.option("--channel", type=int, default=None,
              help="Channel, from 0 [default: the first; an RGB image: the mean of its "
                   "colour channels].")
@plane_option("propose crops of")
@click.option("--overwrite", is_flag=True, help="Replace an existing output folder.")
@click.option("--no-progress", is_flag=True, help="Hide progress bars.")
@_user_errors
def annotate_next_command(movie: Path, output: Path, model: str, n: int, crop: int,
                          max_frames: int, diameter: float | None, n_aug: int,
                          exclude: tuple[Path, ...], dark_objects: bool, axes: str | None,
                          series: int | None, channel: int, plane: str | None, overwrite: bool,
                          no_progress: bool) -> None:
    """Propose the N crops of MOVIE to annotate next, with the model's current
    prediction as a starting label (OUT/images, OUT/labels, OUT/manifest.json).

    First round: the most typical crop of each cluster of the model's features;
    later rounds (--exclude): disagreement of the model's maps under flips and 90°
    rotations, weighted by typicality, one crop per cluster not annotated yet. Correct
    OUT/labels/*.tif (napari), then fine-tune: celldyn train segment --continue OUT
    """
    from .._optional import require_torch
    from ..active import MANIFEST, propose_crops, write_proposals
    from ..errors import InputError
    from ..io import read_movie
    from ..movie import selected

    require_torch("celldyn annotate-next")
    if output.exists() and not overwrite:
        raise InputError(f"{output} already exists; choose another -o folder or pass "
                         "--overwrite")
    done = []
    for folder in exclude:
        try:
            manifest = json.loads((Path(folder) / MANIFEST).read_text())
        except (OSError, ValueError):
            raise InputError(f"--exclude {folder}: no readable {MANIFEST} (pass a folder "
                             "written by celldyn annotate-next)") from None
        if manifest.get("plane") == plane:   # crops of another plane are other images
            done += [(int(p["frame"]), *map(int, p["box"]))
                     for p in manifest["proposals"]]
    from .._validate import check_movie

    whole = read_movie(movie, axes=axes, series=series)
    mov, _ = selected(whole, channel=channel, plane=plane)
    mov = check_movie(mov, whole=whole, channel=channel)  # NaN filled; a noise-only channel
    proposals, info = propose_crops(
        mov, model=model, n=n, crop=crop, max_frames=max_frames,
        diameter="auto" if diameter is None else diameter, n_aug=n_aug, exclude=done,
        dark_objects=dark_objects, progress=not no_progress)
    write_proposals(output, proposals, {**info, "plane": plane},
                    source=str(movie.resolve()),
                    overwrite=overwrite)
    click.echo(f"proposed {len(proposals)} of {info['candidates']} crops "
               f"({info['crop']} px, frames {info['frames'][0]}..{info['frames'][-1]}):")
    for p in proposals:
        click.echo(f"  {p.name}: frame {p.frame}, uncertainty {p.uncertainty:.4f}, "
                   f"{p.n_predicted} objects predicted")
    click.echo(f"correct {output}/labels/*.tif (napari: open images/NAME.tif, then "
               f"labels/NAME.tif as Labels), then: celldyn train segment --continue {output}")
