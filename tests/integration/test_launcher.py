"""`aduan up` on the embedded default: SQLite, a spawned redis-server, first-run admin, clean Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.integration.stack import (
    FORWARD,
    Stack,
    _aduan,
    _base_env,
    _ports,
    complaint_body,
    eventually,
    run_cli,
    running,
)
from tests.integration.stack import alive as _alive

pytestmark = pytest.mark.integration


def _stack(folder: Path) -> Stack:
    env = _base_env({})  # no ADUAN_BROKER_URL: redis-server is on PATH here, so it is spawned
    intake, staff = _ports()
    return Stack(
        "default",
        folder,
        env,
        f"sqlite:///{folder / 'aduan.db'}",
        f"http://127.0.0.1:{intake}",
        f"http://127.0.0.1:{staff}",
    )


def _health(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(stack.env, "health", *args, "--data-dir", str(stack.data_dir))


def test_up_runs_everything_and_ctrl_c_stops_every_child(tmp_path: Path) -> None:
    first = _stack(tmp_path)
    first.start()
    try:
        banner = first.banner
        assert first.intake_url in banner and first.staff_url in banner
        assert re.search(r"broker\s+redis://127\.0\.0\.1:\d+/0", banner), banner
        assert re.search(r"admin / \S{12,}", banner), banner
        for kind in ("sms", "whatsapp", "email"):  # nothing configured: every kind only logs
            assert f"saluran                {kind}: log (tidak terkirim, hanya dicatat)" in banner, banner
        assert (tmp_path / "aduan.db").exists() and (tmp_path / "secrets.json").exists()
        assert first.proc is not None
        assert int((tmp_path / "run" / "up.pid").read_text()) == first.proc.pid
        children = {p.stem: int(p.read_text()) for p in (tmp_path / "run").glob("*.pid") if p.stem != "up"}
        # The embedded default: both APIs in one process, one worker for both queues and the sweeper.
        assert set(children) == {"redis", "api", "worker"}
        assert all(_alive(pid) for pid in children.values())
        for url in (first.intake_url, first.staff_url):
            assert httpx.get(f"{url}/readyz").json()["status"] == "ready"
        # The workers and the sweeper beat (the docker-compose health checks ask `aduan health`).
        for name in ("routing-worker", "notify-worker", "sweeper"):
            eventually(lambda name=name: _health(first, name).returncode, lambda rc: rc == 0)  # type: ignore[misc]
        # the CLI acts on this instance through --data-dir, and through ADUAN_DATA_DIR
        out = run_cli({**first.env, "ADUAN_DATA_DIR": str(tmp_path)}, "kiosks", "add", "kios-1")
        assert out.returncode == 0, out.stderr
        first.kiosk_key = out.stdout.strip().splitlines()[-1]
        # calendar commands act on the running instance (and publish to its spawned broker)
        here = ("--data-dir", str(tmp_path))
        closed = run_cli(first.env, "calendar", "close", "2031-01-06", "--reason", "Uji tutup", *here)
        assert closed.returncode == 0, closed.stderr
        assert "2031-01-06 ditutup" in closed.stdout
        shown = run_cli(first.env, "calendar", "show", "2031-01", *here)
        assert shown.returncode == 0, shown.stderr
        assert "2031-01-06 Senin  tutup Uji tutup" in shown.stdout
        assert "2031-01-01 Rabu   tutup" in shown.stdout  # Tahun Baru
        rows = first.sql("SELECT processed_at FROM outbox WHERE task = 'routing.recompute_deadlines'")
        deadline = time.monotonic() + 5  # less than the reconciler's grace: published right away
        while rows[0][0] is None and time.monotonic() < deadline:
            time.sleep(0.05)
            rows = first.sql("SELECT processed_at FROM outbox WHERE task = 'routing.recompute_deadlines'")
        assert rows[0][0] is not None
        filed = first.file(complaint_body()).json()
    finally:
        assert first.stop() == 0
    assert all(not _alive(pid) for pid in children.values())
    assert not list((tmp_path / "run").glob("*.pid"))
    stale = _health(first, "sweeper", "--max-age", "0.5")
    assert stale.returncode == 1 and "tidak sehat" in stale.stderr

    # Second run on the same folder: no new admin password, the complaint is still there.
    second = _stack(tmp_path)
    second.start()
    try:
        assert "admin / " not in second.banner
        r = httpx.get(
            f"{second.intake_url}/api/v1/track/{filed['ticket']}",
            params={"code": filed["tracking_code"]},
        )
        assert r.status_code == 200 and r.json()["ticket"] == filed["ticket"]
    finally:
        assert second.stop() == 0


def test_outside_the_embedded_default_a_missing_secret_stops_start_up(tmp_path: Path) -> None:
    env = _base_env({"ADUAN_DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/postgres"})
    out = run_cli(env, "up", "--data-dir", str(tmp_path))
    assert out.returncode == 78
    assert "ADUAN_SECRET_KEY" in out.stderr


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return "?"


def test_up_recovers_after_an_unclean_stop_and_supervises_its_redis(tmp_path: Path) -> None:
    first = _stack(tmp_path)
    first.start()
    try:
        # A second `up` on the same folder is refused while the first runs.
        second_try = run_cli(first.env, "up", "--data-dir", str(tmp_path))
        assert second_try.returncode == 1
        assert "sudah berjalan" in second_try.stderr
        # The spawned redis-server is supervised: killed, it comes back on its port.
        redis_pid = first.pid("redis")
        os.kill(redis_pid, signal.SIGKILL)
        eventually(lambda: first.pid("redis"), lambda pid: pid != redis_pid and _alive(pid))
        eventually(lambda: httpx.get(f"{first.intake_url}/readyz").status_code, lambda code: code == 200)
        old_broker = (tmp_path / "run" / "broker_url").read_text()
        children = [int(p.read_text()) for p in (tmp_path / "run").glob("*.pid") if p.stem != "up"]
        # The supervisor dies without cleaning up: its children and run files stay behind.
        assert first.proc is not None
        first.proc.kill()
        first.proc.wait()
        assert all(_alive(pid) for pid in children)
    finally:
        first.stop()

    # The next `up` stops what was left, spawns a fresh broker and works end to end.
    second = _stack(tmp_path)
    try:
        second.start()
        survivors = {pid: _cmdline(pid) for pid in children if _alive(pid)}
        assert not survivors, survivors
        assert (tmp_path / "run" / "broker_url").read_text() != old_broker
        second.provision()
        _aduan(
            second.env,
            "users",
            "add",
            "hi2",
            "--role",
            "bidang",
            "--unit",
            "hi_jamsos",
            "--password-stdin",
            "--data-dir",
            str(tmp_path),
            stdin="sandi-bidang-hi-2\n",
        )
        me = httpx.get(
            f"{second.staff_url}/api/v1/me",
            headers={"Authorization": f"Bearer {second.login('hi2', 'sandi-bidang-hi-2')}"},
        ).json()
        assert (me["role"], me["unit"]) == ("bidang", "hi_jamsos")
        filed = second.file().json()
        second.wait_in_queue("fo", filed["ticket"])
        assert second.act("fo", filed["ticket"], "forward", 1, **FORWARD).status_code == 202
        second.wait_in_queue("kasubag", filed["ticket"])
    finally:
        assert second.stop() == 0


def test_without_redis_server_on_path_up_uses_the_filesystem_broker(tmp_path: Path) -> None:
    empty_bin = tmp_path / "bin"
    empty_bin.mkdir()
    stack = _stack(tmp_path / "data")
    stack.env["PATH"] = str(empty_bin)
    with running(stack):
        assert re.search(r"broker\s+filesystem://", stack.banner), stack.banner
        assert not (tmp_path / "data" / "run" / "redis.pid").exists()
        filed = stack.file().json()
        stack.wait_in_queue("fo", filed["ticket"])
        assert stack.act("fo", filed["ticket"], "forward", 1, **FORWARD).status_code == 202
        stack.wait_in_queue("kasubag", filed["ticket"])
