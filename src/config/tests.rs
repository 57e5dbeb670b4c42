//! Known-answer tests for every key's rules, positions of diagnostics, and
//! the file-system checks of `Config::load`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::*;

const FILE: &str = "/etc/msrpgw/msrpgw.toml";

/// A valid file with `sip`, `msrp` and `rest` appended to the `[sip]`,
/// `[msrp]` sections and the end.
fn cfg(sip: &str, msrp: &str, rest: &str) -> String {
    format!(
        "[sip]\nlisten = [\"udp:127.0.0.1:5060\"]\n{sip}\n[msrp]\nlisten = \
         [\"tcp:127.0.0.1:2855\"]\n{msrp}\n{rest}"
    )
}

/// 1-based line and column of the first occurrence of `needle` in `text`,
/// plus `skip` characters.
fn pos(text: &str, needle: &str, skip: u32) -> (u32, u32) {
    let at = text
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} not in {text}"));
    let before = &text[..at];
    let line = 1 + before.matches('\n').count() as u32;
    let col = 1 + before.rsplit('\n').next().unwrap().chars().count() as u32;
    (line, col + skip)
}

fn ok(text: &str) -> (Config, Vec<Diagnostic>) {
    match Config::from_toml(text, FILE) {
        Ok(r) => r,
        Err(d) => panic!("unexpected errors in\n{text}\n{}", show(&d)),
    }
}

fn ok_quiet(text: &str) -> Config {
    let (c, w) = ok(text);
    assert!(w.is_empty(), "unexpected warnings: {}", show(&w));
    c
}

fn show(d: &[Diagnostic]) -> String {
    d.iter().map(|d| format!("{d}\n")).collect()
}

/// Every diagnostic, as (line, column, severity, message).
fn diags(text: &str) -> Vec<(u32, u32, Severity, String)> {
    let d = match Config::from_toml(text, FILE) {
        Ok((_, w)) => w,
        Err(d) => d,
    };
    d.into_iter()
        .map(|d| (d.line, d.column, d.severity, d.message))
        .collect()
}

/// The only diagnostic of `text`, which must be an error.
fn one_error(text: &str) -> ((u32, u32), String) {
    let d = diags(text);
    assert_eq!(
        d.len(),
        1,
        "expected one diagnostic for\n{text}\ngot {d:#?}"
    );
    let (l, c, s, m) = d.into_iter().next().unwrap();
    assert_eq!(s, Severity::Error, "{m}");
    ((l, c), m)
}

/// The only diagnostic of `text`, which must be a warning (the config is
/// still usable).
fn one_warning(text: &str) -> ((u32, u32), String) {
    let (_, w) = ok(text);
    assert_eq!(w.len(), 1, "{}", show(&w));
    assert_eq!(w[0].severity, Severity::Warning);
    ((w[0].line, w[0].column), w[0].message.clone())
}

fn listen(transport: Transport, addr: &str) -> ListenSpec {
    ListenSpec {
        transport,
        addr: addr.parse().unwrap(),
    }
}

// ---------------------------------------------------------------------------
// Whole files

#[test]
fn minimal_file_gives_every_default() {
    let c = ok_quiet(&cfg("", "", ""));
    assert_eq!(c.sip.listen, [listen(Transport::Udp, "127.0.0.1:5060")]);
    assert_eq!(c.sip.advertised_host, None);
    assert_eq!(c.sip.max_message_bytes, 65536);
    assert_eq!(c.sip.max_connections, 1024);
    assert_eq!(c.sip.t1, Duration::from_millis(500));
    assert_eq!(c.sip.t2, Duration::from_millis(4000));
    assert_eq!(c.sip.t4, Duration::from_millis(5000));
    assert_eq!(c.msrp.listen, [listen(Transport::Tcp, "127.0.0.1:2855")]);
    assert_eq!(c.msrp.advertised_host, None);
    assert_eq!(c.msrp.max_message_bytes, 1_048_576);
    assert_eq!(c.msrp.chunk_size, 2048);
    assert_eq!(c.msrp.accept_types, ["text/plain"]);
    assert_eq!(c.msrp.transaction_timeout, Duration::from_secs(30));
    assert_eq!(c.msrp.max_connections, 10000);
    assert_eq!(c.msrp.relay, None);
    assert_eq!(c.routing, RoutingConfig::default());
    assert_eq!(c.gateway.idle_timeout, Duration::from_secs(300));
    assert_eq!(c.gateway.max_sessions, 10000);
    assert_eq!(c.gateway.session_queue_depth, 32);
    assert_eq!(c.gateway.shutdown_grace, Duration::from_secs(5));
    assert_eq!(c.tls, None);
    assert_eq!(c.status, None);
    assert_eq!(c.log.level, log::LevelFilter::Info);
}

