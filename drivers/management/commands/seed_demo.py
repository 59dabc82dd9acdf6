"""Load a realistic demo plant, fast: `manage.py seed_demo --drivers 200 --movements 20000 --days 30`.

What it makes: stations of every kind (entry, exit, two-way gate, checkpoints, a self
check-in kiosk), one booth operator per station and a supervisor (unusable passwords:
set one in the admin to log in as them), drivers of several carriers with Mexican names,
plates and licences, bans (in force, temporary, lifted), reissued badges, and exactly
`--movements` movements spread over the last `--days` days, with their Visits and refused
scans (banned, unknown, invalid, revoked, already inside, not inside).

The history obeys the rules record_scan enforces, so the screens and the scan behave as in
a real plant: each driver alternates entry → checkpoint passes → exit, never two entries
in a row, passes only while inside, no movement while a ban is in force, and the last
visit of a few hundred drivers (`--inside`) is still open: they are inside now, some over
the allowed stay.

Rows are written in bulk, not through the scan path. Stations, users, drivers, bans and
revoked badges go through bulk_create (each driver checked by the registration rules
first, Driver.check_rules); visits, movements and refused scans (millions of
them) go as plain tuples through executemany (SQLite) or COPY (PostgreSQL), in batches,
because building two million model instances for bulk_create costs more than the insert
itself. One transaction: either the whole plant is there or nothing is.

It refuses to run when drivers or movements exist; `--reset` first deletes every driver
with its whole history (visits, movements, refused scans, bans, revoked badges): for demo
and benchmark databases only. Stations and users of the same codes and names are reused.
"""

import random
import time
from datetime import UTC, datetime, timedelta

from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.core.management.color import no_style
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Role
from drivers.models import (
    Ban,
    Direction,
    Driver,
    DriverDocument,
    Movement,
    RefusedScan,
    RevokedBadge,
    ScanReason,
    Source,
    Visit,
    new_badge_code,
)
from stations.models import Station, StationKind

STATIONS = [
    # code, name, kind, self check-in
    ("E1", "Entrada principal", StationKind.ENTRY, False),
    ("E2", "Entrada de proveedores", StationKind.ENTRY, False),
    ("G1", "Puerta norte", StationKind.GATE, False),
    ("C1", "Báscula de entrada", StationKind.CHECKPOINT, False),
    ("C2", "Andén de carga", StationKind.CHECKPOINT, False),
    ("C3", "Báscula de salida", StationKind.CHECKPOINT, False),
    ("K1", "Caseta de autoservicio", StationKind.CHECKPOINT, True),
    ("S1", "Salida principal", StationKind.EXIT, False),
    ("M1", "Punto de reunión norte", StationKind.MUSTER, False),
    ("M2", "Punto de reunión sur", StationKind.MUSTER, False),
]

FIRST_NAMES = (
    "José Juan Luis Carlos Jesús Miguel Francisco Pedro Alejandro Manuel Ricardo Roberto "
    "Fernando Jorge Antonio Eduardo Javier Raúl Sergio Arturo Héctor Rafael Martín Armando "
    "Alberto Gerardo Enrique Salvador Rubén Ignacio Guadalupe María Ana Rosa Verónica Patricia"
).split()
SURNAMES = (
    "Hernández García Martínez López González Pérez Rodríguez Sánchez Ramírez Cruz Flores "
    "Gómez Morales Vázquez Reyes Jiménez Torres Díaz Gutiérrez Ruiz Mendoza Aguilar Ortiz "
    "Moreno Castillo Romero Álvarez Méndez Chávez Rivera Juárez Ramos Domínguez Herrera "
    "Medina Castro Vargas Guzmán Velázquez Rojas Contreras Salazar Luna Ortega Santiago "
    "Guerrero Estrada Bautista Cortés Soto Alvarado Espinoza Lara Ávila Ríos Cervantes"
).split()
COMPANIES = [
    "Transportes del Norte",
    "Fletes Ramírez",
    "Autotransportes del Bajío",
    "Logística Occidente",
    "Carga Pesada de Jalisco",
    "Transportes Sierra Madre",
    "Fletes y Mudanzas Aguilar",
    "Autolíneas del Golfo",
    "Transportes Hermanos Vázquez",
    "Express Querétaro",
]
STATES = ["JAL", "NL", "GTO", "QRO", "SLP", "MEX", "CDMX", "COAH", "SON", "VER", "PUE", "MICH"]
BAN_REASONS = [
    "Exceso de velocidad dentro de la planta.",
    "Documentación de la carga alterada.",
    "Agresión verbal al personal de caseta.",
    "Ingreso con aliento alcohólico.",
    "No respetó el protocolo de seguridad en andén.",
]
FORCE_REASONS = [
    "Lector de la caseta sin conexión; salida anotada en bitácora.",
    "El chofer salió por la puerta de emergencia.",
]
GARBAGE = ["HOLA", "12345", "http://ejemplo.com/qr", "WIFI:S:planta;T:WPA;;", "ABC-123", "?", "00000000"]

