"""Prefect's environment, set before Prefect is imported: its files in the data folder,
nothing sent outside (police data on a closed network), loopback only.

Prefect reads its settings once, when it is first imported; so every entry point that
runs a flow calls `configure` first (`flows/__init__.py` does it on import).
"""

from __future__ import annotations

import os
import urllib.request
from pathlib import Path

# Always forced: these are policy, not preferences.
OFFLINE = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_CLOUD_ENABLE_ORCHESTRATION_TELEMETRY": "false",
    "PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT": "false",
    "PREFECT_SERVER_API_HOST": "127.0.0.1",
    # read results hold personal data: never pickled into Prefect's result storage
    "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "false",
}
# Defaults a site may change in its environment.
DEFAULTS = {
    # a fresh database on a small machine takes longer than Prefect's 20 s default
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
}
DEFAULT_PORT = 4200


def prefect_home(home: Path) -> Path:
    return Path(home) / "prefect"


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
    for k, v in DEFAULTS.items():
        os.environ.setdefault(k, v)
    if quiet:
        os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "WARNING")
    if api_url:
        os.environ["PREFECT_API_URL"] = api_url
    elif find_server and "PREFECT_API_URL" not in os.environ:
        url = local_api_url(port or DEFAULT_PORT)
        if server_answers(url):
            os.environ["PREFECT_API_URL"] = url
    return ph


def local_api_url(port: int) -> str:
    return f"http://127.0.0.1:{port}/api"


def server_answers(api_url: str, timeout: float = 0.3) -> bool:
    """True when a Prefect server answers at this (loopback) address."""
    if not api_url.startswith("http://127.0.0.1:"):
        return False
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never through a proxy
    try:
        with opener.open(api_url + "/health", timeout=timeout) as r:
            return r.status == 200
    except OSError:
        return False
