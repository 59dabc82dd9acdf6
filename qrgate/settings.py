"""QRGate settings: one module, every value from the environment (see .env.example)."""

import secrets
import socket
from pathlib import Path
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# An optional .env beside manage.py (development); production reads the unit's env file.
environ.Env.read_env(env.str("QRGATE_ENV_FILE", default=str(BASE_DIR / ".env")))

# An empty value (KEY= in an env file) counts as unset for the paths and the database URL.
DATA_DIR = Path(env.str("QRGATE_DATA_DIR", default="") or BASE_DIR / "var")
DATA_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env.bool("DEBUG", default=False)


def _secret_key() -> str:
    """SECRET_KEY from the environment, else one generated once and kept in DATA_DIR."""
    value = env.str("SECRET_KEY", default="")
    if value:
        if len(value) < 40 and not DEBUG:
            raise ImproperlyConfigured("SECRET_KEY is too short: use at least 50 random characters.")
        return value
    path = DATA_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(64))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()


def _public_url() -> str:
    """PUBLIC_URL (https://gate.plant.lan): the origin printed in every QR link."""
    value = env.str("PUBLIC_URL", default="").strip().rstrip("/")
    if not value:
        return ""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path or parts.query:
        raise ImproperlyConfigured(
            f"PUBLIC_URL must be a scheme and a host only, like https://gate.plant.lan (got {value!r})."
        )
    return value


# Printed and displayed QR links (station sheets, kiosk, self check-in) use PUBLIC_URL
# whatever Host header a request carries; unset, they use the address the page was opened by.
PUBLIC_URL = _public_url()
# With PUBLIC_URL the app answers to its host and the local machine only; without it, to
# any address (`make run` opened from another PC of the LAN by its IP). Set explicitly, wins.
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[]) or (
    [urlsplit(PUBLIC_URL).hostname, "localhost", "127.0.0.1", "[::1]"] if PUBLIC_URL else ["*"]
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[]) or ([PUBLIC_URL] if PUBLIC_URL else [])

INSTALLED_APPS = [
    "accounts",
    "stations",
    "drivers",
    "reports",
    "musters",
    "qrgate",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_tables2",
    "django_filters",
    "qr_code",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.SessionRenewMiddleware",
    "accounts.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "qrgate.urls"
WSGI_APPLICATION = "qrgate.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "qrgate.context_processors.plant",
                "accounts.menu.nav_items",
                "musters.context_processors.open_roll_call",
            ],
        },
    },
]

# Database: SQLite in DATA_DIR by default; DATABASE_URL=postgres://... for larger plants.
DATABASES = {
    "default": env.db_url_config(
        env.str("DATABASE_URL", default="") or f"sqlite:///{DATA_DIR / 'qrgate.sqlite3'}"
    )
}
_db = DATABASES["default"]
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # Several gunicorn workers write at once: IMMEDIATE takes the write lock at BEGIN so a
    # read-then-write transaction never fails half-way with "database is locked"; the
    # timeout (SQLite's busy timeout) makes writers queue instead of failing; WAL lets
    # readers go on during a write; synchronous=NORMAL skips the fsync per commit (a killed
    # process loses nothing, a power cut at most the last commits, never consistency).
    # Foreign keys are on by default in Django's backend.
    _db.setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    # Tests use a file, never :memory:, so threads and the live server share one database;
    # the pid keeps parallel runs on one machine apart.
    import os as _os

    _db["TEST"] = {"NAME": str(DATA_DIR / f"test_{_os.getpid()}.sqlite3")}
# Keep a worker's connection between requests (SQLite: no reopening and re-running the
# PRAGMAs on every scan).
_db.setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
# PostgreSQL: threaded gunicorn workers (deploy/gunicorn.conf.py) run many requests of one
# process at once. Django's own connection pool (psycopg_pool) lends each a connection and
# takes it back when the request ends, so a process never holds more than DB_POOL_SIZE
# (workers x servers x this must stay under PostgreSQL's max_connections, 100), and a
# request beyond waits up to 20 s for one. The pool replaces persistent connections.
DB_POOL_SIZE = env.int("DB_POOL_SIZE", default=8)
if _db["ENGINE"] == "django.db.backends.postgresql":
    _db.setdefault("OPTIONS", {})["pool"] = {"min_size": 1, "max_size": DB_POOL_SIZE, "timeout": 20}
    _db["CONN_MAX_AGE"] = 0
