"""The HTTP applications `aduan serve` runs, composed here from the services' routers.

The public (intake) process also takes the gateways' delivery receipts, which belong to the notify
service: gateways call back on the address that kiosks and citizens already reach, and neither
service imports the other.
"""

from __future__ import annotations

from fastapi import FastAPI

from services.intake.app import create_app as create_intake_app
from services.notify.receipts import router as receipts_router


def public_app() -> FastAPI:
    """The intake API plus `POST /api/v1/notify/receipts/{gateway}`."""
    app = create_intake_app()
    app.include_router(receipts_router)
    return app
