//! Corpus and round-trip tests for the sip codec.
//!
//! One test per file of `sip/torture/` (RFC 4475) and `sip/message/`
//! (RFC 3261, 3428, 3665, 4975, 7701 examples). Torture files are parsed as
//! one UDP datagram each (that is how RFC 4475 presents them) and, where
//! framing matters, also fed to the stream framer. For every invalid file
//! the test asserts the status INDEX.tsv asks for and that the
//! `expected_handling` column names it.
//!
//! Decisions for the "may reject" cases (see also `validate.rs`):
//! lwsstart, trws, lwsruri, ltgtruri, escruri, regbadct, badaspec, baddn,
//! quotbal: rejected with 400. baddate: accepted (Date unused).
//! badbranch: accepted, RFC 2543 fallback. Responses a UAC cannot use
//! (scalarlg, bcast, bigcode) are discarded. The RFC 3428 `;;branch` and
//! `;;tag` empty parameters are tolerated (see `typed.rs`).

use std::borrow::Cow;

use msrpgw::proto::sip::uri::Scheme;
use msrpgw::proto::sip::*;

use crate::corpus::{self, index, read};

const NO_EXTENSIONS: &[&str] = &[];

fn torture(file: &str) -> Vec<u8> {
    read("sip/torture", file)
}

fn request(b: &[u8]) -> SipRequest<'_> {
    match parse_datagram(b) {
        Ok(SipMessage::Request(r)) => r,
        other => panic!("expected a request, got {other:?}"),
    }
}

fn response(b: &[u8]) -> SipResponse<'_> {
    match parse_datagram(b) {
        Ok(SipMessage::Response(r)) => r,
        other => panic!("expected a response, got {other:?}"),
    }
}

/// parse(encode(m)) == m, and the encoding frames as exactly one message.
fn round_trips(m: &SipMessage<'_>) {
    let bytes = m.to_bytes();
    let back = parse_datagram(&bytes).expect("encoded message parses");
    assert_eq!(&back, m);
    let f = frame(&bytes, &FrameLimits::default())
        .expect("encoded message frames")
        .expect("complete");
    assert_eq!(f.consumed, bytes.len());
    // No folded lines, CRLF only, one Content-Length.
    let head_end = bytes.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = std::str::from_utf8(&bytes[..head_end]).unwrap();
    for line in head.split("\r\n") {
        assert!(!line.starts_with([' ', '\t']), "folded line {line:?}");
        assert!(!line.contains(['\r', '\n']));
    }
    assert_eq!(
        head.matches("\r\nContent-Length: ").count(),
        1,
        "exactly one Content-Length"
    );
}

fn round_trips_req(r: &SipRequest<'_>) {
    round_trips(&SipMessage::Request(r.clone()));
}

fn rejected<'a>(r: &'a SipRequest<'_>) -> Rejection<'a> {
    validate_request(r, NO_EXTENSIONS).expect_err("request must be rejected")
}

/// [`rejected`], with the status and the error kind validation gives.
fn rejected_with<'a>(r: &'a SipRequest<'_>, status: u16, kind: SipErrorKind) -> Rejection<'a> {
    let e = rejected(r);
    assert_eq!((e.status, e.error.map(|e| e.kind)), (status, Some(kind)));
    e
}

fn accepted(r: &SipRequest<'_>) {
    if let Err(e) = validate_request(r, NO_EXTENSIONS) {
        panic!("request rejected: {e:?}");
    }
}

/// The `expected_handling` column of `file` in sip/torture/INDEX.tsv.
fn handling(file: &str) -> String {
    corpus::row("sip/torture", file)[4].clone()
}

fn assert_handling_says(file: &str, what: &str) {
    let h = handling(file);
    assert!(
        h.contains(what),
        "INDEX.tsv for {file} says {h:?}, not {what:?}"
    );
}

fn vias<'a>(h: &'a Headers<'_>) -> Vec<Via<'a>> {
    h.vias().collect::<Result<_, _>>().expect("Vias parse")
}

// ---------------------------------------------------------------------------
// RFC 4475 §3.1.1: valid messages

#[test]
fn torture_wsinv() {
    let b = torture("wsinv.dat");
    let r = request(&b);
    assert_handling_says("wsinv.dat", "Accept");
    assert_eq!(r.method, Method::Invite);
    assert_eq!(r.uri.scheme, Scheme::Sip);
    assert_eq!(r.uri.user.as_deref(), Some("vivekg"));
    assert_eq!(r.uri.host, "chair-dnrc.example.com");
    assert_eq!(r.uri.param("unknownparam"), Some(None));
    let h = &r.headers;
    let to = h.to_addr().unwrap();
    assert_eq!(to.uri.user.as_deref(), Some("vivekg"));
    assert_eq!(to.tag(), Some("1918181833n"));
    let from = h.from_addr().unwrap();
    assert_eq!(from.display_text().as_deref(), Some("J Rosenberg \\\""));
    assert_eq!(from.uri.user.as_deref(), Some("jdrosen"));
    assert_eq!(from.tag(), Some("98asjd8"));
    assert_eq!(h.max_forwards().unwrap(), Some(68));
    assert_eq!(h.call_id().unwrap(), "wsinv.ndaksdj@192.0.2.1");
    assert_eq!(h.content_length().unwrap(), Some(150));
    let cseq = h.cseq().unwrap();
    assert_eq!((cseq.seq, cseq.method), (9, Method::Invite));
    let v = vias(h);
    assert_eq!(v.len(), 3);
    assert_eq!(
        (&v[0].transport, &*v[0].host),
        (&Transport::Udp, "192.0.2.2")
    );
    assert_eq!(v[0].branch(), Some("390skdjuw"));
    assert_eq!(
        (&v[1].transport, &*v[1].host),
        (&Transport::Tcp, "spindle.example.com")
    );
    assert_eq!(v[1].branch(), Some("z9hG4bK9ikj8"));
    assert_eq!(
        (&v[2].transport, &*v[2].host),
        (&Transport::Udp, "192.168.255.111")
    );
    assert_eq!(v[2].branch(), Some("z9hG4bK30239"));
    assert_eq!(h.get(&HeaderName::Subject), Some(""));
    assert_eq!(
        h.get(&HeaderName::from("newfangledheader")),
        Some("newfangled value continued newfangled value")
    );
    // The unknown header with an unusual value is kept, opaque, in order.
    assert_eq!(
        h.get(&HeaderName::from("UnknownHeaderWithUnusualValue")),
        Some(";;,,;;,;")
    );
    let names: Vec<&str> = h.iter().map(|x| x.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "To",
            "From",
            "Max-Forwards",
            "Call-ID",
            "Content-Length",
            "CSeq",
            "Via",
            "Subject",
            "NewFangledHeader",
            "UnknownHeaderWithUnusualValue",
            "Content-Type",
            "Route",
            "Via",
            "Contact"
        ]
    );
    assert!(h.content_type().unwrap().unwrap().is("application", "sdp"));
    let route = h.route().unwrap();
    assert_eq!(route.len(), 1);
    assert_eq!(route[0].uri.host, "services.example.com");
    assert_eq!(route[0].uri.param("lr"), Some(None));
    let Contact::List(c) = h.contact().unwrap() else {
        panic!("contact list")
    };
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].display_text().as_deref(), Some("Quoted string \"\""));
    assert_eq!(c[0].param("newparam"), Some(Some("newvalue")));
    assert_eq!(c[0].param("secondparam"), Some(None));
    assert_eq!(c[0].param("q"), Some(Some("0.33")));
    assert_eq!(r.body.len(), 150);
    accepted(&r);
    round_trips_req(&r);
}

