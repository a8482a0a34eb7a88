"""Where `celldyn run` runs when the user chose neither --workers nor --scheduler."""

from __future__ import annotations

import pytest

from celldyn.errors import InputError
from celldyn.scale import auto_workers, connect


def test_a_movie_under_a_quarter_of_memory_runs_in_process():
    assert auto_workers(3.9e9, memory=16e9, cpus=4) == 0


def test_a_larger_movie_gets_one_worker_per_cpu_at_most_eight():
    assert auto_workers(4.1e9, memory=16e9, cpus=4) == 4
    assert auto_workers(100e9, memory=16e9, cpus=64) == 8


def test_zero_workers_is_refused_in_one_line():
    with pytest.raises(InputError, match="--workers must be 1 or more"):
        with connect(workers=0):
            pass