#[test]
fn every_key_set() {
    let text = r#"
[sip]
listen = ["udp:0.0.0.0:5060", "tcp:[::]:5060", "tls:192.0.2.1:5061"]
advertised_host = "gw.example.net"
max_message_bytes = 1024
max_connections = 7
max_transactions = 2048
t1_ms = 100
t2_ms = 100
t4_ms = 60000

[msrp]
listen = ["tcp:[2001:db8::1]:2855", "tls:192.0.2.1:2856"]
advertised_host = "[2001:db8::1]"
max_message_bytes = 10
chunk_size = 10240
accept_types = ["text/plain", "text/html", "image/*", "*"]
transaction_timeout_secs = 3600
max_connections = 1
relay = "msrps://relay.example.net:2855;tcp"
relay_username = "gw"
relay_password = "s3cret"

[routing]
session_next_hop = "sip:127.0.0.1:5070;transport=tcp"
pager_next_hop = "sips:proxy.example.net;transport=TLS;lr"

[gateway]
idle_timeout_secs = 31536000
max_sessions = 1000000
session_queue_depth = 65536
shutdown_grace_secs = 0

[tls]
certificate = "tls/cert.pem"
private_key = "/abs/key.pem"

[status]
listen = "[::1]:9090"

[log]
level = "trace"
"#;
    let c = ok_quiet(text);
    assert_eq!(
        c.sip.listen,
        [
            listen(Transport::Udp, "0.0.0.0:5060"),
            listen(Transport::Tcp, "[::]:5060"),
            listen(Transport::Tls, "192.0.2.1:5061"),
        ]
    );
    assert_eq!(
        c.sip.advertised_host,
        Some(Host::Name("gw.example.net".into()))
    );
    assert_eq!(
        c.sip.host_for(&c.sip.listen[0]).to_string(),
        "gw.example.net"
    );
    assert_eq!(c.sip.max_message_bytes, 1024);
    assert_eq!(c.sip.max_connections, 7);
    assert_eq!(c.sip.max_transactions, 2048);
    assert_eq!(
        (c.sip.t1, c.sip.t2),
        (Duration::from_millis(100), Duration::from_millis(100))
    );
    assert_eq!(c.sip.t4, Duration::from_secs(60));
    let v6: Ipv6Addr = "2001:db8::1".parse().unwrap();
    assert_eq!(c.msrp.advertised_host, Some(Host::Ip(IpAddr::V6(v6))));
    assert_eq!(
        c.msrp.host_for(&c.msrp.listen[1]).to_string(),
        "[2001:db8::1]"
    );
    assert_eq!(c.msrp.max_message_bytes, 10);
    assert_eq!(c.msrp.chunk_size, 10240);
    assert_eq!(
        c.msrp.accept_types,
        ["text/plain", "text/html", "image/*", "*"]
    );
    assert_eq!(c.msrp.transaction_timeout, Duration::from_secs(3600));
    assert_eq!(c.msrp.max_connections, 1);
    let relay = c.msrp.relay.as_ref().unwrap();
    assert_eq!(relay.uri.to_string(), "msrps://relay.example.net:2855;tcp");
    let creds = relay.credentials.as_ref().unwrap();
    assert_eq!(
        (creds.username.as_str(), creds.password.as_str()),
        ("gw", "s3cret")
    );
    assert!(
        !format!("{c:?}").contains("s3cret"),
        "Debug must not show the password"
    );
    let hop = c.routing.session_next_hop.as_ref().unwrap();
    assert_eq!(
        (hop.host.as_ref(), hop.port, hop.transport()),
        ("127.0.0.1", Some(5070), Some("tcp"))
    );
    let hop = c.routing.pager_next_hop.as_ref().unwrap();
    assert_eq!(hop.scheme, crate::proto::sip::uri::Scheme::Sips);
    assert_eq!(c.gateway.idle_timeout, Duration::from_secs(31_536_000));
    assert_eq!(c.gateway.max_sessions, 1_000_000);
    assert_eq!(c.gateway.session_queue_depth, 65536);
    assert_eq!(c.gateway.shutdown_grace, Duration::ZERO);
    let tls = c.tls.unwrap();
    assert_eq!(tls.certificate, Path::new("/etc/msrpgw/tls/cert.pem"));
    assert_eq!(tls.private_key, Path::new("/abs/key.pem"));
    assert_eq!(
        c.status.unwrap().listen,
        "[::1]:9090".parse::<SocketAddr>().unwrap()
    );
    assert_eq!(c.log.level, log::LevelFilter::Trace);
}

#[test]
fn five_mistakes_are_all_reported_at_once_in_file_order() {
    let text = r#"[sip]
listen = ["udp:127.0.0.1:5060", "sctp:127.0.0.1:5060"]
t1_ms = "500"
[msrp]
listen = ["tcp:127.0.0.1:2855"]
chunk_size = 20000
colour = "blue"
[log]
level = "verbose"
"#;
    let d = diags(text);
    let got: Vec<_> = d.iter().map(|(l, c, s, _)| (*l, *c, *s)).collect();
    assert_eq!(
        got,
        [
            (2, 34, Severity::Error),
            (3, 9, Severity::Error),
            (6, 14, Severity::Error),
            (7, 1, Severity::Error),
            (9, 9, Severity::Error),
        ],
        "{d:#?}"
    );
    assert!(
        d[0].3
            .starts_with("sip.listen[1]: found \"sctp:127.0.0.1:5060\"; expected")
    );
    assert!(d[0].3.contains("unknown transport \"sctp\""), "{}", d[0].3);
    assert_eq!(
        d[1].3,
        "sip.t1_ms: found a string; expected an integer from 1 to 60000"
    );
    assert_eq!(
        d[2].3,
        "msrp.chunk_size: found 20000; expected an integer from 1 to 10240"
    );
    assert!(
        d[3].3
            .starts_with("unknown key `colour` in [msrp]; expected one of: listen, ")
    );
    assert_eq!(
        d[4].3,
        "log.level: found \"verbose\"; expected one of \"error\", \"warn\", \"info\", \"debug\", \"trace\""
    );
}

