//! Corpus and round-trip tests for the sdp codec: one test per file of
//! tests/fixtures/corpus/sdp, each checking the columns of its INDEX.tsv row
//! (m=, c=, a=path, a=accept-types, a=accept-wrapped-types, a=max-size,
//! a=setup, a=connection, other attributes verbatim and in order), that
//! parse(encode(sdp)) == sdp, and what the RFC says about the example.

use msrpgw::proto::sdp::{
    self, ConnectionMode, Direction, Line, MsrpUsageError, SessionDescription, Setup,
};

use crate::corpus;

const DIR: &str = "sdp";

/// Every file the tests below cover; `every_index_row_has_a_test` keeps
/// this list and INDEX.tsv in step.
const FILES: &[&str] = &[
    "draft-style-mline-cpim-tcp.sdp",
    "rfc4145-s7.1-answer-active.sdp",
    "rfc4145-s7.1-offer-passive.sdp",
    "rfc4145-s7.2-answer-passive.sdp",
    "rfc4145-s7.2-offer-actpass.sdp",
    "rfc4145-s7.3-answer-existing.sdp",
    "rfc4145-s7.3-offer-existing.sdp",
    "rfc4145-s7.4-answer-new.sdp",
    "rfc4145-s7.4-offer-existing.sdp",
    "rfc4975-s11.1-step1-offer.sdp",
    "rfc4975-s11.1-step2-answer.sdp",
    "rfc4975-s14.4-fig19-fingerprint-fragment.sdp",
    "rfc4975-s4-fig1-answer-fragment.sdp",
    "rfc4975-s4-fig1-offer-fragment.sdp",
    "rfc4975-s8.2-fig7-path.sdp",
    "rfc4975-s8.7-fig10-answer.sdp",
    "rfc4975-s8.7-fig9-offer.sdp",
    "rfc4976-s11-answer-fragment.sdp",
    "rfc4976-s11-offer-fragment.sdp",
    "rfc5547-s6-fig2-file-transfer.sdp",
    "rfc5547-s9.1-fig8-offer.sdp",
    "rfc5547-s9.1-fig9-answer.sdp",
    "rfc5547-s9.2-fig15-offer-request-file.sdp",
    "rfc5547-s9.2-fig16-answer.sdp",
    "rfc5547-s9.2-fig19-offer-second-transfer.sdp",
    "rfc5547-s9.2-fig20-answer.sdp",
    "rfc5547-s9.3-fig24-capability-max-size.sdp",
    "rfc7701-s9.1-F1-offer-chatroom.sdp",
    "rfc7701-s9.1-F2-answer-chatroom.sdp",
    "rfc7977-s8.2.1-answer.sdp",
    "rfc7977-s8.2.1-offer-ws.sdp",
    "rfc7977-s8.3.1-answer-ws.sdp",
    "rfc7977-s8.3.1-offer-ws.sdp",
    "rfc7977-s8.4.1-answer-relay.sdp",
    "rfc7977-s8.4.1-offer-ws.sdp",
];

/// INDEX.tsv columns.
struct Row {
    m_lines: String,
    c_line: String,
    path: String,
    accept_types: String,
    accept_wrapped_types: String,
    max_size: String,
    setup: String,
    connection: String,
    other_attributes: String,
}

fn row(file: &str) -> Row {
    let r = corpus::row(DIR, file);
    Row {
        m_lines: r[3].clone(),
        c_line: r[4].clone(),
        path: r[5].clone(),
        accept_types: r[6].clone(),
        accept_wrapped_types: r[7].clone(),
        max_size: r[8].clone(),
        setup: r[9].clone(),
        connection: r[10].clone(),
        other_attributes: r[11].clone(),
    }
}

