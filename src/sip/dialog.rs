//! SIP dialogs (RFC 3261 §12): the state an INVITE creates on either side,
//! and the requests built inside it.
//!
//! Owns: [`Dialog`] (Call-ID, tags, CSeq numbers, route set from
//! Record-Route, remote target from Contact, created as UAC §12.1.2 or UAS
//! §12.1.1), in-dialog request construction with the route-set rules of
//! §12.2.1.1 (loose and strict routing), ACK for a 2xx (§13.2.2.4), the
//! CSeq check on received requests (§12.2.2), target refresh.
//!
//! Must not: generate randomness (tags, branches and Call-IDs come from
//! the caller), send anything, or hold transactions. Pure.

use std::fmt;

use crate::proto::sip::addr::NameAddr;
use crate::proto::sip::uri::Uri;
use crate::proto::sip::{Contact, HeaderName, Method, SipRequest, SipResponse};

/// Identifies a dialog from this side: Call-ID, our tag, the peer's tag.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DialogId {
    pub call_id: String,
    pub local_tag: String,
    pub remote_tag: String,
}

impl DialogId {
    /// The dialog a received request belongs to (§12.2.2: local tag = To
    /// tag, remote tag = From tag). `None` without a To tag (not
    /// in-dialog) or without the headers.
    pub fn of_request(req: &SipRequest<'_>) -> Option<DialogId> {
        let h = &req.headers;
        let to = h.to_addr().ok()?;
        let from = h.from_addr().ok()?;
        Some(DialogId {
            call_id: h.call_id().ok()?.to_owned(),
            local_tag: to.tag()?.to_owned(),
            remote_tag: from.tag().unwrap_or_default().to_owned(),
        })
    }

    /// The dialog a response to one of our requests belongs to (local tag
    /// = From tag, remote tag = To tag).
    pub fn of_response(resp: &SipResponse<'_>) -> Option<DialogId> {
        let h = &resp.headers;
        Some(DialogId {
            call_id: h.call_id().ok()?.to_owned(),
            local_tag: h.from_addr().ok()?.tag()?.to_owned(),
            remote_tag: h.to_addr().ok()?.tag()?.to_owned(),
        })
    }
}

impl fmt::Display for DialogId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.call_id)
    }
}

/// Why a dialog could not be created or a request not accepted in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialogError {
    /// A header a dialog needs is missing or malformed.
    Missing(&'static str),
    /// The 2xx has no To tag (UAC) or our response lacks one (UAS).
    NoTag,
    /// No usable Contact in the request or response (§12.1.1, §12.1.2).
    NoContact,
    /// A request in the dialog with a CSeq lower than one already seen
    /// (§12.2.2: answer 500).
    CSeqOutOfOrder,
}

impl DialogError {
    pub const fn description(self) -> &'static str {
        match self {
            DialogError::Missing(_) => "missing or malformed dialog header",
            DialogError::NoTag => "missing dialog tag",
            DialogError::NoContact => "missing or unusable Contact",
            DialogError::CSeqOutOfOrder => "CSeq lower than a previous request",
        }
    }
}

impl fmt::Display for DialogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DialogError::Missing(h) => write!(f, "missing or malformed {h}"),
            other => f.write_str(other.description()),
        }
    }
}

/// One INVITE-created dialog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialog {
    pub id: DialogId,
    /// Our address with our tag (From of our requests).
    pub local: NameAddr<'static>,
    /// The peer's address with its tag (To of our requests).
    pub remote: NameAddr<'static>,
    /// Where in-dialog requests go: the peer's Contact.
    pub remote_target: Uri<'static>,
    /// Record-Route as our requests must carry it, in order.
    pub route_set: Vec<NameAddr<'static>>,
    /// CSeq of our last request in the dialog.
    pub local_seq: u32,
    /// Highest CSeq the peer used in the dialog (`None`: none seen).
    pub remote_seq: Option<u32>,
    /// CSeq of the INVITE that created the dialog (its ACK reuses it).
    pub invite_seq: u32,
    /// sips: Request-URI or TLS-secured.
    pub secure: bool,
}