#[test]
fn a_syntax_error_is_reported_alone() {
    let text = "[sip]\nlisten = 5\n[msrp]\nlisten = [\"tcp:127.0.0.1:1\"\nx = 1\n";
    let (at, m) = one_error(text);
    assert_eq!(at, (5, 1));
    assert_eq!(m, "invalid TOML: invalid array; expected `]`");
    let (at, m) = one_error("[sip]\nlisten = [\"udp:127.0.0.1:1\"]\n[sip]\n");
    assert_eq!(at.0, 3);
    assert!(m.starts_with("invalid TOML: "), "{m}");
}

#[test]
fn diagnostic_display() {
    let d = Config::from_toml("[sip]\n", "conf/x.toml").unwrap_err();
    let lines: Vec<String> = d.iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        [
            "conf/x.toml:1:1: error: missing section [msrp]; it is required (with `listen`)",
            "conf/x.toml:1:2: error: [sip] has no `listen`, which is required",
        ]
    );
    let whole = Diagnostic::whole_file(Severity::Warning, Path::new("f"), "m".into());
    assert_eq!(whole.to_string(), "f: warning: m");
}

#[test]
fn never_panics_on_any_prefix_of_a_full_file() {
    let text = include_str!("../../conf/msrpgw.toml");
    let mut cut = 0;
    while cut <= text.len() {
        if text.is_char_boundary(cut) {
            let _ = Config::from_toml(&text[..cut], FILE);
        }
        cut += 1;
    }
}

#[test]
fn default_for_tests_is_what_the_parser_gives() {
    let text = "[sip]\nlisten = [\"udp:127.0.0.1:0\", \"tcp:127.0.0.1:0\"]\n[msrp]\nlisten = \
                [\"tcp:127.0.0.1:0\"]\n";
    assert_eq!(Config::default_for_tests(), ok_quiet(text));
}

// ---------------------------------------------------------------------------
// Structure

#[test]
fn unknown_sections_and_keys() {
    let text = cfg("", "", "[sipp]\nx = 1\n");
    let (at, m) = one_error(&text);
    assert_eq!(at, pos(&text, "sipp", 0));
    assert!(m.starts_with("unknown section [sipp]; expected one of [sip], [msrp], [routing]"));

    let text = cfg("chunk_size = 5", "", "");
    let (at, m) = one_error(&text);
    assert_eq!(at, (3, 1));
    assert_eq!(m, "unknown key `chunk_size` in [sip]; it belongs in [msrp]");

    let text = cfg("", "", "[gateway]\nidle_timeout = 5\n");
    let (at, m) = one_error(&text);
    assert_eq!(at, pos(&text, "idle_timeout =", 0));
    assert_eq!(
        m,
        "unknown key `idle_timeout` in [gateway]; expected one of: idle_timeout_secs, \
         max_sessions, session_queue_depth, shutdown_grace_secs"
    );

    // A nested table is a key of its section too.
    let text = cfg("", "", "[sip.extra]\nx = 1\n");
    let (_, m) = one_error(&text);
    assert!(m.starts_with("unknown key `extra` in [sip]"), "{m}");
}

#[test]
fn sections_must_be_tables() {
    let text = format!("log = 3\n{}", cfg("", "", ""));
    let (at, m) = one_error(&text);
    assert_eq!(at, (1, 1));
    assert_eq!(m, "`log`: found an integer; expected a table ([log])");
    // Inline tables are tables.
    let text = format!("log = {{ level = \"warn\" }}\n{}", cfg("", "", ""));
    assert_eq!(ok_quiet(&text).log.level, log::LevelFilter::Warn);
}

#[test]
fn required_sections_and_keys() {
    let d = diags("");
    let msgs: Vec<_> = d.iter().map(|(l, c, _, m)| (*l, *c, m.as_str())).collect();
    assert_eq!(
        msgs,
        [
            (
                1,
                1,
                "missing section [sip]; it is required (with `listen`)"
            ),
            (
                1,
                1,
                "missing section [msrp]; it is required (with `listen`)"
            ),
        ]
    );
    let text = "[sip]\nlisten = [\"udp:127.0.0.1:1\"]\n\n[msrp]\nmax_connections = 5\n";
    let (at, m) = one_error(text);
    assert_eq!(at, (4, 2));
    assert_eq!(m, "[msrp] has no `listen`, which is required");
}