#[test]
fn torture_intmeth() {
    let b = torture("intmeth.dat");
    let r = request(&b);
    let m = "!interesting-Method0123456789_*+`.%indeed'~";
    assert_eq!(r.method, Method::Other(Cow::Borrowed(m)));
    assert!(!r.method.is_known(), "an endpoint answers 501");
    assert_handling_says("intmeth.dat", "501");
    assert_eq!(r.uri.host, "example.com");
    assert_eq!(
        r.uri.user.as_deref(),
        Some("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*")
    );
    assert_eq!(
        r.uri.password.as_deref(),
        Some("&it+has=1,weird!*pas$wo~d_too.(doesn't-it)")
    );
    let h = &r.headers;
    assert_eq!(h.top_via().unwrap().branch(), Some("z9hG4bK-.!%66*_+`'~"));
    assert_eq!(
        h.to_addr().unwrap().display_text().as_deref(),
        Some("BEL:\x07 NUL:\x00 DEL:\x7f")
    );
    let from = h.from_addr().unwrap();
    assert_eq!(
        from.display_name.as_deref(),
        Some("token1~` token2'+_ token3*%!.-")
    );
    assert_eq!(from.tag(), Some("_token~1'+`*%!-."));
    assert_eq!(
        from.param("fromParam''~+*_!.-%"),
        Some(Some("\"работающий\""))
    );
    assert_eq!(
        h.call_id().unwrap(),
        "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{"
    );
    let cseq = h.cseq().unwrap();
    assert_eq!((cseq.seq, cseq.method.as_str()), (139122385, m));
    assert_eq!(h.max_forwards().unwrap(), Some(255));
    assert_eq!(
        h.get(&HeaderName::from("extensionHeader-!.%*+_`'~")),
        Some("\u{feff}大停電")
    );
    // Well-formed; 501 is the session layer's answer to an unknown method.
    accepted(&r);
    round_trips_req(&r);
}

#[test]
fn torture_esc01() {
    let b = torture("esc01.dat");
    let r = request(&b);
    assert_eq!(r.uri.user.as_deref(), Some("sips%3Auser%40example.com"));
    assert_eq!(
        r.uri.user_decoded().as_deref(),
        Some(&b"sips:user@example.com"[..])
    );
    assert_eq!(r.uri.host, "example.net");
    let h = &r.headers;
    let to = h.to_addr().unwrap();
    assert_eq!(to.uri.user_decoded().as_deref(), Some(&b"user"[..]));
    let from = h.from_addr().unwrap();
    assert_eq!(
        from.uri.user_decoded().as_deref(),
        Some(&b"I have spaces"[..])
    );
    assert_eq!(h.call_id().unwrap(), "esc01.239409asdfakjkn23onasd0-3234");
    assert!(h.content_type().unwrap().unwrap().is("application", "sdp"));
    let Contact::List(c) = h.contact().unwrap() else {
        panic!()
    };
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].uri.user_decoded().as_deref(), Some(&b"caller"[..]));
    // %6C%72 is the parameter name "lr"; the value keeps its escapes
    // (name=value%41 is not valueA: no recursive unescaping).
    assert_eq!(c[0].uri.param("lr"), Some(None));
    assert_eq!(c[0].uri.param("name"), Some(Some("v%61lue%25%34%31")));
    assert_eq!(r.body.len(), 150);
    accepted(&r);
    round_trips_req(&r);
}

#[test]
fn torture_escnull() {
    let b = torture("escnull.dat");
    let r = request(&b);
    assert_eq!(r.method, Method::Register);
    let h = &r.headers;
    assert_eq!(
        h.to_addr().unwrap().uri.user_decoded().as_deref(),
        Some(&b"null-\0-null"[..])
    );
    let Contact::List(c) = h.contact().unwrap() else {
        panic!()
    };
    assert_eq!(c.len(), 2, "two distinct contacts");
    assert_eq!(c[0].uri.user_decoded().as_deref(), Some(&b"\0"[..]));
    assert_eq!(c[1].uri.user_decoded().as_deref(), Some(&b"\0\0"[..]));
    assert!(!c[0].uri.equivalent(&c[1].uri));
    assert_eq!(h.content_length().unwrap(), Some(0));
    accepted(&r);
    round_trips_req(&r);
}

#[test]
fn torture_esc02() {
    let b = torture("esc02.dat");
    let r = request(&b);
    assert_eq!(r.method, Method::Other(Cow::Borrowed("RE%47IST%45R")));
    assert_ne!(r.method, Method::Register);
    assert_handling_says("esc02.dat", "501");
    let h = &r.headers;
    assert_eq!(
        h.to_addr().unwrap().display_text().as_deref(),
        Some("%Z%45")
    );
    assert_eq!(h.top_via().unwrap().branch(), Some("z9hG4bK209%fzsnel234"));
    assert_eq!(h.cseq().unwrap().method, r.method);
    // C%6Fntact is an unknown header: two Contact values only.
    let Contact::List(c) = h.contact().unwrap() else {
        panic!()
    };
    assert_eq!(c.len(), 2);
    assert_eq!(
        h.get(&HeaderName::from("C%6Fntact")),
        Some("<sip:alias2@host2.example.com>")
    );
    accepted(&r);
    round_trips_req(&r);
}

#[test]
fn torture_lwsdisp() {
    let b = torture("lwsdisp.dat");
    let r = request(&b);
    assert_eq!(r.method, Method::Options);
    let from = r.headers.from_addr().unwrap();
    assert_eq!(from.display_text().as_deref(), Some("caller"));
    assert_eq!(from.uri.user.as_deref(), Some("caller"));
    assert_eq!(from.tag(), Some("323"));
    accepted(&r);
    round_trips_req(&r);
}

