"""The shared cache's table (CACHES, DatabaseCache), created by `migrate`.

`createcachetable` is a step outside migrations: an upgrade, a restore into a new database
or a person following Django's usual steps skipped it, and the dashboard then answered 500
(`no such table: qrgate_cache`). This migration runs that command's own table builder for
every database cache in the settings; it does nothing when the table is already there (a
database made by an older version that ran createcachetable).
"""

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.db import BaseDatabaseCache
from django.core.management.commands.createcachetable import Command as CreateCacheTable
from django.db import migrations


def _tables():
    return sorted({
        caches[alias]._table for alias in settings.CACHES if isinstance(caches[alias], BaseDatabaseCache)
    })


def create_cache_tables(apps, schema_editor):
    builder = CreateCacheTable()
    builder.verbosity = 0
    for table in _tables():
        builder.create_table(schema_editor.connection.alias, table, dry_run=False)


def drop_cache_tables(apps, schema_editor):
    existing = schema_editor.connection.introspection.table_names()
    for table in _tables():
        if table in existing:
            schema_editor.execute(f"DROP TABLE {schema_editor.quote_name(table)}")


class Migration(migrations.Migration):
    dependencies = []

    operations = [migrations.RunPython(create_cache_tables, drop_cache_tables)]
