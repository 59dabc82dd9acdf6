"""The history: movements and refused scans in one filterable table, and its exports."""

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET
from django_tables2 import RequestConfig
from django_tables2.paginators import LazyPaginator

from accounts.decorators import permission_required

from .. import exports, selectors
from ..filters import history_querysets
from ..tables import HistoryTable

PER_PAGE = 50
# OFFSET pagination reads every skipped row again (on each side of the history), so a
# page costs more the deeper it is: paging stops after MAX_PAGES pages (5 000 rows).
# Older rows are reached by narrowing the dates, or all at once by the export.
MAX_PAGES = 100
MAX_PER_PAGE = 200


class HistoryPaginator(LazyPaginator):
    """LazyPaginator (one row past the page instead of a count), capped at MAX_PAGES."""

    max_pages = MAX_PAGES
    truncated = False  # True when rows exist past the last page one may open

    def __init__(self, object_list, per_page, *args, **kwargs):
        # ?per_page= comes from the address bar: keep it to a page a screen can show (a
        # 40-digit value would overflow the database's LIMIT).
        super().__init__(object_list, max(1, min(int(per_page), MAX_PER_PAGE)), *args, **kwargs)

    def validate_number(self, number):
        return min(super().validate_number(number), self.max_pages)

    def page(self, number):
        page = super().page(number)
        if page.number >= self.max_pages and self._num_pages > page.number:
            self._num_pages = page.number  # no "next" link past the cap
            self.truncated = True
        return page


def _rows(request):
    filterset, movements, refused = history_querysets(request.GET)
    return filterset, selectors.history_rows(movements, refused)


@require_GET
@permission_required("drivers.view_movement")
def history(request):
    filterset, rows = _rows(request)
    table = HistoryTable(rows)
    paginate = {"per_page": PER_PAGE, "paginator_class": HistoryPaginator}
    RequestConfig(request, paginate=paginate).configure(table)
    if getattr(table.paginator, "truncated", False):
        messages.info(request, _(
            "Only the first %(rows)s rows of these filters can be paged through. Narrow the "
            "dates to see the others, or export them."
        ) % {"rows": MAX_PAGES * PER_PAGE})
    query = request.GET.copy()
    for key in ("page", "sort"):
        query.pop(key, None)
    return render(
        request,
        "drivers/history.html",
        {
            "filter": filterset,
            "table": table,
            "query": query.urlencode(),
            "can_export": request.user.has_perm("drivers.export_history"),
        },
    )


@require_GET
@permission_required("drivers.export_history")
def history_export(request):
    fmt = request.GET.get("format", "csv")
    if fmt not in ("csv", "xlsx"):
        return HttpResponse(
            _("Unknown format: use csv or xlsx."), status=400, content_type="text/plain; charset=utf-8"
        )
    filterset, rows = _rows(request)
    if filterset.errors:
        errors = "; ".join(f"{k}: {' '.join(v)}" for k, v in filterset.errors.items())
        return HttpResponse(_("Check the filters: %(errors)s") % {"errors": errors}, status=400,
                            content_type="text/plain; charset=utf-8")
    name = exports.file_name(filterset.form.cleaned_data, fmt)
    if fmt == "csv":
        return exports.csv_response(rows, name)
    return exports.xlsx_response(rows, name, exports.describe_filters(filterset.form))