#[test]
fn torture_longreq() {
    let b = torture("longreq.dat");
    let r = request(&b);
    let h = &r.headers;
    let to = h.to_addr().unwrap();
    assert!(to.display_text().unwrap().contains("extremeextreme"));
    assert_eq!(to.uri.port, Some(6000));
    assert!(h.from_addr().unwrap().tag().unwrap().len() > 100);
    assert!(h.call_id().unwrap().starts_with("longreq.onereallyreally"));
    assert_eq!(h.cseq().unwrap().seq, 3882340);
    let v = vias(h);
    assert_eq!(v.len(), 34);
    assert!(v.iter().all(|v| v.transport == Transport::Tcp));
    assert_eq!(v[0].host, "sip33.example.com");
    assert_eq!(v[33].host, "host.example.com");
    assert_eq!(v[33].received(), Some("192.0.2.5"));
    assert!(
        h.iter()
            .any(|x| x.name.as_str().starts_with("Unknown-LongLong") && x.value.len() > 100)
    );
    assert_eq!(r.body.len(), 150);
    accepted(&r);
    round_trips_req(&r);
}

#[test]
fn torture_dblreq() {
    let b = torture("dblreq.dat");
    let r = request(&b);
    assert_eq!(r.method, Method::Register);
    assert_eq!(
        r.headers.call_id().unwrap(),
        "dblreq.0ha0isndaksdj99sdfafnl3lk233412"
    );
    assert_eq!(r.headers.cseq().unwrap().seq, 8);
    assert!(r.body.is_empty(), "trailing octets ignored");
    accepted(&r);
    round_trips_req(&r);
    // Forwarding never carries the trailing INVITE.
    let enc = r.to_bytes();
    assert!(!enc.windows(6).any(|w| w == b"INVITE"));
    // On a stream, the same bytes are two messages.
    let f1 = frame(&b, &FrameLimits::default()).unwrap().unwrap();
    assert_eq!(
        SipMessage::parse(&b[..f1.consumed]).unwrap(),
        SipMessage::Request(r.clone())
    );
    // The extra CRLF after it is a keep-alive on a stream.
    let rest = &b[f1.consumed..];
    let ka = frame(rest, &FrameLimits::default()).unwrap().unwrap();
    assert_eq!((ka.kind, ka.consumed), (FrameKind::Pong, 2));
    let rest = &rest[2..];
    let f2 = frame(rest, &FrameLimits::default()).unwrap().unwrap();
    assert!(matches!(f2.kind, FrameKind::Message { body_len: 150, .. }));
    let inv = request(&rest[..f2.consumed]);
    assert_eq!(inv.method, Method::Invite);
    assert_eq!(inv.body.len(), 150);
}

#[test]
fn torture_semiuri() {
    let b = torture("semiuri.dat");
    let r = request(&b);
    assert_eq!(r.uri.user.as_deref(), Some("user;par=u%40example.net"));
    assert_eq!(
        r.uri.user_decoded().as_deref(),
        Some(&b"user;par=u@example.net"[..])
    );
    assert_eq!(r.uri.host, "example.com");
    assert!(r.uri.params.is_empty());
    assert_eq!(
        r.headers.accept(),
        [
            "application/sdp",
            "application/pkcs7-mime",
            "multipart/mixed",
            "multipart/signed",
            "message/sip",
            "message/sipfrag"
        ]
    );
    accepted(&r);
    round_trips_req(&r);
}

#[test]
fn torture_transports() {
    let b = torture("transports.dat");
    let r = request(&b);
    let v = vias(&r.headers);
    let t: Vec<&Transport<'_>> = v.iter().map(|v| &v.transport).collect();
    assert_eq!(
        t,
        [
            &Transport::Udp,
            &Transport::Sctp,
            &Transport::Tls,
            &Transport::Other(Cow::Borrowed("UNKNOWN")),
            &Transport::Tcp
        ]
    );
    assert_eq!(v[3].host, "t4.example.com");
    assert_eq!(
        r.headers.call_id().unwrap(),
        "transports.kijh4akdnaqjkwendsasfdj"
    );
    accepted(&r);
    round_trips_req(&r);
}

#[test]
fn torture_mpart01() {
    let b = torture("mpart01.dat");
    let r = request(&b);
    assert_eq!(r.method, Method::Message);
    let h = &r.headers;
    let ct = h.content_type().unwrap().unwrap();
    assert!(ct.is("multipart", "mixed"));
    assert_eq!(ct.param("boundary"), Some(Some("7a9cbec02ceef655")));
    assert_eq!(h.content_length().unwrap(), Some(553));
    assert_eq!(r.body.len(), 553, "framed strictly by Content-Length");
    assert!(r.body.contains(&0), "binary body with NUL");
    assert!(r.body.ends_with(b"--7a9cbec02ceef655--\r\n"));
    assert_eq!(h.top_via().unwrap().rport(), Some(None));
    assert!(
        h.get(&HeaderName::Identity)
            .unwrap()
            .starts_with("r5mwreLuyDRYBi")
    );
    accepted(&r);
    round_trips_req(&r);
    let f = frame(&b, &FrameLimits::default()).unwrap().unwrap();
    assert_eq!(f.consumed, b.len());
}

#[test]
fn torture_unreason() {
    let b = torture("unreason.dat");
    let r = response(&b);
    assert_eq!(r.status, 200);
    assert_eq!(r.reason, "= 2**3 * 5**2 но сто девяносто девять - простое");
    assert_eq!(r.headers.cseq().unwrap().method, Method::Invite);
    assert_eq!(r.body.len(), 154);
    assert_eq!(validate_response(&r), Ok(()));
    round_trips(&SipMessage::Response(r));
}

#[test]
fn torture_noreason() {
    let b = torture("noreason.dat");
    let r = response(&b);
    assert_eq!((r.status, &*r.reason), (100, ""));
    assert_eq!(r.headers.to_addr().unwrap().tag(), Some("902jndnke3"));
    assert_eq!(validate_response(&r), Ok(()));
    round_trips(&SipMessage::Response(r));
}

// ---------------------------------------------------------------------------
// RFC 4475 §3.1.2: invalid messages

#[test]
fn torture_badinv01() {
    let b = torture("badinv01.dat");
    let r = request(&b);
    rejected_with(&r, 400, SipErrorKind::BadVia);
    assert_handling_says("badinv01.dat", "400");
}

#[test]
fn torture_clerr() {
    let b = torture("clerr.dat");
    assert_handling_says("clerr.dat", "400");
    let e = parse_datagram(&b).unwrap_err();
    assert_eq!(e.kind, SipErrorKind::ContentLengthExceedsBody);
    assert_eq!(e.status_code(), 400);
    // The head still parses, so the 400 can be routed back.
    let head = SipMessage::parse_head(&b).unwrap();
    let req = head.as_request().unwrap();
    let resp = SipResponse::for_request(req, e.status_code(), e.reason());
    assert_eq!(
        resp.headers.top_via().unwrap().branch(),
        Some("z9hG4bK-39234-23523")
    );
    assert_eq!(
        resp.headers.call_id().unwrap(),
        "clerr.0ha0isndaksdjweiafasdk3"
    );
    // On a stream: wait for more data (the caller's timeout closes).
    assert_eq!(frame(&b, &FrameLimits::default()), Ok(None));
}

