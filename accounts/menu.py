"""The main menu: one tile per screen, shown only to users whose role may open it."""

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

# (key, url name, label, hint, permission). The view itself checks the permission too.
MENU = [
    ("scan", "drivers:scan", _("Scan"), _("Record entries, exits and passes"), "drivers.record_movement"),
    ("dashboard", "drivers:dashboard", _("Dashboard"), _("The plant live"), "drivers.view_dashboard"),
    ("active", "drivers:active", _("Active drivers"), _("Who is inside now"), "drivers.view_visit"),
    ("register", "drivers:register", _("Register driver"), _("New driver and badge"), "drivers.add_driver"),
    ("drivers", "drivers:driver_list", _("Drivers"), _("Search, edit, print badges"), "drivers.view_driver"),
    ("follow", "drivers:follow", _("Follow a driver"), _("Route through the stations"), "drivers.view_movement"),
    ("banned", "drivers:banned", _("Banned drivers"), _("Bans and their history"), "drivers.view_ban"),
    ("history", "drivers:history", _("History"), _("Every movement, filter and export"), "drivers.view_movement"),
    ("documents", "drivers:documents_expiring", _("Documents expiring"), _("Licences and permits to renew"),
     "drivers.view_dashboard"),
    ("turnaround", "drivers:turnaround", _("Turnaround"), _("Time inside by carrier and route"),
     "drivers.view_dashboard"),
    ("muster", "musters:index", _("Roll call"), _("Evacuation: who is still missing"), "musters.mark_muster"),
    ("import", "drivers:import", _("Import drivers"), _("Load a CSV or Excel list"), "drivers.import_drivers"),
    ("mybadge", "drivers:my_badge", _("My badge"), _("Show it at the gate"), "drivers.view_own_badge"),
    ("admin", "admin:index", _("Administration"), _("Users, stations, drivers"), None),
]


def menu_for(user) -> list[dict]:
    if not user.is_authenticated:
        return []
    items = []
    for key, url_name, label, hint, perm in MENU:
        allowed = user.is_staff if key == "admin" else user.has_perm(perm)
        if not allowed:
            continue
        try:
            url = reverse(url_name)
        except NoReverseMatch:  # screen not installed
            continue
        items.append({"key": key, "url": url, "label": label, "hint": hint})
    return items


def nav_items(request):
    """Context processor: the menu of the current user."""
    user = getattr(request, "user", None)
    return {"nav_items": menu_for(user) if user is not None else []}
