"""seed_demo makes a plant whose history obeys the gate's rules, and refuses to run twice."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from drivers.models import Ban, Driver, Movement, RefusedScan, Visit
from stations.models import Station, StationKind

pytestmark = pytest.mark.django_db


def seed(*args):
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def test_it_makes_a_plant_whose_history_obeys_the_rules():
    summary = seed("--drivers", "60", "--movements", "3000", "--days", "20", "--inside", "25")

    assert "60 drivers" in summary and "3000 movements" in summary
    assert Movement.objects.count() == 3000 and Driver.objects.count() == 60
    assert set(Station.objects.values_list("kind", flat=True)) == set(StationKind.values)
    assert Visit.objects.filter(left_at__isnull=True).count() == 25
    assert RefusedScan.objects.exists() and Ban.objects.in_force().exists()
    assert not Movement.objects.filter(at__gt=timezone.now()).exists()
    for driver in Driver.objects.all():
        inside = False
        for direction in driver.movements.order_by("at", "id").values_list("direction", flat=True):
            if direction == "in":
                assert not inside, f"two entries in a row for {driver}"
            else:
                assert inside, f"{direction} of {driver} while outside"
            inside = direction != "out"
        assert inside == driver.visits.filter(left_at__isnull=True).exists()
    for ban in Ban.objects.all():
        end = ban.lifted_at or timezone.now()
        assert not Movement.objects.filter(driver=ban.driver, at__gte=ban.banned_at, at__lt=end).exists()


def test_it_refuses_to_run_over_existing_data_unless_reset():
    seed("--drivers", "10", "--movements", "100", "--days", "5")
    with pytest.raises(CommandError, match="--reset"):
        seed("--drivers", "10", "--movements", "100", "--days", "5")
    seed("--drivers", "12", "--movements", "50", "--days", "5", "--reset")
    assert Driver.objects.count() == 12 and Movement.objects.count() == 50


def test_a_dry_run_writes_nothing():
    assert "Would make" in seed("--drivers", "10", "--movements", "100", "--dry-run")
    assert not Driver.objects.exists()
