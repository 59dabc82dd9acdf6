"""The token API for other systems (the ERP, scripts): /api/v1/, schema and docs.

Django REST framework with drf-spectacular (README, "API"): tokens only (accounts.api),
every view naming the permission its token's user needs. Reads come from
drivers.selectors and the models' querysets; the one write, POST scans/, is the booth's
own scan API (drivers.views.api) with the token's user as the operator.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.urls import path
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework import exceptions, generics, pagination, permissions
from rest_framework.response import Response
from rest_framework.views import APIView

from drivers import selectors
from drivers.models import Driver, Movement
from drivers.services import ScanError
from drivers.views.api import STATUS_BY_CODE, BadRequest, _json_body, error_response, scan_from_json
from drivers.serializers import (
    DriverSerializer,
    MovementSerializer,
    PresenceSerializer,
)


class IdCursorPagination(pagination.CursorPagination):
    """Keyset pagination on the id: rows inserted meanwhile never shift a page."""

    ordering = "id"
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 500


class PresenceView(generics.ListAPIView):
    """Drivers inside the plant now, oldest entry first."""

    required_perms = ("drivers.view_visit",)
    serializer_class = PresenceSerializer
    pagination_class = None

    def get_queryset(self):
        return selectors.inside_now()


class DriverListView(generics.ListAPIView):
    """Every registered driver, by id (cursor pagination)."""

    required_perms = ("drivers.view_driver",)
    serializer_class = DriverSerializer
    pagination_class = IdCursorPagination
    queryset = Driver.objects.all()


SINCE = OpenApiParameter(
    "since", OpenApiTypes.DATETIME, required=False,
    description="Only movements recorded at or after this time (ISO 8601, e.g. 2026-12-01T06:00:00-06:00).",
)


@extend_schema(parameters=[SINCE])
class MovementListView(generics.ListAPIView):
    """Movements in the order they were recorded (keyset cursor on the id).

    Follow `next` until it is null, keep the last `next`, and poll it later for new
    movements: nothing is skipped or repeated, whatever is inserted meanwhile. Movements
    recorded in the last API_SETTLE_SECONDS appear on the next call.
    """

    required_perms = ("drivers.view_movement",)
    serializer_class = MovementSerializer
    pagination_class = IdCursorPagination

    def get_queryset(self):
        settled = timezone.now() - timedelta(seconds=settings.API_SETTLE_SECONDS)
        movements = Movement.objects.select_related("driver", "station", "operator").filter(recorded_at__lte=settled)
        since = self.request.query_params.get("since")
        if since:
            try:
                moment = parse_datetime(since.strip())
            except ValueError:
                moment = None
            if moment is None:
                raise exceptions.ValidationError({"since": _("Use an ISO 8601 date and time.")})
            if timezone.is_naive(moment):
                moment = timezone.make_aware(moment)
            movements = movements.filter(recorded_at__gte=moment)
        return movements


SCAN_REQUEST = {
    "type": "object",
    "required": ["code", "station"],
    "properties": {
        "code": {"type": "string", "description": "The badge's QR text."},
        "station": {"type": "string", "description": "The station's code."},
        "nonce": {"type": "string", "description": "1 to 64 of A-Z a-z 0-9 -_.: ; a retry with it answers the first result."},
        "direction": {"type": "string", "enum": ["in", "out", "pass"]},
        "force": {"type": "boolean"},
        "note": {"type": "string", "description": "A forced movement's reason."},
        "scanned_at": {"type": "string", "format": "date-time"},
        "route": {"type": "string"},
        "vehicle": {"type": "object"},
        "seals": {"type": "array", "items": {"type": "string"}},
    },
}
SCAN_ANSWER = {"type": "object", "description": "The same answer as POST /api/scan/ (accepted, reason, message, driver, ...)."}
ERROR_ANSWER = {"type": "object", "properties": {"error": {"type": "string"}, "code": {"type": "string"}}}


@extend_schema(request={"application/json": SCAN_REQUEST},
               responses={200: SCAN_ANSWER, 400: ERROR_ANSWER, 401: ERROR_ANSWER, 403: ERROR_ANSWER,
                          409: ERROR_ANSWER, 429: ERROR_ANSWER})
class ScanView(APIView):
    """Record a scan, exactly as the booth's POST /api/scan/ (a `write` token; operator = its user)."""

    required_perms = ("drivers.record_movement",)

    def post(self, request):
        try:
            return Response(scan_from_json(_json_body(request._request), operator=request.user))
        except BadRequest as exc:
            return error_response(str(exc), 400, exc.code)
        except ScanError as exc:
            return error_response(exc.message, STATUS_BY_CODE.get(exc.code, 400), exc.code)


class SchemaView(SpectacularAPIView):
    authentication_classes = []
    permission_classes = [permissions.AllowAny]
    throttle_classes = []


class DocsView(SpectacularSwaggerSplitView):
    """Swagger UI from drf-spectacular-sidecar's files, its script served from here (CSP)."""

    authentication_classes = []
    permission_classes = [permissions.AllowAny]
    throttle_classes = []
    url_name = "api:schema"


app_name = "api"
urlpatterns = [
    path("presence/", PresenceView.as_view(), name="presence"),
    path("movements/", MovementListView.as_view(), name="movements"),
    path("drivers/", DriverListView.as_view(), name="drivers"),
    path("scans/", ScanView.as_view(), name="scans"),
    path("schema/", SchemaView.as_view(), name="schema"),
    path("docs/", DocsView.as_view(), name="docs"),
]
