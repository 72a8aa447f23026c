"""CareCore: the project package and what every app shares (accounts, audit, errors, outbox)."""

from .celery import app as celery_app

__all__ = ["celery_app"]
