"""
Settings of the example Course Organizer backend: every value comes from the platform's app contract
(docs/app-contract.md) through courseorganizer.contract, at every stage. Copy this module and contract.py.
"""
import dj_database_url

from .contract import csv, flag, json_setting, redis_url_with_ca, setting, access_secret

SECRET_KEY = setting("DJANGO_SECRET_KEY")
DEBUG = False
ALLOWED_HOSTS = csv("DJANGO_ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS = csv("CSRF_TRUSTED_ORIGINS")
WORKER_TYPE = setting("WORKER_TYPE", "http")
JITSI_DOMAIN = setting("JITSI_DOMAIN")
REGION = setting("REGION", "")

# Google's load balancer and the VM's nginx terminate TLS and say so in X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
USE_X_FORWARDED_HOST = False
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.staticfiles",
    "channels",
    "directory",
    "course_api",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
ROOT_URLCONF = "courseorganizer.urls"
WSGI_APPLICATION = "courseorganizer.wsgi.application"
ASGI_APPLICATION = "courseorganizer.asgi.application"
TEMPLATES = []
AUTH_USER_MODEL = "directory.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"

# ── PostgreSQL: DATABASE_URL, or the shard router's DATABASES map (stage 4) ─────────────────────
DATABASES = {"default": dj_database_url.parse(setting("DATABASE_URL"), conn_max_age=0)}
if flag("DATABASE_DISABLE_SERVER_SIDE_CURSORS"):
    # PgBouncer in transaction mode: a cursor does not survive the transaction's end (Django docs).
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True

_shards = json_setting("DATABASES")
if _shards:
    # Hosts and names from the map; each password from Secret Manager by its id (PASSWORD_SECRET), never in the map.
    _passwords = {}
    for alias, entry in _shards.items():
        entry = dict(entry)
        secret_id = entry.pop("PASSWORD_SECRET", None)
        if secret_id:
            if secret_id not in _passwords:
                _passwords[secret_id] = access_secret(secret_id)
            entry["PASSWORD"] = _passwords[secret_id]
        entry.setdefault("CONN_MAX_AGE", 0)
        DATABASES[alias] = entry
SHARD_COUNT = int(setting("DATABASE_SHARD_COUNT", "0"))
DATABASE_ROUTERS = ["courseorganizer.db_routers.ShardRouter"]

# ── Redis: cache, sessions, channel layer ──────────────────────────────────────────────────────
REDIS_CA = setting("REDIS_CA_CERT", "")
REDIS_URL = redis_url_with_ca(setting("REDIS_URL"), REDIS_CA)
CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": redis_url_with_ca(setting("CACHE_URL", setting("REDIS_URL")), REDIS_CA),
        "TIMEOUT": 300,
    },
    "sessions": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": redis_url_with_ca(setting("SESSION_REDIS_URL", setting("REDIS_URL")), REDIS_CA),
        "TIMEOUT": 14 * 86400,
    },
}
if csv("MEMCACHED_NODES"):
    # Stage 4's hot read cache (the seed's "persistent" tier): this region's nodes, keys hashed over them.
    CACHES["persistent"] = {
        "BACKEND": "django.core.cache.backends.memcached.PyMemcacheCache",
        "LOCATION": csv("MEMCACHED_NODES"),
        "TIMEOUT": 3600,
    }
SESSION_ENGINE = "django.contrib.sessions.backends.cache"
SESSION_CACHE_ALIAS = "sessions"

_layer_urls = json_setting("CHANNEL_LAYER_REDIS_URLS")
if _layer_urls:
    # Independent Redis instances: channels_redis shards groups and channels over them by consistent hashing.
    _cas = json_setting("CHANNEL_LAYER_REDIS_CA_CERTS", []) or []
    _hosts = [{"address": redis_url_with_ca(u, _cas[i] if i < len(_cas) else "")} for i, u in enumerate(_layer_urls)]
else:
    _hosts = [{"address": redis_url_with_ca(setting("CHANNEL_LAYER_URL", setting("REDIS_URL")), REDIS_CA)}]
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": _hosts, "capacity": 10000, "expiry": 60},
    }
}

# ── Static and media files ──────────────────────────────────────────────────────────────────────
# On the VM (stage 1): collectstatic writes STATIC_ROOT and uploads go to MEDIA_ROOT; nginx serves both.
# With buckets (stage 2 on): django-storages writes static/<path> and media/<path>, which the load balancer's
# /static/* and /media/* serve through Cloud CDN on CDN_HOST; private media URLs are signed.
STATIC_URL = "/static/"
MEDIA_URL = "/media/"
STATIC_ROOT = setting("STATIC_ROOT", "/app/staticfiles")
MEDIA_ROOT = setting("MEDIA_ROOT", "/app/media")
CDN_HOST = setting("CDN_HOST", "")
MEDIA_BUCKET = setting("MEDIA_BUCKET", "")
STATIC_BUCKET = setting("STATIC_BUCKET", "")
# Private media: URLs signed with the Cloud CDN key (courseorganizer.storage); without a key name media is public.
CDN_SIGNING_KEY_NAME = setting("CDN_SIGNING_KEY_NAME", "")
CDN_SIGNING_KEY = setting("CDN_SIGNING_KEY", "") if CDN_SIGNING_KEY_NAME else ""
if MEDIA_BUCKET:
    DEFAULT_FILE_STORAGE = "courseorganizer.storage.MediaStorage"
    MEDIA_URL = f"https://{CDN_HOST}/media/"
if STATIC_BUCKET:
    STATICFILES_STORAGE = "courseorganizer.storage.StaticStorage"
    STATIC_URL = f"https://{CDN_HOST}/static/"

# ── Pub/Sub (stage 4): e-mail jobs go to a topic the worker pulls; before that they are sent inline ──
PUBSUB_PROJECT = setting("PUBSUB_PROJECT", "")
PUBSUB_EMAIL_TOPIC = setting("PUBSUB_EMAIL_TOPIC", "")
PUBSUB_EMAIL_SUBSCRIPTION = setting("PUBSUB_EMAIL_SUBSCRIPTION", "")
EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"

SENTRY_DSN = setting("SENTRY_DSN", "")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "INFO"},
}
