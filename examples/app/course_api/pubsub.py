"""
E-mail jobs through Cloud Pub/Sub (stage 4, seed "Message Queue for Async Tasks"), over the REST API with the
workload's own token from the metadata server (no SDK in the image). PUBSUB_EMULATOR_HOST, the variable Google's
client libraries honour, points it at the emulator instead. Before stage 4 (no PUBSUB_EMAIL_TOPIC) the e-mail is
sent inline.
"""
import base64
import json
import os
import urllib.request

from django.conf import settings
from django.core.mail import send_mail

from courseorganizer.contract import _metadata


def _base():
    emulator = os.environ.get("PUBSUB_EMULATOR_HOST")
    return f"http://{emulator}/v1" if emulator else "https://pubsub.googleapis.com/v1"


def _call(path, body):
    headers = {"Content-Type": "application/json"}
    if not os.environ.get("PUBSUB_EMULATOR_HOST"):
        headers["Authorization"] = "Bearer " + json.loads(_metadata("instance/service-accounts/default/token"))["access_token"]
    req = urllib.request.Request(f"{_base()}/{path}", data=json.dumps(body).encode(), headers=headers, method="POST")
    with urllib.request.urlopen(req, timeout=70) as r:
        return json.load(r)


def send_email_job(job):
    """What the worker does with one job (the real app calls its mail provider here)."""
    send_mail(f"New message in group {job['group']}", f"Message {job['message']}", "noreply@courses.example.org", [job["to"]])


def enqueue_email(job):
    if not settings.PUBSUB_EMAIL_TOPIC:
        send_email_job(job)
        return None
    topic = f"projects/{settings.PUBSUB_PROJECT}/topics/{settings.PUBSUB_EMAIL_TOPIC}"
    data = base64.b64encode(json.dumps(job).encode()).decode()
    return _call(f"{topic}:publish", {"messages": [{"data": data, "attributes": {"type": job["type"]}}]})["messageIds"][0]


def pull_once(max_messages=10):
    """Pull, handle and acknowledge one batch; a job that raises is not acknowledged (Pub/Sub redelivers it)."""
    sub = f"projects/{settings.PUBSUB_PROJECT}/subscriptions/{settings.PUBSUB_EMAIL_SUBSCRIPTION}"
    received = _call(f"{sub}:pull", {"maxMessages": max_messages}).get("receivedMessages", [])
    done = []
    for m in received:
        try:
            send_email_job(json.loads(base64.b64decode(m["message"]["data"])))
            done.append(m["ackId"])
        except Exception as e:  # noqa: BLE001 - redelivered, then dead-lettered after maxDeliveryAttempts
            print(f"job {m['message'].get('messageId')} failed: {e}", flush=True)
    if done:
        _call(f"{sub}:acknowledge", {"ackIds": done})
    return len(done)
