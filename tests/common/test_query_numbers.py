"""Whole numbers in query strings (`page_size`, `after`, the slot list's `page_size`, FHIR's
`_count`) are ASCII digits 0-9 and nothing else: Python's int() also reads "٣" (Arabic-Indic
three), "+5", " 5" and "5_0", and `str.isdigit()` said yes to "²", which int() then refused (a
500)."""

from __future__ import annotations

import pytest
from rest_framework import serializers

from carecore.common.fields import BIGINT_MAX, QueryIntegerField

pytestmark = pytest.mark.django_db

LIST = "/api/v1/notifications/"
NOT_ASCII_WHOLE_NUMBERS = ["٣", "+5", " 5", "5 ", "5_0", "5.0", "²", "-1", "0x5", "", "0", "00"]


@pytest.mark.parametrize("page_size", NOT_ASCII_WHOLE_NUMBERS)
def test_a_page_size_not_written_with_ascii_digits_is_a_400_on_page_size(
    client_for, patient, page_size
):
    response = client_for(patient.user).get(LIST, {"page_size": page_size})

    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "validation_error",
        "message": "Some fields are not valid.",
        "fields": {"page_size": ["Use a whole number from 1."]},
    }


@pytest.mark.parametrize("page_size", ["7", "007", "200", "201", "1" * 5000, "9" * 30])
def test_a_page_size_of_ascii_digits_is_taken_and_capped(client_for, patient, page_size):
    response = client_for(patient.user).get(LIST, {"page_size": page_size})

    assert response.status_code == 200


@pytest.mark.parametrize("text", ["٣", "+5", " 5", "5_0", "5.0", "²", "-1", "", "1e3"])
def test_a_query_integer_is_ascii_digits_only(text):
    field = QueryIntegerField()

    with pytest.raises(serializers.ValidationError) as refused:
        field.run_validation(text)

    assert refused.value.detail  # a message, not a 500


def test_a_query_integer_reads_ascii_digits_up_to_a_bigint():
    field = QueryIntegerField()

    assert field.run_validation("0") == 0
    assert field.run_validation("0042") == 42
    assert field.run_validation(str(BIGINT_MAX)) == BIGINT_MAX
    with pytest.raises(serializers.ValidationError):
        field.run_validation(str(BIGINT_MAX + 1))
    with pytest.raises(serializers.ValidationError):
        field.run_validation("9" * 5000)
