import pytest

from drivers.services import record_scan
from stations.models import Station, StationKind


@pytest.fixture
def point(db):
    return Station.objects.create(name="Punto A", code="M1", kind=StationKind.MUSTER)


@pytest.fixture
def inside(make_driver, stations, caseta):
    """Three drivers who entered at the entry gate: inside when a roll call starts."""
    drivers = [make_driver(phone="555 123 4567") for _ in range(3)]
    for d in drivers:
        record_scan(code=d.badge_code, station=stations["entry"], operator=caseta)
    return drivers
