"""What the flows share: the task runner chosen in the settings, which failures are worth
a retry, and progress for the terminal and for the Prefect UI."""

from __future__ import annotations

import time
from typing import Callable

from prefect.cache_policies import NO_CACHE

from junkai.settings import Settings
from junkai.transient import RETRY_DELAYS, is_transient  # shared with the ingest driver's own retries

# Tasks carry personal data: never cached, never written to Prefect's result storage.
PRIVATE = dict(cache_policy=NO_CACHE, persist_result=False)


def task_runner(s: Settings):
    """Threads on one machine (default), processes, or Dask: a scheduler given by address, else a local cluster."""
    if s.task_runner == "threads":
        from prefect.task_runners import ThreadPoolTaskRunner

        return ThreadPoolTaskRunner(max_workers=s.workers)
    if s.task_runner == "processes":
        from prefect.task_runners import ProcessPoolTaskRunner

        return ProcessPoolTaskRunner(max_workers=s.workers)
    from prefect_dask import DaskTaskRunner

    if s.dask_address:
        return DaskTaskRunner(address=s.dask_address)
    return DaskTaskRunner(cluster_class="distributed.LocalCluster", cluster_kwargs=local_cluster(s.workers))


def local_cluster(workers: int) -> dict:
    # one thread per worker (OCR is CPU-bound); the scheduler's status page on a free loopback port
    return dict(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                dashboard_address="127.0.0.1:0")


def retry_transient(task, task_run, state) -> bool:
    """Prefect's retry condition: retry only transient failures."""
    try:
        state.result()
    except Exception as exc:
        return is_transient(exc)
    return False


# --- progress ------------------------------------------------------------------------------

Listener = Callable[[str, int, int], None]  # (label, done, total)
_listeners: list[Listener] = []


def listen(listener: Listener | None) -> None:
    """Show progress of the flows run in this process (the CLI's progress bar); None stops."""
    _listeners.clear()
    if listener is not None:
        _listeners.append(listener)


class Progress:
    """Progress of one long step: to the terminal's listener at once, and to a Prefect progress
    artifact (for runs watched in the UI) at most every few seconds."""

    def __init__(self, label: str, total: int, every: float = 3.0):
        self.label, self.total, self.done, self.every = label, max(total, 0), 0, every
        self._artifact = None
        self._sent = 0.0
        try:
            from prefect.artifacts import create_progress_artifact

            self._artifact = create_progress_artifact(0.0, description=label)
        except Exception:  # progress is a courtesy: it never stops the work
            self._artifact = None
        self._tell()

    def advance(self, n: int = 1) -> None:
        self.done += n
        self._tell()
        if time.monotonic() - self._sent >= self.every or self.done >= self.total:
            self._send()

    def _tell(self) -> None:
        for listener in list(_listeners):
            listener(self.label, self.done, self.total)

    def _send(self) -> None:
        self._sent = time.monotonic()
        if self._artifact is None:
            return
        try:
            from prefect.artifacts import update_progress_artifact

            update_progress_artifact(self._artifact, 100.0 * self.done / self.total if self.total else 100.0)
        except Exception:
            pass
