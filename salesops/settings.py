"""Django settings for SalesOps.

Everything environment-dependent is read here through the few typed helpers below, with
embedded defaults so that the demo runs with nothing installed: SQLite under ``var/``, a
secret generated once and kept in ``var/``. ``DATABASE_URL`` switches to PostgreSQL.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import unquote, urlparse

BASE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BASE_DIR.parent
VAR_DIR = Path(os.environ.get("SALESOPS_VAR_DIR", PROJECT_DIR / "var"))


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if not raw:
        return default
    return [part.strip() for part in raw.split(",") if part.strip()]


def _secret_key(https: bool) -> str:
    configured = env_str("SALESOPS_SECRET_KEY")
    if configured:
        return configured
    if https:
        # A production server signs sessions, password-reset links and CSRF tokens with
        # it: a key in var/ is lost with the directory and differs between servers.
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(
            "SALESOPS_HTTPS=true 时必须用 SALESOPS_SECRET_KEY 设置密钥（至少 50 个随机字符，"
            "例如 python -c 'import secrets; print(secrets.token_urlsafe(50))' 的输出）/ "
            "with SALESOPS_HTTPS=true, SALESOPS_SECRET_KEY must be set (50 or more random "
            "characters, e.g. the output of "
            "python -c 'import secrets; print(secrets.token_urlsafe(50))')"
        )
    # Demo/dev: generate once and keep it, so sessions survive restarts.
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50), encoding="utf-8")
    return key_file.read_text(encoding="utf-8").strip()


def database_from_url(url: str) -> dict[str, object]:
    """Parse ``postgres://user:pass@host:port/name`` into a Django DATABASES entry."""
    parsed = urlparse(url)
    if parsed.scheme not in {"postgres", "postgresql", "pgsql"}:
        raise ValueError(f"DATABASE_URL: unsupported scheme {parsed.scheme!r}")
    return {
        # Django's backend, aware of partitioned tables (salesops/core/db/postgresql).
        "ENGINE": "salesops.core.db.postgresql",
        "NAME": unquote(parsed.path.lstrip("/")),
        "USER": unquote(parsed.username or ""),
        "PASSWORD": unquote(parsed.password or ""),
        "HOST": parsed.hostname or "",
        "PORT": str(parsed.port or ""),
        "CONN_MAX_AGE": 60,
        "TEST": {"NAME": unquote(parsed.path.lstrip("/")) + "_test"},
    }


def serving_port() -> str:
    """The port `salesops serve` binds (salesops/cli.py bind_address): the port of
    ``SALESOPS_BIND`` when it is ``host:port``, else ``SALESOPS_PORT``, else 8000."""
    bind = env_str("SALESOPS_BIND").strip()
    if bind and not bind.startswith("unix:") and ":" in bind:
        port = bind.rsplit(":", 1)[1]
        if port.isdigit():
            return port
    return env_str("SALESOPS_PORT", "8000").strip() or "8000"


def csrf_trusted_origins(hosts: list[str], port: str, https: bool) -> list[str]:
    """The origins a browser may post from: each allowed host reached directly on the
    serving port, and on the scheme's standard port (a reverse proxy in front, or the
    server itself on 80/443). ``.example.com`` (a host and its subdomains) becomes
    ``*.example.com``; ``*`` (any host) gives no origin: it names none."""
    scheme = "https" if https else "http"
    standard = "443" if https else "80"
    origins: list[str] = []
    for host in hosts:
        if host == "*" or not host:
            continue
        name = "*" + host if host.startswith(".") else host
        candidates = [f"{scheme}://{name}"]
        if port != standard:
            candidates.append(f"{scheme}://{name}:{port}")
        origins.extend(c for c in candidates if c not in origins)
    return origins


