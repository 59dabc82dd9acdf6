"""Reads that span models. Live screens cost O(drivers inside), never O(history)."""

from django.db.models import QuerySet

from .models import Visit


def inside_now() -> QuerySet[Visit]:
    """Open visits, oldest entry first, with driver and stations (partial index on open visits)."""
    return (
        Visit.objects.filter(left_at__isnull=True)
        .select_related("driver", "entry_station", "last_station")
        .order_by("entered_at")
    )
