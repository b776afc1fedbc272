"""Where a sweep runs: an embedded ``distributed.LocalCluster``, or an existing Dask scheduler.

The embedded cluster listens on 127.0.0.1 only (its dashboard, when bokeh is installed, on a free port), and
runs one worker process per core, each with one thread (torch gets one thread per worker: the processes are
the parallelism, and each training runs as fast as it can on its core). On a machine with GPUs (device auto
or cuda) it runs one worker per GPU instead, each seeing its own GPU alone through ``CUDA_VISIBLE_DEVICES``,
as dask-cuda does. An existing
scheduler (``dask scheduler`` with ``dask worker`` processes, dask-jobqueue, dask-kubernetes...) is reached
with a timeout, so that a wrong address is a one-line error, not a hang; its address may also be given as the
scheduler file that ``dask scheduler --scheduler-file`` writes (handy in a batch job).
"""

from __future__ import annotations

import copy
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from distributed import Client, LocalCluster
from distributed.system import MEMORY_LIMIT

from napari_neurorbm.errors import NeuroRBMError

CONNECT_S = 5.0  # how long to try to reach a scheduler
WORKERS_START_S = 120.0  # how long the embedded cluster's workers may take to start
DEVICES = ("auto", "cpu", "cuda")


@contextmanager
def sweep_client(scheduler: str | None, workers: int | None, device: str, n_runs: int) -> Iterator[Client]:
    """A client of the scheduler at ``scheduler``, or of an embedded cluster of ``workers`` workers (default:
    one per GPU, else one per core; never more than ``n_runs``), closed (with the cluster) on exit."""
    if scheduler is not None:
        with _connect(scheduler) as client:
            yield client
        return
    gpus = visible_gpus(device)
    n = max(1, min(workers or len(gpus) or os.cpu_count() or 1, n_runs))
    with embedded_cluster(n, gpus) as cluster, Client(cluster, set_as_default=False) as client:
        try:
            client.wait_for_workers(n, timeout=WORKERS_START_S)
        except TimeoutError:
            raise NeuroRBMError(f"the local Dask workers did not start in {WORKERS_START_S:g} s") from None
        yield client


@contextmanager
def _connect(address: str) -> Iterator[Client]:
    """A client of the scheduler at ``address``, or of the one a scheduler file (``dask scheduler
    --scheduler-file``) names."""
    where = {"scheduler_file": address} if Path(address).is_file() else {"address": address}
    try:
        client = Client(**where, timeout=CONNECT_S, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        why = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
        raise NeuroRBMError(f"cannot reach the Dask scheduler at {address} ({why})") from None
    with client:
        yield client


def embedded_cluster(n_workers: int, gpus: list[str]) -> LocalCluster:
    """A LocalCluster on 127.0.0.1 whose ``n_workers`` one-thread worker processes share the memory; worker i
    sees only ``gpus[i % len(gpus)]`` (a CUDA_VISIBLE_DEVICES entry) when there are GPUs."""
    cluster = LocalCluster(n_workers=0, threads_per_worker=1, processes=True, host="127.0.0.1",
                           dashboard_address="127.0.0.1:0", silence_logs=logging.ERROR,
                           memory_limit=MEMORY_LIMIT // n_workers)
    for i in range(n_workers):
        spec = copy.deepcopy(cluster.new_spec)
        if gpus:
            spec["options"]["env"] = {"CUDA_VISIBLE_DEVICES": gpus[i % len(gpus)]}
        cluster.worker_spec[i] = spec
    cluster.scale(n_workers)  # starts the workers just specified
    return cluster


def visible_gpus(device: str) -> list[str]:
    """The GPUs a sweep on ``device`` uses here, as CUDA_VISIBLE_DEVICES entries (none on a CPU)."""
    if device not in DEVICES:
        raise NeuroRBMError(f"unknown device '{device}' for a sweep (use {', '.join(DEVICES)})")
    if device == "cpu":
        return []
    import torch

    n = torch.cuda.device_count()
    if device == "cuda" and n == 0:
        raise NeuroRBMError("device 'cuda' was asked for, but PyTorch sees no CUDA GPU here")
    listed = [g.strip() for g in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if g.strip()]
    return (listed or [str(i) for i in range(n)])[:n]
