//! Corpus and round-trip tests for the cpim and imdn codecs: one test per
//! file of tests/fixtures/corpus/msrp/cpim, each checking the headers its
//! msrp/INDEX.tsv row lists (in order, split between the CPIM block and the
//! encapsulated MIME block), parse(encode(m)) == m, and what the RFC
//! describes: addresses, namespaces, IMDN requests and notification bodies.

use std::borrow::Cow;

use msrpgw::proto::cpim::{self, CpimErrorKind, CpimMessage, Header};
use msrpgw::proto::imdn::{
    self, DeliveryStatus, DisplayStatus, DispositionRequest, Imdn, Notification, ProcessingStatus,
};

use crate::corpus;

const DIR: &str = "msrp";

const FILES: &[&str] = &[
    "cpim/rfc3862-s5.1-cpim.cpim",
    "cpim/rfc3862-s5.2-multipart-signed.cpim",
    "cpim/rfc5438-s7.1.1.3-im-disposition-notification.cpim",
    "cpim/rfc5438-s7.2.1.1-imdn-delivery.cpim",
    "cpim/rfc5438-s7.2.1.2-imdn-display.cpim",
    "cpim/rfc5438-s8.1-imdn-processing.cpim",
    "cpim/rfc5438-s8.3-imdn-aggregated-multipart.cpim",
];

/// The INDEX.tsv columns that describe a CPIM body.
struct Row {
    message_id: String,
    content_type: String,
    other_fields: String,
    body_octets: usize,
}

fn row(file: &str) -> Row {
    let r = corpus::row(DIR, file);
    Row {
        message_id: r[8].clone(),
        content_type: r[11].clone(),
        other_fields: r[12].clone(),
        body_octets: r[13].parse().expect("body_octets"),
    }
}

fn read(file: &str) -> Vec<u8> {
    let (sub, name) = file.split_once('/').unwrap();
    corpus::read(&format!("{DIR}/{sub}"), name)
}

/// A header the way INDEX.tsv writes it: `Name=;param=v value`.
fn index_form(h: &Header<'_>) -> String {
    let mut s = format!("{}=", h.name);
    for p in &h.params {
        s.push_str(&format!(";{p}"));
    }
    if !h.params.is_empty() {
        s.push(' ');
    }
    s.push_str(&h.value);
    s
}