// ---------------------------------------------------------------------------
// Integers, driven by the key table

#[test]
fn every_integer_key_checks_type_and_range() {
    for k in KEYS {
        let Kind::Integer { min, max, default } = k.kind else {
            continue;
        };
        let at = |value: &str| {
            // Keep T1 <= T2 (a rule of its own, tested below) whatever the
            // value under test.
            let line = match k.name {
                "t1_ms" => format!("t1_ms = {value}\nt2_ms = 60000"),
                "t2_ms" => format!("t1_ms = 1\nt2_ms = {value}"),
                name => format!("{name} = {value}"),
            };
            match k.section {
                "sip" => cfg(&line, "", ""),
                "msrp" => cfg("", &line, ""),
                s => cfg("", "", &format!("[{s}]\n{line}\n")),
            }
        };
        for good in [min, max, default] {
            let text = at(&good.to_string());
            let d = diags(&text);
            assert!(
                d.iter().all(|(_, _, s, _)| *s == Severity::Warning),
                "{text}\n{d:?}"
            );
        }
        let mut bad = vec![
            (
                max.saturating_add(1).to_string(),
                format!("found {}", max.saturating_add(1)),
            ),
            ("\"1\"".to_owned(), "found a string".to_owned()),
            ("1.5".to_owned(), "found a float".to_owned()),
            ("true".to_owned(), "found a boolean".to_owned()),
            ("[1]".to_owned(), "found an array".to_owned()),
        ];
        if min > i64::MIN {
            bad.push(((min - 1).to_string(), format!("found {}", min - 1)));
        }
        for (value, found) in bad {
            let text = at(&value);
            let (p, m) = one_error(&text);
            assert_eq!(
                p,
                pos(&text, &format!("{} = ", k.name), k.name.len() as u32 + 3)
            );
            assert_eq!(
                m,
                format!(
                    "{}: {found}; expected an integer from {min} to {max}",
                    k.path()
                )
            );
        }
    }
}

#[test]
fn t1_must_not_exceed_t2() {
    let c = ok_quiet(&cfg("t1_ms = 4000\nt2_ms = 4000", "", ""));
    assert_eq!(c.sip.t1, c.sip.t2);
    let text = cfg("t1_ms = 4001", "", "");
    let (at, m) = one_error(&text);
    assert_eq!(at, (3, 9));
    assert!(
        m.starts_with("sip.t1_ms: found 4001, more than sip.t2_ms (4000); expected t1_ms <= t2_ms")
    );
    // With t1 at its default, the position is t2's.
    let text = cfg("t2_ms = 499", "", "");
    let (at, _) = one_error(&text);
    assert_eq!(at, (3, 9));
    // A t1 that is already wrong is not compared.
    let text = cfg("t1_ms = 0\nt2_ms = 1", "", "");
    assert_eq!(diags(&text).len(), 1);
}

#[test]
fn idle_timeout_zero_is_a_warning() {
    let text = cfg("", "", "[gateway]\nidle_timeout_secs = 0\n");
    let (at, m) = one_warning(&text);
    assert_eq!(at, pos(&text, "= 0", 2));
    assert!(m.starts_with("gateway.idle_timeout_secs: 0 means sessions never idle out"));
    assert_eq!(ok(&text).0.gateway.idle_timeout, Duration::ZERO);
}

// ---------------------------------------------------------------------------
// Listeners and hosts

#[test]
fn sip_listen_forms() {
    let text = "[sip]\nlisten = [\"udp:[::1]:5060\", \"tcp:10.0.0.1:0\", \"tls:10.0.0.1:5061\"]\n\
                [msrp]\nlisten = [\"tcp:127.0.0.1:1\"]\n[tls]\ncertificate = \"c\"\nprivate_key = \"k\"\n";
    let c = ok_quiet(text);
    assert_eq!(c.sip.listen[0], listen(Transport::Udp, "[::1]:5060"));
    assert_eq!(c.sip.listen[0].to_string(), "udp:[::1]:5060");
    assert_eq!(c.sip.listen[1].addr.port(), 0);
    assert_eq!(
        c.sip.host_for(&c.sip.listen[0]),
        Host::Ip(IpAddr::V6(Ipv6Addr::LOCALHOST))
    );
}

#[test]
fn bad_listeners_point_into_the_string() {
    let expected = "expected \"udp:IP:PORT\", \"tcp:IP:PORT\" or \"tls:IP:PORT\"";
    for (entry, skip, problem) in [
        ("bogus", 1, "no transport before ':'"),
        ("UDP:127.0.0.1:1", 1, "unknown transport \"UDP\""),
        ("udp:::1:5060", 5, "\"::1:5060\" is not IP:PORT"),
        ("udp:127.0.0.1", 5, "\"127.0.0.1\" is not IP:PORT"),
        (
            "udp:127.0.0.1:65536",
            5,
            "\"127.0.0.1:65536\" is not IP:PORT",
        ),
        (
            "tcp:example.net:5060",
            5,
            "\"example.net:5060\" is not IP:PORT",
        ),
    ] {
        let text = format!(
            "[sip]\nlisten = [\"udp:127.0.0.1:5\", \"{entry}\"]\n[msrp]\nlisten = [\"tcp:127.0.0.1:2855\"]\n"
        );
        let (at, m) = one_error(&text);
        assert_eq!(at, pos(&text, &format!("\"{entry}\""), skip), "{entry}");
        assert!(
            m.starts_with(&format!(
                "sip.listen[1]: found \"{entry}\"; {expected} ({problem}"
            )),
            "{m}"
        );
    }
}

