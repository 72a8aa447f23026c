"""Phone numbers read from the database (carecore/common/phone_numbers.py): what
django-phonenumber-field's own field reads, parsed once per process, each read a copy of its own."""

from __future__ import annotations

import pytest
from django.test import override_settings
from phonenumber_field.modelfields import PhoneNumberField as LibraryPhoneNumberField
from phonenumber_field.phonenumber import PhoneNumber

from carecore.accounts.models import PhoneChange, User
from carecore.common import phone_numbers
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

TEXTS = [
    "+12125550143",  # E.164, as the field stores a valid number
    "+442079460958",
    "+12125550143;ext=12",  # with an extension
    "2125550143",  # no country code: read in the default region
    "not a number",  # unparseable: kept as its raw input
]


def library_reads(text: str) -> object:
    return LibraryPhoneNumberField().from_db_value(text, None, None)


def same_number(ours: object, theirs: object) -> bool:
    """Equal, and the same in every part the library keeps (equality skips the raw input)."""
    assert isinstance(ours, PhoneNumber) and isinstance(theirs, PhoneNumber)
    return ours == theirs and all(
        getattr(ours, part) == getattr(theirs, part)
        for part in ("raw_input", "country_code_source", "extension", "national_number")
    )


@pytest.mark.parametrize("text", TEXTS)
def test_a_stored_text_reads_as_the_librarys_field_reads_it(text):
    phone_numbers._parsed.cache_clear()

    first = phone_numbers.parsed_number(text)
    again = phone_numbers.parsed_number(text)  # from memory

    assert same_number(first, library_reads(text))
    assert same_number(again, library_reads(text))


def test_each_read_is_a_copy_of_its_own():
    first = phone_numbers.parsed_number("+12125550143")
    first.national_number = 3125550100  # a caller changing the number it was given

    assert phone_numbers.parsed_number("+12125550143").national_number == 2125550143
    assert phone_numbers.parsed_number("+12125550143") is not phone_numbers.parsed_number(
        "+12125550143"
    )


def test_the_default_region_is_part_of_what_is_remembered():
    with override_settings(PHONENUMBER_DEFAULT_REGION="US"):
        in_the_us = phone_numbers.parsed_number("2079460958")
        assert same_number(in_the_us, library_reads("2079460958"))
    with override_settings(PHONENUMBER_DEFAULT_REGION="GB"):
        in_great_britain = phone_numbers.parsed_number("2079460958")
        assert same_number(in_great_britain, library_reads("2079460958"))

    assert in_the_us.country_code == 1 and in_great_britain.country_code == 44


def test_the_remembered_numbers_stay_within_their_bound():
    assert phone_numbers._parsed.cache_info().maxsize == 16_384


def test_rows_read_their_numbers_and_no_number_stays_empty():
    with_phone = UserFactory(phone="+12125550143")
    without = UserFactory(phone="")

    read = User.objects.get(pk=with_phone.pk).phone
    assert same_number(read, library_reads("+12125550143"))
    assert User.objects.get(pk=without.pk).phone == ""
    assert isinstance(User._meta.get_field("phone"), phone_numbers.PhoneNumberField)
    assert isinstance(PhoneChange._meta.get_field("phone"), phone_numbers.PhoneNumberField)
