"""The history table: rows are dicts from selectors.history_rows (movements and refused
scans in one UNION), so rendering a page never runs a query per row."""

import django_tables2 as tables
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .exports import tag_list
from .models import Direction, ScanReason, Source

DIRECTION_LABELS = dict(Direction.choices)
REASON_LABELS = dict(ScanReason.choices)
SOURCE_LABELS = dict(Source.choices)


def local_time(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S") if value else ""


def result_of(row) -> tuple[str, str]:
    """(css level, label) of a history row."""
    if row["kind"] == "refused":
        return "refused", str(REASON_LABELS.get(row["reason"], row["reason"]))
    if row["annulled_at"]:
        return "annulled", str(_("Annulled"))
    if row["forced"]:
        return "warning", str(_("Forced"))
    return "ok", str(_("Accepted"))


class HistoryTable(tables.Table):
    # Only the time is sortable: it is the one order an index serves on both sides of the
    # history. Sorting millions of rows by driver, station or operator name took seconds
    # (bench/RESULTS.md); a `?sort=` on another column is ignored (newest first).
    at = tables.Column(verbose_name=_("Time"), order_by=("at", "id"))
    result = tables.Column(verbose_name=_("Result"), accessor="kind", orderable=False)
    direction = tables.Column(verbose_name=_("Direction"), orderable=False)
    driver_name = tables.Column(verbose_name=_("Driver"), orderable=False)
    station_code = tables.Column(verbose_name=_("Station"), orderable=False)
    operator_name = tables.Column(verbose_name=_("Operator"), orderable=False)
    note = tables.Column(verbose_name=_("Detail"), orderable=False, empty_values=())

    class Meta:
        template_name = "drivers/_history_table.html"
        attrs = {"class": "data history", "id": "history-table"}
        row_attrs = {
            "class": lambda record: f"row-{result_of(record)[0]}",
            "data-kind": lambda record: record["kind"],
        }
        empty_text = _("No movement or refused scan matches these filters.")
        orderable = True

    def render_at(self, value, record):
        # A late movement (sent from an offline booth, or a claimed time not believed)
        # shows when it reached the server beside when it was scanned.
        if not record.get("is_late"):
            return local_time(value)
        return format_html(
            '{}<br><span class="badge-pill pill-late">{}</span> <span class="muted small">{}</span>',
            local_time(value), _("Late"), _("recorded %(time)s") % {"time": local_time(record["recorded_at"])},
        )

    def render_result(self, record):
        level, label = result_of(record)
        pill = {
            "ok": "pill-in", "warning": "pill-warning", "refused": "pill-refused", "annulled": "pill-muted"
        }[level]
        return format_html('<span class="badge-pill {}">{}</span>', pill, label)

    def render_direction(self, value):
        pill = {"in": "pill-in", "out": "pill-out", "pass": "pill-pass"}.get(value, "")
        return format_html('<span class="badge-pill {}">{}</span>', pill, DIRECTION_LABELS.get(value, value))

    def render_driver_name(self, record):
        return format_html(
            '<a href="?driver={}">{}</a><br><span class="muted small">{} · {}</span>',
            record["driver_license"] or "", record["driver_name"], record["driver_company"] or "",
            " + ".join(filter(None, [record["plate"] or "", tag_list(record.get("trailers"))])),
        )

    def render_station_code(self, record):
        if not record["station_code"]:
            return SOURCE_LABELS.get(record["source"], "")
        return format_html('<span title="{}">{}</span>', record["station_name"], record["station_code"])

    def render_note(self, record):
        text = record["note"] or ""
        if record["kind"] == "refused" and record["raw_input"] and not record["driver_name"]:
            text = f"{text} «{record['raw_input']}»".strip()
        return text
