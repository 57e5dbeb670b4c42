#!/usr/bin/env bash
# Runs one fuzz target (or all) for a number of seconds, seeded from the RFC
# test vectors in tests/fixtures/corpus. Needs a nightly toolchain and
# cargo-fuzz (`cargo install cargo-fuzz`).
#   fuzz/run.sh TARGET [SECONDS]      one target
#   fuzz/run.sh all [SECONDS]         every target, one after the other
set -euo pipefail
cd "$(dirname "$0")"
secs="${2:-300}"
seeds=../tests/fixtures/corpus

seed_dirs() {
    case "$1" in
        sip_*) echo "$seeds/sip/torture $seeds/sip/message" ;;
        msrp_*) echo "$seeds/msrp" ;;
        sdp | session_media) echo "$seeds/sdp" ;;
        session_content) echo "$seeds/msrp/cpim" ;;
        cpim | imdn) echo "$seeds/msrp/cpim" ;;
        *) echo "" ;;
    esac
}

run_one() {
    local t="$1"
    mkdir -p "corpus/$t"
    # shellcheck disable=SC2046
    cargo +nightly fuzz run -O "$t" "corpus/$t" $(seed_dirs "$t") -- \
        -max_total_time="$secs" -print_final_stats=1 -max_len=65536 2>&1 |
        tee "corpus/$t.log" | grep -E '^(#[0-9]+ *DONE|stat::number_of_executed_units|==[0-9]+==|SUMMARY)' || true
}

if [ "${1:-}" = "all" ]; then
    for t in $(cargo +nightly fuzz list); do
        echo "== $t"
        run_one "$t"
    done
else
    run_one "${1:?target name or 'all'}"
fi
