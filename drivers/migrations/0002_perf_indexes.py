# Indexes only (issue 7, benchmarks at 2 000 000 movements): the (station, -at) indexes
# become (station, -at, -id), so that "the last scan of this station", ordered by
# (at DESC, id DESC) LIMIT 1 for a stable tie-break, is one index probe on SQLite and
# PostgreSQL alike, and the history's station filter reads its page straight from it.
# Two partial indexes serve the history's rare audit filters (annulled, forced only).

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("drivers", "0001_initial"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="movement",
            name="drivers_movement_station_idx",
        ),
        migrations.RemoveIndex(
            model_name="refusedscan",
            name="drivers_refused_station_idx",
        ),
        migrations.AddIndex(
            model_name="movement",
            index=models.Index(fields=["station", "-at", "-id"], name="drivers_move_station_at_idx"),
        ),
        migrations.AddIndex(
            model_name="refusedscan",
            index=models.Index(fields=["station", "-at", "-id"], name="drivers_refused_station_at_idx"),
        ),
        migrations.AddIndex(
            model_name="movement",
            index=models.Index(
                condition=models.Q(("annulled_at__isnull", False)),
                fields=["-at", "-id"],
                name="drivers_move_annulled_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="movement",
            index=models.Index(
                condition=models.Q(("forced", True)), fields=["-at", "-id"], name="drivers_move_forced_idx"
            ),
        ),
    ]
