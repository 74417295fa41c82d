"""Prefect's environment, set before Prefect is imported: its files in the data folder,
nothing sent outside (police data on a closed network), loopback only, and every request to
the API authenticated (an auth string kept in the data folder) and CSRF-checked.

Prefect reads its settings once, when it is first imported; so every entry point that
runs a flow calls `configure` first (`flows/__init__.py` does it on import).

`Server` starts a Prefect server for one command (`junkai serve`, `junkai ingest`,
`junkai run nightly`) that never outlives it: the server is the command's child in its own
process group, stopped on exit and on signals, and killed by the kernel if the command dies
(Linux PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import base64
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from junkai import JunkaiError

# Always forced: these are policy, not preferences.
OFFLINE = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_CLOUD_ENABLE_ORCHESTRATION_TELEMETRY": "false",
    "PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT": "false",
    "PREFECT_SERVER_API_HOST": "127.0.0.1",
    # read results hold personal data: never pickled into Prefect's result storage
    "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "false",
    # a web page open in the same browser must not drive the API: state changes need a CSRF token
    "PREFECT_SERVER_CSRF_PROTECTION_ENABLED": "true",
    "PREFECT_CLIENT_CSRF_SUPPORT_ENABLED": "true",
}
DEFAULT_PORT = 4200
# how long a starting server may take to answer: a fresh database on a loaded small machine took
# 3-4 min, far more than Prefect's 20 s default
STARTUP_ENV = "JUNKAI_PREFECT_STARTUP_SECONDS"
DEFAULT_STARTUP = 600
AUTH_FILE = "api-auth"
AUTH_USER = "junkai"


def prefect_home(home: Path) -> Path:
    return Path(home) / "prefect"


def auth_string(home: Path) -> str:
    """The API's auth string ("junkai:<secret>"), kept in the data folder's prefect/api-auth (mode 0600),
    made on first use. Whoever can read it can drive the Prefect server: only the account that runs junkai."""
    path = prefect_home(home) / AUTH_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    except OSError as exc:
        raise JunkaiError(f"Prefect API の認証文字列 {path} を作れません: {exc}")
    else:
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(f"{AUTH_USER}:{secrets.token_urlsafe(32)}\n")
    try:
        value = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise JunkaiError(f"Prefect API の認証文字列 {path} を読めません: {exc}")
    if ":" not in value or len(value) < 20:
        raise JunkaiError(f"Prefect API の認証文字列 {path} が壊れています (消すと次の起動で作り直します)")
    if path.stat().st_mode & 0o077:
        path.chmod(0o600)  # a copy restored with looser rights: tighten it
    return value


def configure(home: Path | None = None, quiet: bool = False, api_url: str | None = None,
              port: int | None = None, find_server: bool = True) -> Path:
    """Set Prefect's environment for the data folder `home` (default: the settings' one).

    `quiet`: Prefect's own console lines only from warnings up (the terminal shows a progress bar).
    `api_url`: a Prefect server to report to (a prefecture's); without it, a `junkai serve`
    running on this machine (port `port`) is used when it answers, else a temporary server.
    """
    if home is None:
        from junkai import settings

        s = settings.load()
        home, api_url, port = s.home, api_url or s.prefect_api_url, port or s.prefect_port
    ph = prefect_home(Path(home))
    ph.mkdir(parents=True, exist_ok=True)  # Prefect makes only the last folder, and a fresh data folder may not exist yet
    os.environ["PREFECT_HOME"] = str(ph)
    os.environ.update(OFFLINE)
    # also for Prefect's temporary server, which a flow run outside the commands may still start
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", str(startup_seconds()))
    # no other site's page may call the API from a browser (Prefect allows every origin by default);
    # `Server` sets its own address, this covers a server started otherwise (Prefect's temporary one)
    os.environ.setdefault("PREFECT_SERVER_CORS_ALLOWED_ORIGINS", f"http://127.0.0.1:{port or DEFAULT_PORT}")
    if quiet:
        os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "WARNING")
    if not (api_url and not api_url.startswith("http://127.0.0.1:")):
        # this machine's servers (junkai serve, a command's own, a temporary one) ask for this string;
        # a prefecture's server sets its own (PREFECT_API_AUTH_STRING in the environment)
        secret = auth_string(Path(home))
        os.environ["PREFECT_SERVER_API_AUTH_STRING"] = secret
        os.environ["PREFECT_API_AUTH_STRING"] = secret
    if api_url:
        os.environ["PREFECT_API_URL"] = api_url
    elif find_server and "PREFECT_API_URL" not in os.environ:
        url = local_api_url(port or DEFAULT_PORT)
        if server_answers(url):
            os.environ["PREFECT_API_URL"] = url
    return ph


def startup_seconds() -> int:
    """How long a starting Prefect server may take to answer: JUNKAI_PREFECT_STARTUP_SECONDS, default 600."""
    raw = os.environ.get(STARTUP_ENV, "")
    try:
        value = int(raw) if raw else DEFAULT_STARTUP
    except ValueError:
        raise JunkaiError(f"{STARTUP_ENV} は秒数 (整数) です: {raw!r}")
    if value < 1:
        raise JunkaiError(f"{STARTUP_ENV} は 1 以上の秒数です: {raw!r}")
    return value


def local_api_url(port: int) -> str:
    return f"http://127.0.0.1:{port}/api"


def server_answers(api_url: str, timeout: float = 0.3) -> bool:
    """True when a Prefect server answers at this (loopback) address (its health check needs no auth)."""
    if not api_url.startswith("http://127.0.0.1:"):
        return False
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never through a proxy
    try:
        with opener.open(api_url + "/health", timeout=timeout) as r:
            return r.status == 200
    except OSError:
        return False


def basic_auth(secret: str) -> str:
    return "Basic " + base64.b64encode(secret.encode()).decode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:
    """In the child, before exec: the kernel kills it when its parent dies, even by SIGKILL (Linux)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
        if os.getppid() == 1:  # the parent died before prctl took effect
            os._exit(1)
    except Exception:
        pass  # not Linux: the process group and the exit handlers still stop it


class Server:
    """A Prefect server on 127.0.0.1 for the length of a `with` block, with the data folder's auth
    string, CSRF protection and CORS limited to its own address; `services`: the scheduler and the
    other services `junkai serve` needs (a command's own server runs the API alone)."""

    def __init__(self, home: Path, port: int | None = None, services: bool = False, log: Path | None = None):
        self.home, self.services = Path(home), services
        self.port = port or free_port()
        self.api_url = local_api_url(self.port)
        self.log = log or prefect_home(self.home) / "server.log"
        self.process: subprocess.Popen | None = None
        self._signals: dict = {}

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Server:
        configure(self.home, api_url=self.api_url)
        env = dict(os.environ, PREFECT_SERVER_API_HOST="127.0.0.1", PREFECT_SERVER_API_PORT=str(self.port),
                   PREFECT_SERVER_CORS_ALLOWED_ORIGINS=self.origin,
                   PREFECT_UI_API_URL=self.api_url, PREFECT_UI_URL=self.origin)
        args = [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(self.port)]
        if not self.services:
            args.append("--no-services")
            env["PREFECT_SERVER_UI_ENABLED"] = "false"
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self._trap()
        with open(self.log, "ab") as fh:
            # its own process group: a Ctrl-C at the terminal reaches the command, which stops it in order
            self.process = subprocess.Popen(args, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            env=env, start_new_session=True, preexec_fn=_die_with_parent)
        try:
            self._wait()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait(self) -> None:
        limit = startup_seconds()
        deadline = time.monotonic() + limit
        while not server_answers(self.api_url, timeout=1.0):
            if self.process.poll() is not None:
                raise JunkaiError(f"Prefect サーバが起動しませんでした (終了コード {self.process.returncode}、"
                                  f"記録: {self.log})")
            if time.monotonic() > deadline:
                raise JunkaiError(f"Prefect サーバが {limit} 秒以内に応答しませんでした。機械が混んでいるときは "
                                  f"{STARTUP_ENV} で待ち時間を延ばしてください (記録: {self.log})")
            time.sleep(0.5)

    def _trap(self) -> None:
        """SIGTERM and SIGHUP stop the command as Ctrl-C does, so that the server is stopped on the way out."""
        def stop(signum, frame):
            raise KeyboardInterrupt

        for sig in (signal.SIGTERM, signal.SIGHUP):
            try:
                self._signals[sig] = signal.signal(sig, stop)
            except (ValueError, OSError):  # not the main thread
                pass

    def stop(self) -> None:
        p, self.process = self.process, None
        if p is not None and p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait()
        for sig, handler in self._signals.items():
            signal.signal(sig, handler)
        self._signals.clear()

    def __exit__(self, *exc) -> None:
        self.stop()
