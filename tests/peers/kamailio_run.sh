#!/usr/bin/env bash
# Runs Kamailio in the foreground on an ephemeral 127.0.0.1 port, for
# black-box tests, in one of two roles:
#
#   kamailio_run.sh proxy --gateway HOST:PORT [--gateway-transport udp|tcp]
#                   [--fr-timer MS] [--timeout S] [--debug N] [--keep]
#       Stateful SIP proxy (tm, record-route) listening on UDP and TCP on the
#       same port: every request goes to the gateway, except requests from the
#       gateway, which go to their Request-URI. Prints
#         READY udp 127.0.0.1 <port>
#
#   kamailio_run.sh msrp-relay [--auth USER:PASSWORD] [--realm REALM]
#                   [--expires MAX_S] [--min-expires MIN_S] [--timeout S]
#                   [--debug N] [--keep]
#       RFC 4976 MSRP relay (Kamailio msrp module) over TCP. With --auth, AUTH
#       needs Digest credentials (401 first); without, any AUTH gets 200.
#       AUTH Expires must lie in [MIN_S, MAX_S] (default 10, 600) else 423. Prints
#         READY tcp 127.0.0.1 <port> msrp://127.0.0.1:<port>;tcp
#
# Then it stays until SIGTERM/SIGINT (prints "EXIT reason=signal"), until
# --timeout seconds (default 30) have passed ("EXIT reason=timeout"), or until
# Kamailio dies ("EXIT reason=kamailio-died status=N", exit status 1).
# Kamailio's log (stderr, -E) goes to this script's stderr; nothing else
# is written to stdout. Config, pid file and runtime dir live in a temporary
# directory (kept with --keep, its path printed on stderr). No root-only path
# is used: -P/-Y/-w point into that directory, ctl/mi_fifo are not loaded.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
role=${1:-}
[ $# -gt 0 ] && shift
usage() { sed -n '2,/^set -e/p' "$0" | sed -n 's/^# \{0,1\}//p' >&2; exit 2; }
case "$role" in proxy | msrp-relay) ;; *) usage ;; esac

timeout=30 debug=2 keep=0
gateway='' gw_transport=udp fr_timer=8000
auth='' realm=msrpgw-test expires=600 min_expires=10
while [ $# -gt 0 ]; do
    case "$1" in
        --gateway) gateway=$2; shift 2 ;;
        --gateway-transport) gw_transport=$2; shift 2 ;;
        --fr-timer) fr_timer=$2; shift 2 ;;
        --auth) auth=$2; shift 2 ;;
        --realm) realm=$2; shift 2 ;;
        --expires) expires=$2; shift 2 ;;
        --min-expires) min_expires=$2; shift 2 ;;
        --timeout) timeout=$2; shift 2 ;;
        --debug) debug=$2; shift 2 ;;
        --keep) keep=1; shift ;;
        *) usage ;;
    esac
done

