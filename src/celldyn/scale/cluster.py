"""Where the Dask tasks run: a LocalCluster of worker processes or an existing
dask.distributed scheduler (ours; the engine is dask.distributed)."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Any

from ..errors import CelldynError, InputError

__all__ = ["auto_workers", "connect"]


def auto_workers(nbytes: float, *, memory: float | None = None,
                 cpus: int | None = None) -> int:
    """Worker processes to start when the user chose none: 0 (the plain in-memory
    path) for a movie under a quarter of the memory, else one per CPU (at most 8)."""
    if memory is None:
        try:
            import psutil

            memory = float(psutil.virtual_memory().available)
        except ImportError:  # pragma: no cover - psutil comes with distributed
            memory = float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES"))
    if nbytes < memory / 4:
        return 0
    return max(1, min(cpus or os.cpu_count() or 1, 8))


@contextlib.contextmanager
def connect(*, workers: int | None = None, scheduler: str | None = None,
            timeout: float = 10.0) -> Iterator[tuple[Any, str]]:
    """A ``distributed.Client`` and one line saying what it runs on; closed on exit.

    `scheduler` (``tcp://host:8786``) joins an existing cluster; otherwise a
    LocalCluster of `workers` processes, one thread each, is started (and stopped). One
    worker runs as a thread of this process: nothing to start, no frames to ship, so the
    Dask path costs +7 % over the in-process run instead of +20 % (benchmarks/scale.py,
    0.25 GB row); two or more are processes, which is where the speed-up comes from.
    Worker processes inherit this process's ``sys.path`` (through ``PYTHONPATH``), so
    they import the same celldyn.

    Raises
    ------
    CelldynError
        The scheduler cannot be reached, or dask.distributed is not installed.
    """
    try:
        from distributed import Client, LocalCluster
    except ImportError:  # pragma: no cover - a core dependency
        raise CelldynError("running on Dask needs dask.distributed: pip install "
                           "'dask[distributed]'") from None
    if scheduler is not None:
        try:
            client = Client(scheduler, timeout=f"{timeout}s")
        except (OSError, TimeoutError, ValueError) as err:
            reason = str(err).splitlines()[0] if str(err) else type(err).__name__
            raise CelldynError(
                f"cannot reach the dask scheduler at {scheduler!r} ({reason[:120]}); "
                "check the address (tcp://HOST:8786) and that the scheduler is running"
            ) from None
        n = len(client.scheduler_info().get("workers", {}))
        try:
            yield client, f"dask cluster at {scheduler} ({n} workers)"
        finally:
            client.close()
        return
    if workers is None or int(workers) < 1:
        raise InputError(f"--workers must be 1 or more; got {workers!r}")
    paths = [p for p in sys.path if p and os.path.isdir(p)]
    env = {"PYTHONPATH": os.pathsep.join(paths),
           "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # the nanny passes the environment to its worker process
    try:
        with _glibc_malloc_defaults():
            cluster = LocalCluster(n_workers=int(workers), threads_per_worker=1,
                                   processes=int(workers) > 1, dashboard_address=":0",
                                   silence_logs=50)
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    client = Client(cluster)
    try:
        yield client, (f"LocalCluster of {int(workers)} worker processes" if int(workers) > 1
                       else "LocalCluster of 1 worker (a thread of this process)")
    finally:
        client.close()
        cluster.close()


@contextlib.contextmanager
def _glibc_malloc_defaults() -> Iterator[None]:
    """Start worker processes without dask's ``MALLOC_TRIM_THRESHOLD_``.

    dask.distributed sets it (65536) in every nanny-spawned worker so that freed memory
    goes back to the OS; setting it also switches off glibc's adaptive mmap threshold,
    so every array over 128 KiB is mmap-ed and unmapped again. Per-frame segmentation
    allocates and frees tens of such arrays a frame: strace counted 95,000 mmap/munmap
    calls on a 119-frame movie (7,800 with the worker as a thread), and the kernel time
    of a 2-worker run halved without it (benchmarks/RESULTS.md, 'Scale'). The nannies
    read the setting once, when created, so restarted workers keep it. Memory is still
    bounded by the tasks in flight (a few frames per worker)."""
    import dask

    env = dict(dask.config.get("distributed.nanny.pre-spawn-environ", default={}) or {})
    env.pop("MALLOC_TRIM_THRESHOLD_", None)
    with dask.config.set({"distributed.nanny.pre-spawn-environ": env}):
        yield
