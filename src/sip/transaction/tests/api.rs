//! The API's refusals, the cap, transport errors by destination, and the
//! RFC 3261 §24.2 / RFC 3428 §10 flows end to end.

use super::{
    ALICE, BOB, H, as_method, corpus_request, corpus_response, invite, message, reply, with_via,
};
use crate::proto::sip::{HeaderName, Method, SipMessage, SipResponse};
use crate::sip::transaction::{
    ClientState, Config, Output, ServerState, ServerTxId, TransactionError, TxId, check_branch,
};

#[test]
fn send_request_checks_the_transaction_id() {
    let mut h = H::new();
    let now = h.now;
    let mut try_send = |req| h.layer.send_request(req, BOB, false, now).map(|_| ());
    assert_eq!(
        try_send(as_method(invite(), Method::Ack)),
        Err(TransactionError::AckIsNotATransaction)
    );
    assert_eq!(
        try_send(as_method(invite(), Method::Cancel)),
        Err(TransactionError::CancelIsBuiltByLayer)
    );
    let mut no_via = invite();
    no_via.headers.remove(&HeaderName::Via);
    assert_eq!(try_send(no_via), Err(TransactionError::BadVia));
    assert_eq!(
        try_send(with_via(invite(), "SIP/2.0/UDP pc33.atlanta.com")),
        Err(TransactionError::MissingBranch)
    );
    assert_eq!(
        try_send(with_via(
            invite(),
            "SIP/2.0/UDP pc33.atlanta.com;branch=abc123"
        )),
        Err(TransactionError::BranchWithoutCookie)
    );
    let mut mismatch = invite();
    mismatch.headers.set(HeaderName::CSeq, "1 BYE");
    assert_eq!(
        try_send(mismatch),
        Err(TransactionError::CSeqMethodMismatch)
    );
    assert_eq!(try_send(invite()), Ok(()));
    assert_eq!(try_send(invite()), Err(TransactionError::DuplicateBranch));
    // The same branch for another method is another transaction (§17.1.3).
    assert_eq!(try_send(as_method(invite(), Method::Options)), Ok(()));
    assert_eq!(check_branch(&invite()), Ok(()));
    assert_eq!(
        check_branch(&with_via(invite(), "SIP/2.0/UDP a;branch=z9hG4bK")),
        Err(TransactionError::BranchWithoutCookie),
        "the cookie alone is no id"
    );
}

#[test]
fn send_response_refusals() {
    let mut h = H::new();
    let req = message();
    let tx = h.incoming(req.clone(), false);
    let mut bad = reply(&req, 200);
    bad.status = 700;
    assert_eq!(h.respond(tx, bad), Err(TransactionError::BadStatus));
    bad = reply(&req, 200);
    bad.status = 99;
    assert_eq!(h.respond(tx, bad), Err(TransactionError::BadStatus));
    assert_eq!(
        h.respond(ServerTxId(999), reply(&req, 200)),
        Err(TransactionError::UnknownTransaction)
    );
    assert_eq!(h.layer.server_state(tx), Some(ServerState::Trying));
    assert_eq!(
        TransactionError::Overloaded.to_string(),
        "too many live transactions"
    );
}

#[test]
fn cap_refuses_new_transactions_but_matches_existing_ones() {
    let mut h = H::with(Config {
        max_transactions: 2,
        ..Config::default()
    });
    let inv = invite();
    let itx = h.incoming(inv.clone(), false);
    let req = message();
    let mtx = h.incoming(req.clone(), false);
    let third = as_method(
        with_via(message(), "SIP/2.0/UDP x.example;branch=z9hG4bK3"),
        Method::Options,
    );
    assert_eq!(h.recv(third, ALICE, false), ["overloaded OPTIONS"]);
    let now = h.now;
    assert_eq!(
        h.layer
            .send_request(
                with_via(message(), "SIP/2.0/UDP gw;branch=z9hG4bKc1"),
                BOB,
                false,
                now
            )
            .err(),
        Some(TransactionError::Overloaded)
    );
    // Retransmissions, ACKs and CANCELs are still matched.
    assert_eq!(h.recv(inv.clone(), ALICE, false), ["alice 100 INVITE"]);
    assert_eq!(
        h.recv(as_method(inv, Method::Cancel), ALICE, false),
        ["alice 200 CANCEL", "alice 487 INVITE", "cancelled"]
    );
    assert_eq!(h.layer.len(), 2, "the CANCEL was answered statelessly");
    // The stateless 503 goes out through send_stateless.
    let mut busy = SipResponse::for_request(&req, 503, "Service Unavailable");
    busy.push_header(HeaderName::RetryAfter, "5");
    h.layer.send_stateless(SipMessage::Response(busy), ALICE);
    assert_eq!(h.drain(), ["alice 503 MESSAGE"]);
    // Room again once transactions end.
    h.respond(mtx, reply(&req, 200)).unwrap();
    h.recv(as_method(invite(), Method::Ack), ALICE, false);
    h.run_out();
    assert!(h.layer.server_state(itx).is_none());
    assert_eq!(
        h.recv(message(), ALICE, false),
        ["request MESSAGE from alice"]
    );
}

