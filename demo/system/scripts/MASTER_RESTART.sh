#!/bin/sh
# The operator's own restart script, as the real system has it: a stale,
# hardcoded port list. portbook's supervisor.restart reads the manifest instead.
cd "$(dirname "$0")/.." || exit 1
supervisorctl -c backend/supervisord.conf shutdown
sleep 2
supervisord -c backend/supervisord.conf
