#!/usr/bin/env python3
"""What the compose stack's commands, the operations guide and docs/security.md rely on, checked on
the resolved compose file (`docker-compose config | .ci/deploy_checks.py`, run by .ci/checks.d/30-deploy
with the variables scripts/compose-secrets.sh generates) against the raw docker-compose.yml,
application.yml, the nginx and Prometheus configurations and the native twin's script.
Needs PyYAML (python3-yaml, which comes with docker-compose)."""
import re
import sys

import yaml

c = yaml.safe_load(sys.stdin)
application = yaml.safe_load(open("starpets-service/src/main/resources/application.yml"))
tomcat = application["server"]["tomcat"]
nginx_conf = open("deploy/nginx/nginx.conf").read()
twin_up = open("scripts/twin-up.sh").read()
raw = yaml.safe_load(open("docker-compose.yml"))
prometheus_conf = yaml.safe_load(open("deploy/prometheus/prometheus.yml"))
s = c["services"]
def check(ok, what):
    if not ok:
        sys.exit("docker-compose.yml: " + what)
check(set(s) == {"postgres", "app", "nginx", "prometheus", "alertmanager", "grafana"}, "the six services")
for name, svc in s.items():
    check(svc.get("restart") == "unless-stopped", name + " restarts unless stopped")
    check("healthcheck" in svc, name + " has a healthcheck")
    check(":" in svc.get("image", "") and not svc["image"].endswith(":latest"), name + " has a pinned image")
app = s["app"]
check("ports" not in app, "app publishes no fixed host port (so --scale works)")
check(app["deploy"]["replicas"] >= 5, "app runs at least 5 instances by default (B1)")
check(str(app["environment"]["TOTAL_INSTANCES"]) == "5", "TOTAL_INSTANCES defaults to 5")
check("INSTANCE_ID" not in app["environment"], "an instance is named by its container HOSTNAME")
check(app["depends_on"]["postgres"]["condition"] == "service_healthy", "app waits for a healthy PostgreSQL")

def seconds(d):
    """A compose/Spring duration (90s, 2m, 1m30s, 1h) in seconds."""
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", str(d))
    check(parts and "".join(n + u for n, u in parts) == str(d), "a duration: " + str(d))
    return sum(float(n) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[u] for n, u in parts)

env = app["environment"]
# A graceful stop is never SIGKILLed: Spring drains requests for up to its shutdown phase
# (application.yml, 60 s), then the scheduler: poll (5 s) + SHUTDOWN_GRACE + a lease (10 s) + 2 s.
phase = seconds(application["spring"]["lifecycle"]["timeout-per-shutdown-phase"])
needed = phase + 5 + seconds(env["SHUTDOWN_GRACE"]) + 10 + 2
check(seconds(app["stop_grace_period"]) >= needed,
      "app stop_grace_period %s covers its graceful shutdown (%.0f s)" % (app["stop_grace_period"], needed))

# PostgreSQL connections (docs/operations.md#connections): each instance holds up to DB_POOL_SIZE pooled +
# DB_SCHEDULER_POOL_SIZE + DB_SQL_POOL_SIZE (sql tasks) + 1 health probe + 2 sessions; 20 instances (the
# documented ceiling) + the 3 reserved superuser slots must fit.
pg_cmd = " ".join(s["postgres"].get("command", []))
m = re.search(r"max_connections=(\d+)", pg_cmd)
check(m is not None, "postgres sets max_connections (the default 100 is too few)")
pool = int(env.get("DB_POOL_SIZE", 20))
scheduler_pool = int(env.get("DB_SCHEDULER_POOL_SIZE", 4))
sql_pool = int(env.get("DB_SQL_POOL_SIZE", 4))
check(20 * (pool + scheduler_pool + sql_pool + 3) + 3 <= int(m.group(1)),
      "max_connections %s fits 20 instances x (DB_POOL_SIZE %d + DB_SCHEDULER_POOL_SIZE %d + DB_SQL_POOL_SIZE %d"
      " + 3) + 3 reserved" % (m.group(1), pool, scheduler_pool, sql_pool))
check(["CMD", "pg_isready", "-h", "127.0.0.1"] == s["postgres"]["healthcheck"]["test"][:4],
      "the postgres healthcheck goes over TCP (not the Unix socket of the initdb temporary server)")

# Listen backlogs are capped by the somaxconn of the container.
backlog = int(re.search(r"backlog=(\d+)", nginx_conf).group(1))
accept = int(re.fullmatch(r"\$\{HTTP_ACCEPT_COUNT:(\d+)\}", tomcat["accept-count"]).group(1))
for name, want in (("nginx", backlog), ("app", accept)):
    got = int(s[name].get("sysctls", {}).get("net.core.somaxconn", 0))
    check(got >= want, "%s: sysctls net.core.somaxconn (%d) >= its listen backlog (%d)" % (name, got, want))

check(not any("enable-lifecycle" in a for a in s["prometheus"].get("command", [])),
      "Prometheus does not expose /-/quit and /-/reload on its published port")

# nginx closes idle upstream connections before Tomcat does (its keep-alive timeout: 60 s unless
# server.tomcat.keep-alive-timeout / connection-timeout is set), in compose and in the twin alike.
check("keep-alive-timeout" not in tomcat and "connection-timeout" not in tomcat,
      "Tomcat keeps its default 60 s keep-alive timeout (else revisit the nginx upstream keepalive_timeout)")
timeouts = []
for text in (nginx_conf, twin_up):
    upstream = re.search(r"upstream app \{(.*?)\}", text, re.S).group(1)
    t = re.search(r"keepalive_timeout\s+(\S+);", upstream)
    check(t is not None, "upstream app sets keepalive_timeout (nginx.conf and twin-up.sh)")
    timeouts.append(seconds(t.group(1)))
