"""The JSON parser (carecore/common/parsers.py): DRF's, refusing nesting deeper than 64 and lone
surrogates with a 400 in the contract's shape (both were 500s: RecursionError in json, and a
str no UTF-8 encoder takes on its way to PostgreSQL), and otherwise parsing as DRF's does."""

from __future__ import annotations

import io

import pytest
from rest_framework.exceptions import ParseError

from carecore.common.parsers import LONE_SURROGATE, MAX_DEPTH, TOO_DEEP, JSONParser

pytestmark = pytest.mark.django_db

THREADS = "/api/v1/threads/"
RESPONSES = "/api/v1/questionnaire-responses/"


def parse(body: bytes, encoding: str | None = None):
    context = {} if encoding is None else {"encoding": encoding}
    return JSONParser().parse(io.BytesIO(body), "application/json", context)


def nested(depth: int, opener: str = "[", closer: str = "]", inner: str = "1") -> bytes:
    return (opener * depth + inner + closer * depth).encode()


def objects(depth: int) -> bytes:
    return ('{"a":' * depth + "1" + "}" * depth).encode()


# --- depth ---------------------------------------------------------------------------------


def test_it_takes_nesting_up_to_the_limit():
    assert parse(nested(MAX_DEPTH)) is not None
    assert parse(objects(MAX_DEPTH)) is not None
    assert parse(b'{"a": [' + nested(MAX_DEPTH - 2) + b"]}") is not None


@pytest.mark.parametrize(
    "body",
    [nested(MAX_DEPTH + 1), objects(MAX_DEPTH + 1), nested(900), b"[" * 100_000],
    ids=["arrays", "objects", "under the recursion limit", "100,000 ["],
)
def test_it_refuses_nesting_past_the_limit(body):
    with pytest.raises(ParseError) as refused:
        parse(body)

    assert str(refused.value.detail) == TOO_DEEP


def test_many_brackets_side_by_side_or_in_strings_are_not_depth():
    wide = b"[" + b",".join([b"[[1]]"] * 1000) + b"]"
    in_a_string = b'{"note": "' + b"[" * 1000 + b'"}'

    assert len(parse(wide)) == 1000
    assert parse(in_a_string) == {"note": "[" * 1000}


def test_a_deep_body_is_a_400_in_the_contracts_shape(client_for, patient):
    response = client_for(patient.user).generic(
        "POST", THREADS, b"[" * 100_000, content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json() == {
        "error": {"code": "validation_error", "message": TOO_DEEP, "fields": {}}
    }


# --- lone surrogates ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [rb'"\ud800"', rb'["ok", "a\uDFFFb"]', rb'{"\udbff": 1}', rb'{"a": {"b": ["\ude00x"]}}'],
    ids=["alone", "low, upper case, in a list", "in a key", "nested"],
)
def test_it_refuses_a_lone_surrogate(body):
    with pytest.raises(ParseError) as refused:
        parse(body)

    assert str(refused.value.detail) == LONE_SURROGATE


def test_a_surrogate_pair_and_an_escaped_backslash_are_text():
    assert parse(rb'"\ud83d\ude00"') == "\U0001f600"
    assert parse(rb'"\\ud800"') == "\\ud800"


def test_a_lone_surrogate_in_a_message_body_is_a_400(client_for, patient):
    body = rb'{"subject": "Rash", "category": "clinical", "body": "itchy \ud800"}'

    response = client_for(patient.user).generic(
        "POST", THREADS, body, content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"


@pytest.mark.usefixtures("questionnaires")
def test_a_lone_surrogate_in_an_intake_answer_is_a_400(client_for, patient):
    body = (
        rb'{"questionnaire": "gut-skin-intake", "status": "in_progress", "answers": '
        rb'{"skin-concerns": ["other"], "skin-concerns-other": "cracked \udc00"}}'
    )

    response = client_for(patient.user).generic(
        "POST", RESPONSES, body, content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json() == {
        "error": {"code": "validation_error", "message": LONE_SURROGATE, "fields": {}}
    }


# --- as DRF's parser ------------------------------------------------------------------------


@pytest.mark.parametrize("body", [b"NaN", b"[Infinity]", b'{"a": -Infinity}'])
def test_it_refuses_nan_and_infinity_as_drfs_strict_parser_does(body):
    with pytest.raises(ParseError, match="not JSON compliant"):
        parse(body)


def test_it_decodes_the_charset_asked_for_and_only_text_ones():
    assert parse('{"a": "é"}'.encode("utf-16"), "utf-16") == {"a": "é"}
    with pytest.raises(ParseError, match="Unsupported charset"):
        parse(b"x", "bz2_codec")
    with pytest.raises(ParseError, match="JSON parse error"):
        parse(b'"\xff"')


def test_a_body_over_the_cap_is_still_a_413(client_for, patient, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000

    response = client_for(patient.user).generic(
        "POST", THREADS, b"[" * 5000, content_type="application/json"
    )

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
