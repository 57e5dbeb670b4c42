//! The man pages: `mandoc -Tlint` finds nothing to say, and msrpgw(8)
//! states what the code does (the status-code mapping tables, the
//! metrics, the options, the signals).
//!
//! Without mandoc the lint test prints a notice and returns, unless
//! MSRPGW_REQUIRE_PEERS=1 (as .ci/run sets after installing it), which turns
//! its absence into a failure.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use msrpgw::metrics::Metrics;
use msrpgw::session::mapping::{
    MsrpResult, SipResult, message_status_for_invite, message_status_for_msrp,
    msrp_status_for_message,
};

fn repo_file(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(repo_file(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// `mandoc -Tlint` (every level, style included) over both pages. The one
/// message allowed: the pages refer to each other, and mandoc looks a
/// referenced page up among the installed ones, where they are not (yet).
#[test]
fn man_pages_pass_mandoc_lint() {
    let run = Command::new("mandoc")
        .arg("-Tlint")
        .arg(repo_file("man/msrpgw.8"))
        .arg(repo_file("man/msrpgw.toml.5"))
        .output();
    let Ok(o) = run else {
        assert!(
            std::env::var("MSRPGW_REQUIRE_PEERS").as_deref() != Ok("1"),
            "mandoc is required (MSRPGW_REQUIRE_PEERS=1) but not installed"
        );
        eprintln!("NOTICE: mandoc not installed; skipping (Debian package `mandoc`)");
        return;
    };
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let complaints: Vec<&str> = text
        .lines()
        .filter(|l| {
            !(l.contains("STYLE: referenced manual not found: Xr msrpgw.toml 5")
                || l.contains("STYLE: referenced manual not found: Xr msrpgw 8"))
        })
        .collect();
    assert!(
        complaints.is_empty(),
        "mandoc -Tlint:\n{}",
        complaints.join("\n")
    );
}

fn sections(man: &str) -> Vec<&str> {
    man.lines().filter_map(|l| l.strip_prefix(".Sh ")).collect()
}

/// The sections an admin looks for, and every option of the usage text.
#[test]
fn daemon_page_has_the_expected_sections_and_options() {
    let man = read("man/msrpgw.8");
    let have = sections(&man);
    for s in [
        "NAME",
        "SYNOPSIS",
        "DESCRIPTION",
        "OPTIONS",
        "SIGNALS",
        "STATUS CODES",
        "STATUS ENDPOINT AND METRICS",
        "LOGGING",
        "SYSTEMD",
        "ENVIRONMENT",
        "FILES",
        "EXIT STATUS",
        "EXAMPLES",
        "SEE ALSO",
        "STANDARDS",
    ] {
        assert!(have.contains(&s), "no .Sh {s} in msrpgw(8): {have:?}");
    }
    for opt in ["config", "check-config", "version", "help"] {
        assert!(
            man.contains(&format!(".It Fl -{opt}")),
            "--{opt} undocumented"
        );
    }
    for sig in ["SIGTERM", "SIGINT", "SIGHUP"] {
        assert!(man.contains(sig), "{sig}");
    }
    // The examples show a Kamailio front proxy.
    assert!(man.contains("kamailio.cfg") && man.contains("t_relay()"));
}

/// Every metric the status endpoint exports is documented by the name a
/// Prometheus query uses (counters with their `_total`).
#[test]
fn daemon_page_documents_every_metric() {
    let man = read("man/msrpgw.8");
    let exposition = Metrics::new().encode();
    let mut names = BTreeSet::new();
    for line in exposition.lines() {
        let Some(rest) = line.strip_prefix("# TYPE ") else {
            continue;
        };
        let mut parts = rest.split_whitespace();
        let (Some(name), Some(kind)) = (parts.next(), parts.next()) else {
            panic!("odd TYPE line: {line}");
        };
        let queried = if kind == "counter" {
            format!("{name}_total")
        } else {
            name.to_owned()
        };
        names.insert(queried);
    }
    assert!(names.len() >= 7, "{exposition}");
    // And every label value (but histogram buckets), as `.Li value`.
    let mut values = BTreeSet::new();
    for line in exposition.lines().filter(|l| !l.starts_with('#')) {
        let Some(labels) = line
            .split_once('{')
            .and_then(|(_, r)| r.split_once('}'))
            .map(|(l, _)| l)
        else {
            continue;
        };
        for pair in labels.split(',') {
            if let Some((k, v)) = pair.split_once('=') {
                if k != "le" {
                    values.insert(v.trim_matches('"').to_owned());
                }
            }
        }
    }
    assert!(values.contains("pager_to_session"), "{exposition}");
    for v in &values {
        assert!(
            man.contains(&format!(".Li {v} ")) || man.contains(&format!(".Li {v}\n")),
            "label value {v} not in msrpgw(8)"
        );
    }
    for n in &names {
        assert!(
            man.contains(&format!(".It Li {n}\n")) || man.contains(&format!(".It Li {n} ")),
            "metric {n} not in msrpgw(8)"
        );
    }
}

/// One row of a mapping table: the results of column 1, the status of
/// column 2 (`None`: "the same code").
struct Row {
    from: Vec<String>,
    to: Option<u16>,
}

/// The rows (header skipped) of the `.Bl -column` after the
/// `.\" table: NAME` comment.
fn table(man: &str, name: &str) -> Vec<Row> {
    let marker = format!(".\\\" table: {name} ");
    let start = man
        .lines()
        .position(|l| l.starts_with(&marker))
        .unwrap_or_else(|| panic!("no table {name} in msrpgw(8)"));
    let mut rows = Vec::new();
    for line in man.lines().skip(start + 1) {
        if line.starts_with(".El") {
            break;
        }
        let Some(item) = line.strip_prefix(".It ") else {
            continue;
        };
        if item.starts_with("Sy ") {
            continue;
        }
        let (from, to) = item
            .split_once(" Ta ")
            .unwrap_or_else(|| panic!("{name}: no Ta in {line}"));
        rows.push(Row {
            from: from.split(", ").map(|t| t.trim().to_owned()).collect(),
            to: if to.contains("same") {
                None
            } else {
                Some(to.trim().parse().unwrap_or_else(|_| panic!("{line}")))
            },
        });
    }
    assert!(rows.len() >= 3, "{name}: {} rows", rows.len());
    rows
}

/// The codes rows name explicitly (`2xx` stands for 200..=299).
fn listed(rows: &[Row]) -> BTreeSet<u16> {
    let mut out = BTreeSet::new();
    for r in rows {
        for t in &r.from {
            if t == "2xx" {
                out.extend(200..=299);
            } else if let Ok(code) = t.parse() {
                out.insert(code);
            }
        }
    }
    out
}

/// Checks a table against `map`: each named code, the `other` row on
/// every code from 200 to 699 no row names, and words through `word`.
fn check_table(
    name: &str,
    map: impl Fn(u16) -> u16,
    word: impl Fn(&str) -> Option<u16>,
    other_from: u16,
) {
    let man = read("man/msrpgw.8");
    let rows = table(&man, name);
    let named = listed(&rows);
    let mut saw_other = false;
    for r in &rows {
        for t in &r.from {
            let (inputs, got): (Vec<u16>, Vec<u16>) = if t == "other" {
                saw_other = true;
                let codes: Vec<u16> = (other_from..700).filter(|c| !named.contains(c)).collect();
                let got = codes.iter().map(|&c| map(c)).collect();
                (codes, got)
            } else if t == "2xx" {
                ((200..300).collect(), (200..300).map(&map).collect())
            } else if let Ok(code) = t.parse::<u16>() {
                (vec![code], vec![map(code)])
            } else {
                let got = word(t).unwrap_or_else(|| panic!("{name}: unknown entry {t:?}"));
                (vec![0], vec![got])
            };
            for (input, got) in inputs.iter().zip(got) {
                let want = r.to.unwrap_or(*input);
                assert_eq!(
                    got, want,
                    "{name}: {t} ({input}) gives {got} in the code, {want} in msrpgw(8)"
                );
            }
        }
    }
    assert!(saw_other, "{name}: no `other` row");
}

#[test]
fn daemon_page_mapping_tables_match_the_code() {
    check_table(
        "invite-to-message",
        |c| message_status_for_invite(c, "reason").status,
        |_| None,
        300,
    );
    check_table(
        "send-to-message",
        |c| message_status_for_msrp(MsrpResult::Status(c)).status,
        |w| match w {
            "timeout" => Some(message_status_for_msrp(MsrpResult::Timeout).status),
            "lost" => Some(message_status_for_msrp(MsrpResult::SessionLost).status),
            _ => None,
        },
        200,
    );
    check_table(
        "message-to-send",
        |c| msrp_status_for_message(SipResult::Status(c, "reason")).status,
        |w| match w {
            "timeout" => Some(msrp_status_for_message(SipResult::Timeout).status),
            _ => None,
        },
        300,
    );
}

/// The Kamailio excerpt of EXAMPLES is real Kamailio configuration:
/// wrapped in a minimal request_route, `kamailio -c` accepts it.
#[test]
fn daemon_page_kamailio_example_parses() {
    let Some(mpath) = [
        "/usr/lib/x86_64-linux-gnu/kamailio/modules",
        "/usr/lib/kamailio/modules",
    ]
    .into_iter()
    .find(|d| Path::new(d).join("tm.so").exists()) else {
        assert!(
            std::env::var("MSRPGW_REQUIRE_PEERS").as_deref() != Ok("1"),
            "Kamailio is required (MSRPGW_REQUIRE_PEERS=1) but not installed"
        );
        eprintln!("NOTICE: Kamailio not installed; skipping (tests/peers/install.sh)");
        return;
    };
    let man = read("man/msrpgw.8");
    let start = man
        .find("# kamailio.cfg")
        .expect("a kamailio.cfg excerpt in EXAMPLES");
    let len = man[start..].find("\n.Ed").expect("end of the excerpt");
    let excerpt = &man[start..start + len];
    assert!(!excerpt.contains('\\'), "roff escapes in the excerpt");
    let cfg = format!(
        "#!KAMAILIO\nlisten=udp:127.0.0.1:5060\nmpath=\"{mpath}/\"\n\
         loadmodule \"tm.so\"\nloadmodule \"sl.so\"\nloadmodule \"rr.so\"\n\
         loadmodule \"pv.so\"\nloadmodule \"textops.so\"\n\
         request_route {{\n{excerpt}\n}}\n"
    );
    let dir = std::env::temp_dir().join(format!("msrpgw-kamailio-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("kamailio.cfg");
    std::fs::write(&path, &cfg).expect("write");
    let o = Command::new("kamailio")
        .arg("-c")
        .arg("-f")
        .arg(&path)
        .output()
        .expect("run kamailio -c");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        o.status.success(),
        "kamailio -c rejects the example:\n{cfg}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
}
