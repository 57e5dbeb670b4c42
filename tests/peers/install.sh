#!/usr/bin/env bash
# Installs the real SIP/MSRP peers the integration tests drive:
#   - Kamailio 5.6 (Debian bookworm `kamailio`: the package itself holds tm, sl,
#     rr, textops, siputils, dispatcher, msrp, auth, htable, xlog, pv, ...),
#   - Perl Net::SIP (`libnet-sip-perl`),
#   - PJSUA2 Python bindings (PyPI `pjsua2-python`, a manylinux wheel with
#     pjproject 2.15.1 inside; imports as `pjsua2`).
# Idempotent: installs only what is missing. Needs root for apt-get (CI is root).
# Prints how long each step took.
set -euo pipefail

log() { printf '==> peers: %s\n' "$*"; }
now() { date +%s.%N; }
took() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f s", b - a }'; }

APT_PKGS=(kamailio libnet-sip-perl)
PIP_PKG=pjsua2-python
PYTHON=${PYTHON:-python3}

missing=()
for p in "${APT_PKGS[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
    t=$(now)
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # --no-install-recommends keeps the install small; the package's postinst
    # does not start a daemon in a container without systemd, and the peers run
    # their own instance with their own config anyway.
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    log "apt-get install ${missing[*]}: $(took "$t")"
else
    log "apt packages already present: ${APT_PKGS[*]}"
fi

for m in tm sl rr textops siputils msrp auth pv xlog maxfwd htable cfgutils kex corex; do
    f=/usr/lib/x86_64-linux-gnu/kamailio/modules/$m.so
    [ -e "$f" ] || f=$(find /usr/lib -path '*kamailio/modules*' -name "$m.so" 2>/dev/null | head -n1)
    [ -n "$f" ] && [ -e "$f" ] || { echo "kamailio module $m.so missing" >&2; exit 1; }
done

if "$PYTHON" -c 'import pjsua2' >/dev/null 2>&1; then
    log "python module pjsua2 already present"
else
    t=$(now)
    "$PYTHON" -m pip install --quiet --disable-pip-version-check --root-user-action=ignore "$PIP_PKG"
    log "pip install $PIP_PKG: $(took "$t")"
fi
pjlog=$(mktemp)
if ! "$PYTHON" - 2>"$pjlog" <<'PY'
import os
# pjlib prints its start-up banner on fd 1 and logs to the console; keep the
# installer's output to one line (the log is shown only if this check fails).
saved = os.dup(1)
os.dup2(2, 1)
import pjsua2 as pj
ep = pj.Endpoint()
ep.libCreate()
version = ep.libVersion().full
os.dup2(saved, 1)
print(f"==> peers: pjsua2 {version} loads")
os._exit(0)
PY
then
    cat "$pjlog" >&2
    rm -f "$pjlog"
    echo "pjsua2 does not load" >&2
    exit 1
fi
rm -f "$pjlog"
perl -MNet::SIP -e 'print "==> peers: Net::SIP $Net::SIP::VERSION loads\n"'
kamailio -v | head -n1 | sed 's/^/==> peers: /'
