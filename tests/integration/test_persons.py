"""A person's ID number is encrypted at rest, found by its blind index, and shown masked."""

import logging
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from enrollment import idnumber, services
from enrollment.models import Person

pytestmark = pytest.mark.django_db

ID = "620602197505201231"


def test_the_id_number_is_not_stored_in_clear():
    person = services.person_get_or_create(name="张桂兰", id_number=ID)
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM enrollment_person WHERE id = %s", [person.pk])
        row = " ".join(str(value) for value in cursor.fetchone())
    assert ID not in row
    assert "620602********1231" in row  # only the masked form is in clear
    assert Person.objects.get(pk=person.pk).id_number == ID


def test_a_person_is_found_by_id_number_written_either_way():
    person = services.person_get_or_create(name="李四", id_number="11010519491231002x")
    assert Person.objects.by_id_number("11010519491231002X").get() == person
    assert services.person_get_or_create(name="李四", id_number="11010519491231002X") == person
    assert Person.objects.count() == 1


def test_birth_date_sex_and_region_come_from_the_id_number():
    person = services.person_get_or_create(name="张桂兰", id_number=ID)
    assert str(person.birth_date) == "1975-05-20"
    assert person.sex == "M"
    assert person.region_code == "620602"


def test_an_invalid_id_number_creates_nobody():
    with pytest.raises(idnumber.IdNumberError):
        services.person_get_or_create(name="王五", id_number="620602197505201232")
    assert Person.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_simultaneous_first_sightings_make_one_person():
    def create(_):
        try:
            return services.person_get_or_create(name="张桂兰", id_number=ID).pk
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        pks = set(pool.map(create, range(16)))
    assert len(pks) == 1
    assert Person.objects.count() == 1


def test_log_lines_carry_masked_id_numbers_only(caplog):
    from portal.logging import MaskIdNumbers

    logger = logging.getLogger("test.pii")
    logger.addFilter(MaskIdNumbers())
    with caplog.at_level(logging.INFO, logger="test.pii"):
        logger.info("lookup for %s failed", ID)
    assert ID not in caplog.text
    assert "620602********1231" in caplog.text


def test_order_and_policy_numbers_are_not_mistaken_for_id_numbers():
    from portal.logging import mask_ids

    assert mask_ids("order O202506150000006765 paid") == "order O202506150000006765 paid"
    assert mask_ids("id=620602197505201231;") == "id=620602********1231;"
