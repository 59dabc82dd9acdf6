"""Import drivers from the plant's spreadsheet (CSV or XLSX).

    manage.py import_drivers drivers.xlsx --dry-run     # report only, nothing written
    manage.py import_drivers drivers.csv                # write, in one transaction

Columns are found by their header in any order, in Spanish or English, ignoring case,
accents and spaces: nombre/full_name, licencia/license_number, empresa/company (required),
telefono/phone, placa/plate, notas/notes. Rows are matched by licence number: existing
drivers are updated, new ones created, invalid rows refused with their row number and
reason. Running the same file twice changes nothing the second time. The last line of
the output is a one-line summary; the exit status is 1 when the file cannot be read.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from drivers.importing import Action, ImportFileError, import_drivers


class Command(BaseCommand):
    help = "Import drivers from a CSV or XLSX file (idempotent by licence number); --dry-run writes nothing."

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV (UTF-8 or Latin-1, comma or semicolon) or XLSX file.")
        parser.add_argument("--dry-run", action="store_true", help="Report what would change; write nothing.")
        parser.add_argument("--quiet-rows", action="store_true", help="Only print refused rows and the summary.")

    def handle(self, *args, **options):
        path = Path(options["file"])
        try:
            data = path.read_bytes()
        except OSError as error:
            raise CommandError(f"Cannot read {path}: {error.strerror}") from None
        try:
            report = import_drivers(data, filename=path.name, dry_run=options["dry_run"])
        except ImportFileError as error:
            raise CommandError(str(error)) from None

        labels = {
            Action.CREATE: "create",
            Action.UPDATE: "update",
            Action.UNCHANGED: "unchanged",
            Action.REFUSE: "REFUSED",
        }
        for row in report.rows:
            if options["quiet_rows"] and row.action != Action.REFUSE:
                continue
            if options["verbosity"] < 2 and row.action == Action.UNCHANGED:
                continue
            line = f"row {row.row}: {labels[row.action]} {row.license_number} {row.full_name}".rstrip()
            if row.reason:
                line += f" — {row.reason}"
            self.stdout.write(self.style.ERROR(line) if row.action == Action.REFUSE else line)
        self.stdout.write(self.style.SUCCESS(report.summary()) if not report.refused else report.summary())
