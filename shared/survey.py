"""The satisfaction survey (SKM, PermenPANRB 14/2017): the scale, the index, its grade, the link."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from shared.links import citizen_url
from shared.settings import Settings

# The four answers of the SKM questionnaire (nilai persepsi 1-4).
SCORE_LABELS: dict[int, str] = {
    1: "Tidak baik",
    2: "Kurang baik",
    3: "Baik",
    4: "Sangat baik",
}
SCORES = tuple(SCORE_LABELS)
COMMENT_MAX = 1000

# The index converts the average (NRR, 1-4) to 25-100; the annex's table gives the quality grade
# (mutu pelayanan) and the unit's performance (kinerja unit pelayanan) per interval of the index.
INDEX_FACTOR = Decimal(25)
_GRADES: tuple[tuple[Decimal, str, str], ...] = (
    (Decimal("88.31"), "A", "Sangat Baik"),
    (Decimal("76.61"), "B", "Baik"),
    (Decimal("65.00"), "C", "Kurang Baik"),
    (Decimal("25.00"), "D", "Tidak Baik"),
)
_CENT = Decimal("0.01")
_MILLI = Decimal("0.001")


@dataclass(frozen=True)
class Index:
    """The SKM result of a set of scores."""

    average: Decimal  # NRR, 1-4, three decimals
    index: Decimal  # NRR x 25, two decimals
    grade: str  # A-D
    grade_label: str  # Sangat Baik … Tidak Baik


def grade(index: Decimal) -> tuple[str, str]:
    """The grade letter and label of an index already rounded to two decimals."""
    for floor, letter, label in _GRADES:
        if index >= floor:
            return letter, label
    raise ValueError(f"SKM index below 25: {index}")


def skm_index(total: int, count: int) -> Index | None:
    """The index of `count` scores adding up to `total`; None when nobody answered."""
    if count == 0:
        return None
    # Exact arithmetic, rounded half up once, as the regulation's worked examples do.
    converted = (Decimal(total) * INDEX_FACTOR / Decimal(count)).quantize(_CENT, ROUND_HALF_UP)
    letter, label = grade(converted)
    average = (Decimal(total) / Decimal(count)).quantize(_MILLI, ROUND_HALF_UP)
    return Index(average=average, index=converted, grade=letter, grade_label=label)


def feedback_url(settings: Settings, ticket: str, tracking_code: str) -> str:
    """The citizen's link to the survey page of a complaint (put into the closing message)."""
    return citizen_url(settings, ticket, tracking_code, "/feedback")
