"""AgileML settings, read from the environment (see ``.env.example``).

Every value comes through a typed reader in ``agileml.env`` that raises
``ImproperlyConfigured`` naming the variable when the value is unusable.
"""

from __future__ import annotations

import datetime
import sys
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from celery.schedules import crontab
from csp.constants import NONCE, NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured
from whitenoise.compress import Compressor

from agileml.env import env_bool, env_int, env_list, env_origins, env_str, env_url
from agileml.tmpfiles import make_process_folder

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("AGILEML_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)
TESTING = "pytest" in sys.modules or env_bool("AGILEML_TESTING", False)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not (DEBUG or TESTING):
        raise ImproperlyConfigured(
            "SECRET_KEY is required when DEBUG is off: set it to a long random string "
            "(python -c 'import secrets; print(secrets.token_urlsafe(50))')."
        )
    SECRET_KEY = "insecure-development-key-only-for-debug-and-tests"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_origins("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "axes",
    "knox",
    "accounts",
    "agileml",
    "tickets",
    "experiments",
    "integrations",
    "inbox",
]

MIDDLEWARE = [
    # First, so it compresses every page and API answer (static files come precompressed from
    # WhiteNoise): Django's GZipMiddleware, padding each response against BREACH, at zlib level 1.
    "agileml.compression.GZipMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # The MLflow client's logging calls skip the rest (see the module's docstring).
    "experiments.tracking.middleware.MlflowLoggingLane",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last: turns a sign-in that django-axes refused into the lockout answer (accounts.throttling).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "agileml.urls"
WSGI_APPLICATION = "agileml.wsgi.application"
ASGI_APPLICATION = "agileml.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # Site-wide and planning templates, then each experiments capability's own folder.
        "DIRS": [
            BASE_DIR / "templates",
            *(
                BASE_DIR / "experiments" / part / "templates"
                for part in ("tracking", "benchmarks", "registry", "abtests", "dashboards")
            ),
        ],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "tickets.context_processors.navigation",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------
DATABASE_URL = env_url(
    "DATABASE_URL",
    f"sqlite:///{VAR_DIR / 'agileml.sqlite3'}",
    schemes={"sqlite", "postgres", "postgresql", "pgsql"},
)
try:
    _db = dj_database_url.parse(
        DATABASE_URL, conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0), conn_health_checks=True
    )
except ValueError as exc:
    raise ImproperlyConfigured(f"DATABASE_URL={DATABASE_URL!r} cannot be parsed: {exc}") from None
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server read while a worker writes; the busy timeout makes a
    # writer wait for the other instead of failing with "database is locked". Connections are
    # closed after each request unless DATABASE_CONN_MAX_AGE says otherwise (the web server does).
    _db["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", 0, minimum=0)
    _db["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
    }
    # A file (not memory) so worker processes started by tests share the test database.
    _db["TEST"] = {"NAME": str(VAR_DIR / "test-agileml.sqlite3")}
    Path(_db["NAME"]).parent.mkdir(parents=True, exist_ok=True)
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache ----------------------------------------------------------------------------
# Rendered page fragments that every viewer of a project sees alike (tickets/fragments.py), keyed
# on the project's content version, so a change shows at once whatever the backend. Default: each
# process keeps its own (local memory, nothing to run); CACHE_URL=redis://host:6379/1 shares one
# cache between the web workers (each fragment is rendered once, not once per process).
CACHE_URL = env_url("CACHE_URL", "locmem://", schemes={"locmem", "redis", "rediss", "dummy"})
if CACHE_URL.startswith("redis"):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}}
elif CACHE_URL.startswith("dummy"):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "OPTIONS": {"MAX_ENTRIES": 5000}}}
# How long a cached fragment is kept; its key changes with every change it shows anyway.
FRAGMENT_CACHE_SECONDS = env_int("FRAGMENT_CACHE_SECONDS", 600, minimum=0)

# --- Auth -----------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:
    # Hashing the standing test users' passwords with PBKDF2 dominates test time otherwise.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
