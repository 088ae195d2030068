#!/usr/bin/env bash
# A private Docker engine for isocheck's tests and CI: its own dockerd (and
# the containerd it starts), socket, data and exec roots under one state
# directory, no iptables, no bridge, vfs storage (works without overlayfs),
# and a tiny sandbox image built locally from the static busybox plus GNU
# grep, dash and timeout from the host (no registry is ever contacted).
#
#   usage: scripts/docker-engine.sh start|stop|env|status
#     start   installs what is missing (apt-get: docker.io, busybox-static;
#             needs root), starts dockerd unless it already answers, builds
#             the sandbox image unless present; prints `export DOCKER_HOST=...`
#     stop    removes every container of the engine, stops dockerd by its
#             pid (then its containerd and shims, by pid), unmounts and
#             removes the state directory
#     env     prints `export DOCKER_HOST=...` (whether or not it runs)
#     status  exit 0 when the engine answers, 1 otherwise
#
#   eval "$(scripts/docker-engine.sh start)"   # then: cargo test, isocheck run --subject docker
#   scripts/docker-engine.sh stop
#
# Environment: ISOCHECK_DOCKER_DIR (state directory, default target/docker-engine),
# ISOCHECK_DOCKER_IMAGE (image to build, default isocheck-sandbox:busybox).
# Idempotent: start on a running engine and stop on a stopped one do nothing.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${ISOCHECK_DOCKER_DIR:-$root/target/docker-engine}
image=${ISOCHECK_DOCKER_IMAGE:-isocheck-sandbox:busybox}
sock="$dir/docker.sock"
pidfile="$dir/dockerd.pid"
log="$dir/dockerd.log"
host="unix://$sock"

say() { echo "docker-engine: $*" >&2; }
die() { say "$*"; exit 2; }

alive() { [[ -n ${1:-} ]] && kill -0 "$1" 2>/dev/null; }
dockerd_pid() { [[ -f $pidfile ]] && cat "$pidfile" || true; }
dk() { docker -H "$host" "$@"; }
answers() { [[ -S $sock ]] && dk version --format '{{.Server.Version}}' >/dev/null 2>&1; }