# Production: SALESOPS_HTTPS=true when browsers reach the server over TLS (directly or
# through a proxy that terminates it). docs/operators.md "Security settings".
SALESOPS_HTTPS = env_bool("SALESOPS_HTTPS", default=False)
SECRET_KEY = _secret_key(SALESOPS_HTTPS)
DEBUG = env_bool("SALESOPS_DEBUG", default=False)
ALLOWED_HOSTS = env_list(
    "SALESOPS_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"]
)
CSRF_TRUSTED_ORIGINS = env_list(
    "SALESOPS_CSRF_TRUSTED_ORIGINS",
    csrf_trusted_origins(ALLOWED_HOSTS, serving_port(), SALESOPS_HTTPS),
)

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "ninja",  # serves Swagger UI from its own static files (no CDN)
    "django_tasks",
    "django_tasks_db",
    "salesops.core",
    "salesops.org",
    "salesops.sales",
    "salesops.crm",
    "salesops.compensation",
    "salesops.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files straight from STATIC_ROOT (hashed names, far-future caching, gzip),
    # before sessions and the rest: an asset request costs no database work.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # CSP and Cache-Control: no-store on everything after the static files.
    "salesops.core.security.SecurityHeadersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "salesops.core.error_views.ErrorPageMiddleware",
]
CSRF_FAILURE_VIEW = "salesops.core.error_views.csrf_failure"

ROOT_URLCONF = "salesops.urls"
WSGI_APPLICATION = "salesops.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "salesops.core.context_processors.navigation",
            ],
        },
    }
]

# How long a write waits for SQLite's one write lock before it fails (then answered
# 503 "系统繁忙", core/locks.py). Long writes commit in short chunks, so a wait is short.
SALESOPS_SQLITE_BUSY_MS = int(env_str("SALESOPS_SQLITE_BUSY_MS", "10000"))
_database_url = env_str("DATABASE_URL")
if _database_url:
    DATABASES = {"default": database_from_url(_database_url)}
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env_str("SALESOPS_SQLITE_PATH", str(VAR_DIR / "salesops.sqlite3")),
            "OPTIONS": {
                # WAL lets the task worker write while the web process reads.
                "init_command": (
                    "PRAGMA journal_mode=WAL;"
                    "PRAGMA synchronous=NORMAL;"
                    "PRAGMA foreign_keys=ON;"
                    f"PRAGMA busy_timeout={SALESOPS_SQLITE_BUSY_MS};"
                ),
                "transaction_mode": "IMMEDIATE",
            },
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "core.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

# Every password set through the UI, the API or createsuperuser (the demo builder sets
# its documented password directly).
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True
# Django's zh_Hans '%Y年%n月%j日' does not parse on Python 3.11; accept ISO and 年月日 forms.
DATE_INPUT_FORMATS = ["%Y-%m-%d", "%Y/%m/%d", "%Y年%m月%d日"]
FORMAT_MODULE_PATH = ["salesops.formats"]

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "static"
# `salesops serve` runs collectstatic (when a source file changed): file names carry a hash
# of their content, so whitenoise serves them with `Cache-Control: max-age=315360000,
# public, immutable`, with gzip variants. The test suite (root conftest.py) switches to the
# plain storage: tests render `{% static %}` without a collected manifest, and the browser
# tests' live_server serves the source files by their plain names.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "salesops.core.staticfiles.StaticFilesStorage"},
}

