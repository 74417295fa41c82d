"""The flows' wiring, under one Prefect test harness for the session: mapping, retries,
artifacts, the nightly batch and its second run, and a Dask cluster against PostgreSQL.
The steps themselves are plain functions, tested without Prefect elsewhere."""

from __future__ import annotations

import shutil
import tempfile
import typing
import uuid
from datetime import date, timedelta
from pathlib import Path

from junkai import prefect_env

# Prefect reads its settings when first imported: its files go to a throw-away folder
prefect_env.configure(Path(tempfile.mkdtemp(prefix="junkai-prefect-")), quiet=True, find_server=False)

import pydantic  # noqa: E402
import pytest  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from flows import common  # noqa: E402
from flows import ingest as ingest_flow  # noqa: E402
from flows import nightly as nightly_flow  # noqa: E402
from flows.deployments import declared  # noqa: E402
from junkai import JunkaiError, settings  # noqa: E402
from junkai import nightly as N  # noqa: E402
from junkai.store import Store, audit, nightly_run, print_batch, scan_page  # noqa: E402
from tests.station import first_cards  # noqa: E402

AS_OF = date.today()
BEAT = "S01-P01-B1"


def _account(monkeypatch, name: str) -> None:
    """This process runs as the OS account `name` (flows act as the user bound to the running account)."""
    from junkai import identity

    monkeypatch.setattr(identity, "os_account", lambda: name)


@pytest.fixture(autouse=True)
def serving_as(monkeypatch):
    """The flows of this process run as "試験": the OS account's name while the store has no users."""
    _account(monkeypatch, "試験")


@pytest.fixture(scope="session")
def harness():
    """One Prefect server for the session: 10-12 s to start here, 60 s allowed (more on a machine
    shared with other test runs: JUNKAI_TEST_PREFECT_STARTUP)."""
    import os

    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=int(os.environ.get("JUNKAI_TEST_PREFECT_STARTUP", "60"))):
        yield


def _clone(server_url: str, template: str) -> str:
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url.replace("postgresql+psycopg", "postgresql") + "/postgres",
                         autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name} TEMPLATE {template}")
    return f"{server_url}/{name}"


@pytest.fixture(scope="module")
def station(tmp_path_factory, pg_server, printed_station, printed_station_pg):
    """The shared printed station (tests/station.py), this module's own copy on SQLite and, identically,
    on PostgreSQL; the first three returned cards of its beat, filled in and scanned, to ingest."""
    root = tmp_path_factory.mktemp("flows")
    home = root / "home"
    shutil.copytree(printed_station.home, home)
    pg_template = _clone(pg_server, printed_station_pg)
    scans = root / "scans"
    pages = first_cards(printed_station.scans / "a", 3, scans)
    config = root / "junkai.toml"
    config.write_text("[inbox]\nsettle_seconds = 0\n", encoding="utf-8")
    return dict(root=root, home=home, scans=scans, config=config, pg=pg_server,
                pg_template=pg_template.rsplit("/", 1)[1], pages=len(pages))


@pytest.fixture
def copy(station, tmp_path, monkeypatch):
    """A data folder of its own (store, key, settings) for one test, used by the flows through the settings."""
    home = tmp_path / "home"
    shutil.copytree(station["home"], home)
    monkeypatch.setenv("JUNKAI_HOME", str(home))
    monkeypatch.setenv("JUNKAI_CONFIG", str(station["config"]))
    monkeypatch.delenv("JUNKAI_DB_URL", raising=False)
    return home


def _count(store: Store, table, *where) -> int:
    with store.transaction():
        return store.conn.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar_one()


# --- declared deployments ------------------------------------------------------------------------------


def test_every_schedule_gives_its_flow_exactly_the_parameters_it_takes():
    s = settings.load({"JUNKAI_HOME": "/nonexistent"})
    planned = declared(s, ["S01", "S02"])
    assert {p.name for p in planned} >= {"nightly-S01", "inbox-S01", "nightly-S02", "inbox-S02", "ingest", "print",
                                        "handover", "report"}
    for p in planned:
        fn = p.flow.fn
        signature = typing.get_type_hints(fn)
        params = p.flow.parameters.properties
        required = set(p.flow.parameters.required or [])
        for schedule in p.schedules:
            given = schedule.parameters
            assert required <= set(given), f"{p.name}: {required - set(given)} missing"
            assert set(given) <= set(params), f"{p.name}: {set(given) - set(params)} unknown"
            for name, value in given.items():
                pydantic.TypeAdapter(signature[name]).validate_python(value, strict=True)
    nightly = [p for p in planned if p.name.startswith("nightly-")]
    assert all(p.schedules[0].cron == "0 2 * * *" and p.schedules[0].timezone == "Asia/Tokyo" for p in nightly)
    assert all(p.limit().limit == 1 for p in planned if p.schedules)