/// Asserts that `want` occur in `headers` in that order.
fn in_order(file: &str, headers: &[Header<'_>], want: &[&str]) {
    let have: Vec<String> = headers.iter().map(index_form).collect();
    let mut from = 0;
    for w in want {
        let at = have[from..]
            .iter()
            .position(|h| h == w)
            .unwrap_or_else(|| panic!("{file}: {w} missing or out of order in {have:?}"));
        from += at + 1;
    }
}

/// Parses a message/cpim file and checks it against its INDEX.tsv row and
/// the encoder round trip.
fn check(file: &str) -> (Vec<u8>, CpimMessage<'static>) {
    let bytes = read(file);
    let row = row(file);
    assert_eq!(bytes.len(), row.body_octets, "{file}: fixture size");
    let m = cpim::parse(&bytes)
        .unwrap_or_else(|e| panic!("{file}: {e}"))
        .into_owned();

    let fields: Vec<&str> = row
        .other_fields
        .split(" ; ")
        .map(|f| f.trim_start_matches("[encapsulated MIME headers] "))
        .collect();
    let (mime, cpim_fields): (Vec<&str>, Vec<&str>) = fields
        .iter()
        .partition(|f| f.to_ascii_lowercase().starts_with("content-"));
    in_order(file, &m.headers, &cpim_fields);
    in_order(file, &m.mime_headers, &mime);
    assert_eq!(
        m.content_type().unwrap_or_default(),
        row.content_type,
        "{file}"
    );
    assert_eq!(
        imdn::message_id(&m).unwrap_or_default(),
        row.message_id,
        "{file}: imdn.Message-ID"
    );

    let encoded = m.to_bytes();
    assert_eq!(cpim::parse(&encoded).unwrap(), m, "{file}: round trip");
    for cut in 0..bytes.len() {
        let _ = cpim::parse(&bytes[..cut]);
    }
    (bytes, m)
}

fn addr(r: Option<Result<cpim::CpimAddress<'_>, cpim::CpimError>>) -> (String, String) {
    let a = r.expect("address header").expect("valid address");
    (
        a.display_name.map(Cow::into_owned).unwrap_or_default(),
        a.uri.into_owned(),
    )
}

fn pair(name: &str, uri: &str) -> (String, String) {
    (name.to_owned(), uri.to_owned())
}

/// The RFC 3862 §5 example headers, shared by §5.1 and §5.2.
fn rfc3862_example(m: &CpimMessage<'_>, to_name: &str) {
    assert_eq!(
        addr(m.from()),
        pair("MR SANDERS", "im:piglet@100akerwood.com")
    );
    let to: Vec<_> = m.to().map(|a| addr(Some(a))).collect();
    assert_eq!(to, [pair(to_name, "im:eeyore@100akerwood.com")]);
    assert_eq!(m.cc().count(), 0);
    assert_eq!(m.date_time(), Some("2000-12-13T13:40:00-08:00"));
    let subjects: Vec<_> = m
        .subjects()
        .map(|(l, t)| (l.map(str::to_owned), t.into_owned()))
        .collect();
    assert_eq!(
        subjects,
        [
            (None, "the weather will be fine today".to_owned()),
            (
                Some("fr".to_owned()),
                "beau temps prevu pour aujourd'hui".to_owned()
            ),
        ]
    );
    let ns: Vec<_> = m.namespaces().map(Result::unwrap).collect();
    assert_eq!(ns.len(), 1);
    assert_eq!(ns[0].prefix, Some("MyFeatures"));
    assert_eq!(ns[0].uri, "mid:MessageFeatures@id.foo.com");
    assert_eq!(
        m.require().collect::<Vec<_>>(),
        ["MyFeatures.VitalMessageOption"]
    );
    let feature = |name| {
        m.find_ns("mid:MessageFeatures@id.foo.com", name)
            .map(|h| h.value.to_string())
    };
    assert_eq!(
        feature("VitalMessageOption").as_deref(),
        Some("Confirmation-requested")
    );
    assert_eq!(
        feature("WackyMessageOption").as_deref(),
        Some("Use-silly-font")
    );
    // Prefixed headers are not in the default namespace.
    assert!(
        m.find_ns(cpim::CPIM_HEADERS_NS, "WackyMessageOption")
            .is_none()
    );
    assert_eq!(m.content_type(), Some("text/xml; charset=utf-8"));
    assert_eq!(
        m.mime_header("content-id").map(|h| &*h.value),
        Some("<1234567890@foo.com>")
    );
    assert_eq!(m.content_length(), None);
}

/// The RFC 5438 IMDN bodies all describe the IM `34jk324j`, sent at
/// 2008-04-04T12:16:49-05:00 to im:bob@example.com.
fn imdn_body(body: &[u8], want: Notification) -> Imdn<'_> {
    let n = imdn::parse(body).unwrap_or_else(|e| panic!("IMDN: {e}"));
    assert_eq!(n.message_id, "34jk324j");
    assert_eq!(n.datetime, "2008-04-04T12:16:49-05:00");
    assert_eq!(n.recipient_uri.as_deref(), Some("im:bob@example.com"));
    // Printed with the '>' of the start tag on the next line.
    assert_eq!(
        n.original_recipient_uri.as_deref(),
        Some("im:bob@example.com")
    );
    assert_eq!(n.subject, None);
    assert_eq!(n.notification, want);
    assert_eq!(imdn::parse(&n.to_bytes()).unwrap(), n, "IMDN round trip");
    for cut in 0..body.len() {
        let _ = imdn::parse(&body[..cut]);
    }
    n
}

/// RFC 5438 notifications (§7.2.1.1, §7.2.1.2, §8.1) share this shape.
fn notification_headers(m: &CpimMessage<'_>) {
    assert_eq!(addr(m.from()), pair("Bob", "im:bob@example.com"));
    let to: Vec<_> = m.to().map(|a| addr(Some(a))).collect();
    assert_eq!(to, [pair("Alice", "im:alice@example.com")]);
    assert_eq!(
        m.mime_header("Content-Disposition").map(|h| &*h.value),
        Some("notification")
    );
    // "Content-length: ..." as printed: not a number, not trusted.
    assert_eq!(m.content_length(), None);
    assert!(DispositionRequest::from_cpim(m).is_empty());
}

