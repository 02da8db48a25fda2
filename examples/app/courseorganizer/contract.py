"""
The platform's app contract, read (docs/app-contract.md; src/contract.ts renders it): every setting arrives as an
environment variable, as ``<NAME>_FILE`` naming a file that holds it, or as a key of the JSON object in the file
SETTINGS_FILE names (stage 4: the app-settings secret, fetched at pod start). Nothing else is read.
"""
import base64
import json
import os
import tempfile
import urllib.request
from functools import lru_cache


class MissingSetting(KeyError):
    pass


@lru_cache(maxsize=1)
def _settings_file():
    path = os.environ.get("SETTINGS_FILE")
    if not path:
        return {}
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    if not isinstance(data, dict):
        raise ValueError(f"SETTINGS_FILE {path} does not hold a JSON object")
    return data


def setting(name, default=MissingSetting):
    """The contract's setting `name`: environment, then <name>_FILE, then SETTINGS_FILE's JSON."""
    if name in os.environ:
        return os.environ[name]
    path = os.environ.get(f"{name}_FILE")
    if path:
        with open(path, encoding="utf-8") as f:
            return f.read().strip()
    if name in _settings_file():
        return str(_settings_file()[name])
    if default is MissingSetting:
        raise MissingSetting(f"{name} is not set (environment, {name}_FILE or SETTINGS_FILE)")
    return default


def flag(name, default=False):
    return setting(name, "true" if default else "false").strip().lower() in ("1", "true", "yes", "on")


def csv(name, default=""):
    return [v.strip() for v in setting(name, default).split(",") if v.strip()]


def json_setting(name, default=None):
    value = setting(name, None)
    return default if value is None else json.loads(value)


_PEM_DIR = None


def pem_file(pem):
    """A multi-line CA certificate written to a private file (TLS clients take a path)."""
    global _PEM_DIR
    if _PEM_DIR is None:
        _PEM_DIR = tempfile.mkdtemp(prefix="co-ca-")
    import hashlib

    path = os.path.join(_PEM_DIR, hashlib.sha256(pem.encode()).hexdigest()[:16] + ".pem")
    if not os.path.exists(path):
        with open(path, "w", encoding="utf-8") as f:
            f.write(pem if pem.endswith("\n") else pem + "\n")
    return path


def redis_url_with_ca(url, ca_pem):
    """rediss:// URL that verifies the server with `ca_pem`: redis-py takes ssl_ca_certs from the query string."""
    if not ca_pem or not url.startswith("rediss://"):
        return url
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}ssl_ca_certs={pem_file(ca_pem)}"


# Google metadata server and Secret Manager (stage 4: the DATABASES map names each password's secret, never the value).
METADATA = "http://" + os.environ.get("GCE_METADATA_HOST", "metadata.google.internal") + "/computeMetadata/v1/"


def _metadata(path):
    req = urllib.request.Request(METADATA + path, headers={"Metadata-Flavor": "Google"})
    with urllib.request.urlopen(req, timeout=5) as r:
        return r.read().decode()


def access_secret(secret_id):
    """The latest version of a Secret Manager secret, read with the workload's own identity (REST, no SDK)."""
    token = json.loads(_metadata("instance/service-accounts/default/token"))["access_token"]
    project = _metadata("project/project-id")
    name = secret_id if secret_id.startswith("projects/") else f"projects/{project}/secrets/{secret_id}"
    req = urllib.request.Request(
        f"https://secretmanager.googleapis.com/v1/{name}/versions/latest:access",
        headers={"Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(req, timeout=10) as r:
        payload = json.load(r)["payload"]["data"]
    return base64.b64decode(payload).decode()
