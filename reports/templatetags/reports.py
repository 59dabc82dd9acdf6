from urllib.parse import urlencode

from django import template
from django.core.exceptions import ValidationError

from ..forms import SaveFilterForm
from ..services import clean_query, visible_filters

register = template.Library()


@register.inclusion_tag("reports/_saved_filter_menu.html", takes_context=True)
def saved_filter_menu(context):
    """The history's "Saved filters" menu: open one, save the current filters, schedule."""
    request = context["request"]
    user = request.user
    if not user.has_perm("drivers.export_history"):
        return {"show": False}
    try:
        current = urlencode(clean_query(request.GET))
    except ValidationError:  # invalid filters cannot be saved; the page shows their errors
        current = None
    active = request.GET.get("saved", "")
    return {
        "show": True,
        "user": user,
        "filters": list(visible_filters(user)),
        "active": int(active) if active.isdigit() else None,
        "form": SaveFilterForm(),
        "current": current,
        "has_filters": bool(current),
        "csrf_token": context.get("csrf_token"),
    }
