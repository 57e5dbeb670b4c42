//! msrpgw as systemd runs it: the unit file (`systemd-analyze verify` and
//! `security`), the sd_notify protocol spoken to a `$NOTIFY_SOCKET` bound
//! here, and the log format under the journal (`$JOURNAL_STREAM`).
//!
//! Without `systemd-analyze` the unit tests print a notice and return,
//! unless MSRPGW_REQUIRE_PEERS=1 (as .ci/run sets after installing it),
//! which turns its absence into a failure.

use std::collections::HashMap;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use msrpgw::config::{KEYS, Kind};

use crate::daemon::{Daemon, config};

fn repo_file(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn unit_text() -> String {
    std::fs::read_to_string(repo_file("systemd/msrpgw.service")).expect("read the unit")
}

/// A directory of its own under the system's temporary directory.
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("msrpgw-systemd-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Whether `systemd-analyze` can run; a notice (or, when required, a
/// failure) when it cannot.
fn systemd_analyze() -> bool {
    let ok = Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var("MSRPGW_REQUIRE_PEERS").as_deref() != Ok("1"),
            "systemd-analyze is required (MSRPGW_REQUIRE_PEERS=1) but not installed \
             (Debian package `systemd`)"
        );
        eprintln!("NOTICE: systemd-analyze not installed; skipping (Debian package `systemd`)");
    }
    ok
}

/// `[Service]` settings of the unit: key → every value given (in order).
fn service_settings(unit: &str) -> HashMap<String, Vec<String>> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    let mut in_service = false;
    for line in unit.lines().map(str::trim) {
        if line.starts_with('[') {
            in_service = line == "[Service]";
        } else if in_service && !line.starts_with('#') {
            if let Some((k, v)) = line.split_once('=') {
                out.entry(k.to_owned()).or_default().push(v.to_owned());
            }
        }
    }
    out
}

fn default_of(section: &str, name: &str) -> i64 {
    let k = KEYS
        .iter()
        .find(|k| k.section == section && k.name == name)
        .unwrap_or_else(|| panic!("no key {section}.{name}"));
    match k.kind {
        Kind::Integer { default, .. } => default,
        _ => panic!("{section}.{name} is not an integer"),
    }
}

/// The settings issue-level requirements name, and limits sized for
/// thread-per-connection at the configuration's default bounds.
#[test]
fn unit_has_notify_watchdog_check_config_and_hardening() {
    let s = service_settings(&unit_text());
    let one = |k: &str| -> &str {
        let v = s.get(k).unwrap_or_else(|| panic!("{k}= missing"));
        v.last().map_or("", String::as_str)
    };
    assert_eq!(one("Type"), "notify");
    assert!(one("WatchdogSec").ends_with('s'), "WatchdogSec");
    assert!(
        one("ExecStartPre").contains("msrpgw --check-config /etc/msrpgw/msrpgw.toml"),
        "ExecStartPre"
    );
    assert!(one("ExecStart").contains("msrpgw --config /etc/msrpgw/msrpgw.toml"));
    assert_eq!(one("Restart"), "on-failure");
    assert!(one("User") == "msrpgw" || one("DynamicUser") == "yes");
    assert_eq!(one("CapabilityBoundingSet"), "", "no capability at all");
    for k in [
        "ProtectHome",
        "PrivateTmp",
        "PrivateDevices",
        "NoNewPrivileges",
        "MemoryDenyWriteExecute",
        "LockPersonality",
        "ProtectKernelTunables",
        "ProtectKernelModules",
        "ProtectKernelLogs",
        "ProtectControlGroups",
        "RestrictNamespaces",
        "RestrictRealtime",
    ] {
        assert_eq!(one(k), "yes", "{k}");
    }
    assert_eq!(one("ProtectSystem"), "strict");
    assert_eq!(
        one("RestrictAddressFamilies"),
        "AF_INET AF_INET6 AF_UNIX",
        "RestrictAddressFamilies"
    );
    assert_eq!(
        s.get("SystemCallFilter")
            .and_then(|v| v.first())
            .map(String::as_str),
        Some("@system-service")
    );
    // A thread per session, a reader and a writer per MSRP and SIP
    // connection (DESIGN §3), each connection two descriptors (the socket
    // and its try_clone), and room for the fixed threads and files.
    let sessions = default_of("gateway", "max_sessions");
    let msrp = default_of("msrp", "max_connections");
    let sip = default_of("sip", "max_connections");
    let threads = sessions + 2 * msrp + 2 * sip + 64;
    let fds = 2 * msrp + 2 * sip + 64;
    let tasks: i64 = one("TasksMax").parse().expect("TasksMax is a number");
    let files: i64 = one("LimitNOFILE").parse().expect("LimitNOFILE is a number");
    assert!(tasks >= threads, "TasksMax={tasks} < {threads} threads");
    assert!(files >= fds, "LimitNOFILE={files} < {fds} descriptors");
}