#[test]
fn torture_ncl() {
    let b = torture("ncl.dat");
    assert_handling_says("ncl.dat", "400");
    let e = parse_datagram(&b).unwrap_err();
    assert_eq!(
        (e.kind, e.status_code()),
        (SipErrorKind::BadContentLength, 400)
    );
    let fe = frame(&b, &FrameLimits::default()).unwrap_err();
    assert_eq!(fe.kind, FrameErrorKind::BadContentLength);
    assert!(
        b[fe.offset..].starts_with(b"-999"),
        "offset points at the value"
    );
}

#[test]
fn torture_scalar02() {
    let b = torture("scalar02.dat");
    assert_handling_says("scalar02.dat", "400");
    let r = request(&b);
    rejected_with(&r, 400, SipErrorKind::CSeqTooLarge);
    assert_eq!(
        r.headers.max_forwards().unwrap_err().kind,
        SipErrorKind::BadMaxForwards
    );
    assert_eq!(
        r.headers.expires().unwrap_err().kind,
        SipErrorKind::BadExpires
    );
}

#[test]
fn torture_scalarlg() {
    let b = torture("scalarlg.dat");
    assert_handling_says("scalarlg.dat", "Discard");
    let r = response(&b);
    assert_eq!(r.status, 503);
    let d = validate_response(&r).unwrap_err();
    assert_eq!(d.error.unwrap().kind, SipErrorKind::CSeqTooLarge);
    assert_eq!(
        r.headers.retry_after().unwrap_err().kind,
        SipErrorKind::BadRetryAfter
    );
    assert_eq!(
        r.headers.warnings().unwrap_err().kind,
        SipErrorKind::BadWarning
    );
}

#[test]
fn torture_quotbal() {
    let b = torture("quotbal.dat");
    assert_handling_says("quotbal.dat", "400");
    let r = request(&b);
    rejected_with(&r, 400, SipErrorKind::BadTo);
}

#[test]
fn torture_ltgtruri() {
    let b = torture("ltgtruri.dat");
    assert_handling_says("ltgtruri.dat", "400");
    let e = parse_datagram(&b).unwrap_err();
    assert_eq!(
        (e.kind, e.offset, e.status_code()),
        (SipErrorKind::BadRequestUri, 7, 400)
    );
}

#[test]
fn torture_lwsruri() {
    let b = torture("lwsruri.dat");
    assert_handling_says("lwsruri.dat", "400");
    let e = parse_datagram(&b).unwrap_err();
    assert_eq!(e.status_code(), 400);
    assert!(matches!(
        e.kind,
        SipErrorKind::BadRequestUri | SipErrorKind::BadRequestLine
    ));
}

#[test]
fn torture_lwsstart() {
    // May reject: we do (400), rather than forward a reformatted line.
    let b = torture("lwsstart.dat");
    assert_handling_says("lwsstart.dat", "May reject");
    let e = parse_datagram(&b).unwrap_err();
    assert_eq!(
        (e.kind, e.offset, e.status_code()),
        (SipErrorKind::BadRequestLine, 7, 400)
    );
}

#[test]
fn torture_trws() {
    // May reject: we do (400).
    let b = torture("trws.dat");
    assert_handling_says("trws.dat", "May reject");
    let e = parse_datagram(&b).unwrap_err();
    assert_eq!(
        (e.kind, e.status_code()),
        (SipErrorKind::BadRequestLine, 400)
    );
}

#[test]
fn torture_escruri() {
    // May reject with 400: we do.
    let b = torture("escruri.dat");
    assert_handling_says("escruri.dat", "400");
    let r = request(&b);
    assert_eq!(r.uri.headers.len(), 1);
    assert!(r.uri.headers[0].name.eq_ignore_ascii_case("route"));
    let e = rejected(&r);
    assert_eq!(e.status, 400);
    // Never turned into a real header.
    assert_eq!(r.headers.count(&HeaderName::Route), 0);
}

#[test]
fn torture_baddate() {
    // May reject only if Date matters; msrpgw does not use Date: accepted.
    let b = torture("baddate.dat");
    let r = request(&b);
    assert_eq!(
        r.headers.get(&HeaderName::Date),
        Some("Fri, 01 Jan 2010 16:00:00 EST")
    );
    accepted(&r);
    round_trips_req(&r);
}

#[test]
fn torture_regbadct() {
    let b = torture("regbadct.dat");
    assert_handling_says("regbadct.dat", "400");
    let r = request(&b);
    rejected_with(&r, 400, SipErrorKind::ContactNotEnclosed);
}

#[test]
fn torture_badaspec() {
    let b = torture("badaspec.dat");
    assert_handling_says("badaspec.dat", "400");
    let r = request(&b);
    rejected_with(&r, 400, SipErrorKind::BadTo);
}

#[test]
fn torture_baddn() {
    let b = torture("baddn.dat");
    assert_handling_says("baddn.dat", "400");
    // As archived the header block never ends: a datagram is malformed, a
    // stream waits for more.
    let e = parse_datagram(&b).unwrap_err();
    assert_eq!((e.kind, e.status_code()), (SipErrorKind::Unterminated, 400));
    assert_eq!(frame(&b, &FrameLimits::default()), Ok(None));
    // Terminated, it is rejected for its display names (To is checked
    // before From).
    let mut fixed = b.clone();
    fixed.extend_from_slice(b"\r\n");
    let r = request(&fixed);
    rejected_with(&r, 400, SipErrorKind::BadTo);
    assert_eq!(
        r.headers.from_addr().unwrap_err().kind,
        SipErrorKind::BadFrom
    );
}

#[test]
fn torture_badvers() {
    let b = torture("badvers.dat");
    assert_handling_says("badvers.dat", "505");
    let r = request(&b);
    assert_eq!(r.version, Version { major: 7, minor: 0 });
    assert_eq!(rejected(&r).status, 505);
}

#[test]
fn torture_mismatch01() {
    let b = torture("mismatch01.dat");
    assert_handling_says("mismatch01.dat", "400");
    let r = request(&b);
    assert_eq!(r.method, Method::Options);
    assert_eq!(r.headers.cseq().unwrap().method, Method::Invite);
    assert_eq!(rejected(&r).status, 400);
}

#[test]
fn torture_mismatch02() {
    let b = torture("mismatch02.dat");
    assert_handling_says("mismatch02.dat", "501");
    let r = request(&b);
    assert_eq!(r.method, Method::Other(Cow::Borrowed("NEWMETHOD")));
    let e = rejected(&r);
    assert_eq!((e.status, e.reason), (501, "Not Implemented"));
}

#[test]
fn torture_bigcode() {
    let b = torture("bigcode.dat");
    assert_handling_says("bigcode.dat", "Drop");
    let e = parse_datagram(&b).unwrap_err();
    assert_eq!((e.kind, e.offset), (SipErrorKind::BadStatusCode, 8));
    assert!(is_response_start(&b), "a response: dropped, never answered");
}

