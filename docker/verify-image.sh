#!/usr/bin/env bash
# Builds docker/Dockerfile with podman and checks the image for real:
# starts it on a fresh named volume, sends the SPEC §1 example until a digest
# is emitted, reads it back, runs the health check both ways, stops it with
# SIGTERM (must exit 0 within the grace, not be killed), starts a new
# container on the same volume and checks the open group and the digest are
# still there.
#
#   docker/verify-image.sh [--rebuild-base] [--git-rev REV] [--tag IMAGE]
#                          [--runtime RUNTIME] [--storage-driver DRIVER]
#                          [--prune] [--keep]
#
# Needs podman (Debian: podman runc debootstrap fuse-overlayfs slirp4netns
# uidmap) and curl; without podman it exits 77 (ctest: skipped). Nothing is
# installed here.
#
# Base images: Docker Hub is not reachable from our machines, so when
# docker.io/library/debian:bookworm{,-slim} are not in podman's store yet, the
# script makes one with debootstrap (minbase, the slim variant's dpkg
# excludes) from the apt mirror in /etc/apt/sources.list.d/debian.sources (or
# /etc/apt/sources.list; ROLLUPD_VERIFY_MIRROR overrides) and imports it
# under both names. Later runs reuse it; --rebuild-base makes it again.
#
# Writes only under build/docker/ and podman's own store; changes no system
# configuration. On exit it removes its containers and volume, and keeps the
# images (the layer cache makes the next run fast): the image under --tag and
# its build stage under the same name with the tag "build" (what the next
# build reuses, and where build/release/rollupd.debug is).
#
# Options (each also an environment variable):
#   --rebuild-base           debootstrap the base image again
#   --git-rev REV            build the sources of commit REV (git archive into
#                            build/docker/context) instead of the working tree,
#                            with the working tree's docker/Dockerfile and
#                            .dockerignore (ROLLUPD_VERIFY_GIT_REV; default:
#                            the working tree as it is)
#   --tag IMAGE              name of the built image (ROLLUPD_VERIFY_TAG,
#                            default localhost/rollupd:latest)
#   --runtime RUNTIME        OCI runtime (ROLLUPD_VERIFY_RUNTIME, default runc
#                            when installed: crun refuses hybrid cgroup layouts)
#   --storage-driver DRIVER  overlay, fuse-overlayfs (overlay through
#                            /usr/bin/fuse-overlayfs) or vfs, for file systems
#                            where the kernel's overlay does not work
#                            (ROLLUPD_VERIFY_STORAGE_DRIVER). Its images then
#                            live in a store of their own under
#                            build/docker/storage-DRIVER, since podman's main
#                            store is tied to one driver. Default: podman's
#                            main store with its configured driver.
#   --prune                  after a successful run, remove untagged images
#                            (earlier builds' stages; each ~1.2 GB) with
#                            podman image prune; tagged images and the layers
#                            they are built from stay
#   --keep                   leave the containers and the volume for a look
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
scratch="$repo/build/docker"

tag=${ROLLUPD_VERIFY_TAG:-localhost/rollupd:latest}
runtime=${ROLLUPD_VERIFY_RUNTIME:-}
storage_driver=${ROLLUPD_VERIFY_STORAGE_DRIVER:-}
git_rev=${ROLLUPD_VERIFY_GIT_REV:-}
rebuild_base=0
keep=0
prune=0

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; }

while [ $# -gt 0 ]; do
  case "$1" in
    --rebuild-base) rebuild_base=1 ;;
    --keep) keep=1 ;;
    --prune) prune=1 ;;
    --git-rev) git_rev=${2:?--git-rev needs a value}; shift ;;
    --git-rev=*) git_rev=${1#*=} ;;
    --tag) tag=${2:?--tag needs a value}; shift ;;
    --tag=*) tag=${1#*=} ;;
    --runtime) runtime=${2:?--runtime needs a value}; shift ;;
    --runtime=*) runtime=${1#*=} ;;
    --storage-driver) storage_driver=${2:?--storage-driver needs a value}; shift ;;
    --storage-driver=*) storage_driver=${1#*=} ;;
    -h|--help) usage; exit 0 ;;
    *) echo "verify-image: unknown argument $1 (--help)" >&2; exit 64 ;;
  esac
  shift