check(max(timeouts) < 60 and len(set(timeouts)) == 1,
      "upstream keepalive_timeout below the 60 s of Tomcat, the same in compose and twin")

# What nginx -t below cannot load with nginx 1.22 (Debian): "server app:8080 resolve". Its
# prerequisites are checked here instead: an image with open-source resolve (nginx >= 1.27.3), a
# shared-memory zone in the upstream and a resolver (the DNS of Docker).
version = tuple(int(x) for x in re.match(r"nginx:(\d+)\.(\d+)\.(\d+)", s["nginx"]["image"]).groups())
check(version >= (1, 27, 3), "the nginx image supports \"server ... resolve\" (1.27.3+)")
upstream = re.search(r"upstream app \{(.*?)\}", nginx_conf, re.S).group(1)
check(re.search(r"^\s*zone app \d+k;", upstream, re.M) and re.search(r"^\s*server app:8080 resolve ", upstream, re.M),
      "the compose upstream resolves app:8080 in a shared zone")
check(re.search(r"^\s*resolver 127\.0\.0\.11 ", nginx_conf, re.M), "nginx resolves through the DNS of Docker")
def published(port):
    """(host address, published port) of a ports entry, in either form docker-compose config writes."""
    if isinstance(port, dict):
        return port.get("host_ip", "0.0.0.0"), int(port["published"])
    parts = str(port).split("/")[0].split(":")
    return (parts[0] if len(parts) == 3 else "0.0.0.0"), int(parts[-2])
ports = {n: sorted(published(p) for p in svc.get("ports", [])) for n, svc in s.items()}
check(ports["nginx"] == [("0.0.0.0", 80)], "the API (nginx) is published on port 80 of every interface")
for name, port in (("postgres", 5432), ("prometheus", 9090), ("grafana", 3001)):
    check(ports[name] == [("127.0.0.1", port)],
          "%s is published on 127.0.0.1:%d only, unless BIND_ADDRESS says otherwise: %s" % (name, port, ports[name]))

# No default password or token: each is a required variable (${NAME:?...}), in the file as written.
for name, svc in raw["services"].items():
    for key, value in (svc.get("environment") or {}).items():
        if key == "ALERT_SMTP_PASSWORD":
            # Optional (an SMTP server may need no login): empty unless set, never a default value.
            check(value == "${ALERT_SMTP_PASSWORD:-}", "%s: %s has no default: %s" % (name, key, value))
        elif re.search(r"PASSWORD|TOKENS$", key) and key != "GF_SECURITY_ADMIN_USER":
            check(re.fullmatch(r"\$\{[A-Z_]+:\?[^}]+\}", str(value)),
                  "%s: %s is a required variable, never a default: %s" % (name, key, value))
# The database: StarPets' three roles, none a superuser, created by db/roles.sql at the volume's first start.
env = s["app"]["environment"]
check((env["DB_USER"], env["DB_OWNER_USER"], env["DB_SQL_USER"]) == ("starpets_app", "starpets_owner", "starpets_sql"),
      "the service runs as starpets_app, migrates as starpets_owner, runs sql tasks as starpets_sql")
check(env["DB_PASSWORD"] == s["postgres"]["environment"]["STARPETS_DB_APP_PASSWORD"]
      and env["DB_OWNER_PASSWORD"] == s["postgres"]["environment"]["STARPETS_DB_OWNER_PASSWORD"]
      and env["DB_SQL_PASSWORD"] == s["postgres"]["environment"]["STARPETS_DB_SQL_PASSWORD"],
      "the roles get the passwords the service connects with")
mounts = [str(v) for v in s["postgres"]["volumes"]]
check(any(v.endswith("/deploy/postgres/initdb:/docker-entrypoint-initdb.d:ro") for v in mounts)
      and any(v.endswith("/src/main/resources/db/roles.sql:/starpets/roles.sql:ro") for v in mounts),
      "postgres runs deploy/postgres/initdb/10-roles.sh with db/roles.sql when its volume is made")
# Every instance the same tokens; Prometheus scrapes the closed /metrics with its own viewer token.
for key in ("STARPETS_OPERATOR_TOKENS", "STARPETS_VIEWER_TOKENS", "STARPETS_BALANCE_TOKENS"):
    check(str(env.get(key, "")).strip() != "", "app: " + key + " is set")
check(str(env.get("STARPETS_PUBLIC_READS")) == "false", "reads need a token unless asked (STARPETS_PUBLIC_READS)")
# Prometheus sends its alerts to the alertmanager service, whose configuration is rendered at start.
check(prometheus_conf["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == ["alertmanager:9093"],
      "Prometheus sends its alerts to alertmanager:9093")
check("alertmanager" in s["prometheus"]["depends_on"], "Prometheus starts after Alertmanager")
check("/etc/alertmanager/render-config.sh" in s["alertmanager"]["entrypoint"],
      "Alertmanager's configuration is rendered from the environment (deploy/alertmanager/render-config.sh)")
job = next(j for j in prometheus_conf["scrape_configs"] if j["job_name"] == "starpets-app")
token_file = job.get("authorization", {}).get("credentials_file")
check(token_file == "/run/secrets/prometheus_token"
      and any((x.get("source") if isinstance(x, dict) else x) == "prometheus_token"
              for x in s["prometheus"].get("secrets", [])),
      "Prometheus scrapes /metrics with the token compose mounts at /run/secrets/prometheus_token")
check(re.search(r"credentials_file: \$dir/secrets/prometheus-token", twin_up),
      "the twin's Prometheus scrapes with a token too")
