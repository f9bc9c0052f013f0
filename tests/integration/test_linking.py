"""Links between complaints (related, duplicate), closing a complaint as the duplicate of another,
the same person's complaints both ways, and the identity at rest after these flows: on both
backends (the session's stacks), the pages in Chromium with JavaScript off."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import create_engine, inspect, text

from shared.calendar import WIB
from tests.integration.stack import PASSWORD, Stack, complaint_body, eventually, wib_year

pytestmark = pytest.mark.integration

# One person for this module, whom no other test files: the NIK and phone as typed (with dots,
# spaces, dashes, capitals) and as stored or sent (digits, E.164, lower case).
NIK = "3307014408920005"
NIK_DOTTED = "3307.0144.0892.0005"
NIK_SPACED = "3307 0144 0892 0005"
PHONE_TYPED = "0813-2468-1357"
PHONE_FORMS = ("+6281324681357", "6281324681357", "081324681357", "0813-2468-1357", "81324681357")
EMAIL_TYPED = "Tautan.Pengadu@Example.co.id"
EMAIL_FORMS = ("tautan.pengadu@example.co.id", EMAIL_TYPED)


def _person(nik: str) -> dict[str, str]:
    return {"name": "Dewi Rahayu", "nik": nik, "phone": PHONE_TYPED, "email": EMAIL_TYPED}


def _file(stack: Stack, subject: str, nik: str = NIK) -> dict[str, Any]:
    r = stack.file(complaint_body(complainant=_person(nik), subject=f"{subject} {stack.name}"))
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def _link(stack: Stack, user: str, ticket: str, other: str, relation: str) -> httpx.Response:
    return stack.staff(
        user, "POST", f"/complaints/{ticket}/links", json={"other": other, "relation": relation}
    )


def _relations(stack: Stack, ticket: str) -> list[tuple[str, str]]:
    return [(link["relation"], link["ticket"]) for link in stack.record("fo", ticket)["links"]]


def _history_labels(stack: Stack, ticket: str, action: str) -> list[str]:
    return [h["detail"]["label"] for h in stack.record("fo", ticket)["history"] if h["action"] == action]


def _code(r: httpx.Response) -> tuple[int, str, list[str]]:
    body = r.json()
    return r.status_code, body["code"], [e["code"] for e in body.get("errors") or []]


def test_the_same_person_shows_both_ways_and_links_show_on_both_sides(stack: Stack) -> None:
    first = _file(stack, "Upah lembur", nik=NIK_SPACED)["ticket"]
    second = _file(stack, "Upah lembur lagi", nik=NIK_DOTTED)["ticket"]
    third = _file(stack, "Cuti hamil")["ticket"]

    # The second (NIK typed with dots) finds the first (typed with spaces); the first shows the later ones.
    record = stack.record("fo", second)
    assert [e["ticket"] for e in record["earlier"]][:1] == [first]
    assert {"nik", "phone"} <= set(record["earlier"][0]["matched_by"])
    assert [e["ticket"] for e in stack.record("fo", first)["later"]][:2] == [second, third]

    r = _link(stack, "fo", second, first.lower(), "related")
    assert r.status_code == 201, r.text
    assert [(v["relation"], v["ticket"], v["relation_label"]) for v in r.json()] == [
        ("related", first, "Terkait dengan")
    ]
    assert _relations(stack, first) == [("related", second)]
    assert _history_labels(stack, second, "link") == [f"Ditautkan: Terkait dengan {first}"]
    assert _history_labels(stack, first, "link") == [f"Ditautkan: Terkait dengan {second}"]

    # The pair once, whichever side asks; not to itself; not to a ticket that does not exist.
    assert _code(_link(stack, "kasubag", first, second, "duplicate_of")) == (
        409,
        "already_linked",
        ["already_linked"],
    )
    assert _code(_link(stack, "fo", first, first, "related")) == (422, "self_link", ["self_link"])
    missing = f"ADU-{wib_year()}-999999"
    assert _code(_link(stack, "fo", first, missing, "related")) == (
        422,
        "other_not_found",
        ["other_not_found"],
    )
    assert _link(stack, "fo", missing, first, "related").status_code == 404
    assert _link(stack, "fo", first, second, "sibling").status_code == 422
    bad = stack.staff("fo", "POST", f"/complaints/{first}/links", json={"other": second, "extra": 1})
    assert bad.status_code == 422
    # The Kepala Dinas reads and does not act; a bidang does not see the complaint at all.
    assert _code(_link(stack, "kadis", first, third, "related"))[:2] == (403, "role_not_allowed")
    assert _link(stack, "hi", first, third, "related").status_code == 404
    assert stack.staff("hi", "GET", f"/complaints/{first}/links").status_code == 404

    # Unlink, with a history row on each side; again: nothing to unlink.
    r = stack.staff("fo", "DELETE", f"/complaints/{first}/links/{second}")
    assert r.status_code == 200, r.text
    assert r.json() == []
    assert _relations(stack, second) == []
    assert _history_labels(stack, second, "unlink") == [f"Tautan dilepas: terkait dengan {first}"]
    assert _history_labels(stack, first, "unlink") == [f"Tautan dilepas: terkait dengan {second}"]
    assert _code(stack.staff("fo", "DELETE", f"/complaints/{first}/links/{second}"))[:2] == (
        404,
        "link_not_found",
    )

    # Duplicates: one original per duplicate, and no chain that comes back on itself.
    assert _link(stack, "fo", second, first, "duplicate_of").status_code == 201
    assert _relations(stack, first) == [("has_duplicate", second)]
    assert _history_labels(stack, first, "link")[-1] == f"Ditautkan: Memiliki duplikat {second}"
    assert _link(stack, "sekdis", third, first, "has_duplicate").status_code == 201  # first repeats third
    assert _code(_link(stack, "fo", third, second, "duplicate_of"))[:2] == (422, "duplicate_cycle")
    assert _code(_link(stack, "fo", second, third, "duplicate_of"))[:2] == (409, "already_duplicate")
    links = stack.staff("kadis", "GET", f"/complaints/{first}/links")
    assert links.status_code == 200
    assert [(v["relation"], v["ticket"]) for v in links.json()] == [
        ("has_duplicate", second),
        ("duplicate_of", third),
    ]
    # Linking leaves the complaints where they were (no new version, no report rows).
    assert stack.record("fo", first)["version"] == 1


def test_closing_as_a_duplicate_bad_inputs(stack: Stack) -> None:
    ticket = _file(stack, "Pesangon")["ticket"]
    for original, code in ((ticket, "self_link"), (f"ADU-{wib_year()}-999998", "not_found"), ("", "blank")):
        r = stack.act("fo", ticket, "close_duplicate", 1, original=original)
        assert r.status_code == 422, r.text
        assert [e["field"] for e in r.json()["errors"]] == ["original"], r.text
        if code != "blank":
            assert [e["code"] for e in r.json()["errors"]] == [code]
    # Refused inputs leave no trace: still open, no link.
    record = stack.record("fo", ticket)
    assert record["status"] == "open" and record["links"] == []


def _sign_in(page: Page, username: str) -> None:
    page.goto("/masuk")
    page.get_by_label("Nama pengguna").fill(username)
    page.get_by_label("Kata sandi").fill(PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    expect(page.get_by_role("heading", name="Antrean saya")).to_be_visible()


@pytest.fixture
def console(browser: Browser, stack: Stack) -> Iterator[Page]:
    """The Front Office's console in Chromium with JavaScript off, failing on any outside request."""
    context = browser.new_context(base_url=stack.staff_url, java_script_enabled=False)
    seen: list[str] = []
    context.on("request", lambda r: seen.append(r.url))
    page = context.new_page()
    _sign_in(page, "fo")
    yield page
    context.close()
    assert [u for u in seen if not u.startswith(stack.staff_url)] == []