# --- retries: transient failures only -------------------------------------------------------------------------


def test_transient_is_what_may_pass_on_a_second_try():
    import errno

    assert common.is_transient(sa.exc.OperationalError("x", {}, Exception("database is locked")))
    assert common.is_transient(OSError(errno.EAGAIN, "busy"))
    assert common.is_transient(type("KilledWorker", (Exception,), {})())
    assert not common.is_transient(JunkaiError("郵便番号の形式が正しくありません"))
    assert not common.is_transient(FileNotFoundError(errno.ENOENT, "gone"))
    assert not common.is_transient(ValueError("bad"))


def test_the_task_runner_is_a_setting(tmp_path):
    from prefect.task_runners import ProcessPoolTaskRunner, ThreadPoolTaskRunner
    from prefect_dask import DaskTaskRunner

    def runner(text: str):
        (tmp_path / "junkai.toml").write_text(text, encoding="utf-8")
        return common.task_runner(settings.load({"JUNKAI_HOME": str(tmp_path), "JUNKAI_CONFIG": str(tmp_path / "junkai.toml")}))

    assert isinstance(runner(""), ThreadPoolTaskRunner)
    assert isinstance(runner('[prefect]\ntask_runner = "processes"\n'), ProcessPoolTaskRunner)
    local = runner('[prefect]\ntask_runner = "dask"\nworkers = 3\n')
    assert isinstance(local, DaskTaskRunner) and local.cluster_kwargs["n_workers"] == 3
    remote = runner('[prefect]\ntask_runner = "dask"\ndask_address = "tcp://10.0.0.5:8786"\n')
    assert remote.address == "tcp://10.0.0.5:8786"
    with pytest.raises(JunkaiError, match="task_runner"):
        runner('[prefect]\ntask_runner = "ray"\n')


# --- the ingest flow --------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_ingest_flow_records_every_page_once_and_publishes_its_summary(harness, station, copy):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    result = ingest_flow.run([station["scans"]], "試験")
    assert result["pages"] == station["pages"] and result["files"] >= 1 and not result["failures"]
    assert sum(result["states"].values()) == station["pages"] and result["states"].get("applied", 0) >= 2
    assert len(result["by_file"]) == result["files"]
    assert all(f["pages"] and not f["failures"] for f in result["by_file"].values())
    store = Store(f"sqlite:///{copy / 'junkai.sqlite3'}")
    assert _count(store, scan_page) == station["pages"]
    again = ingest_flow.run([station["scans"]], "試験")
    assert again["pages"] == 0 and again["files_seen_before"] == again["files"] == result["files"]
    assert _count(store, scan_page) == station["pages"]
    store.close()
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["ingest"])))
    assert artifacts and artifacts[0].type == "table"
    assert "頁" in artifacts[0].description


# --- the nightly flow ---------------------------------------------------------------------------------------------


def _files(*folders: Path) -> list[str]:
    return sorted(str(p) for f in folders for p in f.rglob("*") if p.is_file() and not p.name.startswith("."))