#[test]
fn msrp_listen_is_tcp_or_tls_only() {
    let text = cfg("", "", "").replace("tcp:127.0.0.1:2855", "udp:127.0.0.1:2855");
    let (at, m) = one_error(&text);
    assert_eq!(at, pos(&text, "\"udp:127.0.0.1:2855", 0));
    assert_eq!(
        m,
        "msrp.listen[0]: found \"udp:127.0.0.1:2855\"; expected \"tcp:IP:PORT\" or \
         \"tls:IP:PORT\" (MSRP does not run over UDP)"
    );
}

#[test]
fn listen_must_be_a_non_empty_array_of_strings() {
    let text = cfg("", "", "").replace("listen = [\"udp:127.0.0.1:5060\"]", "listen = []");
    let (at, m) = one_error(&text);
    assert_eq!(at, (2, 10));
    assert!(m.starts_with("sip.listen: found an empty array; expected at least one listener"));

    let text = cfg("", "", "").replace("[\"udp:127.0.0.1:5060\"]", "\"udp:127.0.0.1:5060\"");
    let (_, m) = one_error(&text);
    assert!(
        m.starts_with("sip.listen: found a string; expected an array of"),
        "{m}"
    );

    let text =
        cfg("", "", "").replace("[\"udp:127.0.0.1:5060\"]", "[\"udp:127.0.0.1:5060\", 5060]");
    let (at, m) = one_error(&text);
    assert_eq!(at, pos(&text, "5060]", 0));
    assert!(
        m.starts_with("sip.listen[1]: found an integer; expected listener strings"),
        "{m}"
    );
}

#[test]
fn listeners_must_not_collide() {
    // UDP and TCP on one port is normal for SIP; port 0 never collides.
    ok_quiet(&cfg("", "", "").replace(
        "[\"udp:127.0.0.1:5060\"]",
        "[\"udp:127.0.0.1:5060\", \"tcp:127.0.0.1:5060\", \"tcp:127.0.0.1:0\", \"tcp:127.0.0.1:0\"]",
    ));
    let cases = [
        (
            "[\"udp:127.0.0.1:5060\", \"udp:127.0.0.1:5060\"]",
            "sip.listen[1]: UDP address 127.0.0.1:5060 is already bound by sip.listen[0]",
        ),
        (
            "[\"udp:127.0.0.1:5060\", \"tcp:127.0.0.1:2855\"]",
            "msrp.listen[0]: TCP address 127.0.0.1:2855 is already bound by sip.listen[1]",
        ),
        (
            "[\"udp:127.0.0.1:5060\", \"tcp:0.0.0.0:2855\"]",
            "msrp.listen[0]: TCP address 127.0.0.1:2855 is already bound by sip.listen[1]",
        ),
    ];
    for (list, msg) in cases {
        let text =
            cfg("advertised_host = \"gw\"", "", "").replace("[\"udp:127.0.0.1:5060\"]", list);
        let (_, m) = one_error(&text);
        assert!(m.starts_with(msg), "{m}");
    }
    let text = cfg("", "", "[status]\nlisten = \"127.0.0.1:2855\"\n");
    let (at, m) = one_error(&text);
    assert_eq!(at, pos(&text, "\"127.0.0.1:2855\"\n", 0));
    assert!(m.starts_with(
        "status.listen: TCP address 127.0.0.1:2855 is already bound by msrp.listen[0]"
    ));
}

#[test]
fn advertised_host_forms() {
    for (value, host) in [
        ("gw.example.net", Host::Name("gw.example.net".into())),
        ("localhost", Host::Name("localhost".into())),
        ("a-1.b2.example", Host::Name("a-1.b2.example".into())),
        (
            "192.0.2.7",
            Host::Ip(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7))),
        ),
        ("::1", Host::Ip(IpAddr::V6(Ipv6Addr::LOCALHOST))),
        ("[::1]", Host::Ip(IpAddr::V6(Ipv6Addr::LOCALHOST))),
    ] {
        let c = ok_quiet(&cfg(&format!("advertised_host = \"{value}\""), "", ""));
        assert_eq!(c.sip.advertised_host, Some(host), "{value}");
    }
    let expected = "expected a host name or an IP address";
    for (value, skip, problem) in [
        ("gw_1.example.net", 3, "'_' is not allowed in a host name"),
        (
            "-gw.example.net",
            1,
            "label \"-gw\" starts or ends with '-'",
        ),
        ("gw..example", 4, "empty label"),
        (
            "192.0.2.300",
            9,
            "the last label \"300\" must start with a letter",
        ),
        ("[192.0.2.1]", 2, "not an IPv6 address between the brackets"),
        (
            "gw.example.net:5060",
            15,
            "':' is not allowed in a host name",
        ),
    ] {
        let text = cfg("", &format!("advertised_host = \"{value}\""), "");
        let (at, m) = one_error(&text);
        assert_eq!(at, pos(&text, &format!("\"{value}\""), skip), "{value}");
        assert!(
            m.starts_with(&format!(
                "msrp.advertised_host: found \"{value}\"; {expected} ({problem}"
            )),
            "{m}"
        );
    }
    let (_, m) = one_error(&cfg("advertised_host = \"\"", "", ""));
    assert_eq!(
        m,
        format!("sip.advertised_host: found an empty string; {expected}")
    );
    let (_, m) = one_error(&cfg("advertised_host = 5", "", ""));
    assert_eq!(
        m,
        format!("sip.advertised_host: found an integer; {expected}")
    );
}

