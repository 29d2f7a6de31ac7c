#!/usr/bin/env bash
# The README's two commands on a fresh Debian 12 server: a clean root made with debootstrap
# (git, make and python3 only, as on a standard server), a clean clone of HEAD copied into
# it, then, inside it with chroot and an empty environment:
#   1. `make run` from nothing until /healthz answers, and one test call gets a reply;
#   2. `make test` (the whole default suite).
# Prints the time of each step and the CPU it ran on. Not part of `make test` (it takes as
# long as a CI run plus the installs), but it must pass whenever the install steps change.
#
#   scripts/fresh-machine.sh [--skip-test] [--keep]     (as root; needs network to Debian
#                                                        and PyPI, like `make` itself)
# The root lives in .fresh-machine/ (ignored by git); --keep leaves it for a look inside.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
base="$repo/.fresh-machine"
root="$base/rootfs"
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
run_test=1
keep=0
for arg in "$@"; do
    case "$arg" in
        --skip-test) run_test=0 ;;
        --keep) keep=1 ;;
        *) echo "usage: $0 [--skip-test] [--keep]" >&2; exit 2 ;;
    esac
done
[ "$(id -u)" -eq 0 ] || { echo "fresh-machine: run as root (debootstrap, chroot)" >&2; exit 2; }

declare -a report=()
t0=$(date +%s)
step() { echo; echo "=== fresh-machine: $* ($(date -u +%H:%M:%S))"; }
took() { report+=("$(printf '%-44s %6d s' "$1" $(( $(date +%s) - $2 )))"); }

# A login as root on the new server: no variable of this machine leaks in (pip config,
# pyenv, PATH), only what a fresh Debian root has.
root_shell=(/usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin /bin/bash -c)
in_root() { chroot "$root" "${root_shell[@]}" "$1"; }

mounted() { findmnt -rno TARGET | grep -E "^$root(/|$)" | sort -r || true; }

kill_root() {
    # Every process whose root is the chroot.
    local pids
    for sig in TERM KILL; do
        pids=$(for p in /proc/[0-9]*; do
            [ "$(readlink "$p/root" 2>/dev/null)" = "$root" ] && basename "$p"; done || true)
        if [ -n "$pids" ]; then kill -s "$sig" $pids 2>/dev/null || true; sleep 3; fi
    done
}

stop_root() {
    kill_root
    for m in $(mounted); do umount -l "$m" 2>/dev/null || true; done
}

cleanup() {
    stop_root
    if [ "$keep" -eq 0 ] && [ -z "$(mounted)" ]; then rm -rf "$root"; fi
}
trap cleanup EXIT

command -v debootstrap >/dev/null || {
    step "installing debootstrap on this machine"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
}

step "debootstrap Debian 12 (bookworm) into $root"
stop_root
rm -rf "$root"
mkdir -p "$base"
s=$(date +%s)
debootstrap --include=git,make,python3,ca-certificates bookworm "$root" "$mirror" \
    >"$base/debootstrap.log" 2>&1 || { tail -20 "$base/debootstrap.log"; exit 1; }
took "debootstrap (git, make, python3)" "$s"

# The root is a mount point of its own, as on a real server: `ip netns exec` and `ip -n`
# make / a slave mount, which fails where / is a plain folder.
mount --bind "$root" "$root"
mount -t proc proc "$root/proc"
mount -t sysfs sysfs "$root/sys"
mount --rbind /dev "$root/dev"
mount -t tmpfs tmpfs "$root/run"
cp /etc/resolv.conf "$root/etc/resolv.conf"
# The site's own CA certificates (a TLS-inspecting proxy's), as a server on this network has
# them in its system store: Debian's pip trusts that store. Nothing else of this machine.
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
    cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
    in_root 'update-ca-certificates >/dev/null'
fi

