"""CareCore: the project package and what every app shares (accounts, audit, errors, outbox).

The Celery app (`carecore.celery`) is loaded when Django starts (`CommonConfig.ready`), and by
`celery -A carecore`, which finds `carecore.celery` itself; it is not imported with this
package, so the pure modules under `carecore/clinical/` can be imported without Django.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    # `carecore.celery_app`, for code written against the usual Celery project layout.
    if name == "celery_app":
        from .celery import app

        return app
    raise AttributeError(name)