_db.setdefault("CONN_HEALTH_CHECKS", True)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"
# Every password check goes through the lockout (counted before it runs); a user's
# permissions are read in one query per request (accounts/backends.py).
AUTHENTICATION_BACKENDS = ["accounts.backends.LockoutBackend"]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Shared by every worker and app server: nothing lives in one process's memory.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "qrgate_cache",
    }
}
SESSION_ENGINE = "accounts.sessions"  # Django's database sessions, read by a prepared query
# Idle timeout sized for a shift; any request (the scan screen's polls too) renews it, at
# most once per SESSION_RENEW_SECONDS (accounts.middleware.SessionRenewMiddleware).
SESSION_COOKIE_AGE = env.int("SESSION_IDLE_SECONDS", default=10 * 3600)
SESSION_RENEW_SECONDS = 300
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

LANGUAGE_CODE = env.str("LANGUAGE_CODE", default="es")
LANGUAGES = [("es", _("Spanish")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="America/Mexico_City")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default="") or DATA_DIR / "static")
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default="") or DATA_DIR / "media")
MEDIA_URL = "/media/"  # served by drivers.views after a permission check, never publicly
# Nightly backups (manage.py backup / restore, deploy/qrgate-backup.timer).
BACKUP_DIR = Path(env.str("BACKUP_DIR", default="") or DATA_DIR / "backups")
BACKUP_KEEP = env.int("BACKUP_KEEP", default=14)


