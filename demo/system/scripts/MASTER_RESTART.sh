#!/bin/sh
# The operator's own restart script, as the real system has it. portbook's
# `supervisor.restart` reads the port list from the manifest instead;
# `supervisor.restart --use-script` runs this script and then verifies.
# supervisord and supervisorctl are run through the system's virtualenv
# (venv/bin/python -m supervisor.*), so they need not be on PATH.
cd "$(dirname "$0")/.." || exit 1
PY=venv/bin/python
CONF=backend/supervisord.conf
PIDFILE=.run/supervisord.pid

if [ -f "$PIDFILE" ]; then
    OLD=$(cat "$PIDFILE")
    "$PY" -m supervisor.supervisorctl -c "$CONF" shutdown
    # wait for the old supervisord (and its programs) to be gone, 60s at most
    i=0
    while [ -n "$OLD" ] && kill -0 "$OLD" 2>/dev/null && [ "$i" -lt 600 ]; do
        sleep 0.1
        i=$((i + 1))
    done
fi
exec "$PY" -m supervisor.supervisord -c "$CONF"
