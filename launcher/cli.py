"""The `aduan` command: run the whole system (`up`) or one service, and administer an instance.

This module imports only the standard library at its top: `aduan up`'s supervisor runs here for as
long as the system runs, and each command imports what it needs itself.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
from collections.abc import Iterator, Sequence
from datetime import date
from typing import Any, NoReturn

from shared import heartbeat

SERVICES = {
    "intake": "launcher.apps:public_app",
    "staff": "services.routing.app:create_app",
}
WORKERS = {
    "routing": "services.routing.worker",
    "notify": "services.notify.worker",
}


def _configure_logging() -> None:
    from shared.settings import get_settings

    logging.basicConfig(
        level=get_settings().log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def cmd_migrate(_args: argparse.Namespace) -> int:
    from shared.migrate import upgrade
    from shared.settings import get_settings

    upgrade(get_settings())
    print("Skema basis data mutakhir.")
    return 0


def cmd_users_add(args: argparse.Namespace) -> int:
    from launcher import admin

    if not args.password_stdin:
        print("Gunakan --password-stdin dan kirim kata sandi lewat standar input.", file=sys.stderr)
        return 2
    password = sys.stdin.readline().rstrip("\r\n")
    try:
        admin.add_user(
            args.username,
            role=args.role,
            unit=args.unit,
            password=password,
            full_name=args.full_name,
            email=args.email,
        )
    except admin.AdminError as exc:
        print(f"Gagal: {exc}", file=sys.stderr)
        return 1
    print(f"Pengguna {args.username} ({args.role}{'/' + args.unit if args.unit else ''}) dibuat.")
    return 0


def cmd_users_unlock(args: argparse.Namespace) -> int:
    from launcher import admin

    try:
        cleared = admin.unlock_user(args.username, address=args.address)
    except admin.AdminError as exc:
        print(f"Gagal: {exc}", file=sys.stderr)
        return 1
    where = f" dan alamat {args.address}" if args.address else ""
    state = "dibuka" if cleared else "tidak terkunci; tidak ada yang diubah"
    print(f"Kunci masuk {args.username}{where}: {state}.")
    return 0


def cmd_users_list(_args: argparse.Namespace) -> int:
    from launcher import admin
    from shared.when import long_time

    found = admin.list_users()
    print(f"{'PENGGUNA':<20} {'PERAN':<14} {'BIDANG':<14} {'STATUS':<9} MASUK TERAKHIR")
    for a in found:
        state = "aktif" if a.active else "nonaktif"
        seen = long_time(a.last_sign_in_at) if a.last_sign_in_at else "belum pernah"
        print(f"{a.username:<20} {a.role.value:<14} {a.unit or '-':<14} {state:<9} {seen}")
    return 0


def cmd_users_active(args: argparse.Namespace) -> int:
    from launcher import admin

    active = args.sub == "enable"
    try:
        admin.set_user_active(args.username, active)
    except admin.AdminError as exc:
        print(f"Gagal: {exc}", file=sys.stderr)
        return 1
    if active:
        print(f"Akun {args.username} diaktifkan kembali.")
    else:
        print(f"Akun {args.username} dinonaktifkan: sesi dan tokennya tidak berlaku lagi.")
    return 0


def cmd_users_reset_password(args: argparse.Namespace) -> int:
    from launcher import admin

    try:
        password = admin.reset_user_password(args.username)
    except admin.AdminError as exc:
        print(f"Gagal: {exc}", file=sys.stderr)
        return 1
    print(f"Kata sandi sekali pakai untuk {args.username} (ditampilkan sekali; wajib diganti saat masuk):")
    print(password)
    return 0


def cmd_kiosks_list(_args: argparse.Namespace) -> int:
    from launcher import admin
    from shared.when import long_time

    print(f"{'KIOS':<24} {'STATUS':<9} {'DIBUAT':<44} PENGADUAN TERAKHIR")
    for k in admin.list_kiosks():
        state = "aktif" if k.active else "dicabut"
        last = long_time(k.last_filed_at) if k.last_filed_at else "-"
        print(f"{k.name:<24} {state:<9} {long_time(k.created_at):<44} {last}")
    return 0


def cmd_kiosks_add(args: argparse.Namespace) -> int:
    from launcher import admin

    try:
        key = admin.add_kiosk(args.name)
        link = admin.enrol_kiosk(args.name) if args.enrol else None
    except admin.AdminError as exc:
        print(f"Gagal: {exc}", file=sys.stderr)
        return 1
    if link is not None:
        _print_enrol_link(link)
    print(f"Kios {args.name} dibuat. Simpan kunci berikut; kunci hanya ditampilkan sekali:")
    print(key)
    return 0


def _print_enrol_link(link: str) -> None:
    from shared.settings import get_settings
    from shared.when import duration

    ttl = duration(get_settings().kiosk_enrol_ttl)
    print(f"Buka tautan berikut di peramban kios (sekali pakai, berlaku {ttl}):")
    print(link)


def cmd_kiosks_enrol(args: argparse.Namespace) -> int:
    from launcher import admin

    try:
        link = admin.enrol_kiosk(args.name)
    except admin.AdminError as exc:
        print(f"Gagal: {exc}", file=sys.stderr)
        return 1
    _print_enrol_link(link)
    return 0


def cmd_kiosks_revoke(args: argparse.Namespace) -> int:
    from launcher import admin

    try:
        admin.revoke_kiosk(args.name)
    except admin.AdminError as exc:
        print(f"Gagal: {exc}", file=sys.stderr)
        return 1
    print(f"Kios {args.name} dinonaktifkan: kunci dan halaman kiosnya tidak dapat mengirim pengaduan lagi.")
    return 0


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"tanggal tidak valid: {text} (format YYYY-MM-DD)") from exc


def _month(text: str) -> date:
    try:
        return date.fromisoformat(f"{text}-01")
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"bulan tidak valid: {text} (format YYYY-MM)") from exc


def cmd_calendar_set(args: argparse.Namespace) -> int:
    from shared import office_days
    from shared.clock import now
    from shared.db import unit_of_work

    reason = (args.reason or "").strip()
    if not reason:
        print("Gagal: --reason wajib diisi.", file=sys.stderr)
        return 1
    with unit_of_work() as session:
        office_days.set_override(
            session, args.day, open_=args.command_name == "open", reason=reason, actor="cli", now=now()
        )
    state = "dibuka" if args.command_name == "open" else "ditutup"
    print(f"{args.day.isoformat()} {state}: {reason}. Tenggat yang berjalan dihitung ulang.")
    return 0


def cmd_calendar_clear(args: argparse.Namespace) -> int:
    from shared import office_days
    from shared.clock import now
    from shared.db import unit_of_work

    with unit_of_work() as session:
        found = office_days.clear_override(session, args.day, now=now())
    print(f"{args.day.isoformat()}: " + ("pengecualian dihapus." if found else "tidak ada pengecualian."))
    return 0


def cmd_calendar_show(args: argparse.Namespace) -> int:
    from launcher.admin import month_view

    for line in month_view(args.month):
        print(line)
    return 0


def cmd_prepare(_args: argparse.Namespace) -> int:
    import json

    from launcher.prepare import prepare

    print(json.dumps(prepare()))
    return 0


def cmd_apis(args: argparse.Namespace) -> int:
    import uvicorn

    from launcher.combined import serve_apis
    from services.notify.channels import load_channels
    from shared.settings import get_settings

    settings = get_settings()
    load_channels(settings)  # the intake app takes the gateways' receipts: bad settings stop it here
    ports = {
        "intake": args.intake_port or settings.intake_port,
        "staff": args.staff_port or settings.staff_port,
    }
    serve_apis(
        [
            uvicorn.Config(
                SERVICES[name],
                factory=True,
                host=args.host or settings.host,
                port=port,
                log_level=settings.log_level.lower(),
                log_config=_uvicorn_logging(settings.log_level.upper()),
                access_log=False,
                proxy_headers=True,
            )
            for name, port in ports.items()
        ]
    )
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from shared.settings import get_settings

    settings = get_settings()
    if args.service == "intake":
        from services.notify.channels import load_channels

        # The intake process takes the gateways' receipts: bad gateway settings stop it here.
        load_channels(settings)
    port = args.port or (settings.intake_port if args.service == "intake" else settings.staff_port)
    uvicorn.run(
        SERVICES[args.service],
        factory=True,
        host=args.host or settings.host,
        port=port,
        workers=settings.api_workers,
        log_level=settings.log_level.lower(),
        log_config=_uvicorn_logging(settings.log_level.upper()),
        access_log=False,
        proxy_headers=True,
    )
    return 0


def _uvicorn_logging(level: str) -> dict[str, Any]:
    """Uvicorn's logging set-up, plus the root logger: the application's own lines (services.*,
    shared.*) reach the log in every worker process, in the same format as the workers'."""
    import copy

    from uvicorn.config import LOGGING_CONFIG

    config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    config["formatters"]["app"] = {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
    config["handlers"]["app"] = {
        "formatter": "app",
        "class": "logging.StreamHandler",
        "stream": "ext://sys.stderr",
    }
    config["root"] = {"handlers": ["app"], "level": level}
    return config


def cmd_worker(args: argparse.Namespace) -> int:
    import importlib

    from shared.settings import get_settings

    settings = get_settings()
    queues = list(dict.fromkeys(args.queue))
    if "notify" in queues:
        from services.notify.channels import load_channels
        from services.notify.messages import check_templates

        # Bad gateway settings or a broken template stop the worker here, with the message, not
        # at the first send.
        for line in load_channels(settings).describe():
            print(f"aduan: saluran {line}", file=sys.stderr)
        print(f"aduan: templat {check_templates(settings)}", file=sys.stderr)
    # Every queue's tasks register on the one process-wide Celery app.
    modules = [importlib.import_module(WORKERS[queue]) for queue in queues]
    app = modules[0].app
    heartbeat.install_worker_beat(app, settings, *(f"{queue}-worker" for queue in queues))
    _when_ready(args.nice_when_ready, args.with_sweeper)
    concurrency = args.concurrency or settings.worker_concurrency
    argv = [
        "worker",
        "-Q",
        ",".join(queues),
        "-n",
        f"{queues[0] if len(queues) == 1 else 'aduan'}@%h",
        "--pool",
        "solo" if concurrency == 1 else "prefork",
        "--concurrency",
        str(concurrency),
        "--without-mingle",
        "--without-gossip",
        "--without-heartbeat",
        "--loglevel",
        settings.log_level.upper(),
    ]
    # Celery logs two INFO lines per task (received, succeeded): at hundreds of tasks a second that
    # is real CPU and noise. Failures and retries still log at WARNING and above.
    # httpx logs every request's full URL at INFO: a gateway's URL may carry the recipient, the
    # text or a key, which must never reach a log.
    for name in ("celery.app.trace", "celery.worker.strategy", "httpx", "httpcore"):
        logging.getLogger(name).setLevel(
            max(logging.WARNING, logging.getLevelName(settings.log_level.upper()))
        )
    app.worker_main(argv=argv)
    _end_without_teardown(0)


def _end_without_teardown(code: int) -> NoReturn:
    """End a background process that has stopped cleanly (tasks acknowledged, sweeper joined) without
    the interpreter's teardown: the exit handlers run and the logs are flushed, but the collection
    of every module's objects (a second or so of CPU for a process holding the application) is
    skipped. Niced on a busy machine, a worker's teardown outlived `up`'s 15 s stop and was killed."""
    import atexit

    atexit._run_exitfuncs()  # logging.shutdown among them
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _when_ready(nice: int, with_sweeper: bool) -> None:
    """Start the sweeper's thread with the worker (it needs no broker) and stop it with it; lower
    the worker's CPU priority (its session's too) by `nice` once it is ready, so that a busy
    machine does not starve its start-up."""
    from celery import signals

    from launcher.combined import SweeperThread
    from launcher.supervisor import lower_priority

    sweeper = SweeperThread()

    def init(**_kwargs: Any) -> None:
        if with_sweeper:
            sweeper.start()

    def ready(**_kwargs: Any) -> None:
        if nice:
            lower_priority(nice)

    def shutdown(**_kwargs: Any) -> None:
        sweeper.stop()

    signals.worker_init.connect(init, weak=False)
    signals.worker_ready.connect(ready, weak=False)
    signals.worker_shutdown.connect(shutdown, weak=False)


def cmd_sweeper(args: argparse.Namespace) -> int:
    from launcher.supervisor import lower_priority
    from services.routing import sweeper

    _configure_logging()
    if args.nice_when_ready:
        lower_priority(args.nice_when_ready)
    sweeper.run()
    _end_without_teardown(0)


def cmd_health(args: argparse.Namespace) -> int:
    from shared.settings import get_settings

    seconds = heartbeat.age(get_settings(), args.name)
    if seconds is None or seconds > args.max_age:
        last = "belum pernah" if seconds is None else f"{seconds:.0f} detik lalu"
        print(f"aduan: {args.name} tidak sehat (detak terakhir: {last})", file=sys.stderr)
        return 1
    print(f"{args.name}: sehat (detak {seconds:.0f} detik lalu)")
    return 0


def cmd_up(args: argparse.Namespace) -> int:
    from launcher.supervisor import AlreadyRunning, up

    try:
        return up(
            intake_port=args.intake_port,
            staff_port=args.staff_port,
            host=args.host,
            log_to_console=args.log_to_console,
        )
    except AlreadyRunning as exc:
        print(f"aduan: {exc}", file=sys.stderr)
        return 1


# What each kind of `up`'s children imports while `aduan prepare` runs: modules that do not read the
# settings when imported (the settings are known only once the orders come).
STANDBY_IMPORTS = {
    "api": (
        "uvicorn",
        "launcher.apps",
        "launcher.combined",
        "services.routing.app",
        "services.notify.channels",
    ),
    "worker": (
        "celery.apps.worker",
        "launcher.combined",
        "shared.tasks",
        "services.routing.service",
        "services.routing.sweeper",
        "services.notify.service",
        "services.notify.channels",
        "services.notify.messages",
    ),
    "sweeper": ("services.routing.sweeper",),
}


def cmd_standby(args: argparse.Namespace) -> int:
    """Import a child's part of the application, then run the command `up` sends on stdin (one JSON
    line: argv, environment, log file) once `aduan prepare` has finished; end at EOF without one."""
    import importlib
    import json

    for module in STANDBY_IMPORTS[args.kind]:
        importlib.import_module(module)
    line = sys.stdin.readline()
    if not line:
        return 0  # `up` stopped, or needed no child of this kind
    order = json.loads(line)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    if order["log"]:
        sys.stdout.flush()
        sys.stderr.flush()
        log = os.open(order["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(log)
    os.environ.clear()
    os.environ.update(order["env"])
    settings = sys.modules.get("shared.settings")
    if settings is not None:  # read by nothing imported above; forgotten in case it ever is
        settings.get_settings.cache_clear()
    return main(order["argv"])


def cmd_check(_args: argparse.Namespace) -> int:
    from services.notify.channels import load_channels
    from services.notify.messages import check_templates
    from shared.settings import get_settings

    settings = get_settings()
    channels = load_channels(settings)
    templates = check_templates(settings)
    print(
        f"data_dir={settings.data_dir} embedded={settings.embedded} "
        f"broker={settings.resolved_broker_url().split('@')[-1]}"
    )
    for line in channels.describe():
        print(f"channel {line}")
    print(f"templates {templates}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", help="data folder of this instance (ADUAN_DATA_DIR)")

    parser = argparse.ArgumentParser(prog="aduan", description="Aduan: layanan pengaduan masyarakat")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("up", parents=[common], help="run the whole system on this machine")
    p.add_argument("--intake-port", type=int)
    p.add_argument("--staff-port", type=int)
    p.add_argument("--host")
    p.add_argument(
        "--log-to-console",
        action="store_true",
        help="children log to this terminal instead of DATA_DIR/logs",
    )
    p.set_defaults(func=cmd_up)

    p = sub.add_parser("migrate", parents=[common], help="bring the database schema up to date")
    p.set_defaults(func=cmd_migrate)

    users = sub.add_parser("users", help="staff accounts").add_subparsers(dest="sub", required=True)
    p = users.add_parser("add", parents=[common], help="create a staff account")
    p.add_argument("username")
    # A metavar, so that building the parser does not list (and import) the roles; --help does.
    p.add_argument("--role", required=True, choices=_RoleNames(), metavar="ROLE", help="%(choices)s")
    p.add_argument("--unit", help="unit code (required for --role bidang)")
    p.add_argument("--full-name")
    p.add_argument("--email", help="send this officer's notices (new items, reminders) by e-mail")
    p.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    p.set_defaults(func=cmd_users_add, database=True)
    p = users.add_parser(
        "unlock", parents=[common], help="lift an account's sign-in lockout (failed passwords)"
    )
    p.add_argument("username")
    p.add_argument("--address", help="also lift the lockout of this client address (any username)")
    p.set_defaults(func=cmd_users_unlock, database=True)

    p = users.add_parser("list", parents=[common], help="every account: role, unit, active, last sign-in")
    p.set_defaults(func=cmd_users_list, database=True)
    p = users.add_parser("disable", parents=[common], help="deactivate an account (its sessions end at once)")
    p.add_argument("username")
    p.set_defaults(func=cmd_users_active, database=True)
    p = users.add_parser("enable", parents=[common], help="reactivate a deactivated account")
    p.add_argument("username")
    p.set_defaults(func=cmd_users_active, database=True)
    p = users.add_parser(
        "reset-password", parents=[common], help="a one-time password, changed at the next sign-in"
    )
    p.add_argument("username")
    p.set_defaults(func=cmd_users_reset_password, database=True)

    kiosks = sub.add_parser("kiosks", help="kiosk keys").add_subparsers(dest="sub", required=True)
    p = kiosks.add_parser("add", parents=[common], help="create a kiosk; prints its key once")
    p.add_argument("name")
    p.add_argument("--enrol", action="store_true", help="also print a one-time link enrolling its browser")
    p.set_defaults(func=cmd_kiosks_add, database=True)
    p = kiosks.add_parser("list", parents=[common], help="every kiosk: active or revoked, its last filing")
    p.set_defaults(func=cmd_kiosks_list, database=True)
    p = kiosks.add_parser("enrol", parents=[common], help="a new one-time link enrolling a kiosk's browser")
    p.add_argument("name")
    p.set_defaults(func=cmd_kiosks_enrol, database=True)
    p = kiosks.add_parser("revoke", parents=[common], help="deactivate a kiosk (its key and its page)")
    p.add_argument("name")
    p.set_defaults(func=cmd_kiosks_revoke, database=True)

    cal = sub.add_parser("calendar", help="office calendar").add_subparsers(dest="sub", required=True)
    for name, what in (("close", "close a day (extra holiday)"), ("open", "open a day despite a holiday")):
        p = cal.add_parser(name, parents=[common], help=what)
        p.add_argument("day", type=_day, help="YYYY-MM-DD")
        p.add_argument("--reason", required=True)
        p.set_defaults(func=cmd_calendar_set, command_name=name, database=True)
    p = cal.add_parser("clear", parents=[common], help="remove a day's override")
    p.add_argument("day", type=_day, help="YYYY-MM-DD")
    p.set_defaults(func=cmd_calendar_clear, database=True)
    p = cal.add_parser("show", parents=[common], help="open hours and closed days of a month")
    p.add_argument("month", type=_month, help="YYYY-MM")
    p.set_defaults(func=cmd_calendar_show, database=True)

    p = sub.add_parser("serve", parents=[common], help="run one HTTP API")
    p.add_argument("service", choices=sorted(SERVICES))
    p.add_argument("--port", type=int)
    p.add_argument("--host")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("apis", parents=[common], help="run both HTTP APIs in one process (embedded default)")
    p.add_argument("--intake-port", type=int)
    p.add_argument("--staff-port", type=int)
    p.add_argument("--host")
    p.set_defaults(func=cmd_apis)

    p = sub.add_parser("worker", parents=[common], help="run one Celery worker (for one or more queues)")
    p.add_argument("queue", nargs="+", choices=sorted(WORKERS))
    p.add_argument("--concurrency", type=int)
    p.add_argument("--with-sweeper", action="store_true", help="also run the sweeper, as a thread")
    p.add_argument("--nice-when-ready", type=int, default=0, help="lower the CPU priority once ready")
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("sweeper", parents=[common], help="run the periodic sweeper")
    p.add_argument("--nice-when-ready", type=int, default=0, help="lower the CPU priority once ready")
    p.set_defaults(func=cmd_sweeper)

    p = sub.add_parser("prepare", parents=[common], help="check, migrate, first admin (used by `up`)")
    p.set_defaults(func=cmd_prepare)

    p = sub.add_parser("standby", help="import a child's modules and wait for its orders (used by `up`)")
    p.add_argument("kind", choices=sorted(STANDBY_IMPORTS))
    p.set_defaults(func=cmd_standby)

    p = sub.add_parser("check", parents=[common], help="validate the configuration")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser(
        "health", parents=[common], help="exit 0 when a worker or the sweeper beat recently (health checks)"
    )
    p.add_argument("name", choices=heartbeat.NAMES)
    p.add_argument("--max-age", type=float, default=120.0, help="seconds since the last beat (120)")
    p.set_defaults(func=cmd_health)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "data_dir", None):
        os.environ["ADUAN_DATA_DIR"] = str(args.data_dir)
    try:
        if getattr(args, "database", False):
            _prepare_database()
        result: int = args.func(args)
    except DatabaseUnavailable as exc:
        print(f"aduan: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:
        # A ConfigError comes only from shared.settings, so it is loaded when one is raised: `up`'s
        # supervisor never imports it.
        settings = sys.modules.get("shared.settings")
        if settings is None or not isinstance(exc, settings.ConfigError):
            raise
        print(f"aduan: konfigurasi tidak lengkap atau salah: {exc}", file=sys.stderr)
        return 78  # EX_CONFIG
    return result


class _RoleNames:
    """The role names for argparse's choices, read from shared.sop when first asked, so that a
    command that takes no role (`up`) does not import it."""

    def __iter__(self) -> Iterator[str]:
        from shared.sop import Role

        return iter([role.value for role in Role])

    def __contains__(self, value: object) -> bool:
        return value in list(self)


class DatabaseUnavailable(Exception):
    """The database of the instance cannot be reached or prepared; the message is for the operator."""


def _prepare_database() -> None:
    """An administrative command works on an up-to-date schema: migrate first, as `up` does, so that
    `aduan users add` on a data folder `up` never saw works; on failure remove what this run made."""
    from pathlib import Path

    from sqlalchemy.exc import SQLAlchemyError

    from shared.migrate import upgrade
    from shared.settings import get_settings

    folder = Path(os.environ.get("ADUAN_DATA_DIR", "var")).expanduser().resolve()
    new_folder = not folder.exists()
    settings = get_settings()
    new_database = settings.embedded and not settings.sqlite_path.exists()
    try:
        upgrade(settings)
    except (SQLAlchemyError, OSError) as exc:
        if new_folder:
            shutil.rmtree(folder, ignore_errors=True)
        elif new_database:
            settings.sqlite_path.unlink(missing_ok=True)
        where = settings.sqlite_path if settings.embedded else "ADUAN_DATABASE_URL"
        raise DatabaseUnavailable(
            f"basis data ({where}) tidak dapat disiapkan: {type(exc).__name__}. Periksa alamat dan hak "
            "aksesnya, lalu jalankan `aduan migrate` (atau `aduan up`) sebelum perintah ini."
        ) from exc


if __name__ == "__main__":
    sys.exit(main())