#[test]
fn unspecified_listen_without_advertised_host_warns() {
    let text = cfg("", "", "").replace("udp:127.0.0.1:5060", "udp:0.0.0.0:5060");
    let (at, m) = one_warning(&text);
    assert_eq!(at, pos(&text, "\"udp:0.0.0.0", 0));
    assert_eq!(
        m,
        "sip.listen[0]: binds 0.0.0.0 and sip.advertised_host is not set; peers would be \
         given the unroutable address 0.0.0.0 (set sip.advertised_host)"
    );
    let text = cfg("", "", "").replace("tcp:127.0.0.1:2855", "tcp:[::]:2855");
    let (_, m) = one_warning(&text);
    assert!(m.contains("address [::] (set msrp.advertised_host)"), "{m}");
    let text = cfg("", "advertised_host = \"gw.example.net\"", "")
        .replace("tcp:127.0.0.1:2855", "tcp:[::]:2855");
    ok_quiet(&text);
}

// ---------------------------------------------------------------------------
// MSRP strings

#[test]
fn accept_types() {
    let c = ok_quiet(&cfg(
        "",
        "accept_types = [\"text/plain\", \"message/cpim\", \"*\"]",
        "",
    ));
    assert_eq!(c.msrp.accept_types, ["text/plain", "message/cpim", "*"]);
    let expected = "expected media types such as \"text/plain\", \"text/*\" or \"*\"";
    for (value, skip, problem) in [
        ("text", 1, "no '/' between type and subtype"),
        (
            "text/plain;charset=utf-8",
            11,
            "media type parameters are not supported",
        ),
        ("*/plain", 1, "\"*\" is not a media type name"),
        ("text/", 6, "\"\" is not a subtype name"),
        ("te xt/plain", 1, "\"te xt\" is not a media type name"),
    ] {
        let text = cfg("", &format!("accept_types = [\"{value}\"]"), "");
        let (at, m) = one_error(&text);
        assert_eq!(at, pos(&text, &format!("\"{value}\""), skip), "{value}");
        assert_eq!(
            m,
            format!("msrp.accept_types[0]: found \"{value}\"; {expected} ({problem})")
        );
    }
    let text = cfg("", "accept_types = [\"text/plain\", \"TEXT/plain\"]", "");
    let (_, m) = one_warning(&text);
    assert_eq!(m, "msrp.accept_types[1]: \"TEXT/plain\" is listed twice");
    let (_, m) = one_error(&cfg("", "accept_types = []", ""));
    assert!(m.starts_with("msrp.accept_types: found an empty array; expected at least one media"));
}

#[test]
fn relay_uri() {
    let c = ok_quiet(&cfg("", "relay = \"msrp://10.0.0.1;tcp\"", ""));
    let relay = c.msrp.relay.unwrap();
    assert_eq!(
        (relay.uri.host.as_ref(), relay.uri.port),
        ("10.0.0.1", None)
    );
    assert_eq!(relay.credentials, None);

    let text = cfg("", "relay = \"msrp://relay.example.net:2855/abc;tcp\"", "");
    let (at, m) = one_error(&text);
    assert_eq!(at, pos(&text, "\"msrp://", 0));
    assert!(m.starts_with(
        "msrp.relay: found \"msrp://relay.example.net:2855/abc;tcp\", which has a session-id"
    ));

    let text = cfg("", "relay = \"http://relay.example.net:2855;tcp\"", "");
    let (at, m) = one_error(&text);
    assert_eq!(at, pos(&text, "\"http://", 1));
    assert!(m.ends_with("(URI scheme is not msrp or msrps)"), "{m}");

    let text = cfg("", "relay = \"msrp://relay.example.net:2855;ws\"", "");
    let (_, m) = one_error(&text);
    assert!(
        m.starts_with("msrp.relay: found transport \"ws\"; expected \"tcp\""),
        "{m}"
    );

    let (_, m) = one_error(&cfg(
        "",
        "relay = \"msrp://relay.example.net:99999;tcp\"",
        "",
    ));
    assert!(m.ends_with("(invalid port in URI)"), "{m}");
}

