#!/usr/bin/env bash
# Starts config/rollupd.service under a real systemd and checks what the
# README promises of it: a Debian 12 container with systemd as PID 1 gets
# the unit and the example configuration installed as the README says, and
# then, through systemctl and curl inside it:
#   - the service starts (Type=notify: active only after READY=1) and says
#     "serving on 127.0.0.1:8080"; it runs as a dynamic, unprivileged user
#     with its data in /var/lib/private/rollupd, under the unit's sandbox;
#   - the README's notification, sent three times, makes a digest, and the
#     log sink writes it to the journal;
#   - the event loop's WATCHDOG=1 reaches systemd (its timestamp moves);
#   - `systemctl stop` drains and exits 0; started again, the digest is
#     still there;
#   - killed (SIGKILL), it is restarted (Restart=on-failure);
#   - with an unknown setting in the file it fails to start with exit 78 in
#     the journal, and systemd does not retry it (RestartPreventExitStatus).
#
#   config/verify-unit.sh [--image IMAGE] [--keep]
#
# The rollupd binary comes from the image docker/verify-image.sh builds
# (default localhost/rollupd:latest; ROLLUPD_VERIFY_TAG or --image), a
# release build of the same sources; systemd, dbus and curl are installed
# on top of it from the apt mirror the image already uses. Needs podman and
# root (systemd in a container needs --privileged to set up the unit's
# namespaces; on a host it is PID 1 and has what it needs). Without podman
# or root it exits 77 (ctest: skipped).
#
# Writes only under build/systemd/ and podman's own store. On exit it
# removes its container (--keep leaves it for a look) and keeps the image
# localhost/rollupd-systemd-host (the layer cache makes the next run fast).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
scratch="$repo/build/systemd"
image=${ROLLUPD_VERIFY_TAG:-localhost/rollupd:latest}
host_image=localhost/rollupd-systemd-host:latest
keep=0

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; }

while [ $# -gt 0 ]; do
  case "$1" in
    --keep) keep=1 ;;
    --image) image=${2:?--image needs a value}; shift ;;
    --image=*) image=${1#*=} ;;
    -h|--help) usage; exit 0 ;;
    *) echo "verify-unit: unknown argument $1 (--help)" >&2; exit 64 ;;
  esac
  shift
done

me=verify-unit
# shellcheck source=../docker/verify-common.sh
. "$repo/docker/verify-common.sh"

command -v podman >/dev/null 2>&1 || skip "podman not installed (see docker/verify-image.sh)"
[ "$(id -u)" -eq 0 ] || skip "needs root: systemd in a container runs with --privileged"
podman image exists "$image" || fail "no image $image: build it first with docker/verify-image.sh"

runtime=()
command -v runc >/dev/null 2>&1 && runtime=(--runtime runc)
pm() { podman "${runtime[@]}" "$@"; }

