"""The Alembic migrations build exactly the schema the models declare, on SQLite and PostgreSQL."""

from __future__ import annotations

import secrets
from pathlib import Path

import psycopg
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from shared.db import make_engine
from shared.migrate import alembic_config, include_object, upgrade
from shared.models import Base
from shared.settings import Settings, get_settings
from tests.integration.stack import POSTGRES_ADMIN_URL


def _diff(settings: Settings) -> list[object]:
    upgrade(settings)
    engine = make_engine(settings)
    try:
        with engine.connect() as conn:
            options = {"include_object": include_object(conn.dialect.name)}
            return list(compare_metadata(MigrationContext.configure(conn, opts=options), Base.metadata))
    finally:
        engine.dispose()


def _settings(folder: Path, **extra: str) -> Settings:
    base = get_settings()
    return Settings(data_dir=folder, secret_key=base.secret_key, data_key=base.data_key, **extra)  # type: ignore[arg-type]


def test_sqlite_schema_matches_models(tmp_path: Path) -> None:
    assert _diff(_settings(tmp_path)) == []


def test_postgres_schema_matches_models(tmp_path: Path) -> None:
    name = f"aduan_m_{secrets.token_hex(4)}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].split("://", 1)[1]
        assert _diff(_settings(tmp_path, database_url=f"postgresql+psycopg://{base}/{name}")) == []
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_downgrade_to_base_and_back(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    upgrade(settings)
    command.downgrade(alembic_config(settings), "base")
    assert _diff(settings) == []


def test_existing_complaints_get_sealed_and_indexed(tmp_path: Path) -> None:
    """0012 encrypts the phone, e-mail and address of earlier rows and indexes their NIK and phone."""
    from sqlalchemy import text

    from shared.identity import blind_index, unseal
    from shared.security import cipher

    settings = _settings(tmp_path)
    upgrade(settings, "0011")
    engine = make_engine(settings)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO complaints (ticket, tracking_code_enc, status, step, version,"
                    " handoff_pending, channel, subject, description, waiting_on_site, preferred_reply,"
                    " confidential,"
                    " complainant_name, nik_enc, nik_masked, phone, email, address, escalation_level,"
                    " step_used_s, received_at, updated_at) VALUES ('ADU-2026-000001', :code, 'open',"
                    " 'verification', 1, false, 'kiosk', 'THR', 'THR belum dibayar', false, 'sms', true,"
                    " 'Siti', :nik, '3307********0001', '+6281234567890', 'siti@example.co.id',"
                    " 'Jl. Sabuk Alu 1', 0, 0, '2026-12-01 01:00:00', '2026-12-01 01:00:00')"
                ),
                {
                    "code": cipher().encrypt("ABCD2345", field="tracking_code"),
                    "nik": cipher().encrypt("3307015203900001", field="nik"),
                },
            )
        upgrade(settings)
        with engine.connect() as conn:
            row = conn.execute(text("SELECT * FROM complaints")).one()._mapping
    finally:
        engine.dispose()
    assert not {"phone", "email", "address"} & set(row)
    assert unseal(row["phone_enc"], field="phone") == "+6281234567890"
    assert unseal(row["email_enc"], field="email") == "siti@example.co.id"
    assert unseal(row["address_enc"], field="address") == "Jl. Sabuk Alu 1"
    assert row["phone_index"] == blind_index("0812-3456-7890", field="phone")
    assert row["nik_index"] == blind_index("3307.0152.0390.0001", field="nik")


# The lookups the partial indexes of 0024 must still serve: a unit's list and worklist, the archive
# by outcome (each compares the column with a parameter, which implies IS NOT NULL).
_PARTIAL_LOOKUPS = {
    "ix_complaints_unit_id": "SELECT id FROM complaints WHERE unit_code = {p} ORDER BY id DESC LIMIT 20",
    "ix_complaints_unit_queue": (
        "SELECT id FROM complaints WHERE unit_code = {p} AND step = 'verification'"
        " ORDER BY step_due_at LIMIT 20"
    ),
    "ix_complaints_outcome_id": "SELECT id FROM complaints WHERE outcome = {p} ORDER BY id DESC LIMIT 20",
}


def test_partial_indexes_serve_their_lookups_on_postgres(tmp_path: Path) -> None:
    """A generic plan (a parameter, not a value) of each lookup still walks its partial index."""
    name = f"aduan_m_{secrets.token_hex(4)}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].split("://", 1)[1]
        upgrade(_settings(tmp_path, database_url=f"postgresql+psycopg://{base}/{name}"))
        with psycopg.connect(f"postgresql://{base}/{name}") as conn:
            conn.execute("SET enable_seqscan = off")
            conn.execute("SET plan_cache_mode = force_generic_plan")
            for i, (index, sql) in enumerate(_PARTIAL_LOOKUPS.items()):
                conn.execute(f"PREPARE q{i}(text) AS {sql.format(p='$1')}")
                plan = "\n".join(r[0] for r in conn.execute(f"EXPLAIN EXECUTE q{i}('x')"))
                assert index in plan, plan
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_partial_indexes_serve_their_lookups_on_sqlite(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    upgrade(settings)
    engine = make_engine(settings)
    try:
        with engine.connect() as conn:
            for index, sql in _PARTIAL_LOOKUPS.items():
                plan = " ".join(
                    str(r[-1])
                    for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql.format(p='?')}", ("x",))
                )
                assert index in plan, plan
    finally:
        engine.dispose()
