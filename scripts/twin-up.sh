#!/usr/bin/env bash
# The native twin of the compose stack, for machines without Docker and for the end-to-end tests.
# All on 127.0.0.1: one PostgreSQL 17 (the jar's embedded one), N instances of the real jar started
# together, nginx in front of them (the compose stack's server block), Prometheus scraping them
# (the repository's rules) and sending its alerts to Alertmanager (deploy/alertmanager, configured
# from the same ALERT_* variables as in compose: ALERT_WEBHOOK_URL …). scripts/twin-down.sh stops
# everything.
#
# Settings (environment): TWIN_INSTANCES (5), TWIN_DIR (./tmp/twin), TWIN_PG_PORT (15432),
# TWIN_NGINX_PORT (18080; instances listen on the next N ports), TWIN_PROMETHEUS_PORT (19090),
# TWIN_ALERTMANAGER_PORT (19093), ALERTMANAGER (the Alertmanager binary: Debian's
# prometheus-alertmanager, else alertmanager on the PATH),
# TWIN_START_SECONDS (180: how long each instance may take to answer /health), STARPETS_JAR, JAVA,
# TWIN_JAVA_OPTS (extra JVM options of every instance, split on spaces; none by default);
# any of the service's own settings (TASK_DURATION, SCHEDULER_SETTLE …) is passed to every instance.
#
# Secure as the compose stack: PostgreSQL has StarPets' three roles (db/roles.sql; the instances run as
# starpets_app, migrate as starpets_owner), and every instance the same tokens: STARPETS_OPERATOR_TOKENS,
# STARPETS_VIEWER_TOKENS and STARPETS_BALANCE_TOKENS as given, else an operator and a balance token
# generated into $TWIN_DIR/secrets/ (mode 600). Prometheus scrapes /metrics with a viewer token of its own,
# generated there too and added to the viewer tokens.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
# shellcheck source=scripts/lib.sh
source "$here/lib.sh"

n=${TWIN_INSTANCES:-5}
dir=$(realpath -m "${TWIN_DIR:-$root/tmp/twin}")
pg_port=${TWIN_PG_PORT:-15432}
nginx_port=${TWIN_NGINX_PORT:-18080}
prom_port=${TWIN_PROMETHEUS_PORT:-19090}
am_port=${TWIN_ALERTMANAGER_PORT:-19093}
alertmanager=${ALERTMANAGER:-$(command -v prometheus-alertmanager || command -v alertmanager || true)}
[ -n "$alertmanager" ] || { echo "no Alertmanager found (apt-get install prometheus-alertmanager, or set ALERTMANAGER)" >&2; exit 1; }
start_seconds=${TWIN_START_SECONDS:-180}
read -r -a java_opts <<<"${TWIN_JAVA_OPTS:-}"
java=$(starpets_java)
jar=$(starpets_jar "$root")

