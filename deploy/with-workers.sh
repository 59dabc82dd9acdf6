#!/bin/sh
# `make run`: the background workers beside the web server given as arguments.
# The outbox worker delivers webhooks and e-mail alerts (on a server the systemd unit
# deploy/qrgate-worker.service does it). Ctrl+C (or the end of the server) stops them all.
set -u
PY=${PY:-.venv/bin/python}
pids=""
"$PY" manage.py run_outbox &
pids="$pids $!"
# The import worker: drivers' files confirmed on the upload page (deploy/qrgate-imports.service).
"$PY" manage.py run_imports &
pids="$pids $!"
stop() {
    # Background jobs of a script ignore Ctrl+C's SIGINT: they are told with SIGTERM.
    for pid in $pids; do kill -TERM "$pid" 2>/dev/null; done
    for pid in $pids; do wait "$pid" 2>/dev/null; done
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
"$@"
