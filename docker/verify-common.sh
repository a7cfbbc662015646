# Sourced by docker/verify-image.sh and config/verify-unit.sh, which check
# the image and the systemd unit for real with podman: their messages and
# the resource limits their containers get. Set `me` (the script's name)
# before sourcing.

start_all=$SECONDS
step() { printf '\n==> [%3ds] %s\n' "$((SECONDS - start_all))" "$*"; }
info() { printf '    %s\n' "$*"; }
fail() { printf '\n%s: FAILED: %s\n' "$me" "$*" >&2; exit 1; }
skip() { printf '%s: SKIPPED: %s\n' "$me" "$*" >&2; exit 77; }

# Containers get the hard limits as they are: podman's default raises nofile
# above what this (root) process may set, and runc then refuses to start.
hard_nofile=$(ulimit -Hn)
[ "$hard_nofile" = unlimited ] && hard_nofile=1048576
hard_nproc=$(ulimit -Hu)
nproc=32768
if [ "$hard_nproc" != unlimited ] && [ "$hard_nproc" -lt "$nproc" ]; then nproc=$hard_nproc; fi
ulimits=(--ulimit "nofile=$hard_nofile:$hard_nofile" --ulimit "nproc=$nproc:$nproc")
