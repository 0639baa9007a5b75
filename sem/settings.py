"""One settings module, read from the environment.

With nothing set, SEM Flow runs on the embedded default: SQLite, Celery tasks
run eagerly in-process, DEBUG on. Production (docker-compose.yml) sets
DATABASE_URL, REDIS_URL, SECRET_KEY, DEBUG=false and ALLOWED_HOSTS.
"""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=True)
# The dev key only ever works with DEBUG on; production must set its own.
SECRET_KEY = env("SECRET_KEY", default="dev-only-insecure-key" if DEBUG else environ.Env.NOTSET)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "django_htmx",
    "template_partials",
    "axes",
    "csp",
    "sem",
    "teams",
    "backlog",
    "flow",
    "events",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "sem.middleware.ApiBodyLimitMiddleware",
    "sem.middleware.ControlCharacterMiddleware",
    "csp.middleware.CSPMiddleware",
    # Axes must come last: it reads the outcome of authentication.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "sem.urls"
WSGI_APPLICATION = "sem.wsgi.application"

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
                "teams.context_processors.flow_team",
            ],
        },
    }
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the in-process server read while a write is under way.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # psycopg prepares nothing while its threshold is None (Django's default). Django's
    # cursors bind on the client and never prepare whatever it is; at 0, the one statement
    # run on a server-binding cursor (the story move, sem.raw_rows.fetch_rows_prepared) is
    # planned on its first run and reused for the connection's life. Not behind a
    # transaction-pooling PgBouncer (it would need its prepared-statement support).
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("prepare_threshold", 0)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "teams.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "teams:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "teams:login"

# Login throttling: 5 failures per account and address, locked for 15 minutes.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = 0.25
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_FORM_FIELD = "username"
# One count per person however the address is spelled (case, spaces), as the login reads it.
AXES_USERNAME_CALLABLE = "teams.views.login_username"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "teams/locked_out.html"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
# The image collects into the checkout; the production smoke into a folder of its own.
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# Redis serves as Celery broker and result backend. Without REDIS_URL the
# tasks run eagerly in-process (the embedded default).
REDIS_URL = env("REDIS_URL", default="")
CELERY_BROKER_URL = REDIS_URL or "memory://localhost/"  # a host: kombu warns without one
CELERY_RESULT_BACKEND = REDIS_URL or None
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"

CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "teams.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "sem.api_schema.ApiSchema",
    "DEFAULT_FILTER_BACKENDS": [
        "sem.api.StrictFilterBackend",
        "sem.api.StrictOrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "sem.api.Pagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "sem.api.problem_exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["sem.throttling.PerClientThrottle"],
    "DEFAULT_THROTTLE_RATES": {"client": env("API_RATE", default="1200/min")},
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["sem.api_parsers.DepthLimitedJSONParser"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=256 * 1024)
# Webhooks go to public HTTPS hosts, checked when registered and again, on the address
# actually connected to, at each send. WEBHOOK_ALLOW_LOOPBACK (off by default; never in
# production) also accepts http/https to 127.0.0.1 and ::1: for tests and a receiver on the
# same machine. Every other internal address stays refused.
WEBHOOK_ALLOW_LOOPBACK = env.bool("WEBHOOK_ALLOW_LOOPBACK", default=False)
# With tasks run in-process (no REDIS_URL), deliveries are sent by this many background
# threads, so a slow receiver delays no request; false sends them inline (some tests).
WEBHOOK_SEND_IN_BACKGROUND = env.bool("WEBHOOK_SEND_IN_BACKGROUND", default=True)
WEBHOOK_BACKGROUND_THREADS = env.int("WEBHOOK_BACKGROUND_THREADS", default=2)
WEBHOOK_TIMEOUT_SECONDS = env.int("WEBHOOK_TIMEOUT_SECONDS", default=10)
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=6)
WEBHOOK_RETRY_BASE_SECONDS = env.int("WEBHOOK_RETRY_BASE_SECONDS", default=30)
SPECTACULAR_SETTINGS = {
    "TITLE": "SEM Flow API",
    "DESCRIPTION": (
        "Run a Flow Team: Scrum Teams, Flow Sprints, epics and stories.\n\n"
        "Authenticate with `Authorization: Bearer <token>` (create one on your tokens page "
        "or with `python manage.py api_token EMAIL`). Everything is scoped to your Flow "
        "Team: other Flow Teams' objects answer 404.\n\n"
        "**No lost updates.** Single objects carry an `ETag`; send it back in `If-Match` "
        "on every write (428 without it, 412 with the current version when someone else "
        "changed the object first). `If-None-Match` answers 304. Both follow RFC 9110: "
        "`*`, lists of tags, strong comparison for `If-Match`, weak for `If-None-Match`. "
        "A story's criteria and tasks are part of it: adding, checking or editing one "
        "changes the story's version and `ETag` (those writes need no `If-Match` "
        "themselves), so read the story again before your next conditional write to it. "
        "A caller whose role may not make a change at all gets 403 whatever the "
        "preconditions say.\n\n"
        "**Strict input.** Values are never coerced: send each field in its own JSON type "
        '(`5`, not `"5"`; `true`, not `"yes"`). Text holds no control characters (long '
        "text may hold tabs and line breaks). Unknown body fields and unknown query "
        "parameters are refused, as are bodies nested more than 32 levels deep.\n\n"
        "**Errors** are RFC 9457 problem details: `errors` names each bad field and why, "
        "and nothing is written."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "/static/vendor/swagger-ui",
    "SWAGGER_UI_FAVICON_HREF": "/static/vendor/swagger-ui/favicon-32x32.png",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "sem.api_schema.describe_components",
    ],
    "ENUM_NAME_OVERRIDES": {
        "StoryStateEnum": "backlog.models.Story.State",
        "EpicStateEnum": "backlog.models.Epic.State",
        "StoryKindEnum": "backlog.models.Story.Kind",
        "DependencyStateEnum": "backlog.models.Dependency.State",
        "FlowSprintStateEnum": "flow.models.FlowSprint.State",
        "EventStateEnum": "events.models.Event.State",
        "EventKindEnum": "events.models.Event.Kind",
        "WsjfScaleEnum": "backlog.api.serializers.WSJF_CHOICES",
        "ProductGoalStatusEnum": "backlog.models.ProductGoal.Status",
        "RoleEnum": "teams.models.Role",
        "ForecastQuestionKindEnum": "flow.api.metrics_serializers.QUESTION_KINDS",
    },
}

# Content-Security-Policy: everything is vendored, so 'self' suffices.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}
