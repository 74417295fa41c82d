"""Which failures are worth a second try: the ingest driver's own retries and the flows'
retry conditions decide alike, without the driver importing Prefect."""

from __future__ import annotations

import errno

from junkai import JunkaiError

# seconds before each further try of a failure that may pass (a locked database, a lost worker)
RETRY_DELAYS = [2, 10, 30]

_TRANSIENT_ERRNOS = {errno.EAGAIN, errno.EBUSY, errno.ETIMEDOUT, errno.EINTR, errno.EIO, errno.ESTALE,
                     errno.ECONNRESET, errno.ECONNREFUSED, errno.ECONNABORTED, errno.EHOSTUNREACH, errno.ENETDOWN,
                     errno.ENETUNREACH}
# a worker that died or a connection to it that dropped (Dask), named so that distributed need not be imported
_TRANSIENT_NAMES = {"KilledWorker", "CommClosedError", "FutureCancelledError", "TimeoutError"}


def is_transient(exc: BaseException) -> bool:
    """A failure that may pass on a second try (a locked or dropped database, a lost worker, a busy
    disk); never bad input, which fails the same way every time."""
    if isinstance(exc, JunkaiError):
        return False
    import sqlalchemy.exc as sx

    if isinstance(exc, (sx.OperationalError, sx.InterfaceError, sx.DisconnectionError, sx.TimeoutError)):
        return True
    if isinstance(exc, sx.IntegrityError):
        # a concurrent ingest recorded the same page or claimed the same sheet first: the retry sees it
        return "scan_page" in str(exc)
    if isinstance(exc, OSError) and not isinstance(exc, (FileNotFoundError, PermissionError, IsADirectoryError)):
        return exc.errno in _TRANSIENT_ERRNOS
    if isinstance(exc, TimeoutError):
        return True
    return type(exc).__name__ in _TRANSIENT_NAMES
