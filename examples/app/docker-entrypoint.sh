#!/bin/sh
# The backend image's entrypoint, rendered from the app contract (src/contract.ts, `npm run contract`).
# WORKER_TYPE picks the process; arguments, when given, run instead (`docker run IMAGE python manage.py migrate`).
set -eu
if [ "$#" -gt 0 ]; then
  exec "$@"
fi
case "${WORKER_TYPE:-}" in
  http)
    # Gunicorn: Django's HTTP views (WSGI)
    exec python -m gunicorn courseorganizer.wsgi:application --bind "0.0.0.0:${PORT:?PORT is required}" --workers "${GUNICORN_WORKERS:-4}" --threads "${GUNICORN_THREADS:-2}" --graceful-timeout 30 --access-logfile -
    ;;
  ws)
    # Daphne: Django Channels consumers (ASGI), WebSockets under /ws/
    exec python -m daphne --bind 0.0.0.0 --port "${PORT:?PORT is required}" --proxy-headers courseorganizer.asgi:application
    ;;
  worker)
    # the Pub/Sub e-mail worker (`manage.py email_worker`), with its probes' HTTP server on PORT
    exec python manage.py email_worker
    ;;
  migrate)
    # Django's migrations then collectstatic, once per deployment (no port)
    python manage.py migrate --noinput
    exec python manage.py collectstatic --noinput
    ;;
  *)
    echo "WORKER_TYPE=${WORKER_TYPE:-} is not one of: http ws worker migrate" >&2
    exit 64
    ;;
esac
