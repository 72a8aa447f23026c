"""Logging helpers. Log lines carry the request id; they never carry patient data.

The rule is enforced by what we log (ids, codes and counts only, never free text, names or
answers) and by the exception handler, which logs where an error happened but not its message.
"""

from __future__ import annotations

import logging

from . import request_context


class RequestContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_context.current().request_id
        return True