AUTHENTICATION_BACKENDS = [
    # First: refuses any sign-in (web or API) while the username or the address is locked out.
    "axes.backends.AxesStandaloneBackend",
    # Django's ModelBackend, finding the signed-in user without building the query anew each request.
    "accounts.backends.UserBackend",
]
# Failed sign-ins (login page and POST /api/v1/auth/token/) counted per username and per address;
# at the limit both are refused until LOGIN_LOCKOUT_SECONDS have passed since the last failure.
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = datetime.timedelta(seconds=env_int("LOGIN_LOCKOUT_SECONDS", 900, minimum=1))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "accounts.throttling.lockout_response"
AXES_VERBOSE = False
# Named API tokens (django-rest-knox, stored hashed; see accounts/models.py). They do not expire:
# their owner revokes them, and changing the password revokes them all.
KNOX_TOKEN_MODEL = "accounts.ApiToken"  # noqa: S105 (a model name)
REST_KNOX = {"TOKEN_TTL": None, "TOKEN_PREFIX": "agileml_", "AUTO_REFRESH": False}
# knox's own migrations create its default token table whether or not the model is swapped; that
# unused table would reference users and block flushing them on PostgreSQL. Without migrations,
# knox gets no table: its only model is swapped out.
MIGRATION_MODULES = {"knox": None}
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "project-list"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- Static and uploaded files -------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# STATIC_ROOT may be shared by several processes of one machine (the test suite's app stacks).
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "staticfiles")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# Like a production site: `collectstatic` (run by `make run` and once per test session) writes
# content-hashed copies with brotli and gzip versions beside them; WhiteNoise serves those with a
# far-future, immutable Cache-Control, so a browser fetches plotly once per release.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "agileml.staticfiles.StaticFilesStorage"},
}
# Before anything is collected (or with DEBUG on) templates name the plain files, which WhiteNoise
# serves from static/ (60 s cache); with DEBUG on it picks up changes as they are made.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
# Only the hashed copies are kept (templates name no others), and source maps, which only a
# developer's tools fetch, are not compressed: this halves the work of collectstatic.
WHITENOISE_KEEP_ONLY_HASHED_FILES = True
WHITENOISE_SKIP_COMPRESS_EXTENSIONS = [*Compressor.SKIP_COMPRESS_EXTENSIONS, "map"]
if TESTING:
    # pytest-django's live server answers /static/ itself, through the finders: this one finds
    # the collected (hashed) files too, so browser tests load exactly what production serves.
    STATICFILES_FINDERS = [
        "django.contrib.staticfiles.finders.FileSystemFinder",
        "django.contrib.staticfiles.finders.AppDirectoriesFinder",
        "agileml.staticfiles.CollectedFilesFinder",
    ]
# Tests (and the worker processes they start) keep their files apart from a running `make run`.
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / ("test-media" if TESTING else "media"))))
# One folder per process (agileml/tmpfiles.py), so the files of a process killed mid-upload are
# found and removed when it exits and at start-up (manage.py clear_upload_tmp).
UPLOAD_TEMP_ROOT = VAR_DIR / "tmp"
FILE_UPLOAD_TEMP_DIR = str(make_process_folder(UPLOAD_TEMP_ROOT))
# Files above this size are streamed to a temporary file instead of held in memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
# Largest non-file request body (JSON, forms); large enough for an MLflow log-batch.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("REQUEST_MAX_BYTES", 10 * 1024 * 1024, minimum=1024)
# Largest evaluation file (ground truth or predictions) a user may upload.
UPLOAD_MAX_BYTES = env_int("UPLOAD_MAX_BYTES", 256 * 1024 * 1024, minimum=1024)
# Largest Jira CSV export a lead may upload on the import page (the command reads any size).
JIRA_IMPORT_MAX_BYTES = env_int("JIRA_IMPORT_MAX_BYTES", 20 * 1024 * 1024, minimum=1024)
# Largest single run artifact logged through the tracking API.
ARTIFACT_MAX_BYTES = env_int("ARTIFACT_MAX_BYTES", 64 * 1024 * 1024, minimum=1024)

