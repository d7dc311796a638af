"""Settings for ml-connector, read from the environment (and `.env`) by django-environ.

Every variable is listed with a comment in `.env.example`. With DEBUG off the project refuses to
start without its secrets (`makemigrations` aside, which needs none); with DEBUG on
(development) it falls back to throwaway values.
"""

import os
import sys
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# ENV_FILE names another file to read; the environment itself always wins over the file.
environ.Env.read_env(os.environ.get("ENV_FILE", str(BASE_DIR / ".env")), overwrite=False)

DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
FIELD_ENCRYPTION_KEY = env.str("FIELD_ENCRYPTION_KEY", default="")

# `makemigrations` reads the models, never a request or an encrypted value: a migrations check
# runs without the production secrets.
_CODE_ONLY = sys.argv[1:2] == ["makemigrations"] and Path(sys.argv[0]).name in {
    "manage.py",
    "django-admin",
}

if not DEBUG and not _CODE_ONLY:
    missing = [name for name in ("SECRET_KEY", "FIELD_ENCRYPTION_KEY") if not globals()[name]]
    if missing:
        raise ImproperlyConfigured(
            f"{', '.join(missing)} must be set when DEBUG is off (see .env.example)."
        )
SECRET_KEY = SECRET_KEY or "development-only-secret-key-not-for-production"
FIELD_ENCRYPTION_KEY = FIELD_ENCRYPTION_KEY or "development-only-field-key-not-for-production"
if FIELD_ENCRYPTION_KEY == SECRET_KEY:
    raise ImproperlyConfigured("FIELD_ENCRYPTION_KEY must differ from SECRET_KEY.")

# django-cryptography derives its field key from this, not from SECRET_KEY.
CRYPTOGRAPHY_KEY = FIELD_ENCRYPTION_KEY

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# The address Intuit and Zoho reach us on: OAuth redirect URIs and webhook URLs are built on it.
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")

# The local fakes of the vendor APIs under /sandbox/ (on under `make run`, off otherwise).
SANDBOX_ENABLED = env.bool("SANDBOX_ENABLED", default=False)

# Hosts besides the vendors' own that a connection's URL overrides may point at (a corporate
# egress proxy, say); tokens and secrets are never sent anywhere else (`connectors/hosts.py`).
CONNECTION_URL_ALLOWED_HOSTS = env.list("CONNECTION_URL_ALLOWED_HOSTS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_q",
    "connectors",
    "connectors.qbd",
    "syncs",
]
# Dev-only: without the sandbox its apps, tables and pages do not exist.
if SANDBOX_ENABLED:
    INSTALLED_APPS += [
        "connectors.sandbox",
        "connectors.sandbox.qbo",
        "connectors.sandbox.zoho",
        "connectors.sandbox.qbd",
    ]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "mlconnector.urls"

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
                "connectors.context_processors.connection_alerts",
            ],
        },
    },
]

WSGI_APPLICATION = "mlconnector.wsgi.application"
ASGI_APPLICATION = "mlconnector.asgi.application"

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE makes every atomic block take SQLite's write lock up front, so that
    # read-check-write sequences (token refresh, event claims) serialise as row locks do on
    # PostgreSQL; the timeout lets concurrent writers wait instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    # A file, not memory, so that threads in the tests share it; one per process so that
    # concurrent test runs on one machine never share a test database.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / f"test-db-{os.getpid()}.sqlite3")}
else:
    DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}_{os.getpid()}"}
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")

if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# django-q2: the queue only wakes workers; the database inbox is the record of what is left.
# `timeout` stays below `retry` so a slow task is never handed to a second worker.
Q_CLUSTER = {
    "name": env.str("Q_CLUSTER_NAME", default="mlconnector"),
    "workers": env.int("Q_WORKERS", default=2),
    "timeout": env.int("Q_TIMEOUT", default=600),
    "retry": env.int("Q_RETRY", default=720),
    "max_attempts": 3,
    "catch_up": False,
    "save_limit": 500,
    "label": "Task queue",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"
    Q_CLUSTER["poll"] = env.float("Q_POLL", default=0.5)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"

LOGIN_URL = "admin:login"

REST_FRAMEWORK = {
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAdminUser"],
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
}

# How often every flow reconciles with the source (QBO change data capture), in minutes.
SYNC_RECONCILE_MINUTES = env.int("SYNC_RECONCILE_MINUTES", default=15)

# A running run whose worker has not said it is alive for this long is dead: the minute sweep
# marks it so and its work resumes by itself. Workers beat every few seconds while they work.
SYNC_RUN_DEAD_AFTER_SECONDS = env.int("SYNC_RUN_DEAD_AFTER_SECONDS", default=90)

# Outgoing HTTP: (connect, read) timeouts in seconds and the retry budget for safe calls.
HTTP_TIMEOUT = (
    env.float("HTTP_CONNECT_TIMEOUT", default=5.0),
    env.float("HTTP_READ_TIMEOUT", default=60.0),
)
HTTP_MAX_ATTEMPTS = env.int("HTTP_MAX_ATTEMPTS", default=5)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"urllib3": {"level": "WARNING"}, "django.db.backends": {"level": "WARNING"}},
}

if not DEBUG:
    SESSION_COOKIE_SECURE = PUBLIC_BASE_URL.startswith("https://")
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

# Behind a proxy that terminates TLS and says so in X-Forwarded-Proto: requests count as https
# (the WSDL at /qbwc/?wsdl then names an https address).
if env.bool("BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
