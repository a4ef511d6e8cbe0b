#!/usr/bin/env bash
# Start the action server, the website widget and the Rasa server.
#   run.sh shell   also chat in this terminal (as `rasa shell` does)   -- `make run`
#   run.sh serve   no terminal chat                                    -- `make serve`
# Both serve the widget on http://localhost:8080/, POST /webhooks/rest/webhook for programs, and
# Slack and Telegram when their environment variables are set (see README).
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-shell}
rasa_port=${RASA_PORT:-5005}
actions_port=${ACTIONS_PORT:-5055}
web_port=${WEB_PORT:-8080}
bin=.venv/bin
mkdir -p var
# Libraries Rasa 3.6 pins print deprecation notices at start-up; they mean nothing to a user.
export PYTHONWARNINGS="ignore::DeprecationWarning,ignore::PendingDeprecationWarning"
export SQLALCHEMY_SILENCE_UBER_WARNING=1 RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=2

pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT INT TERM

# Wait for a background server to answer on a URL; if it stops instead, show its log and give up.
wait_for() {
  local name=$1 url=$2 pid=$3 log=$4
  for _ in $(seq 1 120); do
    if "$bin/python" -c "import urllib.request,sys; urllib.request.urlopen('$url', timeout=1)" 2>/dev/null; then
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "The $name stopped; see $log:" >&2
      tail -n 20 "$log" >&2
      exit 1
    fi
    sleep 0.5
  done
  echo "The $name did not start within a minute; see $log." >&2
  exit 1
}

# Every server listens on this machine's loopback only, unless RASA_INTERFACE says otherwise (for
# the Rasa server: its REST, widget and chat-app channels). The action server takes a token that
# only this run's Rasa server knows, made afresh each time.
export ACTION_SERVER_TOKEN=${ACTION_SERVER_TOKEN:-$("$bin/python" -c 'import secrets; print(secrets.token_hex(32))')}

echo "==> Starting the action server on port $actions_port (log: var/action-server.log)"
"$bin/python" -m actions.server --actions actions --port "$actions_port" >var/action-server.log 2>&1 &
pids+=($!)
wait_for "action server" "http://127.0.0.1:$actions_port/health" "$!" var/action-server.log

echo "==> Starting the website widget on port $web_port (log: var/web.log)"
"$bin/python" scripts/serve_web.py --port "$web_port" --server "http://localhost:$rasa_port" >var/web.log 2>&1 &
pids+=($!)
wait_for "website widget server" "http://127.0.0.1:$web_port/" "$!" var/web.log

# The Rasa server finds the action server on ACTIONS_PORT, and keeps conversations and locks where
# TRACKER_STORE_URL and LOCK_STORE_URL say (in memory when they are not set).
ACTION_SERVER_URL="http://127.0.0.1:$actions_port/webhook" "$bin/python" -m connectors.endpoints var/endpoints.yml

terminal=()
if [ "$mode" = "shell" ]; then
  terminal=(--terminal)
fi
"$bin/python" -m connectors.credentials "${terminal[@]}" var/credentials.yml

cat <<EOF

    Website chat:  http://localhost:$web_port/   (open it in your browser)
    Programs:      POST http://localhost:$rasa_port/webhooks/rest/webhook

EOF
# The widget's page is on another port, so the Rasa server allows it as an origin (CORS, and the
# widget's socket: WIDGET_ORIGINS). `connectors.server` is `rasa run` with the project's plug-ins.
export WIDGET_ORIGINS=${WIDGET_ORIGINS:-"http://localhost:$web_port,http://127.0.0.1:$web_port"}
rasa_run=("$bin/python" -m connectors.server --model models/assistant.tar.gz --endpoints var/endpoints.yml
  --credentials var/credentials.yml --port "$rasa_port" --quiet
  --cors "http://localhost:$web_port" "http://127.0.0.1:$web_port")
if [ "$mode" = "shell" ]; then
  echo "==> Loading the assistant (about 10 seconds), then type your question below; /stop ends the chat."
  # The server's log (and the libraries' start-up notices) go to a file, to keep the chat readable.
  if ! "${rasa_run[@]}" 2>var/rasa-server.log; then
    echo "The assistant stopped with an error; the end of var/rasa-server.log:" >&2
    tail -n 20 var/rasa-server.log >&2
    exit 1
  fi
else
  echo "==> Loading the assistant (about 10 seconds); Ctrl+C stops it."
  "${rasa_run[@]}"
fi
