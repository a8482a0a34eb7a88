"""Behaviour pin (issue 14, item 7): the run folders of the simulated test movie and of
the embedded demo are byte-identical to the pinned ones.

What is excluded, and why:

- ``run.json``: ``summary.seconds`` (wall-clock timings); the report's "Timings"
  table (the same numbers).
- Absolute paths (the temporary folder of the test, the checkout holding the demo)
  are replaced by placeholders in text files: they name where the test ran, not what
  the run computed.
- ``run.json``: ``machine`` (the platform string names the host's kernel build: the
  pin failed on a machine whose kernel differed only in its build tag, with every
  computed byte the same).
- Floats of tables (objects.parquet, the .csv files) beyond :data:`FLOAT_DIGITS`
  significant digits: their last bits depend on the CPU (the pin failed on another
  CPU with nothing else changed); the parquet file is digested as its columns' types
  and values, not its bytes.
- The versions of the packages a run records (``run.json``'s ``versions`` and the
  report's "Versions" table: which packages stay pinned, not their versions): a fresh
  install takes the registry's newest releases, and the pin failed in a clean clone
  when dask and pandas had a patch release, every computed byte the same. An upgrade
  that changes what a run computes still fails here, through the files it changes.

Re-pin (after an intended change of behaviour, e.g. new tracking defaults)::

    PYTHONPATH=src python tests/test_run_folder_hashes.py --repin

which rewrites ``tests/data/run_folder_hashes.json``; review its diff.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from pathlib import Path

import pytest

PINS = Path(__file__).with_name("data") / "run_folder_hashes.json"

# name -> extra CLI arguments of `celldyn run` on the simulated movie ("demo": `celldyn demo`)
CASES = {
    "sim_lap": ["--tracker", "lap"],
    "sim_global": ["--tracker", "global"],
    "sim_learned": ["--tracker", "learned"],
    "sim_deep": ["--segmenter", "deep"],
    "demo": None,
}
_TEXT = (".json", ".html", ".txt", ".csv")


FLOAT_DIGITS = 8
"""Significant digits of the floats of tables (objects.parquet, the .csv files) that the
digest keeps: their last bits differ between CPUs (vectorised sums in another order),
so the pin failed on an AMD machine with every table equal to 8 digits."""
_FLOAT = re.compile(r"(?<![\w.])-?\d+\.\d+(?:[eE][-+]?\d+)?")


def _rounded(text: str) -> str:
    """Float literals of `text` to FLOAT_DIGITS significant digits; below 1e-9 in
    magnitude, 0 (a difference that is exactly 0 on one CPU is 1e-16 on another)."""
    def one(m: re.Match) -> str:
        v = float(m.group())
        return "0" if abs(v) < 1e-9 else f"{v:.{FLOAT_DIGITS}g}"

    return _FLOAT.sub(one, text)


def _digest_file(path: Path, replace: dict[str, str]) -> str:
    data = path.read_bytes()
    if path.suffix == ".parquet":
        import pandas as pd

        table = pd.read_parquet(path)
        data = (str(table.dtypes.to_dict()) + _rounded(
            table.to_csv(index=False, float_format="%.17g"))).encode("utf-8")
    if path.suffix in _TEXT or path.name in (".zattrs", ".zgroup", ".zarray"):
        text = data.decode("utf-8")
        if path.suffix == ".csv":
            text = _rounded(text)
        if path.name == "run.json":
            record = json.loads(text)
            record.get("summary", {}).pop("seconds", None)
            record.pop("machine", None)
            record["versions"] = dict.fromkeys(record.get("versions", {}), "V")
            text = json.dumps(record, indent=2, sort_keys=True)
        if path.name == "report.html":
            text = re.sub(r"<h2>Timings</h2>.*?</table></div>|<h2>Timings</h2>.*?</table>",
                          "", text, flags=re.S)
            text = re.sub(r"<h2>Versions</h2>.*?</table>", lambda m: re.sub(
                r"<td class='l'>[^<]*</td>", "<td class='l'>V</td>", m.group()), text,
                flags=re.S)
        for old, new in replace.items():
            text = text.replace(old, new)
        data = text.encode("utf-8")
    return hashlib.sha256(data).hexdigest()


def run_folder_digests(folder: Path, replace: dict[str, str]) -> dict[str, str]:
    """sha256 of every file under `folder` (relative path -> hex), normalised as above."""
    return {
        p.relative_to(folder).as_posix(): _digest_file(p, replace)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def compute(case: str, root: Path) -> dict[str, str]:
    """Run one case in `root` (a fresh folder) and return its digests."""
    import numpy as np  # noqa: F401
    from click.testing import CliRunner

    from celldyn.cli import main
    from celldyn.cli.main import demo_path
    from celldyn.io import write_tiff
    from celldyn.simulate import simulate_movie

    root = Path(root)
    out = root / "res"
    if CASES[case] is None:
        args = ["demo", "-o", str(out), "--no-progress"]
    else:
        movie = root / "movie.ome.tif"
        if not movie.exists():
            sim = simulate_movie(ndim=2, n_frames=6, shape=(64, 64), n_objects=5, rng=3)
            write_tiff(movie, sim.movie)
        args = ["run", str(movie), "-o", str(out), "--no-progress", *CASES[case]]
    try:
        runner = CliRunner(mix_stderr=False)
    except TypeError:
        runner = CliRunner()
    r = runner.invoke(main, args, catch_exceptions=False)
    assert r.exit_code == 0, r.stderr
    demo = str(demo_path())
    replace = {
        str(root.resolve()): "<ROOT>", str(root): "<ROOT>",
        demo: "<DEMO>", str(Path(demo).resolve()): "<DEMO>",
    }
    return run_folder_digests(out, replace)


def _pins() -> dict[str, dict[str, str]]:
    return json.loads(PINS.read_text())


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(CASES))
def test_run_folder_is_byte_identical(case, tmp_path):
    if case in ("sim_learned", "sim_deep"):
        pytest.importorskip("torch")
    pinned = _pins()[case]
    got = compute(case, tmp_path)
    assert sorted(got) == sorted(pinned), "the run folder's files changed"
    changed = [name for name in pinned if got[name] != pinned[name]]
    assert not changed, f"files differ from the pin: {changed}"


def test_digest_detects_a_changed_byte(tmp_path):
    """The digest is not blind: one changed byte in a file changes its hash; a changed
    timing in run.json does not."""
    (tmp_path / "a.bin").write_bytes(b"\x00\x01")
    record = {"summary": {"seconds": {"segment": 1.0}, "objects": 3}}
    (tmp_path / "run.json").write_text(json.dumps(record))
    before = run_folder_digests(tmp_path, {})
    record["summary"]["seconds"]["segment"] = 2.0
    (tmp_path / "run.json").write_text(json.dumps(record))
    assert run_folder_digests(tmp_path, {}) == before
    (tmp_path / "a.bin").write_bytes(b"\x00\x02")
    assert run_folder_digests(tmp_path, {})["a.bin"] != before["a.bin"]
    record["summary"]["objects"] = 4
    (tmp_path / "run.json").write_text(json.dumps(record))
    assert run_folder_digests(tmp_path, {})["run.json"] != before["run.json"]


def test_table_digest_ignores_only_the_last_float_bits(tmp_path):
    import pandas as pd

    def digest(values):
        pd.DataFrame({"t": [0, 1], "area": values}).to_parquet(tmp_path / "o.parquet")
        (tmp_path / "d.csv").write_text("t,speed\n" + "".join(
            f"{i},{v!r}\n" for i, v in enumerate(values)))
        return run_folder_digests(tmp_path, {})

    base = digest([10.1, 0.3])
    assert digest([10.1 + 1e-14, 0.1 + 0.2]) == base     # 0.1 + 0.2 != 0.3 in the last bit
    changed = digest([10.1001, 0.3])
    assert changed["o.parquet"] != base["o.parquet"]
    assert changed["d.csv"] != base["d.csv"]


def test_digest_ignores_only_the_versions(tmp_path):
    """A new release of a recorded package changes neither digest; a package added to or
    dropped from the table, or any other cell of the report, does."""
    def digest(versions: dict, other: str = "5"):
        (tmp_path / "run.json").write_text(json.dumps({"versions": versions}))
        rows = "".join(f"<tr><th class='l'>{k}</th><td class='l'>{v}</td></tr>"
                       for k, v in versions.items())
        (tmp_path / "report.html").write_text(
            f"<h2>Summary</h2><table><tr><td class='l'>{other}</td></tr></table>"
            f"<h2>Versions</h2><table>{rows}</table>")
        return run_folder_digests(tmp_path, {})

    base = digest({"pandas": "3.1.1", "dask": "2026.8.0"})
    assert digest({"pandas": "3.1.2", "dask": "2026.11.0"}) == base
    added = digest({"pandas": "3.1.1", "dask": "2026.8.0", "zarr": "3.1.6"})
    assert added["run.json"] != base["run.json"]
    assert added["report.html"] != base["report.html"]
    assert digest({"pandas": "3.1.1", "dask": "2026.8.0"}, other="6") != base


if __name__ == "__main__":  # re-pin: python tests/test_run_folder_hashes.py --repin
    import tempfile

    if "--repin" not in sys.argv:
        sys.exit("usage: PYTHONPATH=src python tests/test_run_folder_hashes.py --repin")
    pins = {}
    for name in sorted(CASES):
        with tempfile.TemporaryDirectory() as tmp:
            pins[name] = compute(name, Path(tmp))
        print(name, len(pins[name]), "files")
    PINS.parent.mkdir(exist_ok=True)
    PINS.write_text(json.dumps(pins, indent=1, sort_keys=True) + "\n")
    print("wrote", PINS)