// ---------------------------------------------------------------------------
// RFC 4475 §3.2–§3.4: transaction and application layer

#[test]
fn torture_badbranch() {
    let b = torture("badbranch.dat");
    let r = request(&b);
    let v = r.headers.top_via().unwrap();
    assert_eq!(v.branch(), Some("z9hG4bK"));
    assert!(!v.has_rfc3261_branch(), "RFC 2543 matching fallback");
    accepted(&r);
    round_trips_req(&r);
}

#[test]
fn torture_insuf() {
    let b = torture("insuf.dat");
    assert_handling_says("insuf.dat", "400");
    let r = request(&b);
    let e = rejected_with(&r, 400, SipErrorKind::MissingTo);
    assert_eq!(e.reason, "missing To header");
    assert_eq!(
        r.headers.call_id().unwrap_err().kind,
        SipErrorKind::MissingCallId
    );
    assert_eq!(
        r.headers.from_addr().unwrap_err().kind,
        SipErrorKind::MissingFrom
    );
}

#[test]
fn torture_unkscm() {
    let b = torture("unkscm.dat");
    assert_handling_says("unkscm.dat", "416");
    let r = request(&b);
    assert_eq!(r.uri.scheme, Scheme::Other);
    assert_eq!(r.uri.scheme_raw, "nobodyKnowsThisScheme");
    assert_eq!(r.uri.opaque.as_deref(), Some("totallyopaquecontent"));
    assert_eq!(rejected(&r).status, 416);
    round_trips_req(&r);
}

#[test]
fn torture_novelsc() {
    let b = torture("novelsc.dat");
    assert_handling_says("novelsc.dat", "416");
    let r = request(&b);
    assert_eq!(
        (r.uri.scheme, &*r.uri.scheme_raw),
        (Scheme::Other, "soap.beep")
    );
    assert_eq!(rejected(&r).status, 416);
    round_trips_req(&r);
}

#[test]
fn torture_unksm2() {
    let b = torture("unksm2.dat");
    let r = request(&b);
    let h = &r.headers;
    let to = h.to_addr().unwrap();
    assert_eq!(
        (to.uri.scheme, &*to.uri.scheme_raw),
        (Scheme::Other, "isbn")
    );
    assert_eq!(h.from_addr().unwrap().uri.scheme_raw, "http");
    let Contact::List(c) = h.contact().unwrap() else {
        panic!()
    };
    assert_eq!(c[0].uri.scheme_raw, "name");
    // Parses as well-formed; only a registrar would refuse it.
    accepted(&r);
    round_trips_req(&r);
}

#[test]
fn torture_bext01() {
    let b = torture("bext01.dat");
    assert_handling_says("bext01.dat", "420");
    let r = request(&b);
    let e = rejected(&r);
    assert_eq!((e.status, e.reason), (420, "Bad Extension"));
    assert_eq!(
        e.unsupported,
        ["nothingSupportsThis", "nothingSupportsThisEither"]
    );
    assert_eq!(
        r.headers.proxy_require().unwrap(),
        ["noProxiesSupportThis", "norDoAnyProxiesSupportThis"]
    );
    // Supported options pass; Proxy-Require is not a UAS's business.
    assert_eq!(
        validate_request(&r, &["nothingSupportsThis", "nothingSupportsThisEither"]),
        Ok(())
    );
}

#[test]
fn torture_invut() {
    let b = torture("invut.dat");
    let r = request(&b);
    let ct = r.headers.content_type().unwrap().unwrap();
    assert!(ct.is("application", "unknownformat"));
    assert_eq!(r.body.len(), 40);
    // Well-formed: the 415 belongs to the session layer.
    accepted(&r);
    round_trips_req(&r);
}

#[test]
fn torture_regaut01() {
    let b = torture("regaut01.dat");
    let r = request(&b);
    assert_eq!(
        r.headers.get(&HeaderName::Authorization),
        Some("NoOneKnowsThisScheme opaque-data=here")
    );
    assert_eq!(r.headers.content_length().unwrap(), Some(0));
    accepted(&r);
    round_trips_req(&r);
}

#[test]
fn torture_multi01() {
    let b = torture("multi01.dat");
    assert_handling_says("multi01.dat", "400");
    let r = request(&b);
    rejected_with(&r, 400, SipErrorKind::MultipleCSeq);
    let h = &r.headers;
    assert_eq!(h.call_id().unwrap_err().kind, SipErrorKind::MultipleCallId);
    assert_eq!(h.to_addr().unwrap_err().kind, SipErrorKind::MultipleTo);
    assert_eq!(h.from_addr().unwrap_err().kind, SipErrorKind::MultipleFrom);
    assert_eq!(
        h.max_forwards().unwrap_err().kind,
        SipErrorKind::MultipleMaxForwards
    );
}

#[test]
fn torture_mcl01() {
    let b = torture("mcl01.dat");
    assert_handling_says("mcl01.dat", "close the connection");
    let e = parse_datagram(&b).unwrap_err();
    assert_eq!(
        (e.kind, e.status_code()),
        (SipErrorKind::MultipleContentLength, 400)
    );
    let fe = frame(&b, &FrameLimits::default()).unwrap_err();
    assert_eq!(fe.kind, FrameErrorKind::MultipleContentLength);
}

#[test]
fn torture_bcast() {
    let b = torture("bcast.dat");
    let r = response(&b);
    let v = vias(&r.headers);
    assert_eq!(v[1].host, "255.255.255.255");
    // A UAC discards a response with more than one Via.
    assert!(validate_response(&r).is_err());
    round_trips(&SipMessage::Response(r));
}

#[test]
fn torture_zeromf() {
    let b = torture("zeromf.dat");
    let r = request(&b);
    assert_eq!(r.headers.max_forwards().unwrap(), Some(0));
    // An endpoint processes it (483 is for proxies).
    accepted(&r);
    round_trips_req(&r);
}

#[test]
fn torture_cparam01() {
    let b = torture("cparam01.dat");
    let r = request(&b);
    let Contact::List(c) = r.headers.contact().unwrap() else {
        panic!()
    };
    assert_eq!(c[0].uri.user.as_deref(), Some("+19725552222"));
    assert_eq!(c[0].param("unknownparam"), Some(None), "a contact-param");
    assert_eq!(c[0].uri.param("unknownparam"), None, "not a url-parameter");
    accepted(&r);
    round_trips_req(&r);
}

#[test]
fn torture_cparam02() {
    let b = torture("cparam02.dat");
    let r = request(&b);
    let Contact::List(c) = r.headers.contact().unwrap() else {
        panic!()
    };
    assert_eq!(
        c[0].uri.param("unknownparam"),
        Some(None),
        "a url-parameter"
    );
    assert_eq!(c[0].param("unknownparam"), None);
    accepted(&r);
    round_trips_req(&r);
}