head=$(git -C "$repo" rev-parse --short HEAD)  # what is tested, even if HEAD moves meanwhile
step "clean clone of HEAD ($head) into /root/appliance"
git clone -q --no-hardlinks "$repo" "$root/root/appliance"
git -C "$root/root/appliance" checkout -q "$head"
if [ -d "$repo/../shared" ]; then cp -r "$repo/../shared" "$root/root/shared"; fi

step "make run (fresh): install, assemble models, start; wait for /healthz"
s=$(date +%s)
setsid chroot "$root" "${root_shell[@]}" 'cd /root/appliance && exec make run' \
    >"$base/make-run.log" 2>&1 &
run_pid=$!  # a session and process group of its own: SIGINT reaches make and the appliance
ready=0
for _ in $(seq 1 2400); do
    if in_root 'exec python3 -c "import urllib.request as u; u.urlopen(\"http://127.0.0.1:8080/healthz\", timeout=2)"' 2>/dev/null; then
        ready=1; break
    fi
    kill -0 "$run_pid" 2>/dev/null || break
    sleep 1
done
if [ "$ready" -ne 1 ]; then
    echo "fresh-machine: FAIL: make run never answered /healthz" >&2
    tail -40 "$base/make-run.log" >&2
    exit 1
fi
took "make run until /healthz answers" "$s"

step "one test call: sip:clinic@127.0.0.1:5060"
s=$(date +%s)
in_root 'cd /root/appliance && .venv/bin/appliance call sip:clinic@127.0.0.1:5060 --json \
    --say "What are your opening hours?" --say "Thank you, goodbye."' >"$base/call.json" \
    2>"$base/call.log" || { cat "$base/call.log" >&2; exit 1; }
took "test call" "$s"
# The reply to the question: heard, and neither the apology nor a "didn't catch that".
python3 - "$base/call.json" <<'EOF' || exit 1
import json, sys
turns = json.load(open(sys.argv[1]))["turns"]
for turn in turns:
    print(f"  caller: {turn['said']!r} -> agent after {turn['gap_s']} s: {turn['heard']!r}")
reply = next((t for t in turns if t["said"] == "What are your opening hours?"), None)
heard = (reply or {}).get("heard") or ""
if len(heard.split()) < 3 or "went wrong" in heard or "catch that" in heard:
    sys.exit("fresh-machine: FAIL: no reply to the question")
EOF
step "stop make run with Ctrl-C (SIGINT to its process group): the appliance drains"
s=$(date +%s)
kill -INT -- "-$run_pid" 2>/dev/null || true
for _ in $(seq 1 90); do kill -0 "$run_pid" 2>/dev/null || break; sleep 1; done
if kill -0 "$run_pid" 2>/dev/null; then
    echo "fresh-machine: make run still running 90 s after SIGINT" >&2
fi
took "make run stopped after SIGINT" "$s"
kill_root
if grep -q 'SIGILL\|Illegal instruction\|llm-unreachable' "$base/make-run.log"; then
    echo "fresh-machine: FAIL: the LLM engine crashed (see $base/make-run.log)" >&2
    exit 1
fi

if [ "$run_test" -eq 1 ]; then
    step "make test (fresh test packages, then the whole default suite)"
    s=$(date +%s)
    if ! in_root 'cd /root/appliance && exec make test' >"$base/make-test.log" 2>&1; then
        tail -60 "$base/make-test.log" >&2
        echo "fresh-machine: FAIL: make test" >&2
        exit 1
    fi
    took "make test" "$s"
    grep -E '^=+ .*(passed|failed).* =+$' "$base/make-test.log" | tail -1
fi

echo
echo "=== fresh-machine: PASS ($(date -u +%Y-%m-%dT%H:%M:%SZ), HEAD $head)"
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores"
echo "CPU flags beyond x86-64-v3: $(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' \
    | grep -E '^(avx512|amx|avx_vnni)' | tr '\n' ' ')"
printf '%s\n' "${report[@]}"
printf '%-44s %6d s\n' "total" $(( $(date +%s) - t0 ))