/// `systemd-analyze verify` accepts the unit without a word (it exits 0
/// even on unknown keys, so its output must be empty too). The binary path
/// is the one just built, and `--man=no` since the man pages are not
/// installed here.
#[test]
fn unit_passes_systemd_analyze_verify() {
    if !systemd_analyze() {
        return;
    }
    let dir = temp_dir("verify");
    let unit = dir.join("msrpgw.service");
    let text = unit_text().replace("/usr/bin/msrpgw", env!("CARGO_BIN_EXE_msrpgw"));
    std::fs::write(&unit, text).expect("write unit");
    let o = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&unit)
        .output()
        .expect("run systemd-analyze");
    let err = String::from_utf8_lossy(&o.stderr);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(o.status.success(), "{err}");
    assert_eq!(err.trim(), "", "systemd-analyze verify complained");
}

/// `systemd-analyze security --offline=true` rates the unit's exposure at
/// 2.0 or less ("OK"; 0 is the best, 10 the worst).
#[test]
fn unit_security_exposure_is_at_most_2() {
    if !systemd_analyze() {
        return;
    }
    let o = Command::new("systemd-analyze")
        .args(["security", "--offline=true", "--no-pager"])
        .arg(repo_file("systemd/msrpgw.service"))
        .output()
        .expect("run systemd-analyze");
    let out = String::from_utf8_lossy(&o.stdout);
    let score: f64 = out
        .lines()
        .find_map(|l| {
            l.split("Overall exposure level for msrpgw.service: ")
                .nth(1)
        })
        .and_then(|s| s.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            panic!(
                "no exposure level in:\n{out}\n{}",
                String::from_utf8_lossy(&o.stderr)
            )
        });
    eprintln!("systemd-analyze security: msrpgw.service exposure {score}");
    assert!(score <= 2.0, "exposure {score} > 2.0:\n{out}");
}

/// What msrpgw sent to a notification socket, until `until` says enough
/// (at most 10 s).
fn notifications(s: &UnixDatagram, until: impl Fn(&[String]) -> bool) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while Instant::now() < deadline && !until(&got) {
        if let Ok(n) = s.recv(&mut buf) {
            got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
    }
    got
}

fn kind(datagram: &str) -> &str {
    datagram
        .lines()
        .find(|l| !l.starts_with("STATUS="))
        .unwrap_or("")
}

/// Under `Type=notify`: READY=1 once every listener is up, WATCHDOG=1 at
/// half the `$WATCHDOG_USEC` interval while the session table answers,
/// STOPPING=1 when SIGTERM arrives; in that order, then exit 0.
#[test]
fn notify_socket_gets_ready_then_watchdog_then_stopping() {
    let dir = temp_dir("notify");
    let path = dir.join("notify.sock");
    let _ = std::fs::remove_file(&path);
    let sock = UnixDatagram::bind(&path).expect("bind the notification socket");
    sock.set_read_timeout(Some(Duration::from_millis(100)))
        .expect("timeout");
    let socket_env = path.to_str().expect("utf-8 path");
    let pid_independent = [
        ("NOTIFY_SOCKET", socket_env),
        // 300 ms: a ping every 150 ms.
        ("WATCHDOG_USEC", "300000"),
    ];
    let mut d = Daemon::start_with_env(&config(""), &pid_independent);
    let pings = |got: &[String]| got.iter().filter(|m| kind(m) == "WATCHDOG=1").count();
    let before = notifications(&sock, |got| pings(got) >= 3);
    assert!(
        before.first().is_some_and(|m| kind(m) == "READY=1"),
        "READY=1 first: {before:?}\n{}",
        d.log_text()
    );
    assert!(
        before[0].contains("STATUS=msrpgw ") && before[0].contains(" ready (instance "),
        "{:?}",
        before[0]
    );
    assert!(pings(&before) >= 3, "{before:?}\n{}", d.log_text());
    assert!(
        before[1..].iter().all(|m| kind(m) == "WATCHDOG=1"),
        "{before:?}"
    );
    d.signal("TERM");
    let after = notifications(&sock, |got| got.iter().any(|m| kind(m) == "STOPPING=1"));
    let stopping = after
        .iter()
        .position(|m| kind(m) == "STOPPING=1")
        .unwrap_or_else(|| panic!("no STOPPING=1: {after:?}\n{}", d.log_text()));
    assert!(
        after[..stopping].iter().all(|m| kind(m) == "WATCHDOG=1"),
        "{after:?}"
    );
    let status = d.wait(Duration::from_secs(8)).expect("msrpgw stops");
    assert_eq!(status.code(), Some(0), "{}", d.log_text());
    // Nothing after the process is gone, and nothing but pings after
    // STOPPING=1 while it stopped.
    // What is still queued (the socket's read timeout ends the loop).
    let mut late = Vec::new();
    let mut buf = [0u8; 1024];
    while let Ok(n) = sock.recv(&mut buf) {
        late.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        after[stopping + 1..]
            .iter()
            .chain(&late)
            .all(|m| kind(m) == "WATCHDOG=1"),
        "{after:?} {late:?}"
    );
}

