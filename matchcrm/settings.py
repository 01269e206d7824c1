"""MatchCRM settings: one module, every deployment-specific value read from the environment.

Local defaults are safe: DEBUG is off unless asked for, and the secret key is generated once per
checkout under var/ rather than committed.
"""

import datetime
import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def _local_secret_key() -> str:
    """A per-checkout key kept under var/, created on first use (never committed)."""
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process (a parallel test worker) won the race
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(50))
    return path.read_text().strip()


DEBUG = env_bool("DEBUG")
SECRET_KEY = os.environ.get("SECRET_KEY") or _local_secret_key()

# Agencies are reached on <slug>.<BASE_DOMAIN>, on their own custom domains, or on a platform host
# under /a/<slug>/. Hosts are validated by the tenant middleware against the agencies table, which
# is why ALLOWED_HOSTS defaults to any host: a fixed list cannot name every agency's custom domain.
BASE_DOMAIN = os.environ.get("BASE_DOMAIN", "localhost").lower()
PLATFORM_HOSTS = env_list("PLATFORM_HOSTS", f"{BASE_DOMAIN},localhost,127.0.0.1,[::1]")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "*")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "apps.core.apps.PlatformAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "django_htmx",
    "django_celery_beat",
    "template_partials",
    "crispy_forms",
    "crispy_bootstrap5",
    "mptt",
    "guardian",
    "axes",
    "django_filters",
    "apps.core",
    "apps.agencies",
    "apps.matchmakers",
    "apps.members",
    "apps.followups",
    "apps.messaging",
    "apps.finance",
    "apps.matching",
    "apps.appointments",
    "apps.portal",
    "apps.jobs",
    "apps.site",
    "apps.reports",
    "apps.integrations",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "apps.agencies.middleware.TenantMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "apps.core.middleware.IdleSessionMiddleware",
    "apps.portal.auth.PortalMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
]

# Requests on an agency host use the agency URLconf; the tenant middleware switches requests on a
# platform host to matchcrm.urls_platform (Django admin), so neither can reach the other's views.
ROOT_URLCONF = "matchcrm.urls"
PLATFORM_URLCONF = "matchcrm.urls_platform"
WSGI_APPLICATION = "matchcrm.wsgi.application"

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
                "apps.agencies.context_processors.agency",
                "apps.portal.context_processors.portal",
                "apps.jobs.context_processors.reminders",
                "apps.messaging.context_processors.staff_messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/matchcrm"),
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
# PostgreSQL's JIT compiles "expensive-looking" plans; for a CRM's short queries it costs far more
# than it saves (a 200,000-member list count took 490 ms of JIT for 70 ms of work).
DATABASES["default"].setdefault("OPTIONS", {})["options"] = os.environ.get("DB_OPTIONS", "-c jit=off")
if not DATABASES["default"]["ENGINE"].endswith("postgresql"):
    raise ImproperlyConfigured("MatchCRM runs on PostgreSQL only; DATABASE_URL must be postgres://…")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "matchcrm"),
    }
}