def test_a_duplicate_closes_and_the_citizen_page_points_at_the_original(
    stack: Stack, console: Page, browser: Browser
) -> None:
    original = _file(stack, "Upah di bawah UMK")
    extra = _file(stack, "Upah di bawah UMK, pabrik kedua")
    duplicate = stack.file(
        complaint_body(complainant=_person(NIK_DOTTED), subject=f"Upah di bawah UMK (lagi) {stack.name}")
    ).json()
    page = console

    # The link form: an error beside its field with the input kept, then a related link.
    page.goto(f"/pengaduan/{original['ticket']}")
    links = page.locator("section[aria-labelledby=h-links]")
    links.locator("summary").click()
    links.get_by_label("Nomor tiket pengaduan lain").fill(original["ticket"])
    links.get_by_role("button", name="Tautkan").click()
    expect(links.locator(".field-error")).to_contain_text("tidak dapat ditautkan dengan dirinya sendiri")
    expect(links.get_by_label("Nomor tiket pengaduan lain")).to_have_value(original["ticket"])
    links.screenshot(path=f"/tmp/aduan-linking-form-{stack.name}.png")  # noqa: S108 - to look at
    links.get_by_label("Nomor tiket pengaduan lain").fill(extra["ticket"])
    links.get_by_label("Terkait dengan pengaduan ini").check()
    links.get_by_role("button", name="Tautkan").click()
    expect(page.get_by_role("status")).to_contain_text("Tautan dengan pengaduan lain sudah dicatat.")
    expect(page.locator("section[aria-labelledby=h-links]")).to_contain_text(
        f"Terkait dengan {extra['ticket']}"
    )
    # The same person's later complaints on the first one's page.
    expect(page.locator("section[aria-labelledby=h-later]")).to_contain_text(duplicate["ticket"])

    # Closing the third as the duplicate of the first, by the SOP action's form.
    page.goto(f"/pengaduan/{duplicate['ticket']}")
    box = page.locator("#tindakan-close_duplicate")
    box.locator("summary").click()
    box.get_by_label("Nomor tiket pengaduan asli (yang dilanjutkan)").fill(original["ticket"].lower())
    box.get_by_label("Saya yakin: tindakan ini menutup pengaduan.").check()
    box.get_by_role("button", name="Tutup sebagai duplikat").click()
    expect(page.get_by_role("status")).to_contain_text("Tindakan “Tutup sebagai duplikat” sudah dicatat.")
    expect(page.locator("section[aria-labelledby=h-status]")).to_contain_text(
        "Digabung dengan pengaduan lain"
    )
    own = page.locator("section[aria-labelledby=h-links]")
    expect(own).to_contain_text(f"Duplikat dari {original['ticket']}")
    expect(own.get_by_role("button")).to_have_count(0)  # the link of a closed duplicate stays
    expect(page.locator("section[aria-labelledby=h-history]")).to_contain_text(
        f"Ditautkan: Duplikat dari {original['ticket']}"
    )
    page.goto(f"/pengaduan/{original['ticket']}")
    expect(page.locator("section[aria-labelledby=h-links]")).to_contain_text(
        f"Memiliki duplikat {duplicate['ticket']}"
    )
    expect(page.locator("section[aria-labelledby=h-history]")).to_contain_text(
        f"Ditautkan: Memiliki duplikat {duplicate['ticket']}"
    )
    expect(
        page.locator("section[aria-labelledby=h-links]").get_by_role(
            "button", name=f"Lepas tautan dengan {duplicate['ticket']}"
        )
    ).to_have_count(0)
    page.screenshot(path=f"/tmp/aduan-linking-original-{stack.name}.png", full_page=True)  # noqa: S108
    unlink = stack.staff("fo", "DELETE", f"/complaints/{original['ticket']}/links/{duplicate['ticket']}")
    assert _code(unlink)[:2] == (409, "closed_as_duplicate")

    record = stack.record("fo", duplicate["ticket"])
    assert (record["status"], record["outcome"]) == ("closed", "duplicate")
    closing = [h for h in record["history"] if h["action"] == "close_duplicate"]
    assert [h["detail"]["original"] for h in closing] == [original["ticket"]]

    # The citizen's page of the duplicate: merged with the original, where the original stands,
    # and nothing of the original's own (its tracking code, its complainant).
    track = httpx.get(
        f"{stack.intake_url}/api/v1/track/{duplicate['ticket']}", params={"code": duplicate["tracking_code"]}
    ).json()
    assert track["status_label"] == "Digabung dengan pengaduan lain yang sama (duplikat)"
    assert track["merged_into"]["ticket"] == original["ticket"]
    assert track["merged_into"]["status_label"] == "Pengaduan diterima dan sedang diverifikasi"
    assert track["merged_into"]["step_number"] == 1
    assert original["tracking_code"] not in json.dumps(track)
    citizen = browser.new_context(base_url=stack.intake_url, java_script_enabled=False)
    try:
        mobile = citizen.new_page()
        mobile.goto(f"/api/v1/track/{duplicate['ticket']}?code={duplicate['tracking_code']}&format=html")
        expect(
            mobile.get_by_role("heading", name=f"Digabung dengan pengaduan {original['ticket']}")
        ).to_be_visible()
        expect(mobile.locator("body")).to_contain_text("Pengaduan diterima dan sedang diverifikasi")
        assert original["tracking_code"] not in mobile.content()
        mobile.screenshot(path=f"/tmp/aduan-linking-track-{stack.name}.png", full_page=True)  # noqa: S108
    finally:
        citizen.close()

    # Its closing message (naming the original) was built and handed to the channel.
    closing = eventually(
        lambda: stack.sql(
            "SELECT n.status FROM notifications n JOIN complaints c ON c.id = n.complaint_id "
            "WHERE c.ticket = :t AND n.event = 'closing'",
            t=duplicate["ticket"],
        ),
        lambda rows: bool(rows) and all(r[0] in ("sent", "delivered") for r in rows),
    )
    assert closing

    # The reports count the new outcome.
    # The report's periods are office (WIB) days; the API's times are UTC.
    today = datetime.fromisoformat(record["closed_at"]).astimezone(WIB).date().isoformat()
    volume = stack.staff("kadis", "GET", "/reports/volume", params={"from": today, "to": today})
    assert volume.status_code == 200, volume.text
    by_outcome = {c["key"]: c["count"] for c in volume.json()["by_outcome"]}
    assert by_outcome["duplicate"] >= 1


