"""Django's database sessions, read with a query compiled once per process.

Every request of a logged-in user reads his session row; building that ORM query each
time cost more CPU than running it. Same table, same rules (an expired or unknown key is
no session), same everything else as django.contrib.sessions.backends.db.
"""

from django.contrib.sessions.backends import db
from django.contrib.sessions.models import Session
from django.utils import timezone

from qrgate.prepared import PreparedQuery

_SESSION = PreparedQuery(lambda key, now: Session.objects.filter(session_key=key, expire_date__gt=now))


class SessionStore(db.SessionStore):
    def _get_session_from_db(self):
        found = _SESSION.first(key=self.session_key, now=timezone.now()) if self.session_key else None
        if found is None:
            self._session_key = None
        return found
