//! Matching (RFC 3261 §17.1.3, §17.2.3, RFC 2543 fallback, ACK and CANCEL).

use super::{ALICE, BOB, H, as_method, invite, message, reply, with_via};
use crate::proto::sip::uri::Uri;
use crate::proto::sip::{HeaderName, Method, SipRequest};
use crate::sip::transaction::{ClientState, ServerState};

fn set(
    mut req: SipRequest<'static>,
    name: HeaderName<'static>,
    value: &str,
) -> SipRequest<'static> {
    req.headers.set(name, value.to_owned());
    req
}

#[test]
fn response_matches_by_branch_and_cseq_method() {
    let mut h = H::new();
    let inv = invite();
    let tx = h.send(inv.clone(), false);
    // Another branch: nobody's.
    let mut other = reply(&inv, 180);
    other.headers.set(
        HeaderName::Via,
        "SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bKother",
    );
    assert_eq!(h.recv(other, BOB, false), ["stray 180 INVITE"]);
    // Same branch, CSeq method CANCEL: the (absent) CANCEL transaction's.
    let mut cancel_resp = reply(&inv, 200);
    cancel_resp.headers.set(HeaderName::CSeq, "314159 CANCEL");
    assert_eq!(h.recv(cancel_resp, BOB, false), ["stray 200 CANCEL"]);
    // Branch compared case-insensitively; sent-by does not matter (§17.1.3).
    let mut upper = reply(&inv, 180);
    upper.headers.set(
        HeaderName::Via,
        "SIP/2.0/UDP elsewhere.example;branch=Z9HG4BKNASHDS8",
    );
    assert_eq!(h.recv(upper, BOB, false), ["response 180"]);
    assert_eq!(h.layer.client_state(tx), Some(ClientState::Proceeding));
}

#[test]
fn unkeyable_messages_are_stray_with_the_reason() {
    let mut h = H::new();
    let mut no_via = reply(&invite(), 200);
    no_via.headers.remove(&HeaderName::Via);
    assert_eq!(
        h.recv(no_via, BOB, false),
        ["stray 200 INVITE: missing or malformed top Via"]
    );
    let mut no_branch = reply(&invite(), 200);
    no_branch
        .headers
        .set(HeaderName::Via, "SIP/2.0/UDP pc33.atlanta.com");
    assert_eq!(
        h.recv(no_branch, BOB, false),
        ["stray 200 INVITE: top Via has no branch parameter"]
    );
    let mut no_cseq = reply(&invite(), 200);
    no_cseq.headers.remove(&HeaderName::CSeq);
    assert_eq!(
        h.recv(no_cseq, BOB, false),
        ["stray 200 : missing or malformed CSeq"]
    );

    let mut bad_status = reply(&invite(), 200);
    bad_status.status = 42;
    assert_eq!(
        h.recv(bad_status, BOB, false),
        ["stray 42 INVITE: status code not in 100..699"]
    );

    let bad_via = with_via(invite(), "garbage");
    assert_eq!(
        h.recv(bad_via, ALICE, false),
        ["stray INVITE: missing or malformed top Via"]
    );
    let mismatch = set(invite(), HeaderName::CSeq, "314159 BYE");
    assert_eq!(
        h.recv(mismatch, ALICE, false),
        ["stray INVITE: CSeq method differs from request method"]
    );
    // RFC 2543 requests need Call-ID, From and To to be matched at all.
    let old = with_via(invite(), "SIP/2.0/UDP pc33.atlanta.com");
    let mut no_call_id = old.clone();
    no_call_id.headers.remove(&HeaderName::CallId);
    assert_eq!(
        h.recv(no_call_id, ALICE, false),
        ["stray INVITE: missing or malformed Call-ID"]
    );
    let mut no_from = old.clone();
    no_from.headers.remove(&HeaderName::From);
    assert_eq!(
        h.recv(no_from, ALICE, false),
        ["stray INVITE: missing or malformed From"]
    );
    let mut no_to = old;
    no_to.headers.remove(&HeaderName::To);
    assert_eq!(
        h.recv(no_to, ALICE, false),
        ["stray INVITE: missing or malformed To"]
    );
    assert!(h.layer.is_empty());
}