fn join(v: Option<&[std::borrow::Cow<'_, str>]>) -> String {
    v.map(|v| v.join(" ")).unwrap_or_default()
}

/// Parses `file`, checks it against its INDEX.tsv row and the encoder round
/// trip, then hands the description to the per-file assertions.
fn check(file: &str, more: impl FnOnce(&SessionDescription<'_>)) {
    let bytes = corpus::read(DIR, file);
    let sdp = sdp::parse(&bytes).unwrap_or_else(|e| panic!("{file}: {e}"));
    let row = row(file);

    assert_eq!(sdp.media.len(), 1, "{file}: one m= line each");
    let m = &sdp.media[0];
    let mut m_line = format!("m={} {} {}", m.media.media, m.media.port, m.media.proto);
    for f in &m.media.formats {
        m_line.push(' ');
        m_line.push_str(f);
    }
    assert_eq!(m_line, row.m_lines, "{file}: m=");

    let c = sdp
        .effective_connection(m)
        .map(|c| format!("c={} {} {}", c.net_type, c.addr_type, c.address))
        .unwrap_or_default();
    assert_eq!(c, row.c_line, "{file}: c=");
    assert_eq!(join(m.path()), row.path, "{file}: a=path");
    // The INDEX keeps the RFC's stray space after "a=accept-types:".
    assert_eq!(
        join(m.accept_types()),
        row.accept_types.trim(),
        "{file}: a=accept-types"
    );
    assert_eq!(
        join(m.accept_wrapped_types()),
        row.accept_wrapped_types,
        "{file}: a=accept-wrapped-types"
    );
    assert_eq!(
        m.max_size().map(|n| n.to_string()).unwrap_or_default(),
        row.max_size,
        "{file}: a=max-size"
    );
    assert_eq!(
        m.setup().map(|s| s.as_str()).unwrap_or_default(),
        row.setup,
        "{file}: a=setup"
    );
    assert_eq!(
        m.connection_mode().map(|c| c.as_str()).unwrap_or_default(),
        row.connection,
        "{file}: a=connection"
    );

    // Other attributes: verbatim, and in the order the INDEX lists them.
    let written: Vec<String> = m
        .lines
        .iter()
        .filter_map(|l| match l {
            Line::Attribute(a) => Some(format!("a={a}")),
            _ => None,
        })
        .collect();
    let mut from = 0;
    for want in row.other_attributes.split(" ; ").filter(|s| !s.is_empty()) {
        let at = written[from..]
            .iter()
            .position(|w| w == want)
            .unwrap_or_else(|| panic!("{file}: {want} missing or out of order in {written:?}"));
        from += at + 1;
    }

    // Encoder round trip, and byte-exact re-encoding: every corpus file is
    // CRLF with no stray spaces except the RFC 4976 "a=accept-types: ".
    let encoded = sdp.to_bytes();
    assert_eq!(sdp::parse(&encoded).unwrap(), sdp, "{file}: round trip");
    if !row.accept_types.starts_with(' ') {
        assert_eq!(
            String::from_utf8_lossy(&encoded),
            String::from_utf8_lossy(&bytes),
            "{file}: re-encoding"
        );
    }
    assert_eq!(sdp.clone().into_owned(), sdp);
    more(&sdp);
}

fn usable(sdp: &SessionDescription<'_>, tls: bool) {
    let v = sdp.validate_msrp().expect("usable MSRP offer/answer");
    assert_eq!(v.index, 0);
    assert_eq!(v.tls, tls);
}

fn fragment(sdp: &SessionDescription<'_>) {
    assert_eq!(sdp.version(), None);
    assert!(sdp.origin().is_none());
    assert_eq!(sdp.session_name(), None);
    assert_eq!(sdp.timing(), None);
}

fn origin(sdp: &SessionDescription<'_>, user: &str, id: u64, version: u64, host: &str) {
    assert_eq!(sdp.version(), Some("0"));
    let o = sdp.origin().expect("o=");
    assert_eq!(o.username, user);
    assert_eq!(o.session_id, id);
    assert_eq!(o.session_version, version);
    assert_eq!(o.net_type, "IN");
    assert_eq!(o.addr_type, "IP4");
    assert_eq!(o.address, host);
}

/// RFC 4145 §7 fragments: `m=image ... TCP t38`, media-level c=, and not
/// usable as MSRP.
fn tcp_fragment(sdp: &SessionDescription<'_>, setup: Setup, conn: ConnectionMode) {
    fragment(sdp);
    assert!(sdp.connection().is_none(), "c= is media-level here");
    assert!(sdp.media[0].connection().is_some());
    assert_eq!(sdp.media[0].setup(), Some(setup));
    assert_eq!(sdp.media[0].connection_mode(), Some(conn));
    assert_eq!(
        sdp.validate_msrp().unwrap_err(),
        MsrpUsageError::NoMessageMedia
    );
}

// ---- RFC 4975 -------------------------------------------------------------

#[test]
fn sdp_rfc4975_s4_fig1_offer_fragment() {
    check("rfc4975-s4-fig1-offer-fragment.sdp", |sdp| {
        fragment(sdp);
        usable(sdp, false);
    });
}

#[test]
fn sdp_rfc4975_s4_fig1_answer_fragment() {
    check("rfc4975-s4-fig1-answer-fragment.sdp", |sdp| {
        fragment(sdp);
        usable(sdp, false);
    });
}

#[test]
fn sdp_rfc4975_s8_2_fig7_path() {
    check("rfc4975-s8.2-fig7-path.sdp", |sdp| {
        origin(sdp, "alice", 2890844526, 2890844527, "alice.example.com");
        assert_eq!(sdp.session_name(), Some(" -"));
        assert_eq!(sdp.timing().map(|t| (t.start, t.stop)), Some((0, 0)));
        usable(sdp, false);
        assert_eq!(sdp.effective_direction(&sdp.media[0]), Direction::SendRecv);
    });
}

#[test]
fn sdp_rfc4975_s8_7_fig9_offer() {
    check("rfc4975-s8.7-fig9-offer.sdp", |sdp| {
        origin(sdp, "usera", 2890844526, 2890844527, "alice.example.com");
        let v = sdp.validate_msrp().unwrap();
        assert_eq!(v.accept_types.len(), 3);
        assert_eq!(v.setup, None, "RFC 4975 default: the offerer connects");
    });
}

#[test]
fn sdp_rfc4975_s8_7_fig10_answer() {
    check("rfc4975-s8.7-fig10-answer.sdp", |sdp| {
        origin(sdp, "userb", 2890844530, 2890844532, "bob.example.com");
        usable(sdp, false);
    });
}

#[test]
fn sdp_rfc4975_s11_1_step1_offer() {
    check("rfc4975-s11.1-step1-offer.sdp", |sdp| {
        origin(sdp, "alice", 2890844557, 2890844559, "alicepc.example.com");
        usable(sdp, false);
    });
}

#[test]
fn sdp_rfc4975_s11_1_step2_answer() {
    check("rfc4975-s11.1-step2-answer.sdp", |sdp| {
        origin(sdp, "bob", 2890844612, 2890844616, "bob.example.com");
        usable(sdp, false);
    });
}

#[test]
fn sdp_rfc4975_s14_4_fig19_fingerprint_fragment() {
    check("rfc4975-s14.4-fig19-fingerprint-fragment.sdp", |sdp| {
        fragment(sdp);
        usable(sdp, true);
        assert_eq!(
            sdp.media[0].other_attribute("fingerprint"),
            Some(Some(
                "SHA-1 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB"
            ))
        );
    });
}

// ---- RFC 4976 -------------------------------------------------------------

#[test]
fn sdp_rfc4976_s11_offer_fragment() {
    check("rfc4976-s11-offer-fragment.sdp", |sdp| {
        fragment(sdp);
        usable(sdp, false);
    });
}

#[test]
fn sdp_rfc4976_s11_answer_fragment() {
    check("rfc4976-s11-answer-fragment.sdp", |sdp| {
        fragment(sdp);
        let v = sdp.validate_msrp().unwrap();
        assert!(v.tls);
        // Relay first, Bob's own URI last (RFC 4976 §11).
        assert_eq!(
            v.path,
            [
                "msrps://relay.example.com:9000/hjdhfha;tcp",
                "msrps://bob.example.com:1234/fuige;tcp"
            ]
        );
    });
}

// ---- RFC 5547 -------------------------------------------------------------

fn file_transfer(sdp: &SessionDescription<'_>, dir: Direction, transfer_id: &str) {
    assert_eq!(sdp.session_name(), Some(""), "RFC 5547 prints an empty s=");
    assert_eq!(sdp.effective_direction(&sdp.media[0]), dir);
    assert_eq!(
        sdp.media[0].other_attribute("file-transfer-id"),
        Some(Some(transfer_id))
    );
    usable(sdp, false);
}

#[test]
fn sdp_rfc5547_s6_fig2_file_transfer() {
    check("rfc5547-s6-fig2-file-transfer.sdp", |sdp| {
        origin(
            sdp,
            "alice",
            2890844526,
            2890844526,
            "host.atlanta.example.com",
        );
        file_transfer(sdp, Direction::SendOnly, "vBnG916bdberum2fFEABR1FR3ExZMUrd");
        // i= is a media-level line kept verbatim.
        assert!(sdp.media[0].lines.contains(&Line::Other {
            kind: b'i',
            value: "This is my latest picture".into()
        }));
        assert_eq!(
            sdp.media[0].other_attribute("file-range"),
            Some(Some("1-32349"))
        );
    });
}

#[test]
fn sdp_rfc5547_s9_1_fig8_offer() {
    check("rfc5547-s9.1-fig8-offer.sdp", |sdp| {
        file_transfer(sdp, Direction::SendOnly, "Q6LMoGymJdh0IKIgD6wD0jkcfgva4xvE");
        assert_eq!(
            sdp.media[0].other_attribute("file-disposition"),
            Some(Some("render"))
        );
    });
}

#[test]
fn sdp_rfc5547_s9_1_fig9_answer() {
    check("rfc5547-s9.1-fig9-answer.sdp", |sdp| {
        origin(sdp, "bob", 2890844656, 2890844656, "bobpc.example.com");
        file_transfer(sdp, Direction::RecvOnly, "Q6LMoGymJdh0IKIgD6wD0jkcfgva4xvE");
    });
}

#[test]
fn sdp_rfc5547_s9_2_fig15_offer_request_file() {
    check("rfc5547-s9.2-fig15-offer-request-file.sdp", |sdp| {
        file_transfer(sdp, Direction::RecvOnly, "aCQYuBRVoUPGVsFZkCK98vzcX2FXDIk2");
    });
}

#[test]
fn sdp_rfc5547_s9_2_fig16_answer() {
    check("rfc5547-s9.2-fig16-answer.sdp", |sdp| {
        origin(sdp, "bob", 2890844656, 2890855439, "bobpc.example.com");
        file_transfer(sdp, Direction::SendOnly, "aCQYuBRVoUPGVsFZkCK98vzcX2FXDIk2");
    });
}

#[test]
fn sdp_rfc5547_s9_2_fig19_offer_second_transfer() {
    check("rfc5547-s9.2-fig19-offer-second-transfer.sdp", |sdp| {
        origin(sdp, "alice", 2890844526, 2890844527, "alicepc.example.com");
        file_transfer(sdp, Direction::SendOnly, "ZVE8MfI9mhAdZ8GyiNMzNN5dpqgzQlCO");
    });
}

#[test]
fn sdp_rfc5547_s9_2_fig20_answer() {
    check("rfc5547-s9.2-fig20-answer.sdp", |sdp| {
        file_transfer(sdp, Direction::RecvOnly, "ZVE8MfI9mhAdZ8GyiNMzNN5dpqgzQlCO");
    });
}

#[test]
fn sdp_rfc5547_s9_3_fig24_capability_max_size() {
    check("rfc5547-s9.3-fig24-capability-max-size.sdp", |sdp| {
        assert_eq!(sdp.session_name(), Some("-"));
        assert_eq!(sdp.media[0].max_size(), Some(20000));
        // a=file-selector without a value is a flag kept verbatim.
        assert_eq!(sdp.media[0].other_attribute("file-selector"), Some(None));
        // A capability answer to OPTIONS: port 0, no path, not a session.
        assert_eq!(sdp.validate_msrp().unwrap_err(), MsrpUsageError::PortZero);
    });
}

// ---- RFC 7701 (no t= line as printed) --------------------------------------

#[test]
fn sdp_rfc7701_s9_1_f1_offer_chatroom() {
    check("rfc7701-s9.1-F1-offer-chatroom.sdp", |sdp| {
        origin(
            sdp,
            "alice",
            2890844526,
            2890844526,
            "client.atlanta.example.com",
        );
        assert_eq!(sdp.timing(), None);
        assert_eq!(
            sdp.media[0].other_attribute("chatroom"),
            Some(Some("nickname private-messages"))
        );
        usable(sdp, false);
    });
}

#[test]
fn sdp_rfc7701_s9_1_f2_answer_chatroom() {
    check("rfc7701-s9.1-F2-answer-chatroom.sdp", |sdp| {
        origin(sdp, "chat", 2890844527, 2890844527, "chat.example.com");
        assert_eq!(sdp.timing(), None);
        let v = sdp.validate_msrp().unwrap();
        assert_eq!(v.accept_types, ["message/cpim"]);
        assert_eq!(v.accept_wrapped_types, ["text/plain", "text/html", "*"]);
    });
}

// ---- RFC 7977 (MSRP over WebSocket) ----------------------------------------

#[test]
fn sdp_rfc7977_s8_2_1_offer_ws() {
    check("rfc7977-s8.2.1-offer-ws.sdp", |sdp| {
        fragment(sdp);
        let v = sdp.validate_msrp().unwrap();
        assert!(v.tls);
        assert!(v.path[1].ends_with(";ws"));
    });
}

#[test]
fn sdp_rfc7977_s8_2_1_answer() {
    check("rfc7977-s8.2.1-answer.sdp", |sdp| {
        fragment(sdp);
        usable(sdp, true);
    });
}

#[test]
fn sdp_rfc7977_s8_3_1_offer_ws() {
    check("rfc7977-s8.3.1-offer-ws.sdp", |sdp| {
        fragment(sdp);
        usable(sdp, true);
    });
}

#[test]
fn sdp_rfc7977_s8_3_1_answer_ws() {
    check("rfc7977-s8.3.1-answer-ws.sdp", |sdp| {
        fragment(sdp);
        let v = sdp.validate_msrp().unwrap();
        assert_eq!(v.path.len(), 2);
        assert!(v.path[1].ends_with(";ws"));
    });
}

#[test]
fn sdp_rfc7977_s8_4_1_offer_ws() {
    check("rfc7977-s8.4.1-offer-ws.sdp", |sdp| {
        fragment(sdp);
        usable(sdp, true);
    });
}

#[test]
fn sdp_rfc7977_s8_4_1_answer_relay() {
    check("rfc7977-s8.4.1-answer-relay.sdp", |sdp| {
        fragment(sdp);
        let v = sdp.validate_msrp().unwrap();
        assert_eq!(v.path[0], "msrps://relay.example.net:2855/kwvin5f;tcp");
    });
}

// ---- legacy draft m-line -----------------------------------------------------

#[test]
fn sdp_draft_style_mline_cpim_tcp() {
    check("draft-style-mline-cpim-tcp.sdp", |sdp| {
        fragment(sdp);
        assert!(sdp.session.is_empty());
        assert_eq!(sdp.media[0].media.formats, ["text/plain", "text/html"]);
        assert!(sdp.media[0].lines.is_empty());
        assert_eq!(
            sdp.validate_msrp().unwrap_err(),
            MsrpUsageError::NotMsrpTransport
        );
    });
}

// ---- RFC 4145 a=setup / a=connection fragments ----------------------------

#[test]
fn sdp_rfc4145_s7_1_offer_passive() {
    check("rfc4145-s7.1-offer-passive.sdp", |sdp| {
        tcp_fragment(sdp, Setup::Passive, ConnectionMode::New);
        assert_eq!(sdp.media[0].media.port, 54111);
    });
}

#[test]
fn sdp_rfc4145_s7_1_answer_active() {
    check("rfc4145-s7.1-answer-active.sdp", |sdp| {
        // Port 9 is the RFC 4145 discard port of an active endpoint.
        tcp_fragment(sdp, Setup::Active, ConnectionMode::New);
        assert_eq!(sdp.media[0].media.port, 9);
    });
}

#[test]
fn sdp_rfc4145_s7_2_offer_actpass() {
    check("rfc4145-s7.2-offer-actpass.sdp", |sdp| {
        tcp_fragment(sdp, Setup::ActPass, ConnectionMode::New);
    });
}

#[test]
fn sdp_rfc4145_s7_2_answer_passive() {
    check("rfc4145-s7.2-answer-passive.sdp", |sdp| {
        tcp_fragment(sdp, Setup::Passive, ConnectionMode::New);
    });
}

#[test]
fn sdp_rfc4145_s7_3_offer_existing() {
    check("rfc4145-s7.3-offer-existing.sdp", |sdp| {
        tcp_fragment(sdp, Setup::Passive, ConnectionMode::Existing);
    });
}

#[test]
fn sdp_rfc4145_s7_3_answer_existing() {
    check("rfc4145-s7.3-answer-existing.sdp", |sdp| {
        tcp_fragment(sdp, Setup::Active, ConnectionMode::Existing);
    });
}

#[test]
fn sdp_rfc4145_s7_4_offer_existing() {
    check("rfc4145-s7.4-offer-existing.sdp", |sdp| {
        tcp_fragment(sdp, Setup::Passive, ConnectionMode::Existing);
    });
}

#[test]
fn sdp_rfc4145_s7_4_answer_new() {
    check("rfc4145-s7.4-answer-new.sdp", |sdp| {
        tcp_fragment(sdp, Setup::Active, ConnectionMode::New);
        assert_eq!(sdp.media[0].connection().unwrap().address, "192.0.2.3");
    });
}

// ---- corpus-wide ------------------------------------------------------------

#[test]
fn every_index_row_has_a_test() {
    corpus::assert_index_lists(DIR, |_| true, FILES);
}

/// Every corpus file survives CRLF → LF and a truncation at every byte
/// without a panic.
#[test]
fn sdp_corpus_truncations_and_bare_lf() {
    for file in FILES {
        let bytes = corpus::read(DIR, file);
        let lf: Vec<u8> = bytes.iter().copied().filter(|&b| b != b'\r').collect();
        assert_eq!(
            sdp::parse(&lf).unwrap(),
            sdp::parse(&bytes).unwrap(),
            "{file}: bare LF"
        );
        for cut in 0..bytes.len() {
            let _ = sdp::parse(&bytes[..cut]);
        }
    }
}
