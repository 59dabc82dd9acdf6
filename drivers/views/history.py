"""The history: movements and refused scans in one filterable table, and its exports."""

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


def _rows(request):
    filterset, movements, refused = history_querysets(request.GET)
    return filterset, selectors.history_rows(movements, refused)


@require_GET
@permission_required("drivers.view_movement")
def history(request):
    filterset, rows = _rows(request)
    table = HistoryTable(rows)
    # LazyPaginator fetches one row past the page instead of counting the whole history.
    RequestConfig(request, paginate={"per_page": PER_PAGE, "paginator_class": LazyPaginator}).configure(table)
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
    return exports.xlsx_response(rows, name)
