"""Logging helpers. Log lines carry the request id; they never carry patient data.

The rule is enforced by what we log (ids, codes and counts only, never free text, names or
answers) and by the exception handler, which logs where an error happened but not its message.
"""

from __future__ import annotations

import logging
import re
import traceback

from . import request_context


class RequestContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_context.current().request_id
        return True


# Celery logs a failed task as "Task <name>[<id>] raised unexpected: ValueError('<message>')"
# followed by a traceback that ends with the message again. Exception messages can quote
# anything (a database error quotes the offending value, a provider error the phone number), so
# these loggers keep the exception's type and the traceback's frames and drop its message.
CELERY_FAILURE_LOGGERS = ("celery.app.trace", "celery.worker.request", "celery.worker.consumer")
WITHHELD = "(message withheld: it may hold patient data)"
_LEADING_NAME = re.compile(r"[A-Za-z_][\w.]*")


def _exception_name(exception: BaseException) -> str:
    kind = type(exception)
    return (
        kind.__qualname__
        if kind.__module__ == "builtins"
        else f"{kind.__module__}.{kind.__qualname__}"
    )


def _redacted_traceback(exception: BaseException) -> str:
    """Every frame (file, line, function, source line) of the exception and its causes, oldest
    first as Python prints them, with each message withheld."""
    chain: list[BaseException] = []
    current: BaseException | None = exception
    while current is not None and current not in chain:
        chain.append(current)
        suppressed = current.__suppress_context__
        current = current.__cause__ or (None if suppressed else current.__context__)
    parts: list[str] = []
    for link in reversed(chain):
        parts.append("Traceback (most recent call last):\n")
        parts.extend(traceback.format_list(traceback.extract_tb(link.__traceback__)))
        parts.append(f"{_exception_name(link)}: {WITHHELD}\n")
    return "".join(parts).rstrip("\n")


def _redact_value(value: object) -> object:
    if isinstance(value, BaseException):
        return f"{_exception_name(value)} {WITHHELD}"
    return value


class TaskFailureFilter(logging.Filter):
    """Removes exception messages from Celery's task failure records (see above)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, dict) and isinstance(record.args.get("exc"), str):
            match = _LEADING_NAME.match(record.args["exc"])
            name = match.group(0) if match else "exception"
            record.args = {**record.args, "exc": f"{name} {WITHHELD}", "traceback": ""}
            if hasattr(record, "data"):
                record.data = record.args  # Celery's structured copy of the same context
        elif isinstance(record.args, tuple):
            record.args = tuple(_redact_value(value) for value in record.args)
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = _redacted_traceback(record.exc_info[1])
            record.exc_info = None
        return True


def install_task_failure_filter() -> None:
    """Idempotent: the worker calls it at start-up (carecore/celery.py)."""
    for name in CELERY_FAILURE_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(existing, TaskFailureFilter) for existing in logger.filters):
            logger.addFilter(TaskFailureFilter())