@pytest.mark.slow
def test_the_nightly_flow_writes_the_lists_and_reports_and_a_second_run_does_nothing_new(harness, station, copy):
    inbox = copy / "inbox" / "S01"
    inbox.mkdir(parents=True)
    for f in station["scans"].iterdir():
        shutil.copy(f, inbox / f.name)
    (inbox / "torn.pdf").write_bytes(b"%PDF-1.4 torn off by the feeder")
    summary = nightly_flow.nightly(station="S01", as_of=AS_OF, operator="試験")["S01"]

    assert {k: v["state"] for k, v in summary.items() if v["state"] == N.FAILED} == {}
    assert list(summary) and set(summary) == set(N.STEPS)
    out = copy / "output" / AS_OF.isoformat()
    day = AS_OF - timedelta(days=1)
    month = (AS_OF.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    written = {Path(f).name for f in _files(out)}
    assert any(n.startswith("overdue-S01-") and n.endswith(".csv") for n in written)
    assert any(n.startswith("visits-S01-") and n.endswith(".pdf") for n in written)
    assert f"chief-S01-{day}.pdf" in written and f"hq-{month}.pdf" in written
    assert all(f.startswith(str(out)) for step in summary.values() if step is not summary["inbox"]
               for f in step["files"])
    # the inbox: scans archived by date, the torn file quarantined with its reason
    archived = sorted(p.name for p in (inbox / "archive" / date.today().isoformat()).iterdir())
    assert archived == sorted(f.name for f in station["scans"].iterdir())
    reason = (inbox / "quarantine" / "torn.pdf.reason.txt").read_text(encoding="utf-8")
    assert "torn.pdf" in reason and "1 頁" in reason
    assert not [p for p in inbox.iterdir() if p.is_file() and not p.name.startswith(".")]
    # the store: pages, the officers' print batches and the run's line
    store = Store(f"sqlite:///{copy / 'junkai.sqlite3'}")
    assert _count(store, scan_page, scan_page.c.state != "failed") == station["pages"]
    assert summary["visit_lists"]["detail"]["batches"]
    with store.transaction():
        runs = store.nightly_runs("S01", AS_OF)
    assert [r["state"] for r in runs] == ["done"] and runs[0]["finished_at"] is not None
    assert runs[0]["summary"]["overdue"]["files"] == summary["overdue"]["files"]

    files, batches = _files(out, inbox), _count(store, print_batch)
    reports = _count(store, audit, audit.c.action.like("report.%"))
    second = nightly_flow.nightly(station="S01", as_of=AS_OF, operator="試験")["S01"]
    assert {k: v["state"] for k, v in second.items()} == dict(
        inbox=N.NOTHING, reconcile=N.NOTHING, overdue=N.SKIPPED, visit_lists=N.SKIPPED, chief_report=N.SKIPPED,
        hq_complaints=N.SKIPPED, hq_report=N.SKIPPED)
    assert _files(out, inbox) == files
    assert _count(store, print_batch) == batches
    assert _count(store, audit, audit.c.action.like("report.%")) == reports
    assert _count(store, nightly_run) == 2
    store.close()


@pytest.mark.slow
def test_a_failing_step_is_recorded_and_the_others_go_on(harness, station, copy, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("プリンタの用紙切れ")

    monkeypatch.setattr(N, "visit_lists", broken)
    with pytest.raises(nightly_flow.StepsFailed) as failed:
        nightly_flow.nightly(station="S01", as_of=AS_OF, operator="試験")
    steps = failed.value.summary["S01"]
    assert steps["visit_lists"]["state"] == N.FAILED and "用紙切れ" in steps["visit_lists"]["message"]
    assert steps["chief_report"]["state"] == N.DONE and steps["overdue"]["state"] == N.DONE
    monkeypatch.undo()
    monkeypatch.setenv("JUNKAI_HOME", str(copy))
    monkeypatch.setenv("JUNKAI_CONFIG", str(station["config"]))
    _account(monkeypatch, "試験")
    # the next run does only what failed
    again = nightly_flow.nightly(station="S01", as_of=AS_OF, operator="試験")["S01"]
    assert again["visit_lists"]["state"] == N.DONE and again["chief_report"]["state"] == N.SKIPPED


@pytest.mark.slow
def test_the_print_handover_and_report_flows_write_their_files(harness, station, copy):
    from flows.handover import handover
    from flows.print import print_cards
    from flows.report import report

    printed = print_cards(beat=BEAT, blank=2, operator="試験")
    assert Path(printed["path"]).is_file() and printed["cards"] == 2
    store = Store(f"sqlite:///{copy / 'junkai.sqlite3'}")
    with store.transaction():
        assert store.print_batch(printed["batch"])["cards"] == 2
    store.close()
    day = AS_OF - timedelta(days=1)
    chief = Path(report(kind="chief", start=day, end=day, station="S01", operator="試験"))
    assert chief.is_file() and chief.name == f"chief-S01-{day}.pdf"
    assert Path(handover(beat=BEAT, as_of=AS_OF, operator="試験")).is_file()
    with pytest.raises(JunkaiError, match="警察署"):
        report(kind="chief", start=day, end=day, operator="試験")


# --- past one machine ---------------------------------------------------------------------------------------------


def _outcome(url: str) -> dict:
    from junkai.store import card, review_item, visit

    store = Store(url)
    with store.transaction():
        c = store.conn
        pages = [(r.id, r.state, r.read_status, r.print_id, r.sheet, r.premises_id, r.summary)
                 for r in c.execute(sa.select(scan_page).order_by(scan_page.c.id))]
        cards = [(r.premises_id, r.version, r.data) for r in c.execute(sa.select(card).order_by(card.c.premises_id))]
        review = [(r.page_id, r.topic, r.field, r.guess, r.status)
                  for r in c.execute(sa.select(review_item).order_by(review_item.c.page_id, review_item.c.field))]
        # the day only: a card with no 記入日 read is dated by the moment each run took its file in
        visits = [(r.premises_id, r.visited_at.date(), r.outcome, r.source)
                  for r in c.execute(sa.select(visit).where(visit.c.source.like("scan:%")).order_by(visit.c.id))]
    store.close()
    return dict(pages=pages, cards=cards, review=review, visits=visits)


@pytest.mark.slow
def test_ingest_on_a_dask_cluster_equals_the_threaded_run(harness, station, copy, monkeypatch):
    from prefect_dask import DaskTaskRunner

    threaded, on_dask = (_clone(station["pg"], station["pg_template"]) for _ in range(2))
    monkeypatch.setenv("JUNKAI_DB_URL", threaded)
    a = ingest_flow.run([station["scans"]], "試験")
    monkeypatch.setenv("JUNKAI_DB_URL", on_dask)
    dask = DaskTaskRunner(cluster_class="distributed.LocalCluster", cluster_kwargs=common.local_cluster(2))
    b = ingest_flow.run([station["scans"]], "試験", runner=dask)
    assert a["pages"] == b["pages"] == station["pages"] and a["states"] == b["states"]
    first, second = _outcome(threaded), _outcome(on_dask)
    assert first["pages"] and first == second


CHILD = """
import sys
from pathlib import Path
from junkai import settings
from junkai.ingest import run
from junkai.store import Store
run(Store(sys.argv[1]), settings.load({"JUNKAI_HOME": sys.argv[2]}), [Path(sys.argv[3])], "地域課 試験", None)
"""


def _resaved(scans: Path, into: Path) -> Path:
    """The same scans as other files (other bytes, same pages), as a second scanner would send them."""
    import pypdfium2 as pdfium
    from PIL import Image

    into.mkdir()
    for f in sorted(scans.iterdir()):
        if f.suffix == ".pdf":
            pdfium.PdfDocument(str(f)).save(str(into / f"again-{f.name}"), version=17)
        elif f.suffix.lower() in (".png", ".tif", ".tiff", ".jpg", ".jpeg"):
            with Image.open(f) as img:
                frames = []
                for i in range(getattr(img, "n_frames", 1)):
                    img.seek(i)
                    frames.append(img.convert("L"))
            frames[0].save(into / f"again-{f.stem}.tiff", save_all=True, append_images=frames[1:],
                           compression="tiff_deflate")
    return into


@pytest.mark.slow
def test_two_ingests_at_once_on_postgresql_apply_every_page_exactly_once(station, copy, tmp_path):
    """Two scanners of one station feeding the same cards at once into one PostgreSQL store."""
    import subprocess
    import sys

    from junkai.store import card

    once, both = (_clone(station["pg"], station["pg_template"]) for _ in range(2))
    alone = tmp_path / "alone"
    shutil.copytree(copy, alone)
    subprocess.run([sys.executable, "-c", CHILD, once, str(alone), str(station["scans"])], check=True,
                   capture_output=True)
    second = _resaved(station["scans"], tmp_path / "second")
    procs = [subprocess.Popen([sys.executable, "-c", CHILD, both, str(copy), str(d)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE) for d in (station["scans"], second)]
    for p in procs:
        assert p.wait() == 0, p.stderr.read().decode()

    def cards(url):
        s = Store(url)
        with s.transaction():
            out = {r.premises_id: r.data for r in s.conn.execute(sa.select(card))}
            pages = [dict(r._mapping) for r in s.conn.execute(sa.select(scan_page))]
        s.close()
        return out, pages

    (a, _), (b, pages) = cards(once), cards(both)
    assert a == b
    claimed = [(p["print_id"], p["sheet"]) for p in pages if p["state"] in ("applied", "waiting") and p["print_id"]]
    assert claimed and len(claimed) == len(set(claimed))
    assert any(p["state"] == "duplicate" for p in pages)


@pytest.mark.slow
def test_the_nightly_run_killed_at_any_moment_and_run_again_ends_as_one_clean_run(station, tmp_path):
    """SIGKILL of `junkai run nightly` (with its temporary Prefect server) at several points; the next
    run finishes the night: the same files, print batches and report events as one uninterrupted run,
    and no unreadable PDF under a final name."""
    import os
    import re
    import signal
    import subprocess
    import sys
    import time

    import pdfplumber

    junkai = Path(sys.executable).with_name("junkai")

    def home(name):
        h = tmp_path / name
        shutil.copytree(station["home"], h)
        return h

    def nightly(h, timeout=None):
        env = dict(os.environ, JUNKAI_HOME=str(h), JUNKAI_CONFIG=str(station["config"]))
        env.pop("JUNKAI_DB_URL", None)
        env.pop("PREFECT_API_URL", None)
        proc = subprocess.Popen([junkai, "run", "nightly", "--station", "S01", "--as-of", AS_OF.isoformat()],
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)  # its Prefect server dies with it
        try:
            return proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return None

    def outcome(h):
        store = Store(f"sqlite:///{h / 'junkai.sqlite3'}")
        batches = _count(store, print_batch)
        reports = _count(store, audit, audit.c.action.like("report.%"))
        with store.transaction():
            last = store.nightly_runs("S01", AS_OF)[-1]
        store.close()
        files = sorted(re.sub(r"-\d{6}(?=\.pdf$)", "", str(p.relative_to(h / "output")))
                       for p in (h / "output").rglob("*") if p.is_file() and not p.name.startswith("."))
        for p in (h / "output").rglob("*.pdf"):
            if not p.name.startswith("."):
                with pdfplumber.open(p) as pdf:
                    assert pdf.pages, p
        return dict(batches=batches, reports=reports, state=last["state"], files=files)

    clean, crashed = home("clean"), home("crashed")
    t0 = time.monotonic()
    assert nightly(clean) == 0
    whole = time.monotonic() - t0
    kills = sum(nightly(crashed, timeout=whole * share) is None for share in (0.3, 0.5, 0.7, 0.85))
    assert nightly(crashed) == 0
    # really stopped part-way, at least once: each run after a kill starts with less left to do, so the later
    # shares of the clean run's time may see it finish (more so with its own server's start in that time)
    assert kills >= 1
    a, b = outcome(clean), outcome(crashed)
    assert a["files"] and a["state"] == "done"
    assert a == b


# --- every flow asks the operator's right, whoever starts it -------------------------------------------------------


@pytest.mark.slow
def test_every_flow_started_through_the_prefect_api_refuses_an_operator_without_the_right(harness, station, copy,
                                                                                          monkeypatch):
    """Each flow as a deployment, a run of it created through the Prefect client (as the UI or the API
    would) and executed by a process serving as an HQ user: HQ may not print, hand over, report to a
    chief, ingest, run the night or the inbox, or purge. Each run fails with the refusal, and the
    refusal is in the audit log, once."""
    import json

    from prefect.client.orchestration import get_client
    from prefect.flow_engine import run_flow

    from flows.handover import handover
    from flows.inbox import inbox
    from flows.ingest import ingest
    from flows.nightly import nightly
    from flows.print import print_cards
    from flows.report import report
    from flows.retention import retention

    hq = "本部 地域課"
    store = Store(f"sqlite:///{copy / 'junkai.sqlite3'}")
    with store.transaction():
        store.add_user("管理者 山田", "admin", AS_OF, "試験", os_account="yamada")
        store.add_user(hq, "hq", AS_OF, "試験", os_account="hq")
    printed = _count(store, print_batch)  # the station's own batches, before any refused run
    _account(monkeypatch, "hq")
    day = AS_OF - timedelta(days=1)
    runs = [(print_cards, dict(beat=BEAT, blank=1), "print"),
            (handover, dict(beat=BEAT, as_of=AS_OF), "print"),
            (report, dict(kind="chief", start=day, end=day, station="S01"), "report.chief"),
            (ingest, dict(paths=[str(station["scans"])]), "batch"),
            (nightly, dict(station="S01", as_of=AS_OF), "batch"),
            (inbox, dict(station="S01"), "batch"),
            (retention, dict(), "setup")]
    for flow_, params, right in runs:
        deployment = flow_.to_deployment(name=f"refusal-{flow_.name}").apply()
        with get_client(sync_client=True) as client:
            created = client.create_flow_run_from_deployment(deployment, parameters=params)
            before = _count(store, audit, audit.c.action == "refused")
            run_flow(flow_, flow_run=client.read_flow_run(created.id), return_type="state")
            state = client.read_flow_run(created.id).state
        assert state.is_failed(), (flow_.name, state)
        assert f"{hq} は" in state.message and "行えません" in state.message, (flow_.name, state.message)
        assert _count(store, audit, audit.c.action == "refused") == before + 1, flow_.name
        with store.transaction():
            last = store.audit_events()[-1]
        assert (last["operator"], last["action"]) == (hq, "refused"), flow_.name
        assert json.loads(last["detail"])["attempted"] == right, flow_.name
    assert _count(store, print_batch) == printed and _count(store, scan_page) == 0
    assert _count(store, nightly_run) == 0
    store.close()


# --- a station's inbox keeps to its own cards ---------------------------------------------------------------------


@pytest.mark.slow
def test_a_card_of_another_station_in_a_stations_inbox_is_quarantined_and_nothing_recorded(harness, station, copy):
    """A blank card printed for a beat of S02, dropped into S01's inbox: the nightly inbox flow refuses its
    page with the reason, records nothing of it and quarantines the file; S02's inbox then takes it."""
    import pypdfium2 as pdfium

    from flows import inbox as inbox_flow
    from junkai import printing, qr

    store = Store(f"sqlite:///{copy / 'junkai.sqlite3'}")
    with store.transaction():
        store.add_station("S02", "第二警察署")
        store.add_post("S02-P01", "S02", "第二交番", "交番")
        store.add_beat("S02-P01-B1", "S02-P01", "第二受持区")
    _, pdf, _ = printing.print_cards(store, copy / "print", qr.station_key(copy), beat="S02-P01-B1", blank=1,
                                     operator="試験")
    for st in ("S01", "S02"):
        (copy / "inbox" / st).mkdir(parents=True)
    page = pdfium.PdfDocument(str(pdf))[1].render(scale=200 / 72, grayscale=True).to_pil()
    page.save(copy / "inbox" / "S01" / "s02-card.png", dpi=(200, 200))
    pages_before = _count(store, scan_page)

    [result] = inbox_flow.inbox(station="S01", operator="試験", settle_seconds=0)
    assert result["files"] == 1 and result["pages"] == 0 and len(result["quarantined"]) == 1
    reason = Path(result["quarantined"][0] + ".reason.txt").read_text(encoding="utf-8")
    assert "他の署 (S02) のカードです" in reason
    assert _count(store, scan_page) == pages_before
    assert _count(store, audit, audit.c.action == "refused", audit.c.target_kind == "scan_page") == 1

    shutil.move(result["quarantined"][0], copy / "inbox" / "S02" / "s02-card.png")
    [result] = inbox_flow.inbox(station="S02", operator="試験", settle_seconds=0)
    assert result["pages"] == 1 and len(result["archived"]) == 1 and result["states"] == {"waiting": 1}
    assert _count(store, scan_page) == pages_before + 1


# --- the Prefect servers junkai starts ------------------------------------------------------------------------------


def test_the_api_auth_string_is_made_once_and_kept_private(tmp_path):
    import stat

    first = prefect_env.auth_string(tmp_path)
    path = tmp_path / "prefect" / prefect_env.AUTH_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert first.startswith("junkai:") and len(first) > 30
    path.chmod(0o644)
    assert prefect_env.auth_string(tmp_path) == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.write_text("x", encoding="ascii")
    with pytest.raises(JunkaiError, match="壊れています"):
        prefect_env.auth_string(tmp_path)


SLOW_START = """
import psutil
from junkai import JunkaiError, prefect_env
try:
    with prefect_env.Server(__import__("pathlib").Path(__import__("sys").argv[1])):
        print("started")
except JunkaiError as exc:
    print(exc)
print("children", len(psutil.Process().children(recursive=True)))
"""


def test_a_server_slower_than_its_startup_time_stops_with_one_clear_line(tmp_path):
    """A machine too busy for the allowed start-up time: one Japanese line saying what to set, no server left."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, **{prefect_env.STARTUP_ENV: "1"})
    env.pop("PREFECT_API_URL", None)
    done = subprocess.run([sys.executable, "-c", SLOW_START, str(tmp_path)], env=env, capture_output=True, text=True,
                          timeout=120)
    lines = done.stdout.splitlines()
    assert lines[0].startswith("Prefect サーバが 1 秒以内に応答しませんでした") and prefect_env.STARTUP_ENV in lines[0]
    assert lines[-1] == "children 0"
    with pytest.raises(JunkaiError, match=prefect_env.STARTUP_ENV):
        os.environ[prefect_env.STARTUP_ENV] = "soon"
        try:
            prefect_env.startup_seconds()
        finally:
            del os.environ[prefect_env.STARTUP_ENV]


# --- the server of `junkai serve`: authenticated, same-origin, CSRF-checked, and confined flows --------------------


def _real_account() -> str:
    import os
    import pwd

    return pwd.getpwuid(os.getuid()).pw_name


def _junkai_env(home: Path, config: Path, **extra) -> dict:
    import os

    env = dict(os.environ, JUNKAI_HOME=str(home), JUNKAI_CONFIG=str(config), **extra)
    for name in ("JUNKAI_DB_URL", "PREFECT_API_URL", "PREFECT_HOME", "PREFECT_API_AUTH_STRING",
                 "PREFECT_SERVER_API_AUTH_STRING"):
        env.pop(name, None)
    return env


def _prefect_servers(pid: int) -> list:
    import psutil

    try:
        children = psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    found = []
    for c in children:
        try:
            line = " ".join(c.cmdline())
            if "prefect" in line and "server" in line:  # `prefect server start`, or Prefect's temporary uvicorn
                found.append(c)
        except psutil.NoSuchProcess:
            pass
    return found


def _kill_and_expect_no_orphan(proc, servers: list, within: float = 10.0) -> None:
    """kill -9 of the command: its Prefect server is gone within seconds."""
    import psutil

    proc.kill()
    proc.wait()
    gone, alive = psutil.wait_procs(servers, timeout=within)
    for p in alive:  # clean up before failing
        p.kill()
    assert not alive, [p.cmdline() for p in alive]


@pytest.mark.slow
def test_the_served_api_refuses_strangers_other_origins_forged_posts_and_runs_as_another_or_elsewhere(station, copy,
                                                                                                   tmp_path):
    """`junkai serve` run by a custodian: without the auth string the API answers 401; another origin gets
    no `access-control-allow-origin`; a POST without a CSRF token is refused; a print run naming a chief
    as its operator, or an output folder outside the output area, fails with the refusal in the audit log
    and prints nothing. kill -9 of `junkai serve` leaves no Prefect server behind."""
    import json
    import os
    import stat
    import subprocess
    import sys
    import time

    import httpx

    from junkai import prefect_env

    custodian, chief = "地域課長 佐藤", "署長 鈴木"
    store = Store(f"sqlite:///{copy / 'junkai.sqlite3'}")
    with store.transaction():
        # the command below runs as this OS account: bound to the custodian
        store.add_user(custodian, "custodian", AS_OF, "試験", station_id="S01", os_account=_real_account())
        store.add_user(chief, "chief", AS_OF, "試験", station_id="S01", os_account="suzuki")
    printed = _count(store, print_batch)
    port = prefect_env.free_port()
    junkai = Path(sys.executable).with_name("junkai")
    proc = subprocess.Popen([junkai, "serve", "--port", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env=_junkai_env(copy, station["config"]))
    api = f"http://127.0.0.1:{port}/api"
    try:
        secret_file = copy / "prefect" / prefect_env.AUTH_FILE
        auth = {"Authorization": prefect_env.basic_auth("")}
        client = httpx.Client(timeout=10, trust_env=False)
        deadline = time.monotonic() + int(os.environ.get("JUNKAI_TEST_PREFECT_STARTUP", "300"))
        deployment = None
        while deployment is None:
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "junkai serve did not come up"
            time.sleep(1)
            if not secret_file.exists():
                continue
            auth = {"Authorization": prefect_env.basic_auth(secret_file.read_text().strip())}
            try:
                r = client.get(f"{api}/deployments/name/print/print", headers=auth)
            except httpx.TransportError:
                continue
            if r.status_code == 200:
                deployment = r.json()["id"]
        assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
        servers = _prefect_servers(proc.pid)
        assert len(servers) == 1

        # no auth string, or a wrong one: 401
        assert client.get(f"{api}/deployments/name/print/print").status_code == 401
        wrong = {"Authorization": prefect_env.basic_auth("junkai:guess")}
        assert client.get(f"{api}/deployments/name/print/print", headers=wrong).status_code == 401
        # another origin: never allowed, neither on a preflight nor on a request
        evil = "http://evil.example"
        pre = client.options(f"{api}/deployments/{deployment}/create_flow_run",
                             headers={"Origin": evil, "Access-Control-Request-Method": "POST",
                                      "Access-Control-Request-Headers": "authorization,content-type"})
        assert pre.headers.get("access-control-allow-origin") not in ("*", evil)
        got = client.get(f"{api}/deployments/name/print/print", headers={**auth, "Origin": evil})
        assert got.headers.get("access-control-allow-origin") not in ("*", evil)
        own = client.get(f"{api}/deployments/name/print/print",
                         headers={**auth, "Origin": f"http://127.0.0.1:{port}"})
        assert own.headers.get("access-control-allow-origin") == f"http://127.0.0.1:{port}"
        # a state change without a CSRF token, even with the auth string: refused
        forged = client.post(f"{api}/deployments/{deployment}/create_flow_run",
                             json={"parameters": {"beat": BEAT, "blank": 1}}, headers=auth)
        assert forged.status_code == 403
        token = client.get(f"{api}/csrf-token", params={"client": "test"}, headers=auth).json()["token"]
        csrf = {**auth, "Prefect-Csrf-Token": token, "Prefect-Csrf-Client": "test"}

        def run(parameters: dict) -> dict:
            r = client.post(f"{api}/deployments/{deployment}/create_flow_run", json={"parameters": parameters},
                            headers=csrf)
            assert r.status_code == 201, r.text
            run_id = r.json()["id"]
            while True:
                assert time.monotonic() < deadline + 300, "the run did not end"
                state = client.get(f"{api}/flow_runs/{run_id}", headers=auth).json()["state"]
                if state and state["type"] in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED"):
                    return state
                time.sleep(1)

        def last_refusal() -> dict:
            with store.transaction():
                last = store.audit_events()[-1]
            assert last["action"] == "refused"
            return dict(operator=last["operator"], **json.loads(last["detail"]))

        as_chief = run({"beat": BEAT, "blank": 1, "operator": chief})
        assert as_chief["type"] == "FAILED" and "行えません" in as_chief["message"], as_chief
        refusal = last_refusal()
        assert refusal["operator"] == custodian and refusal["requested"] == chief and refusal["attempted"] == "print"

        outside = tmp_path / "elsewhere"
        elsewhere = run({"beat": BEAT, "blank": 1, "out_dir": str(outside)})
        assert elsewhere["type"] == "FAILED" and "出力フォルダ" in elsewhere["message"], elsewhere
        assert last_refusal()["out_dir"] == str(outside)
        climbing = run({"beat": BEAT, "blank": 1, "out_dir": "../../escaped"})
        assert climbing["type"] == "FAILED" and "出力フォルダ" in climbing["message"], climbing
        assert not outside.exists() and not (copy.parent / "escaped").exists()
        assert _count(store, print_batch) == printed

        # the one who serves may print, into the output folder
        ok = run({"beat": BEAT, "blank": 1, "out_dir": "from-the-ui"})
        assert ok["type"] == "COMPLETED", ok
        assert _count(store, print_batch) == printed + 1
        assert list((copy / "output" / "from-the-ui").glob("*.pdf"))

        _kill_and_expect_no_orphan(proc, servers)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        store.close()


@pytest.mark.slow
def test_a_killed_ingest_leaves_no_prefect_server(station, copy):
    """`junkai ingest` starts its own Prefect server (no `junkai serve` running): kill -9 of the command
    while it runs, and the server is gone within seconds."""
    import subprocess
    import sys
    import time

    junkai = Path(sys.executable).with_name("junkai")
    proc = subprocess.Popen([junkai, "ingest", str(station["scans"])], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=_junkai_env(copy, station["config"]))
    try:
        deadline = time.monotonic() + 120
        servers = []
        while not servers:
            assert proc.poll() is None, "ingest ended before its server was seen"
            assert time.monotonic() < deadline
            time.sleep(0.2)
            servers = _prefect_servers(proc.pid)
        _kill_and_expect_no_orphan(proc, servers)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.slow
def test_a_print_served_by_a_chief_is_refused_by_the_print_right(harness, station, copy, monkeypatch):
    """Served by a chief (who has no print right), the print flow is refused by the action's own check,
    audited, and prints nothing, whatever operator the run names."""
    import json

    from flows.print import print_cards

    chief = "署長 鈴木"
    store = Store(f"sqlite:///{copy / 'junkai.sqlite3'}")
    with store.transaction():
        store.add_user("管理者 山田", "admin", AS_OF, "試験", os_account="yamada")
        store.add_user(chief, "chief", AS_OF, "試験", station_id="S01", os_account="suzuki")
    printed = _count(store, print_batch)
    _account(monkeypatch, "suzuki")
    for named in (None, chief):
        with pytest.raises(JunkaiError, match=f"{chief} は.*印刷を行えません"):
            print_cards(beat=BEAT, blank=1, operator=named)
        with store.transaction():
            last = store.audit_events()[-1]
        assert (last["operator"], last["action"], json.loads(last["detail"])["attempted"]) == (chief, "refused", "print")
    assert _count(store, print_batch) == printed
    store.close()
