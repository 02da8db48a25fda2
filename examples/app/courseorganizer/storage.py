"""Cloud Storage for media and static files (django-storages), at the object paths the load balancer serves."""
import base64
import hashlib
import hmac
import time
from urllib.parse import quote

from django.conf import settings
from storages.backends.gcloud import GoogleCloudStorage


class StaticStorage(GoogleCloudStorage):
    """collectstatic's target: objects static/<path> in STATIC_BUCKET, served as https://CDN_HOST/static/<path>."""

    def __init__(self, **kwargs):
        kwargs.setdefault("bucket_name", settings.STATIC_BUCKET)
        kwargs.setdefault("location", "static")
        kwargs.setdefault("querystring_auth", False)
        super().__init__(**kwargs)

    def url(self, name):
        return f"https://{settings.CDN_HOST}/static/{quote(name)}"


class MediaStorage(GoogleCloudStorage):
    """Uploads: objects media/<path> in MEDIA_BUCKET; URLs through Cloud CDN, signed when the media is private."""

    def __init__(self, **kwargs):
        kwargs.setdefault("bucket_name", settings.MEDIA_BUCKET)
        kwargs.setdefault("location", "media")
        kwargs.setdefault("querystring_auth", False)
        super().__init__(**kwargs)

    def url(self, name, expires_in=3600):
        url = f"https://{settings.CDN_HOST}/media/{quote(name)}"
        if not settings.CDN_SIGNING_KEY_NAME:
            return url
        return sign_cdn_url(url, settings.CDN_SIGNING_KEY_NAME, settings.CDN_SIGNING_KEY, int(time.time()) + expires_in)


def sign_cdn_url(url, key_name, key_b64url, expires):
    """Cloud CDN signed URL: HMAC-SHA1 over the URL with Expires and KeyName, key and signature base64url."""
    to_sign = f"{url}{'&' if '?' in url else '?'}Expires={expires}&KeyName={key_name}"
    key = base64.urlsafe_b64decode(key_b64url + "=" * (-len(key_b64url) % 4))
    signature = base64.urlsafe_b64encode(hmac.new(key, to_sign.encode(), hashlib.sha1).digest()).decode()
    return f"{to_sign}&Signature={signature}"