#[test]
fn relay_credentials() {
    let relay = "relay = \"msrp://r.example.net;tcp\"";
    let text = cfg("", &format!("{relay}\nrelay_username = \"u\""), "");
    let (at, m) = one_error(&text);
    assert_eq!(at, pos(&text, "relay_username = ", 17));
    assert_eq!(
        m,
        "msrp.relay_username: set without msrp.relay_password; set both or neither"
    );

    let text = cfg("", &format!("{relay}\nrelay_password = \"p\""), "");
    let (_, m) = one_error(&text);
    assert_eq!(
        m,
        "msrp.relay_password: set without msrp.relay_username; set both or neither"
    );

    let text = cfg("", "relay_username = \"u\"\nrelay_password = \"p\"", "");
    let d = diags(&text);
    let msgs: Vec<_> = d.iter().map(|(_, _, _, m)| m.as_str()).collect();
    assert_eq!(
        msgs,
        [
            "msrp.relay_username: set without msrp.relay; it is only used to log in to a relay",
            "msrp.relay_password: set without msrp.relay; it is only used to log in to a relay",
        ]
    );
    // A relay that is wrong does not also make its credentials wrong.
    let text = cfg(
        "",
        "relay = 5\nrelay_username = \"u\"\nrelay_password = \"p\"",
        "",
    );
    assert_eq!(diags(&text).len(), 1);
}

// ---------------------------------------------------------------------------
// Routing, TLS, status, log

#[test]
fn next_hops() {
    for value in [
        "sip:127.0.0.1:5070",
        "sip:proxy.example.net;transport=udp",
        "sips:[2001:db8::1]:5061;transport=tls;lr",
        "sip:proxy.example.net;transport=TCP",
    ] {
        let c = ok_quiet(&cfg(
            "",
            "",
            &format!("[routing]\npager_next_hop = \"{value}\"\n"),
        ));
        assert_eq!(c.routing.pager_next_hop.unwrap().to_string(), value);
    }
    let expected = "expected a SIP URI such as \"sip:proxy.example.net:5060;transport=tcp\"";
    for (value, problem) in [
        ("tel:+15551234", "scheme \"tel\" is not sip or sips"),
        (
            "sip:p.example.net;transport=sctp",
            "transport \"sctp\" is not udp, tcp or tls",
        ),
        ("sip:p.example.net;transport", "transport has no value"),
        (
            "sips:p.example.net;transport=udp",
            "sips needs TLS, which transport=udp contradicts",
        ),
        (
            "sip:p.example.net?subject=x",
            "a next hop takes no ?headers",
        ),
        ("sip:", "URI without host"),
    ] {
        let text = cfg(
            "",
            "",
            &format!("[routing]\nsession_next_hop = \"{value}\"\n"),
        );
        let (at, m) = one_error(&text);
        assert_eq!(at.0, pos(&text, "session_next_hop", 0).0);
        assert_eq!(
            m,
            format!("routing.session_next_hop: found \"{value}\"; {expected} ({problem})")
        );
    }
    // A parse error points at the offending byte.
    let text = cfg(
        "",
        "",
        "[routing]\nsession_next_hop = \"sip:p.example.net:50x0\"\n",
    );
    let (at, m) = one_error(&text);
    assert_eq!(at, pos(&text, "x0\"", 0));
    assert!(m.ends_with("(invalid port in URI)"), "{m}");
}

#[test]
fn tls_listener_needs_tls_section() {
    let text = cfg("", "", "").replace("tcp:127.0.0.1:2855", "tls:127.0.0.1:2855");
    let (at, m) = one_error(&text);
    assert_eq!(at, pos(&text, "\"tls:", 0));
    assert_eq!(
        m,
        "msrp.listen[0]: a tls: listener needs a [tls] section with certificate and private_key"
    );
    let text = cfg("", "", "[tls]\ncertificate = \"c.pem\"\n");
    let (at, m) = one_error(&text);
    assert_eq!(at, pos(&text, "tls]", 0));
    assert_eq!(m, "[tls] has no `private_key`, which is required");
    let (_, m) = one_error(&cfg(
        "",
        "",
        "[tls]\ncertificate = \"\"\nprivate_key = \"k\"\n",
    ));
    assert_eq!(
        m,
        "tls.certificate: found an empty string; expected the path of a PEM file"
    );
}

#[test]
fn tls_paths_are_relative_to_the_config_file() {
    let text = cfg(
        "",
        "",
        "[tls]\ncertificate = \"c.pem\"\nprivate_key = \"../k.pem\"\n",
    );
    let (c, _) = Config::from_toml(&text, "/etc/msrpgw/msrpgw.toml").unwrap();
    let tls = c.tls.unwrap();
    assert_eq!(tls.certificate, PathBuf::from("/etc/msrpgw/c.pem"));
    assert_eq!(tls.private_key, PathBuf::from("/etc/msrpgw/../k.pem"));
    let (c, _) = Config::from_toml(&text, "msrpgw.toml").unwrap();
    assert_eq!(c.tls.unwrap().certificate, PathBuf::from("c.pem"));
}

