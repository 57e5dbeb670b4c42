//! Message content across the gateway (RFC 3862 CPIM, RFC 5438 IMDN).
//! Pure.
//!
//! Owns: what a pager MESSAGE's body becomes in the session
//! ([`to_session`]: wrapped in CPIM with From/To/DateTime when the peer
//! takes `message/cpim`, untouched when it takes the type as it is); what a
//! session message becomes in a MESSAGE ([`to_pager`]: CPIM unwrapped, the
//! IMDN request and ids kept aside); the delivery notification msrpgw sends
//! back into the session ([`delivery_notification`]); the CPIM `DateTime`
//! text ([`date_time`]).
//!
//! Must not: decide identities (the caller passes the SIP identity; a CPIM
//! `From` never overrides it) or read the clock (time comes in as an
//! argument).

use std::time::{SystemTime, UNIX_EPOCH};

use crate::proto::cpim::{CpimAddress, CpimMessage};
use crate::proto::imdn::{DeliveryStatus, DispositionRequest, Imdn};
use crate::session::media::RemoteMedia;

pub const CPIM: &str = "message/cpim";

/// Bodies passed through as they are even toward a CPIM-capable peer:
/// wrapping S/MIME would break what the sender signed or encrypted for
/// the recipient.
const OPAQUE: [&str; 3] = [
    "application/pkcs7-mime",
    "multipart/signed",
    "application/pkcs7-signature",
];

/// A body ready for a SEND.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionBody {
    pub content_type: String,
    pub body: Vec<u8>,
}

/// The session peer takes neither the content nor a CPIM wrapping of it
/// (the MESSAGE gets 415).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported(pub String);

fn bare_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// What a pager MESSAGE (`content_type`, `body`, from the SIP identity
/// `from` to `to`) becomes toward the session peer `peer` at `now`.
pub fn to_session(
    peer: &RemoteMedia,
    content_type: &str,
    body: &[u8],
    from: &str,
    to: &str,
    now: SystemTime,
) -> Result<SessionBody, Unsupported> {
    let bare = bare_type(content_type);
    let pass = SessionBody {
        content_type: content_type.to_owned(),
        body: body.to_vec(),
    };
    if bare == CPIM || OPAQUE.contains(&bare.as_str()) {
        return if peer.accepts(content_type) {
            Ok(pass)
        } else {
            Err(Unsupported(bare))
        };
    }
    if peer.accepts(CPIM) && peer.accepts_wrapped(content_type) {
        let wrapped = CpimMessage::builder()
            .from(CpimAddress::new(None, angle_free(from)))
            .to(CpimAddress::new(None, angle_free(to)))
            .date_time(date_time(now))
            .content_type(content_type)
            .body(body)
            .build();
        return Ok(SessionBody {
            content_type: CPIM.to_owned(),
            body: wrapped.to_bytes(),
        });
    }
    if peer.accepts(content_type) {
        return Ok(pass);
    }
    Err(Unsupported(bare))
}

/// A URI without the `<>` a name-addr may carry.
fn angle_free(uri: &str) -> &str {
    uri.trim().trim_start_matches('<').trim_end_matches('>')
}

/// A session message as the pager side gets it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PagerBody {
    pub content_type: String,
    pub body: Vec<u8>,
    /// The notifications the sender asked for, with what they need.
    pub imdn: Option<ImdnAsked>,
}

/// An IM's request for disposition notifications (RFC 5438 §6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImdnAsked {
    pub request: DispositionRequest,
    /// The IM's `imdn.Message-ID`.
    pub message_id: String,
    /// The IM's DateTime (an IMDN repeats it).
    pub date_time: String,
    /// The CPIM From and To of the IM (the notification goes back).
    pub from: String,
    pub to: String,
}

/// What a complete session message becomes in a MESSAGE: a CPIM wrapper
/// is removed (pager clients seldom read CPIM), anything else passes as it
/// is. A CPIM message that does not parse passes whole, as
/// `message/cpim`: the recipient may still make sense of it.
pub fn to_pager(content_type: Option<&str>, body: &[u8]) -> PagerBody {
    let content_type = content_type.unwrap_or("text/plain");
    let whole = PagerBody {
        content_type: content_type.to_owned(),
        body: body.to_vec(),
        imdn: None,
    };
    if bare_type(content_type) != CPIM {
        return whole;
    }
    let Ok(cpim) = CpimMessage::parse(body) else {
        return whole;
    };
    let request = DispositionRequest::from_cpim(&cpim);
    let imdn = crate::proto::imdn::message_id(&cpim)
        .filter(|_| !request.is_empty())
        .map(|id| ImdnAsked {
            request,
            message_id: id.to_owned(),
            date_time: cpim.date_time().unwrap_or_default().to_owned(),
            from: cpim
                .from()
                .and_then(Result::ok)
                .map(|a| a.uri.to_string())
                .unwrap_or_default(),
            to: cpim
                .to()
                .next()
                .and_then(Result::ok)
                .map(|a| a.uri.to_string())
                .unwrap_or_default(),
        });
    PagerBody {
        content_type: cpim.content_type().unwrap_or("text/plain").to_owned(),
        body: cpim.body.to_vec(),
        imdn,
    }
}

