#!/usr/bin/env bash
# Start the action server, then the Rasa server: `run.sh shell` to chat in this terminal,
# `run.sh serve` for the REST channel alone. Both serve POST /webhooks/rest/webhook.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-shell}
rasa_port=${RASA_PORT:-5005}
actions_port=${ACTIONS_PORT:-5055}
bin=.venv/bin
mkdir -p var
# Libraries Rasa 3.6 pins print deprecation notices at start-up; they mean nothing to a user.
export PYTHONWARNINGS="ignore::DeprecationWarning,ignore::PendingDeprecationWarning"
export SQLALCHEMY_SILENCE_UBER_WARNING=1 RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=2

echo "==> Starting the action server on port $actions_port (log: var/action-server.log)"
"$bin/rasa" run actions --actions actions --port "$actions_port" >var/action-server.log 2>&1 &
actions_pid=$!
trap 'kill "$actions_pid" 2>/dev/null || true' EXIT INT TERM

for _ in $(seq 1 120); do
  if "$bin/python" -c "import urllib.request,sys; urllib.request.urlopen('http://localhost:$actions_port/health', timeout=1)" 2>/dev/null; then
    break
  fi
  if ! kill -0 "$actions_pid" 2>/dev/null; then
    echo "The action server stopped; see var/action-server.log:" >&2
    tail -n 20 var/action-server.log >&2
    exit 1
  fi
  sleep 0.5
done

echo "==> Starting the assistant. Programs can POST to http://localhost:$rasa_port/webhooks/rest/webhook"
if [ "$mode" = "shell" ]; then
  echo "==> Type your question below; /stop ends the chat. (Slack and Telegram run with 'make serve'.)"
  "$bin/rasa" shell --model models/assistant.tar.gz --endpoints endpoints.yml --port "$rasa_port"
else
  # Slack and Telegram are switched on by their environment variables (see README).
  "$bin/python" -m connectors.credentials var/credentials.yml
  "$bin/rasa" run --model models/assistant.tar.gz --endpoints endpoints.yml \
    --credentials var/credentials.yml --port "$rasa_port" --cors "*"
fi
