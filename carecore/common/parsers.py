"""The JSON request parser: DRF's, refusing two bodies the standard library's json reads but the
rest of the request cannot survive. Both are 400 `validation_error` (DRF's ParseError, in the
contract's shape), where they were 500s:

- Nesting deeper than MAX_DEPTH arrays and objects. 100,000 `[` made json raise RecursionError.
  No form of ours nests more than a few levels (an intake answer that is a list is the deepest).
- A lone UTF-16 surrogate (`"\\ud800"` without its pair). json turns the escape into a str that
  no UTF-8 encoder accepts: PostgreSQL's driver, and our own JSON renderer writing an error
  that quotes the value, both failed on it.

Everything else is DRF's JSONParser as it is: the charset from the Content-Type (text codecs
only), NaN and Infinity refused (STRICT_JSON), and the body read from the same stream, so the
body caps (carecore/common/body_limits.py) apply as before.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Mapping
from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.utils import json

MAX_DEPTH = 64

TOO_DEEP = f"The JSON body is nested too deeply: at most {MAX_DEPTH} levels of arrays and objects."
LONE_SURROGATE = (
    "The JSON body has a lone surrogate (an escape from \\ud800 to \\udfff without its pair); "
    "text must be valid Unicode."
)

# A surrogate can only come from a \u escape: the body is decoded strictly, so the bytes of one
# are an encoding error (a 400 already). Only a body holding such an escape is searched, and a
# valid pair (an emoji as `\ud83d\ude00`) becomes one character, so what remains is lone.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


class JSONParser(parsers.JSONParser):
    """DRF's JSONParser with a depth limit and no lone surrogates (the module's docstring)."""

    def parse(
        self,
        stream: Any,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        # DRF's own charset check (text codecs only), which its stubs do not list yet.
        encoding = parsers.get_encoding(parser_context or {})  # type: ignore[attr-defined]
        parse_constant = json.strict_constant if self.strict else None
        try:
            text = codecs.getreader(encoding)(stream).read()
            data = json.loads(text, parse_constant=parse_constant)
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        except RecursionError:
            # Far too deep for the interpreter. Catching it costs nothing: json's C scanner
            # stops some 1000 levels in, having built only those levels. A scan of the text
            # before parsing would have to skip strings (brackets in them do not count) in
            # Python, character by character; the walk below only runs on the few bodies that
            # parsed and hold more than MAX_DEPTH brackets.
            raise ParseError(TOO_DEEP) from None
        deep = text.count("[") + text.count("{") > MAX_DEPTH
        surrogates = _SURROGATE_ESCAPE.search(text) is not None
        if deep or surrogates:
            refusal = _refusal(data, depth=deep, surrogates=surrogates)
            if refusal is not None:
                raise ParseError(refusal)
        return data


def _refusal(data: Any, *, depth: bool, surrogates: bool) -> str | None:
    """TOO_DEEP, LONE_SURROGATE or None for parsed JSON, walked with a list rather than by
    recursion (the point is not to recurse as deep as a client likes)."""
    pending: list[tuple[Any, int]] = [(data, 1)]
    while pending:
        value, level = pending.pop()
        if isinstance(value, dict | list):
            if depth and level > MAX_DEPTH:
                return TOO_DEEP
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, inner in items:
                if surrogates and isinstance(key, str) and _SURROGATE.search(key):
                    return LONE_SURROGATE
                pending.append((inner, level + 1))
        elif surrogates and isinstance(value, str) and _SURROGATE.search(value):
            return LONE_SURROGATE
    return None
