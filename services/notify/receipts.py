"""Delivery receipts: a gateway calls back with the fate of a message it accepted.

`POST /api/v1/notify/receipts/{gateway}`, mounted on the public intake API by launcher/apps.py.
The gateway proves itself with the shared secret configured for it (`?secret=` in the callback
URL, or the header `X-Receipt-Secret`); how its report reads is part of the gateway's configuration.
"""

from __future__ import annotations

import hmac
import logging
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.notify.channels import ConfigError, get_channels
from shared import history
from shared.api import ApiError, error_responses
from shared.clock import now
from shared.db import async_unit_of_work
from shared.delivery import NOTIFICATION_MOVES, sources
from shared.delivery import NotificationStatus as Status
from shared.models import Complaint, Notification
from shared.tasks import is_answer
from shared.validation import FieldError, InputError

router = APIRouter(prefix="/api/v1/notify", responses=error_responses(422))
log = logging.getLogger(__name__)


async def _payload(request: Request) -> dict[str, Any]:
    kind = request.headers.get("content-type", "")
    try:
        if "json" in kind:
            body = await request.json()
            return body if isinstance(body, dict) else {"data": body}
        return dict((await request.form()).items())
    except ValueError as exc:
        raise InputError([FieldError("body", "invalid_json", "Isi laporan tidak dapat dibaca.")]) from exc


async def _answer_bounced(
    session: AsyncSession, complaint_id: int, gateway: str, error: str, at: datetime
) -> None:
    """The gateway took the answer but reports it never arrived: the complaint's record says so.

    The complaint stays closed (the attempt was made and accepted); the dead letter shows in the
    front office's queue count and in GET /api/v1/notifications?status=failed, to phone instead.
    """
    version = select(Complaint.version).where(Complaint.id == complaint_id).scalar_subquery()
    history.record(
        session,
        complaint_id=complaint_id,
        at=at,
        action="delivery_bounced",
        note=error,
        detail={"label": "Gateway melaporkan jawaban tidak sampai ke pengadu", "gateway": gateway},
        version=version,
    )


@router.post("/receipts/{gateway}", responses=error_responses(401, 404))
async def receipt(
    gateway: str,
    request: Request,
    secret: Annotated[str | None, Query(max_length=200)] = None,
    x_receipt_secret: Annotated[str | None, Header()] = None,
) -> dict[str, int]:
    """Mark the messages the report names delivered (or failed); unknown ids are ignored."""
    chans = get_channels()
    try:
        expected = chans.receipt_secret(gateway)
    except (ConfigError, KeyError, ValueError):
        expected = None
    if not expected:
        raise ApiError(404, "gateway_unknown", "Gateway tidak dikenal atau tidak mengirim laporan.")
    given = x_receipt_secret or secret or ""
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise ApiError(401, "receipt_secret_invalid", "Rahasia laporan pengiriman tidak cocok.")
    try:
        reports = chans.parse_receipt(gateway, await _payload(request))
    except (ConfigError, KeyError, ValueError) as exc:
        raise InputError(
            [FieldError("body", "receipt_invalid", "Laporan pengiriman tidak dikenali.")]
        ) from exc
    at = now()
    updated = 0
    async with async_unit_of_work() as session:
        for r in reports:
            if r.status == Status.DELIVERED:
                values: dict[str, Any] = {"delivered_at": at}
            elif r.status == Status.FAILED:
                detail = f" ({r.detail[:200]})" if r.detail else ""
                values = {"error": f"Laporan gateway: tidak sampai{detail}"}
            else:
                continue  # "sent": nothing new
            reported = Status(r.status)
            result = await session.execute(
                update(Notification)
                .where(
                    Notification.gateway == gateway,
                    Notification.provider_id == r.provider_id,
                    # what the gateway took (sent, or ambiguous): a receipt settles only those
                    Notification.status.in_(sources(NOTIFICATION_MOVES, Status.DELIVERED)),
                )
                .values(status=reported.value, **values)
                .returning(Notification.complaint_id, Notification.event)
            )
            rows = result.all()
            updated += len(rows)
            if reported == Status.FAILED:
                for complaint_id, event in rows:
                    if is_answer(event):
                        await _answer_bounced(session, complaint_id, gateway, values["error"], at)
    log.info("receipts from %s: %d reported, %d message(s) updated", gateway, len(reports), updated)
    return {"received": len(reports), "updated": updated}
