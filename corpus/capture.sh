#!/usr/bin/env bash
# Re-captures corpus/ from a real virsh <-> libvirtd session on loopback TCP.
#
# Not run in CI. Needs root (it creates the unprivileged user the daemon runs as, and runs
# tshark), plus libvirtd, virsh, tshark with the libvirt-wireshark dissector, python3 and
# setpriv (util-linux). Re-runnable: every run replaces corpus/{sessions,frames,pcap,probes}
# and the generated blocks of corpus/MANIFEST.md. Only 127.0.0.1 is used; every process it
# starts is stopped on exit.
#
#   sudo corpus/capture.sh
set -euo pipefail

CORPUS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LVUSER=${LVUSER:-lvtest}

if [ "$(id -u)" != 0 ]; then
    echo "capture.sh: run as root" >&2
    exit 1
fi
for tool in libvirtd virsh tshark python3 setpriv; do
    PATH=$PATH:/usr/sbin:/sbin command -v "$tool" >/dev/null || { echo "capture.sh: $tool not found" >&2; exit 1; }
done
LIBVIRTD=$(PATH=$PATH:/usr/sbin:/sbin command -v libvirtd)

# libvirtd refuses to start unless these exist; the daemon itself runs as $LVUSER.
getent group libvirt-qemu >/dev/null || groupadd -r libvirt-qemu
getent group kvm >/dev/null || groupadd -f kvm
getent passwd libvirt-qemu >/dev/null || useradd -r -g libvirt-qemu -d /var/lib/libvirt -s /usr/sbin/nologin libvirt-qemu
getent passwd "$LVUSER" >/dev/null || useradd -r -U -M -d /nonexistent -s /usr/sbin/nologin "$LVUSER"

WORK=$(mktemp -d /tmp/corpus-capture.XXXXXX)
chmod 755 "$WORK"
mkdir -p "$WORK/home" "$WORK/run" "$WORK/config" "$WORK/sock" "$WORK/cap"
chmod 700 "$WORK/run"
chmod 1777 "$WORK/cap" # dumpcap drops root and must be able to write here
chown "$LVUSER:$LVUSER" "$WORK/home" "$WORK/run" "$WORK/config" "$WORK/sock"

LVPID=
TSPID=
cleanup() {
    if [ -n "$TSPID" ] && kill -0 "$TSPID" 2>/dev/null; then kill -INT "$TSPID"; wait "$TSPID" || true; fi
    if [ -n "$LVPID" ] && kill -0 "$LVPID" 2>/dev/null; then
        kill -TERM "$LVPID"
        for _ in $(seq 50); do kill -0 "$LVPID" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$LVPID" 2>/dev/null && kill -KILL "$LVPID"
        wait "$LVPID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
URI="test+tcp://127.0.0.1:$PORT/default"
cat >"$WORK/libvirtd.conf" <<EOF
listen_tls = 0
listen_tcp = 1
listen_addr = "127.0.0.1"
tcp_port = "$PORT"
auth_tcp = "none"
unix_sock_dir = "$WORK/sock"
auth_unix_rw = "none"
EOF

# Session-mode daemon, unprivileged, with its own HOME and XDG directories.
(cd "$WORK" && exec setpriv --reuid="$LVUSER" --regid="$LVUSER" --clear-groups \
    env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$WORK/home" XDG_RUNTIME_DIR="$WORK/run" \
    XDG_CONFIG_HOME="$WORK/config" XDG_CACHE_HOME="$WORK/home/.cache" \
    "$LIBVIRTD" --listen --config "$WORK/libvirtd.conf") >"$WORK/libvirtd.log" 2>&1 &
LVPID=$!
for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
    kill -0 "$LVPID" 2>/dev/null || { cat "$WORK/libvirtd.log" >&2; exit 1; }
    sleep 0.1
done

{
    echo "- capture date (UTC): $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "- daemon: \`$("$LIBVIRTD" --version)\`, session mode, as user \`$LVUSER\`, test driver (\`test:///default\`)"
    echo "- client: \`virsh $(virsh --version)\` (run as root unless the command says otherwise)"
    echo "- packages: $(dpkg-query -W -f='`${Package} ${Version}` ' libvirt-daemon libvirt-clients libvirt-wireshark tshark 2>/dev/null || echo unknown)"
    echo "- host: $(uname -sr), Debian $(cat /etc/debian_version 2>/dev/null || echo '?')"
} >"$WORK/versions.txt"
: >"$WORK/scenarios"

# capture NAME "STREAM LABELS" COMMAND: runs COMMAND (a bash string, recorded verbatim in
# NAME.cmd) while tshark writes NAME.pcapng.
capture() {
    local name=$1 labels=$2 cmd=$3
    tshark -i lo -f "tcp port $PORT" -w "$WORK/cap/$name.pcapng" >"$WORK/cap/$name.tshark.log" 2>&1 &
    TSPID=$!
    for _ in $(seq 100); do grep -q "Capturing on" "$WORK/cap/$name.tshark.log" && break; sleep 0.1; done
    sleep 0.5
    printf '%s\n' "$cmd" >"$WORK/$name.cmd"
    bash -c "$cmd" || true
    sleep 1
    kill -INT "$TSPID"
    wait "$TSPID" || true
    TSPID=
    cp "$WORK/cap/$name.pcapng" "$WORK/$name.pcapng"
    [ "$name" = probes ] || echo "$name $labels" >>"$WORK/scenarios"
}

capture main "" "virsh -c $URI 'list --all; dominfo test; domstate nope'"
capture list-as-user "" "setpriv --reuid=$LVUSER --regid=$LVUSER --clear-groups env HOME=$WORK/home virsh -c $URI 'list --all'"
capture keepalive "" "(echo 'domstate test'; sleep 12; echo 'domstate test'; echo quit) | virsh -c $URI"
capture events "listener trigger" "virsh -c $URI event --all --loop --timeout 3 & sleep 1; virsh -c $URI 'suspend test; resume test'; wait"
capture screenshot "" "virsh -c $URI screenshot test --file $WORK/screenshot.png"
rm -rf "$CORPUS/probes"
mkdir -p "$CORPUS/probes"
capture probes "" "python3 $CORPUS/probe.py $PORT $CORPUS/probes | tee $CORPUS/probes/RESULTS.txt"

python3 "$CORPUS/extract.py" "$WORK" "$CORPUS" "$PORT"
