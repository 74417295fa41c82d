"""Who acts on the command line: the OS account running junkai, checked with real OS accounts.

Root (the test) sets up a data folder shared by a station group (mode 2770, as on a station
PC where each person logs in as themselves), registers the administrator (bound to root, who
registers it) and binds a custodian to a second account; a third account is bound to no one.
The commands are the real console script, run as each account with runuser."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import uuid
from pathlib import Path

import pytest

JUNKAI = Path(sys.executable).with_name("junkai")
# the accounts may not reach this interpreter (it can live in root's home): they run the system's
# Python of the same version, with this environment's packages
SYSTEM_PYTHON = Path(f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}")
AS_ACCOUNT = ("import site, sys; site.addsitedir(sys.argv.pop(1)); sys.argv[0] = 'junkai'; "
              "from junkai.cli import main; main()")
pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("useradd") or not shutil.which("runuser")
                                or not SYSTEM_PYTHON.exists(), reason="needs root to create OS accounts")


@pytest.fixture(scope="module")
def station():
    tag = uuid.uuid4().hex[:6]
    group, sato, mallory = f"jkst{tag}", f"jksato{tag}", f"jkmal{tag}"
    home = Path(tempfile.mkdtemp(prefix="junkai-shared-"))
    try:
        subprocess.run(["groupadd", group], check=True)
        for user in (sato, mallory):
            subprocess.run(["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", "-G", group, user],
                           check=True)
        data = home / "data"
        data.mkdir()
        shutil.chown(data, group=group)
        data.chmod(0o2770)  # the station's group shares the data folder; nobody else reaches it
        home.chmod(0o755)
        yield dict(home=home, data=data, sato=sato, mallory=mallory)
    finally:
        for user in (sato, mallory):
            subprocess.run(["userdel", user], capture_output=True)
        subprocess.run(["groupdel", group], capture_output=True)
        shutil.rmtree(home, ignore_errors=True)


def junkai(st, *args, user: str | None = None, env: dict | None = None):
    """The console script as `user` (root when None), in the shared data folder."""
    base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "JUNKAI_HOME": str(st["data"]),
            "HOME": str(st["home"]), "LANG": "C.UTF-8", **(env or {})}
    if user is None:
        command, env_ = [str(JUNKAI), *args], base
    else:
        base["PYTHONDONTWRITEBYTECODE"] = "1"
        command = ["runuser", "-u", user, "--", "env", *(f"{k}={v}" for k, v in base.items()),
                   str(SYSTEM_PYTHON), "-c", AS_ACCOUNT, sysconfig.get_paths()["purelib"], *args]
        env_ = None
    return subprocess.run(command, env=env_, cwd=st["home"], capture_output=True, text=True, timeout=300)


def ok(r):
    assert r.returncode == 0, r.stdout + r.stderr
    return r


def test_the_os_account_is_who_acts(station):
    st = station
    ok(junkai(st, "seed", "--premises", "12", "--seed", "1", "--until", "2026-11-20"))
    ok(junkai(st, "user", "add", "管理者 山田", "--role", "admin"))  # the first: bound to root, who registers it
    ok(junkai(st, "user", "add", "地域課長 佐藤", "--role", "custodian", "--station", "S01"))
    ok(junkai(st, "user", "bind", "地域課長 佐藤", st["sato"]))

    # a bound account acts as its user, in the shared folder
    ok(junkai(st, "history", "1", user=st["sato"]))
    # the measured attack: naming the administrator, from a bound and from an unbound account
    for user in (st["sato"], st["mallory"]):
        r = junkai(st, "--as", "管理者 山田", "user", "add", "X", "--role", "custodian", "--station", "S01", user=user)
        assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stdout + r.stderr
        assert f"OS アカウント {user} は" in r.stderr
    assert "管理者 (管理者 山田) に `junkai user bind 利用者名" in r.stderr
    # nor does an environment variable choose anyone
    r = junkai(st, "history", "1", user=st["mallory"], env={"JUNKAI_USER": "管理者 山田"})
    assert r.returncode == 2 and f"OS アカウント {st['mallory']} は junkai の利用者に結び付けられていません" in r.stderr
    r = junkai(st, "user", "list", user=st["sato"], env={"JUNKAI_USER": "管理者 山田"})
    assert r.returncode == 2 and "地域課長 佐藤 は ストア全体 の利用者の管理を行えません" in r.stderr

    users = json.loads(ok(junkai(st, "user", "list", "--json")).stdout)
    assert "X" not in {u["name"] for u in users}
    assert {u["name"]: u["os_account"] for u in users} == {"管理者 山田": "root", "地域課長 佐藤": st["sato"]}
    events = json.loads(ok(junkai(st, "audit", "show", "--json")).stdout)
    assert all(e["os_account"] and e["host"] for e in events)
    seen = [(e["operator"], e["action"], e["os_account"]) for e in events]
    assert ("地域課長 佐藤", "history", st["sato"]) in seen
    # a refusal is recorded as who ran it, never as the name claimed
    assert ("地域課長 佐藤", "refused", st["sato"]) in seen and (st["mallory"], "refused", st["mallory"]) in seen
    assert not [e for e in events if e["operator"] == "管理者 山田" and e["os_account"] != "root"]
    assert ok(junkai(st, "audit", "verify", user=st["sato"])).stdout.startswith("監査ログは正常です")


def test_a_truncated_log_shows_on_the_command_line(station, tmp_path):
    """Rows cut off the end and the head reset in the database: the head file still knows."""
    import sqlite3

    st = station
    copy = tmp_path / "data"
    shutil.copytree(st["data"], copy)
    db = copy / "junkai.sqlite3"
    with sqlite3.connect(db) as conn:
        conn.execute("drop trigger audit_no_delete")
        n = conn.execute("select count(*) from audit").fetchone()[0]
        conn.execute("delete from audit where id > ?", (n - 2,))
        last = conn.execute("select hash from audit order by id desc limit 1").fetchone()[0]
        conn.execute("update audit_head set count = ?, hash = ?", (n - 2, last))
    r = subprocess.run([str(JUNKAI), "audit", "verify"], env=dict(os.environ, JUNKAI_HOME=str(copy)),
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and r.stderr.count("\n") == 1
    assert f"先端の記録 (audit-head.log) では {n} 行あるはずが {n - 2} 行です" in r.stderr