done

me=verify-image
# shellcheck source=verify-common.sh
. "$repo/docker/verify-common.sh"

command -v podman >/dev/null 2>&1 ||
  skip "podman not installed (apt-get install --no-install-recommends podman runc debootstrap fuse-overlayfs slirp4netns uidmap)"
command -v curl >/dev/null 2>&1 || skip "curl not installed"

if [ -z "$runtime" ] && command -v runc >/dev/null 2>&1; then runtime=runc; fi
podman_global=()
[ -n "$runtime" ] && podman_global+=(--runtime "$runtime")
case "$storage_driver" in
  "") ;;
  overlay|vfs) podman_global+=(--storage-driver "$storage_driver") ;;
  fuse-overlayfs)
    command -v fuse-overlayfs >/dev/null 2>&1 || fail "fuse-overlayfs not installed"
    podman_global+=(--storage-driver overlay --storage-opt overlay.mount_program="$(command -v fuse-overlayfs)") ;;
  *) echo "verify-image: --storage-driver must be overlay, fuse-overlayfs or vfs" >&2; exit 64 ;;
esac
if [ -n "$storage_driver" ]; then
  podman_global+=(--root "$scratch/storage-$storage_driver" --runroot "/run/rollupd-verify-storage-$storage_driver")
fi
pm() { podman "${podman_global[@]}" "$@"; }

# Without systemd as PID 1 podman cannot set up the timer of the periodic
# health check and logs an error on every run, stop and rm; the check itself
# works (podman healthcheck run). pmq drops those lines, says so once.
systemd_note=0
pmq() {
  local rc=0
  pm "$@" 2> "$scratch/podman.stderr" || rc=$?
  if grep -q 'unable to get systemd connection' "$scratch/podman.stderr"; then
    if [ "$systemd_note" -eq 0 ]; then
      info "(no systemd here: podman cannot schedule the periodic health check; its errors about that are left out)" >&2
      systemd_note=1
    fi
  fi
  grep -v 'unable to get systemd connection' "$scratch/podman.stderr" >&2 || true
  return "$rc"
}

mkdir -p "$scratch"
run_id="rollupd-verify-$$"
ctr1="$run_id-1"
ctr2="$run_id-2"
vol="$run_id-data"
response="$scratch/response.json"

cleanup() {
  status=$?
  set +e
  if [ "$status" -ne 0 ] && [ "$status" -ne 77 ]; then
    for c in "$ctr2" "$ctr1"; do
      if pm container exists "$c" 2>/dev/null; then
        printf '\n--- last log lines of %s ---\n' "$c" >&2
        pm logs --tail 40 "$c" >&2
        break
      fi
    done
  fi
  if [ "$keep" -eq 1 ]; then
    printf '\nkept: containers %s %s, volume %s\n' "$ctr1" "$ctr2" "$vol" >&2
  else
    pm rm --force --volumes --time 0 "$ctr1" "$ctr2" >/dev/null 2>&1
    pm volume rm --force "$vol" >/dev/null 2>&1
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

step "podman $(podman version --format '{{.Client.Version}}'), runtime ${runtime:-default}, storage $(pm info --format '{{.Store.GraphDriverName}}'), ulimits nofile=$hard_nofile nproc=$nproc"

# ---------------------------------------------------------------- base image
base_images=(docker.io/library/debian:bookworm docker.io/library/debian:bookworm-slim)

# The first URIs of the deb822 sources, else the first deb line of
# sources.list, else Debian's redirector.
apt_mirror() {
  local m=""
  if [ -r /etc/apt/sources.list.d/debian.sources ]; then
    m=$(awk '$1 == "URIs:" { print $2; exit }' /etc/apt/sources.list.d/debian.sources)
  fi
  if [ -z "$m" ] && [ -r /etc/apt/sources.list ]; then
    m=$(awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; exit } }' /etc/apt/sources.list)
  fi
  echo "${m:-http://deb.debian.org/debian}"
}