KAMAILIO=${KAMAILIO:-kamailio}
mpath=${KAMAILIO_MPATH:-}
if [ -z "$mpath" ]; then
    for d in /usr/lib/x86_64-linux-gnu/kamailio/modules /usr/lib/*/kamailio/modules /usr/lib/kamailio/modules /usr/local/lib64/kamailio/modules; do
        [ -e "$d/tm.so" ] && { mpath=$d/; break; }
    done
fi
[ -n "$mpath" ] || { echo "kamailio_run: kamailio modules not found (run tests/peers/install.sh)" >&2; exit 2; }

if [ "$role" = proxy ]; then
    [[ "$gateway" =~ ^([0-9.]+):([0-9]+)$ ]] || { echo "kamailio_run: --gateway IP:PORT needed" >&2; exit 2; }
    gw_host=${BASH_REMATCH[1]} gw_port=${BASH_REMATCH[2]}
    case "$gw_transport" in udp | tcp) ;; *) usage ;; esac
    template=$here/kamailio/proxy.cfg.tmpl
else
    template=$here/kamailio/msrp_relay.cfg.tmpl
    auth_user='' auth_pass=''
    if [ -n "$auth" ]; then
        auth_user=${auth%%:*} auth_pass=${auth#*:}
        [ "$auth_user" != "$auth" ] || { echo "kamailio_run: --auth USER:PASSWORD" >&2; exit 2; }
    fi
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/kamailio-peer.XXXXXX")
kpid=''
cleanup() {
    if [ -n "$kpid" ] && kill -0 "$kpid" 2>/dev/null; then
        kill -TERM "$kpid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$kpid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$kpid" 2>/dev/null || true
        wait "$kpid" 2>/dev/null || true
    fi
    if [ "$keep" = 1 ]; then echo "kamailio_run: kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
stop=''
trap 'stop=signal' TERM INT

# A port free for both UDP and TCP on 127.0.0.1 (the proxy listens on both).
free_port() {
    python3 - <<'EOF'
import socket
for _ in range(100):
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    t.bind(("127.0.0.1", 0))
    port = t.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind(("127.0.0.1", port))
    except OSError:
        t.close()
        continue
    u.close()
    t.close()
    print(port)
    break
EOF
}

# Escape for the right-hand side of a sed s||| expression.
esc() { printf '%s' "$1" | sed -e 's/[\\|&]/\\&/g'; }

render() {
    local port=$1
    local s=(-e "s|@PORT@|$port|g" -e "s|@DEBUG@|$(esc "$debug")|g" -e "s|@MPATH@|$(esc "$mpath")|g")
    if [ "$role" = proxy ]; then
        s+=(-e "s|@GW_HOST@|$gw_host|g" -e "s|@GW_PORT@|$gw_port|g" -e "s|@GW_TRANSPORT@|$gw_transport|g"
            -e "s|@FR_TIMER@|$fr_timer|g" -e "s|@FR_INV_TIMER@|$((fr_timer * 4))|g")
    else
        local auth_define=''
        [ -n "$auth" ] && auth_define='#!define WITH_AUTH'
        s+=(-e "s|@AUTH_DEFINE@|$auth_define|g" -e "s|@AUTH_USER@|$(esc "$auth_user")|g"
            -e "s|@AUTH_PASS@|$(esc "$auth_pass")|g" -e "s|@REALM@|$(esc "$realm")|g"
            -e "s|@EXPIRES_MAX@|$expires|g" -e "s|@EXPIRES_MIN@|$min_expires|g")
    fi
    sed "${s[@]}" "$template" >"$tmp/kamailio.cfg"
}

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

port=''
for attempt in 1 2 3 4 5; do
    port=$(free_port)
    [ -n "$port" ] || { echo "kamailio_run: no free port" >&2; exit 1; }
    render "$port"
    "$KAMAILIO" -c -f "$tmp/kamailio.cfg" -L "$mpath" >"$tmp/check.log" 2>&1 || {
        cat "$tmp/check.log" >&2
        echo "kamailio_run: config check failed" >&2
        exit 1
    }
    # -DD: stay in the foreground (children are still forked); -E: log to
    # stderr; -P/-Y/-w: pid file, runtime dir and cwd in our temp dir.
    "$KAMAILIO" -f "$tmp/kamailio.cfg" -L "$mpath" -DD -E -m 64 -M 8 \
        -P "$tmp/kamailio.pid" -Y "$tmp" -w "$tmp" </dev/null 1>&2 &
    kpid=$!
    up=''
    for _ in $(seq 100); do
        if ! kill -0 "$kpid" 2>/dev/null; then break; fi
        if listening "$port"; then up=1; break; fi
        sleep 0.1
    done
    [ -n "$up" ] && break
    echo "kamailio_run: Kamailio did not come up on port $port (attempt $attempt)" >&2
    kill -TERM "$kpid" 2>/dev/null || true
    wait "$kpid" 2>/dev/null || true
    kpid=''
    [ -z "$stop" ] || exit 0
done
[ -n "$kpid" ] || { echo "kamailio_run: giving up" >&2; exit 1; }

if [ "$role" = proxy ]; then
    echo "READY udp 127.0.0.1 $port"
else
    echo "READY tcp 127.0.0.1 $port msrp://127.0.0.1:$port;tcp"
fi

deadline=$(($(date +%s) + ${timeout%.*}))
status=0
while :; do
    if [ -n "$stop" ]; then echo "EXIT reason=signal"; break; fi
    if ! kill -0 "$kpid" 2>/dev/null; then
        wait "$kpid" && rc=0 || rc=$?
        kpid=''
        echo "EXIT reason=kamailio-died status=$rc"
        status=1
        break
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then echo "EXIT reason=timeout"; break; fi
    sleep 0.1
done
exit $status
