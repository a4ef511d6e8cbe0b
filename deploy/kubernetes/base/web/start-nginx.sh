#!/bin/sh
# The web container's command in Kubernetes: nginx with docker/web/nginx.conf, whose upstream
# `server rasa:5005;` names the headless Service `rasa`, so nginx is given the address of every
# ready Rasa server, as Docker's DNS gives it every replica. nginx 1.27.1 resolves that name only
# when it starts or reloads; this script asks again every few seconds and reloads nginx (which
# keeps open connections) when the Rasa servers change: a rollout, the autoscaler, a restart.
# This is what `docker compose restart web` does after `--scale rasa=N`, done for you.
set -u
name="${UPSTREAM_NAME:-rasa}"
every="${CHECK_SECONDS:-5}"

addresses() {
  getent hosts "$name" | awk '{print $1}' | sort
}

# nginx refuses to start while the name resolves to nothing (no Rasa server ready yet).
until [ -n "$(addresses)" ]; do
  echo "start-nginx: waiting for a ready Rasa server behind '$name'" >&2
  sleep "$every"
done

nginx -g 'daemon off;' &
nginx_pid=$!
trap 'nginx -s quit; wait "$nginx_pid"; exit 0' TERM INT QUIT
known=$(addresses)

while kill -0 "$nginx_pid" 2>/dev/null; do
  sleep "$every" &
  wait $!
  current=$(addresses)
  if [ -n "$current" ] && [ "$current" != "$known" ]; then
    echo "start-nginx: the Rasa servers changed; reloading nginx" >&2
    nginx -s reload && known=$current
  fi
done
wait "$nginx_pid"
