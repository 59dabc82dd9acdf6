"""A station's code: letters, digits and dashes, at most 16, because it goes into addresses."""

import importlib

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError

from stations.models import Station, StationKind

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english(settings):
    settings.LANGUAGE_CODE = "en"


def add_station(client, code):
    return client.post("/admin/stations/station/add/", {
        "name": "Puerta rara", "code": code, "kind": StationKind.GATE, "is_active": "on", "sort_order": 0,
    })


@pytest.mark.parametrize("code", ["A/B<X>", "G 1", "G_1", "G1.", "ñ1", "A" * 17, "G+1"])
def test_the_admin_refuses_a_code_that_cannot_go_into_an_address(client, admin_user, code):
    client.force_login(admin_user)
    response = add_station(client, code)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["code"]  # shown beside the field
    assert not Station.objects.exists()
    assert client.get("/admin/stations/station/").status_code == 200


def test_the_admin_accepts_letters_digits_and_dashes_and_the_station_pages_work(client, admin_user):
    client.force_login(admin_user)
    response = add_station(client, "puerta-2")
    assert response.status_code == 302
    station = Station.objects.get()
    assert station.code == "PUERTA-2"
    listing = client.get("/admin/stations/station/")
    assert listing.status_code == 200 and "/stations/PUERTA-2/qr/" in listing.content.decode()
    assert client.get("/stations/PUERTA-2/qr/").status_code == 200


def test_the_refusal_says_which_characters_are_allowed_in_spanish(client, admin_user, settings):
    settings.LANGUAGE_CODE = "es"
    client.force_login(admin_user)
    html = add_station(client, "A/B<X>").content.decode()
    assert "letras, dígitos o guiones" in html


def test_a_script_cannot_save_a_bad_code_either():
    with pytest.raises(ValidationError):
        Station.objects.create(name="x", code="A/B", kind=StationKind.GATE)
    assert not Station.objects.exists()


def test_the_migration_repairs_codes_saved_before_the_rule():
    good = Station.objects.create(name="ok", code="A-B", kind=StationKind.GATE)
    bad = Station.objects.create(name="bad", code="TEMP1", kind=StationKind.GATE)
    worse = Station.objects.create(name="worse", code="TEMP2", kind=StationKind.GATE)
    Station.objects.filter(pk=bad.pk).update(code="A/B")  # as an older version let it be
    Station.objects.filter(pk=worse.pk).update(code="<X> Y")
    migration = importlib.import_module("stations.migrations.0004_station_code_letters_digits_dashes")
    migration.repair_codes(apps, None)
    codes = dict(Station.objects.values_list("pk", "code"))
    assert codes[good.pk] == "A-B"
    assert codes[bad.pk] == "A-B-2"
    assert codes[worse.pk] == "X-Y"
