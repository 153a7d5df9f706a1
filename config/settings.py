"""Tonle settings: one file, every knob from the environment (django-environ).

With no environment at all Tonle runs embedded: a SQLite file under var/, Celery on a
filesystem broker under var/celery, a file cache under var/cache and the built-in
sandbox answering as Bakong and as a bank feed.
"""

import datetime as dt
from pathlib import Path

import environ
from csp.constants import NONCE, NONE, SELF

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
# The demo's own checkout keeps its knobs (DEBUG=True, its keys) in .env, which
# `make run` writes once (config/demo_env.py); the real environment wins over the
# file, and TONLE_ENV_FILE names another file ("" for none).
_env_file = env.str("TONLE_ENV_FILE", default=str(BASE_DIR / ".env"))
if _env_file:
    environ.Env.read_env(_env_file)

# Off unless asked for: a deployment that forgets to set it shows no debug pages.
DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str(
    "SECRET_KEY", default="django-insecure-tonle-embedded-only-change-me-in-production"
)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# The sandbox speaks Bakong and the bank feed on this same server. It exists for the
# demo and the tests; with it off (the default when DEBUG is off) every /sandbox/
# route answers 404 (core.middleware.SandboxGateMiddleware).
SANDBOX_ENABLED = env.bool("SANDBOX_ENABLED", default=DEBUG)
# Webhooks to merchants go only to public internet addresses: a URL whose host is or
# resolves to a loopback, private, link-local or cloud metadata address is refused
# when saved and when sent. True lifts that, for local testing against a receiver on
# this machine or network; never in production. The sandbox does not imply it.
WEBHOOK_ALLOW_PRIVATE_ADDRESSES = env.bool(
    "WEBHOOK_ALLOW_PRIVATE_ADDRESSES", default=False
)

INSTALLED_APPS = [
    "config.admin_apps.TonleAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "csp",
    "core",
    "merchants",
    "payments",
    "statements",
    "reconciliation",
    "sandbox",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "core.middleware.ApiNoStoreMiddleware",
    "core.middleware.JsonBodyLimitMiddleware",
    "core.middleware.SecurityHeadersMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "core.middleware.SandboxGateMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "merchants.user_language.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "core.middleware.SessionTimeoutMiddleware",
    "merchants.middleware.CurrentMerchantMiddleware",
    "merchants.middleware.AccessDeniedAuditMiddleware",
    "core.middleware.DomainErrorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # last, as django-axes asks: it turns a lockout into the lockout page
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

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
                "merchants.context_processors.current_merchant",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'tonle.sqlite3'}")
}
DB_POOL = env.bool("DB_POOL", default=False)
if DB_POOL and "postgresql" not in DATABASES["default"]["ENGINE"]:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("DB_POOL=true needs a postgres:// DATABASE_URL")
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not :memory:, so a live server, a Celery worker and the tests can share
    # the test database (pytest-xdist adds a suffix per worker).
    DATABASES["default"]["TEST"] = {
        "NAME": env.str("TEST_SQLITE_NAME", default=str(VAR_DIR / "test.sqlite3"))
    }
    # WAL + a busy timeout let the web server and the Celery worker share the file.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
elif DB_POOL:
    # Django's psycopg pool (psycopg_pool): each process keeps up to max_size open
    # connections and lends one per request or task. It replaces persistent
    # connections (Django refuses CONN_MAX_AGE with a pool). Processes × max_size
    # must stay under PostgreSQL's max_connections (or PgBouncer's pool).
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": env.int("DB_POOL_MIN_SIZE", default=1),
        "max_size": env.int("DB_POOL_MAX_SIZE", default=4),
        "timeout": env.int("DB_POOL_TIMEOUT", default=10),  # seconds to wait for one
    }
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
if DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":
    # Behind PgBouncer in transaction mode a server-side cursor (QuerySet.iterator())
    # would outlive the transaction that holds its server connection: turn them off.
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = env.bool(
        "DB_DISABLE_SERVER_SIDE_CURSORS", default=False
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("redis"):
    _default_cache = CELERY_BROKER_URL
else:
    _default_cache = f"filecache://{VAR_DIR / 'cache'}"
# Locks, the Bakong pause window and rate-limit counters live in this cache, so it must
# be shared by every process: a file cache embedded, Redis in production.
CACHES = {"default": env.cache_url("CACHE_URL", default=_default_cache)}

AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation."
        "UserAttributeSimilarityValidator"
    },
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

