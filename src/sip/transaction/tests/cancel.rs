//! CANCEL (RFC 3261 §9): sent by the layer for a pending client INVITE,
//! answered by the layer for a server one.

use super::{ALICE, BOB, H, as_method, invite, message, reply, secs};
use crate::proto::sip::{HeaderName, Method, SipMessage};
use crate::sip::transaction::{
    ClientState, Config, Output, ServerState, TransactionError, TransactionLayer,
};

#[test]
fn cancel_in_proceeding_follows_9_1() {
    let mut h = H::new();
    let mut inv = invite();
    inv.push_header(HeaderName::Route, "<sip:p1.example.com;lr>");
    let tx = h.send(inv.clone(), false);
    h.recv(reply(&inv, 180), BOB, false);
    h.layer.cancel(tx, h.now).unwrap();
    assert_eq!(h.drain(), ["bob CANCEL"]);
    let cancel = h.sent(0);
    let cancel = cancel.as_request().unwrap().clone();
    assert_eq!(cancel.uri, inv.uri);
    let vias: Vec<_> = cancel.headers.vias().map(Result::unwrap).collect();
    assert_eq!(vias.len(), 1);
    assert_eq!(
        vias[0].branch(),
        Some("z9hG4bKnashds8"),
        "the INVITE's branch"
    );
    for name in [
        HeaderName::CallId,
        HeaderName::To,
        HeaderName::From,
        HeaderName::Route,
    ] {
        assert_eq!(cancel.headers.get(&name), inv.headers.get(&name), "{name}");
    }
    let cseq = cancel.headers.cseq().unwrap();
    assert_eq!((cseq.seq, cseq.method), (314159, Method::Cancel));
    assert_eq!(cancel.headers.max_forwards().unwrap(), Some(70));
    // The CANCEL's 200 is the layer's business; the 487 is the user's.
    assert_eq!(
        h.recv(reply(&cancel, 200), BOB, false),
        Vec::<String>::new()
    );
    assert_eq!(
        h.recv(reply(&inv, 487), BOB, false),
        ["bob ACK", "response 487"]
    );
    assert_eq!(h.layer.client_state(tx), Some(ClientState::Completed));
    // Cancelling now is too late.
    assert_eq!(
        h.layer.cancel(tx, h.now),
        Err(TransactionError::FinalAlreadyReceived)
    );
    h.run_out();
    h.assert_clean();
}

#[test]
fn cancel_before_any_provisional_waits_for_one() {
    let mut h = H::new();
    let inv = invite();
    let tx = h.send(inv.clone(), false);
    h.layer.cancel(tx, h.now).unwrap();
    h.layer.cancel(tx, h.now).unwrap();
    assert_eq!(
        h.drain(),
        Vec::<String>::new(),
        "§9.1: not before a provisional"
    );
    assert_eq!(
        h.recv(reply(&inv, 100), BOB, false),
        ["response 100", "bob CANCEL"]
    );
    // Once only.
    h.layer.cancel(tx, h.now).unwrap();
    assert_eq!(h.recv(reply(&inv, 180), BOB, false), ["response 180"]);
}

#[test]
fn cancel_before_provisional_and_a_final_instead_sends_nothing() {
    let mut h = H::new();
    let inv = invite();
    let tx = h.send(inv.clone(), false);
    h.layer.cancel(tx, h.now).unwrap();
    assert_eq!(h.recv(reply(&inv, 200), BOB, false), ["response 200"]);
    h.run_out();
    h.assert_clean();
}

#[test]
fn no_final_64_t1_after_cancel_times_the_invite_out() {
    let mut h = H::new();
    let inv = invite();
    let tx = h.send(inv.clone(), false);
    h.now = h.ms(1000);
    h.recv(reply(&inv, 180), BOB, false);
    h.layer.cancel(tx, h.now).unwrap();
    h.drain();
    let steps = h.run_out();
    let timeouts: Vec<_> = steps
        .iter()
        .filter(|(_, out)| out.iter().any(|o| o == "timeout"))
        .map(|(at, _)| *at)
        .collect();
    assert_eq!(timeouts, [secs(33)], "once, 64·T1 after the CANCEL");
    // The CANCEL was retransmitted (unreliable), its own timeout silent.
    assert!(steps.iter().any(|(_, out)| out == &["bob CANCEL"]));
    assert_eq!(h.layer.client_state(tx), None);
    h.assert_clean();
}

