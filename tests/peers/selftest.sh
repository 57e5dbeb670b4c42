#!/usr/bin/env bash
# Exercises every peer against the others on 127.0.0.1 (ephemeral ports only)
# and prints "CHECK <name> ok|FAIL" lines and a closing "N passed, M failed".
# Exit status 0 only if all passed. Takes about 25 s; every process it starts
# is bounded by its own --timeout and is stopped by pid on exit.
set -uo pipefail
cd "$(dirname "$0")"
work=$(mktemp -d "${TMPDIR:-/tmp}/peers-selftest.XXXXXX")
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

pass=0 fail=0
check() { # name, then a command that must succeed
    local name=$1; shift
    if "$@" >/dev/null 2>&1; then pass=$((pass + 1)); echo "CHECK $name ok"
    else fail=$((fail + 1)); echo "CHECK $name FAIL"; fi
}

# bg NAME CMD...: start CMD in the background with stdout to $work/NAME.out,
# wait for its READY line and set $port to the port it printed.
bg() {
    local name=$1; shift
    "$@" >"$work/$name.out" 2>"$work/$name.err" &
    pids+=($!)
    port=''
    for _ in $(seq 150); do
        port=$(awk '/^READY/ { print $4; exit }' "$work/$name.out" 2>/dev/null)
        [ -n "$port" ] && return 0
        sleep 0.1
    done
    echo "no READY from $name: $(cat "$work/$name.err" | tail -5)" >&2
    return 1
}
# stop_last: SIGTERM the most recently started background process and wait for it.
stop_last() { kill -TERM "${pids[-1]}" 2>/dev/null; wait "${pids[-1]}" 2>/dev/null; }
free_udp_port() {
    python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
has() { grep -q -E -- "$2" "$work/$1"; }
count() { [ "$(grep -c -E -- "$2" "$work/$1")" -eq "$3" ]; }

B64_HELLO=$(printf 'héllo wörld' | base64)

# 1. Net::SIP -> Net::SIP, UDP and TCP
for t in udp tcp; do
    bg recv-$t ./netsip_peer.pl receive --transport $t --timeout 20
    ./netsip_peer.pl send-message --transport $t --target "sip:bob@127.0.0.1:$port;transport=$t" \
        --count 3 --body 'héllo wörld' >"$work/send-$t.out" 2>"$work/send-$t.err"
    ./netsip_peer.pl send-message --transport $t --target "sip:bob@127.0.0.1:$port;transport=$t" \
        --method OPTIONS >"$work/opt-$t.out" 2>&1
    stop_last
    check "netsip-$t.three-200" count send-$t.out '^RESP 200 OK cseq=[0-9]+ MESSAGE ' 3
    check "netsip-$t.received-body" count recv-$t.out "^RECV MESSAGE .* body=$B64_HELLO " 3
    check "netsip-$t.options-200" has opt-$t.out '^RESP 200 OK cseq=1 OPTIONS '
    check "netsip-$t.exit-on-signal" has recv-$t.out '^EXIT reason=signal'
done

# 2. Net::SIP receiver answering 486, and ignoring the first 2 MESSAGEs
bg recv-486 ./netsip_peer.pl receive --code 486 --reason 'Busy Here' --count 1 --timeout 10
./netsip_peer.pl send-message --target "sip:bob@127.0.0.1:$port" >"$work/send-486.out" 2>&1
wait "${pids[-1]}" 2>/dev/null
check netsip.code-486 has send-486.out '^RESP 486 Busy Here cseq=1 MESSAGE '
check netsip.count-exit has recv-486.out '^EXIT reason=count'
bg recv-ign ./netsip_peer.pl receive --ignore 2 --count 1 --timeout 15
./netsip_peer.pl send-message --target "sip:bob@127.0.0.1:$port" >"$work/send-ign.out" 2>&1
wait "${pids[-1]}" 2>/dev/null
check netsip.ignore-2-then-200 has send-ign.out '^RESP 200 OK cseq=1 MESSAGE '
check netsip.ignored-twice count recv-ign.out '^IGNORED MESSAGE ' 2

# 3. no answer -> TIMEOUT, exit 1
./netsip_peer.pl send-message --target "sip:bob@127.0.0.1:9" --txn-timeout 2 >"$work/send-dead.out" 2>&1
check netsip.timeout-exit-1 test $? -eq 1
check netsip.timeout-line has send-dead.out '^TIMEOUT cseq=1 MESSAGE '

# 4. pjsua2 <-> Net::SIP, both directions, UDP and TCP
for t in udp tcp; do
    bg recv-pj-$t ./netsip_peer.pl receive --transport $t --timeout 20
    ./pjsua_peer.py send-message --transport $t --target "sip:bob@127.0.0.1:$port;transport=$t" \
        --count 2 --body 'héllo wörld' >"$work/pjsend-$t.out" 2>"$work/pjsend-$t.err"
    ./pjsua_peer.py send-message --transport $t --target "sip:bob@127.0.0.1:$port;transport=$t" \
        --method OPTIONS >"$work/pjopt-$t.out" 2>/dev/null
    stop_last
    check "pjsua-to-netsip-$t.two-200" count pjsend-$t.out '^RESP 200 OK cseq=[0-9]+ MESSAGE ' 2
    check "pjsua-to-netsip-$t.body" count recv-pj-$t.out "^RECV MESSAGE from=sip:pjsua@127.0.0.1 .* body=$B64_HELLO " 2
    check "pjsua-to-netsip-$t.options" has pjopt-$t.out '^RESP 200 OK cseq=[0-9]+ OPTIONS '
    check "pjsua-$t.stdout-clean" bash -c "! grep -v -E '^(READY|SENT|RESP|DONE) ' '$work/pjsend-$t.out'"

    bg pjrecv-$t ./pjsua_peer.py receive --transport $t --count 2 --timeout 20
    ./netsip_peer.pl send-message --transport $t --target "sip:bob@127.0.0.1:$port;transport=$t" \
        --count 2 --body 'héllo wörld' >"$work/to-pj-$t.out" 2>&1
    wait "${pids[-1]}" 2>/dev/null
    check "netsip-to-pjsua-$t.two-200" count to-pj-$t.out '^RESP 200 OK cseq=[0-9]+ MESSAGE ' 2
    check "netsip-to-pjsua-$t.received" count pjrecv-$t.out "^RECV MESSAGE from=sip:netsip@127.0.0.1 .* body=$B64_HELLO " 2
done

# 5. Kamailio proxy: MESSAGE to the "gateway" (a Net::SIP receiver), over UDP and TCP
bg k-gw ./netsip_peer.pl receive --timeout 25
gw=$port
bg kam ./kamailio_run.sh proxy --gateway "127.0.0.1:$gw" --timeout 25
kp=$port
./netsip_peer.pl send-message --target sip:bob@example.invalid --proxy "127.0.0.1:$kp" >"$work/kp-udp.out" 2>&1
./netsip_peer.pl send-message --transport tcp --target sip:bob@example.invalid --proxy "127.0.0.1:$kp" >"$work/kp-tcp.out" 2>&1
./pjsua_peer.py send-message --target sip:carol@example.invalid --proxy "127.0.0.1:$kp" >"$work/kp-pj.out" 2>/dev/null
check proxy.netsip-udp-200 has kp-udp.out '^RESP 200 OK cseq=1 MESSAGE '
check proxy.netsip-tcp-200 has kp-tcp.out '^RESP 200 OK cseq=1 MESSAGE '
check proxy.pjsua-200 has kp-pj.out '^RESP 200 OK cseq=[0-9]+ MESSAGE '
check proxy.gateway-got-3 count k-gw.out "^RECV MESSAGE .* src=127.0.0.1:$kp " 3
stop_last
kill -TERM "${pids[-2]}" 2>/dev/null

# 6. Kamailio proxy: requests from the gateway go to their Request-URI; the
#    callee ignores the first 2 MESSAGEs, so Kamailio (tm) must retransmit.
gp=$(free_udp_port)
bg k-callee ./netsip_peer.pl receive --ignore 2 --timeout 25
callee=$port
bg kam2 ./kamailio_run.sh proxy --gateway "127.0.0.1:$gp" --timeout 25
kp=$port
./netsip_peer.pl send-message --port "$gp" --target "sip:bob@127.0.0.1:$callee" --proxy "127.0.0.1:$kp" >"$work/fromgw-udp.out" 2>&1
./netsip_peer.pl send-message --transport tcp --port "$gp" --target "sip:bob@127.0.0.1:$callee" --proxy "127.0.0.1:$kp" >"$work/fromgw-tcp.out" 2>&1
check proxy.from-gateway-udp-200-after-retransmits has fromgw-udp.out '^RESP 200 OK cseq=1 MESSAGE '
check proxy.from-gateway-tcp-200 has fromgw-tcp.out '^RESP 200 OK cseq=1 MESSAGE '
check proxy.callee-ignored-2 count k-callee.out "^IGNORED MESSAGE .* src=127.0.0.1:$kp " 2
check proxy.callee-got-2 count k-callee.out "^RECV MESSAGE .* src=127.0.0.1:$kp " 2
stop_last
kill -TERM "${pids[-2]}" 2>/dev/null

# 7. Kamailio proxy: callee never answers -> 408 from tm
bg k-silent ./netsip_peer.pl receive --ignore 1000 --timeout 15
bg kam3 ./kamailio_run.sh proxy --gateway "127.0.0.1:$port" --fr-timer 2000 --timeout 15
./netsip_peer.pl send-message --target sip:bob@example.invalid --proxy "127.0.0.1:$port" >"$work/k408.out" 2>&1
check proxy.no-answer-408 has k408.out '^RESP 408 Request Timeout cseq=1 MESSAGE '
stop_last
check proxy.exit-on-signal has kam3.out '^EXIT reason=signal'
kill -TERM "${pids[-2]}" 2>/dev/null

# 8. MSRP relay
./check_msrp_relay.py >"$work/msrp.out" 2>&1
check msrp-relay.all-checks has msrp.out '^[0-9]+ passed, 0 failed$'

wait 2>/dev/null
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
