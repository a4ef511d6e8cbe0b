#!/bin/sh
# Start one Rasa server in the `rasa` service of docker-compose.yml (mounted read-only at
# /app/docker/rasa/start.sh; the project's connectors/, safety/, nlu/ and models/ are mounted beside it).
# The endpoints (action server, tracker store, lock store) and the channels (plus Slack and
# Telegram when their tokens are set) are written from the environment into files only this user
# can read, so no password or token is ever in a mounted file.
# The server is the project's (connectors/server.py), which takes `rasa run`'s options. The HTTP
# API stays off: only the channels' webhooks are served (behind nginx).
set -eu
cd /app

model=models/assistant.tar.gz
if [ ! -f "$model" ]; then
  echo "No trained model at ./$model on the host: run \`make train\` there, then start again." >&2
  exit 1
fi

python -m connectors.endpoints /tmp/endpoints.yml
python -m connectors.credentials /tmp/credentials.yml
exec python -m connectors.server --model "$model" --endpoints /tmp/endpoints.yml \
  --credentials /tmp/credentials.yml --port 5005 --interface 0.0.0.0