fn missing(h: &'static str) -> DialogError {
    DialogError::Missing(h)
}

fn first_contact(c: Option<Contact<'_>>) -> Result<Uri<'static>, DialogError> {
    match c {
        Some(Contact::List(list)) => list
            .into_iter()
            .next()
            .map(|a| a.uri.into_owned())
            .ok_or(DialogError::NoContact),
        _ => Err(DialogError::NoContact),
    }
}

fn owned_routes(list: Vec<NameAddr<'_>>) -> Vec<NameAddr<'static>> {
    list.into_iter().map(NameAddr::into_owned).collect()
}

/// §12.1.1: a UAS copies every Record-Route of the request into the
/// response that establishes the dialog, in order, so that the caller's
/// route set (its ACK, its BYE) goes through the same proxies as ours.
/// A response that carries Record-Route already is left alone.
pub fn copy_record_route(request: &SipRequest<'_>, response: &mut SipResponse<'_>) {
    if response.headers.count(&HeaderName::RecordRoute) > 0 {
        return;
    }
    for h in request.headers.get_all(&HeaderName::RecordRoute) {
        response.push_header(HeaderName::RecordRoute, h.value.to_string());
    }
}

impl Dialog {
    /// The dialog we (UAS) create by answering `invite` with the 2xx
    /// `ours` (which carries our To tag), §12.1.1: route set = the
    /// request's Record-Route in order, remote target = its Contact.
    pub fn uas(invite: &SipRequest<'_>, ours: &SipResponse<'_>) -> Result<Dialog, DialogError> {
        let h = &invite.headers;
        let call_id = h.call_id().map_err(|_| missing("Call-ID"))?.to_owned();
        let remote = h.from_addr().map_err(|_| missing("From"))?.into_owned();
        let local = ours
            .headers
            .to_addr()
            .map_err(|_| missing("To"))?
            .into_owned();
        let local_tag = local.tag().ok_or(DialogError::NoTag)?.to_owned();
        let cseq = h.cseq().map_err(|_| missing("CSeq"))?.seq;
        let remote_target = first_contact(h.contact().ok())?;
        let route_set = owned_routes(h.record_route().map_err(|_| missing("Record-Route"))?);
        Ok(Dialog {
            id: DialogId {
                call_id,
                local_tag,
                remote_tag: remote.tag().unwrap_or_default().to_owned(),
            },
            secure: invite.uri.scheme == crate::proto::sip::uri::Scheme::Sips,
            local,
            remote,
            remote_target,
            route_set,
            local_seq: 0,
            remote_seq: Some(cseq),
            invite_seq: cseq,
        })
    }

    /// The dialog our INVITE `invite` gets from the 2xx `resp` (UAC),
    /// §12.1.2: route set = the response's Record-Route reversed, remote
    /// target = its Contact, our CSeq continues from the INVITE's.
    pub fn uac(invite: &SipRequest<'_>, resp: &SipResponse<'_>) -> Result<Dialog, DialogError> {
        let rh = &resp.headers;
        let call_id = invite
            .headers
            .call_id()
            .map_err(|_| missing("Call-ID"))?
            .to_owned();
        let local = invite
            .headers
            .from_addr()
            .map_err(|_| missing("From"))?
            .into_owned();
        let remote = rh.to_addr().map_err(|_| missing("To"))?.into_owned();
        let remote_tag = remote.tag().ok_or(DialogError::NoTag)?.to_owned();
        let local_tag = local.tag().ok_or(DialogError::NoTag)?.to_owned();
        let cseq = invite.headers.cseq().map_err(|_| missing("CSeq"))?.seq;
        let remote_target = first_contact(rh.contact().ok())?;
        let mut route_set = owned_routes(rh.record_route().map_err(|_| missing("Record-Route"))?);
        route_set.reverse();
        Ok(Dialog {
            id: DialogId {
                call_id,
                local_tag,
                remote_tag,
            },
            secure: invite.uri.scheme == crate::proto::sip::uri::Scheme::Sips,
            local,
            remote,
            remote_target,
            route_set,
            local_seq: cseq,
            remote_seq: None,
            invite_seq: cseq,
        })
    }

    /// §12.2.2 for a request received in the dialog: a CSeq lower than
    /// one seen is refused (the caller answers 500); otherwise it is
    /// remembered. ACK and CANCEL reuse their INVITE's number and are not
    /// checked.
    pub fn check_remote_cseq(&mut self, req: &SipRequest<'_>) -> Result<(), DialogError> {
        if matches!(req.method, Method::Ack | Method::Cancel) {
            return Ok(());
        }
        let seq = req.headers.cseq().map_err(|_| missing("CSeq"))?.seq;
        if self.remote_seq.is_some_and(|r| seq < r) {
            return Err(DialogError::CSeqOutOfOrder);
        }
        self.remote_seq = Some(self.remote_seq.map_or(seq, |r| r.max(seq)));
        Ok(())
    }

    /// A target refresh (re-INVITE, §12.2.2): a Contact in the request
    /// replaces the remote target.
    pub fn refresh_target(&mut self, req: &SipRequest<'_>) {
        if let Ok(uri) = first_contact(req.headers.contact().ok()) {
            self.remote_target = uri;
        }
    }

    /// The Request-URI and Route headers of an in-dialog request,
    /// §12.2.1.1: loose routing (first route has `lr`, or none) sends to
    /// the remote target with the route set as Route; strict routing puts
    /// the first route in the Request-URI and appends the remote target.
    fn target_and_routes(&self) -> (Uri<'static>, Vec<String>) {
        match self.route_set.first() {
            None => (self.remote_target.clone(), Vec::new()),
            Some(first) if first.uri.lr() => (
                self.remote_target.clone(),
                self.route_set.iter().map(ToString::to_string).collect(),
            ),
            Some(first) => {
                let mut uri = first.uri.clone();
                // A Request-URI may not carry headers or method (§19.1.1).
                uri.headers.clear();
                uri.params
                    .retain(|p| !p.name.eq_ignore_ascii_case("method"));
                let mut routes: Vec<String> = self.route_set[1..]
                    .iter()
                    .map(ToString::to_string)
                    .collect();
                routes.push(format!("<{}>", self.remote_target));
                (uri, routes)
            }
        }
    }

    /// Where an in-dialog request goes first: the first Route's URI, else
    /// the Request-URI (RFC 3261 §8.1.2).
    pub fn next_hop(&self) -> &Uri<'static> {
        self.route_set
            .first()
            .map_or(&self.remote_target, |r| &r.uri)
    }

    /// A new request in the dialog (BYE, re-INVITE, ...), §12.2.1.1: our
    /// CSeq advances; `contact` is our Contact URI (for target-refresh
    /// requests). It has no Via: the SIP stack adds the top Via (fresh
    /// branch) when it sends the request.
    pub fn request(&mut self, method: Method<'static>, contact: &Uri<'_>) -> SipRequest<'static> {
        self.local_seq = self.local_seq.wrapping_add(1).max(1);
        let seq = self.local_seq;
        self.build(method, seq, Some(contact))
    }

    /// The ACK for a 2xx to our INVITE (§13.2.2.4): CSeq number of the
    /// INVITE, method ACK, routed like any in-dialog request; Via as for
    /// [`Self::request`].
    pub fn ack(&self) -> SipRequest<'static> {
        self.build(Method::Ack, self.invite_seq, None)
    }

    fn build(
        &self,
        method: Method<'static>,
        seq: u32,
        contact: Option<&Uri<'_>>,
    ) -> SipRequest<'static> {
        let (uri, routes) = self.target_and_routes();
        let cseq = format!("{seq} {}", method.as_str());
        let is_invite = method == Method::Invite;
        let mut req = SipRequest::new(method, uri);
        req.push_header(HeaderName::MaxForwards, "70");
        req.push_header(HeaderName::From, self.local.to_string());
        req.push_header(HeaderName::To, self.remote.to_string());
        req.push_header(HeaderName::CallId, self.id.call_id.clone());
        req.push_header(HeaderName::CSeq, cseq);
        for r in routes {
            req.push_header(HeaderName::Route, r);
        }
        if let (Some(c), true) = (contact, is_invite) {
            req.push_header(HeaderName::Contact, format!("<{c}>"));
        }
        req
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::sip::{SipMessage, parse_datagram};

    fn corpus(file: &str) -> Vec<u8> {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/corpus/sip/message")
            .join(file);
        std::fs::read(p).expect("corpus file")
    }

    /// The corpus' §24.2 messages print "(SDP not shown)" as the body, so
    /// Content-Length does not match: read the headers only.
    fn head(bytes: &[u8]) -> SipMessage<'static> {
        SipMessage::parse_head(bytes).expect("parses").into_owned()
    }

    fn request(bytes: &[u8]) -> SipRequest<'static> {
        match parse_datagram(bytes).expect("parses").into_owned() {
            SipMessage::Request(r) => r,
            SipMessage::Response(_) => panic!("not a request"),
        }
    }

    /// RFC 3261 §24.2: Alice's INVITE (F1) and the 200 that reaches her
    /// (F11), then her ACK and BYE (compare F12 and F13).
    #[test]
    fn uac_dialog_from_rfc3261_flow() {
        let SipMessage::Request(invite) = head(&corpus("rfc3261-s24.2-F1-INVITE.sip")) else {
            panic!("F1 is a request");
        };
        let SipMessage::Response(ok) = head(&corpus("rfc3261-s24.2-F11-200.sip")) else {
            panic!("F11 is a response");
        };
        let mut d = Dialog::uac(&invite, &ok).expect("dialog");
        assert_eq!(d.id.call_id, "a84b4c76e66710");
        assert_eq!(d.id.local_tag, "1928301774");
        assert_eq!(d.id.remote_tag, "a6c85cf");
        assert_eq!(d.remote_target.to_string(), "sip:bob@192.0.2.4");
        assert!(d.route_set.is_empty(), "F11 has no Record-Route");
        assert_eq!(d.invite_seq, 314159);
        let ack = d.ack();
        // F12: ACK sip:bob@192.0.2.4 with CSeq 314159 ACK.
        assert_eq!(ack.uri.to_string(), "sip:bob@192.0.2.4");
        assert_eq!(ack.headers.cseq().expect("cseq").seq, 314159);
        assert_eq!(ack.method, Method::Ack);
        assert_eq!(
            ack.headers.count(&HeaderName::Via),
            0,
            "the stack adds the Via"
        );
        let contact = Uri::sip(Some("alice"), "pc33.atlanta.com", None);
        let bye = d.request(Method::Bye, &contact);
        // F13 is Bob's BYE; ours carries the same dialog identifiers.
        assert_eq!(bye.headers.cseq().expect("cseq").seq, 314160);
        assert_eq!(
            bye.headers.from_addr().expect("from").tag(),
            Some("1928301774")
        );
        assert_eq!(bye.headers.to_addr().expect("to").tag(), Some("a6c85cf"));
        assert_eq!(bye.headers.call_id().expect("call-id"), "a84b4c76e66710");
        assert_eq!(
            DialogId::of_response(&ok).expect("id"),
            d.id,
            "responses map back to the dialog"
        );
        assert_eq!(d.next_hop(), &d.remote_target);
    }

    /// Record-Route in the 2xx is reversed into the UAC's route set.
    #[test]
    fn uac_route_set_is_reversed() {
        let invite = request(&invite_with(&[]));
        let mut resp = our_ok(&invite);
        resp.push_header(HeaderName::Contact, "<sip:bob@203.0.113.5>");
        resp.push_header(HeaderName::RecordRoute, "<sip:p2.example.com;lr>");
        resp.push_header(HeaderName::RecordRoute, "<sip:p1.example.com;lr>");
        let d = Dialog::uac(&invite, &resp).expect("dialog");
        let routes: Vec<String> = d.route_set.iter().map(|r| r.uri.to_string()).collect();
        assert_eq!(routes, ["sip:p1.example.com;lr", "sip:p2.example.com;lr"]);
        assert_eq!(d.local_seq, 7);
    }

    fn invite_with(rr: &[&str]) -> Vec<u8> {
        let mut s = String::from(
            "INVITE sip:bob@gw.example.net SIP/2.0\r\n\
             Via: SIP/2.0/UDP p1.example.com;branch=z9hG4bK1\r\n\
             From: Alice <sip:alice@atlanta.example.com>;tag=a1\r\n\
             To: <sip:bob@gw.example.net>\r\n\
             Call-ID: c1\r\n\
             CSeq: 7 INVITE\r\n\
             Contact: <sip:alice@192.0.2.1:5070>\r\n",
        );
        for r in rr {
            s.push_str(&format!("Record-Route: {r}\r\n"));
        }
        s.push_str("Content-Length: 0\r\n\r\n");
        s.into_bytes()
    }

    fn our_ok(invite: &SipRequest<'_>) -> SipResponse<'static> {
        let mut r = SipResponse::for_request(invite, 200, "OK").into_owned();
        r.set_to_tag("gw9");
        r
    }

    /// §12.1.1: the 2xx carries the request's Record-Route, in order.
    #[test]
    fn uas_answer_carries_the_record_route() {
        let invite = request(&invite_with(&[
            "<sip:p1.example.com;lr>",
            "<sip:p2.example.com;lr>, <sip:p3.example.com;lr>",
        ]));
        let mut ok = our_ok(&invite);
        copy_record_route(&invite, &mut ok);
        let rr: Vec<String> = ok
            .headers
            .record_route()
            .expect("parses")
            .iter()
            .map(|r| r.uri.to_string())
            .collect();
        assert_eq!(
            rr,
            [
                "sip:p1.example.com;lr",
                "sip:p2.example.com;lr",
                "sip:p3.example.com;lr"
            ]
        );
        // Once only.
        copy_record_route(&invite, &mut ok);
        assert_eq!(ok.headers.count(&HeaderName::RecordRoute), 2);
        let plain = request(&invite_with(&[]));
        let mut ok = our_ok(&plain);
        copy_record_route(&plain, &mut ok);
        assert_eq!(ok.headers.count(&HeaderName::RecordRoute), 0);
    }

    #[test]
    fn uas_dialog_loose_routing_and_cseq_rules() {
        let invite = request(&invite_with(&[
            "<sip:p1.example.com;lr>",
            "<sip:p2.example.com;lr>",
        ]));
        let ok = our_ok(&invite);
        let mut d = Dialog::uas(&invite, &ok).expect("dialog");
        assert_eq!(d.id.local_tag, "gw9");
        assert_eq!(d.id.remote_tag, "a1");
        assert_eq!(d.remote_seq, Some(7));
        let contact = Uri::sip(Some("gw"), "192.0.2.9", Some(5060));
        let bye = d.request(Method::Bye, &contact);
        assert_eq!(bye.uri.to_string(), "sip:alice@192.0.2.1:5070");
        let routes: Vec<String> = bye
            .headers
            .route()
            .expect("route")
            .iter()
            .map(|r| r.uri.to_string())
            .collect();
        assert_eq!(routes, ["sip:p1.example.com;lr", "sip:p2.example.com;lr"]);
        assert_eq!(d.next_hop().to_string(), "sip:p1.example.com;lr");
        assert_eq!(bye.headers.from_addr().expect("from").tag(), Some("gw9"));
        assert_eq!(bye.headers.to_addr().expect("to").tag(), Some("a1"));
        assert_eq!(bye.headers.cseq().expect("cseq").seq, 1);
        // The peer's BYE in the dialog is recognised and its CSeq checked.
        let peer_bye = request(
            b"BYE sip:gw@192.0.2.9 SIP/2.0\r\nVia: SIP/2.0/UDP p1;branch=z9hG4bK2\r\n\
From: <sip:alice@atlanta.example.com>;tag=a1\r\nTo: <sip:bob@gw.example.net>;tag=gw9\r\n\
Call-ID: c1\r\nCSeq: 8 BYE\r\nContent-Length: 0\r\n\r\n",
        );
        assert_eq!(DialogId::of_request(&peer_bye).as_ref(), Some(&d.id));
        assert_eq!(d.check_remote_cseq(&peer_bye), Ok(()));
        assert_eq!(d.remote_seq, Some(8));
        let old = request(
            b"INFO sip:gw@192.0.2.9 SIP/2.0\r\nVia: SIP/2.0/UDP p1;branch=z9hG4bK3\r\n\
From: <sip:alice@atlanta.example.com>;tag=a1\r\nTo: <sip:bob@gw.example.net>;tag=gw9\r\n\
Call-ID: c1\r\nCSeq: 5 INFO\r\nContent-Length: 0\r\n\r\n",
        );
        assert_eq!(d.check_remote_cseq(&old), Err(DialogError::CSeqOutOfOrder));
    }

    #[test]
    fn strict_routing_puts_the_route_in_the_request_uri() {
        let invite = request(&invite_with(&["<sip:strict.example.com;method=INVITE>"]));
        let mut d = Dialog::uas(&invite, &our_ok(&invite)).expect("dialog");
        let contact = Uri::sip(Some("gw"), "192.0.2.9", None);
        let bye = d.request(Method::Bye, &contact);
        assert_eq!(bye.uri.to_string(), "sip:strict.example.com");
        let routes = bye.headers.route().expect("route");
        assert_eq!(routes.len(), 1);
        assert_eq!(routes[0].uri.to_string(), "sip:alice@192.0.2.1:5070");
    }

    #[test]
    fn dialog_needs_contact_and_tags() {
        let no_contact = request(
            b"INVITE sip:b@c SIP/2.0\r\nVia: SIP/2.0/UDP p;branch=z9hG4bK1\r\n\
From: <sip:a@b>;tag=1\r\nTo: <sip:b@c>\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\n\
Content-Length: 0\r\n\r\n",
        );
        let ok = our_ok(&no_contact);
        assert_eq!(Dialog::uas(&no_contact, &ok), Err(DialogError::NoContact));
        let invite = request(&invite_with(&[]));
        let untagged = SipResponse::for_request(&invite, 200, "OK");
        assert_eq!(Dialog::uas(&invite, &untagged), Err(DialogError::NoTag));
        let target = d_target(&invite);
        assert_eq!(target, "sip:alice@192.0.2.1:5070");
    }

    fn d_target(invite: &SipRequest<'_>) -> String {
        let d = Dialog::uas(invite, &our_ok(invite)).expect("dialog");
        d.remote_target.to_string()
    }

    #[test]
    fn target_refresh_replaces_remote_target() {
        let invite = request(&invite_with(&[]));
        let mut d = Dialog::uas(&invite, &our_ok(&invite)).expect("dialog");
        let reinvite = request(
            b"INVITE sip:gw@192.0.2.9 SIP/2.0\r\nVia: SIP/2.0/UDP p;branch=z9hG4bK9\r\n\
From: <sip:alice@atlanta.example.com>;tag=a1\r\nTo: <sip:bob@gw.example.net>;tag=gw9\r\n\
Call-ID: c1\r\nCSeq: 9 INVITE\r\nContact: <sip:alice@198.51.100.7>\r\n\
Content-Length: 0\r\n\r\n",
        );
        d.refresh_target(&reinvite);
        assert_eq!(d.remote_target.to_string(), "sip:alice@198.51.100.7");
    }
}
