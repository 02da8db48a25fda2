"""WORKER_TYPE=worker: pull e-mail jobs from PUBSUB_EMAIL_SUBSCRIPTION; answer the probes on PORT meanwhile."""
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from django.core.management.base import BaseCommand
from django.db import connection

from course_api.pubsub import pull_once

HEALTH = {"/health", "/ready"}


class Probe(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        ok = self.path in HEALTH
        body = json.dumps({"status": "ok" if ok else "not found"}).encode()
        self.send_response(200 if ok else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Command(BaseCommand):
    help = "Pub/Sub e-mail worker"

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="handle one batch and exit")

    def handle(self, *args, **opts):
        if opts["once"]:
            self.stdout.write(f"handled {pull_once()}")
            return
        server = ThreadingHTTPServer(("0.0.0.0", int(os.environ["PORT"])), Probe)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        while True:
            try:
                pull_once()
            except Exception as e:  # noqa: BLE001 - keep pulling; the probes stay up
                self.stderr.write(f"pull failed: {e}")
                time.sleep(5)
            connection.close_if_unusable_or_obsolete()
