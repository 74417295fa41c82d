"""Settings: one documented file, junkai.toml, over defaults that work.

Where things live:
- JUNKAI_HOME (default ./data): the data folder (SQLite store, keys, scans).
- JUNKAI_DB_URL: a SQLAlchemy URL; overrides the SQLite file in the data folder.
- JUNKAI_CONFIG: the settings file; default ./junkai.toml if present.
- Who acts is never a setting: it is the OS account running the command (junkai.identity).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path

from junkai import JunkaiError

# OCR confidence needed per form field kind for a value to pass on its own (junkai.toml [ocr.thresholds]),
# as calibrated by the OCR benchmark on the default engine (both): handwriting waits for a person
# (1.01: never). An engine without thresholds of its own starts from these.
DEFAULT_THRESHOLDS = {"checkbox": 0.8, "digits": 1.01, "date": 1.01, "text": 1.01, "kana": 1.01, "free": 1.01}
DEFAULT_ENGINE = "both"


@dataclass(frozen=True)
class Settings:
    home: Path
    db_url: str
    config_path: Path | None
    # 第6-2: the chief sets each beat's frequency; this is what a new beat starts with.
    default_frequency_months: int = 12
    # 第6-3: visits inside this window are night visits and need prior approval.
    night_start: time = time(19, 0)
    night_end: time = time(6, 0)
    # 第6-1: a card not confirmed for this many frequencies makes the premises long-unconfirmed.
    unconfirmed_multiplier: int = 2
    # 第6-2 advice: the frequency in which this share of cards is expected to go stale,
    # from the turnover of the last `turnover_years` years.
    stale_share: float = 0.10
    turnover_years: int = 3
    # The text recogniser (ocr.engines), and the OCR confidence a value needs, per form field kind, to pass
    # without review: `thresholds` those of the engine chosen, `engine_thresholds` every engine's
    # (calibrated by `junkai bench ocr`)
    ocr_engine: str = DEFAULT_ENGINE
    thresholds: dict = field(default_factory=lambda: dict(DEFAULT_THRESHOLDS))
    engine_thresholds: dict = field(default_factory=dict)
    # A scan file of more pages than this is refused whole (quarantined with its reason), none of it decoded.
    max_pages: int = 1000
    # How long decoding one page (rasterising a PDF page, decoding an image) may take before it is stopped.
    page_seconds: int = 60
    # The scan inbox: one folder per station (`<inbox>/<station id>` unless named in [inbox.stations]);
    # a file is taken once it has not changed for `inbox_settle_seconds`.
    inbox: Path | None = None
    inbox_stations: dict = field(default_factory=dict)
    inbox_settle_seconds: int = 60
    inbox_check_minutes: int = 5
    # Where the nightly batch writes lists and reports (per day and station), and when it runs.
    output: Path | None = None
    nightly_at: time = time(2, 0)
    timezone: str = "Asia/Tokyo"
    # Flows: threads | processes | dask (a Dask scheduler at dask_address, else a local cluster).
    task_runner: str = "threads"
    workers: int = 2
    dask_address: str | None = None
    prefect_port: int = 4200
    prefect_api_url: str | None = None
    # Retention: output files are removed after `output_days` days, and premises that ceased
    # (moved out, closed) lose their history `ceased_years` years after they ceased.
    output_days: int = 30
    ceased_years: int = 5
    # The review page answers only requests for 127.0.0.1 and localhost, and for these host names
    # ([review] allowed_hosts: the name a reverse proxy passes on), against DNS rebinding.
    review_hosts: tuple[str, ...] = ()
    raw: dict = field(default_factory=dict, repr=False)

    def inbox_of(self, station: str) -> Path:
        """The folder a station's scanner writes into."""
        given = self.inbox_stations.get(station)
        return Path(given) if given else (self.inbox or self.home / "inbox") / station

    @property
    def sqlite_path(self) -> Path:
        return self.home / "junkai.sqlite3"


def _parse_time(value: object, key: str, path: Path) -> time:
    try:
        hh, mm = str(value).split(":")
        return time(int(hh), int(mm))
    except (ValueError, TypeError):
        raise JunkaiError(f"設定ファイル {path} の {key} が時刻 (HH:MM) ではありません: {value!r}")