# --- HTTPS ----------------------------------------------------------------------------
HTTPS = env_bool("HTTPS", False)
SESSION_COOKIE_SECURE = HTTPS
# Django's database sessions, read without building the query anew each request.
SESSION_ENGINE = "accounts.sessions"
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000 if HTTPS else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
if env_bool("TRUST_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# --- Content-Security-Policy (django-csp) ---------------------------------------------
# Every page: scripts only from our own static files (or an inline script carrying the
# request's nonce), images from ourselves or data: URLs (so Markdown cannot load tracking
# pixels from other hosts), nothing from other hosts at all. Inline styles stay allowed:
# plotly.js and Bootstrap set them at run time, and a style cannot run script.
# Responses that set their own policy (demo material's sandbox) keep it.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# --- REST API -------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "agileml.authentication.BearerOrTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "agileml.api.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "agileml.api.Pagination",
    "PAGE_SIZE": 50,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "AgileML API",
    "DESCRIPTION": (
        "Plan ML work as sprints of question and code tickets, attach experiment runs, "
        "and evaluate challengers against the champion. Authenticate with "
        "`Authorization: Token <token>` (or `Bearer <token>`) from `POST /api/v1/auth/token/`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        # Several "status" fields with different choices: name each set after its model.
        "TicketStatusEnum": "tickets.models.TicketStatus",
        "EpicStatusEnum": "tickets.models.EpicStatus",
        "RunStatusEnum": "experiments.models.RunStatus",
        "EvaluationStatusEnum": "experiments.models.EvaluationStatus",
        # Two "state" fields: sprints and share links.
        "SprintStateEnum": "tickets.models.SprintState",
        "ShareLinkStateEnum": "experiments.models.ShareLinkState",
        # Webhooks: the event types they subscribe to, and their payload format.
        "EventTypeEnum": "agileml.events.TYPES",
        "WebhookKindEnum": "integrations.webhooks.models.WebhookKind",
        # Online tests: their unit of randomisation, state, decision and outcome kinds; and the names
        # the fields they share keep elsewhere.
        "UnitEnum": "experiments.models.BenchmarkUnit",
        "DecisionEnum": "tickets.models.Decision",
        "AbTestUnitEnum": "experiments.models.AbTestUnit",
        "AbTestStateEnum": "experiments.models.AbTestState",
        "AbTestDecisionEnum": "experiments.models.AbTestDecision",
        "AbTestOutcomeKindEnum": "experiments.evaluation.online.KINDS",
        # Two "kind" fields: tickets and notifications.
        "TicketKindEnum": "tickets.models.TicketKind",
        "NotificationKindEnum": "inbox.models.NotificationKind",
    },
}

# --- Celery ---------------------------------------------------------------------------
CELERY_BROKER_URL = env_url(
    "CELERY_BROKER_URL",
    # Tests get their own embedded broker so a running `make run` never takes their tasks.
    f"filesystem://{VAR_DIR / ('test-broker' if TESTING else 'broker')}",
    schemes={"filesystem", "redis", "rediss", "amqp"},
)
CELERY_BROKER_TRANSPORT_OPTIONS: dict = {}
if CELERY_BROKER_URL.startswith("filesystem://"):
    # The embedded broker (agileml/broker.py): message files under one directory, published
    # atomically, so no process can read half a message. `filesystem:///some/dir` picks the
    # directory; Celery itself is given a bare URL and the transport class.
    from agileml.broker import TRANSPORT_PATH, transport_options

    _broker_dir = Path(urlsplit(CELERY_BROKER_URL).path or str(VAR_DIR / "broker"))
    # Poll often: a queued job should start within a tenth of a second.
    CELERY_BROKER_TRANSPORT_OPTIONS = transport_options(_broker_dir, polling_interval=0.1)
    CELERY_BROKER_TRANSPORT = TRANSPORT_PATH
    # kombu wants a host even for folders; naming one keeps it from warning on every connection.
    # Celery prefers a CELERY_BROKER_URL found in the environment, but not over the read/write URLs.
    CELERY_BROKER_URL = CELERY_BROKER_READ_URL = CELERY_BROKER_WRITE_URL = "filesystem://localhost//"
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A pool child that died mid-task has its message re-queued after this wait (Celery's default is 10 s).
CELERY_WORKER_LOST_WAIT = 2.0
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 600, minimum=1)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 660, minimum=1)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# The worker's timer thread must notice a warm shutdown quickly: with the default (1 s) an idle
# worker took 8.5 s to stop after SIGTERM, with 0.1 s 1.6 s (make run's Ctrl-C must finish in 10 s).
CELERY_WORKER_TIMER_PRECISION = 0.1
CELERY_TIMEZONE = TIME_ZONE
# Periodic jobs, run by `celery beat`. Later jobs (the evaluation sweeper) join here.
CELERY_BEAT_SCHEDULE = {
    "clear-expired-sessions": {"task": "agileml.tasks.clear_expired_sessions", "schedule": 3600.0},
}