PASSES = (0, 0, 1, 1, 1, 2, 2, 3)  # checkpoint passes per visit, weighted
HOUR = 3600.0
IN, OUT, PASS = Direction.IN.value, Direction.OUT.value, Direction.PASS.value
BATCH = 20_000


class BulkWriter:
    """Buffers rows of one model as tuples and writes them in batches (COPY on PostgreSQL)."""

    def __init__(self, model, fields):
        self.table = model._meta.db_table
        self.columns = [model._meta.get_field(name).column for name in fields]
        self.rows = []
        self.count = 0
        self.postgres = connection.vendor == "postgresql"

    def add(self, row):
        self.rows.append(row)
        if len(self.rows) >= BATCH:
            self.flush()

    def flush(self):
        if not self.rows:
            return
        qn = connection.ops.quote_name
        columns = ", ".join(qn(c) for c in self.columns)
        with connection.cursor() as cursor:
            if self.postgres:
                with cursor.cursor.copy(f"COPY {qn(self.table)} ({columns}) FROM STDIN") as copy:
                    for row in self.rows:
                        copy.write_row(row)
            else:
                marks = ", ".join(["%s"] * len(self.columns))
                cursor.executemany(f"INSERT INTO {qn(self.table)} ({columns}) VALUES ({marks})", self.rows)
        self.count += len(self.rows)
        self.rows = []