#[test]
fn server_key_is_branch_sent_by_and_method() {
    let mut h = H::new();
    let req = message();
    let tx = h.incoming(req.clone(), false);
    h.respond(tx, reply(&req, 200)).unwrap();
    // Retransmission: same branch, sent-by (host case-insensitive), method.
    let same = with_via(
        req.clone(),
        "SIP/2.0/TCP USER1PC.domain.com;branch=z9hG4bK776SGDKSE",
    );
    assert_eq!(h.recv(same, ALICE, false), ["alice 200 MESSAGE"]);
    // Another sent-by host, or a port where there was none: new requests.
    let other_host = with_via(
        req.clone(),
        "SIP/2.0/TCP user9pc.domain.com;branch=z9hG4bK776sgdkse",
    );
    assert_eq!(
        h.recv(other_host, ALICE, false),
        ["request MESSAGE from alice"]
    );
    let other_port = with_via(
        req.clone(),
        "SIP/2.0/TCP user1pc.domain.com:5060;branch=z9hG4bK776sgdkse",
    );
    assert_eq!(
        h.recv(other_port, ALICE, false),
        ["request MESSAGE from alice"]
    );
    // Same branch and sent-by, another method: another transaction.
    let options = as_method(req, Method::Options);
    assert_eq!(
        h.recv(options, ALICE, false),
        ["request OPTIONS from alice"]
    );
    assert_eq!(h.layer.len(), 4);
}

#[test]
fn ack_matches_the_invite_by_branch_and_a_2xx_ack_passes_up() {
    let mut h = H::new();
    let inv = invite();
    let tx = h.incoming(inv.clone(), false);
    h.respond(tx, reply(&inv, 404)).unwrap();
    // An ACK with another branch is for a 2xx: the dialog's.
    let f12 = super::corpus_request("rfc3261-s24.2-F12-ACK.sip");
    assert_eq!(h.recv(f12, ALICE, false), ["ack from alice"]);
    assert_eq!(h.layer.server_state(tx), Some(ServerState::Completed));
    // The ACK for the 404 carries the INVITE's branch.
    assert_eq!(
        h.recv(as_method(inv, Method::Ack), ALICE, false),
        Vec::<String>::new()
    );
    assert_eq!(h.layer.server_state(tx), Some(ServerState::Confirmed));
    // ACKs never create transactions.
    assert_eq!(h.layer.len(), 1);
}

/// An RFC 2543 INVITE: no branch in its Via.
fn old_invite() -> SipRequest<'static> {
    with_via(invite(), "SIP/2.0/UDP pc33.atlanta.com")
}

#[test]
fn rfc2543_retransmission_matches_on_uri_tags_call_id_cseq_via() {
    let mut h = H::new();
    let inv = old_invite();
    let tx = h.incoming(inv.clone(), false);
    // Same request: a retransmission (answered with 100 Trying).
    assert_eq!(h.recv(inv.clone(), ALICE, false), ["alice 100 INVITE"]);
    // Equivalent, not identical: URI host case (§19.1.4), Via spacing and case.
    let mut equivalent = with_via(inv.clone(), "SIP/2.0/UDP   PC33.atlanta.com");
    equivalent.uri = Uri::parse("sip:bob@BILOXI.com").unwrap().into_owned();
    assert_eq!(h.recv(equivalent, ALICE, false), ["alice 100 INVITE"]);
    // A branch without the cookie is RFC 2543 too: the Via differs, new.
    let cookie_less = with_via(inv.clone(), "SIP/2.0/UDP pc33.atlanta.com;branch=1234");
    assert_eq!(
        h.recv(cookie_less, ALICE, false),
        ["request INVITE from alice"]
    );
    // Each of the matched fields, changed, makes another transaction.
    let mut other_uri = inv.clone();
    other_uri.uri = Uri::parse("sip:carol@biloxi.com").unwrap().into_owned();
    assert_eq!(
        h.recv(other_uri, ALICE, false),
        ["request INVITE from alice"]
    );
    let other_from = set(
        inv.clone(),
        HeaderName::From,
        "Alice <sip:alice@atlanta.com>;tag=other",
    );
    assert_eq!(
        h.recv(other_from, ALICE, false),
        ["request INVITE from alice"]
    );
    let other_to = set(
        inv.clone(),
        HeaderName::To,
        "Bob <sip:bob@biloxi.com>;tag=x",
    );
    assert_eq!(
        h.recv(other_to, ALICE, false),
        ["request INVITE from alice"]
    );
    let other_call = set(inv.clone(), HeaderName::CallId, "other@atlanta.com");
    assert_eq!(
        h.recv(other_call, ALICE, false),
        ["request INVITE from alice"]
    );
    let other_cseq = set(inv.clone(), HeaderName::CSeq, "314160 INVITE");
    assert_eq!(
        h.recv(other_cseq, ALICE, false),
        ["request INVITE from alice"]
    );
    assert_eq!(h.layer.len(), 7);
    assert_eq!(h.layer.server_state(tx), Some(ServerState::Proceeding));
}

