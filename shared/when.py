"""Times as people read them, in Bahasa Indonesia: WIB dates and the time left on a clock."""

from __future__ import annotations

from datetime import datetime, timedelta

from shared.calendar import WIB

DAYS = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")
MONTHS = (
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
)


def letter_date(moment: datetime) -> str:
    """`30 November 2026` (the WIB day), as a letter is dated."""
    t = moment.astimezone(WIB)
    return f"{t.day} {MONTHS[t.month - 1]} {t.year}"


def long_date(moment: datetime) -> str:
    """`Senin, 30 November 2026` (the WIB day)."""
    return f"{DAYS[moment.astimezone(WIB).weekday()]}, {letter_date(moment)}"


def long_time(moment: datetime | None) -> str:
    """`Senin, 30 November 2026 pukul 14.05 WIB`; `-` for no time."""
    if moment is None:
        return "-"
    t = moment.astimezone(WIB)
    return f"{long_date(t)} pukul {t:%H.%M} WIB"


def short_time(moment: datetime | None) -> str:
    """`30-11-2026 14.05` (WIB), for dense lists."""
    if moment is None:
        return "-"
    return f"{moment.astimezone(WIB):%d-%m-%Y %H.%M}"


def duration(span: timedelta) -> str:
    """`1 jam 5 menit`, `12 menit`, `kurang dari 1 menit` (whole minutes, rounded down)."""
    minutes = int(abs(span).total_seconds()) // 60
    hours, minutes = divmod(minutes, 60)
    parts = [f"{hours} jam"] if hours else []
    if minutes or not hours:
        parts.append(f"{minutes} menit")
    return "kurang dari 1 menit" if hours == minutes == 0 else " ".join(parts)


def time_left(left: timedelta) -> str:
    """`sisa 12 menit` while the clock runs, `lewat 1 jam 5 menit` once it has run out."""
    return f"sisa {duration(left)}" if left >= timedelta(0) else f"lewat {duration(left)}"