class Command(BaseCommand):
    help = "Load a realistic demo plant (stations, drivers, bans, visits, movements, refused scans), fast."

    def add_arguments(self, parser):
        parser.add_argument("--drivers", type=int, default=200)
        parser.add_argument("--movements", type=int, default=20_000)
        parser.add_argument("--days", type=int, default=30)
        parser.add_argument("--inside", type=int, default=None,
                            help="Drivers inside now (default: min(300, drivers // 2)).")
        parser.add_argument("--seed", type=int, default=7, help="Random seed: the same plant every time.")
        parser.add_argument("--reset", action="store_true",
                            help="Delete every driver and his whole history first.")
        parser.add_argument("--dry-run", action="store_true", help="Say what would be made; write nothing.")

    def handle(self, *args, drivers, movements, days, inside, seed, reset, dry_run, **options):
        if drivers < 1 or movements < 0 or days < 1:
            raise CommandError("Use --drivers ≥ 1, --movements ≥ 0 and --days ≥ 1.")
        inside = min(300, drivers // 2) if inside is None else max(0, min(inside, drivers))
        existing = (Driver.objects.count(), Movement.objects.count())
        if any(existing) and not reset:
            raise CommandError(
                f"The database already holds {existing[0]} drivers and {existing[1]} movements; "
                "use --reset to replace them (it deletes every driver and his history)."
            )
        if dry_run:
            self.stdout.write(
                f"Would make {len(STATIONS)} stations, {drivers} drivers ({inside} inside now) and "
                f"{movements} movements over {days} days"
                + (f", after deleting {existing[0]} drivers and {existing[1]} movements." if any(existing) else ".")
            )
            return
        started = time.monotonic()
        with transaction.atomic():
            if reset:
                self._delete_all()
            stats = Plant(random.Random(seed), drivers, movements, days, inside).build()
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # fresh statistics, or the planner guesses on a million rows
        self.stdout.write(
            f"Demo plant: {stats['stations']} stations, {stats['drivers']} drivers "
            f"({stats['banned']} banned, {stats['inside']} inside now), {stats['visits']} visits, "
            f"{stats['movements']} movements, {stats['refused']} refused scans over {days} days "
            f"in {time.monotonic() - started:.1f} s."
        )

    def _delete_all(self):
        models = _with_dependents([Movement, RefusedScan, Visit, Ban, RevokedBadge, DriverDocument, Driver])
        qn = connection.ops.quote_name
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # TRUNCATE refuses to run over deferred foreign-key checks still pending in
                # this transaction (a caller's earlier writes): run them now.
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                cursor.execute("TRUNCATE " + ", ".join(qn(m._meta.db_table) for m in models))
                # Back to Django's deferred checks: movements are written before their visits.
                cursor.execute("SET CONSTRAINTS ALL DEFERRED")
            else:
                # Raw deletes: the ORM would fetch millions of rows to cascade them one by one.
                for model in models:
                    cursor.execute(f"DELETE FROM {qn(model._meta.db_table)}")


def _with_dependents(models: list) -> list:
    """The models plus every installed model that points at them (a roll call's marks,
    say), those first: the reset leaves no row referring to a deleted driver, and this
    app need not know the apps built on it."""
    ordered = list(models)
    added = True
    while added:
        added = False
        for model in apps.get_models():
            if model in ordered:
                continue
            if any(f.is_relation and f.related_model in ordered for f in model._meta.concrete_fields):
                ordered.insert(0, model)
                added = True
    return ordered


class Plant:
    """Generates the plant driver by driver, in epoch seconds, and streams the rows out."""

    def __init__(self, rng: random.Random, n_drivers: int, n_movements: int, days: int, n_inside: int):
        self.rng = rng
        self.n_drivers = n_drivers
        self.n_movements = n_movements
        self.n_inside = n_inside
        self.now = timezone.now().timestamp()
        self.start = self.now - days * 86400
        self.end = self.now - 120
        self.postgres = connection.vendor == "postgresql"
        self.epoch = datetime(1970, 1, 1, tzinfo=UTC if self.postgres else None)

    def dt(self, seconds: float):
        """A datetime the backend stores as is: aware for COPY, naive UTC text for SQLite."""
        value = self.epoch + timedelta(seconds=seconds)
        return value if self.postgres else str(value)

    def build(self) -> dict:
        rng = self.rng
        self._stations_and_users()
        drivers = self._drivers()
        ids = [d.pk for d in drivers]
        order = ids[:]
        rng.shuffle(order)
        n_banned = max(1, len(ids) // 40) if len(ids) >= 10 else 0
        banned_now = set(order[:n_banned])
        lifted = set(order[n_banned:n_banned * 2])
        reissued = set(order[n_banned * 2:n_banned * 3])
        inside = set(order[n_banned:n_banned + self.n_inside])

        self.visits = BulkWriter(Visit, ["id", "driver", "entered_at", "left_at", "entry_station",
                                         "exit_station", "last_station", "last_seen_at", "plate",
                                         "trailers", "seals", "exit_seals"])
        self.movements = BulkWriter(Movement, [
            "driver", "station", "direction", "at", "recorded_at", "is_late", "operator", "source",
            "forced", "force_reason", "nonce", "visit", "plate", "annulled_at", "annulled_by",
            "annul_reason"])
        self.refused = BulkWriter(RefusedScan, ["raw_input", "reason", "detail", "station", "operator",
                                                "driver", "direction", "source", "at", "nonce"])
        self.next_visit_id = (Visit.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
        bans, revoked = [], []
        per_driver, extra = divmod(self.n_movements, len(drivers))
        carry = 0
        for i, driver in enumerate(drivers):
            quota = per_driver + (i < extra) + carry
            spans, carry = self._driver_history(driver, quota, driver.pk in inside)
            if driver.pk in banned_now:
                last = spans[-1][1] if spans else self.start
                at = rng.uniform(last, self.end)
                # Some bans are temporary: they end in a few weeks.
                until = self.now + rng.uniform(5, 60) * 86400 if rng.random() < 0.3 else None
                bans.append(self._ban(driver, at, until))
                for _ in range(rng.randint(1, 3)):
                    self._refuse(ScanReason.BANNED, rng.uniform(at, self.end), driver=driver,
                                 detail=bans[-1].reason, direction=Direction.IN)
            elif driver.pk in lifted and len(spans) >= 2:
                k = rng.randrange(len(spans) - 1)
                gap_start, gap_end = spans[k][1], spans[k + 1][0]
                at = gap_start + 0.2 * (gap_end - gap_start)
                ban = self._ban(driver, at, None)
                ban.lifted_at = self.aware(gap_start + 0.8 * (gap_end - gap_start))
                ban.lifted_by = self.supervisor
                bans.append(ban)
                self._refuse(ScanReason.BANNED, gap_start + 0.5 * (gap_end - gap_start), driver=driver,
                             detail=ban.reason, direction=Direction.IN)
            if driver.pk in reissued:
                revoked_at = rng.uniform(self.start, self.end)
                revoked.append(RevokedBadge(code=new_badge_code(), driver=driver,
                                            issued_at=self.aware(revoked_at - 400 * 86400),
                                            revoked_at=self.aware(revoked_at), revoked_by=self.supervisor))
                driver.badge_issued_at = self.aware(revoked_at)
                self._refuse(ScanReason.REVOKED, rng.uniform(revoked_at, self.end), driver=driver,
                             raw=revoked[-1].code)
        Ban.objects.bulk_create(bans, batch_size=1000)
        RevokedBadge.objects.bulk_create(revoked, batch_size=1000)
        Driver.objects.bulk_update([d for d in drivers if d.pk in reissued], ["badge_issued_at"], batch_size=500)
        for _ in range(max(10, self.n_movements // 400)):
            kind = rng.random()
            at = rng.uniform(self.start, self.end)
            if kind < 0.5:
                self._refuse(ScanReason.UNKNOWN, at, raw=new_badge_code())
            else:
                self._refuse(ScanReason.INVALID, at, raw=rng.choice(GARBAGE))
        for writer in (self.visits, self.movements, self.refused):
            writer.flush()
        if self.postgres:
            # Visits were given explicit ids: move the sequence past them.
            with connection.cursor() as cursor:
                for sql in connection.ops.sequence_reset_sql(no_style(), [Visit]):
                    cursor.execute(sql)
        return {
            "stations": len(self.stations),
            "drivers": len(drivers),
            "banned": len(banned_now),
            "inside": Visit.objects.filter(left_at__isnull=True).count(),
            "visits": self.visits.count,
            "movements": self.movements.count,
            "refused": self.refused.count,
        }

    def aware(self, seconds: float) -> datetime:
        return datetime.fromtimestamp(seconds, UTC)

    def _stations_and_users(self):
        self.stations = []
        for order, (code, name, kind, self_check_in) in enumerate(STATIONS):
            station, _ = Station.objects.get_or_create(
                code=code, defaults={"name": name, "kind": kind, "sort_order": order,
                                     "self_check_in": self_check_in})
            self.stations.append(station)
        by_kind = {}
        for station in self.stations:
            by_kind.setdefault(station.kind, []).append(station)
        gates = by_kind.get(StationKind.GATE, [])
        self.entry_stations = by_kind.get(StationKind.ENTRY, []) + gates
        self.exit_stations = by_kind.get(StationKind.EXIT, []) + gates
        self.checkpoints = by_kind.get(StationKind.CHECKPOINT, [])
        # Anti-passback refusals happen at one-way gates (a two-way gate picks the direction).
        self.entry_only = by_kind.get(StationKind.ENTRY) or self.entry_stations
        self.exit_only = by_kind.get(StationKind.EXIT) or self.exit_stations
        User = get_user_model()
        booth = Group.objects.get(name=Role.BOOTH)
        self.operator = {}
        for station in self.stations:
            if station.kind == StationKind.MUSTER:
                continue  # marshals scan there with their own accounts, no booth
            user, created = User.objects.get_or_create(
                username=f"caseta.{station.code.lower()}",
                defaults={"first_name": "Caseta", "last_name": station.name, "default_station": station})
            if created:
                user.set_unusable_password()
                user.save(update_fields=["password"])
                user.groups.add(booth)
            self.operator[station.pk] = None if station.self_check_in else user.pk
        self.supervisor, created = User.objects.get_or_create(
            username="supervisor.demo", defaults={"first_name": "Supervisora", "last_name": "Demo"})
        if created:
            self.supervisor.set_unusable_password()
            self.supervisor.save(update_fields=["password"])
            self.supervisor.groups.add(Group.objects.get(name=Role.SUPERVISOR))

    def _drivers(self) -> list[Driver]:
        rng = self.rng
        base = Driver.objects.count()
        drivers = []
        for n in range(base + 1, base + self.n_drivers + 1):
            first = rng.choice(FIRST_NAMES)
            if rng.random() < 0.3:
                first += " " + rng.choice(FIRST_NAMES)
            letters = "".join(rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(2))
            drivers.append(Driver(
                full_name=f"{first} {rng.choice(SURNAMES)} {rng.choice(SURNAMES)}",
                license_number=f"{rng.choice(STATES)}-{n:08d}",
                company=rng.choice(COMPANIES),
                phone=f"33{rng.randrange(10**8):08d}",
                plate=f"{rng.randrange(100):02d}-{letters}-{rng.randrange(10)}{rng.choice('ABCDEFGHJKLMNPRSTUVWXYZ')}",
                badge_issued_at=self.aware(self.start - rng.uniform(0, 300) * 86400),
                created_by=self.supervisor,
            ))
        for driver in drivers:
            # The registration rules and normalizing without a query per driver (licences
            # are unique by construction; the database's constraints stay the last guard).
            driver.check_rules()
        # Ids come back on SQLite ≥ 3.35 and PostgreSQL; fetch them otherwise.
        created = Driver.objects.bulk_create(drivers, batch_size=1000)
        if created and created[0].pk is None:
            created = list(Driver.objects.order_by("id")[base:])
        return created

    def _driver_history(self, driver: Driver, quota: int, inside: bool):
        """Write one driver's visits and movements; returns their (entered, left) spans and unused quota."""
        rng = self.rng
        open_size = 0
        closed_end = self.end
        if inside and quota >= 1:
            open_size = min(quota, 1 + rng.choice(PASSES[:6]))
            quota -= open_size
            # Some entered more than OVERSTAY_HOURS ago: the active list must highlight them.
            open_entry = self.now - rng.uniform(0.2, 10) * HOUR
            closed_end = open_entry - 1800
        sizes = []
        while quota >= 2:
            size = min(quota, 2 + rng.choice(PASSES))
            if quota - size == 1:
                size += 1
            sizes.append(size)
            quota -= size
        spans = []
        if sizes:
            slot = (closed_end - self.start) / len(sizes)
            for k, size in enumerate(sizes):
                slot_start = self.start + k * slot
                duration = min(rng.uniform(0.5, 6) * HOUR, 0.6 * slot)
                entered = slot_start + rng.uniform(0, 0.3) * slot
                spans.append((entered, entered + duration))
                self._visit(driver, entered, size - 2, entered + duration)
                if rng.random() < 0.03:
                    # A second entry scan while inside, refused by anti-passback.
                    self._refuse(ScanReason.ALREADY_INSIDE, entered + duration / 2, driver=driver,
                                 station=rng.choice(self.entry_only), direction=Direction.IN)
                elif rng.random() < 0.03 and k + 1 < len(sizes):
                    self._refuse(ScanReason.NOT_INSIDE, entered + duration + 0.1 * slot, driver=driver,
                                 station=rng.choice(self.exit_only), direction=Direction.OUT)
        if open_size:
            spans.append((open_entry, None))
            self._visit(driver, open_entry, open_size - 1, None)
        return spans, quota

    def _visit(self, driver: Driver, entered: float, passes: int, left: float | None):
        """One visit: entry, `passes` checkpoint passes, and the exit unless still inside."""
        rng = self.rng
        visit_id = self.next_visit_id
        self.next_visit_id += 1
        entry = rng.choice(self.entry_stations)
        until = left if left is not None else self.now - 60
        points = sorted(rng.uniform(entered + 60, max(entered + 61, until - 60)) for _ in range(passes))
        stations = rng.sample(self.checkpoints, passes) if passes <= len(self.checkpoints) else [
            rng.choice(self.checkpoints) for _ in range(passes)]
        rows = [(entry, IN, entered)] + [
            (station, PASS, at) for station, at in zip(stations, points)]
        exit_station = None
        manual = False
        if left is not None:
            exit_station = rng.choice(self.exit_stations)
            manual = rng.random() < 0.002
            rows.append((None if manual else exit_station, OUT, left))
        last_station, last_seen = rows[-1][0] or rows[-2][0], rows[-1][2]
        self.visits.add((
            visit_id, driver.pk, self.dt(entered), None if left is None else self.dt(left), entry.pk,
            None if exit_station is None or manual else exit_station.pk, last_station.pk,
            self.dt(last_seen), driver.plate, "[]", "[]", "[]"))
        for station, direction, at in rows:
            late = rng.random() < 0.003
            stamp = self.dt(at)
            if station is None:
                operator, source, forced, reason = self.supervisor.pk, Source.MANUAL.value, True, rng.choice(FORCE_REASONS)
            else:
                operator = self.operator[station.pk]
                source = (Source.SELF if station.self_check_in else Source.SCAN).value
                forced, reason = False, ""
            self.movements.add((
                driver.pk, None if station is None else station.pk, direction, stamp,
                self.dt(at + rng.uniform(120, 3600)) if late else stamp, late, operator, source,
                forced, reason, None, visit_id, driver.plate, None, None, ""))

    def _ban(self, driver: Driver, at: float, until: float | None) -> Ban:
        return Ban(driver=driver, reason=self.rng.choice(BAN_REASONS), banned_at=self.aware(at),
                   banned_by=self.supervisor, until=None if until is None else self.aware(until))

    def _refuse(self, reason, at: float, *, driver=None, station=None, detail="", direction="", raw=None):
        station = station or self.rng.choice(self.entry_stations)
        self.refused.add((
            (raw if raw is not None else driver.badge_code)[:64], str(reason), detail[:200], station.pk,
            self.operator[station.pk], None if driver is None else driver.pk, str(direction or ""),
            Source.SCAN.value, self.dt(at), None))
