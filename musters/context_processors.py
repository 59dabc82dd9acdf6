"""The open roll call, for the banner at the top of the dashboard (templates/musters/_banner.html)."""

from .models import RollCall


def open_roll_call(request):
    """Lazy: only a template that shows the banner pays its one query."""
    user = getattr(request, "user", None)

    def current():
        if user is None or not user.is_authenticated or not user.has_perm("musters.mark_muster"):
            return None
        return RollCall.objects.filter(is_open=True).first()

    return {"open_roll_call": current}
