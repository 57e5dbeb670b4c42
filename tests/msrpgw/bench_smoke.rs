//! A short run of every msrpgw-bench scenario against the real daemon
//! (`--spawn`): the tool works end to end and the gateway loses, doubles
//! and reorders nothing at a modest rate. Speed is reported by the bench,
//! never asserted here.

use std::process::Command;

use serde_json::Value;

/// Runs `msrpgw-bench SCENARIO --spawn msrpgw ARGS --json` and returns its
/// report.
fn bench(scenario: &str, args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_msrpgw-bench"))
        .arg(scenario)
        .args(["--spawn", env!("CARGO_BIN_EXE_msrpgw"), "--json", "--quiet"])
        .args(["--drain-secs", "5"])
        .args(args)
        .output()
        .expect("run msrpgw-bench");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "msrpgw-bench {scenario} failed:\n{stderr}"
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}):\n{}\n{stderr}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

fn n(r: &Value, key: &str) -> u64 {
    r[key]
        .as_u64()
        .unwrap_or_else(|| panic!("{key} missing in {r:#}"))
}

/// Nothing lost, doubled or reordered; every message offered was answered
/// 2xx and delivered exactly once.
fn assert_clean(r: &Value) {
    assert_eq!(n(r, "lost"), 0, "{r:#}");
    assert_eq!(n(r, "duplicates"), 0, "{r:#}");
    assert_eq!(n(r, "order_violations"), 0, "{r:#}");
    assert_eq!(n(r, "setup_failures"), 0, "{r:#}");
    assert_eq!(n(r, "timeouts"), 0, "{r:#}");
    assert_eq!(n(r, "errors"), 0, "{r:#}");
    assert_eq!(r["gateway_exited"].as_bool(), Some(false), "{r:#}");
    let offered = n(r, "offered");
    assert!(offered > 0, "{r:#}");
    assert_eq!(r["finals_1xx_6xx"][1].as_u64(), Some(offered), "{r:#}");
    assert_eq!(n(r, "delivered"), offered, "{r:#}");
}

#[test]
fn bench_smoke_p2s() {
    let r = bench(
        "p2s",
        &["--sessions", "20", "--rate", "300", "--duration", "3"],
    );
    assert_clean(&r);
    assert_eq!(n(&r, "setups"), 20, "{r:#}");
}

#[test]
fn bench_smoke_p2s_new() {
    let r = bench("p2s-new", &["--rate", "50", "--duration", "3"]);
    assert_clean(&r);
    assert_eq!(
        n(&r, "setups"),
        n(&r, "offered"),
        "a session per message: {r:#}"
    );
}

#[test]
fn bench_smoke_s2p() {
    let r = bench(
        "s2p",
        &["--sessions", "20", "--rate", "300", "--duration", "3"],
    );
    assert_clean(&r);
    assert_eq!(n(&r, "setups"), 20, "{r:#}");
}

#[test]
fn bench_smoke_mixed() {
    let r = bench(
        "mixed",
        &["--sessions", "20", "--rate", "300", "--duration", "3"],
    );
    assert_clean(&r);
    assert_eq!(n(&r, "setups"), 20, "{r:#}");
}

#[test]
fn bench_smoke_ramp() {
    let r = bench(
        "ramp",
        &["--steps", "1,10,50", "--step-secs", "1", "--rate", "300"],
    );
    assert_clean(&r);
    let steps = r["steps"].as_array().expect("steps");
    assert_eq!(steps.len(), 3, "{r:#}");
    assert_eq!(steps[2]["sessions"].as_u64(), Some(50), "{r:#}");
    assert!(steps[2]["gateway"]["rss_kib"].as_u64() > Some(0), "{r:#}");
}

#[test]
fn bench_smoke_p2s_over_tcp() {
    let r = bench(
        "p2s",
        &[
            "--pager-tcp",
            "--sessions",
            "20",
            "--rate",
            "300",
            "--duration",
            "3",
        ],
    );
    assert_clean(&r);
    assert_eq!(n(&r, "retransmits"), 0, "no retransmission over TCP: {r:#}");
}
