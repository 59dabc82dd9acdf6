"""Hot ORM queries compiled once per process, then run with new values.

Building and compiling a Django query costs far more CPU than running it: a scan's
state query, with its twenty subqueries, took about half of a scan's CPU while its SQL
ran in well under a millisecond. `PreparedQuery(build)` keeps the ORM query as the one
definition (`build(**values)` returns the queryset) and compiles it once per *shape*:

- the SQL text may depend only on the shape: the `shape` tuple the caller gives, the
  `fixed` arguments it describes, and which values are None or flags (those are added to
  the shape automatically, since they choose `IS NULL` or a branch);
- every other value must end up as a parameter.

The first call of a shape builds the query twice with two sets of stand-in values and
keeps the SQL and the parameter positions that differ between the two, each traced to
the value it came from. Later calls copy the parameters, put the adapted real values in
those positions, run the SQL through Django's cursor (so it is counted, logged and
wrapped as any query) and turn the rows into what the queryset would have returned
(model instances, dicts, tuples or flat values) with the ORM's own converters. A
parameter that changes with the values but cannot be traced to one of them (the ORM
transformed it), or SQL that differs between the two stand-ins, makes that shape fall
back to the ORM for good: slower, never wrong.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from datetime import timezone as dt_timezone

from django.db import connections
from django.db.models.query import FlatValuesListIterable, ModelIterable, ValuesIterable, ValuesListIterable

log = logging.getLogger(__name__)


class PreparedQuery:
    def __init__(self, build, using: str = "default"):
        self.build = build
        self.using = using
        self._prepared = {}

    def fetch(self, shape: tuple = (), *, fixed: dict | None = None, **values) -> list:
        """What list(build(**fixed, **values)) would give."""
        fixed = fixed or {}
        connection = connections[self.using]
        # A None or a flag chooses SQL (IS NULL, a branch), so it is part of the shape.
        kinds = tuple(v if v is None or isinstance(v, bool) else type(v).__name__ for v in values.values())
        key = (connection.vendor, shape, tuple(values), kinds)
        prepared = self._prepared.get(key)
        if prepared is None:
            prepared = self._prepared[key] = _Prepared.make(self.build, connection, fixed, values)
            if prepared is False:
                log.warning("%s: shape %r is built by the ORM on every call", self.build.__qualname__, key)
        if prepared is False:
            return list(self.build(**fixed, **values))
        return prepared.run(connection, values)

    def first(self, shape: tuple = (), *, fixed: dict | None = None, **values):
        """The first result, or None (build should limit itself to one row: [:1])."""
        found = self.fetch(shape, fixed=fixed, **values)
        return found[0] if found else None

    def get(self, shape: tuple = (), *, fixed: dict | None = None, **values):
        """The one result; the model's DoesNotExist or MultipleObjectsReturned otherwise."""
        found = self.fetch(shape, fixed=fixed, **values)
        if len(found) == 1:
            return found[0]
        model = self.build(**fixed or {}, **values).model  # only on this rare path
        error = model.DoesNotExist if not found else model.MultipleObjectsReturned
        raise error(f"{model.__name__}: {len(found)} rows")


class _Prepared:
    def __init__(self, sql, params, slots, compiler, queryset):
        self.sql, self.params, self.slots, self.compiler = sql, params, slots, compiler
        self.model = queryset.model
        self.iterable = queryset._iterable_class
        query = compiler.query
        self.names = [*query.extra_select, *query.values_select, *query.annotation_select]
        fields = [s[0] for s in compiler.select[0 : compiler.col_count]]
        self.converters = compiler.get_converters(fields)
        self.order = None
        if self.iterable is ValuesListIterable and queryset._fields:
            fields = [*queryset._fields, *(f for f in query.annotation_select if f not in queryset._fields)]
            if fields != self.names:
                self.order = [self.names.index(f) for f in fields]

    @classmethod
    def make(cls, build, connection, fixed: dict, values: dict):
        stand_ins = [{name: _stand_in(value, n, i) for i, (name, value) in enumerate(values.items())}
                     for n in (1, 2)]
        compiled = []
        for stand_in in stand_ins:
            queryset = build(**fixed, **stand_in)
            if queryset._iterable_class not in (ModelIterable, ValuesIterable, ValuesListIterable,
                                                FlatValuesListIterable) or queryset._prefetch_related_lookups:
                return False
            compiler = queryset.query.get_compiler(connection=connection)
            compiled.append((*compiler.as_sql(), compiler, queryset))
        (sql, params, compiler, queryset), (other_sql, other_params, _c, _q) = compiled
        if sql != other_sql or len(params) != len(other_params):
            return False
        if queryset._iterable_class is ModelIterable and compiler.klass_info.get("related_klass_infos"):
            return False  # select_related: not rebuilt here
        traced = [{_key(_adapt(connection, v)): name for name, v in s.items() if v is not None and not isinstance(v, bool)}
                  for s in stand_ins]
        slots = []
        for position, (first, second) in enumerate(zip(params, other_params)):
            if first == second and type(first) is type(second):
                continue
            name = traced[0].get(_key(first))
            if name is None or traced[1].get(_key(second)) != name:
                return False
            slots.append((position, name))
        return cls(sql, tuple(params), slots, compiler, queryset)

    def run(self, connection, values: dict) -> list:
        params = list(self.params)
        for position, name in self.slots:
            params[position] = _adapt(connection, values[name])
        with connection.cursor() as cursor:
            cursor.execute(self.sql, params)
            rows = cursor.fetchall()
        if not rows:
            return []
        if self.converters:
            rows = list(self.compiler.apply_converters(rows, self.converters))
        if self.iterable is ModelIterable:
            return [self._instance(connection, row) for row in rows]
        if self.iterable is ValuesIterable:
            return [dict(zip(self.names, row)) for row in rows]
        if self.iterable is FlatValuesListIterable:
            return [row[0] for row in rows]
        if self.order:
            return [tuple(row[i] for i in self.order) for row in rows]
        return [tuple(row) for row in rows]

    def _instance(self, connection, row):
        compiler = self.compiler
        select_fields = compiler.klass_info["select_fields"]
        start, end = select_fields[0], select_fields[-1] + 1
        names = [f[0].target.attname for f in compiler.select[start:end]]
        obj = self.model.from_db(connection.alias, names, row[start:end])
        for name, position in compiler.annotation_col_map.items():
            setattr(obj, name, row[position])
        return obj


# Stand-ins no real value equals: far in the past, far negative ids, marked text.
_STAND_IN_DAY = datetime(1901, 1, 1, tzinfo=dt_timezone.utc)


def _stand_in(value, n: int, i: int):
    """The n-th stand-in (1 or 2) for the i-th value: distinct for every (n, i)."""
    if value is None or isinstance(value, bool):
        return value  # part of the shape, not a parameter
    if isinstance(value, datetime):
        return _STAND_IN_DAY + timedelta(days=n, microseconds=i + 1)
    if isinstance(value, date):
        return (_STAND_IN_DAY + timedelta(days=100 * n + i)).date()
    if isinstance(value, int):
        return -(8 * 10**18) - n * 1000 - i
    if isinstance(value, str):
        return f"\x01stand-in-{n}-{i}"
    raise TypeError(f"PreparedQuery cannot stand in for a {type(value).__name__}")


def _adapt(connection, value):
    if isinstance(value, datetime):
        return connection.ops.adapt_datetimefield_value(value)
    if isinstance(value, date):
        return connection.ops.adapt_datefield_value(value)
    return value


def _key(value):
    return (type(value).__name__, value)
