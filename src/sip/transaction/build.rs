//! The requests and responses the layer writes itself.
//!
//! Owns: the ACK for a non-2xx final response (§17.1.1.3), the CANCEL of a
//! pending INVITE (§9.1), the 100 Trying and 487 of a server INVITE
//! transaction (§17.2.1, §9.2), the 200/481 answering a CANCEL, and the To
//! tags of the responses the layer builds.
//!
//! Must not: draw randomness (tags derive from the configured seed and the
//! transaction id), or add anything a dialog owns (Contact,
//! Record-Route, bodies).

use std::borrow::Cow;

use crate::proto::sip::{HeaderName, Method, SipRequest, SipResponse};

/// The Via the request was sent with: the first value of the first Via.
fn top_via_text<'a>(req: &'a SipRequest<'_>) -> Option<&'a str> {
    req.headers.values(&HeaderName::Via).next().map(|(_, v)| v)
}

fn copy(from: &SipRequest<'static>, to: &mut SipRequest<'static>, name: HeaderName<'static>) {
    let values: Vec<Cow<'static, str>> = from
        .headers
        .get_all(&name)
        .map(|h| h.value.clone())
        .collect();
    for v in values {
        to.push_header(name.clone(), v);
    }
}

/// Shared by ACK and CANCEL: Request-URI, the INVITE's top Via only,
/// Max-Forwards, the INVITE's Route set, From, then `to` (the INVITE's To
/// for CANCEL, the response's for ACK), Call-ID, CSeq number with `method`.
fn sibling(
    invite: &SipRequest<'static>,
    method: Method<'static>,
    to: Option<Cow<'static, str>>,
) -> SipRequest<'static> {
    let mut req = SipRequest::new(method.clone(), invite.uri.clone());
    if let Some(via) = top_via_text(invite) {
        req.push_header(HeaderName::Via, via.to_owned());
    }
    req.push_header(HeaderName::MaxForwards, "70");
    copy(invite, &mut req, HeaderName::Route);
    copy(invite, &mut req, HeaderName::From);
    if let Some(to) = to {
        req.push_header(HeaderName::To, to);
    }
    copy(invite, &mut req, HeaderName::CallId);
    if let Ok(cseq) = invite.headers.cseq() {
        req.push_header(HeaderName::CSeq, format!("{} {}", cseq.seq, method));
    }
    req
}

/// RFC 3261 §17.1.1.3: the ACK a client INVITE transaction sends for a
/// 300–699 response: Request-URI, Call-ID, From and CSeq number of the
/// INVITE, method ACK, To from the response (it carries the UAS's tag),
/// one Via equal to the INVITE's top Via, the INVITE's Route headers.
pub(crate) fn ack_for(
    invite: &SipRequest<'static>,
    resp: &SipResponse<'static>,
) -> SipRequest<'static> {
    let to = resp
        .headers
        .get(&HeaderName::To)
        .map(|v| Cow::Owned(v.to_owned()));
    sibling(invite, Method::Ack, to)
}

/// RFC 3261 §9.1: CANCEL with the INVITE's Request-URI, Call-ID, To, From
/// (tags included) and CSeq number, method CANCEL, a single Via equal to
/// the INVITE's top Via (same branch), and its Route headers.
pub(crate) fn cancel_for(invite: &SipRequest<'static>) -> SipRequest<'static> {
    let to = invite
        .headers
        .get(&HeaderName::To)
        .map(|v| Cow::Owned(v.to_owned()));
    sibling(invite, Method::Cancel, to)
}

/// The template a server INVITE transaction keeps: the 100 Trying it may
/// send (§8.2.6.1: Via, From, To, Call-ID, CSeq and Timestamp copied, no
/// To tag), from which the 487 is derived too.
pub(crate) fn trying_for(invite: &SipRequest<'static>) -> SipResponse<'static> {
    SipResponse::for_request(invite, 100, "Trying")
}

/// A final response derived from the 100 Trying template: no Timestamp
/// (only a 100 echoes it), a To tag added when the request had none.
pub(crate) fn final_from_template(
    template: &SipResponse<'static>,
    status: u16,
    reason: &'static str,
    tag: &str,
) -> SipResponse<'static> {
    let mut resp = template.clone();
    resp.status = status;
    resp.reason = Cow::Borrowed(reason);
    resp.headers.remove(&HeaderName::Timestamp);
    resp.set_to_tag(tag);
    resp
}

/// A response to a request the layer answers itself (CANCEL), with `tag`
/// added to To when it had none.
pub(crate) fn answer(
    req: &SipRequest<'static>,
    status: u16,
    reason: &'static str,
    tag: &str,
) -> SipResponse<'static> {
    let mut resp = SipResponse::for_request(req, status, reason);
    resp.set_to_tag(tag);
    resp
}

/// The To tag of a response, if any (owned: kept by the transaction).
pub(crate) fn to_tag(resp: &SipResponse<'_>) -> Option<Box<str>> {
    resp.headers
        .to_addr()
        .ok()
        .and_then(|a| a.tag().map(Into::into))
}

/// A To tag for a response the layer builds for transaction `id`:
/// splitmix64 of the seed and the id, in hex. Distinct per transaction,
/// and per instance when the daemon seeds it with random bits.
pub(crate) fn derived_tag(seed: u64, id: u64) -> String {
    let mut z = seed ^ id.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    format!("{z:016x}")
}
