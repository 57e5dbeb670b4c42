//! The properties every codec must hold on arbitrary input, one function per
//! parser or framer, each panicking when a property fails.
//!
//! Owns: the single definition of "what a fuzzer checks": no panic inside
//! the codec, encode → parse round trips, framers agreeing with themselves
//! whatever the split of the input, caps respected. The cargo-fuzz targets
//! in `fuzz/` and the deterministic mutation test in `tests/` both call
//! these functions, so the two can never drift apart.
//!
//! Must not: be called by the daemon (these functions panic by design).

use super::msrp::{self, ByteRange, ChunkRef, Flag, MsrpUri, Reassembler, ReassemblyLimits};
use super::sip::addr::NameAddr;
use super::sip::uri::Uri;
use super::sip::{self, SipMessage, SipResponse};
use super::{cpim, imdn, sdp};

/// One UDP datagram: what parses re-encodes to bytes that parse equal;
/// every typed view, the server-side checks and response building never
/// panic, and a built response parses.
pub fn sip_datagram(data: &[u8]) {
    if let Ok(m) = sip::parse_datagram(data) {
        sip_message_properties(&m);
    }
}

/// A TCP/TLS byte stream: `parse_stream` and `frame` + `SipMessage::parse`
/// agree unit by unit; every unit consumes at least one byte (no loops);
/// what parses round-trips.
pub fn sip_stream(data: &[u8]) {
    let limits = sip::FrameLimits {
        max_header_bytes: 4096,
        max_body_bytes: 16384,
    };
    let mut rest = data;
    loop {
        let one_pass = sip::parse_stream(rest, &limits);
        let framed = sip::frame(rest, &limits);
        match (&one_pass, &framed) {
            (Ok(None), Ok(None)) => return,
            (Ok(Some(unit)), Ok(Some(f))) => {
                assert_eq!(unit.frame, *f, "parse_stream and frame disagree");
                if let Some(m) = &unit.message {
                    let bytes = rest.get(..f.consumed).unwrap_or_default();
                    assert_eq!(SipMessage::parse(bytes).as_ref(), Ok(m));
                    sip_message_properties(m);
                }
            }
            (Err(sip::StreamError::Frame(a)), Err(b)) => {
                assert_eq!(a, b, "parse_stream and frame disagree");
                return;
            }
            (Err(sip::StreamError::Message { consumed, .. }), Ok(Some(f))) => {
                assert_eq!(*consumed, f.consumed, "parse_stream and frame disagree");
                let bytes = rest.get(..f.consumed).unwrap_or_default();
                assert!(SipMessage::parse(bytes).is_err());
            }
            _ => panic!("parse_stream {one_pass:?} but frame {framed:?}"),
        }
        let consumed = match (&one_pass, &framed) {
            (_, Ok(Some(f))) => f.consumed,
            _ => return,
        };
        assert!(consumed > 0, "a unit consumed nothing");
        rest = rest.get(consumed..).unwrap_or_default();
    }
}

fn sip_message_properties(m: &SipMessage<'_>) {
    let h = m.headers();
    let _ = (h.vias().count(), h.top_via(), h.from_addr(), h.to_addr());
    let _ = (h.call_id(), h.cseq(), h.max_forwards(), h.content_type());
    let _ = (
        h.content_length(),
        h.expires(),
        h.retry_after(),
        h.warnings(),
    );
    let _ = (
        h.contact(),
        h.route(),
        h.record_route(),
        h.p_asserted_identity(),
    );
    let _ = h.require();
    match m {
        SipMessage::Request(req) => {
            let _ = sip::validate_request(req, &["100rel"]);
            let mut resp = SipResponse::for_request(req, 400, "Bad Request");
            let _ = resp.set_to_tag("x1");
            let bytes = resp.to_bytes();
            assert!(sip::parse_datagram(&bytes).is_ok(), "built response parses");
        }
        SipMessage::Response(resp) => {
            let _ = sip::validate_response(resp);
        }
    }
    let bytes = m.to_bytes();
    assert_eq!(sip::parse_datagram(&bytes).as_ref(), Ok(m));
    let mut framed = Vec::new();
    m.encode(&mut framed);
    assert_eq!(SipMessage::parse(&framed).as_ref(), Ok(m));
}

/// SIP, SIPS, tel and other URIs: what parses prints back to text that
/// parses to the same value; equivalence is reflexive.
pub fn sip_uri(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(u) = Uri::parse(s) {
        let printed = u.to_string();
        assert_eq!(Uri::parse(&printed).as_ref(), Ok(&u), "{printed}");
        assert!(u.equivalent(&u), "{printed}");
        let _ = u.aor_key();
    }
}

/// name-addr / addr-spec and comma-separated lists of them.
pub fn sip_name_addr(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(a) = NameAddr::parse(s) {
        let printed = a.to_string();
        assert_eq!(NameAddr::parse(&printed).as_ref(), Ok(&a), "{printed}");
        let _ = (a.tag(), a.display_text());
    }
    let _ = NameAddr::parse_list(s);
}

/// SDP: round trip, and the MSRP usability check never panics.
pub fn sdp(data: &[u8]) {
    if let Ok(d) = sdp::parse(data) {
        let _ = d.validate_msrp();
        let bytes = d.to_bytes();
        assert_eq!(sdp::parse(&bytes).as_ref(), Ok(&d));
    }
}