AUTH_USER_MODEL = "matchmakers.User"
# Usernames are unique per agency, not globally, so authentication goes through a backend that
# looks the user up inside the request's agency (auth.W004 is about exactly that, and expected).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # refuses locked-out accounts and addresses before any check
    "apps.matchmakers.backends.AgencyBackend",
    "guardian.backends.ObjectPermissionBackend",
]
# Lock-out after repeated failed staff log-ins (django-axes): an account (agency and user name) or an
# address that failed AXES_FAILURE_LIMIT times waits AXES_COOLOFF_TIME; a success clears the count.
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = datetime.timedelta(minutes=int(os.environ.get("AXES_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_USERNAME_CALLABLE = "apps.matchmakers.backends.lockout_username"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "matchmakers/locked_out.html"
AXES_VERBOSE = False
SILENCED_SYSTEM_CHECKS = ["auth.W004"]
# Record shares (django-guardian) are only ever granted to staff; no anonymous user row is needed.
ANONYMOUS_USER_NAME = None
LOGIN_URL = "matchmakers:login"
LOGIN_REDIRECT_URL = "reports:workbench"
LOGOUT_REDIRECT_URL = "matchmakers:login"
# Argon2id for every new or changed password; older PBKDF2 hashes still verify and are re-hashed
# with Argon2 at the next successful log-in.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "static"))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
# Private member documents (ID cards, diplomas): outside MEDIA_ROOT, served only by checked views.
PRIVATE_MEDIA_ROOT = Path(os.environ.get("PRIVATE_MEDIA_ROOT", VAR_DIR / "private"))
# Public agency images (logos, banners) are served by Django unless a web server or object store
# in front does it; private files never live under MEDIA_ROOT.
SERVE_MEDIA = env_bool("SERVE_MEDIA", True)
# The Docker image runs collectstatic and sets STATIC_MANIFEST=1 for hashed, far-future-cached
# files; everywhere else whitenoise serves straight from the source folders.
STATIC_MANIFEST = env_bool("STATIC_MANIFEST")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if STATIC_MANIFEST
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = not STATIC_MANIFEST
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

FORMS_URLFIELD_ASSUME_HTTPS = True  # the Django 6 default, opted into now

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
SESSION_COOKIE_AGE = int(os.environ.get("SESSION_COOKIE_AGE", str(8 * 3600)))
# Idle expiry (apps.core.middleware.IdleSessionMiddleware): a session unused this long is ended, so
# a screen left open at the front desk does not stay logged in for the rest of the working day.
SESSION_IDLE_SECONDS = int(os.environ.get("SESSION_IDLE_SECONDS", str(30 * 60)))
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# Content-Security-Policy (django-csp): scripts only from this site's own files, never inline
# (page data travels in json_script blocks, behaviour in static/js); no plug-ins, no framing, forms
# post only here. Styles allow inline attributes: Bootstrap and ECharts set element styles.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
# Behind TLS (HTTPS=1) cookies are secure-only and browsers are told to stay on HTTPS.
HTTPS = env_bool("HTTPS")
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS and env_bool("SECURE_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000")) if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
# Asks browsers to keep the site on their HTTPS preload list; an operator whose agencies' custom
# domains are not all ready for that sets SECURE_HSTS_PRELOAD=0.
SECURE_HSTS_PRELOAD = HTTPS and env_bool("SECURE_HSTS_PRELOAD", True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_PROXY") else None
# Fernet keys for encrypted model fields (ID numbers), newest first; empty derives one from SECRET_KEY.
FIELD_ENCRYPTION_KEYS = env_list("FIELD_ENCRYPTION_KEYS")

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "MatchCRM <noreply@localhost>")
SMS_BACKEND = os.environ.get("SMS_BACKEND", "apps.messaging.sms.ConsoleSmsBackend")
SMS_FILE_PATH = Path(os.environ.get("SMS_FILE_PATH", VAR_DIR / "sms"))
# For EMAIL_BACKEND=django.core.mail.backends.filebased.EmailBackend (development, browser tests).
EMAIL_FILE_PATH = Path(os.environ.get("EMAIL_FILE_PATH", VAR_DIR / "mail"))
# A failed email or SMS is retried with a growing delay (base × 4^n seconds), then marked failed.
NOTIFICATION_MAX_ATTEMPTS = int(os.environ.get("NOTIFICATION_MAX_ATTEMPTS", "4"))
NOTIFICATION_RETRY_BASE_SECONDS = int(os.environ.get("NOTIFICATION_RETRY_BASE_SECONDS", "30"))
# Alibaba Cloud SMS (SMS_BACKEND=apps.messaging.sms.AliyunSmsBackend); credentials: ALIYUN_SMS_* variables.
ALIYUN_SMS_ENDPOINT = os.environ.get("ALIYUN_SMS_ENDPOINT", "https://dysmsapi.aliyuncs.com/")

# Member portal (issue 8): how long an invitation link and a password reset code stay valid.
PORTAL_INVITATION_DAYS = int(os.environ.get("PORTAL_INVITATION_DAYS", "7"))
PORTAL_RESET_CODE_MINUTES = int(os.environ.get("PORTAL_RESET_CODE_MINUTES", "10"))

CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND", REDIS_URL)
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_TASK_DEFAULT_QUEUE", "matchcrm")
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_RESULT_EXPIRES = 24 * 3600
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER")
# Beat reads its schedule from the database (django-celery-beat), so it is edited in the platform
# admin; the default entries are installed once by apps.jobs.schedule after migrate.
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