/// A watchdog meant for another process (`$WATCHDOG_PID`) is not ours:
/// READY=1 and STOPPING=1 only.
#[test]
fn watchdog_for_another_pid_is_ignored() {
    let dir = temp_dir("notify-pid");
    let path = dir.join("notify.sock");
    let _ = std::fs::remove_file(&path);
    let sock = UnixDatagram::bind(&path).expect("bind");
    sock.set_read_timeout(Some(Duration::from_millis(100)))
        .expect("timeout");
    let env = [
        ("NOTIFY_SOCKET", path.to_str().expect("utf-8 path")),
        ("WATCHDOG_USEC", "100000"),
        ("WATCHDOG_PID", "1"),
    ];
    let mut d = Daemon::start_with_env(&config(""), &env);
    // Long enough for several pings, were there any.
    std::thread::sleep(Duration::from_millis(400));
    d.signal("TERM");
    let got = notifications(&sock, |got| got.iter().any(|m| kind(m) == "STOPPING=1"));
    assert!(d.wait(Duration::from_secs(8)).is_some(), "msrpgw stops");
    let _ = std::fs::remove_dir_all(&dir);
    let kinds: Vec<&str> = got.iter().map(|m| kind(m)).collect();
    assert_eq!(kinds, ["READY=1", "STOPPING=1"], "{}", d.log_text());
}

/// Under the journal (`$JOURNAL_STREAM` set) every line starts with an
/// sd-daemon `<N>` priority and carries no timestamp; elsewhere lines
/// start with an RFC 3339 timestamp. Startup names the version and every
/// listener.
#[test]
fn log_lines_follow_journal_stream() {
    let journal = Daemon::start_with_env(
        &config("[status]\nlisten = \"127.0.0.1:0\"\n"),
        &[("JOURNAL_STREAM", "8:123456")],
    );
    let lines = journal.log_lines();
    for l in &lines {
        let prio = l
            .strip_prefix('<')
            .and_then(|r| r.split_once('>'))
            .and_then(|(n, _)| n.parse::<u8>().ok());
        assert!(
            prio.is_some_and(|p| (3..=7).contains(&p)),
            "no <N> prefix: {l}"
        );
        assert!(
            !l.contains(" INFO ") && !l.contains("[20"),
            "timestamp: {l}"
        );
    }
    let ready = format!(
        "<6>msrpgw::gateway: msrpgw {} ready",
        env!("CARGO_PKG_VERSION")
    );
    assert!(
        lines.iter().any(|l| l.starts_with(&ready)),
        "{}",
        journal.log_text()
    );
    for listener in ["sip: listening on udp:", "sip: listening on tcp:"] {
        assert!(lines.iter().any(|l| l.contains(listener)), "{listener}");
    }
    assert!(lines.iter().any(|l| l.contains("msrp: listening on tcp:")));
    assert!(
        lines
            .iter()
            .any(|l| l.contains("status: listening on http://"))
    );
    drop(journal);

    let plain = Daemon::start(&config(""));
    for l in plain.log_lines() {
        // [2026-11-23T02:12:32.123Z INFO  msrpgw::gateway] ...
        let stamp = l.get(1..25).unwrap_or("");
        let b = stamp.as_bytes();
        assert!(
            l.starts_with('[') && b.len() == 24 && b[4] == b'-' && b[10] == b'T' && b[23] == b'Z',
            "no timestamp: {l}"
        );
    }
}

/// `RUST_LOG` overrides `[log] level`.
#[test]
fn rust_log_overrides_the_configured_level() {
    // At "warn" the ready line (info) would not show, and Daemon::start
    // waits for it.
    let text = config("").replace("level = \"info\"", "level = \"warn\"");
    assert!(text.contains("level = \"warn\""));
    let d = Daemon::start_with_env(&text, &[("RUST_LOG", "info")]);
    assert!(d.log_text().contains(" ready (instance "));
}
