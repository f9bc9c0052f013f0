"""Running the office's accounts over the API, and the audit log: who changed what, who saw whose identity."""

from __future__ import annotations

import io
from typing import Any

import httpx
import pytest
from PIL import Image
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from tests.integration.stack import Stack, complaint_body

pytestmark = pytest.mark.integration


def _admin(stack: Stack) -> str:
    """Sign in as the admin account `up` made (its password is in the banner)."""
    if "admin" not in stack.tokens:
        lines = [line.strip() for line in stack.banner.splitlines()]
        [password] = [line.removeprefix("admin / ") for line in lines if line.startswith("admin / ")]
        stack.tokens["admin"] = stack.login("admin", password)
    return "admin"


def _bearer(stack: Stack, token: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"}
    return httpx.request(method, f"{stack.staff_url}/api/v1{path}", headers=headers, timeout=10, **kwargs)


def test_an_admin_adds_changes_disables_and_resets_an_account(stack: Stack) -> None:
    admin = _admin(stack)
    made = stack.staff(admin, "POST", "/users", json={"username": "dewi", "role": "front_office"})
    assert made.status_code == 201, made.text
    password = made.json()["password"]
    assert made.json()["username"] == "dewi" and len(password) >= 12
    token = stack.login("dewi", password)
    assert _bearer(stack, token, "GET", "/me").json()["username"] == "dewi"

    listed = {a["username"]: a for a in stack.staff(admin, "GET", "/users").json()}
    assert listed["dewi"]["must_change_password"] is True
    assert listed["dewi"]["last_sign_in_at"] is not None
    assert listed["hi"]["role"] == "bidang" and listed["hi"]["unit"] == "hi_jamsos"

    bad = stack.staff(admin, "PATCH", "/users/dewi", json={"role": "bidang", "nip": "123"})
    assert bad.status_code == 422, bad.text
    assert {e["field"]: e["code"] for e in bad.json()["errors"]} == {"nip": "nip_invalid"}
    no_unit = stack.staff(admin, "PATCH", "/users/dewi", json={"role": "bidang"})
    assert no_unit.status_code == 422 and no_unit.json()["errors"][0]["code"] == "unit_required"
    moved = stack.staff(
        admin,
        "PATCH",
        "/users/dewi",
        json={
            "role": "bidang",
            "unit": "penempatan",
            "full_name": "Dewi Lestari",
            "nip": "198001012005012001",
        },
    )
    assert moved.status_code == 200, moved.text
    assert (moved.json()["role"], moved.json()["unit"], moved.json()["nip"]) == (
        "bidang",
        "penempatan",
        "198001012005012001",
    )
    # The token was signed when dewi was front office; her role is read from the account on each request.
    assert _bearer(stack, token, "GET", "/me").json()["role"] == "bidang"

    off = stack.staff(admin, "POST", "/users/dewi/disable")
    assert off.status_code == 200 and off.json()["active"] is False
    refused = _bearer(stack, token, "GET", "/worklist")
    assert refused.status_code == 401 and refused.json()["code"] == "account_inactive"
    assert stack.staff(admin, "POST", "/users/dewi/enable").json()["active"] is True
    assert _bearer(stack, token, "GET", "/me").status_code == 200

    reset = stack.staff(admin, "POST", "/users/dewi/reset-password")
    assert reset.status_code == 200, reset.text
    old = httpx.post(f"{stack.staff_url}/api/v1/auth/token", data={"username": "dewi", "password": password})
    assert old.status_code == 401
    one_time = reset.json()["password"]
    token = stack.login("dewi", one_time)
    # Until she changes it, the API serves her only GET /me and POST /me/password.
    for method, path in (("GET", "/worklist"), ("PATCH", "/me"), ("GET", "/complaints")):
        due = _bearer(stack, token, method, path, **({"json": {}} if method == "PATCH" else {}))
        assert due.status_code == 403 and due.json()["code"] == "password_change_required", due.text
    assert _bearer(stack, token, "GET", "/me").json()["must_change_password"] is True
    for body, code in (
        ({"current": "bukan-itu", "new": "sandi-dewi-baru"}, "wrong_password"),
        ({"current": one_time, "new": "pendek"}, "too_short"),
    ):
        refused = _bearer(stack, token, "POST", "/me/password", json=body)
        assert refused.status_code == 422 and refused.json()["errors"][0]["code"] == code, refused.text
    changed = _bearer(
        stack, token, "POST", "/me/password", json={"current": one_time, "new": "sandi-dewi-baru"}
    )
    assert changed.status_code == 204, changed.text
    assert _bearer(stack, token, "GET", "/worklist").status_code == 200
    assert _bearer(stack, token, "GET", "/me").json()["must_change_password"] is False
    stack.login("dewi", "sandi-dewi-baru")

    trail = stack.staff(admin, "GET", "/audit", params={"actor": "admin"}).json()["items"]
    mine = [(e["action"], e["target"]) for e in trail if e["target"] == "dewi"]
    assert mine == [
        ("user.reset_password", "dewi"),
        ("user.enable", "dewi"),
        ("user.disable", "dewi"),
        ("user.update", "dewi"),
        ("user.create", "dewi"),
    ]
    assert all(e["address"] == "127.0.0.1" for e in trail if e["target"] == "dewi")


def test_only_the_admin_runs_accounts_and_the_last_admin_stays(stack: Stack) -> None:
    admin = _admin(stack)
    for path, method in (
        ("/users", "GET"),
        ("/users/hi/disable", "POST"),
        ("/users/hi/reset-password", "POST"),
    ):
        r = stack.staff("kadis", method, path)
        assert r.status_code == 403 and r.json()["code"] == "admin_only", r.text
    assert stack.staff(admin, "POST", "/users/nobody/disable").status_code == 404
    for attempt in (
        stack.staff(admin, "POST", "/users/admin/disable"),
        stack.staff(admin, "PATCH", "/users/admin", json={"role": "kepala_dinas"}),
    ):
        assert attempt.status_code == 409 and attempt.json()["code"] == "last_admin", attempt.text
    assert stack.staff(admin, "GET", "/me").json()["role"] == "admin"
    taken = stack.staff(admin, "POST", "/users", json={"username": "hi", "role": "front_office"})
    assert taken.status_code == 422 and taken.json()["errors"][0]["code"] == "username_taken"


def test_reading_a_record_writes_one_audit_entry_readable_by_admin_and_kepala_dinas(stack: Stack) -> None:
    admin = _admin(stack)
    filed = stack.file(complaint_body())
    assert filed.status_code == 201, filed.text
    ticket = filed.json()["ticket"]
    stack.wait_in_queue("fo", ticket)
    before = stack.staff(admin, "GET", "/audit", params={"ticket": ticket}).json()["total"]
    record = stack.record("fo", ticket)
    assert record["complainant"]["name"] == "Siti Aminah"
    found = stack.staff("kadis", "GET", "/audit", params={"ticket": ticket, "actor": "fo"})
    assert found.status_code == 200, found.text
    assert found.json()["total"] == before + 1
    entry = found.json()["items"][0]
    assert (entry["action"], entry["actor"], entry["actor_role"], entry["ticket"], entry["address"]) == (
        "identity.view",
        "fo",
        "front_office",
        ticket,
        "127.0.0.1",
    )
    for reader in ("fo", "sekdis", "hi", "kasubag"):
        r = stack.staff(reader, "GET", "/audit")
        assert r.status_code == 403 and r.json()["code"] == "audit_readers_only", r.text
    bad = stack.staff(admin, "GET", "/audit", params={"from": "kemarin"})
    assert bad.status_code == 422


def test_the_audit_log_refuses_update_and_delete(stack: Stack) -> None:
    engine = create_engine(stack.db_url)
    try:
        for statement in ("UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log"):
            with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
                conn.execute(text(statement))
    finally:
        engine.dispose()
    assert stack.count("audit_log") > 0


def test_kiosks_by_api_and_every_admin_change_in_the_audit_log(stack: Stack) -> None:
    admin = _admin(stack)
    made = stack.staff(admin, "POST", "/kiosks", json={"name": "kios-api"})
    assert made.status_code == 201, made.text
    key = made.json()["key"]
    assert "/kios/daftar/" in made.json()["enrol_url"]
    again = stack.staff(admin, "POST", "/kiosks", json={"name": "kios-api"})
    assert again.status_code == 422 and again.json()["errors"][0]["code"] == "kiosk_exists"
    # Not used before it is revoked: the intake caches a key it has seen for 30 s.
    listed = {k["name"]: k for k in stack.staff(admin, "GET", "/kiosks").json()}
    row = listed["kios-api"]
    assert row["active"] is True and row["enrolled"] is False and row["last_filed_at"] is None
    assert listed["kios-uji"]["last_filed_at"] is not None
    assert stack.staff("kadis", "GET", "/kiosks").status_code == 403
    assert stack.staff("kadis", "POST", "/kiosks/kios-api/revoke").status_code == 403
    assert stack.staff(admin, "POST", "/kiosks/kios-api/revoke").status_code == 204
    refused = stack.file(headers={"X-Kiosk-Key": key})
    assert refused.status_code == 401 and refused.json()["code"] == "kiosk_key_invalid"
    enrol = stack.staff(admin, "POST", "/kiosks/kios-api/enrol")
    assert enrol.status_code == 409 and enrol.json()["code"] == "kiosk_revoked"
    assert stack.staff(admin, "POST", "/kiosks/tidak-ada/revoke").status_code == 404

    code = f"uji_{stack.name}_audit"
    assert stack.staff(admin, "POST", "/categories", json={"code": code, "name": "Uji"}).status_code == 201
    assert stack.staff(admin, "PATCH", f"/categories/{code}", json={"active": False}).status_code == 200
    trail = stack.staff(admin, "GET", "/audit", params={"actor": "admin", "limit": 500}).json()["items"]
    done = [(e["action"], e["target"]) for e in reversed(trail) if e["target"] in {"kios-api", code}]
    assert done == [
        ("kiosk.create", "kios-api"),
        ("kiosk.enrol", "kios-api"),
        ("kiosk.revoke", "kios-api"),
        ("category.create", code),
        ("category.update", code),
    ]


def _image(kind: str, size: tuple[int, int] = (40, 30)) -> bytes:
    """A real PNG or JPEG, encoded by Pillow (not by the code that reads it)."""
    out = io.BytesIO()
    Image.new("RGB", size, (20, 90, 160)).save(out, format=kind)
    return out.getvalue()


def test_the_office_identity_is_the_admins_and_every_print_reads_it(stack: Stack) -> None:
    admin = _admin(stack)
    before = stack.staff(admin, "GET", "/office").json()
    assert before["name"] and before["city"]
    assert stack.staff("kadis", "PUT", "/office", json=before).status_code == 403
    blank = stack.staff(admin, "PUT", "/office", json={"name": " ", "address": "x" * 301, "city": "Wonosobo"})
    assert blank.status_code == 422, blank.text
    assert {e["field"]: e["code"] for e in blank.json()["errors"]} == {"name": "blank", "address": "too_long"}
    mine = {"name": f"Dinas Uji {stack.name}", "address": "Jl.  Sabuk Alu 2, Wonosobo", "city": "Kalikajar"}
    saved = stack.staff(admin, "PUT", "/office", json=mine)
    assert saved.status_code == 200, saved.text
    assert saved.json() | {"logo_url": None} == {
        **mine,
        "address": "Jl. Sabuk Alu 2, Wonosobo",  # spaces collapsed
        "logo_url": None,
        "saved": True,
    }

    def upload(data: bytes, kind: str = "image/png") -> httpx.Response:
        headers = {"Authorization": f"Bearer {stack.tokens[admin]}", "Content-Type": kind}
        return httpx.put(f"{stack.staff_url}/api/v1/office/logo", content=data, headers=headers, timeout=10)

    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    png, jpeg = _image("PNG"), _image("JPEG")
    for data, code in (
        (svg, "logo_type"),
        (png[:-20], "logo_unreadable"),  # cut short: no IEND, a broken CRC
        (b"\xff\xd8\xff\xe0" + b"\x00" * 40, "logo_unreadable"),
        (png + b"\x00" * (512 * 1024), "logo_too_large"),
        (_image("PNG", (4001, 2)), "logo_dimensions"),
        (b"", "logo_missing"),
    ):
        refused = upload(data)
        assert refused.status_code == 422, (code, refused.text)
        assert [(e["field"], e["code"]) for e in refused.json()["errors"]] == [("logo", code)]
    assert upload(jpeg, "image/png").json()["logo_url"]  # the bytes decide, not the Content-Type
    logo = upload(png)
    assert logo.status_code == 200, logo.text
    url = logo.json()["logo_url"]
    assert url.startswith("/kantor/logo?v=") and url != upload(jpeg).json()["logo_url"]
    url = upload(png).json()["logo_url"]
    for base in (stack.staff_url, stack.intake_url):  # the console's prints and the kiosk's receipt
        served = httpx.get(f"{base}{url}")
        assert served.status_code == 200 and served.content == png
        assert served.headers["content-type"] == "image/png"
        assert "immutable" in served.headers["cache-control"]
    assert (
        "immutable"
        not in httpx.get(f"{stack.staff_url}/kantor/logo?v=0123456789abcdef").headers["cache-control"]
    )

    filed = stack.file(complaint_body())
    ticket = filed.json()["ticket"]
    stack.wait_in_queue("fo", ticket)
    assert stack.staff("fo", "GET", f"/complaints/{ticket}/archive").json()["office"] == mine["name"]
    month = filed.json()["received_at"][:7]
    page = stack.staff(admin, "GET", "/reports/recap", params={"month": month, "format": "html"}).text
    assert mine["name"] in page and "Jl. Sabuk Alu 2, Wonosobo" in page and f'src="{url}"' in page

    removed = stack.staff(admin, "DELETE", "/office/logo")
    assert removed.status_code == 200 and removed.json()["logo_url"] is None
    assert httpx.get(f"{stack.staff_url}{url}").status_code == 404
    trail = stack.staff(admin, "GET", "/audit", params={"actor": "admin", "limit": 500}).json()["items"]
    done = [e["action"] for e in reversed(trail) if e["target"] == "kantor"]
    assert done[-6:] == [
        "office.update",
        "office.logo",
        "office.logo",
        "office.logo",
        "office.logo",
        "office.logo_remove",
    ]
    assert stack.staff(admin, "PUT", "/office", json={k: before[k] for k in mine}).status_code == 200