def _media_storage() -> dict:
    """Where photos and scanned documents live (personal data, served only by drivers.views.media).

    MEDIA_STORAGE=file (default): files under MEDIA_ROOT; with several app servers, a
    directory they all mount (NFS). MEDIA_STORAGE=s3: a bucket of S3 or of an S3-compatible
    server (MinIO, Ceph, Garage...) through django-storages, reached only by the app servers.
    """
    kind = env.str("MEDIA_STORAGE", default="").strip().lower() or "file"
    if kind == "file":
        return {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    if kind != "s3":
        raise ImproperlyConfigured(f"MEDIA_STORAGE must be file or s3 (got {kind!r}).")
    bucket = env.str("MEDIA_S3_BUCKET", default="").strip()
    if not bucket:
        raise ImproperlyConfigured("MEDIA_STORAGE=s3 needs MEDIA_S3_BUCKET (the bucket's name).")
    options = {
        "bucket_name": bucket,
        # Every key under this prefix ("" = the bucket's root).
        "location": env.str("MEDIA_S3_PREFIX", default="").strip("/"),
        # Files always get new random names: never overwrite, never rename.
        "file_overwrite": False,
        # Private objects; the app streams them after its permission check, it never hands
        # out the bucket's URLs.
        "default_acl": None,
        "querystring_auth": True,
    }
    optional = {
        "endpoint_url": "MEDIA_S3_ENDPOINT_URL",  # e.g. http://minio.plant.lan:9000; unset: AWS
        "region_name": "MEDIA_S3_REGION",
        "access_key": "MEDIA_S3_ACCESS_KEY_ID",  # unset: boto3's own chain (AWS_* variables, roles)
        "secret_key": "MEDIA_S3_SECRET_ACCESS_KEY",
        "addressing_style": "MEDIA_S3_ADDRESSING_STYLE",  # path for most self-hosted servers
    }
    for option, name in optional.items():
        value = env.str(name, default="").strip()
        if value:
            options[option] = value
    return {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options}


STORAGES = {
    "default": _media_storage(),
    "staticfiles": {
        "BACKEND": env.str(
            "STATICFILES_BACKEND",
            default="qrgate.storage.StaticFilesStorage",
        )
    },
}
DATA_UPLOAD_MAX_MEMORY_SIZE = 12 * 1024 * 1024

# HTTPS: set behind the HTTPS proxy (deploy/). There is deliberately no
# SECURE_PROXY_SSL_HEADER: gunicorn turns X-Forwarded-Proto into wsgi.url_scheme only for
# connections from --forwarded-allow-ips (the proxy on 127.0.0.1), whereas Django would
# believe the header from anyone who reaches port 5000 directly.
SECURE_HTTPS = env.bool("SECURE_HTTPS", default=False)
if SECURE_HTTPS:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = False
    # Plain HTTP on port 5000 sends browsers to the proxy: SECURE_SSL_HOST is its address
    # (without it the redirect would keep port 5000, where there is no TLS). Monitors
    # still get /healthz over plain HTTP.
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_SSL_HOST = env.str("SECURE_SSL_HOST", default="") or None
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
# A plant's LAN name or IP address can never be on the browsers' public HSTS preload list.
SILENCED_SYSTEM_CHECKS = ["security.W021"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp) on every response: only our own scripts run (no
# inline script, no eval: htmx is configured for it in base.html), no plugin, no framing.
# Images: data: for the badge QR codes drawn as data URLs, blob: for the camera snapshot
# previewed before upload. Styles: our stylesheets only, no inline style.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", "blob:"],
        "media-src": ["'self'", "blob:"],
        "object-src": ["'none'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
    }
}
# A stale form gets the plant's own page, not Django's technical one.
CSRF_FAILURE_VIEW = "qrgate.views.csrf_failure"

# The plant's rules.
PLANT_NAME = env.str("PLANT_NAME", default="Planta")
SCAN_DUPLICATE_WINDOW_SECONDS = env.int("SCAN_DUPLICATE_WINDOW_SECONDS", default=10)
SCAN_ANNUL_WINDOW_MINUTES = env.int("SCAN_ANNUL_WINDOW_MINUTES", default=5)
SCAN_LATE_AFTER_SECONDS = env.int("SCAN_LATE_AFTER_SECONDS", default=60)
# A claimed (offline) scan time older than this is not believed: recorded now, marked late.
SCAN_MAX_AGE_HOURS = env.int("SCAN_MAX_AGE_HOURS", default=12)
OVERSTAY_HOURS = env.float("OVERSTAY_HOURS", default=8)
STATION_IDLE_MINUTES = env.int("STATION_IDLE_MINUTES", default=30)
LOGIN_MAX_FAILURES = env.int("LOGIN_MAX_FAILURES", default=5)
LOGIN_LOCKOUT_MINUTES = env.int("LOGIN_LOCKOUT_MINUTES", default=15)
KIOSK_CODE_SECONDS = env.int("KIOSK_CODE_SECONDS", default=30)
KIOSK_GRACE_SECONDS = env.int("KIOSK_GRACE_SECONDS", default=15)

# Outgoing e-mail (alerts, stations.sending): the plant's SMTP server as a URL, e.g.
# EMAIL_URL=smtp+tls://qrgate%40plant.lan:password@mail.plant.lan:587 ; the default prints
# e-mails to the log (development).
vars().update(environ.Env.email_url_config(env.str("EMAIL_URL", default="") or "consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="qrgate@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# The token API under /api/v1/ (drivers.views.api_v1): Django REST framework, tokens only.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.api.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["accounts.api.TokenScopePermission"],
    "DEFAULT_THROTTLE_CLASSES": ["accounts.api.TokenRateThrottle", "accounts.api.AddressRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "token": env.str("API_RATE_PER_TOKEN", default="600/minute"),
        "address": env.str("API_RATE_PER_ADDRESS", default="1200/minute"),
    },
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "QRGate API",
    "DESCRIPTION": "Presence, movements and drivers of the plant; scans from other systems. "
    "Send the header Authorization: Bearer followed by a token (manage.py create_api_token).",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1/",
    # Swagger UI from the drf-spectacular-sidecar package, served from our own static files.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}
# Movements recorded less than this ago are not handed out by /api/v1/movements/ yet, so
# that a cursor never passes one whose transaction has not committed (PostgreSQL hands out
# ids before the commit, so a lower id can appear after a higher one was read).
API_SETTLE_SECONDS = env.float("API_SETTLE_SECONDS", default=2)
# Scheduled reports (reports/): attached up to this size, else a link for each subscriber,
# valid this long. Links in mails start with REPORTS_BASE_URL (the address users open the app at).
REPORT_ATTACH_MAX_BYTES = env.int("REPORT_ATTACH_MAX_MB", default=5) * 1024 * 1024
REPORT_LINK_MAX_AGE = env.int("REPORT_LINK_DAYS", default=7) * 86400
REPORTS_BASE_URL = PUBLIC_URL or f"http://{socket.getfqdn()}"
# Driver imports (drivers.importjobs): a finished import and its per-row report are deleted
# by the import worker this many days after it ended.
IMPORT_JOBS_KEEP_DAYS = env.int("IMPORT_JOBS_KEEP_DAYS", default=30)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