CELERY_BEAT_SCHEDULE["notification-digest"] = {
    "task": "inbox.tasks.notification_digest_send",
    # Once a day at NOTIFICATION_DIGEST_HOUR (TIME_ZONE) for users who chose the daily digest.
    "schedule": crontab(minute=0, hour=env_int("NOTIFICATION_DIGEST_HOUR", 7, minimum=0) % 24),
}

# --- E-mail (notifications) -------------------------------------------------------------
# Printed to the console unless configured: `make run` needs no mail server.
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", str(VAR_DIR / "mail"))
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "AgileML <agileml@localhost>")
# The address links in e-mails start with.
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000")

# --- Evaluations ----------------------------------------------------------------------
# A running evaluation writes its heartbeat this often (seconds) ...
EVALUATION_HEARTBEAT_SECONDS = env_int("EVALUATION_HEARTBEAT_SECONDS", 1, minimum=1)
# ... and one whose heartbeat is older than this is presumed dead (worker killed): a redelivered
# message, the sweeper or a starting worker takes it over at once.
EVALUATION_STALE_SECONDS = env_int("EVALUATION_STALE_SECONDS", 6, minimum=2)
# A queued evaluation older than this has its message re-sent (an embedded broker loses messages).
EVALUATION_RESEND_SECONDS = env_int("EVALUATION_RESEND_SECONDS", 300, minimum=1)
# Claims per evaluation before it is failed for good (a job that kills its worker every time).
EVALUATION_MAX_ATTEMPTS = env_int("EVALUATION_MAX_ATTEMPTS", 3, minimum=1)
# A job that keeps failing transiently (stored file missing, database unreachable) is given up
# this long after it was requested, with the last error as its message.
EVALUATION_GIVE_UP_SECONDS = env_int("EVALUATION_GIVE_UP_SECONDS", 24 * 3600, minimum=1)
# Bootstrap resamples per evaluation; `manage.py evaluate` uses the same default.
EVALUATION_RESAMPLES = env_int("EVALUATION_RESAMPLES", 1000, minimum=1)
# Seconds one evaluation may take before it is stopped (soft: recorded as failed; hard: the process is killed).
EVALUATION_SOFT_TIME_LIMIT = env_int("EVALUATION_SOFT_TIME_LIMIT", CELERY_TASK_SOFT_TIME_LIMIT, minimum=1)
EVALUATION_TIME_LIMIT = env_int("EVALUATION_TIME_LIMIT", CELERY_TASK_TIME_LIMIT, minimum=1)
# What one evaluation's rows may take in a worker process, in MB (the process's own ~170 MB comes on top).
# A binary, multiclass or regression evaluation larger than that reads its inputs from disk a row range at
# a time, in shards sized to it (experiments/evaluation/stored.py, sharding.py).
EVALUATION_MEMORY_MB = env_int("EVALUATION_MEMORY_MB", 1500, minimum=50)
# Shards hold at most this many rows (and no more than EVALUATION_MEMORY_MB allows); an evaluation of more
# than one shard runs them as Celery tasks on any worker (experiments/benchmarks/services/sharded.py).
EVALUATION_SHARD_ROWS = env_int("EVALUATION_SHARD_ROWS", 5_000_000, minimum=1)
# The Celery queue shard tasks go to (empty: the default queue every worker listens to). A named queue
# lets large evaluations' shards run on workers started with `-Q <name>` (machines with more memory).
EVALUATION_SHARD_QUEUE = env_str("EVALUATION_SHARD_QUEUE", "")
# Tests only: a shard task waits this long (heartbeating) before computing, so a test can kill it mid-shard.
EVALUATION_SHARD_PAUSE_SECONDS = env_int("EVALUATION_SHARD_PAUSE_SECONDS", 0, minimum=0)
CELERY_BEAT_SCHEDULE["evaluation-sweep"] = {
    "task": "experiments.tasks.evaluation_sweep",
    "schedule": float(env_int("EVALUATION_SWEEP_SECONDS", 30, minimum=1)),
}
# /healthz: each worker writes a heartbeat row this often (agileml/heartbeat.py); a worker whose
# last one is older than three of these is presumed gone.
WORKER_HEARTBEAT_SECONDS = env_int("WORKER_HEARTBEAT_SECONDS", 5, minimum=1)
HEALTHZ_WORKER_STALE_SECONDS = 3 * WORKER_HEARTBEAT_SECONDS
# The scheduler beats at start and after every sweep; three missed sweeps (plus slack for a sweep
# waiting behind busy workers) mean it is down.
# Online tests whose aggregation message was lost are aggregated by this sweep.
CELERY_BEAT_SCHEDULE["abtest-sweep"] = {
    "task": "experiments.tasks.abtest_sweep",
    "schedule": float(env_int("ABTEST_SWEEP_SECONDS", 30, minimum=1)),
}
HEALTHZ_SCHEDULER_STALE_SECONDS = 3 * CELERY_BEAT_SCHEDULE["evaluation-sweep"]["schedule"] + 30