#[test]
fn cancel_refusals() {
    let mut h = H::new();
    let mtx = h.send(message(), false);
    assert_eq!(h.layer.cancel(mtx, h.now), Err(TransactionError::NotInvite));
    let inv = invite();
    let tx = h.send(inv.clone(), true);
    h.recv(reply(&inv, 200), BOB, true);
    assert_eq!(
        h.layer.cancel(tx, h.now),
        Err(TransactionError::FinalAlreadyReceived)
    );
    h.run_out();
    assert_eq!(
        h.layer.cancel(tx, h.now),
        Err(TransactionError::UnknownTransaction)
    );
}

#[test]
fn received_cancel_answers_200_and_487_with_one_to_tag() {
    let mut h = H::new();
    let inv = invite();
    let tx = h.incoming(inv.clone(), false);
    let cancel = as_method(inv.clone(), Method::Cancel);
    assert_eq!(
        h.recv(cancel.clone(), ALICE, false),
        ["alice 200 CANCEL", "alice 487 INVITE", "cancelled"]
    );
    let ok = h.sent(0);
    let terminated = h.sent(1);
    let (ok, terminated) = (ok.as_response().unwrap(), terminated.as_response().unwrap());
    assert_eq!(terminated.reason, "Request Terminated");
    assert_eq!(terminated.headers.cseq().unwrap().method, Method::Invite);
    assert_eq!(terminated.headers.get(&HeaderName::Timestamp), None);
    let tag = ok.headers.to_addr().unwrap().tag().map(str::to_owned);
    assert!(tag.is_some(), "final responses carry a To tag");
    assert_eq!(
        terminated
            .headers
            .to_addr()
            .unwrap()
            .tag()
            .map(str::to_owned),
        tag
    );
    assert!(matches!(h.raw[2], Output::Cancelled { tx: t } if t == tx));
    // The user layer's answer comes too late and is refused.
    assert_eq!(
        h.respond(tx, reply(&inv, 200)),
        Err(TransactionError::FinalAlreadySent)
    );
    // CANCEL retransmitted: 200 again, nothing else.
    assert_eq!(h.recv(cancel, ALICE, false), ["alice 200 CANCEL"]);
    // The ACK for the 487 confirms the INVITE transaction.
    assert_eq!(
        h.recv(as_method(inv, Method::Ack), ALICE, false),
        Vec::<String>::new()
    );
    assert_eq!(h.layer.server_state(tx), Some(ServerState::Confirmed));
    h.run_out();
    h.assert_clean();
}

#[test]
fn received_cancel_reuses_the_provisional_to_tag() {
    let mut h = H::new();
    let inv = invite();
    let tx = h.incoming(inv.clone(), false);
    h.respond(tx, reply(&inv, 180)).unwrap();
    h.recv(as_method(inv, Method::Cancel), ALICE, false);
    for i in 0..2 {
        let m = h.sent(i);
        assert_eq!(
            m.as_response().unwrap().headers.to_addr().unwrap().tag(),
            Some("uas1")
        );
    }
}

#[test]
fn cancel_matching_nothing_gets_481() {
    let mut h = H::new();
    let cancel = as_method(invite(), Method::Cancel);
    assert_eq!(h.recv(cancel.clone(), ALICE, false), ["alice 481 CANCEL"]);
    assert_eq!(
        h.sent(0).as_response().unwrap().reason,
        "Call/Transaction Does Not Exist"
    );
    // Kept for Timer J so a retransmission gets the same answer.
    assert_eq!(h.recv(cancel, ALICE, false), ["alice 481 CANCEL"]);
    assert_eq!(h.layer.len(), 1);
    // Over a reliable transport nothing is kept.
    let mut h = H::new();
    assert_eq!(
        h.recv(as_method(invite(), Method::Cancel), ALICE, true),
        ["alice 481 CANCEL"]
    );
    h.assert_clean();
}

#[test]
fn tags_come_from_the_seed() {
    let tag = |seed| {
        let mut layer: TransactionLayer<&str> = TransactionLayer::with_config(Config {
            tag_seed: seed,
            ..Config::default()
        });
        let now = std::time::Instant::now();
        let cancel = as_method(invite(), Method::Cancel);
        layer.receive(SipMessage::Request(cancel), ALICE, false, now);
        match layer.poll_output() {
            Some(Output::Transmit { message, .. }) => message
                .as_response()
                .and_then(|r| r.headers.to_addr().ok())
                .and_then(|a| a.tag().map(str::to_owned)),
            _ => None,
        }
    };
    assert_eq!(tag(1), tag(1));
    assert_ne!(tag(1), tag(2));
}