TASKS = {
    "default": {
        "BACKEND": env_str("SALESOPS_TASK_BACKEND", "django_tasks_db.DatabaseBackend"),
    }
}

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the cookie-less meta tag
X_FRAME_OPTIONS = "DENY"
# Cookies only over TLS, plain HTTP redirected, and browsers told (HSTS) to use nothing
# else for a year.
SESSION_COOKIE_SECURE = SALESOPS_HTTPS
CSRF_COOKIE_SECURE = SALESOPS_HTTPS
SECURE_SSL_REDIRECT = SALESOPS_HTTPS
SECURE_HSTS_SECONDS = int(env_str("SALESOPS_HSTS_SECONDS", "31536000")) if SALESOPS_HTTPS else 0
# Opt-in: either one binds every subdomain of the site (other services, perhaps still on
# plain HTTP) to HTTPS too, and preload cannot be taken back in less than months.
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SALESOPS_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env_bool("SALESOPS_HSTS_PRELOAD", default=False)
# Behind a proxy that terminates TLS and sets X-Forwarded-Proto (and strips a client's
# own): only then may the header say the request was secure.
SALESOPS_BEHIND_PROXY = env_bool("SALESOPS_BEHIND_PROXY", default=False)
if SALESOPS_BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# check --deploy warns about the two opt-ins above whenever HSTS is on; leaving them off
# is the decision documented in docs/operators.md, so those two warnings are silenced
# only while the option is off.
SILENCED_SYSTEM_CHECKS = [
    *([] if SECURE_HSTS_INCLUDE_SUBDOMAINS else ["security.W005"]),
    *([] if SECURE_HSTS_PRELOAD else ["security.W021"]),
    # crm's board indexes INCLUDE the id for PostgreSQL; a SQLite index holds the rowid
    # (the id) anyway, so the warning that SQLite ignores INCLUDE says nothing.
    "models.W040",
]
# Content-Security-Policy on every response (salesops/core/security.py). Assets are
# vendored and served from our own origin; ECharts draws on a canvas, tooltips included
# (renderMode "richText"); htmx's indicator CSS is in app.css; the pages carry no inline
# script, handler attribute or style attribute (core/tests/test_no_inline_code.py). data: images
# are Bootstrap's and Swagger UI's inline SVG icons. SALESOPS_CSP replaces the whole policy
# ("" sends none); SALESOPS_CSP_REPORT_ONLY=true only reports what it would refuse.
SALESOPS_CSP = env_str(
    "SALESOPS_CSP",
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; "
    "form-action 'self'; object-src 'none'",
).strip()
SALESOPS_CSP_REPORT_ONLY = env_bool("SALESOPS_CSP_REPORT_ONLY", default=False)

