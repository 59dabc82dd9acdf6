"""A driver's movements in time order alternate entry and exit, whichever station, worker
or app server recorded them: a scan's time is taken once its turn on the driver comes."""

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, transaction

from drivers.models import Direction, Driver, Movement, Visit
from drivers.services import record_scan

pytestmark = pytest.mark.django_db(transaction=True)


def directions_in_time_order(driver):
    return list(driver.movements.valid().order_by("at", "id").values_list("direction", flat=True))


def test_a_scan_that_waited_for_another_scan_of_the_driver_comes_after_it(stations, caseta, driver, settings):
    """A two-way gate's second scan arrives while the first scan of the same driver holds
    him (another worker or app server, a slow moment): it is an exit after that entry, in
    time too, never an exit stamped before the entry it follows."""
    settings.SCAN_DUPLICATE_WINDOW_SECONDS = 0  # two people scanning him, not a double read
    record_scan(code=driver.badge_code, station=stations["entry"], operator=caseta)
    record_scan(code=driver.badge_code, station=stations["exit"], operator=caseta)  # outside again
    holding, results, errors = threading.Event(), {}, []

    def entry_gate():  # holds the driver (his row lock; SQLite: the write lock) while the other scan arrives
        try:
            with transaction.atomic():
                Driver.objects.select_for_update().filter(pk=driver.pk).exists()
                holding.set()
                time.sleep(0.5)
                results["entry"] = record_scan(code=driver.badge_code, station=stations["gate"],
                                               operator=caseta)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
            holding.set()
        finally:
            connection.close()

    def exit_gate():
        try:
            holding.wait(10)
            time.sleep(0.1)  # arrives while the driver is held, before the entry is recorded
            results["exit"] = record_scan(code=driver.badge_code, station=stations["gate"], operator=caseta)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=entry_gate), threading.Thread(target=exit_gate)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert not errors
    assert results["entry"].direction == Direction.IN and results["exit"].direction == Direction.OUT
    assert results["exit"].movement.at > results["entry"].movement.at
    assert directions_in_time_order(driver) == ["in", "out", "in", "out"]
    assert not Visit.objects.filter(driver=driver, left_at__isnull=True).exists()


def test_a_server_whose_clock_lags_still_records_after_the_drivers_last_movement(stations, caseta, driver):
    """The other app server's clock runs 3 s ahead: its entry is stamped in our future.
    Our exit, right after it, still comes after it."""
    entry = record_scan(code=driver.badge_code, station=stations["entry"], operator=caseta).movement
    ahead = entry.at + timedelta(seconds=3)
    Movement.objects.filter(pk=entry.pk).update(at=ahead)
    Visit.objects.filter(pk=entry.visit_id).update(entered_at=ahead, last_seen_at=ahead)

    result = record_scan(code=driver.badge_code, station=stations["exit"], operator=caseta)
    assert result.accepted and result.movement.at > ahead
    assert directions_in_time_order(driver) == ["in", "out"]
    visit = Visit.objects.get(pk=entry.visit_id)
    assert visit.left_at == result.movement.at >= visit.entered_at
    assert result.movement.is_latest  # still the one a booth may undo