if [ -d "$dir/pids" ] && ls "$dir"/pids/*.pid >/dev/null 2>&1; then
  echo "a twin seems to run in $dir already: scripts/twin-down.sh first" >&2
  exit 1
fi
# A port still taken (often a twin left running from another directory, whose instances would then
# join this twin's database under the same ids) fails here, naming it, rather than later and obscurely.
for port in "$pg_port" "$nginx_port" "$prom_port" "$am_port" $(seq $((nginx_port + 1)) $((nginx_port + n))); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "port $port on 127.0.0.1 is in use (a twin still running? scripts/twin-down.sh with its TWIN_DIR)" >&2
    exit 1
  fi
done
mkdir -p "$dir/pids" "$dir/logs" "$dir/nginx-temp"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

(umask 077 && mkdir -p "$dir/secrets")
new_token() { (umask 077 && head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n' >"$dir/secrets/$1"); }
digest() { printf %s "$(cat "$dir/secrets/$1")" | sha256sum | cut -d' ' -f1; }
if [ -z "${STARPETS_OPERATOR_TOKENS:-}" ]; then
  new_token operator-token
  export STARPETS_OPERATOR_TOKENS="operator:sha256:$(digest operator-token)"
fi
if [ -z "${STARPETS_BALANCE_TOKENS:-}" ]; then
  new_token balance-token
  export STARPETS_BALANCE_TOKENS="balance:sha256:$(digest balance-token)"
fi
new_token prometheus-token
export STARPETS_VIEWER_TOKENS="${STARPETS_VIEWER_TOKENS:+$STARPETS_VIEWER_TOKENS,}prometheus:sha256:$(digest prometheus-token)"

# Every process started here names $dir on its command line (nginx -c, Prometheus --config.file,
# PostgreSQL's data directory, -Dstarpets.twin for the instances): twin-down.sh checks it before
# signalling a pid from a pid file, which by then may belong to another process.
start() { # name, command…
  local name=$1
  shift
  "$@" >"$dir/logs/$name.log" 2>&1 &
  echo $! >"$dir/pids/$name.pid"
}

echo "twin: PostgreSQL on 127.0.0.1:$pg_port"
start postgres "$java" -cp "$jar" -Dloader.main=gg.starpets.config.EmbeddedPostgresMain \
  org.springframework.boot.loader.launch.PropertiesLauncher "$dir/postgres-data" "$pg_port"
starpets_wait 90 grep -q '^READY' "$dir/logs/postgres.log" || {
  echo "PostgreSQL did not start; see $dir/logs/postgres.log" >&2
  exit 1
}

echo "twin: $n instances on 127.0.0.1:$((nginx_port + 1))..$((nginx_port + n))"
upstreams="" targets=""
for i in $(seq 1 "$n"); do
  port=$((nginx_port + i))
  upstreams+="        server 127.0.0.1:$port max_fails=1 fail_timeout=5s;"$'\n'
  targets+="'127.0.0.1:$port', "
  INSTANCE_ID=app-$i PORT=$port DB_HOST=127.0.0.1 DB_PORT=$pg_port TOTAL_INSTANCES=${TOTAL_INSTANCES:-$n} \
    start "app-$i" "$java" -Xmx384m -XX:+ExitOnOutOfMemoryError ${java_opts[@]+"${java_opts[@]}"} -Dstarpets.twin="$dir" -jar "$jar"
done

echo "twin: nginx on 127.0.0.1:$nginx_port"
cat >"$dir/nginx.conf" <<CONF
# Generated by scripts/twin-up.sh: deploy/nginx/nginx.conf with the instances listed instead of resolved.
worker_processes 2;
worker_rlimit_nofile $(ulimit -Hn);
pid $dir/nginx.pid;
error_log $dir/logs/nginx-error.log warn;
events {
    worker_connections 32768;
    multi_accept on;
}
http {
    access_log off;
    keepalive_timeout 30s;
    keepalive_requests 10000;
    client_body_temp_path $dir/nginx-temp/body;
    proxy_temp_path $dir/nginx-temp/proxy;
    fastcgi_temp_path $dir/nginx-temp/fastcgi;
    uwsgi_temp_path $dir/nginx-temp/uwsgi;
    scgi_temp_path $dir/nginx-temp/scgi;
    upstream app {
        zone app 256k;
$upstreams        keepalive 256;
        # As in deploy/nginx/nginx.conf: below Tomcat's 60 s keep-alive timeout.
        keepalive_timeout 30s;
    }
    server {
        # reuseport: the kernel spreads a burst of connections over both workers (file limits are per worker).
        listen 127.0.0.1:$nginx_port backlog=16384 reuseport;
        include $root/deploy/nginx/starpets-locations.conf;
    }
}
CONF
start nginx nginx -c "$dir/nginx.conf" -p "$dir" -g 'daemon off;'

echo "twin: Alertmanager on 127.0.0.1:$am_port"
# The compose service's own start (render-config.sh writes the configuration, then execs it), so the
# pid file holds Alertmanager's pid. No cluster: one Alertmanager, no gossip port.
start alertmanager "$root/deploy/alertmanager/render-config.sh" "$dir/alertmanager.yml" "$alertmanager" \
  --storage.path="$dir/alertmanager-data" --web.listen-address="127.0.0.1:$am_port" \
  --web.external-url="http://127.0.0.1:$am_port" --cluster.listen-address=

echo "twin: Prometheus on 127.0.0.1:$prom_port"
rules=""
if ls "$root"/deploy/prometheus/rules/*.yml >/dev/null 2>&1; then
  rules="rule_files: ['$root/deploy/prometheus/rules/*.yml']"
fi
cat >"$dir/prometheus.yml" <<CONF
# Generated by scripts/twin-up.sh: the instances listed instead of found through DNS.
global:
  scrape_interval: 2s
  evaluation_interval: 2s
  # As in deploy/prometheus/prometheus.yml: the alerts link to a task's page in this console.
  external_labels:
    console_url: http://127.0.0.1:$nginx_port
$rules
alerting:
  alertmanagers:
    - static_configs:
        - targets: ['127.0.0.1:$am_port']
scrape_configs:
  # Named as in deploy/prometheus/prometheus.yml, so that the rules (up{job="starpets-app"}) apply.
  - job_name: starpets-app
    metrics_path: /metrics
    authorization:
      credentials_file: $dir/secrets/prometheus-token
    static_configs:
      - targets: [${targets%, }]
CONF
start prometheus prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/prometheus-data" \
  --web.listen-address="127.0.0.1:$prom_port"

# Five JVMs starting at once keep a small machine busy: an answer may take seconds to come.
healthy() { curl -fsS -m 10 "http://127.0.0.1:$1/health" | grep -q '"UP"'; }
for i in $(seq 1 "$n"); do
  starpets_wait "$start_seconds" healthy $((nginx_port + i)) || {
    echo "instance app-$i did not become healthy; see $dir/logs/app-$i.log" >&2
    exit 1
  }
done
starpets_wait 30 healthy "$nginx_port" || { echo "nginx does not answer; see $dir/logs" >&2; exit 1; }
starpets_wait 60 curl -fsS -m 2 "http://127.0.0.1:$prom_port/-/ready" || {
  echo "Prometheus is not ready; see $dir/logs/prometheus.log" >&2
  exit 1
}
starpets_wait 60 curl -fsS -m 2 "http://127.0.0.1:$am_port/-/ready" || {
  echo "Alertmanager is not ready; see $dir/logs/alertmanager.log" >&2
  exit 1
}
echo "twin: up — http://127.0.0.1:$nginx_port (nginx), http://127.0.0.1:$prom_port (Prometheus), http://127.0.0.1:$am_port (Alertmanager); logs in $dir/logs"
if ls "$dir"/secrets/operator-token "$dir"/secrets/balance-token >/dev/null 2>&1; then
  echo "twin: tokens in $dir/secrets/, e.g. curl -H \"Authorization: Bearer \$(cat $dir/secrets/operator-token)\" http://127.0.0.1:$nginx_port/tasks"
fi
