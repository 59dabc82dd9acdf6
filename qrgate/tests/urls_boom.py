"""The project's URLs plus a view that fails, for the 500 page's tests."""

from django.urls import path

from qrgate.urls import handler403, handler404, handler500, urlpatterns  # noqa: F401


def boom(request):
    raise RuntimeError("a bug")


urlpatterns = urlpatterns + [path("boom/", boom)]