install_missing() {
  local pkgs=()
  command -v dockerd >/dev/null 2>&1 && command -v docker >/dev/null 2>&1 || pkgs+=(docker.io)
  [[ -x /bin/busybox || -x /usr/bin/busybox ]] && busybox_is_static || pkgs+=(busybox-static)
  ((${#pkgs[@]})) || return 0
  [[ $(id -u) == 0 ]] || die "missing ${pkgs[*]} and not root: install them (apt-get install -y ${pkgs[*]})"
  say "installing ${pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2 || die "apt-get update failed"
  apt-get install -y -qq "${pkgs[@]}" >&2 || die "apt-get install ${pkgs[*]} failed"
}

busybox_bin() { command -v busybox 2>/dev/null || echo /bin/busybox; }
busybox_is_static() { LC_ALL=C file -L "$(busybox_bin)" 2>/dev/null | grep -q 'statically linked' \
  || ! ldd "$(busybox_bin)" >/dev/null 2>&1; }

# Pids of engine processes (dockerd, containerd, containerd-shim*, runc)
# whose command line names this engine's state directory: ours by
# construction, never another engine's.
engine_pids() {
  local p comm
  for p in /proc/[0-9]*; do
    comm=$(cat "$p/comm" 2>/dev/null) || continue
    case $comm in dockerd | containerd | containerd-shim* | runc) ;; *) continue ;; esac
    tr '\0' ' ' < "$p/cmdline" 2>/dev/null | grep -qF -- "$dir/" && echo "${p#/proc/}"
  done
  return 0
}

unmount_under() {
  local m
  # deepest first
  for m in $(awk -v d="$dir/" 'index($2, d) == 1 {print $2}' /proc/mounts | sort -r); do
    umount -l "$m" 2>/dev/null || true
  done
}

# host_tool NAME MARKER ROOTFS [AS]: copies the host's NAME (when its
# --version mentions MARKER) into ROOTFS/bin/AS with its shared libraries.
host_tool() {
  local name=$1 marker=$2 rootfs=$3 as=${4:-$1} bin lib
  bin=$(command -v "$name") || die "$name is missing on the host (apt-get install -y $name)"
  if [[ -n $marker ]] && ! LC_ALL=C "$bin" --version 2>/dev/null | grep -qF "$marker"; then
    die "$bin is not $marker"
  fi
  for lib in $(ldd "$bin" | grep -o '/[^ ]*'); do
    mkdir -p "$rootfs$(dirname "$lib")"
    cp -L "$lib" "$rootfs$lib"
  done
  rm -f "$rootfs/bin/$as"
  cp "$bin" "$rootfs/bin/$as"
}

build_image() {
  dk image inspect "$image" >/dev/null 2>&1 && return 0
  local rootfs tarball
  rootfs=$(mktemp -d "$dir/rootfs.XXXXXX")
  chmod 755 "$rootfs"  # mktemp -d makes it 0700: the image's / would be closed to non-root users
  mkdir -p "$rootfs"/{bin,sbin,usr/bin,usr/sbin,tmp,workspace,etc,root,proc,sys,dev}
  chmod 1777 "$rootfs/tmp"
  cp "$(busybox_bin)" "$rootfs/bin/busybox"
  local applet
  for applet in $("$rootfs/bin/busybox" --list); do
    [[ $applet == busybox ]] || ln -sf busybox "$rootfs/bin/$applet"
  done
  # GNU grep as `grep` (DockerSandbox's grep passes --exclude, --exclude-dir
  # and --include, which busybox grep lacks) and dash as `sh` (busybox's sh
  # runs its own applets before PATH, so it would never reach GNU grep),
  # each with the shared libraries it loads.
  host_tool grep 'GNU grep' "$rootfs"
  host_tool dash '' "$rootfs" sh
  # and coreutils' timeout: busybox's would exec its own sh applet
  host_tool timeout 'GNU coreutils' "$rootfs"
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' > "$rootfs/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' > "$rootfs/etc/group"
  tarball="$rootfs.tar"
  tar -C "$rootfs" -cf "$tarball" .
  dk import --change 'ENV PATH=/bin:/usr/bin:/sbin:/usr/sbin' --change 'WORKDIR /workspace' \
    --change 'CMD ["/bin/sh"]' "$tarball" "$image" >/dev/null
  rm -rf "$rootfs" "$tarball"
  say "built $image"
}

start() {
  install_missing
  mkdir -p "$dir"
  if ! answers; then
    local old
    old=$(dockerd_pid)
    alive "$old" && die "dockerd (pid $old) runs but does not answer on $sock; run: $0 stop"
    cleanup_leftovers
    mkdir -p "$dir/data" "$dir/exec"
    # setsid: the engine outlives this script and is not in its process group.
    setsid dockerd \
      --host "$host" \
      --data-root "$dir/data" \
      --exec-root "$dir/exec" \
      --pidfile "$pidfile" \
      --storage-driver vfs \
      --iptables=false --ip6tables=false --ip-masq=false --bridge=none \
      --userland-proxy=false \
      --log-level warn \
      </dev/null >"$log" 2>&1 &
    local launched=$! i
    for i in $(seq 1 120); do
      answers && break
      if ! alive "$launched"; then
        tail -20 "$log" >&2 || true
        die "dockerd exited during startup (log: $log)"
      fi
      sleep 0.5
    done
    answers || { tail -20 "$log" >&2; stop >&2 || true; die "dockerd did not answer within 60 s (log: $log)"; }
    say "dockerd running (pid $(dockerd_pid)), socket $sock"
  fi
  build_image
  echo "export DOCKER_HOST=$host"
}

cleanup_leftovers() {
  local p
  for p in $(engine_pids); do kill -KILL "$p" 2>/dev/null || true; done
  unmount_under
  rm -rf "$dir/data" "$dir/exec" "$sock" "$pidfile"
}

stop() {
  local pid
  pid=$(dockerd_pid)
  if answers; then
    local ids
    ids=$(dk ps -aq) || true
    [[ -z $ids ]] || dk rm -f $ids >/dev/null 2>&1 || true
  fi
  if alive "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    local i
    for i in $(seq 1 60); do alive "$pid" || break; sleep 0.5; done
    alive "$pid" && kill -KILL "$pid" 2>/dev/null || true
  fi
  # containerd (its pid file is under the exec root) and any shim left.
  local cpid
  cpid=$(cat "$dir/exec/containerd/containerd.pid" 2>/dev/null || true)
  alive "$cpid" && kill -TERM "$cpid" 2>/dev/null || true
  sleep 0.2
  for pid in $(engine_pids); do kill -KILL "$pid" 2>/dev/null || true; done
  unmount_under
  rm -rf "$dir"
  say "stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  env) echo "export DOCKER_HOST=$host" ;;
  status) answers ;;
  *) echo "usage: $0 start|stop|env|status" >&2; exit 2 ;;
esac