# The URIs of the stanza (or deb line) for bookworm-security, else the
# mirror's sibling debian-security.
security_mirror() {
  local m=""
  if [ -r /etc/apt/sources.list.d/debian.sources ]; then
    m=$(awk 'BEGIN { RS = "" } /Suites:[^\n]*-security/ { if (match($0, /URIs:[ \t]*[^ \t\n]+/)) { s = substr($0, RSTART, RLENGTH); sub(/URIs:[ \t]*/, "", s); print s; exit } }' \
        /etc/apt/sources.list.d/debian.sources)
  fi
  if [ -z "$m" ] && [ -r /etc/apt/sources.list ]; then
    m=$(awk '$1 == "deb" && /-security/ { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; exit } }' /etc/apt/sources.list)
  fi
  if [ -z "$m" ]; then
    case "$1" in */debian) m="$1-security" ;; esac
  fi
  echo "$m"
}

make_base() {
  [ "$(id -u)" -eq 0 ] || fail "making the base image needs root (debootstrap); or put debian:bookworm{,-slim} into podman's store"
  command -v debootstrap >/dev/null 2>&1 || fail "debootstrap not installed, and the base image docker.io/library/debian:bookworm is not in podman's store"
  local mirror security rootfs t0
  mirror=${ROLLUPD_VERIFY_MIRROR:-$(apt_mirror)}
  security=$(security_mirror "$mirror")
  if [ -n "$security" ] && ! curl -fsS -o /dev/null --max-time 20 "$security/dists/bookworm-security/InRelease"; then
    info "$security is not reachable: the base image goes without security updates"
    security=""
  fi
  rootfs="$scratch/rootfs"
  rm -rf "$rootfs"
  t0=$SECONDS
  info "debootstrap --variant=minbase bookworm from $mirror"
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" > "$scratch/debootstrap.log" 2>&1 ||
    { tail -20 "$scratch/debootstrap.log" >&2; fail "debootstrap failed (whole log: $scratch/debootstrap.log)"; }
  debootstrap_seconds=$((SECONDS - t0))
  info "debootstrap took ${debootstrap_seconds}s"

  {
    echo "deb $mirror bookworm main"
    echo "deb $mirror bookworm-updates main"
    [ -z "$security" ] || echo "deb $security bookworm-security main"
  } > "$rootfs/etc/apt/sources.list"
  rm -f "$rootfs"/etc/apt/sources.list.d/*
  # What the official images set up: no translations, apt caches cleaned,
  # and (the slim variant) no documentation, manuals or locales from dpkg.
  echo 'Acquire::Languages "none";' > "$rootfs/etc/apt/apt.conf.d/docker-no-languages"
  cat > "$rootfs/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
  cat > "$rootfs/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/info/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/man/*
EOF
  find "$rootfs/usr/share/doc" -xdev -not -name copyright -not -type d -delete
  find "$rootfs/usr/share/doc" -xdev -depth -type d -empty -delete
  rm -rf "$rootfs"/usr/share/{info,groff,lintian,linda,locale,man}/*
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/* "$rootfs"/var/log/*.log \
         "$rootfs"/var/log/apt/* "$rootfs"/tmp/* "$rootfs"/debootstrap
  # podman provides these at run time.
  : > "$rootfs/etc/resolv.conf"
  echo localhost > "$rootfs/etc/hostname"

  info "podman import as ${base_images[*]}"
  tar --numeric-owner --xattrs -C "$rootfs" -c . |
    pm import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
              --change 'CMD ["bash"]' - "${base_images[0]}" > "$scratch/import.log" 2>&1 ||
    { cat "$scratch/import.log" >&2; fail "podman import failed"; }
  pm tag "${base_images[0]}" "${base_images[1]}"
  rm -rf "$rootfs"
}

debootstrap_seconds=""
base_missing=0
for img in "${base_images[@]}"; do pm image exists "$img" || base_missing=1; done
t0=$SECONDS
if [ "$rebuild_base" -eq 1 ] || [ "$base_missing" -eq 1 ]; then
  step "making the base image (debootstrap)"
  make_base
  base_note="made in $((SECONDS - t0))s (debootstrap ${debootstrap_seconds}s)"
else
  step "base image: reusing ${base_images[*]} (--rebuild-base to make it again)"
  base_note="reused"
fi
info "$(pm image inspect --format '{{.Id}} created {{.Created}}' "${base_images[1]}" | cut -c1-80)"

# --------------------------------------------------------------------- build
version=$(sed -n 's/^project(rollupd VERSION \([0-9][0-9.]*\).*/\1/p' "$repo/CMakeLists.txt")
if [ -n "$git_rev" ]; then
  revision=$(git -C "$repo" rev-parse --verify "$git_rev^{commit}") || fail "no commit $git_rev"
  context="$scratch/context"
  rm -rf "$context"
  mkdir -p "$context/docker"
  git -C "$repo" -c tar.umask=0022 archive "$revision" | tar -x -C "$context"  # modes as a checkout has them, for the layer cache
  # The files under test come from the working tree.
  cp "$repo/docker/Dockerfile" "$context/docker/Dockerfile"
  cp "$repo/.dockerignore" "$context/.dockerignore"
  version=$(sed -n 's/^project(rollupd VERSION \([0-9][0-9.]*\).*/\1/p' "$context/CMakeLists.txt")
  source_note="commit $revision (git archive)"
else
  context=$repo
  revision=$(git -C "$repo" rev-parse HEAD 2>/dev/null || echo unknown)
  if [ "$revision" != unknown ] && [ -n "$(git -C "$repo" status --porcelain --untracked-files=no 2>/dev/null)" ]; then
    revision="$revision-dirty"
  fi
  source_note="working tree"
fi

case "${tag##*/}" in *:*) build_tag="${tag%:*}:build" ;; *) build_tag="$tag:build" ;; esac
build_args=(--pull=never --format docker --layers --jobs 1
  ${runtime:+--runtime "$runtime"} "${ulimits[@]}"
  --build-arg "VERSION=${version:-unknown}" --build-arg "REVISION=$revision"
  -f "$context/docker/Dockerfile")

