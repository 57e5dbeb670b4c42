//! Client non-INVITE transaction (RFC 3261 §17.1.2): every state × every
//! input, unreliable and reliable.

use std::time::Duration;

use super::super::ClientState::{self, Completed, Proceeding, Trying};
use super::{BOB, H, NON_2XX_FINALS, message, millis, reply, secs};
use crate::proto::sip::SipRequest;
use crate::sip::transaction::{ClientTxId, TxId};

#[derive(Debug, Clone, Copy)]
enum In {
    /// 100 Trying.
    Provisional,
    /// 200 OK.
    Success,
    /// Each of 300, 404, 486, 500, 503, 600, 603.
    Failure,
    Fire,
    TransportError,
}

struct Case {
    reliable: bool,
    state: ClientState,
    input: In,
    out: &'static [&'static str],
    at: Option<Duration>,
    next: Option<ClientState>,
}

fn setup(state: ClientState, reliable: bool) -> (H, ClientTxId, SipRequest<'static>) {
    let mut h = H::new();
    let req = message();
    let tx = h.send(req.clone(), reliable);
    let steps: &[u16] = match state {
        Trying => &[],
        Proceeding => &[100],
        Completed => &[100, 200],
        _ => unreachable!("not a non-INVITE state"),
    };
    for &s in steps {
        h.recv(reply(&req, s), BOB, reliable);
    }
    assert_eq!(h.layer.client_state(tx), Some(state));
    (h, tx, req)
}

fn cases() -> Vec<Case> {
    let c = |reliable, state, input, out, at, next| Case {
        reliable,
        state,
        input,
        out,
        at,
        next,
    };
    let mut v = Vec::new();
    for reliable in [false, true] {
        let after_final = if reliable { None } else { Some(Completed) };
        // Unreliable: Timer E (T1) first; reliable: Timer F (64·T1) only.
        let (at, out, next): (_, &'static [&str], _) = if reliable {
            (secs(32), &["timeout"], None)
        } else {
            (millis(500), &["bob MESSAGE"], Some(Trying))
        };
        let proceeding_next = if reliable { None } else { Some(Proceeding) };
        v.extend([
            c(
                reliable,
                Trying,
                In::Provisional,
                &["response 100"][..],
                None,
                Some(Proceeding),
            ),
            c(
                reliable,
                Trying,
                In::Success,
                &["response 200"],
                None,
                after_final,
            ),
            c(
                reliable,
                Trying,
                In::Failure,
                &["response *"],
                None,
                after_final,
            ),
            c(reliable, Trying, In::Fire, out, Some(at), next),
            c(
                reliable,
                Trying,
                In::TransportError,
                &["transport error"],
                None,
                None,
            ),
            c(
                reliable,
                Proceeding,
                In::Provisional,
                &["response 100"],
                None,
                Some(Proceeding),
            ),
            c(
                reliable,
                Proceeding,
                In::Success,
                &["response 200"],
                None,
                after_final,
            ),
            c(
                reliable,
                Proceeding,
                In::Failure,
                &["response *"],
                None,
                after_final,
            ),
            c(
                reliable,
                Proceeding,
                In::Fire,
                if reliable {
                    &["timeout"]
                } else {
                    &["bob MESSAGE"]
                },
                Some(at),
                proceeding_next,
            ),
            c(
                reliable,
                Proceeding,
                In::TransportError,
                &["transport error"],
                None,
                None,
            ),
        ]);
    }
    v.extend([
        c(
            false,
            Completed,
            In::Provisional,
            &[][..],
            None,
            Some(Completed),
        ),
        c(false, Completed, In::Success, &[], None, Some(Completed)),
        c(false, Completed, In::Failure, &[], None, Some(Completed)),
        c(false, Completed, In::Fire, &[], Some(secs(5)), None), // Timer K = T4
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
    let out = match case.input {
        In::Provisional => h.recv(reply(&req, 100), BOB, case.reliable),
        In::Success => h.recv(reply(&req, 200), BOB, case.reliable),
        In::Failure => h.recv(reply(&req, failure), BOB, case.reliable),
        In::Fire => match h.fire() {
            None => {
                assert_eq!(case.at, None, "{what}: a timer should be armed");
                Vec::new()
            }
            Some((at, out)) => {
                assert_eq!(Some(at), case.at, "{what}: timer value");
                out
            }
        },
        In::TransportError => {
            h.layer.transport_error(TxId::Client(tx));
            h.drain()
        }
    };
    let expected: Vec<String> = case
        .out
        .iter()
        .map(|s| s.replace('*', &failure.to_string()))
        .collect();
    assert_eq!(out, expected, "{what}");
    assert_eq!(h.layer.client_state(tx), case.next, "{what}: next state");
    h.run_out();
    h.assert_clean();
}

#[test]
fn every_state_and_input() {
    let cases = cases();
    assert_eq!(cases.len(), 25);
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
fn corpus_200_completes_the_message_transaction() {
    let mut h = H::new();
    let tx = h.send(message(), true);
    // RFC 3428 F4: the proxy's 200 to User 1, top Via with User 1's branch.
    let f4 = super::corpus_response("rfc3428-s10-F4-200.sip");
    assert_eq!(h.recv(f4.clone(), BOB, true), ["response 200"]);
    // TCP: Timer K is zero, the transaction is gone at once.
    assert_eq!(h.layer.client_state(tx), None);
    assert_eq!(h.recv(f4, BOB, true), ["stray 200 MESSAGE"]);
    h.assert_clean();
}