/// message/cpim: round trip; address views, IMDN lookups and the multipart
/// splitter never panic.
pub fn cpim(data: &[u8]) {
    if let Ok(m) = cpim::parse(data) {
        let _ = (m.from(), m.to().count(), m.subjects().count());
        let _ = imdn::DispositionRequest::from_cpim(&m);
        let _ = imdn::message_id(&m);
        if let Some(b) = m.content_type().and_then(cpim::multipart_boundary) {
            let _ = cpim::split_multipart(&m.body, &b);
        }
        let bytes = m.to_bytes();
        assert_eq!(cpim::parse(&bytes).as_ref(), Ok(&m));
        // IMDN bodies arrive wrapped in CPIM: check them where they occur.
        imdn(&m.body);
    }
}

/// message/imdn+xml: round trip; Disposition-Notification values never fail.
pub fn imdn(data: &[u8]) {
    if let Ok(n) = imdn::parse(data) {
        let bytes = n.to_bytes();
        assert_eq!(imdn::parse(&bytes).as_ref(), Ok(&n));
    }
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = imdn::DispositionRequest::parse(s);
    }
}

/// MSRP stream framing: the one-shot framer and the incremental one fed
/// the input in two pieces (split where the first byte says) agree; what
/// they frame parses or fails cleanly, and what parses round-trips.
pub fn msrp_framer(data: &[u8]) {
    let limits = msrp::FrameLimits {
        max_header_bytes: 4096,
        max_body_bytes: 16384,
    };
    let oneshot = msrp::frame(data, &limits);
    let split = data.first().map_or(0, |&b| b as usize % (data.len() + 1));
    let mut f = msrp::Framer::new();
    if let Ok(None) = f.frame(&data[..split], &limits) {
        let whole = f.frame(data, &limits);
        if let (Ok(Some(a)), Ok(Some(b))) = (&oneshot, &whole) {
            assert_eq!(a, b, "incremental and one-shot framing disagree");
        }
    }
    if let Ok(Some(fr)) = oneshot {
        if let Ok(m) = msrp::Message::parse_frame(data, &fr) {
            msrp_message_properties(&m);
        }
    }
}

/// One complete MSRP message: round trip; receiver checks, response
/// building and chunk extraction never panic.
pub fn msrp_message(data: &[u8]) {
    if let Ok(m) = msrp::Message::parse(data) {
        msrp_message_properties(&m);
    }
}

fn msrp_message_properties(m: &msrp::Message<'_>) {
    let _ = m.validate();
    let _ = m.check_sendable();
    let _ = ChunkRef::from_message(m);
    if let Ok(r) = msrp::Message::response_for(m, 200, None) {
        let bytes = r.to_bytes();
        assert!(
            msrp::Message::parse(&bytes).is_ok(),
            "built response parses"
        );
    }
    let bytes = m.to_bytes();
    assert_eq!(msrp::Message::parse(&bytes).as_ref(), Ok(m));
}

/// MSRP URIs and URI lists: round trip; comparison is reflexive; CEMA
/// matching is reflexive for URIs with a session-id (relay URIs have none
/// and never match by design).
pub fn msrp_uri(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(u) = MsrpUri::parse(s) {
        let printed = u.to_string();
        assert_eq!(MsrpUri::parse(&printed).as_ref(), Ok(&u), "{printed}");
        assert!(u.equivalent(&u));
        assert_eq!(u.session_matches(&u), u.session_id.is_some());
    }
    let _ = MsrpUri::parse_list(s);
}

/// Chunk reassembly driven by arbitrary bytes read as a chunk sequence
/// (9 header bytes each: id, flags, start, end, total, length; then the
/// body): never panics, never holds more than the limits allow.
pub fn msrp_reassembly(data: &[u8]) {
    const IDS: [&str; 6] = ["a", "b", "c", "d", "e", "f"];
    let limits = ReassemblyLimits {
        max_message_bytes: 4096,
        max_in_progress: 4,
        max_fragments: 16,
    };
    let cap = limits.max_in_progress as u64 * limits.max_message_bytes;
    let mut r = Reassembler::new(limits);
    let mut rest = data;
    while let Some((h, tail)) = rest.split_first_chunk::<9>() {
        let len = usize::from(h[8]).min(tail.len());
        let (body, tail) = tail.split_at(len);
        rest = tail;
        let flag = match h[1] % 3 {
            0 => Flag::More,
            1 => Flag::End,
            _ => Flag::Abort,
        };
        let num = |i: usize| u64::from(u16::from_be_bytes([h[i], h[i + 1]]));
        let byte_range = (h[1] & 0x80 == 0).then(|| ByteRange {
            start: num(2),
            end: (h[1] & 0x40 == 0).then(|| num(4)),
            total: (h[1] & 0x20 == 0).then(|| num(6)),
        });
        let pushed = r.push(ChunkRef {
            message_id: IDS[usize::from(h[0]) % IDS.len()],
            byte_range,
            flag,
            body,
            content_type: None,
        });
        if let Ok(msrp::Progress::Complete(a)) = pushed {
            assert!(a.data.len() as u64 <= limits.max_message_bytes);
        }
        assert!(r.buffered_bytes() as u64 <= cap);
        assert!(r.in_progress() <= limits.max_in_progress);
    }
}