#[test]
fn torture_regescrt() {
    let b = torture("regescrt.dat");
    let r = request(&b);
    let Contact::List(c) = r.headers.contact().unwrap() else {
        panic!()
    };
    assert_eq!(c[0].uri.headers.len(), 1);
    assert_eq!(c[0].uri.headers[0].name, "Route");
    assert_eq!(
        c[0].uri.headers[0].value.as_deref(),
        Some("%3Csip:sip.example.com%3E")
    );
    assert_eq!(r.headers.content_length().unwrap(), Some(0));
    accepted(&r);
    round_trips_req(&r);
}

#[test]
fn torture_sdp01() {
    let b = torture("sdp01.dat");
    let r = request(&b);
    assert_eq!(r.headers.accept(), ["text/nobodyKnowsThis"]);
    assert!(
        r.headers
            .content_type()
            .unwrap()
            .unwrap()
            .is("application", "sdp")
    );
    // Well-formed: the 406 belongs to the session layer.
    accepted(&r);
    round_trips_req(&r);
}

#[test]
fn torture_inv2543() {
    let b = torture("inv2543.dat");
    let r = request(&b);
    let h = &r.headers;
    assert_eq!(h.content_length().unwrap(), None);
    assert_eq!(h.max_forwards().unwrap(), None);
    assert_eq!(h.top_via().unwrap().branch(), None);
    assert_eq!(h.from_addr().unwrap().tag(), None);
    assert_eq!(
        h.record_route().unwrap()[0].uri.param("maddr"),
        Some(Some("ss1.example.com"))
    );
    assert_eq!(r.body.len(), 105, "body runs to the end of the datagram");
    assert!(r.body.starts_with(b"v=0\r\n"));
    accepted(&r);
    round_trips_req(&r);
    // Over a stream it cannot be framed.
    assert_eq!(
        frame(&b, &FrameLimits::default()).unwrap_err().kind,
        FrameErrorKind::MissingContentLength
    );
}

#[test]
fn torture_test() {
    // Not described by RFC 4475: malformed (no SIP-Version), 400.
    let b = torture("test.dat");
    let e = parse_datagram(&b).unwrap_err();
    assert_eq!(
        (e.kind, e.status_code()),
        (SipErrorKind::BadRequestLine, 400)
    );
}

// ---------------------------------------------------------------------------
// sip/message: RFC example messages, checked against every INDEX.tsv column

/// Parses `file` and checks it against its INDEX.tsv row; returns the
/// message (head-only for placeholder bodies) for further checks.
fn check_message(file: &str, bytes: &[u8]) -> SipMessage<'static> {
    let row = corpus::row("sip/message", file);
    let col = |i: usize| row[i].as_str();
    let (validity, start_line, method_or_status) = (col(2), col(3), col(4));
    let (call_id, cseq, from_tag, to_tag) = (col(5), col(6), col(7), col(8));
    let (content_type, content_length, body_octets, folded) = (col(9), col(10), col(11), col(12));

    let m = if validity == "placeholder" {
        // Content-Length counts the SDP the RFC did not print.
        let e = parse_datagram(bytes).unwrap_err();
        assert_eq!(
            (e.kind, e.status_code()),
            (SipErrorKind::ContentLengthExceedsBody, 400)
        );
        assert_eq!(frame(bytes, &FrameLimits::default()), Ok(None));
        SipMessage::parse_head(bytes).unwrap()
    } else {
        parse_datagram(bytes).unwrap()
    };
    let first_line =
        std::str::from_utf8(&bytes[..bytes.windows(2).position(|w| w == b"\r\n").unwrap()])
            .unwrap();
    assert_eq!(first_line, start_line);
    match &m {
        SipMessage::Request(r) => {
            assert_eq!(r.method.as_str(), method_or_status);
            assert_eq!(format!("{} {} {}", r.method, r.uri, r.version), start_line);
        }
        SipMessage::Response(r) => {
            assert_eq!(format!("{} {}", r.status, r.reason), method_or_status);
        }
    }
    let h = m.headers();
    assert_eq!(h.call_id().unwrap(), call_id);
    if cseq.is_empty() {
        assert_eq!(h.cseq().unwrap_err().kind, SipErrorKind::MissingCSeq);
    } else {
        assert_eq!(h.cseq().unwrap().to_string(), cseq);
    }
    assert_eq!(h.from_addr().unwrap().tag().unwrap_or(""), from_tag);
    assert_eq!(h.to_addr().unwrap().tag().unwrap_or(""), to_tag);
    assert_eq!(h.get(&HeaderName::ContentType).unwrap_or(""), content_type);
    assert_eq!(
        h.content_length()
            .unwrap()
            .map(|n| n.to_string())
            .unwrap_or_default(),
        content_length
    );
    assert_eq!(m.body().len().to_string(), body_octets);
    // Folded headers are exactly the values that had to be copied.
    let owned = h
        .iter()
        .filter(|x| matches!(x.value, Cow::Owned(_)))
        .count();
    assert_eq!(owned.to_string(), folded);
    if content_type.eq_ignore_ascii_case("application/sdp") && validity != "placeholder" {
        assert!(m.body().starts_with(b"v=0\r\n") || m.body().starts_with(b"c=IN "));
    }
    round_trips(&m);
    // Framing: exact on a stream when Content-Length is present.
    if validity != "placeholder" {
        match frame(bytes, &FrameLimits::default()) {
            Ok(Some(f)) => assert_eq!(f.consumed, bytes.len()),
            Err(e) => {
                assert!(content_length.is_empty());
                assert_eq!(e.kind, FrameErrorKind::MissingContentLength);
            }
            Ok(None) => panic!("{file}: stream framing incomplete"),
        }
    }
    m.into_owned()
}

fn message_file(file: &str) -> SipMessage<'static> {
    check_message(file, &read("sip/message", file))
}

#[test]
fn message_rfc3261_s24_1_f1_register() {
    let m = message_file("rfc3261-s24.1-F1-REGISTER.sip");
    let r = m.as_request().unwrap();
    let Contact::List(c) = r.headers.contact().unwrap() else {
        panic!()
    };
    assert_eq!(c[0].uri.host, "192.0.2.4");
    assert_eq!(r.headers.expires().unwrap(), Some(7200));
    accepted(r);
}

#[test]
fn message_rfc3261_s24_1_f2_200() {
    let m = message_file("rfc3261-s24.1-F2-200.sip");
    let r = m.as_response().unwrap();
    assert_eq!(r.headers.top_via().unwrap().received(), Some("192.0.2.4"));
    assert_eq!(validate_response(r), Ok(()));
}

#[test]
fn message_rfc3261_s24_2_f1_invite() {
    let m = message_file("rfc3261-s24.2-F1-INVITE.sip");
    assert_eq!(m.body(), b"(Alice's SDP not shown)");
}

