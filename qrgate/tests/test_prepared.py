"""Queries compiled once (qrgate/prepared.py) answer as the ORM, request after request:
the session, the user and his permissions are read afresh each time, only not rebuilt."""

import json
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.contrib.sessions.models import Session
from django.utils import timezone

from accounts.models import Role
from drivers.models import Driver
from qrgate.prepared import PreparedQuery

pytestmark = pytest.mark.django_db


def scan(client, driver):
    return client.post("/api/scan/", json.dumps({"code": driver.badge_code, "station": "G1"}),
                       content_type="application/json")


def test_a_role_taken_away_counts_from_the_next_scan(client, caseta, make_driver, stations):
    client.force_login(caseta)
    assert scan(client, make_driver()).json()["accepted"]
    caseta.groups.remove(Group.objects.get(name=Role.BOOTH))
    assert scan(client, make_driver()).status_code == 403


def test_an_expired_session_is_no_session(client, caseta, make_driver, stations):
    client.force_login(caseta)
    assert scan(client, make_driver()).status_code == 200
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))
    assert scan(client, make_driver()).status_code == 401


def test_a_prepared_query_gives_what_the_queryset_gives(make_driver):
    drivers = [make_driver() for _ in range(3)]
    by_company = PreparedQuery(lambda company, after: Driver.objects.filter(company=company, pk__gt=after)
                               .order_by("pk"))
    names = PreparedQuery(lambda after: Driver.objects.filter(pk__gt=after).order_by("pk")
                          .values_list("full_name", "pk"))
    for after in (0, drivers[0].pk, drivers[2].pk):
        found = by_company.fetch(company=drivers[0].company, after=after)
        assert found == list(Driver.objects.filter(pk__gt=after).order_by("pk"))
        assert [d.badge_code for d in found] == [d.badge_code for d in drivers if d.pk > after]
        assert names.fetch(after=after) == [(d.full_name, d.pk) for d in drivers if d.pk > after]
    assert by_company.fetch(company="Nadie", after=0) == []
    assert False not in by_company._prepared.values() and False not in names._prepared.values()