def _every_row(stack: Stack) -> Iterator[tuple[str, str, str]]:
    """Every column of every row of every table, as text (bytes as Latin-1: any byte a character)."""
    engine = create_engine(stack.db_url)
    try:
        with engine.connect() as conn:
            for table in inspect(engine).get_table_names():
                for row in conn.execute(text(f'SELECT * FROM "{table}"')):  # noqa: S608 - names from the schema
                    for column, value in row._mapping.items():
                        if isinstance(value, memoryview | bytes | bytearray):
                            yield table, column, bytes(value).decode("latin-1")
                        else:
                            yield table, column, json.dumps(value, default=str)
    finally:
        engine.dispose()


def test_after_these_flows_no_column_holds_the_nik_phone_or_email(stack: Stack) -> None:
    """Runs last in this module: read every column of every table for the identity in any form."""
    plain = (NIK, NIK_DOTTED, NIK_SPACED, *PHONE_FORMS, *EMAIL_FORMS)
    found = [
        (table, column)
        for table, column, value in _every_row(stack)
        if any(p.casefold() in value.casefold() for p in plain)
    ]
    assert found == []
    # This module's complaints are there, sealed (the check above read something).
    assert len(stack.sql("SELECT id FROM complaints WHERE complainant_name = 'Dewi Rahayu'")) >= 6
