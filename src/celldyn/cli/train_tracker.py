"""``celldyn train tracker``: train the learned association model on tracked GT.

A thin shell: reads CTC ground truth (``NN_GT`` folders; the raw ``NN`` folder beside
each is used for intensities when present), builds examples with
:func:`celldyn.training.examples_from_gt` (and :mod:`celldyn.training.simulated`), trains with
:func:`celldyn.training.train_association` and writes ``weights.pt``,
``config.json`` and ``CARD.md`` into ``--out``.
"""

from __future__ import annotations

import time
from pathlib import Path

import click

from ._common import _user_errors

__all__ = ["train_tracker_command"]


def _steps(text: str) -> tuple[int, ...]:
    try:
        steps = tuple(sorted({int(v) for v in text.split(",") if v.strip()}))
    except ValueError:
        raise click.BadParameter(f"expected integers like 1,2,4; got {text!r}",
                                 param_hint="--subsample") from None
    if not steps or min(steps) < 1:
        raise click.BadParameter(f"expected positive integers; got {text!r}",
                                 param_hint="--subsample")
    return steps


def _card(command: str, rows: list[dict], model, history: list[float]) -> str:
    cfg = model.config
    lines = [
        "# celldyn learned tracker (association model)",
        "",
        ("Scores candidate links (`celldyn.track.candidate_links`) with the probability "
        "of being a true link; `-log p` replaces the hand-made link costs in "
        "`track_lap` / `track_global` (`celldyn.track.learned.track_learned`)."),
        "",
        "## Model",
        (f"- attention over competing candidates (same source / same target), hidden "
        f"{cfg['hidden']}, {cfg['layers']} blocks, {cfg['heads']} heads; "
        f"{len(cfg['features'])} features: {', '.join(cfg['features'])}"),
        (f"- candidates for training: max_distance = {cfg['max_distance_factor']} x median "
        "object diameter, max_gap = 2; use the same rule at inference"),
        f"- weights sha256: `{cfg.get('sha256', '')}`",
        "",
        "## Training data (training split)",
        "",
        "| example | candidates | GT links among them | recall of GT links |",
        "|---|---|---|---|",
    ]
    lines += [f"| {r['name']} | {r['rows']} | {r['positives']} | {r['recall']:.4f} |"
              for r in rows]
    lines += [
        "",
        ("`@xk`: every k-th frame kept (CTC table rebuilt); `(no masks)`: the same "
        "candidates without the label-movie feature (IoU)."),
        "",
        "## Command",
        "",
        f"    {command}",
        "",
        (f"seed {cfg['seed']}, {cfg['epochs']} epochs, Adam lr {cfg['lr']} (cosine), "
        f"deterministic algorithms; final training loss {history[-1]:.4f}; "
        f"training time {cfg['train_seconds']} s on 1 CPU thread."),
        "",
    ]
    return "\n".join(lines)


@click.command("tracker")
@click.option("--gt", "gt_folders", multiple=True, required=True,
              type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="CTC ground-truth folder (NN_GT with TRA/); repeat for several.")
@click.option("--out", "out", type=click.Path(path_type=Path), default=Path("tracker_model"),
              show_default=True, help="Output folder for weights.pt, config.json, CARD.md.")
@click.option("--simulated", type=click.IntRange(min=0), default=0, show_default=True,
              help="Also train on this many simulated movies (with divisions).")
@click.option("--colonies", type=click.IntRange(min=0), default=0, show_default=True,
              help="Also train on this many simulated bacterial colonies (dense, dividing "
                   "rods; every step of --subsample).")
@click.option("--subsample", default="1,2,4", show_default=True,
              help="Frame steps to train on (every k-th frame), comma-separated.")
@click.option("--epochs", type=int, default=15, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--overwrite", is_flag=True, help="Replace an existing output folder.")
@_user_errors
def train_tracker_command(gt_folders: tuple[Path, ...], out: Path, simulated: int,
                          colonies: int, subsample: str, epochs: int, seed: int,
                          overwrite: bool) -> None:
    """Train the learned association model on your tracked ground truth (CTC)."""
    from ..errors import ConfigError
    from ..io import read_ctc_gt, read_ctc_movie
    from ..training import (colony_examples, examples_from_gt, simulated_examples,
                            train_association)

    steps = _steps(subsample)
    if out.exists() and not overwrite:
        raise ConfigError(f"{out} already exists; use --overwrite to replace it")
    if epochs < 1:
        raise click.BadParameter("must be at least 1", param_hint="--epochs")
    start = time.perf_counter()
    examples = []
    for folder in gt_folders:
        labels, table, _ = read_ctc_gt(folder)
        raw = folder.parent / folder.name.removesuffix("_GT")
        movie = None
        if raw != folder and raw.is_dir():
            movie = read_ctc_movie(raw).data
            if movie.shape != labels.shape:
                movie = None
        name = folder.resolve().parent.name + "/" + folder.name
        for step in steps:
            examples += examples_from_gt(labels, table, movie=movie, name=name, step=step)
    if simulated:
        examples += simulated_examples(simulated, seed=seed,
                                       steps=[s for s in steps if s <= 2] or [1])
    if colonies:
        examples += colony_examples(colonies, seed=seed, steps=steps)
    click.echo(f"{len(examples)} examples, {sum(len(e.y) for e in examples)} candidate "
               f"links ({time.perf_counter() - start:.0f} s)")
    model, history = train_association(examples, epochs=epochs, seed=seed,
                                       log=click.echo)
    rows = [{"name": e.name, "rows": len(e.y), "positives": int(e.y.sum()),
             "recall": e.recall} for e in examples]
    model.config["trained_on"] = rows
    command = (
        "celldyn train tracker " + " ".join(f"--gt {g}" for g in gt_folders)
        + f" --simulated {simulated}"
        + (f" --colonies {colonies}" if colonies else "")
        + f" --subsample {','.join(map(str, steps))}"
        + f" --epochs {epochs} --seed {seed} --out {out}"
    )
    model.config["command"] = command
    model.save(out, overwrite=True)  # writes sha256 into config
    (out / "CARD.md").write_text(_card(command, rows, model, history))
    click.echo(f"wrote {out} (final loss {history[-1]:.4f})")