ctr="rollupd-verify-unit-$$"
cleanup() {
  status=$?
  set +e
  if [ "$status" -ne 0 ] && [ "$status" -ne 77 ] && pm container exists "$ctr" 2>/dev/null; then
    printf '\n--- systemctl status rollupd; the journal of rollupd.service ---\n' >&2
    pm exec "$ctr" systemctl status rollupd --no-pager >&2
    pm exec "$ctr" journalctl -u rollupd --no-pager -n 40 >&2
  fi
  if [ "$keep" -eq 1 ]; then
    printf '\nkept: container %s (podman exec -it %s bash)\n' "$ctr" "$ctr" >&2
  else
    pm rm --force --time 0 "$ctr" >/dev/null 2>&1
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------ the host image
step "podman build $host_image: $image with systemd, the unit and the example configuration"
rm -rf "$scratch/context" && mkdir -p "$scratch/context"
cp "$repo/config/rollupd.service" "$repo/config/rollupd.toml" "$scratch/context/"
# The image's files without its settings, its data directory or its user:
# its VOLUME /var/lib/rollupd is the container's way of keeping data, and on
# a host StateDirectory= makes the directory; with a user named rollupd
# DynamicUser= would run the service as that user instead of a dynamic one.
cat > "$scratch/context/Containerfile" <<EOF
FROM $image AS rollupd
FROM scratch
COPY --from=rollupd / /
RUN apt-get update && \\
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends systemd systemd-sysv dbus curl && \\
    rm -rf /var/lib/apt/lists/* /var/lib/rollupd && \\
    userdel rollupd
# As the README installs them ("Running as a systemd service").
COPY rollupd.toml /tmp/
COPY rollupd.service /tmp/
RUN install -Dm644 /tmp/rollupd.toml /etc/rollupd/rollupd.toml && \\
    install -m644 /tmp/rollupd.service /etc/systemd/system/ && \\
    rm /tmp/rollupd.toml /tmp/rollupd.service && \\
    systemctl enable rollupd
WORKDIR /
ENTRYPOINT ["/sbin/init"]
CMD []
STOPSIGNAL SIGRTMIN+3
EOF
pm build "${ulimits[@]}" -t "$host_image" "$scratch/context" > "$scratch/build.log" 2>&1 ||
  { tail -30 "$scratch/build.log" >&2; fail "podman build failed (log: $scratch/build.log)"; }

# ------------------------------------------------------------------ helpers
in_host() { pm exec "$ctr" "$@"; }
prop() { in_host systemctl show rollupd -p "$1" --value; }
# Waits up to $2 seconds for `systemctl is-active rollupd` to print $1.
wait_state() {
  local deadline=$((SECONDS + $2)) state=""
  while [ "$SECONDS" -lt "$deadline" ]; do
    state=$(in_host systemctl is-active rollupd 2>/dev/null || true)
    [ "$state" = "$1" ] && return 0
    sleep 0.5
  done
  fail "rollupd.service is \"$state\" after $2s, expected \"$1\""
}
journal_has() { in_host journalctl -u rollupd --no-pager -o cat | grep -Eq -- "$1"; }
post_example() {
  in_host curl -sS --max-time 10 -H "Content-Type: application/json" \
    -d '{"Email":"a@example.com","Notification":"test notification","Timestamp":"2019-08-10T15:31:47.808596Z","Priority":0}' \
    http://localhost:8080/notifications
}

# ------------------------------------------------------------------- checks
step "starting $ctr (systemd as PID 1)"
pm run -d --name "$ctr" --privileged --systemd=always "${ulimits[@]}" "$host_image" > /dev/null ||
  fail "podman run failed"
wait_state active 60
info "systemd $(in_host systemctl --version | head -1 | cut -d' ' -f2), $(prop StatusText)"
[ "$(prop StatusText)" = "serving on 127.0.0.1:8080" ] || fail "status is \"$(prop StatusText)\""
pid=$(prop MainPID)
uid=$(in_host stat -c %u "/proc/$pid")
info "main PID $pid, UID $uid"
# systemd's range for dynamic users (systemd.exec(5), DynamicUser=).
[ "$uid" -ge 61184 ] && [ "$uid" -le 65519 ] || fail "rollupd runs as UID $uid, not a dynamic user"
in_host test -L /var/lib/rollupd || fail "/var/lib/rollupd is not StateDirectory='s link to /var/lib/private/rollupd"
[ "$(in_host stat -c %u /var/lib/private/rollupd)" = "$uid" ] || fail "/var/lib/private/rollupd does not belong to UID $uid"
in_host test -f /var/lib/private/rollupd/CURRENT || fail "no database in /var/lib/private/rollupd"

step "POST /notifications (the README's example) three times"
for n in 1 2 3; do answer=$(post_example) || fail "POST #$n: curl failed"; done
case "$answer" in *'"Count":3'*) ;; *) fail "the third POST made no digest of 3: $answer" ;; esac
digest_id=$(printf '%s' "$answer" | grep -o '"Id":"[0-9a-f]\{32\}"' | cut -d'"' -f4)
info "digest $digest_id"
deadline=$((SECONDS + 15))
until journal_has "digest $digest_id for a@example.com: 3 notification"; do
  [ "$SECONDS" -lt "$deadline" ] || fail "the log sink did not write digest $digest_id to the journal within 15s"
  sleep 0.5
done

step "WATCHDOG=1 reaches systemd (WatchdogSec=$(prop WatchdogUSec): a ping every half of it)"
first=$(prop WatchdogTimestampMonotonic)
deadline=$((SECONDS + 40))
until [ "$(prop WatchdogTimestampMonotonic)" != "$first" ]; do
  [ "$SECONDS" -lt "$deadline" ] || fail "no watchdog ping reached systemd within 40s"
  sleep 1
done

step "systemctl stop: the drain, exit 0"
in_host systemctl stop rollupd
[ "$(prop Result)" = success ] || fail "stop: Result=$(prop Result)"
[ "$(prop ExecMainStatus)" = 0 ] || fail "stop: exit status $(prop ExecMainStatus)"
journal_has "shut down cleanly" || fail "no \"shut down cleanly\" in the journal"

step "systemctl start: the digest is still there"
in_host systemctl start rollupd
wait_state active 30
in_host curl -sS --max-time 10 "http://localhost:8080/v1/digests/$digest_id" | grep -q "\"Id\":\"$digest_id\"" ||
  fail "digest $digest_id is gone after a restart"

step "SIGKILL: systemd restarts it (Restart=on-failure)"
restarts=$(prop NRestarts)
in_host systemctl kill -s KILL rollupd
deadline=$((SECONDS + 30))
until [ "$(prop NRestarts)" -gt "$restarts" ] && [ "$(in_host systemctl is-active rollupd || true)" = active ]; do
  [ "$SECONDS" -lt "$deadline" ] || fail "not restarted within 30s after SIGKILL (NRestarts=$(prop NRestarts))"
  sleep 0.5
done
[ "$(prop MainPID)" != "$pid" ] || fail "the same main PID after SIGKILL"

step "an unknown setting: the start fails with exit 78, not retried"
in_host cp /etc/rollupd/rollupd.toml /etc/rollupd/rollupd.toml.good
in_host sh -c 'printf "\n[no_such_table]\nsetting = 1\n" >> /etc/rollupd/rollupd.toml'
in_host systemctl restart rollupd 2>/dev/null && fail "systemctl restart succeeded with an unknown setting"
journal_has "invalid configuration: .*no_such_table" || fail "the journal does not name the bad setting"
sleep 6  # RestartSec=2s: a retry would have come by now
[ "$(prop ExecMainStatus)" = 78 ] || fail "exit status $(prop ExecMainStatus), expected 78"
# NRestarts counts the automatic restarts since the last systemctl start.
[ "$(prop NRestarts)" = 0 ] || fail "systemd retried the start $(prop NRestarts) time(s)"
[ "$(in_host systemctl is-active rollupd || true)" = failed ] || fail "the unit is not failed"
in_host mv /etc/rollupd/rollupd.toml.good /etc/rollupd/rollupd.toml
in_host systemctl reset-failed rollupd
in_host systemctl start rollupd
wait_state active 30

step "verified in $((SECONDS - start_all))s"
