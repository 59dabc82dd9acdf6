"""Routes and seal checks as configured in the admin: what the database and the forms refuse."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from stations.models import Route, RouteStop, Station, StationKind

pytestmark = pytest.mark.django_db


@pytest.fixture
def route(stations):
    return Route.objects.create(code="desc", name="Descarga")


def test_a_route_code_is_kept_in_upper_case(route):
    assert Route.objects.get().code == "DESC"


def test_a_route_stop_must_be_a_checkpoint(route, stations):
    stop = RouteStop(route=route, station=stations["entry"], position=1)
    with pytest.raises(ValidationError) as caught:
        stop.full_clean()
    assert "station" in caught.value.message_dict
    RouteStop(route=route, station=stations["checkpoint"], position=1).full_clean()


def test_a_station_is_a_stop_of_a_route_once_and_a_position_holds_one_stop(route, stations):
    other = Station.objects.create(name="Andén", code="A1", kind=StationKind.CHECKPOINT)
    RouteStop.objects.create(route=route, station=stations["checkpoint"], position=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        RouteStop.objects.create(route=route, station=stations["checkpoint"], position=2)
    with pytest.raises(IntegrityError), transaction.atomic():
        RouteStop.objects.create(route=route, station=other, position=1)


def test_only_entry_and_two_way_gates_start_a_route(route, stations):
    for kind in ("entry", "gate"):
        stations[kind].default_route = route
        stations[kind].full_clean()
        stations[kind].save()
    exit_gate = stations["exit"]
    exit_gate.default_route = route
    with pytest.raises(ValidationError):
        exit_gate.full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        Station.objects.filter(pk=exit_gate.pk).update(default_route=route)


def test_only_exit_and_two_way_gates_check_seals(stations):
    entry = stations["entry"]
    entry.checks_seals = True
    with pytest.raises(ValidationError):
        entry.full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        Station.objects.filter(pk=entry.pk).update(checks_seals=True)
    Station.objects.filter(pk=stations["exit"].pk).update(checks_seals=True)


def test_a_station_that_is_a_route_stop_cannot_stop_being_a_checkpoint(route, stations):
    RouteStop.objects.create(route=route, station=stations["checkpoint"], position=1)
    checkpoint = stations["checkpoint"]
    checkpoint.kind = StationKind.GATE
    with pytest.raises(ValidationError):
        checkpoint.full_clean()


def test_the_admin_saves_a_route_with_its_stops_in_order(client, admin_user, stations):
    client.force_login(admin_user)
    andén = Station.objects.create(name="Andén", code="A1", kind=StationKind.CHECKPOINT)
    response = client.post(reverse("admin:stations_route_add"), {
        "code": "carga", "name": "Carga", "is_active": "on",
        "stops-TOTAL_FORMS": "2", "stops-INITIAL_FORMS": "0",
        "stops-0-position": "1", "stops-0-station": stations["checkpoint"].pk,
        "stops-1-position": "2", "stops-1-station": andén.pk,
    })
    assert response.status_code == 302
    route = Route.objects.get(code="CARGA")
    assert [s.station for s in route.stops.all()] == [stations["checkpoint"], andén]


def test_the_admin_refuses_a_gate_as_a_route_stop(client, admin_user, stations):
    client.force_login(admin_user)
    response = client.post(reverse("admin:stations_route_add"), {
        "code": "carga", "name": "Carga", "is_active": "on",
        "stops-TOTAL_FORMS": "1", "stops-INITIAL_FORMS": "0",
        "stops-0-position": "1", "stops-0-station": stations["entry"].pk,
    })
    assert response.status_code == 200 and not Route.objects.exists()