def load(env: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ if env is None else env)
    home = Path(env.get("JUNKAI_HOME") or "data").resolve()
    config_path: Path | None
    if env.get("JUNKAI_CONFIG"):
        config_path = Path(env["JUNKAI_CONFIG"])
        if not config_path.is_file():
            raise JunkaiError(f"設定ファイルが見つかりません: {config_path}")
    else:
        config_path = Path("junkai.toml") if Path("junkai.toml").is_file() else None

    raw: dict = {}
    if config_path is not None:
        try:
            raw = tomllib.loads(config_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise JunkaiError(f"設定ファイル {config_path} を読めません: {exc}")

    visits = raw.get("visits", {})

    def number(key: str, default, low, high, kind=int):
        section, name = key.split(".")
        value = raw.get(section, {}).get(name, default)
        if not isinstance(value, kind) or isinstance(value, bool) or not low <= value <= high:
            raise JunkaiError(f"設定ファイル {config_path} の {key} は {low}〜{high} の"
                              f"{'整数' if kind is int else '数'}にしてください: {value!r}")
        return value

    months = number("beats.default_frequency_months", 12, 1, 120)
    settings = Settings(
        home=home,
        db_url=env.get("JUNKAI_DB_URL") or f"sqlite:///{home / 'junkai.sqlite3'}",
        config_path=config_path,
        default_frequency_months=months,
        night_start=_parse_time(visits.get("night_start", "19:00"), "visits.night_start", config_path),
        night_end=_parse_time(visits.get("night_end", "06:00"), "visits.night_end", config_path),
        unconfirmed_multiplier=number("lists.unconfirmed_multiplier", 2, 1, 10),
        stale_share=number("beats.stale_share", 0.10, 0.01, 0.9, (int, float)),
        turnover_years=number("beats.turnover_years", 3, 1, 10),
        **_ocr_settings(raw.get("ocr", {}), config_path),
        max_pages=number("ocr.max_pages", 1000, 1, 100_000),
        page_seconds=number("ocr.page_seconds", 60, 1, 3600),
        output_days=number("retention.output_days", 30, 1, 3650),
        ceased_years=number("retention.ceased_years", 5, 1, 100),
        **_flow_settings(raw, home, config_path, number),
        review_hosts=_review_hosts(raw.get("review", {}), config_path),
        raw=raw,
    )
    return settings


RUNNERS = ("threads", "processes", "dask")


def _review_hosts(review: dict, path: Path | None) -> tuple[str, ...]:
    hosts = review.get("allowed_hosts", [])
    if not isinstance(hosts, list) or not all(isinstance(h, str) and h.strip() not in ("", "*") and "/" not in h
                                                     for h in hosts):
        raise JunkaiError(f"設定ファイル {path} の review.allowed_hosts はホスト名の一覧です "
                          f"(例: [\"junkai.example.lan\"]): {hosts!r}")
    return tuple(h.strip().lower() for h in hosts)


def _flow_settings(raw: dict, home: Path, path: Path | None, number) -> dict:
    """[inbox], [nightly] and [prefect]: where scans wait, when the night runs, and where tasks run."""
    inbox, nightly, prefect = raw.get("inbox", {}), raw.get("nightly", {}), raw.get("prefect", {})

    def folder(value, default: str) -> Path:
        p = Path(value or default)
        return p if p.is_absolute() else home / p

    runner = prefect.get("task_runner", "threads")
    if runner not in RUNNERS:
        raise JunkaiError(f"設定ファイル {path} の prefect.task_runner は {' / '.join(RUNNERS)} のどれかです: {runner!r}")
    stations = inbox.get("stations", {})
    if not isinstance(stations, dict) or not all(isinstance(v, str) for v in stations.values()):
        raise JunkaiError(f"設定ファイル {path} の inbox.stations は 署ID = \"フォルダ\" の形です")
    zone = nightly.get("timezone", "Asia/Tokyo")
    try:
        from zoneinfo import ZoneInfo
        ZoneInfo(zone)
    except Exception:
        raise JunkaiError(f"設定ファイル {path} の nightly.timezone が分かりません: {zone!r} (例: Asia/Tokyo)")
    return dict(
        inbox=folder(inbox.get("folder"), "inbox"),
        inbox_stations={k: str(folder(v, v)) for k, v in stations.items()},
        inbox_settle_seconds=number("inbox.settle_seconds", 60, 0, 3600),
        inbox_check_minutes=number("inbox.check_minutes", 5, 1, 120),
        output=folder(nightly.get("output"), "output"),
        nightly_at=_parse_time(nightly.get("at", "02:00"), "nightly.at", path),
        timezone=zone,
        task_runner=runner,
        workers=number("prefect.workers", 2, 1, 256),
        dask_address=prefect.get("dask_address") or None,
        prefect_port=number("prefect.port", 4200, 1024, 65535),
        prefect_api_url=prefect.get("api_url") or None,
    )


def _ocr_settings(ocr: dict, path: Path | None) -> dict:
    """[ocr]: the engine, and thresholds per engine. The numbers of [ocr.thresholds] are those of the
    default engine (both); [ocr.thresholds.<engine>] sets an engine's own over the defaults."""
    from ocr.engines import ENGINES  # the registry alone: no engine is loaded

    engine = ocr.get("engine", DEFAULT_ENGINE)
    if not isinstance(engine, str) or engine not in ENGINES:
        raise JunkaiError(f"設定ファイル {path} の ocr.engine が分かりません: {engine!r} (使えるもの: {', '.join(ENGINES)})")
    given = ocr.get("thresholds", {})
    if not isinstance(given, dict):
        raise JunkaiError(f"設定ファイル {path} の ocr.thresholds は 種類 = 数 の表です")
    plain = {k: v for k, v in given.items() if not isinstance(v, dict)}
    per_engine = {DEFAULT_ENGINE: _thresholds(DEFAULT_THRESHOLDS, plain, "ocr.thresholds", path)}
    for name, table in given.items():
        if not isinstance(table, dict):
            continue
        if name not in ENGINES:
            raise JunkaiError(f"設定ファイル {path} の ocr.thresholds.{name} は知らないエンジンです "
                              f"(使えるもの: {', '.join(ENGINES)})")
        per_engine[name] = _thresholds(per_engine.get(name, DEFAULT_THRESHOLDS), table, f"ocr.thresholds.{name}", path)
    chosen = per_engine.get(engine, dict(DEFAULT_THRESHOLDS))
    return dict(ocr_engine=engine, thresholds=chosen, engine_thresholds=per_engine)


def _thresholds(base: dict, given: dict, key: str, path: Path | None) -> dict:
    out = dict(base)
    for kind, value in given.items():
        if kind not in out:
            raise JunkaiError(f"設定ファイル {path} の {key} に不明な種類があります: {kind} "
                              f"(使える種類: {', '.join(out)})")
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value <= 1.01:
            raise JunkaiError(f"設定ファイル {path} の {key}.{kind} は 0〜1 の数にしてください: {value!r}")
        out[kind] = float(value)
    return out
