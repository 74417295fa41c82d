"""What the flows share: who they run as, where they may write, the task runner chosen in the
settings, which failures are worth a retry, and progress for the terminal and for the Prefect UI."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Callable, Iterator

from prefect.cache_policies import NO_CACHE

from junkai import access
from junkai.actions import Context
from junkai.settings import Settings
from junkai.transient import RETRY_DELAYS, is_transient  # shared with the ingest driver's own retries

# Tasks carry personal data: never cached, never written to Prefect's result storage.
PRIVATE = dict(cache_policy=NO_CACHE, persist_result=False)


# --- who a flow runs as ------------------------------------------------------------------------------

def identity(ctx: Context) -> Context:
    """The context acting as the user bound to the OS account running this process (the one that
    runs or serves the flows: Prefect's run processes are its children). No parameter or environment
    variable chooses who acts."""
    import dataclasses

    from junkai import identity as who

    return dataclasses.replace(ctx, operator=who.operator(ctx.store, ctx.settings.home))


def refuse(ctx: Context, attempted: str, reason: str, **detail) -> None:
    """Record the refusal in the audit log (its own transaction) and stop the run."""
    with ctx.store.transaction():
        ctx.store.audit(ctx.operator, "refused", "store", None, attempted=attempted, reason=reason, **detail)
    raise access.Refused(f"{ctx.operator} は{access.ACTIONS[attempted][0]}を行えません: {reason}")


@contextlib.contextmanager
def confined(operator: str | None, attempted: str) -> Iterator[Context]:
    """The flow's context, as the identity of the process running it. Whoever starts a run (a schedule,
    the UI, the API) cannot choose who it runs as: `operator` may only repeat that identity; another
    name is refused and audited. The actions then check the identity's own rights."""
    ctx = Context.open("")
    try:
        ctx = identity(ctx)
        if operator is not None and operator.strip() != ctx.operator:
            refuse(ctx, attempted, f"このフローは {ctx.operator} として実行されます。別の操作者 ({operator}) は指定できません",
                   requested=operator)
        yield ctx
    finally:
        ctx.close()


def output_folder(ctx: Context, given: str | None, default: Path, attempted: str) -> Path:
    """Where a flow writes: the default, or a folder given by the run inside the data folder's output
    area (relative to it, or absolute within it); anything else is refused and audited."""
    area = ctx.settings.output.resolve()
    if not given:
        return default
    path = Path(given)
    path = (path if path.is_absolute() else area / path).resolve()  # symlinks and ".." resolved first
    if not path.is_relative_to(area):
        refuse(ctx, attempted, f"出力先は出力フォルダ {area} の中に限られます: {given}", out_dir=given)
    return path


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