# --- Integrations: outgoing webhooks and Git links ------------------------------------------
# The site's address, for absolute links in webhook and chat messages.
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
# Seconds a webhook receiver has to connect and to answer.
WEBHOOK_TIMEOUT_SECONDS = env_int("WEBHOOK_TIMEOUT_SECONDS", 10, minimum=1)
# Deliveries to loopback, private, link-local and other non-public addresses are refused unless this is
# on (a receiver on the same machine or network, and the tests' local receiver).
WEBHOOK_ALLOW_PRIVATE = env_bool("WEBHOOK_ALLOW_PRIVATE", False)
# A delivery is retried with exponential back-off for this long; an endpoint whose every attempt over
# this span failed is disabled.
WEBHOOK_RETRY_SECONDS = env_int("WEBHOOK_RETRY_SECONDS", 24 * 3600, minimum=60)
# The sweeper sends deliveries that are due (retries, and first attempts whose message was lost).
# Sends go to this queue. The default queue works out of the box; a busy site gives webhooks a worker of
# their own, so slow receivers never hold up evaluations:
#   WEBHOOK_QUEUE=webhooks, and `celery -A agileml worker -Q webhooks --pool=threads --concurrency=50`.
WEBHOOK_QUEUE = env_str("WEBHOOK_QUEUE", "celery")
CELERY_TASK_ROUTES = {"integrations.tasks.webhook_deliver": {"queue": WEBHOOK_QUEUE}}
CELERY_BEAT_SCHEDULE["webhook-sweep"] = {
    "task": "integrations.tasks.webhook_sweep",
    "schedule": float(env_int("WEBHOOK_SWEEP_SECONDS", 30, minimum=1)),
}

# --- Logging --------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "filters": {"one_line_forbidden": {"()": "agileml.log_filters.OneLineForbidden"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "axes": {"level": "WARNING"},
        "django.request": {"filters": ["one_line_forbidden"]},
    },
}