#[test]
fn cpim_rfc3862_s5_1_cpim() {
    let (bytes, m) = check("cpim/rfc3862-s5.1-cpim.cpim");
    assert_eq!(m.headers.len(), 9);
    assert_eq!(m.mime_headers.len(), 2);
    rfc3862_example(&m, "Depressed Donkey");
    assert_eq!(
        &*m.body,
        b"<body>\r\nHere is the text of my message.\r\n</body>\r\n"
    );
    assert!(imdn::message_id(&m).is_none());
    // Canonical as printed: re-encoding gives the same bytes.
    assert_eq!(m.to_bytes(), bytes);
}

#[test]
fn cpim_rfc3862_s5_2_multipart_signed() {
    let bytes = read("cpim/rfc3862-s5.2-multipart-signed.cpim");
    assert_eq!(
        bytes.len(),
        row("cpim/rfc3862-s5.2-multipart-signed.cpim").body_octets
    );
    // The file is the multipart/signed body, not a message/cpim one: the
    // CPIM parser says so at the first byte.
    let e = cpim::parse(&bytes).unwrap_err();
    assert_eq!((e.kind, e.offset), (CpimErrorKind::MissingColon, 0));

    // The outer header the corpus omitted (RFC 3862 §5.2, unfolded).
    let boundary = cpim::multipart_boundary(
        "multipart/signed; boundary=next; micalg=sha1; protocol=application/pkcs7-signature",
    )
    .unwrap();
    assert_eq!(boundary, "next");
    let parts = cpim::split_multipart(&bytes, &boundary).unwrap();
    assert_eq!(parts.len(), 2);
    assert_eq!(
        parts[0].header("Content-Type").map(|h| &*h.value),
        Some("Message/CPIM")
    );
    let m = cpim::parse(parts[0].body).unwrap();
    assert_eq!(m.headers.len(), 9);
    rfc3862_example(&m, "Dopey Donkey");
    // The CRLF before "--next" belongs to the delimiter (RFC 2046 §5.1.1).
    assert_eq!(
        &*m.body,
        b"<body>\r\nHere is the text of my message.\r\n</body>"
    );
    assert_eq!(
        m.to_bytes(),
        parts[0].body,
        "signed bytes re-encode exactly"
    );
    assert_eq!(cpim::parse(&m.to_bytes()).unwrap(), m);
    assert_eq!(
        parts[1].header("content-type").map(|h| &*h.value),
        Some("application/pkcs7-signature")
    );
    assert_eq!(parts[1].body, b"(signature stuff)\r\n    :");
}

#[test]
fn cpim_rfc5438_s7_1_1_3_im_disposition_notification() {
    let (_, m) = check("cpim/rfc5438-s7.1.1.3-im-disposition-notification.cpim");
    // No empty line before Content-type as printed: the Content- header
    // starts the MIME block.
    let names: Vec<&str> = m.headers.iter().map(|h| &*h.name).collect();
    assert_eq!(
        names,
        [
            "From",
            "To",
            "NS",
            "imdn.Message-ID",
            "DateTime",
            "imdn.Disposition-Notification"
        ]
    );
    assert_eq!(m.mime_headers.len(), 2);
    assert_eq!(addr(m.from()), pair("Alice", "im:alice@example.com"));
    assert_eq!(m.date_time(), Some("2006-04-04T12:16:49-05:00"));
    assert_eq!(imdn::message_id(&m), Some("34jk324j"));
    let req = DispositionRequest::from_cpim(&m);
    assert_eq!(
        req,
        DispositionRequest {
            positive_delivery: true,
            negative_delivery: true,
            processing: false,
            display: false,
        }
    );
    // Content-length says 12; the content is the 13 bytes present.
    assert_eq!(m.content_length(), Some(12));
    assert_eq!(&*m.body, b"Hello World\r\n");
    // The encoder writes the empty line RFC 3862 §2 requires.
    let text = String::from_utf8(m.to_bytes()).unwrap();
    assert!(text.contains(
        "imdn.Disposition-Notification: positive-delivery, negative-delivery\r\n\r\nContent-type: text/plain\r\n"
    ));
}

#[test]
fn cpim_rfc5438_s7_2_1_1_imdn_delivery() {
    let (_, m) = check("cpim/rfc5438-s7.2.1.1-imdn-delivery.cpim");
    notification_headers(&m);
    assert_eq!(m.content_type(), Some(imdn::CONTENT_TYPE));
    imdn_body(&m.body, Notification::Delivery(DeliveryStatus::Delivered));
}

