import time

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.utils import translation


class UserLanguageMiddleware:
    """Use the logged-in user's own language when he chose one (no prefix in paths)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        language = getattr(user, "language", "") if user and user.is_authenticated else ""
        if language:
            translation.activate(language)
            request.LANGUAGE_CODE = language
        response = self.get_response(request)
        if language:
            response.headers.setdefault("Content-Language", language)
        return response


class SessionRenewMiddleware:
    """Keep an active session alive (the idle timeout) with at most one write per interval.

    SESSION_SAVE_EVERY_REQUEST would write the session row on every scan and every
    dashboard poll: one more write transaction per request, which SQLite serializes.
    Renewing every SESSION_RENEW_SECONDS moves the expiry forward just as well for a
    timeout sized in hours. Placed after SessionMiddleware, which saves what it marks.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        session = getattr(request, "session", None)
        # Only a logged-in session: a token call (/api/v1/) has a user but no session to keep,
        # and writing one would create a session row and cookie per call.
        if session is not None and SESSION_KEY in session:
            now = int(time.time())
            if now - session.get("_renewed", 0) >= settings.SESSION_RENEW_SECONDS:
                session["_renewed"] = now
        return response