#[test]
fn too_many_transactions_under_one_branch_are_refused() {
    let mut h = H::new();
    for i in 0..crate::sip::transaction::MAX_PER_KEY {
        let via = format!("SIP/2.0/UDP host{i}.example;branch=z9hG4bKsame");
        assert_eq!(
            h.recv(with_via(message(), &via), ALICE, false),
            ["request MESSAGE from alice"]
        );
    }
    let via = "SIP/2.0/UDP host99.example;branch=z9hG4bKsame";
    assert_eq!(
        h.recv(with_via(message(), via), ALICE, false),
        ["overloaded MESSAGE"]
    );
}

#[test]
fn transport_error_by_destination() {
    let mut h = H::new();
    let c1 = h.send(invite(), false);
    let c2 = h.send(message(), false);
    let s1 = h.incoming(message(), false);
    h.layer.transport_error_to(&BOB);
    assert_eq!(h.drain(), ["transport error", "transport error"]);
    let ids: Vec<_> = h
        .raw
        .iter()
        .filter_map(|o| match o {
            Output::TransportError { tx } => Some(*tx),
            _ => None,
        })
        .collect();
    assert_eq!(ids, [TxId::Client(c1), TxId::Client(c2)]);
    assert_eq!(h.layer.server_state(s1), Some(ServerState::Trying));
    h.layer.transport_error_to(&ALICE);
    assert_eq!(h.drain(), ["transport error"]);
    h.assert_clean();
    // Unknown ids are ignored.
    h.layer.transport_error(TxId::Server(s1));
    assert_eq!(h.drain(), Vec::<String>::new());
}

#[test]
fn awaiting_final_lists_unanswered_requests() {
    let mut h = H::new();
    let inv = invite();
    let a = h.incoming(inv.clone(), false);
    let b = h.incoming(message(), false);
    h.respond(a, reply(&inv, 180)).unwrap();
    assert_eq!(h.layer.awaiting_final().collect::<Vec<_>>(), [a, b]);
    h.respond(a, reply(&inv, 200)).unwrap();
    assert_eq!(h.layer.awaiting_final().collect::<Vec<_>>(), [b]);
    assert_eq!(format!("{a} {}", TxId::Server(b)), "s1 s2");
}

/// RFC 3261 §24.2 seen from Bob's UA: F5 INVITE in, F6 180 and F9 200 out
/// (the user layer's), F12 ACK to the dialog, then Bob's F13 BYE and its
/// F14 200.
#[test]
fn rfc3261_24_2_session_setup_as_bob() {
    let mut h = H::new();
    let f5 = corpus_request("rfc3261-s24.2-F5-INVITE.sip");
    let tx = h.incoming(f5, false);
    let f6 = corpus_response("rfc3261-s24.2-F6-180.sip");
    assert_eq!(h.respond(tx, f6).unwrap(), ["alice 180 INVITE"]);
    let f9 = corpus_response("rfc3261-s24.2-F9-200.sip");
    assert_eq!(h.respond(tx, f9.clone()).unwrap(), ["alice 200 INVITE"]);
    assert_eq!(h.layer.server_state(tx), Some(ServerState::Accepted));
    // The user layer retransmits its 2xx until the ACK (RFC 6026).
    h.now = h.ms(500);
    assert_eq!(h.respond(tx, f9).unwrap(), ["alice 200 INVITE"]);
    // The proxy retransmits F5: absorbed.
    assert_eq!(
        h.recv(corpus_request("rfc3261-s24.2-F5-INVITE.sip"), ALICE, false),
        Vec::<String>::new()
    );
    let f12 = corpus_request("rfc3261-s24.2-F12-ACK.sip");
    assert_eq!(h.recv(f12, ALICE, false), ["ack from alice"]);
    let f13 = corpus_request("rfc3261-s24.2-F13-BYE.sip");
    let bye = h.send(f13, false);
    let f14 = corpus_response("rfc3261-s24.2-F14-200.sip");
    assert_eq!(h.recv(f14, BOB, false), ["response 200"]);
    assert_eq!(h.layer.client_state(bye), Some(ClientState::Completed));
    h.run_out();
    h.assert_clean();
}

/// RFC 3428 §10 seen from User 2: F2 MESSAGE in (two Vias, folded), F3
/// 200 out; the proxy's retransmission gets F3 again.
#[test]
fn rfc3428_10_message_as_user2() {
    let mut h = H::new();
    let f2 = corpus_request("rfc3428-s10-F2-MESSAGE.sip");
    let tx = h.incoming(f2.clone(), false);
    assert_eq!(h.raw.len(), 1, "no 100 Trying for non-INVITE");
    let f3 = corpus_response("rfc3428-s10-F3-200.sip");
    assert_eq!(h.respond(tx, f3.clone()).unwrap(), ["alice 200 MESSAGE"]);
    assert_eq!(h.recv(f2, ALICE, false), ["alice 200 MESSAGE"]);
    assert_eq!(h.sent(0), SipMessage::Response(f3));
}