step "podman build $tag from the $source_note (version ${version:-unknown})"
t0=$SECONDS
pm build "${build_args[@]}" -t "$tag" "$context" 2>&1 | tee "$scratch/build.log" |
  while IFS= read -r line; do printf '    |%4ds %s\n' "$((SECONDS - start_all))" "$line"; done ||
  fail "podman build failed (log: $scratch/build.log)"
# The build stage under a name of its own (every step is cached by now).
pm build "${build_args[@]}" --target build -t "$build_tag" "$context" > "$scratch/build-stage.log" 2>&1 ||
  fail "podman build --target build failed (log: $scratch/build-stage.log)"
build_seconds=$((SECONDS - t0))
image_bytes=$(pm image inspect --format '{{.Size}}' "$tag")
image_mb=$(( (image_bytes + 500000) / 1000000 ))
info "built in ${build_seconds}s; image size ${image_mb} MB ($image_bytes bytes)"

step "image configuration"
config=$(pm image inspect --format 'user={{.Config.User}} ports={{json .Config.ExposedPorts}} volumes={{json .Config.Volumes}} entrypoint={{json .Config.Entrypoint}} cmd={{json .Config.Cmd}} healthcheck={{json .HealthCheck}}' "$tag")
info "$config"
case "$config" in *"user=10001:10001 "*) ;; *) fail "image does not run as 10001:10001" ;; esac
case "$config" in *'"8080/tcp"'*) ;; *) fail "image does not expose 8080/tcp" ;; esac
case "$config" in *'"/var/lib/rollupd"'*) ;; *) fail "image has no VOLUME /var/lib/rollupd" ;; esac
case "$config" in *'rollupd","healthcheck"'*) ;; *) fail "image has no HEALTHCHECK running rollupd healthcheck (built with --format docker?)" ;; esac
case "$config" in *'entrypoint=["/usr/bin/tini","--"'*) ;; *) fail "entrypoint does not start with tini --" ;; esac
info "labels: $(pm image inspect --format '{{json .Labels}}' "$tag")"

# ----------------------------------------------------------------------- run
http_port=""
base_url=""

