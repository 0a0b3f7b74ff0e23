#!/bin/sh
# Writes Alertmanager's configuration from the environment, then (with arguments) runs Alertmanager
# with them: `render-config.sh OUT [alertmanager args…]`. POSIX sh: it runs in the official image
# (busybox) for compose and from scripts/twin-up.sh natively.
#
# Why rendered: Alertmanager does not expand environment variables in its configuration (a choice
# its maintainers have kept), and a receiver with an empty URL or address is refused, so which
# receivers exist must follow which variables are set. The file is written at start into a
# directory only its user can read (OUT's, mode 600): the webhook URLs and the SMTP password live in
# the environment of the running container or process, never in the image or the repository.
#
# Settings (all optional; with none, alerts are only shown by Alertmanager, on :9093):
#   ALERT_WEBHOOK_URL           POSTs Alertmanager's JSON (webhook format, version 4) to this URL
#   ALERT_SLACK_WEBHOOK_URL     a Slack (or Slack-compatible: Mattermost, Rocket.Chat) incoming webhook
#   ALERT_SLACK_CHANNEL         its channel, if the webhook needs one
#   ALERT_EMAIL_TO              e-mail to this address, through:
#   ALERT_SMTP_SMARTHOST        host:port of the SMTP server (587: STARTTLS is required by default)
#   ALERT_SMTP_FROM             the sender address
#   ALERT_SMTP_USERNAME, ALERT_SMTP_PASSWORD   its login, if it needs one
#   ALERT_SMTP_REQUIRE_TLS      true (default) or false
#   ALERT_GROUP_WAIT            how long the first notification of a new group waits for others (10s)
#   ALERT_CRITICAL_REPEAT, ALERT_WARNING_REPEAT   reminders while an alert still fires (1h, 4h)
set -eu
out=${1:?usage: render-config.sh OUT [alertmanager args...]}
[ $# -gt 0 ] && shift

# A YAML single-quoted scalar: any value is taken literally.
q() { printf "'%s'" "$(printf %s "$1" | sed "s/'/''/g")"; }

receiver=""
if [ -n "${ALERT_WEBHOOK_URL:-}" ]; then
  receiver="$receiver
    webhook_configs:
      - url: $(q "$ALERT_WEBHOOK_URL")
        send_resolved: true"
fi
if [ -n "${ALERT_SLACK_WEBHOOK_URL:-}" ]; then
  receiver="$receiver
    slack_configs:
      - api_url: $(q "$ALERT_SLACK_WEBHOOK_URL")
        send_resolved: true${ALERT_SLACK_CHANNEL:+
        channel: $(q "${ALERT_SLACK_CHANNEL:-}")}
        title: '{{ template \"starpets.title\" . }}'
        text: '{{ template \"starpets.text\" . }}'"
fi
if [ -n "${ALERT_EMAIL_TO:-}" ]; then
  : "${ALERT_SMTP_SMARTHOST:?ALERT_EMAIL_TO is set: set ALERT_SMTP_SMARTHOST (host:port) too}"
  : "${ALERT_SMTP_FROM:?ALERT_EMAIL_TO is set: set ALERT_SMTP_FROM too}"
  receiver="$receiver
    email_configs:
      - to: $(q "$ALERT_EMAIL_TO")
        from: $(q "$ALERT_SMTP_FROM")
        smarthost: $(q "$ALERT_SMTP_SMARTHOST")
        require_tls: ${ALERT_SMTP_REQUIRE_TLS:-true}
        send_resolved: true${ALERT_SMTP_USERNAME:+
        auth_username: $(q "${ALERT_SMTP_USERNAME:-}")}${ALERT_SMTP_PASSWORD:+
        auth_password: $(q "${ALERT_SMTP_PASSWORD:-}")}
        headers:
          Subject: '{{ template \"starpets.title\" . }}'
        text: '{{ template \"starpets.text\" . }}'"
fi
case ${ALERT_SMTP_REQUIRE_TLS:-true} in
  true | false) ;;
  *) echo "render-config.sh: ALERT_SMTP_REQUIRE_TLS must be true or false" >&2; exit 1 ;;
esac
if [ -z "$receiver" ]; then
  echo "render-config.sh: no ALERT_WEBHOOK_URL, ALERT_SLACK_WEBHOOK_URL or ALERT_EMAIL_TO set: alerts are shown by Alertmanager only" >&2
fi

here=$(cd "$(dirname "$0")" && pwd)
umask 077
cat >"$out.tmp" <<CONF
# Rendered by deploy/alertmanager/render-config.sh from the environment: do not edit, do not commit.
templates:
  - '$here/starpets.tmpl'

route:
  receiver: starpets
  # One notification per alert and task (the per-task rules carry a task label).
  group_by: [alertname, task]
  group_wait: ${ALERT_GROUP_WAIT:-10s}
  group_interval: 1m
  # By the rules' severity label (deploy/prometheus/rules): critical alerts are repeated hourly,
  # warnings wait longer and are repeated less often.
  routes:
    - matchers: ['severity="critical"']
      receiver: starpets
      repeat_interval: ${ALERT_CRITICAL_REPEAT:-1h}
    - matchers: ['severity="warning"']
      receiver: starpets
      group_interval: 5m
      repeat_interval: ${ALERT_WARNING_REPEAT:-4h}

# While no instance is alive, the per-instance and per-task alerts say nothing new.
inhibit_rules:
  - source_matchers: ['alertname="StarPetsNoInstanceAlive"']
    target_matchers: ['alertname=~"StarPetsInstanceDown|StarPetsTaskOverdue"']

receivers:
  - name: starpets$receiver
CONF
mv "$out.tmp" "$out"

[ $# -eq 0 ] && exit 0
exec "$@" --config.file="$out"
