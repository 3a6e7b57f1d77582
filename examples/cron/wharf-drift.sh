#!/usr/bin/env bash
# Runs `wharf drift --markdown` and, when the warehouse differs from the file (exit 2), posts
# a summary to a chat webhook (Slack, Mattermost, Teams workflows: {"text": "…"}) with curl.
# Run by the crontab line (crontab.txt) or the systemd timer (wharf-drift.timer).
#
# Environment (from an environment file such as drift.env.example; never written inline):
#   WHARF_DRIFT_WEBHOOK_URL  the webhook (required)
#   WHARF_DIR                the checkout that holds wharf.yaml (default: the current folder)
#   WHARF_FILE               the config file (default wharf.yaml)
#   WHARF                    how to call wharf (default: npx --no-install wharf)
#   and every ${env:NAME} that the config file references.
# Exit codes are wharf's: 0 no drift, 2 drift (posted), 1 could not tell (on stderr, so cron
# mails it and journald keeps it); 3 when the post itself failed.
set -uo pipefail

: "${WHARF_DRIFT_WEBHOOK_URL:?is not set: put it in the environment file}"
cd "${WHARF_DIR:-.}" || exit 1
report=$(mktemp)
payload=$(mktemp)
trap 'rm -f "$report" "$payload"' EXIT

# shellcheck disable=SC2086 # WHARF may be a command with arguments
${WHARF:-npx --no-install wharf} drift --markdown -f "${WHARF_FILE:-wharf.yaml}" > "$report"
code=$?
case "$code" in
  0) exit 0 ;;
  2) ;;
  *)
    echo "wharf drift could not tell whether the warehouse matches the file (exit $code):" >&2
    cat "$report" >&2
    exit "$code"
    ;;
esac

# The summary: the head of the report (heading, when it was checked, the counts, the first
# changes), short enough for any chat.
summary=$(head -n 30 "$report" | cut -c 1-300)
printf '%s\n\n(%s on %s; run wharf drift there for all of it)\n' "$summary" "${WHARF_FILE:-wharf.yaml}" "$(hostname)" |
  node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => process.stdout.write(JSON.stringify({ text: s })));' > "$payload"
# The URL goes to curl on stdin, not on its command line, so that ps does not show it.
if ! printf 'url = "%s"\n' "$WHARF_DRIFT_WEBHOOK_URL" |
  curl --config - --fail --silent --show-error --max-time 30 \
    --header 'Content-Type: application/json' --data-binary "@$payload" > /dev/null; then
  echo "wharf drift found drift, but posting it to the webhook failed" >&2
  exit 3
fi
exit 2