#[test]
fn cpim_rfc5438_s7_2_1_2_imdn_display() {
    let (_, m) = check("cpim/rfc5438-s7.2.1.2-imdn-display.cpim");
    notification_headers(&m);
    assert_eq!(imdn::message_id(&m), Some("dfjkleriou432333"));
    imdn_body(&m.body, Notification::Display(DisplayStatus::Displayed));
}

#[test]
fn cpim_rfc5438_s8_1_imdn_processing() {
    let (_, m) = check("cpim/rfc5438-s8.1-imdn-processing.cpim");
    notification_headers(&m);
    // No NS and no imdn.Message-ID in this example.
    assert_eq!(m.namespaces().count(), 0);
    assert_eq!(imdn::message_id(&m), None);
    imdn_body(
        &m.body,
        Notification::Processing(ProcessingStatus::Processed),
    );
}

#[test]
fn cpim_rfc5438_s8_3_imdn_aggregated_multipart() {
    let (_, m) = check("cpim/rfc5438-s8.3-imdn-aggregated-multipart.cpim");
    notification_headers(&m);
    // The folded Content-type is unfolded.
    let ct = m.content_type().unwrap();
    assert_eq!(ct, "multipart/mixed; boundary=\"imdn-boundary\"");
    let boundary = cpim::multipart_boundary(ct).unwrap();
    assert_eq!(boundary, "imdn-boundary");
    // No closing "--imdn-boundary--" as printed: the parts still split.
    let parts = cpim::split_multipart(&m.body, &boundary).unwrap();
    assert_eq!(parts.len(), 2);
    for p in &parts {
        assert_eq!(
            p.header("Content-Type").map(|h| &*h.value),
            Some(imdn::CONTENT_TYPE)
        );
        assert!(p.body.ends_with(b"</imdn>\r\n"));
    }
    imdn_body(
        parts[0].body,
        Notification::Delivery(DeliveryStatus::Delivered),
    );
    imdn_body(
        parts[1].body,
        Notification::Display(DisplayStatus::Displayed),
    );
}

#[test]
fn every_cpim_index_row_has_a_test() {
    corpus::assert_index_lists(DIR, |f| f.starts_with("cpim/"), FILES);
}

/// What msrpgw sends: a CPIM-wrapped IM asking for delivery notifications,
/// and the notification a recipient returns, both read back by the parsers.
#[test]
fn cpim_built_im_and_imdn_round_trip() {
    let im = CpimMessage::builder()
        .from(cpim::CpimAddress::new(
            Some("Alice".into()),
            "sip:alice@example.com",
        ))
        .to(cpim::CpimAddress::new(None, "sip:bob@example.com"))
        .date_time("2006-04-04T12:16:49-05:00")
        .ns_header(imdn::IMDN_NS, "imdn", "Message-ID", "34jk324j")
        .ns_header(
            imdn::IMDN_NS,
            "imdn",
            "Disposition-Notification",
            "positive-delivery, negative-delivery",
        )
        .content_type("text/plain")
        .body(&b"Hello World"[..])
        .build();
    let bytes = im.to_bytes();
    let back = cpim::parse(&bytes).unwrap();
    assert_eq!(back, im);
    assert_eq!(imdn::message_id(&back), Some("34jk324j"));
    let req = DispositionRequest::from_cpim(&back);
    assert!(req.positive_delivery && req.negative_delivery);

    let n = Imdn::delivery(
        imdn::message_id(&back).unwrap(),
        back.date_time().unwrap(),
        Some("sip:bob@example.com".into()),
        Some("sip:bob@example.com".into()),
        DeliveryStatus::Failed,
    );
    let wrapped = n.to_cpim(
        cpim::CpimAddress::new(None, "sip:bob@example.com"),
        cpim::CpimAddress::new(Some("Alice".into()), "sip:alice@example.com"),
        "dd7x",
        Some("2006-04-04T12:16:50-05:00"),
    );
    let wire = wrapped.to_bytes();
    let got = cpim::parse(&wire).unwrap();
    assert_eq!(got, wrapped);
    assert_eq!(got.content_type(), Some(imdn::CONTENT_TYPE));
    assert_eq!(imdn::parse(&got.body).unwrap(), n);
}

/// Fuzzer find: a quoted parameter value with a run of HTABs.
#[test]
fn cpim_regression_tabs_in_quoted_param_round_trip() {
    let data = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/regressions/cpim-fold-in-quoted-param.bin"),
    )
    .expect("regression input");
    msrpgw::proto::properties::cpim(&data);
}
