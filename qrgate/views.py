from django.conf import settings
from django.db import connection
from django.http import HttpResponse, HttpResponseNotFound, HttpResponseServerError
from django.shortcuts import render
from django.template import loader
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


@never_cache
@require_GET
def healthz(request):
    """Public liveness probe: a tiny body, 503 when the database does not answer."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:
        return HttpResponse("db down\n", status=503, content_type="text/plain")
    return HttpResponse("ok\n", content_type="text/plain")


def not_found(request, exception=None):
    """handler404: the plant's own page in the user's language, a way back to the menu."""
    return HttpResponseNotFound(_render_error("404.html"))


def server_error(request):
    """handler500: rendered from settings alone. The error may be the database itself,
    so no context processor (user, menu) runs and nothing is queried."""
    return HttpResponseServerError(_render_error("500.html"))


def csrf_failure(request, reason=""):
    """CSRF_FAILURE_VIEW: a stale form explained in a guard's words (nothing was saved)."""
    return render(request, "403_csrf.html", _error_context(), status=403)


def _error_context() -> dict:
    return {"PLANT_NAME": settings.PLANT_NAME}


def _render_error(template: str) -> str:
    # Rendered without the request: the error pages need no context processor (the
    # language is already the user's, activated by the middleware).
    return loader.get_template(template).render(_error_context())