# API tokens live this many days; a user holds at most this many (one more revokes the
# oldest); unused for this many days they stop working (0 = no idle limit).
SALESOPS_API_TOKEN_DAYS = int(env_str("SALESOPS_API_TOKEN_DAYS", "30"))
SALESOPS_API_TOKENS_PER_USER = int(env_str("SALESOPS_API_TOKENS_PER_USER", "10"))
SALESOPS_API_TOKEN_IDLE_DAYS = int(env_str("SALESOPS_API_TOKEN_IDLE_DAYS", "0"))
# Login throttling (web login page and POST /api/auth/token, salesops/core/throttle.py):
# this many failures for one account, or from one address (an office behind one NAT
# address shares it), within the lockout period lock it for that many minutes.
SALESOPS_LOGIN_FAILURE_LIMIT = int(env_str("SALESOPS_LOGIN_FAILURE_LIMIT", "5"))
SALESOPS_LOGIN_ADDRESS_FAILURE_LIMIT = int(env_str("SALESOPS_LOGIN_ADDRESS_FAILURE_LIMIT", "20"))
SALESOPS_LOGIN_LOCKOUT_MINUTES = int(env_str("SALESOPS_LOGIN_LOCKOUT_MINUTES", "15"))
# Behind a reverse proxy that appends the client to X-Forwarded-For (nginx): take the
# client address from its last entry. Off when clients reach the server directly, or any
# client could pick its own address.
SALESOPS_TRUST_X_FORWARDED_FOR = env_bool("SALESOPS_TRUST_X_FORWARDED_FOR", default=False)
# A token's "last used" is written at most once per this many seconds, never waiting for
# the database's write lock (0 = never written).
SALESOPS_TOKEN_TOUCH_SECONDS = int(env_str("SALESOPS_TOKEN_TOUCH_SECONDS", "300"))
# Long writes (imports) commit in chunks of about this many seconds each, so SQLite's one
# write lock is never held longer; between chunks SQLite's lock is left free this long so
# that a waiting writer (a login, a token) gets in.
SALESOPS_WRITE_CHUNK_SECONDS = float(env_str("SALESOPS_WRITE_CHUNK_SECONDS", "0.5"))
SALESOPS_WRITE_PAUSE_SECONDS = float(env_str("SALESOPS_WRITE_PAUSE_SECONDS", "0.1"))
# A commission run's store on SQLite: longer ranges (a million-member run writes 2.6
# million rows), so the pauses add about 5 % while a login still waits at most about 2 s.
SALESOPS_RUN_WRITE_CHUNK_SECONDS = float(env_str("SALESOPS_RUN_WRITE_CHUNK_SECONDS", "2.0"))
# List pages.
SALESOPS_PAGE_SIZE = 20
# Imports (docs/operators.md "Imports: limits"): checked while the file streams in and is
# read, before anything is stored. Cell size is the importers' own MAX_CELL.
SALESOPS_IMPORT_MAX_MB = int(env_str("SALESOPS_IMPORT_MAX_MB", "100"))
SALESOPS_IMPORT_MAX_ROWS = int(env_str("SALESOPS_IMPORT_MAX_ROWS", "1000000"))
# Files of the importers that write row by row through the services (leads, contacts,
# opportunities, contracts, receipts: every rule and approval of a form applies) hold
# the write lock for the whole file, so they are capped lower.
SALESOPS_IMPORT_SERVICE_MAX_ROWS = int(env_str("SALESOPS_IMPORT_SERVICE_MAX_ROWS", "5000"))
SALESOPS_IMPORT_MAX_COLUMNS = int(env_str("SALESOPS_IMPORT_MAX_COLUMNS", "100"))
SALESOPS_IMPORT_MAX_SECONDS = int(env_str("SALESOPS_IMPORT_MAX_SECONDS", "600"))
# .xlsx: the zip's declared uncompressed size (all parts) and its ratio to the file's size.
SALESOPS_IMPORT_XLSX_MAX_MB = int(env_str("SALESOPS_IMPORT_XLSX_MAX_MB", "1000"))
SALESOPS_IMPORT_XLSX_MAX_RATIO = int(env_str("SALESOPS_IMPORT_XLSX_MAX_RATIO", "100"))
# Uploaded files, error reports and progress files of finished jobs are removed after this.
SALESOPS_IMPORT_RETENTION_DAYS = int(env_str("SALESOPS_IMPORT_RETENTION_DAYS", "7"))
# Form fields and JSON bodies held in memory (files go to disk past FILE_UPLOAD_MAX_MEMORY_SIZE).
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
# The first handler refuses an upload as soon as it passes SALESOPS_IMPORT_MAX_MB.
FILE_UPLOAD_HANDLERS = [
    "salesops.core.uploads.LimitedUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
# Attachments (附件) of contracts, follow-ups …: the largest file accepted, in MB.
SALESOPS_ATTACHMENT_MAX_MB = int(env_str("SALESOPS_ATTACHMENT_MAX_MB", "20"))
# PDF statements: a TrueType CJK font file to embed ("" = look in Debian's font paths).
SALESOPS_PDF_FONT = env_str("SALESOPS_PDF_FONT", "")
# After-sales (crm): days to handle a complaint by severity (calendar days), and how far
# back the return-visit job still plans a visit whose date has passed.
SALESOPS_COMPLAINT_DAYS = {
    "urgent": int(env_str("SALESOPS_COMPLAINT_DAYS_URGENT", "1")),
    "serious": int(env_str("SALESOPS_COMPLAINT_DAYS_SERIOUS", "3")),
    "normal": int(env_str("SALESOPS_COMPLAINT_DAYS_NORMAL", "7")),
}
SALESOPS_VISIT_LOOKBACK_DAYS = int(env_str("SALESOPS_VISIT_LOOKBACK_DAYS", "30"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("SALESOPS_LOG_LEVEL", "WARNING")},
}