start_container() { # name
  local name=$1 deadline state
  pmq run --detach --name "$name" "${ulimits[@]}" \
    --publish 127.0.0.1::8080 --volume "$vol:/var/lib/rollupd" "$tag" >/dev/null ||
    fail "podman run $name failed"
  http_port=$(pm port "$name" 8080/tcp | head -1 | sed 's/.*://')
  [ -n "$http_port" ] || fail "no host port published for $name"
  base_url="http://127.0.0.1:$http_port"
  info "$name: 127.0.0.1:$http_port -> 8080, volume $vol"
  deadline=$((SECONDS + 60))
  until curl -fsS --max-time 2 -o /dev/null "$base_url/readyz" 2>/dev/null; do
    state=$(pm inspect --format '{{.State.Status}}' "$name")
    [ "$state" = running ] || fail "$name is $state before it became ready"
    [ "$SECONDS" -lt "$deadline" ] || fail "$name did not answer 200 on /readyz within 60s"
    sleep 0.5
  done
  info "$name: /readyz answers 200"
}

# request METHOD PATH [BODY] -> status code; the body in $response
request() {
  local args=(-sS --max-time 10 -o "$response" -w '%{http_code}' -X "$1")
  [ $# -lt 3 ] || args+=(-H 'Content-Type: application/json' --data-binary "$3")
  curl "${args[@]}" "$base_url$2" || echo "curl-error"
}

expect() { # PATTERN MESSAGE: fail with MESSAGE unless the last answer matches PATTERN (grep -E)
  grep -Eq -- "$1" "$response" || fail "$2; the answer was: $(head -c 600 "$response")"
}

# The SPEC §1 request, unchanged.
spec_example='{"Email":"a@example.com","Notification":"test notification","Timestamp":"2019-08-10T15:31:47.808596Z","Priority":0}'

stop_container() { # name: SIGTERM, must exit 0 by itself
  local name=$1 t0 code
  t0=$SECONDS
  pmq stop --time 30 "$name" >/dev/null || fail "podman stop $name failed"
  code=$(pm inspect --format '{{.State.ExitCode}}' "$name")
  info "$name stopped in $((SECONDS - t0))s, exit code $code"
  [ "$code" != 137 ] || fail "$name did not exit on SIGTERM within 30s and was killed (exit 137)"
  [ "$code" = 0 ] || fail "$name exited $code on SIGTERM, not 0"
}

step "podman volume create $vol"
pm volume create "$vol" >/dev/null

step "starting $ctr1"
start_container "$ctr1"
pid1=$(pm exec "$ctr1" cat /proc/1/comm)
# shellcheck disable=SC2016 # expanded by the container's sh
child=$(pm exec "$ctr1" sh -c 'c=$(cut -d" " -f1 /proc/1/task/1/children); echo "$(cat /proc/$c/comm) $(stat -c %u:%g /proc/$c)"')
data_owner=$(pm exec "$ctr1" stat -c %u:%g /var/lib/rollupd)
info "PID 1: $pid1; its child: $child (uid:gid); /var/lib/rollupd (the volume) belongs to $data_owner"
[ "$pid1" = tini ] || fail "PID 1 is $pid1, not tini"
[ "$child" = "rollupd 10001:10001" ] || fail "tini's child is \"$child\", not rollupd as 10001:10001"
[ "$data_owner" = 10001:10001 ] || fail "the volume belongs to $data_owner, not 10001:10001"

step "POST /notifications (SPEC §1 example) three times"
for n in 1 2 3; do
  code=$(request POST /notifications "$spec_example")
  info "#$n: $code $(head -c 160 "$response")"
  [ "$code" = 202 ] || fail "POST #$n answered $code, expected 202"
  if [ "$n" -lt 3 ]; then
    expect "\"Pending\": *$n" "POST #$n: Pending is not $n"
    expect '"Digest": *null' "POST #$n: a digest came too early"
  fi
done
expect '"Digest": *\{' "the third POST did not complete the group"
expect '"Count": *3' "the digest does not hold 3 notifications"
expect '"Reason": *"count"' "the digest's reason is not count"
digest_id=$(grep -oE '"Id": *"[0-9a-f]{32}"' "$response" | head -1 | grep -oE '[0-9a-f]{32}') ||
  fail "no 32-hex-digit digest Id in $(head -c 600 "$response")"
info "digest $digest_id"

step "GET /v1/digests?email=a@example.com"
deadline=$((SECONDS + 15))
while :; do
  code=$(request GET "/v1/digests?email=a@example.com")
  [ "$code" = 200 ] || fail "GET /v1/digests answered $code: $(head -c 600 "$response")"
  expect "\"Id\": *\"$digest_id\"" "the digest is not listed"
  grep -Eq '"State": *"delivered"' "$response" && break
  [ "$SECONDS" -lt "$deadline" ] || fail "the digest was not delivered to the log sink within 15s: $(head -c 600 "$response")"
  sleep 0.5
done
info "200 $(head -c 300 "$response")…"
pm logs "$ctr1" 2>&1 | grep -F "digest $digest_id for a@example.com" | sed 's/^/    log: /' ||
  fail "no log line for digest $digest_id"

step "health checks"
pm exec "$ctr1" rollupd healthcheck 2>&1 | sed 's/^/    /' || fail "podman exec $ctr1 rollupd healthcheck failed"
info "podman exec $ctr1 rollupd healthcheck: exit 0"
if pm exec "$ctr1" rollupd healthcheck --url http://127.0.0.1:1/readyz >/dev/null 2>&1; then
  fail "rollupd healthcheck against a closed port exited 0"
fi
info "rollupd healthcheck --url http://127.0.0.1:1/readyz: fails, as it should"
pm healthcheck run "$ctr1" 2>&1 | sed 's/^/    /' || fail "podman healthcheck run $ctr1 failed"
info "podman healthcheck run $ctr1: exit 0, status $(pm inspect --format '{{.State.Health.Status}}' "$ctr1" 2>/dev/null || echo '?')"

step "one more notification (b@example.com) left open, then podman stop --time 30 (SIGTERM)"
code=$(request POST /notifications '{"Email":"b@example.com","Notification":"left open across a restart","Priority":"LOW"}')
[ "$code" = 202 ] || fail "POST for b@example.com answered $code"
expect '"Pending": *1' "b@example.com: Pending is not 1"
stop_container "$ctr1"
pm logs --tail 5 "$ctr1" 2>&1 | sed 's/^/    log: /'

step "starting $ctr2 on the same volume"
start_container "$ctr2"
code=$(request GET /v1/aggregations)
[ "$code" = 200 ] || fail "GET /v1/aggregations answered $code"
info "GET /v1/aggregations: 200 $(head -c 300 "$response")"
expect '"Email": *"b@example.com"' "the open group of b@example.com did not survive the restart"
code=$(request GET "/v1/aggregations/b@example.com")
[ "$code" = 200 ] || fail "GET /v1/aggregations/b@example.com answered $code"
expect '"Count": *1' "the open group of b@example.com does not hold 1 notification"
code=$(request GET "/v1/digests?email=a@example.com")
[ "$code" = 200 ] || fail "GET /v1/digests answered $code after the restart"
expect "\"Id\": *\"$digest_id\"" "digest $digest_id did not survive the restart"
info "the open group (b@example.com, 1) and digest $digest_id are still there"
for n in 2 3; do
  code=$(request POST /notifications "{\"Email\":\"b@example.com\",\"Notification\":\"after the restart $n\"}")
  [ "$code" = 202 ] || fail "POST for b@example.com answered $code"
done
expect '"Count": *3' "the group opened before the restart did not complete with 3 notifications"
info "two more for b@example.com complete the group opened before the restart: Count 3"

step "podman stop --time 30 $ctr2"
stop_container "$ctr2"

if [ "$prune" -eq 1 ]; then
  step "podman image prune (untagged images of earlier builds)"
  pm image prune --force | sed 's/^/    removed /'
fi

step "passed"
cat <<EOF
    base image   $base_note
    image build  ${build_seconds}s
    image        $tag, ${image_mb} MB (build stage: $build_tag)
    total        $((SECONDS - start_all))s
EOF