#[test]
fn status_listen() {
    let c = ok_quiet(&cfg("", "", "[status]\nlisten = \"127.0.0.1:9090\"\n"));
    assert_eq!(
        c.status.unwrap().listen,
        SocketAddr::from(([127, 0, 0, 1], 9090))
    );
    assert_eq!(ok_quiet(&cfg("", "", "[status]\n")).status, None);
    for value in [
        "\"localhost:9090\"",
        "\"127.0.0.1\"",
        "\"tcp:127.0.0.1:9090\"",
        "9090",
    ] {
        let text = cfg("", "", &format!("[status]\nlisten = {value}\n"));
        let (at, m) = one_error(&text);
        assert_eq!(at, pos(&text, &format!("= {value}"), 2));
        assert!(m.starts_with("status.listen: found "), "{m}");
        assert!(
            m.ends_with("expected IP:PORT such as \"127.0.0.1:9090\" or \"[::1]:9090\""),
            "{m}"
        );
    }
}

#[test]
fn log_levels() {
    for (name, level) in [
        ("error", log::LevelFilter::Error),
        ("warn", log::LevelFilter::Warn),
        ("info", log::LevelFilter::Info),
        ("debug", log::LevelFilter::Debug),
        ("trace", log::LevelFilter::Trace),
    ] {
        let c = ok_quiet(&cfg("", "", &format!("[log]\nlevel = \"{name}\"\n")));
        assert_eq!(c.log.level, level);
    }
    let (_, m) = one_error(&cfg("", "", "[log]\nlevel = \"INFO\"\n"));
    assert!(
        m.starts_with("log.level: found \"INFO\"; expected one of \"error\""),
        "{m}"
    );
    let (_, m) = one_error(&cfg("", "", "[log]\nlevel = 3\n"));
    assert!(
        m.starts_with("log.level: found an integer; expected one of"),
        "{m}"
    );
}

// ---------------------------------------------------------------------------
// Config::load

/// A file in a fresh directory under the system's temporary directory.
fn temp_file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("msrpgw-config-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("msrpgw.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn load_reports_an_unreadable_file() {
    let d = Config::load("/nonexistent/msrpgw.toml").unwrap_err();
    assert_eq!(d.len(), 1);
    assert_eq!((d[0].line, d[0].column), (0, 0));
    assert!(
        d[0].to_string()
            .starts_with("/nonexistent/msrpgw.toml: error: cannot read the configuration file: "),
        "{}",
        d[0]
    );
}

#[cfg(unix)]
#[test]
fn load_warns_about_a_world_writable_file() {
    use std::os::unix::fs::PermissionsExt;
    let path = temp_file("ww", &cfg("", "", ""));
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o646)).unwrap();
    let (_, w) = Config::load(&path).unwrap();
    assert_eq!(w.len(), 1, "{}", show(&w));
    assert!(
        w[0].message
            .starts_with("the file is world-writable (mode 646)"),
        "{}",
        w[0]
    );
    // Also when the file has errors: the warning comes first.
    std::fs::write(&path, "[sip]\n").unwrap();
    let d = Config::load(&path).unwrap_err();
    assert_eq!(d[0].severity, Severity::Warning);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert!(Config::load(&path).unwrap_err()[0].is_error());
}

#[test]
fn load_warns_about_unreadable_tls_files_only_when_a_listener_needs_them() {
    let tls = "[tls]\ncertificate = \"cert.pem\"\nprivate_key = \"key.pem\"\n";
    let text = cfg("", "", tls).replace("tcp:127.0.0.1:2855", "tls:127.0.0.1:2855");
    let path = temp_file("tls", &text);
    let (c, w) = Config::load(&path).unwrap();
    assert_eq!(
        c.tls.as_ref().unwrap().certificate,
        path.with_file_name("cert.pem")
    );
    let got: Vec<_> = w.iter().map(|d| (d.line, d.column)).collect();
    assert_eq!(
        got,
        [pos(&text, "\"cert.pem", 0), pos(&text, "\"key.pem", 0)]
    );
    assert!(
        w[0].message.starts_with("tls.certificate: cannot read "),
        "{}",
        w[0]
    );
    assert!(
        w[1].message.starts_with("tls.private_key: cannot read "),
        "{}",
        w[1]
    );

    std::fs::write(path.with_file_name("cert.pem"), "x").unwrap();
    std::fs::write(path.with_file_name("key.pem"), "x").unwrap();
    let (_, w) = Config::load(&path).unwrap();
    assert!(w.is_empty(), "{}", show(&w));

    let path = temp_file("tls-unused", &cfg("", "", tls));
    let (_, w) = Config::load(&path).unwrap();
    assert!(w.is_empty(), "{}", show(&w));
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    for text in [
        format!(
            "[sip]\nlisten = {}{}\n",
            "[".repeat(100_000),
            "]".repeat(100_000)
        ),
        format!(
            "[sip]\nx = {}1{}\n",
            "{a=".repeat(100_000),
            "}".repeat(100_000)
        ),
    ] {
        let (at, m) = one_error(&text);
        assert_eq!(at.0, 2);
        assert_eq!(m, "invalid TOML: recursion limit exceeded");
    }
}