# Mail (the "forgot password" link): printed on the console with DEBUG (the demo),
# sent over SMTP otherwise; EMAIL_BACKEND names any other Django mail backend.
EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Tonle <tonle@localhost>")

# Logins: django-axes locks a username at one address after LOGIN_FAILURE_LIMIT
# failures for LOGIN_LOCKOUT_MINUTES; the client address is core.client_address's,
# which believes X-Forwarded-For only as far as TRUSTED_PROXY_COUNT proxies of ours
# (0: not at all, so a client cannot reset its count by sending the header).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = dt.timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "core.client_address.client_ip"
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_RESET_ON_SUCCESS = True
AXES_DISABLE_ACCESS_LOG = True  # logins are in Tonle's own audit log
AXES_VERBOSE = False

# Sessions end after SESSION_IDLE_SECONDS without a request, and in any case
# SESSION_COOKIE_AGE after sign-in (core.middleware.SessionTimeoutMiddleware).
SESSION_IDLE_SECONDS = env.int("SESSION_IDLE_SECONDS", default=30 * 60)
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=12 * 3600)

# Optional two-factor sign-in (TOTP apps) for any user who enrols a device.
OTP_TOTP_ISSUER = "Tonle"

# English and Khmer: the header's switch chooses; before that, Accept-Language.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("km", "ភាសាខ្មែរ")]
# locale: Tonle's own texts (makemessages writes here); locale_django: Khmer for the
# texts of Django's own forms that its Khmer catalogue lacks (kept by hand)
LOCALE_PATHS = [BASE_DIR / "locale", BASE_DIR / "locale_django"]
# day/month/year and 1,234.50 in every language (not Django's km 1.234,50)
FORMAT_MODULE_PATH = ["config.formats"]
TIME_ZONE = env.str("TIME_ZONE", default="Asia/Phnom_Penh")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Uploaded statement files and built packs: web and workers on several machines
# must all see one folder here (an NFS or similar mount), the third shared state.
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": MEDIA_ROOT},
    },
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = True  # pages and API docs work without collectstatic

MAX_UPLOAD_MB = env.int("MAX_UPLOAD_MB", default=20)
MAX_IMPORT_ROWS = env.int("MAX_IMPORT_ROWS", default=200_000)
API_RATE_LIMIT_PER_MINUTE = env.int("API_RATE_LIMIT_PER_MINUTE", default=120)
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_UPLOAD_MB * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# Secrets at rest: a comma-separated list of Fernet keys, newest first. Embedded mode
# derives one from SECRET_KEY so the demo works; a deployment must set its own.
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])

BAKONG_TOKEN = env.str("BAKONG_TOKEN", default="")
BAKONG_EMAIL = env.str("BAKONG_EMAIL", default="")
# Empty means the built-in sandbox at the server's own address (SITE_URL).
BAKONG_BASE_URL = env.str("BAKONG_BASE_URL", default="")
# Bakong polling: bulk md5 checks where offered, calls in flight per round, an
# optional client-side pace, and how long after expiry late payments are looked for.
BAKONG_BULK_MD5 = env.bool("BAKONG_BULK_MD5", default=True)
BAKONG_POLL_CONCURRENCY = env.int("BAKONG_POLL_CONCURRENCY", default=5)
BAKONG_MAX_REQUESTS_PER_SECOND = env.float("BAKONG_MAX_REQUESTS_PER_SECOND", default=0)
PAYMENT_EXPIRY_GRACE_SECONDS = env.int("PAYMENT_EXPIRY_GRACE_SECONDS", default=300)
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")
# The deeplink's sourceInfo: how the Bakong app names this app and where it returns
# after paying. Bakong (spec 003) needs all three once sourceInfo is sent: with any
# of them set empty, no sourceInfo is sent at all.
BAKONG_APP_NAME = env.str("BAKONG_APP_NAME", default="Tonle")
BAKONG_APP_ICON_URL = env.str(
    "BAKONG_APP_ICON_URL",
    default=SITE_URL.rstrip("/") + "/" + STATIC_URL + "img/tonle-icon.png",
)
BAKONG_APP_CALLBACK_URL = env.str(
    "BAKONG_APP_CALLBACK_URL", default=SITE_URL.rstrip("/") + "/payments/"
)

SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=False)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=False)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = SECURE_HSTS_SECONDS > 0
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("BEHIND_TLS_PROXY", False) else None
)
# a load balancer probes over plain HTTP behind the TLS it terminates
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
# Features no Tonle page uses, refused to every page and anything embedded in it.
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
    "microphone=(), payment=(), usb=()"
)
# Our own scripts and <style> blocks carry the request's nonce; nothing inline
# without it runs (no onclick=, no javascript: links). QR codes are data: images.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # exact numbers, bounded size, hostile bodies refused as invalid_input
    "DEFAULT_PARSER_CLASSES": ["core.api.parsers.DecimalJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.api.errors.exception_handler",
    "COERCE_DECIMAL_TO_STRING": True,
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Tonle API",
    "DESCRIPTION": "KHQR payment codes, Bakong payment status and read access to the "
    "ledger for a merchant's own shop and accounting tools.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

CELERY_TIMEZONE = TIME_ZONE
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 120
CELERY_TASK_TIME_LIMIT = 180
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Queues by kind of work, so a slow report or reconciliation never delays a payment
# check or a webhook. A worker started without -Q consumes every queue declared
# here (the embedded default: one worker does it all); production runs a worker
# group per kind (deploy/). `celery` catches Celery's own tasks.
TONLE_QUEUES = ("polling", "webhooks", "feeds", "reports", "reconciliation")
CELERY_TASK_QUEUES = {name: {} for name in (*TONLE_QUEUES, "celery")}
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_ROUTES = {
    # Bakong payment checks, and the beat's heartbeat (cheap, always consumed)
    "payments.check_payment": {"queue": "polling"},
    "payments.poll_due": {"queue": "polling"},
    "payments.sweep": {"queue": "polling"},
    "core.beat_tick": {"queue": "polling"},
    # webhooks to shops and from providers and banks
    "payments.deliver_webhook": {"queue": "webhooks"},
    "payments.process_inbound_event": {"queue": "webhooks"},
    "payments.sweep_deliveries": {"queue": "webhooks"},
    # bank statement feeds
    "statements.sync_*": {"queue": "feeds"},
    # documents: statement packs
    "statements.build_pack": {"queue": "reports"},
    "statements.sweep_packs": {"queue": "reports"},
    "reconciliation.*": {"queue": "reconciliation"},
}
# /metrics (Prometheus) answers only `Authorization: Bearer <METRICS_TOKEN>`; unset,
# the route answers 404.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# How long the beat's heartbeat (core.beat_tick, every 30 s) may be silent before
# /readyz says the beat, or the polling workers, are down.
BEAT_TICK_MAX_AGE_SECONDS = env.int("BEAT_TICK_MAX_AGE_SECONDS", default=120)
if CELERY_BROKER_URL.startswith("filesystem"):
    # CELERY_FILESYSTEM_DIR lets a test give its own worker a private queue.
    _celery_dir = Path(
        env.str("CELERY_FILESYSTEM_DIR", default=str(VAR_DIR / "celery"))
    )
    _queue_dir = _celery_dir / "queue"
    # Every process that sends or receives (web, worker, beat, commands) needs the
    # folder; kombu does not create it, and ours (core.celery_filesystem) makes it
    # again if it goes missing while running.
    _queue_dir.mkdir(parents=True, exist_ok=True)
    (_celery_dir / "processed").mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT = "core.celery_filesystem:Transport"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "processed_folder": str(_celery_dir / "processed"),
        "store_processed": False,
        # broadcast (pidbox) files, else kombu writes ./control in the working dir
        "control_folder": str(_celery_dir / "control"),
    }
elif CELERY_BROKER_URL.startswith(("redis", "sentinel")):
    # A message a worker took and did not ack (acks_late) goes back to the queue
    # after this long: that is how a task on a machine that died is redone. It must
    # exceed the longest hard time limit (1900 s) plus the longest countdown a task
    # is held for (webhook retries, 3600 s), else such work runs twice.
    # CELERY_BROKER_TRANSPORT_OPTIONS (JSON) adds or overrides kombu's options
    # (e.g. Sentinel's master_name).
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": 7200,
        **env.json("CELERY_BROKER_TRANSPORT_OPTIONS", default={}),
    }

# credentials never reach an error page, DEBUG on or off (core/error_reports.py)
DEFAULT_EXCEPTION_REPORTER_FILTER = (
    "core.error_reports.AlwaysSafeExceptionReporterFilter"
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # httpx logs every URL in full (a merchant's webhook URL may carry a token
        # in its query); our clients log one redacted line per call instead
        "httpx": {"level": "WARNING"},
        # sign-ins and lockouts are logged (and audited) as tonle.auth
        "axes": {"level": "WARNING"},
    },
}