#[test]
fn rfc2543_ack_matches_the_to_tag_of_the_response() {
    let mut h = H::new();
    let inv = old_invite();
    let tx = h.incoming(inv.clone(), false);
    h.respond(tx, reply(&inv, 486)).unwrap(); // To tag uas1
    let ack = as_method(inv.clone(), Method::Ack);
    // Without the response's tag: not this transaction's ACK.
    assert_eq!(h.recv(ack.clone(), ALICE, false), ["ack from alice"]);
    assert_eq!(h.layer.server_state(tx), Some(ServerState::Completed));
    let ack = set(ack, HeaderName::To, "Bob <sip:bob@biloxi.com>;tag=UAS1");
    assert_eq!(h.recv(ack, ALICE, false), Vec::<String>::new());
    assert_eq!(h.layer.server_state(tx), Some(ServerState::Confirmed));
}

#[test]
fn rfc2543_ack_for_a_2xx_matches_accepted_and_passes_up() {
    let mut h = H::new();
    let inv = old_invite();
    let tx = h.incoming(inv.clone(), false);
    h.respond(tx, reply(&inv, 200)).unwrap();
    let ack = set(
        as_method(inv, Method::Ack),
        HeaderName::To,
        "Bob <sip:bob@biloxi.com>;tag=uas1",
    );
    assert_eq!(h.recv(ack, ALICE, false), ["ack from alice"]);
    assert_eq!(h.layer.server_state(tx), Some(ServerState::Accepted));
}

#[test]
fn rfc2543_cancel_finds_the_invite() {
    let mut h = H::new();
    let inv = old_invite();
    let tx = h.incoming(inv.clone(), false);
    let cancel = as_method(inv.clone(), Method::Cancel);
    assert_eq!(
        h.recv(cancel.clone(), ALICE, false),
        ["alice 200 CANCEL", "alice 487 INVITE", "cancelled"]
    );
    assert_eq!(h.layer.server_state(tx), Some(ServerState::Completed));
    // Its retransmission is absorbed by the CANCEL's own transaction.
    assert_eq!(h.recv(cancel, ALICE, false), ["alice 200 CANCEL"]);
    // A CANCEL for another CSeq matches nothing.
    let stray = set(as_method(inv, Method::Cancel), HeaderName::CSeq, "1 CANCEL");
    assert_eq!(h.recv(stray, ALICE, false), ["alice 481 CANCEL"]);
}

#[test]
fn cancel_matches_by_branch_and_sent_by() {
    let mut h = H::new();
    let inv = invite();
    let tx = h.incoming(inv.clone(), false);
    let elsewhere = with_via(
        as_method(inv.clone(), Method::Cancel),
        "SIP/2.0/UDP evil.example.com;branch=z9hG4bKnashds8",
    );
    assert_eq!(h.recv(elsewhere, ALICE, false), ["alice 481 CANCEL"]);
    assert_eq!(h.layer.server_state(tx), Some(ServerState::Proceeding));
    let cancel = as_method(inv, Method::Cancel);
    assert_eq!(
        h.recv(cancel, ALICE, false),
        ["alice 200 CANCEL", "alice 487 INVITE", "cancelled"]
    );
}

#[test]
fn client_and_server_transactions_with_one_branch_stay_apart() {
    // A request looping back to msrpgw with its own branch starts a server
    // transaction; the client transaction still gets the response.
    let mut h = H::new();
    let req = message();
    let ctx = h.send(req.clone(), false);
    let stx = h.incoming(req.clone(), false);
    h.respond(stx, reply(&req, 482)).unwrap();
    assert_eq!(h.sent(0).as_response().map(|r| r.status), Some(482));
    assert_eq!(h.recv(reply(&req, 482), BOB, false), ["response 482"]);
    assert_eq!(h.layer.client_state(ctx), Some(ClientState::Completed));
}