/// The IMDN to send back into the session once the MESSAGE's outcome is
/// known (`delivered`: a 2xx), when the sender asked for that kind; `None`
/// otherwise. `notification_id` is a fresh imdn.Message-ID.
pub fn delivery_notification(
    asked: &ImdnAsked,
    delivered: bool,
    notification_id: &str,
    now: SystemTime,
) -> Option<SessionBody> {
    let wanted = if delivered {
        asked.request.positive_delivery
    } else {
        asked.request.negative_delivery
    };
    if !wanted {
        return None;
    }
    let status = if delivered {
        DeliveryStatus::Delivered
    } else {
        DeliveryStatus::Failed
    };
    let imdn = Imdn::delivery(
        asked.message_id.as_str(),
        asked.date_time.as_str(),
        Some(asked.to.as_str().into()),
        None,
        status,
    );
    let dt = date_time(now);
    // The notification goes from the IM's recipient back to its sender.
    let cpim = imdn.to_cpim(
        CpimAddress::new(None, asked.to.as_str()),
        CpimAddress::new(None, asked.from.as_str()),
        notification_id,
        Some(&dt),
    );
    Some(SessionBody {
        content_type: CPIM.to_owned(),
        body: cpim.to_bytes(),
    })
}

/// RFC 3339 UTC time with seconds, as CPIM's DateTime wants (RFC 3862
/// §4.6.3), e.g. `2026-11-23T01:02:03Z`.
pub fn date_time(now: SystemTime) -> String {
    let secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian
/// calendar (H. Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn peer(types: &[&str], wrapped: &[&str]) -> RemoteMedia {
        RemoteMedia {
            path: Vec::new(),
            setup: None,
            cema: false,
            max_size: None,
            accept_types: types.iter().map(|s| s.to_string()).collect(),
            accept_wrapped_types: wrapped.iter().map(|s| s.to_string()).collect(),
            tls: false,
        }
    }

    const T: u64 = 1_795_395_723; // 2026-11-23T01:02:03Z

    fn at() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(T)
    }

    #[test]
    fn date_time_is_rfc3339_utc() {
        assert_eq!(date_time(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(date_time(at()), "2026-11-23T01:02:03Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(date_time(leap), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn cpim_peers_get_wrapped_content_with_identities() {
        let p = peer(&["message/cpim", "text/plain"], &["*"]);
        let b = to_session(&p, "text/plain", b"hi", "sip:a@x", "<sip:b@y>", at()).expect("ok");
        assert_eq!(b.content_type, "message/cpim");
        let cpim = CpimMessage::parse(&b.body).expect("CPIM");
        assert_eq!(cpim.from().expect("from").expect("parses").uri, "sip:a@x");
        assert_eq!(cpim.date_time(), Some("2026-11-23T01:02:03Z"));
        assert_eq!(cpim.content_type(), Some("text/plain"));
        assert_eq!(cpim.body.as_ref(), b"hi");
    }

    #[test]
    fn other_peers_get_content_as_it_is_or_415() {
        let plain = peer(&["text/plain"], &[]);
        let b = to_session(&plain, "text/plain", b"hi", "sip:a@x", "sip:b@y", at()).expect("ok");
        assert_eq!(
            (b.content_type.as_str(), b.body.as_slice()),
            ("text/plain", &b"hi"[..])
        );
        assert!(to_session(&plain, "image/png", b"x", "a", "b", at()).is_err());
        // S/MIME passes untouched to a peer that takes it, even with CPIM.
        let smime = peer(&["message/cpim", "application/pkcs7-mime"], &["*"]);
        let b = to_session(
            &smime,
            "application/pkcs7-mime",
            b"\x30\x80",
            "a",
            "b",
            at(),
        )
        .expect("ok");
        assert_eq!(b.content_type, "application/pkcs7-mime");
        // CPIM only, with nothing wrapped allowed for the type: refused.
        let cpim_text = peer(&["message/cpim"], &["text/plain"]);
        assert!(to_session(&cpim_text, "image/png", b"x", "a", "b", at()).is_err());
    }

    #[test]
    fn session_cpim_is_unwrapped_with_its_imdn_request() {
        let im = b"From: <sip:c@x>\r\nTo: <sip:d@y>\r\nNS: imdn <urn:ietf:params:imdn>\r\n\
imdn.Message-ID: 34jk324j\r\nDateTime: 2026-11-23T01:00:00Z\r\n\
imdn.Disposition-Notification: positive-delivery, negative-delivery\r\n\r\n\
Content-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello";
        let p = to_pager(Some("message/cpim"), im);
        assert_eq!(p.content_type, "text/plain");
        assert_eq!(p.body, b"hello");
        let asked = p.imdn.expect("asked");
        assert_eq!(asked.message_id, "34jk324j");
        assert!(asked.request.positive_delivery && asked.request.negative_delivery);
        let n = delivery_notification(&asked, true, "n1", at()).expect("positive");
        let cpim = CpimMessage::parse(&n.body).expect("CPIM");
        assert_eq!(cpim.content_type(), Some("message/imdn+xml"));
        let imdn = Imdn::parse(&cpim.body).expect("IMDN");
        assert_eq!(imdn.message_id, "34jk324j");
        assert_eq!(imdn.datetime, "2026-11-23T01:00:00Z");
        assert!(delivery_notification(&asked, false, "n2", at()).is_some());
        // Plain content passes; no request, no notification.
        let p = to_pager(Some("text/plain"), b"x");
        assert_eq!((p.content_type.as_str(), p.imdn), ("text/plain", None));
        let broken = to_pager(Some("message/cpim"), b"\x00garbage");
        assert_eq!(broken.content_type, "message/cpim");
    }
}
