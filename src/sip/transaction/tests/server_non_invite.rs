//! Server non-INVITE transaction (RFC 3261 §17.2.2): every state × every
//! input, unreliable and reliable.

use std::time::Duration;

use super::super::ServerState::{self, Completed, Proceeding, Trying};
use super::server_invite::finish;
use super::{ALICE, H, NON_2XX_FINALS, as_method, message, reply, secs};
use crate::proto::sip::{Method, SipRequest};
use crate::sip::transaction::{ServerTxId, TxId};

#[derive(Debug, Clone, Copy)]
enum In {
    Retransmission,
    Cancel,
    /// The user layer sends 100.
    Provisional,
    Success,
    Failure,
    Fire,
    TransportError,
}

struct Case {
    reliable: bool,
    state: ServerState,
    input: In,
    out: &'static [&'static str],
    when: Option<Duration>,
    next: Option<ServerState>,
}

const REFUSED: &[&str] = &["refused: final response already sent"];

fn setup(state: ServerState, reliable: bool) -> (H, ServerTxId, SipRequest<'static>) {
    let mut h = H::new();
    let req = message();
    let tx = h.incoming(req.clone(), reliable);
    let steps: &[u16] = match state {
        Trying => &[],
        Proceeding => &[100],
        Completed => &[100, 200],
        _ => unreachable!("not a non-INVITE state"),
    };
    for &s in steps {
        h.respond(tx, reply(&req, s)).unwrap();
    }
    assert_eq!(h.layer.server_state(tx), Some(state));
    (h, tx, req)
}

fn cases() -> Vec<Case> {
    let c = |reliable, state, input, out, when, next| Case {
        reliable,
        state,
        input,
        out,
        when,
        next,
    };
    let mut v = Vec::new();
    for reliable in [false, true] {
        let after_final = if reliable { None } else { Some(Completed) };
        for (state, resent) in [(Trying, &[][..]), (Proceeding, &["alice 100 MESSAGE"][..])] {
            v.extend([
                c(
                    reliable,
                    state,
                    In::Retransmission,
                    resent,
                    None,
                    Some(state),
                ),
                // CANCEL of a non-INVITE: 200, no other effect (§9.2).
                c(
                    reliable,
                    state,
                    In::Cancel,
                    &["alice 200 CANCEL"],
                    None,
                    Some(state),
                ),
                c(
                    reliable,
                    state,
                    In::Provisional,
                    &["alice 100 MESSAGE"],
                    None,
                    Some(Proceeding),
                ),
                c(
                    reliable,
                    state,
                    In::Success,
                    &["alice 200 MESSAGE"],
                    None,
                    after_final,
                ),
                c(
                    reliable,
                    state,
                    In::Failure,
                    &["alice * MESSAGE"],
                    None,
                    after_final,
                ),
                c(reliable, state, In::Fire, &[], None, Some(state)),
                c(
                    reliable,
                    state,
                    In::TransportError,
                    &["transport error"],
                    None,
                    None,
                ),
            ]);
        }
    }
    v.extend([
        c(
            false,
            Completed,
            In::Retransmission,
            &["alice 200 MESSAGE"][..],
            None,
            Some(Completed),
        ),
        c(
            false,
            Completed,
            In::Cancel,
            &["alice 200 CANCEL"],
            None,
            Some(Completed),
        ),
        c(
            false,
            Completed,
            In::Provisional,
            REFUSED,
            None,
            Some(Completed),
        ),
        c(
            false,
            Completed,
            In::Success,
            REFUSED,
            None,
            Some(Completed),
        ),
        c(
            false,
            Completed,
            In::Failure,
            REFUSED,
            None,
            Some(Completed),
        ),
        c(false, Completed, In::Fire, &[], Some(secs(32)), None), // Timer J = 64·T1
        c(false, Completed, In::TransportError, &[], None, None),
    ]);
    v
}

fn run(case: &Case, failure: u16) {
    let (mut h, tx, req) = setup(case.state, case.reliable);
    let what = format!(
        "{:?} {:?} reliable={} status={failure}",
        case.state, case.input, case.reliable
    );
    let respond = |h: &mut H, status: u16| match h.respond(tx, reply(&req, status)) {
        Ok(out) => out,
        Err(e) => vec![format!("refused: {e}")],
    };
    let out = match case.input {
        In::Retransmission => h.recv(req.clone(), ALICE, case.reliable),
        In::Cancel => h.recv(as_method(req.clone(), Method::Cancel), ALICE, case.reliable),
        In::Provisional => respond(&mut h, 100),
        In::Success => respond(&mut h, 200),
        In::Failure => respond(&mut h, failure),
        In::Fire => {
            // A CANCEL transaction may hold timers of its own; none here.
            match h.fire() {
                None => {
                    assert_eq!(case.when, None, "{what}: a timer should be armed");
                    Vec::new()
                }
                Some((at, out)) => {
                    assert_eq!(Some(at), case.when, "{what}: timer value");
                    out
                }
            }
        }
        In::TransportError => {
            h.layer.transport_error(TxId::Server(tx));
            h.drain()
        }
    };
    let expected: Vec<String> = case
        .out
        .iter()
        .map(|s| s.replace('*', &failure.to_string()))
        .collect();
    assert_eq!(out, expected, "{what}");
    assert_eq!(h.layer.server_state(tx), case.next, "{what}: next state");
    finish(&mut h);
}

#[test]
fn every_state_and_input() {
    let cases = cases();
    assert_eq!(cases.len(), 2 * 2 * 7 + 7);
    for case in &cases {
        if matches!(case.input, In::Failure) {
            for status in NON_2XX_FINALS {
                run(case, status);
            }
        } else {
            run(case, 0);
        }
    }
}

#[test]
fn corpus_message_absorbs_retransmissions_with_the_last_response() {
    let mut h = H::new();
    let f1 = message();
    let tx = h.incoming(f1.clone(), false);
    // RFC 3428 F3 is User 2's 200: the layer only needs the user layer's
    // response; build the same from the request.
    let ok = reply(&f1, 200);
    assert_eq!(h.respond(tx, ok).unwrap(), ["alice 200 MESSAGE"]);
    for _ in 0..3 {
        assert_eq!(h.recv(f1.clone(), ALICE, false), ["alice 200 MESSAGE"]);
    }
    assert_eq!(h.layer.len(), 1);
    assert_eq!(
        h.fire().map(|(at, out)| (at, out.len())),
        Some((secs(32), 0))
    );
    h.assert_clean();
}