#[test]
fn message_rfc3261_s24_2_f2_100() {
    let m = message_file("rfc3261-s24.2-F2-100.sip");
    assert_eq!(m.headers().top_via().unwrap().received(), Some("192.0.2.1"));
}

#[test]
fn message_rfc3261_s24_2_f3_invite() {
    let m = message_file("rfc3261-s24.2-F3-INVITE.sip");
    let v = vias(m.headers());
    assert_eq!(v.len(), 2);
    assert_eq!(v[0].host, "bigbox3.site3.atlanta.com");
    assert_eq!(v[1].received(), Some("192.0.2.1"));
}

#[test]
fn message_rfc3261_s24_2_f4_100() {
    let m = message_file("rfc3261-s24.2-F4-100.sip");
    assert_eq!(m.headers().via_count(), 2);
}

#[test]
fn message_rfc3261_s24_2_f5_invite() {
    let m = message_file("rfc3261-s24.2-F5-INVITE.sip");
    assert_eq!(m.headers().via_count(), 3);
    assert_eq!(m.headers().max_forwards().unwrap(), Some(68));
}

#[test]
fn message_rfc3261_s24_2_f6_180() {
    let m = message_file("rfc3261-s24.2-F6-180.sip");
    let v = vias(m.headers());
    assert_eq!(v.len(), 3);
    assert_eq!(v[0].received(), Some("192.0.2.3"));
    assert_eq!(m.headers().record_route().unwrap().len(), 0);
}

#[test]
fn message_rfc3261_s24_2_f7_180() {
    let m = message_file("rfc3261-s24.2-F7-180.sip");
    assert_eq!(m.headers().via_count(), 2);
}

#[test]
fn message_rfc3261_s24_2_f8_180() {
    let m = message_file("rfc3261-s24.2-F8-180.sip");
    assert_eq!(validate_response(m.as_response().unwrap()), Ok(()));
}

#[test]
fn message_rfc3261_s24_2_f9_200() {
    let m = message_file("rfc3261-s24.2-F9-200.sip");
    assert_eq!(m.body(), b"(Bob's SDP not shown)");
}

#[test]
fn message_rfc3261_s24_2_f10_200() {
    let m = message_file("rfc3261-s24.2-F10-200.sip");
    assert_eq!(m.headers().via_count(), 2);
}

#[test]
fn message_rfc3261_s24_2_f11_200() {
    let m = message_file("rfc3261-s24.2-F11-200.sip");
    let Contact::List(c) = m.headers().contact().unwrap() else {
        panic!()
    };
    assert_eq!(c[0].uri.host, "192.0.2.4");
}

#[test]
fn message_rfc3261_s24_2_f12_ack() {
    let m = message_file("rfc3261-s24.2-F12-ACK.sip");
    accepted(m.as_request().unwrap());
}

#[test]
fn message_rfc3261_s24_2_f13_bye() {
    let m = message_file("rfc3261-s24.2-F13-BYE.sip");
    let r = m.as_request().unwrap();
    assert_eq!(r.uri.host, "pc33.atlanta.com");
    accepted(r);
}

#[test]
fn message_rfc3261_s24_2_f14_200() {
    let m = message_file("rfc3261-s24.2-F14-200.sip");
    assert_eq!(m.headers().cseq().unwrap().method, Method::Bye);
}

#[test]
fn message_rfc3428_s10_f1_message() {
    let m = message_file("rfc3428-s10-F1-MESSAGE.sip");
    let r = m.as_request().unwrap();
    assert_eq!(r.method, Method::Message);
    assert_eq!(&*r.body, b"Watson, come here.");
    assert!(
        r.headers
            .content_type()
            .unwrap()
            .unwrap()
            .is("text", "plain")
    );
    assert_eq!(r.headers.top_via().unwrap().transport, Transport::Tcp);
    accepted(r);
    // The 200 a UAS builds for it (RFC 3428 F3 without the proxy's Via).
    let mut ok = SipResponse::for_request(r, 200, "OK");
    assert!(ok.set_to_tag("ab8asdasd9"));
    let back = response(&ok.to_bytes()).into_owned();
    assert_eq!(back.headers.cseq().unwrap().to_string(), "1 MESSAGE");
    assert_eq!(back.headers.to_addr().unwrap().tag(), Some("ab8asdasd9"));
    assert_eq!(back.headers.from_addr().unwrap().tag(), Some("49583"));
    assert_eq!(validate_response(&back), Ok(()));
}

#[test]
fn message_rfc3428_s10_f2_message() {
    let m = message_file("rfc3428-s10-F2-MESSAGE.sip");
    let v = vias(m.headers());
    assert_eq!(v.len(), 2);
    assert_eq!(v[1].received(), Some("1.2.3.4"));
    assert_eq!(m.headers().max_forwards().unwrap(), Some(69));
    accepted(m.as_request().unwrap());
}

#[test]
fn message_rfc3428_s10_f3_200() {
    // `;;branch` in the second Via: tolerated (empty parameter skipped).
    let m = message_file("rfc3428-s10-F3-200.sip");
    let v = vias(m.headers());
    assert_eq!(v[1].branch(), Some("z9hG4bK776sgdkse"));
    assert_eq!(v[1].received(), Some("1.2.3.4"));
    assert_eq!(v[0].received(), Some("192.0.2.1"));
}

#[test]
fn message_rfc3428_s10_f4_200() {
    // `;;tag` in From: tolerated.
    let m = message_file("rfc3428-s10-F4-200.sip");
    assert_eq!(m.headers().from_addr().unwrap().tag(), Some("49394"));
    assert_eq!(validate_response(m.as_response().unwrap()), Ok(()));
}

#[test]
fn message_rfc3665_s3_1_f1_invite_sdp() {
    let m = message_file("rfc3665-s3.1-F1-INVITE-sdp.sip");
    assert!(m.body().starts_with(b"v=0\r\no=alice"));
    let Contact::List(c) = m.headers().contact().unwrap() else {
        panic!()
    };
    assert_eq!(c[0].uri.param("transport"), Some(Some("tcp")));
    accepted(m.as_request().unwrap());
}

#[test]
fn message_rfc3665_s3_1_f2_180() {
    let m = message_file("rfc3665-s3.1-F2-180.sip");
    assert_eq!(validate_response(m.as_response().unwrap()), Ok(()));
}

#[test]
fn message_rfc3665_s3_1_f3_200_sdp() {
    let m = message_file("rfc3665-s3.1-F3-200-sdp.sip");
    assert!(m.body().starts_with(b"v=0\r\no=bob"));
}

#[test]
fn message_rfc3665_s3_1_f4_ack() {
    let m = message_file("rfc3665-s3.1-F4-ACK.sip");
    accepted(m.as_request().unwrap());
}

