"""The marshal page's settings and strings for its ES modules (static/js/muster/), read
from json_script blocks: the page runs under a CSP without inline scripts."""

from django import template
from django.utils import timezone
from django.utils.translation import gettext as _

register = template.Library()


@register.simple_tag
def marshal_config(roll_call, mark_url, points, counts=None):
    """`counts`: accounted / expected / missing when the page was made (else the first
    answer of the mark API fills them in)."""
    if counts is None:
        from musters.selectors import counts as roll_call_counts

        counts = roll_call_counts(roll_call)
    return {
        "rollCall": roll_call.pk,
        "drill": roll_call.drill,
        "markUrl": mark_url,
        "elapsedSeconds": max(0, int((timezone.now() - roll_call.started_at).total_seconds())),
        "points": [{"code": p.code, "name": p.name} for p in points],
        "counts": counts,
    }


@register.simple_tag
def marshal_strings():
    return {
        "safe": _("SAFE"),
        "duplicate": _("ALREADY COUNTED"),
        "notExpected": _("NOT EXPECTED"),
        "invalid": _("NOT VALID"),
        "unknown": _("UNKNOWN"),
        "revoked": _("REVOKED"),
        "closed": _("CLOSED"),
        "pending": _("SAVED, NO NETWORK"),
        "pendingHelp": _("Kept on this phone. It will be sent by itself when there is network."),
        "invalidHelp": _("This is not a QRGate badge."),
        "noPoint": _("Choose your muster point"),
        "choosePoint": _("Choose your muster point before scanning."),
        "firstAt": _("Counted first at %(time)s at %(point)s, by %(by)s."),
        "sentLate": _("Scanned at %(time)s, sent later."),
        "sessionHead": _("SESSION ENDED"),
        "sessionEnded": _("Log in again. The scans on this phone are kept."),
        "notSentHead": _("NOT SENT"),
        "error": _("The server did not take this scan."),
        "retry": _("Retry"),
        "discard": _("Discard"),
        "online": _("Online"),
        "offline": _("No network"),
        "cameraHead": _("CAMERA"),
        "cameraError": _("The camera could not be opened. Allow it in the browser, or use the scanner."),
        "cameraStart": _("Camera"),
        "cameraStop": _("Stop"),
        "cameraDefault": _("Camera"),
        "short_ok": _("Safe"),
        "short_duplicate": _("Already counted"),
        "short_not_expected": _("Not expected"),
        "short_invalid": _("Not valid"),
        "short_unknown": _("Unknown"),
        "short_revoked": _("Revoked"),
        "short_closed": _("Closed"),
    }
