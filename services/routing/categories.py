"""Complaint categories as the admin runs them (API and console): add, rename, order, deactivate."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared import audit
from shared.api import ApiError
from shared.models import Category, Unit
from shared.validation import FieldError, InputError
from shared.workflow import Actor


def categories(session: Session) -> list[Category]:
    """Every category, in the office's order."""
    found = list(session.scalars(select(Category).order_by(Category.position, Category.code)))
    session.expunge_all()
    session.rollback()
    return found


def _check_unit(session: Session, unit: str | None) -> None:
    if unit is not None and session.get(Unit, unit) is None:
        raise InputError([FieldError("unit", "unit_unknown", "Bidang tidak dikenal.")])


def add(
    session: Session, *, code: str, name: str, unit: str | None, position: int, by: Actor, address: str | None
) -> Category:
    """A new active category (code, name, the bidang it routes to, its place in the list)."""
    if session.get(Category, code) is not None:
        raise InputError([FieldError("code", "category_exists", "Kode kategori sudah ada.")])
    _check_unit(session, unit)
    category = Category(code=code, name=name, unit_code=unit, position=position, active=True)
    session.add(category)
    detail = {"name": name, "unit": unit, "position": position}
    audit.record(session, by=by, action="category.create", address=address, target=code, detail=detail)
    session.flush()
    return category


def edit(
    session: Session, code: str, changes: Mapping[str, Any], *, by: Actor, address: str | None
) -> Category:
    """Rename, reorder, reroute, deactivate or reactivate a category (the fields given)."""
    category = session.get(Category, code)
    if category is None:
        raise ApiError(404, "not_found", "Kategori tidak ditemukan.")
    if "unit" in changes:
        _check_unit(session, changes["unit"])
        category.unit_code = changes["unit"]
    for name in ("name", "position", "active"):
        if name in changes and changes[name] is not None:
            setattr(category, name, changes[name])
    audit.record(session, by=by, action="category.update", address=address, target=code, detail=dict(changes))
    session.flush()
    return category