#[test]
fn message_rfc3665_s3_1_f5_bye() {
    let m = message_file("rfc3665-s3.1-F5-BYE.sip");
    accepted(m.as_request().unwrap());
}

#[test]
fn message_rfc3665_s3_1_f6_200() {
    let m = message_file("rfc3665-s3.1-F6-200.sip");
    assert_eq!(m.headers().cseq().unwrap().method, Method::Bye);
}

#[test]
fn message_rfc4975_s4_fig1_200_abridged() {
    let m = message_file("rfc4975-s4-fig1-200-abridged.sip");
    assert!(m.body().windows(11).any(|w| w == b"m=message 1"));
    assert!(
        validate_response(m.as_response().unwrap()).is_err(),
        "no Via"
    );
}

#[test]
fn message_rfc4975_s4_fig1_ack_abridged() {
    let m = message_file("rfc4975-s4-fig1-ACK-abridged.sip");
    let r = m.as_request().unwrap();
    assert_eq!(r.uri.host, "biloxi");
    assert_eq!(rejected(r).error.unwrap().kind, SipErrorKind::MissingVia);
}

#[test]
fn message_rfc4975_s4_fig1_invite_abridged() {
    let m = message_file("rfc4975-s4-fig1-INVITE-abridged.sip");
    assert!(
        m.body()
            .windows(24)
            .any(|w| w == b"m=message 7654 TCP/MSRP ")
    );
    assert_eq!(m.headers().content_length().unwrap(), None);
}

#[test]
fn message_rfc7701_s9_1_f1_invite_chatroom() {
    let m = message_file("rfc7701-s9.1-F1-INVITE-chatroom.sip");
    assert!(m.body().windows(10).any(|w| w == b"a=chatroom"));
    accepted(m.as_request().unwrap());
}

/// Every corpus file has its own test above.
#[test]
fn every_corpus_file_has_a_test() {
    let src = include_str!("sip.rs");
    for (dir, prefix) in [("sip/torture", "torture_"), ("sip/message", "message_")] {
        for row in index(dir) {
            let stem = row[0].rsplit_once('.').unwrap().0;
            let name: String = stem
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() {
                        c.to_ascii_lowercase()
                    } else {
                        '_'
                    }
                })
                .collect();
            let f = format!("fn {prefix}{name}()");
            assert!(src.contains(&f), "no test {f}");
        }
    }
}

/// Every torture file, every truncation: no panic in any entry point, and
/// the stream framer never reports a frame longer than its input.
#[test]
fn torture_truncations_never_panic() {
    let limits = FrameLimits::default();
    for row in index("sip/torture") {
        let b = torture(&row[0]);
        for n in 0..=b.len() {
            let cut = &b[..n];
            if let Ok(Some(f)) = frame(cut, &limits) {
                assert!(f.consumed <= n);
                let _ = SipMessage::parse(&cut[..f.consumed]);
            }
            let _ = SipMessage::parse_head(cut);
            if let Ok(m) = parse_datagram(cut) {
                match &m {
                    SipMessage::Request(r) => {
                        let _ = validate_request(r, &["100rel"]);
                    }
                    SipMessage::Response(r) => {
                        let _ = validate_response(r);
                    }
                }
                assert_eq!(parse_datagram(&m.to_bytes()).unwrap(), m);
            }
        }
    }
}

/// Corpus messages on one stream with keep-alives between them: read in two
/// pieces split at every offset, and one byte per read, the framer yields
/// the same units, and each message frame parses to the message the file
/// holds.
#[test]
fn stream_framing_of_corpus_messages_at_every_split() {
    let files = [
        ("sip/message", "rfc3428-s10-F1-MESSAGE.sip"),
        ("sip/torture", "mpart01.dat"),
        ("sip/message", "rfc3428-s10-F3-200.sip"),
        ("sip/torture", "unreason.dat"),
        ("sip/message", "rfc3665-s3.1-F1-INVITE-sdp.sip"),
    ];
    let msgs: Vec<Vec<u8>> = files.iter().map(|(d, f)| read(d, f)).collect();
    let mut stream = b"\r\n\r\n".to_vec();
    let mut want: Vec<(FrameKind, Vec<u8>)> = vec![(FrameKind::Ping, b"\r\n\r\n".to_vec())];
    for (i, m) in msgs.iter().enumerate() {
        let msg = parse_datagram(m).unwrap();
        let body_len = msg.body().len();
        stream.extend_from_slice(m);
        want.push((
            FrameKind::Message {
                head_len: m.len() - body_len,
                body_len,
            },
            m.clone(),
        ));
        if i % 2 == 1 {
            stream.extend_from_slice(b"\r\n");
            want.push((FrameKind::Pong, b"\r\n".to_vec()));
        }
    }
    let limits = FrameLimits::default();
    let drain = |buf: &mut Vec<u8>, out: &mut Vec<(FrameKind, Vec<u8>)>| {
        while let Some(f) = frame(buf, &limits).unwrap() {
            out.push((f.kind, buf[..f.consumed].to_vec()));
            buf.drain(..f.consumed);
        }
    };
    let check = |got: &[(FrameKind, Vec<u8>)]| {
        assert_eq!(got, &want[..]);
        for (kind, bytes) in got {
            if let FrameKind::Message { .. } = kind {
                assert_eq!(SipMessage::parse(bytes), parse_datagram(bytes));
            }
        }
    };

    let mut buf = Vec::new();
    let mut got = Vec::new();
    for &b in &stream {
        buf.push(b);
        drain(&mut buf, &mut got);
    }
    assert!(buf.is_empty());
    check(&got);

    // The one-pass entry point yields the same units, byte by byte too.
    let mut buf = Vec::new();
    let mut units = Vec::new();
    for &b in &stream {
        buf.push(b);
        while let Some(u) = parse_stream(&buf, &limits).unwrap() {
            let n = u.frame.consumed;
            assert_eq!(u.message.is_some(), !u.frame.is_keep_alive());
            if let Some(m) = &u.message {
                assert_eq!(m, &parse_datagram(&buf[..n]).unwrap());
            }
            units.push((u.frame.kind, buf[..n].to_vec()));
            buf.drain(..n);
        }
    }
    assert_eq!(units, want);

    for split in 0..=stream.len() {
        let mut buf = stream[..split].to_vec();
        let mut got = Vec::new();
        drain(&mut buf, &mut got);
        buf.extend_from_slice(&stream[split..]);
        drain(&mut buf, &mut got);
        assert!(buf.is_empty(), "split {split}");
        assert_eq!(got, want, "split {split}");
    }
}

/// Fuzzer find: a folded Content-Length value; the one-pass parser and the
/// framer must report the same offset.
#[test]
fn regression_folded_content_length_offsets_agree() {
    let data = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/regressions/sip-stream-content-length-offset.bin"),
    )
    .expect("regression input");
    msrpgw::proto::properties::sip_stream(&data);
}
