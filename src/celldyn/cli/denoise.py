"""``celldyn denoise``: read a movie, denoise every channel, write TIFF or OME-Zarr.

A thin shell over :func:`celldyn.denoise.denoise_movie` /
:func:`celldyn.denoise.train_denoiser`; the output has the input's shape and axes, as
float32, written to a temporary sibling and renamed (io's atomic writers).
"""

from __future__ import annotations

import time
from pathlib import Path

import click

from ._common import _user_errors, series_option

__all__ = ["denoise_command"]


def _output_format(path: Path) -> str:
    from ..errors import ConfigError

    name = path.name.lower()
    if name.endswith(".zarr"):
        return "zarr"
    if name.endswith((".tif", ".tiff")):
        return "tiff"
    raise ConfigError(f"-o {path}: the suffix must say the format: .ome.zarr / .zarr "
                      "(OME-Zarr) or .tif / .ome.tif (OME-TIFF)")


@click.command("denoise")
@click.argument("movie", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="Output movie: .ome.zarr / .zarr or .tif / .ome.tif.")
@click.option("--method", type=click.Choice(["nlmeans", "n2v", "temporal", "tv"]),
              default="nlmeans", show_default=True,
              help="nlmeans / tv: scikit-image, per frame. n2v: blind-spot U-Net trained "
              "on this movie (it also sees the neighbouring frames, see --context). "
              "temporal: predicts each frame from its neighbours only (static or slow "
              "scenes; fast motion blurs).")
@click.option("--axes", help="Axes of the movie when metadata lacks them, e.g. TYX, TZYX.")
@series_option
@click.option("--epochs", type=click.IntRange(min=1), default=None,
              help="n2v / temporal: training epochs (50 steps each); default 20 for n2v, "
              "10 for temporal.")
@click.option("--context", type=click.IntRange(min=0), default=None,
              help="n2v: neighbouring frames on each side the network also sees (0: each "
              "frame alone); default: celldyn.denoise.DEFAULT_CONTEXT, as the movie's "
              "length allows.")
@click.option("--model", "model_path", type=click.Path(path_type=Path),
              help="n2v / temporal: reuse weights saved with --save-model (no training).")
@click.option("--save-model", type=click.Path(path_type=Path),
              help="n2v / temporal: save the trained weights (.pt) for other movies.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--overwrite", is_flag=True, help="Replace an existing output.")
@click.option("--no-progress", is_flag=True, help="Hide progress bars.")
@_user_errors
def denoise_command(movie: Path, output: Path, method: str, axes: str | None,
                    series: int | None, epochs: int | None,
                    context: int | None, model_path: Path | None, save_model: Path | None,
                    seed: int, overwrite: bool, no_progress: bool) -> None:
    """Denoise MOVIE and write it to OUTPUT (same shape and axes, float32)."""
    import numpy as np

    from .._atomic import atomic_path
    from ..denoise import Denoiser, denoise_movie, train_denoiser
    from ..errors import ConfigError, InputError
    from ..io import read_movie, write_ome_zarr, write_tiff

    started = time.perf_counter()
    fmt = _output_format(output)
    if output.exists() and not overwrite:
        raise InputError(f"{output} already exists; choose another -o or pass --overwrite")
    learned = method in ("n2v", "temporal")
    if (model_path or save_model) and not learned:
        raise ConfigError("--model / --save-model apply to --method n2v or temporal")
    if context is not None and (method != "n2v" or model_path is not None):
        raise ConfigError("--context applies to --method n2v when it trains (a saved "
                          "model keeps the context it was trained with)")
    src = read_movie(movie, axes=axes, series=series)
    data = np.asarray(src.data)
    channels = range(src.n_channels)
    out = np.empty(data.shape, np.float32)
    progress = not no_progress
    for c in channels:
        frames = data[:, c] if "C" in src.axes else data
        if learned:
            import torch

            if model_path is not None:
                try:
                    state = torch.load(model_path, map_location="cpu", weights_only=True)
                except (OSError, RuntimeError) as err:
                    raise ConfigError(f"--model {model_path}: cannot load ({err})") from None
                model = Denoiser.from_state(state)
                if model.method != method:
                    raise ConfigError(f"--model {model_path} is a {model.method} model; "
                                      f"pass --method {model.method}")
            else:
                model = train_denoiser(frames, method=method,  # type: ignore[arg-type]
                                       epochs=epochs, seed=seed, progress=progress,
                                       context=context)
                if save_model is not None:
                    target = save_model if src.n_channels == 1 else \
                        save_model.with_name(f"{save_model.stem}_c{c}{save_model.suffix}")
                    with atomic_path(target) as tmp:
                        torch.save(model.state, tmp)
            result = model(frames, progress=progress)
        else:
            result = denoise_movie(frames, method=method)
        if "C" in src.axes:
            out[:, c] = result
        else:
            out[:] = result
    denoised = type(src)(data=out, axes=src.axes, spacing=src.spacing,
                         frame_interval=src.frame_interval, name=output.name)
    if fmt == "zarr":
        write_ome_zarr(output, denoised, overwrite=overwrite)
    else:
        write_tiff(output, denoised, overwrite=overwrite)
    seen = (f" (it saw {model.context} frame(s) on each side)" if learned and
            method == "n2v" else "")
    click.echo(f"denoised {src.axes} {'x'.join(map(str, out.shape))} with {method}{seen} in "
               f"{time.perf_counter() - started:.1f} s: {output}")
