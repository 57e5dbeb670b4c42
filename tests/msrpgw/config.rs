//! The configuration as operators meet it: the shipped example, the man
//! page, and `msrpgw --check-config` / `--config` run as a real process.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use msrpgw::config::{Config, KEYS, Kind, SECTIONS, Transport};

fn repo_file(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(repo_file(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// (section, key) for every key the parser accepts, from its own table.
fn parser_keys() -> BTreeSet<(String, String)> {
    KEYS.iter()
        .map(|k| (k.section.to_owned(), k.name.to_owned()))
        .collect()
}

/// A file in a directory of its own under the system's temporary directory.
fn temp_file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("msrpgw-it-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("msrpgw.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn msrpgw(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_msrpgw"))
        .args(args)
        .output()
        .expect("run msrpgw")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

// ---------------------------------------------------------------------------
// The shipped example and the man page

#[test]
fn shipped_example_is_valid_without_any_diagnostic() {
    let text = read("conf/msrpgw.toml");
    let (c, warnings) = match Config::from_toml(&text, "conf/msrpgw.toml") {
        Ok(r) => r,
        Err(d) => panic!("{d:#?}"),
    };
    assert!(warnings.is_empty(), "{warnings:#?}");
    // As the design says: loopback, unprivileged ports.
    let sip: Vec<String> = c.sip.listen.iter().map(ToString::to_string).collect();
    assert_eq!(sip, ["udp:127.0.0.1:5060", "tcp:127.0.0.1:5060"]);
    assert_eq!(c.msrp.listen[0].transport, Transport::Tcp);
    assert_eq!(c.msrp.listen[0].addr.to_string(), "127.0.0.1:2855");
    assert_eq!(c.status.unwrap().listen.to_string(), "127.0.0.1:9090");
    assert!(c.tls.is_none());
}

/// One `.It Ic key` item of msrpgw.toml(5): its section (from the
/// `.Ss [section]: ...` heading above it), key, the rest of the `.It` line
/// and the text up to the next `.It` or `.El`.
struct ManItem {
    section: String,
    key: String,
    head: String,
    body: String,
}

fn man_items(man: &str) -> Vec<ManItem> {
    let mut section: Option<String> = None;
    let mut items: Vec<ManItem> = Vec::new();
    let mut open = false;
    for line in man.lines() {
        if let Some(heading) = line.strip_prefix(".Ss ") {
            section = heading
                .strip_prefix('[')
                .and_then(|h| h.split_once(']'))
                .map(|(name, _)| name.to_owned());
            open = false;
        } else if line.starts_with(".Sh ") {
            section = None;
            open = false;
        } else if let Some(rest) = line.strip_prefix(".It Ic ") {
            let (key, head) = rest.split_once(' ').unwrap_or((rest, ""));
            let section = section
                .clone()
                .unwrap_or_else(|| panic!("key {key} outside a [section] heading"));
            items.push(ManItem {
                section,
                key: key.to_owned(),
                head: head.to_owned(),
                body: String::new(),
            });
            open = true;
        } else if line.starts_with(".It") || line.starts_with(".El") {
            open = false;
        } else if let (true, Some(item)) = (open, items.last_mut()) {
            item.body.push_str(line);
            item.body.push('\n');
        }
    }
    items
}

#[test]
fn man_page_documents_exactly_the_keys_the_parser_accepts() {
    let man = read("man/msrpgw.toml.5");
    let items = man_items(&man);
    let documented: BTreeSet<(String, String)> = items
        .iter()
        .map(|i| (i.section.clone(), i.key.clone()))
        .collect();
    assert_eq!(documented.len(), items.len(), "a key is documented twice");
    let accepted = parser_keys();
    let undocumented: Vec<_> = accepted.difference(&documented).collect();
    let unknown: Vec<_> = documented.difference(&accepted).collect();
    assert!(
        undocumented.is_empty(),
        "accepted but not in msrpgw.toml(5): {undocumented:?}"
    );
    assert!(
        unknown.is_empty(),
        "in msrpgw.toml(5) but unknown to the parser: {unknown:?}"
    );
    let sections: BTreeSet<String> = documented.iter().map(|(s, _)| s.clone()).collect();
    let expected: BTreeSet<String> = SECTIONS.iter().map(|(s, _)| (*s).to_owned()).collect();
    assert_eq!(sections, expected);
}

#[test]
fn man_page_states_each_default_range_and_example_the_parser_uses() {
    let man = read("man/msrpgw.toml.5").replace("\\(dq", "\"");
    let items = man_items(&man);
    for k in KEYS {
        let item = items
            .iter()
            .find(|i| i.section == k.section && i.key == k.name)
            .unwrap_or_else(|| panic!("{} not documented", k.path()));
        let (head, body) = (&item.head, item.body.replace('\n', " "));
        match k.default_toml() {
            Some(d) => assert!(
                head.contains(&format!("default {d}")),
                "{}: {head}",
                k.path()
            ),
            None if k.required => assert!(head.contains("required"), "{}: {head}", k.path()),
            None => assert!(head.contains("no default"), "{}: {head}", k.path()),
        }
        if let Kind::Integer { min, max, .. } = k.kind {
            assert!(
                body.contains(&format!("from {min} to {max}")),
                "{}: {body}",
                k.path()
            );
        }
        assert!(
            body.contains(&format!(".Dl {} = ", k.name)),
            "{}: no example",
            k.path()
        );
    }
}

/// (section, key) of every `key = ...` line of the example, commented out or
/// not, under the `[section]` line (also commented out or not) before it.
fn example_keys(example: &str) -> BTreeSet<(String, String)> {
    let mut section = String::new();
    let mut keys = BTreeSet::new();
    for line in example.lines() {
        let line = line.trim_start_matches('#').trim();
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.to_owned();
        } else if let Some((key, _)) = line.split_once(" = ") {
            let is_key = key.starts_with(|c: char| c.is_ascii_lowercase())
                && key
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if is_key {
                keys.insert((section.clone(), key.to_owned()));
            }
        }
    }
    keys
}

#[test]
fn example_shows_exactly_the_keys_the_parser_accepts() {
    let shown = example_keys(&read("conf/msrpgw.toml"));
    let accepted = parser_keys();
    let missing: Vec<_> = accepted.difference(&shown).collect();
    let unknown: Vec<_> = shown.difference(&accepted).collect();
    assert!(
        missing.is_empty(),
        "not shown in conf/msrpgw.toml: {missing:?}"
    );
    assert!(
        unknown.is_empty(),
        "in conf/msrpgw.toml but unknown to the parser: {unknown:?}"
    );
}

#[test]
fn example_with_every_commented_key_enabled_is_valid() {
    // Uncommenting every optional key (and [tls], with files that exist)
    // must give a valid file: the examples in the comments are real values.
    let dir = temp_file("uncommented", "").parent().unwrap().to_path_buf();
    std::fs::write(dir.join("cert.pem"), "x").unwrap();
    std::fs::write(dir.join("key.pem"), "x").unwrap();
    let text: String = read("conf/msrpgw.toml")
        .lines()
        .map(|l| match l.strip_prefix("# ") {
            Some(rest) if rest.starts_with('[') || rest.contains(" = ") => format!("{rest}\n"),
            _ => format!("{l}\n"),
        })
        .collect::<String>()
        .replace("/etc/msrpgw/tls/cert.pem", "cert.pem")
        .replace("/etc/msrpgw/tls/key.pem", "key.pem");
    let path = dir.join("msrpgw.toml");
    std::fs::write(&path, &text).unwrap();
    let (c, w) = Config::load(&path).unwrap_or_else(|d| panic!("{text}\n{d:#?}"));
    assert!(w.is_empty(), "{w:#?}");
    assert!(c.msrp.relay.is_some() && c.routing.pager_next_hop.is_some() && c.tls.is_some());
}

// ---------------------------------------------------------------------------
// The executable

#[test]
fn check_config_accepts_the_example_silently() {
    let o = msrpgw(&[
        "--check-config",
        repo_file("conf/msrpgw.toml").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stderr(&o), "");
}

const BAD: &str = r#"[sip]
listen = ["udp:127.0.0.1:5060", "udp:127.0.0.1:5060"]
t1_ms = 0
advertised_host = "gw_1"

[msrp]
listen = ["tcp:127.0.0.1:2855"]
relay = "msrp://relay.example.net/s1;tcp"
chunk_size = 99999

[gateway]
idle_timeout_secs = 0

[log]
level = "loud"
"#;

#[test]
fn check_config_prints_every_error_with_its_position_and_exits_1() {
    let path = temp_file("bad", BAD);
    let p = path.to_str().unwrap();
    let o = msrpgw(&["--check-config", p]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    let lines: Vec<&str> = err.lines().collect();
    let positions: Vec<(&str, &str)> = lines
        .iter()
        .map(|l| {
            let rest = l
                .strip_prefix(p)
                .and_then(|r| r.strip_prefix(':'))
                .unwrap_or_else(|| panic!("no PATH: prefix: {l}"));
            let mut parts = rest.splitn(3, ':');
            let line = parts.next().unwrap();
            let col = parts.next().unwrap();
            assert!(
                line.parse::<u32>().is_ok() && col.parse::<u32>().is_ok(),
                "{l}"
            );
            let severity = parts.next().unwrap().trim_start();
            (line, severity.split(':').next().unwrap())
        })
        .collect();
    assert_eq!(
        positions,
        [
            ("2", "error"),    // duplicate listener
            ("3", "error"),    // t1_ms out of range
            ("4", "error"),    // advertised_host
            ("8", "error"),    // relay with a session-id
            ("9", "error"),    // chunk_size out of range
            ("12", "warning"), // idle_timeout_secs = 0
            ("15", "error"),   // log level
        ],
        "{err}"
    );
    assert!(
        lines[0].starts_with(&format!("{p}:2:33: error: sip.listen[1]: UDP address")),
        "{err}"
    );
    assert!(
        lines[2].starts_with(&format!(
            "{p}:4:22: error: sip.advertised_host: found \"gw_1\""
        )),
        "{err}"
    );
}

#[test]
fn check_config_exits_0_with_only_warnings() {
    let text =
        "[sip]\nlisten = [\"udp:0.0.0.0:5060\"]\n[msrp]\nlisten = [\"tcp:127.0.0.1:2855\"]\n";
    let path = temp_file("warn", text);
    let p = path.to_str().unwrap();
    let o = msrpgw(&["--check-config", p]);
    assert_eq!(o.status.code(), Some(0));
    assert!(
        stderr(&o).starts_with(&format!("{p}:2:11: warning: sip.listen[0]: binds 0.0.0.0")),
        "{}",
        stderr(&o)
    );
}

#[test]
fn check_config_reports_a_syntax_error_alone() {
    let path = temp_file(
        "syntax",
        "[sip]\nlisten = [\"udp:127.0.0.1:5060\"\n[msrp]\n",
    );
    let p = path.to_str().unwrap();
    let o = msrpgw(&["--check-config", p]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(&format!("{p}:3:1: error: invalid TOML: ")),
        "{err}"
    );
}

#[test]
fn check_config_reports_a_missing_file() {
    let o = msrpgw(&["--check-config", "/nonexistent/msrpgw.toml"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o)
            .starts_with("/nonexistent/msrpgw.toml: error: cannot read the configuration file"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn config_with_a_bad_file_prints_the_errors_and_exits_1() {
    let path = temp_file("bad-run", BAD);
    let o = msrpgw(&["--config", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stderr(&o).lines().count(), 7, "{}", stderr(&o));
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &[][..],
        &["--check-config"][..],
        &["--config"][..],
        &["--frobnicate"][..],
        &["--check-config", "a", "b"][..],
        &["--version", "--help"][..],
    ] {
        let o = msrpgw(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(
            stderr(&o).starts_with("usage: msrpgw --config PATH"),
            "{args:?}"
        );
    }
    let o = msrpgw(&["--version"]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        format!("msrpgw {}\n", env!("CARGO_PKG_VERSION"))
    );
    let o = msrpgw(&["--help"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stdout).contains("msrpgw.toml(5)"));
}
