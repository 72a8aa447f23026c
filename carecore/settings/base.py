"""Settings shared by every environment. All configuration comes from environment variables.

`local`, `test` and `production` import this module and change only what differs; see
`.env.example` for every variable and docs/configuration.md for what each one does.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import environ
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from redis.exceptions import ConnectionError as RedisConnectionError

from .providers import email_backend_for
from .proxies import parse_trusted_proxies
from .redis_urls import (
    channel_layer_host,
    checked_redis_url,
    is_sentinel,
    redis_database_url,
    redis_server_url,
    sentinel_transport_options,
)

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()

SECRET_KEY = env("DJANGO_SECRET_KEY")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=[])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
CSRF_FAILURE_VIEW = "carecore.common.errors.csrf_failure"

INSTALLED_APPS = [
    "carecore.common.apps.CareCoreAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "knox",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "phonenumber_field",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "carecore.common",
    "carecore.accounts",
    "carecore.audit",
    "carecore.notifications",
    "carecore.realtime",
    "portal",
    "messaging",
    "intake",
    "careplans",
    "interop",
    "patient_web",
    "staff_web",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "carecore.common.middleware.RequestContextMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    # Idle timeout and absolute lifetime of cookie sessions (carecore/accounts/sessions.py).
    "carecore.accounts.sessions.SessionIdleTimeoutMiddleware",
    # The API's per-user throttle on every signed-in page (docs/web-portal.md, "Throttling").
    "patient_web.middleware.SignedInThrottleMiddleware",
    # Django's, with a request's message storage made only when used
    # (carecore/common/flash_messages.py).
    "carecore.common.flash_messages.LazyMessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # django-csp's, its headers built once while only the settings shape them.
    "carecore.common.content_security_policy.ContentSecurityPolicyMiddleware",
    # Last, so it sees the outcome of authentication in the admin login form.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "carecore.urls"
ASGI_APPLICATION = "carecore.asgi.application"
WSGI_APPLICATION = "carecore.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "carecore" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- database: PostgreSQL only, psycopg 3 with Django's connection pool -----------------------
DATABASES = {"default": env.db_url("DATABASE_URL")}
# Django's PostgreSQL backend; its DEBUG query log writes a statement's parameters into it only
# when the log is read (carecore/common/postgresql/base.py).
_POSTGRESQL_ENGINE = "carecore.common.postgresql"
DATABASES["default"]["ENGINE"] = _POSTGRESQL_ENGINE
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# A socket directory may also be given percent-encoded in the host part
# (postgres://user@%2Fvar%2Frun%2Fpostgresql/db); django-environ 0.14 leaves it quoted.
DATABASES["default"]["HOST"] = unquote(DATABASES["default"].get("HOST", ""))
DATABASES["default"].setdefault("OPTIONS", {})
DATABASES["default"]["OPTIONS"]["pool"] = {
    "min_size": env.int("DATABASE_POOL_MIN_SIZE", default=1),
    "max_size": env.int("DATABASE_POOL_MAX_SIZE", default=10),
    "timeout": env.int("DATABASE_POOL_TIMEOUT", default=10),
}
# The pool checks every connection before handing it out, so a connection the server dropped
# (restart, failover, pg_terminate_backend) is replaced instead of failing a request or a Celery
# task: by its socket, and with an empty query when the socket cannot tell (something to read, or
# idle longer than this). Our backend gives the pool that check (carecore/common/postgresql/
# pool_check.py says why not psycopg's, an empty query every time).
DATABASES["default"]["POOL_CHECK_IDLE_SECONDS"] = env.float(
    "DATABASE_POOL_CHECK_IDLE_SECONDS", default=1.0
)
# Parameters are bound by the server, not pasted into the SQL by psycopg, so a query's text is the
# same on every run and psycopg prepares it on its connection once it has run five times: then
# PostgreSQL plans it once per connection, not on every run. Under the send benchmark planning
# was a third of PostgreSQL's CPU per request (docs/benchmarks.md). Raw SQL must say the type of
# a parameter PostgreSQL cannot infer (`%s::text`). Behind PgBouncer nothing is prepared (below).
DATABASES["default"]["OPTIONS"]["server_side_binding"] = True
DATABASES["default"]["OPTIONS"]["prepare_threshold"] = 5
# Threads per web process running Django's (sync) request handler (carecore/asgi.py). Each holds
# a pooled database connection while it serves a request, so keep it under the pool's max_size:
# the rest of the pool serves the WebSocket feed's database work.
CARECORE_WEB_THREADS = env.int("CARECORE_WEB_THREADS", default=4)
# Each web process sets its long-lived heap aside from Python's full garbage collections, at start
# and again after its first N requests (carecore/common/gc_freeze.py; 0: at start only).
CARECORE_GC_FREEZE = env.bool("CARECORE_GC_FREEZE", default=True)
CARECORE_GC_FREEZE_AFTER_REQUESTS = env.int("CARECORE_GC_FREEZE_AFTER_REQUESTS", default=300)
# Off: with the pool on, it only hands the pool psycopg's own check, which ours replaces.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = False
# Behind PgBouncer in transaction mode (docs/scaling.md, "Connection pooling"): a server
# connection serves one transaction, then another client's. So no second pool in front of it, no
# server-side cursors (they live in a session) and no prepared statements (psycopg prepares a
# query on its connection after five runs; the next transaction may land on another one).
DATABASE_PGBOUNCER = env.bool("DATABASE_PGBOUNCER", default=False)


def _behind_pgbouncer(database: dict) -> None:
    database["OPTIONS"].pop("pool", None)
    database["OPTIONS"]["prepare_threshold"] = None
    database["DISABLE_SERVER_SIDE_CURSORS"] = True
    database["CONN_MAX_AGE"] = 0


# PostgreSQL prices a page read out of order at four read in order (`random_page_cost` 4), a
# default that assumes very little caching; its documentation suggests lowering it where the
# data sits in memory or on SSDs, as a clinic's hot tables and indexes do. At 4 the planner
# hashed whole tables to join a few rows by key: a staff member's patients were found by reading
# all 10,000 care teams of the full-size seed (1 ms, and growing with the clinic) where 100 index
# look-ups take 0.2 ms (docs/benchmarks.md). Given at connection start, so it holds whatever the
# server's configuration; PgBouncer refuses start-up options, so behind it set the same on the
# server (docs/scaling.md). Empty: the server's own value.
DATABASE_RANDOM_PAGE_COST = env.str("DATABASE_RANDOM_PAGE_COST", default="1.1")


def _with_planner_costs(database: dict) -> None:
    if DATABASE_PGBOUNCER or not DATABASE_RANDOM_PAGE_COST:
        return
    cost = float(DATABASE_RANDOM_PAGE_COST)  # a number, or the settings fail to load
    given = database["OPTIONS"].get("options", "")
    database["OPTIONS"]["options"] = f"{given} -c random_page_cost={cost}".strip()


if DATABASE_PGBOUNCER:
    _behind_pgbouncer(DATABASES["default"])
_with_planner_costs(DATABASES["default"])
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- read replicas (docs/scaling.md, "Read replicas"): none unless listed ----------------------
# Each URL is a streaming replica of DATABASE_URL. Reads that tolerate lag go to a healthy
# replica; reads that must see a fresh write go to the primary (carecore/common/replicas.py).
REPLICA_DATABASES: list[str] = []
for _number, _url in enumerate(env.list("DATABASE_REPLICA_URLS", default=[]), start=1):
    _alias = f"replica{_number}"
    _replica = environ.Env.db_url_config(_url)
    DATABASES[_alias] = {
        **_replica,
        "ENGINE": _POSTGRESQL_ENGINE,
        "HOST": unquote(_replica.get("HOST", "")),
        "ATOMIC_REQUESTS": False,
        # As for the primary: a dropped connection is replaced.
        "CONN_HEALTH_CHECKS": False,
        "POOL_CHECK_IDLE_SECONDS": DATABASES["default"]["POOL_CHECK_IDLE_SECONDS"],
        "OPTIONS": {
            **_replica.get("OPTIONS", {}),
            "pool": DATABASES["default"]["OPTIONS"]["pool"],
            "server_side_binding": True,
            "prepare_threshold": DATABASES["default"]["OPTIONS"]["prepare_threshold"],
        },
        # Tests see one database: a replica alias is the primary's connection there.
        "TEST": {"MIRROR": "default"},
    }
    if DATABASE_PGBOUNCER:
        _behind_pgbouncer(DATABASES[_alias])
    _with_planner_costs(DATABASES[_alias])
    REPLICA_DATABASES.append(_alias)
if REPLICA_DATABASES:
    DATABASE_ROUTERS = ["carecore.common.replicas.PrimaryWhenItMattersRouter"]
    # Before anything reads the database (sessions, authentication, the views).
    MIDDLEWARE.insert(
        MIDDLEWARE.index("whitenoise.middleware.WhiteNoiseMiddleware") + 1,
        "carecore.common.replicas.ReplicaPinningMiddleware",
    )
MULTIDB_PINNING_SECONDS = env.int("CARECORE_REPLICA_PIN_SECONDS", default=15)
MULTIDB_PINNING_COOKIE_HTTPONLY = True
CARECORE_REPLICA_MAX_LAG_SECONDS = env.float("CARECORE_REPLICA_MAX_LAG_SECONDS", default=10.0)
CARECORE_REPLICA_LAG_CHECK_SECONDS = env.float("CARECORE_REPLICA_LAG_CHECK_SECONDS", default=5.0)

# --- client identity behind proxies (docs/security.md) ----------------------------------------
# The load balancers / proxies we run, as IP addresses or CIDR networks. Only a connection from
# one of them may say who the client is (X-Forwarded-For, X-Forwarded-Proto, X-Request-ID);
# every other peer is the client itself. Empty (the default): nobody is trusted. The web process
# passes the same variable to uvicorn's --forwarded-allow-ips (Procfile, Dockerfile, compose,
# deploy/k8s), and throttles, lockout, the request id and the audit trail's ip all use it.
try:
    CARECORE_TRUSTED_PROXIES = parse_trusted_proxies(
        env.list("CARECORE_TRUSTED_PROXIES", default=[])
    )
except ValueError as _error:
    raise ImproperlyConfigured(str(_error)) from None

# --- Redis: one server, separate logical databases for broker and cache ----------------------
REDIS_URL = redis_server_url(env("REDIS_URL"))
# Redis behind Sentinel (docs/scaling.md): REDIS_URL lists the sentinels, this names the master.
REDIS_SENTINEL_MASTER = env("REDIS_SENTINEL_MASTER", default="")
REDIS_SENTINEL_PASSWORD = env("REDIS_SENTINEL_PASSWORD", default="")
if is_sentinel(REDIS_URL) and not REDIS_SENTINEL_MASTER:
    raise ImproperlyConfigured(
        "REDIS_URL lists Sentinel addresses: set REDIS_SENTINEL_MASTER to the name the sentinels "
        "monitor (sentinel monitor <name> ...)."
    )
CACHES = {
    "default": {
        "BACKEND": "carecore.common.redis_clients.RedisCache",
        "LOCATION": checked_redis_url(
            env("CACHE_URL", default=redis_database_url(REDIS_URL, 1)), setting="CACHE_URL"
        ),
        "KEY_PREFIX": env("CACHE_KEY_PREFIX", default="carecore"),
        # Short timeouts: the cache (throttle counts, replica pins) is on every request's path,
        # and callers fall back when it does not answer (docs/security.md, "Redis outage");
        # a Redis that hangs must cost a request a second, not redis-py's default minutes.
        "OPTIONS": {"socket_connect_timeout": 1.0, "socket_timeout": 1.0},
    }
}
if is_sentinel(CACHES["default"]["LOCATION"]):
    CACHES["default"]["OPTIONS"]["pool_class"] = "carecore.common.redis_clients.SentinelCachePool"

# --- real-time feed (docs/realtime.md): Channels over Redis, tickets in the same database ------
CARECORE_REALTIME_REDIS_URL = checked_redis_url(
    env("CHANNEL_LAYER_URL", default=redis_database_url(REDIS_URL, 2)), setting="CHANNEL_LAYER_URL"
)
CHANNEL_LAYERS: dict[str, dict[str, Any]] = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            "hosts": [
                {
                    **channel_layer_host(
                        CARECORE_REALTIME_REDIS_URL,
                        master=REDIS_SENTINEL_MASTER,
                        sentinel_password=REDIS_SENTINEL_PASSWORD,
                    ),
                    "socket_connect_timeout": 2,
                    # redis-py 8 reads with a 5 s timeout by default, and channels_redis blocks
                    # 5 s in BZPOPMIN waiting for messages: the two race, and a busy event loop
                    # loses, closing idle sockets. Reads get more than the blocking time.
                    "socket_timeout": 15,
                    # After a Redis restart the pool's connections are dead: retry a command
                    # once on a fresh one instead of failing it (a repeated publish is dropped
                    # by the socket as a duplicate seq).
                    "retry_on_error": [RedisConnectionError],
                }
            ],
            "prefix": "carecore:asgi",
            # Messages a slow socket may have waiting before Redis drops the oldest; the
            # socket's replay from the database fills any hole that leaves.
            "capacity": env.int("CARECORE_REALTIME_CHANNEL_CAPACITY", default=1000),
            "expiry": 60,
        },
    }
}
CARECORE_REALTIME_TICKET_SECONDS = env.int("CARECORE_REALTIME_TICKET_SECONDS", default=30)
CARECORE_REALTIME_HEARTBEAT_SECONDS = env.float("CARECORE_REALTIME_HEARTBEAT_SECONDS", default=25)
CARECORE_REALTIME_RETENTION_DAYS = env.int("CARECORE_REALTIME_RETENTION_DAYS", default=7)
CARECORE_REALTIME_PRUNE_BATCH = env.int("CARECORE_REALTIME_PRUNE_BATCH", default=5000)
# After commit, give up publishing to Redis after this long (the replay delivers the events).
CARECORE_REALTIME_PUBLISH_TIMEOUT_SECONDS = env.float(
    "CARECORE_REALTIME_PUBLISH_TIMEOUT_SECONDS", default=2.0
)

# --- message triage (docs/triage.md) -------------------------------------------------------------
# Build the medspaCy pipeline in the background when a process starts, so that the first patient
# message screened after a deploy does not wait for it.
CARECORE_TRIAGE_WARM_UP = env.bool("CARECORE_TRIAGE_WARM_UP", default=True)

# --- accounts and authentication ---------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
# The patient portal's pages (patient_web/): where a signed-out visitor is sent.
LOGIN_URL = "/sign-in/"
LOGIN_REDIRECT_URL = "/"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    # django-axes first: it refuses locked-out (account, ip) pairs before any password check.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# Failed-login lockout (django-axes): keyed on account *and* ip, so an attacker elsewhere cannot
# lock a user out; on in every environment.
AXES_ENABLED = True
AXES_FAILURE_LIMIT = env.int("CARECORE_LOGIN_FAILURE_LIMIT", default=10)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("CARECORE_LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_USERNAME_FORM_FIELD = "email"
# The API's `email` and the admin form's `username` are the same account (lower-cased).
AXES_USERNAME_CALLABLE = "carecore.accounts.lockout.username_of"
# axes' database handler plus a limit per account from all addresses together, so a guessing
# campaign spread over many addresses still ends (carecore/accounts/lockout.py).
AXES_HANDLER = "carecore.accounts.lockout.AccountLockoutHandler"
CARECORE_ACCOUNT_FAILURE_LIMIT = env.int("CARECORE_ACCOUNT_FAILURE_LIMIT", default=50)
# The client ip as carecore/common/client_identity.py resolves it (CARECORE_TRUSTED_PROXIES).
AXES_CLIENT_IP_CALLABLE = "carecore.common.client_identity.client_ip"
AXES_VERBOSE = False
# Axes' log lines name the account by a keyed hash, never the e-mail typed (docs/security.md).
AXES_CLIENT_STR_CALLABLE = "carecore.accounts.axes_logging.client_str"
# The audit trail records every sign-in; axes' own access log would also open a server-side
# session (and set a session cookie) on every API login, which a token client never uses.
AXES_DISABLE_ACCESS_LOG = True
AXES_LOCKOUT_CALLABLE = "carecore.accounts.lockout.lockout_response"

CARECORE_REQUIRE_STAFF_MFA = env.bool("CARECORE_REQUIRE_STAFF_MFA", default=True)
OTP_TOTP_ISSUER = "CareCore"
# The admin never shows a TOTP secret or its QR code (docs/security.md, "Admin"): whoever saw
# it could make the codes. Enrolment shows it once, to the user, through the API.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

REST_KNOX = {
    "AUTH_HEADER_PREFIX": "Bearer",
    "TOKEN_TTL": timedelta(hours=env.int("CARECORE_TOKEN_TTL_HOURS", default=12)),
    "TOKEN_LIMIT_PER_USER": None,
    "AUTO_REFRESH": False,
}
# Sessions (carecore/accounts/sessions.py, docs/security.md "Sessions"): TOKEN_TTL above is the
# absolute lifetime of a token; a token or cookie session unused for this long is dead (HIPAA
# automatic logoff). Staff work on shared clinic machines: 30 minutes. Patients: 60.
CARECORE_STAFF_IDLE_MINUTES = env.int("CARECORE_STAFF_IDLE_MINUTES", default=30)
CARECORE_PATIENT_IDLE_MINUTES = env.int("CARECORE_PATIENT_IDLE_MINUTES", default=60)
# Live tokens per user; signing in once more drops the oldest.
CARECORE_TOKENS_PER_USER = env.int("CARECORE_TOKENS_PER_USER", default=10)

# --- REST framework ---------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # knox tokens with an idle timeout (carecore/accounts/sessions.py).
        "carecore.accounts.sessions.IdleTimeoutTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["carecore.common.renderers.OrjsonRenderer"],
    # JSON only; the attachment upload declares multipart itself. (Form encodings cannot say
    # null and turn "" into "not sent", so they would let malformed input through.) DRF's
    # parser, refusing nesting deeper than 64 and lone surrogates (carecore/common/parsers.py).
    "DEFAULT_PARSER_CLASSES": ["carecore.common.parsers.JSONParser"],
    # `?format=` with no value is an unknown format (404), as `?format=xml` is.
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "carecore.common.negotiation.ContentNegotiation",
    "DEFAULT_PAGINATION_CLASS": "carecore.common.pagination.CursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_THROTTLE_CLASSES": [
        "carecore.common.throttling.AnonRateThrottle",
        "carecore.common.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env("CARECORE_THROTTLE_ANON", default="60/min"),
        "user": env("CARECORE_THROTTLE_USER", default="600/min"),
        "auth": env("CARECORE_THROTTLE_AUTH", default="20/min"),
        # Sign-up, strictly (docs/security.md, "Sign-up enumeration"): per client and per
        # target address.
        "signup": env("CARECORE_THROTTLE_SIGNUP", default="10/hour"),
        "signup_address": env("CARECORE_THROTTLE_SIGNUP_ADDRESS", default="5/hour"),
    },
    "EXCEPTION_HANDLER": "carecore.common.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "carecore.common.schema.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
CARECORE_MAX_PAGE_SIZE = 200

SPECTACULAR_SETTINGS = {
    "TITLE": "CareCore API",
    "DESCRIPTION": "Virtual dermatology and gut-health clinic: booking, messaging, intake, plans.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # API clients send `Authorization: Bearer <token>`; session auth exists for the admin only.
    "AUTHENTICATION_WHITELIST": ["carecore.accounts.sessions.IdleTimeoutTokenAuthentication"],
    # Several resources have a `status`; give each set of choices its own schema name.
    "ENUM_NAME_OVERRIDES": {
        "AppointmentStatusEnum": "portal.models.AppointmentStatus",
        "QuestionnaireResponseStatusEnum": "intake.models.ResponseStatus",
        "IntakeReviewStatusEnum": "intake.models.ReviewStatus",
        "CarePlanStatusEnum": "careplans.models.CarePlanStatus",
        "VisitTypeEnum": "portal.apis.VISIT_TYPES",
        "AnswerChangeKindEnum": "intake.selectors.ANSWER_CHANGE_KINDS",
    },
}

# --- Celery ------------------------------------------------------------------------------------
CELERY_BROKER_URL = checked_redis_url(
    env("CELERY_BROKER_URL", default=redis_database_url(REDIS_URL, 0)), setting="CELERY_BROKER_URL"
)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
# A task is acknowledged only when it finished, and re-queued if its worker dies mid-way: every
# task is idempotent, so running twice is safe and losing one is not.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=60)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=90)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# How long the broker waits for an ack before handing an unacknowledged task to another worker.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)
}
CELERY_BROKER_TRANSPORT_OPTIONS.update(
    sentinel_transport_options(
        CELERY_BROKER_URL, master=REDIS_SENTINEL_MASTER, sentinel_password=REDIS_SENTINEL_PASSWORD
    )
)
CELERY_TIMEZONE = "UTC"
# Celery's Django fixup closes every database connection before and after each task, and with
# Django's connection pool under prefork the whole pool, so each task would open a new
# PostgreSQL connection (~10 ms, most of a notification delivery). N > 0 keeps the pool for
# about 2N tasks per process; carecore/celery.py hands each task's connection back to the pool
# when it ends, and the pool checks it before the next task uses it (POOL_CHECK_IDLE_SECONDS
# above), so a dropped connection is replaced, not used (docs/benchmarks.md, Notifications). 0
# restores Celery's close-everything behaviour.
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1000)
# Queues by urgency, so a backlog of routine e-mail never delays an urgent page
# (docs/scaling.md, "Celery queues"). Compose and Kubernetes run a worker per queue; `make run`
# runs one worker that consumes all of them. A task not listed here goes to `celery`.
CARECORE_CELERY_QUEUES = ("urgent", "deliveries", "reminders", "exports", "celery")
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_ROUTES = {
    # Escalation steps and the sweeper that re-publishes lost deliveries: minutes matter.
    "messaging.escalate_thread": {"queue": "urgent"},
    "messaging.escalate_overdue_threads": {"queue": "urgent"},
    # Telling people of a sent message (outbox rows, feed events): seconds matter.
    "messaging.announce_messages": {"queue": "urgent"},
    "intake.escalate_unanswered_pages": {"queue": "urgent"},
    "intake.raise_abandoned_red_flags": {"queue": "urgent"},
    "notifications.sweep": {"queue": "urgent"},
    # Deliveries of urgent notifications are published to `urgent` by the outbox itself.
    "notifications.deliver": {"queue": "deliveries"},
    "portal.send_appointment_reminders": {"queue": "reminders"},
    "careplans.*": {"queue": "reminders"},
    "interop.*": {"queue": "exports"},
}
CELERY_BEAT_SCHEDULE: dict[str, dict] = {
    # Publishes deferred notifications when quiet hours end and whatever the broker lost.
    "notifications-sweep": {
        "task": "notifications.sweep",
        "schedule": env.float("CARECORE_NOTIFICATIONS_SWEEP_INTERVAL_SECONDS", default=10.0),
    },
}

CELERY_BEAT_SCHEDULE["notifications-prune"] = {
    "task": "notifications.prune",
    "schedule": env.float("CARECORE_NOTIFICATIONS_PRUNE_INTERVAL_SECONDS", default=3600.0),
}

# Monthly partitions of the growing tables (docs/scaling.md, "Growing tables"): this month and
# three ahead exist at all times; rows in a default partition are an ERROR in the log (the alert).
CELERY_BEAT_SCHEDULE["partitions-ensure-ahead"] = {
    "task": "carecore.partitions_ensure_ahead",
    "schedule": env.float("CARECORE_PARTITIONS_ENSURE_INTERVAL_SECONDS", default=86400.0),
}
CELERY_BEAT_SCHEDULE["partitions-check-default"] = {
    "task": "carecore.partitions_check_default",
    "schedule": env.float("CARECORE_PARTITIONS_CHECK_INTERVAL_SECONDS", default=3600.0),
}

# --- internationalisation and time -----------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- static files (served by WhiteNoise: the API docs work with no internet) ----------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Vendored front-end assets (scripts/vendor_assets.py): served by WhiteNoise, never a CDN.
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# Uploaded files live outside the web root and are only served through authorised API views.
MEDIA_ROOT = env("CARECORE_MEDIA_ROOT", default=str(VAR_DIR / "media"))
# Compile each run of a query compiled once per process (carecore/common/queries.py,
# `CompiledOnce`) afresh too, and fail if the SQL differs: on in the test suite only (make run's
# DEBUG is what the load benchmark measures).
CARECORE_VERIFY_COMPILED_QUERIES = env.bool("CARECORE_VERIFY_COMPILED_QUERIES", default=False)
# Check every FHIR response against the R4 models (fhir.resources R4B): on in DEBUG and tests.
CARECORE_FHIR_VALIDATE = env.bool("CARECORE_FHIR_VALIDATE", default=DEBUG)
# FHIR bulk export NDJSON files (served only through /fhir/R4/$export-file/, never as media).
CARECORE_FHIR_EXPORT_ROOT = env("CARECORE_FHIR_EXPORT_ROOT", default=str(VAR_DIR / "fhir-export"))

# --- e-mail and SMS -----------------------------------------------------------------------------
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="CareCore <no-reply@carecore.invalid>")
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
EMAIL_FILE_PATH = env("EMAIL_FILE_PATH", default=str(VAR_DIR / "mail"))
# Seconds an SMTP connection may block (Django's default waits forever): below the urgent
# deliveries' soft time limit, so a hanging server is an error to retry, not a killed worker.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
# A transactional e-mail provider through django-anymail instead of EMAIL_BACKEND (SMTP):
# postmark, amazon_ses, mailgun or sendgrid (docs/notifications.md, "Providers"). Production
# refuses to start with a provider chosen but not fully configured.
CARECORE_EMAIL_PROVIDER = env("CARECORE_EMAIL_PROVIDER", default="")
ANYMAIL = {
    key: value
    for key, value in {
        "POSTMARK_SERVER_TOKEN": env("POSTMARK_SERVER_TOKEN", default=""),
        "POSTMARK_API_URL": env("POSTMARK_API_URL", default=""),
        "MAILGUN_API_KEY": env("MAILGUN_API_KEY", default=""),
        "MAILGUN_SENDER_DOMAIN": env("MAILGUN_SENDER_DOMAIN", default=""),
        "MAILGUN_API_URL": env("MAILGUN_API_URL", default=""),
        "SENDGRID_API_KEY": env("SENDGRID_API_KEY", default=""),
        "SENDGRID_API_URL": env("SENDGRID_API_URL", default=""),
        "AMAZON_SES_CLIENT_PARAMS": {
            key: value
            for key, value in {
                "region_name": env("AMAZON_SES_REGION", default=""),
                "aws_access_key_id": env("AMAZON_SES_ACCESS_KEY_ID", default=""),
                "aws_secret_access_key": env("AMAZON_SES_SECRET_ACCESS_KEY", default=""),
                "endpoint_url": env("AMAZON_SES_ENDPOINT_URL", default=""),
            }.items()
            if value
        },
    }.items()
    if value
}
if CARECORE_EMAIL_PROVIDER:
    EMAIL_BACKEND = email_backend_for(CARECORE_EMAIL_PROVIDER)
# Dotted path of an SMS backend (carecore/notifications/sms.py); empty: no SMS is sent or queued.
# Twilio: carecore.notifications.sms.TwilioSmsBackend with the TWILIO_* variables below.
CARECORE_SMS_BACKEND = env("CARECORE_SMS_BACKEND", default="")
CARECORE_SMS_FILE_PATH = env("CARECORE_SMS_FILE_PATH", default=str(VAR_DIR / "sms"))
TWILIO_ACCOUNT_SID = env("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env("TWILIO_AUTH_TOKEN", default="")
# The sender: a Messaging Service (preferred: number pools, opt-out handling) or one number.
TWILIO_MESSAGING_SERVICE_SID = env("TWILIO_MESSAGING_SERVICE_SID", default="")
TWILIO_FROM_NUMBER = env("TWILIO_FROM_NUMBER", default="")
TWILIO_TIMEOUT_SECONDS = env.float("TWILIO_TIMEOUT_SECONDS", default=10.0)
# Web push (docs/notifications.md): VAPID keys as from `vapid --gen` (private key PEM or its
# base64url DER; public key base64url, handed to browsers). No private key: no push rows.
CARECORE_WEBPUSH_VAPID_PRIVATE_KEY = env("CARECORE_WEBPUSH_VAPID_PRIVATE_KEY", default="")
CARECORE_WEBPUSH_VAPID_PUBLIC_KEY = env("CARECORE_WEBPUSH_VAPID_PUBLIC_KEY", default="")
CARECORE_WEBPUSH_VAPID_SUBJECT = env("CARECORE_WEBPUSH_VAPID_SUBJECT", default="")
CARECORE_WEBPUSH_TTL_SECONDS = env.int("CARECORE_WEBPUSH_TTL_SECONDS", default=86400)
CARECORE_WEBPUSH_TIMEOUT_SECONDS = env.float("CARECORE_WEBPUSH_TIMEOUT_SECONDS", default=10.0)
# Hosts (and their subdomains) a subscription endpoint may point at: the browsers' push
# services. The worker POSTs to the endpoint, so anything else is refused (no SSRF).
CARECORE_WEBPUSH_ALLOWED_HOSTS = env.list(
    "CARECORE_WEBPUSH_ALLOWED_HOSTS",
    default=[
        "fcm.googleapis.com",
        "updates.push.services.mozilla.com",
        "push.apple.com",
        "notify.windows.com",
    ],
)

# --- notifications (docs/notifications.md) ------------------------------------------------------
# Links in e-mail and SMS point here, followed by an in-app path made of opaque ids.
CARECORE_PORTAL_URL = env("CARECORE_PORTAL_URL", default="http://localhost:8000")
CARECORE_NOTIFICATIONS_MESSAGE_ID_DOMAIN = env(
    "CARECORE_NOTIFICATIONS_MESSAGE_ID_DOMAIN", default="notifications.carecore.invalid"
)
# Local wall-clock times in each user's own zone, for users who have not chosen their own.
CARECORE_NOTIFICATIONS_DEFAULT_QUIET_HOURS = env(
    "CARECORE_NOTIFICATIONS_DEFAULT_QUIET_HOURS", default="21:00-08:00"
)
CARECORE_NOTIFICATIONS_MAX_ATTEMPTS = env.int("CARECORE_NOTIFICATIONS_MAX_ATTEMPTS", default=6)
CARECORE_NOTIFICATIONS_RETRY_BASE_SECONDS = env.int(
    "CARECORE_NOTIFICATIONS_RETRY_BASE_SECONDS", default=30
)
CARECORE_NOTIFICATIONS_RETRY_MAX_SECONDS = env.int(
    "CARECORE_NOTIFICATIONS_RETRY_MAX_SECONDS", default=1800
)
# Longer than CELERY_TASK_TIME_LIMIT: by then a worker that still holds a claim is dead.
CARECORE_NOTIFICATIONS_CLAIM_TIMEOUT_SECONDS = env.int(
    "CARECORE_NOTIFICATIONS_CLAIM_TIMEOUT_SECONDS", default=300
)
# A published task that has not run after this long is published again (the broker lost it).
CARECORE_NOTIFICATIONS_REQUEUE_AFTER_SECONDS = env.int(
    "CARECORE_NOTIFICATIONS_REQUEUE_AFTER_SECONDS", default=120
)
# Sooner for urgent rows: with the sweep every 10 s, a lost page goes out again within 30 s.
CARECORE_NOTIFICATIONS_URGENT_REQUEUE_AFTER_SECONDS = env.int(
    "CARECORE_NOTIFICATIONS_URGENT_REQUEUE_AFTER_SECONDS", default=15
)
# The same bound for a page whose worker died while sending it: an urgent delivery runs under
# its own, shorter time limits (the providers time out at 10 s: SMTP, Twilio, Web Push), so its
# claim can be given up sooner; the claim timeout must exceed the hard limit, by when a live
# worker has stopped. With the sweep every 10 s: sent again within 30 s.
CARECORE_NOTIFICATIONS_URGENT_SOFT_TIME_LIMIT_SECONDS = env.int(
    "CARECORE_NOTIFICATIONS_URGENT_SOFT_TIME_LIMIT_SECONDS", default=12
)
CARECORE_NOTIFICATIONS_URGENT_TIME_LIMIT_SECONDS = env.int(
    "CARECORE_NOTIFICATIONS_URGENT_TIME_LIMIT_SECONDS", default=15
)
CARECORE_NOTIFICATIONS_URGENT_CLAIM_TIMEOUT_SECONDS = env.int(
    "CARECORE_NOTIFICATIONS_URGENT_CLAIM_TIMEOUT_SECONDS", default=20
)
if not (
    CARECORE_NOTIFICATIONS_URGENT_SOFT_TIME_LIMIT_SECONDS
    < CARECORE_NOTIFICATIONS_URGENT_TIME_LIMIT_SECONDS
    < CARECORE_NOTIFICATIONS_URGENT_CLAIM_TIMEOUT_SECONDS
):
    raise ImproperlyConfigured(
        "Urgent deliveries need CARECORE_NOTIFICATIONS_URGENT_SOFT_TIME_LIMIT_SECONDS < "
        "CARECORE_NOTIFICATIONS_URGENT_TIME_LIMIT_SECONDS < "
        "CARECORE_NOTIFICATIONS_URGENT_CLAIM_TIMEOUT_SECONDS: a claim given up before the "
        "worker holding it has stopped would send the page twice."
    )
# Deliveries due later than this are not published with a countdown but by the sweeper.
CARECORE_NOTIFICATIONS_ENQUEUE_HORIZON_SECONDS = env.int(
    "CARECORE_NOTIFICATIONS_ENQUEUE_HORIZON_SECONDS", default=900
)
CARECORE_NOTIFICATIONS_SWEEP_BATCH = env.int("CARECORE_NOTIFICATIONS_SWEEP_BATCH", default=2000)
# Rows published together (one transaction's, one sweep's) travel in delivery tasks of up to
# this many ids: a worker pays Celery's per-task cost (broker round trips, the connection check,
# two log lines) once per batch instead of once per row. Each row is still claimed, sent and
# recorded on its own (docs/notifications.md, "Batches").
CARECORE_NOTIFICATIONS_DELIVERY_BATCH = env.int("CARECORE_NOTIFICATIONS_DELIVERY_BATCH", default=20)
# A batch stops taking rows after this long and publishes the rest as a new task, so slow
# providers cannot carry it into the task time limits (CELERY_TASK_SOFT_TIME_LIMIT).
CARECORE_NOTIFICATIONS_DELIVERY_BATCH_SECONDS = env.float(
    "CARECORE_NOTIFICATIONS_DELIVERY_BATCH_SECONDS", default=15.0
)
# Retention: sent and expired rows (in-app ones once read) and their delivery attempts are
# deleted this many days after creation, by the `notifications.prune` beat task, in batches.
CARECORE_NOTIFICATIONS_RETENTION_DAYS = env.int("CARECORE_NOTIFICATIONS_RETENTION_DAYS", default=90)
CARECORE_NOTIFICATIONS_PRUNE_BATCH = env.int("CARECORE_NOTIFICATIONS_PRUNE_BATCH", default=1000)
CARECORE_NOTIFICATIONS_PRUNE_MAX_BATCHES = env.int(
    "CARECORE_NOTIFICATIONS_PRUNE_MAX_BATCHES", default=100
)
# Publishing happens after the event committed; with the broker down, give up quickly and let
# the sweeper publish later rather than hold the request.
CARECORE_NOTIFICATIONS_PUBLISH_RETRY_POLICY = {
    "max_retries": env.int("CARECORE_NOTIFICATIONS_PUBLISH_RETRIES", default=2),
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}

# --- security headers (tightened further in production) ---------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 60 * 60 * 8

# A strict Content-Security-Policy on every response (django-csp): our own origin only, scripts
# and <style> elements only from our files or with the request's nonce, no inline handlers, no
# eval, no framing. `'self'` in connect-src covers the same-origin WebSocket feed. See
# docs/security.md.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [NONE],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:", "blob:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "manifest-src": [SELF],
        "worker-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [NONE],
        "object-src": [NONE],
    }
}

# --- logging: structured, and never with patient data (see carecore/common/logging.py) --------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_context": {"()": "carecore.common.logging.RequestContextFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["request_context"],
        },
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Django logs every 4xx/5xx with the request path; our paths carry only opaque ids, but
        # the 500 traceback is logged by our exception handler instead, without exception text.
        "django.request": {"level": "ERROR", "handlers": ["console"], "propagate": False},
        "axes": {"level": "WARNING"},
    },
}

# --- CareCore domain settings ---------------------------------------------------------------
CARECORE_BREAK_GLASS_MINUTES = env.int("CARECORE_BREAK_GLASS_MINUTES", default=60)

# --- portal: availability and booking (docs/portal.md) -----------------------------------------
# Visit types and their lengths in minutes, e.g. CARECORE_VISIT_DURATIONS="new=30,follow_up=15".
CARECORE_VISIT_DURATIONS = env.dict(
    "CARECORE_VISIT_DURATIONS", cast={"value": int}, default={"new": 30, "follow_up": 15}
)
CARECORE_BOOKING_MIN_NOTICE_MINUTES = env.int("CARECORE_BOOKING_MIN_NOTICE_MINUTES", default=120)
CARECORE_BOOKING_WINDOW_DAYS = env.int("CARECORE_BOOKING_WINDOW_DAYS", default=14)
CARECORE_UPCOMING_APPOINTMENT_CAP = env.int("CARECORE_UPCOMING_APPOINTMENT_CAP", default=2)
CARECORE_LATE_CANCEL_HOURS = env.int("CARECORE_LATE_CANCEL_HOURS", default=24)
# portal.video.LocalVideoProvider (make run, tests) or portal.video.JitsiVideoProvider: a
# self-hosted Jitsi Meet with JWT authentication (docs/portal.md, "Video visits").
CARECORE_VIDEO_PROVIDER = env("CARECORE_VIDEO_PROVIDER", default="portal.video.LocalVideoProvider")
CARECORE_VIDEO_BASE_URL = env(
    "CARECORE_VIDEO_BASE_URL", default="https://video.carecore.invalid/v/"
)
# Jitsi: the Meet server's public URL, and the app id and secret its prosody token auth shares
# with us (JWT_APP_ID / JWT_APP_SECRET in docker-jitsi-meet).
CARECORE_JITSI_URL = env("CARECORE_JITSI_URL", default="")
CARECORE_JITSI_APP_ID = env("CARECORE_JITSI_APP_ID", default="")
CARECORE_JITSI_APP_SECRET = env("CARECORE_JITSI_APP_SECRET", default="")
# The tokens' `sub`: the XMPP domain prosody serves (`meet.jitsi` in docker-jitsi-meet), a tenant,
# or "*". Empty: the host name of CARECORE_JITSI_URL (a deployment whose XMPP domain is its host).
CARECORE_JITSI_SUBJECT = env("CARECORE_JITSI_SUBJECT", default="")
# Participants may join this many minutes before the start (tokens are valid from then).
CARECORE_JITSI_EARLY_JOIN_MINUTES = env.int("CARECORE_JITSI_EARLY_JOIN_MINUTES", default=10)
# Reminders (24 h and 1 h before, patients) and the pre-visit summary (clinicians) are sent by
# the `portal.send_appointment_reminders` beat task. A reminder whose moment passed more than the
# grace period ago (beat was down, or the visit was booked or moved inside it) is skipped.
CARECORE_PREVISIT_SUMMARY_HOURS = env.float("CARECORE_PREVISIT_SUMMARY_HOURS", default=2.0)
CARECORE_APPOINTMENT_REMINDER_GRACE_MINUTES = env.int(
    "CARECORE_APPOINTMENT_REMINDER_GRACE_MINUTES", default=30
)
CARECORE_APPOINTMENT_REMINDER_INTERVAL_SECONDS = env.float(
    "CARECORE_APPOINTMENT_REMINDER_INTERVAL_SECONDS", default=300.0
)
CELERY_BEAT_SCHEDULE["portal-send-appointment-reminders"] = {
    "task": "portal.send_appointment_reminders",
    "schedule": CARECORE_APPOINTMENT_REMINDER_INTERVAL_SECONDS,
}

# --- messaging (docs/messaging.md) -----------------------------------------------------------
# First-response promise: routine in working hours of the care team, urgent around the clock.
CARECORE_MESSAGING_ROUTINE_RESPONSE_HOURS = env.float(
    "CARECORE_MESSAGING_ROUTINE_RESPONSE_HOURS", default=4
)
# A "soon" triage flag (e.g. unintentional weight loss): same-day review, in working hours.
CARECORE_MESSAGING_SOON_RESPONSE_HOURS = env.float(
    "CARECORE_MESSAGING_SOON_RESPONSE_HOURS", default=2
)
CARECORE_MESSAGING_URGENT_RESPONSE_MINUTES = env.int(
    "CARECORE_MESSAGING_URGENT_RESPONSE_MINUTES", default=15
)
# Gap between escalation steps once a thread is overdue (step 1 at the due time).
CARECORE_MESSAGING_ROUTINE_ESCALATION_STEP_MINUTES = env.int(
    "CARECORE_MESSAGING_ROUTINE_ESCALATION_STEP_MINUTES", default=60
)
CARECORE_MESSAGING_URGENT_ESCALATION_STEP_MINUTES = env.int(
    "CARECORE_MESSAGING_URGENT_ESCALATION_STEP_MINUTES", default=10
)
# Care-team hours (local time in CARECORE_MESSAGING_HOURS_TIMEZONE; weekdays Monday=0).
CARECORE_MESSAGING_HOURS_OPEN = env("CARECORE_MESSAGING_HOURS_OPEN", default="08:00")
CARECORE_MESSAGING_HOURS_CLOSE = env("CARECORE_MESSAGING_HOURS_CLOSE", default="18:00")
CARECORE_MESSAGING_HOURS_WEEKDAYS = env("CARECORE_MESSAGING_HOURS_WEEKDAYS", default="0,1,2,3,4")
CARECORE_MESSAGING_HOURS_TIMEZONE = env(
    "CARECORE_MESSAGING_HOURS_TIMEZONE", default="America/New_York"
)
CARECORE_MESSAGING_ATTACHMENT_MAX_BYTES = env.int(
    "CARECORE_MESSAGING_ATTACHMENT_MAX_BYTES", default=10 * 1024 * 1024
)
# Uploaded but never sent attachments are deleted after this many hours.
CARECORE_MESSAGING_UNSENT_ATTACHMENT_HOURS = env.int(
    "CARECORE_MESSAGING_UNSENT_ATTACHMENT_HOURS", default=24
)
# At most this many uploads per user waiting to be sent (docs/security.md).
CARECORE_MESSAGING_UNSENT_ATTACHMENTS_MAX = env.int(
    "CARECORE_MESSAGING_UNSENT_ATTACHMENTS_MAX", default=20
)
# Images with more pixels are refused from their header, before any decoding: 25 MP holds a
# phone's full-resolution photo (12-24 MP) and bounds the memory one upload can take.
CARECORE_MESSAGING_IMAGE_MAX_PIXELS = env.int(
    "CARECORE_MESSAGING_IMAGE_MAX_PIXELS", default=25_000_000
)

# --- request and upload limits (carecore/common/body_limits.py, docs/security.md) -------------
# Any body that is not a multipart upload (JSON, forms). The largest real one, a message of
# 20,000 characters, is well under 200 KB even with every character escaped.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("CARECORE_REQUEST_MAX_BYTES", default=1024 * 1024)
# The largest file a multipart request may carry; reading stops as soon as one crosses it.
CARECORE_UPLOAD_MAX_BYTES = env.int(
    "CARECORE_UPLOAD_MAX_BYTES", default=CARECORE_MESSAGING_ATTACHMENT_MAX_BYTES
)
# Files in one multipart request (a patient page sends a message's photos in one form, up to the
# 10 attachments a message may have); a whole multipart body may be this many files plus
# DATA_UPLOAD_MAX_MEMORY_SIZE of form fields.
CARECORE_UPLOAD_MAX_FILES = env.int("CARECORE_UPLOAD_MAX_FILES", default=10)
DATA_UPLOAD_MAX_NUMBER_FILES = CARECORE_UPLOAD_MAX_FILES
FILE_UPLOAD_HANDLERS = [
    "carecore.common.body_limits.CappedUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

# Sent messages are announced by a worker (messaging/announcements.py): each send wakes it; this
# sweep catches a lost wake-up (broker or Redis down), so a message is announced within this many
# seconds even then. A worker announces up to BATCH messages per transaction.
CARECORE_MESSAGING_ANNOUNCE_SWEEP_SECONDS = env.float(
    "CARECORE_MESSAGING_ANNOUNCE_SWEEP_SECONDS", default=5.0
)
CARECORE_MESSAGING_ANNOUNCE_BATCH = env.int("CARECORE_MESSAGING_ANNOUNCE_BATCH", default=200)
# While messages keep coming, the announcer waits this long between batches so each batch takes
# more of them (a lone message is announced at once): latency traded for a worker's CPU.
CARECORE_MESSAGING_ANNOUNCE_LINGER_SECONDS = env.float(
    "CARECORE_MESSAGING_ANNOUNCE_LINGER_SECONDS", default=0.05
)
CELERY_BEAT_SCHEDULE["messaging-announce-messages"] = {
    "task": "messaging.announce_messages",
    "schedule": CARECORE_MESSAGING_ANNOUNCE_SWEEP_SECONDS,
}
CELERY_BEAT_SCHEDULE["messaging-escalate-overdue-threads"] = {
    "task": "messaging.escalate_overdue_threads",
    "schedule": 60.0,
}
CELERY_BEAT_SCHEDULE["messaging-delete-unsent-attachments"] = {
    "task": "messaging.delete_unsent_attachments",
    "schedule": 3600.0,
}
CELERY_BEAT_SCHEDULE["realtime-prune-events"] = {
    "task": "realtime.prune_events",
    "schedule": 3600.0,
}
CELERY_BEAT_SCHEDULE["careplans-remind-due-check-ins"] = {
    "task": "careplans.remind_due_check_ins",
    "schedule": 900.0,
}

# --- intake red flags (docs/intake.md) -------------------------------------------------------
# An on-call page for an intake red flag is answered by completing the review; unanswered, it
# climbs the same ladder as an urgent message thread, on the same clock by default.
CARECORE_INTAKE_PAGE_RESPONSE_MINUTES = env.int(
    "CARECORE_INTAKE_PAGE_RESPONSE_MINUTES", default=CARECORE_MESSAGING_URGENT_RESPONSE_MINUTES
)
CARECORE_INTAKE_PAGE_ESCALATION_STEP_MINUTES = env.int(
    "CARECORE_INTAKE_PAGE_ESCALATION_STEP_MINUTES",
    default=CARECORE_MESSAGING_URGENT_ESCALATION_STEP_MINUTES,
)
# An in-progress intake untouched this long has its answers screened for red flags anyway.
CARECORE_INTAKE_ABANDONED_AFTER_MINUTES = env.int(
    "CARECORE_INTAKE_ABANDONED_AFTER_MINUTES", default=60
)
CELERY_BEAT_SCHEDULE["intake-escalate-unanswered-pages"] = {
    "task": "intake.escalate_unanswered_pages",
    "schedule": 60.0,
}
CELERY_BEAT_SCHEDULE["intake-raise-abandoned-red-flags"] = {
    "task": "intake.raise_abandoned_red_flags",
    "schedule": 300.0,
}
# FHIR bulk export files hold whole patient records: deleted this long after the export finished.
CARECORE_FHIR_EXPORT_RETENTION_HOURS = env.int("CARECORE_FHIR_EXPORT_RETENTION_HOURS", default=24)
CELERY_BEAT_SCHEDULE["interop-expire-exports"] = {
    "task": "interop.expire_exports",
    "schedule": 3600.0,
}
