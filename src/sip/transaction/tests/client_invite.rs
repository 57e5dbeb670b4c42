//! Client INVITE transaction (RFC 3261 §17.1.1, RFC 6026 §8.4): every
//! state × every input, unreliable and reliable.

use std::time::Duration;

use super::super::ClientState::{self, Accepted, Calling, Completed, Proceeding};
use super::{BOB, H, NON_2XX_FINALS, invite, millis, reply, secs};
use crate::proto::sip::SipRequest;
use crate::sip::transaction::{ClientTxId, TxId};

#[derive(Debug, Clone, Copy)]
enum In {
    /// 180 Ringing.
    Provisional,
    /// 200 OK.
    Success,
    /// Each of 300, 404, 486, 500, 503, 600, 603.
    Failure,
    /// The next timer.
    Fire,
    TransportError,
}

struct Case {
    reliable: bool,
    state: ClientState,
    input: In,
    out: &'static [&'static str],
    /// When the next timer fires (Fire only; `None`: no timer armed).
    at: Option<Duration>,
    next: Option<ClientState>,
}

fn setup(state: ClientState, reliable: bool) -> (H, ClientTxId, SipRequest<'static>) {
    let mut h = H::new();
    let inv = invite();
    let tx = h.send(inv.clone(), reliable);
    let steps: &[u16] = match state {
        Calling => &[],
        Proceeding => &[180],
        Completed => &[180, 486],
        Accepted => &[180, 200],
        ClientState::Trying => unreachable!("not an INVITE state"),
    };
    for &s in steps {
        h.recv(reply(&inv, s), BOB, reliable);
    }
    assert_eq!(h.layer.client_state(tx), Some(state));
    (h, tx, inv)
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
        let (fire_calling, fire_calling_out, fire_calling_next): (_, &'static [&str], _) =
            if reliable {
                (secs(32), &["timeout"], None) // Timer B, no Timer A
            } else {
                (millis(500), &["bob INVITE"], Some(Calling)) // Timer A = T1
            };
        let after_failure = if reliable { None } else { Some(Completed) };
        v.extend([
            c(
                reliable,
                Calling,
                In::Provisional,
                &["response 180"][..],
                None,
                Some(Proceeding),
            ),
            c(
                reliable,
                Calling,
                In::Success,
                &["response 200"],
                None,
                Some(Accepted),
            ),
            c(
                reliable,
                Calling,
                In::Failure,
                &["bob ACK", "response *"],
                None,
                after_failure,
            ),
            c(
                reliable,
                Calling,
                In::Fire,
                fire_calling_out,
                Some(fire_calling),
                fire_calling_next,
            ),
            c(
                reliable,
                Calling,
                In::TransportError,
                &["transport error"],
                None,
                None,
            ),
            c(
                reliable,
                Proceeding,
                In::Provisional,
                &["response 180"],
                None,
                Some(Proceeding),
            ),
            c(
                reliable,
                Proceeding,
                In::Success,
                &["response 200"],
                None,
                Some(Accepted),
            ),
            c(
                reliable,
                Proceeding,
                In::Failure,
                &["bob ACK", "response *"],
                None,
                after_failure,
            ),
            // Timer C: the layer CANCELs a call that rings too long.
            c(
                reliable,
                Proceeding,
                In::Fire,
                &["bob CANCEL"],
                Some(secs(181)),
                Some(Proceeding),
            ),
            c(
                reliable,
                Proceeding,
                In::TransportError,
                &["transport error"],
                None,
                None,
            ),
            c(
                reliable,
                Accepted,
                In::Provisional,
                &[],
                None,
                Some(Accepted),
            ),
            // RFC 6026: every 2xx passes up (retransmissions, forks).
            c(
                reliable,
                Accepted,
                In::Success,
                &["response 200"],
                None,
                Some(Accepted),
            ),
            c(reliable, Accepted, In::Failure, &[], None, Some(Accepted)),
            c(reliable, Accepted, In::Fire, &[], Some(secs(32)), None), // Timer M = 64·T1
            c(reliable, Accepted, In::TransportError, &[], None, None),
        ]);
    }
    // Completed exists on unreliable transports only (Timer D = 0 otherwise).
    v.extend([
        c(
            false,
            Completed,
            In::Provisional,
            &[][..],
            None,
            Some(Completed),
        ),
        // A forking proxy forwards a 2xx even after another branch's final.
        c(
            false,
            Completed,
            In::Success,
            &["response 200"],
            None,
            Some(Completed),
        ),
        // A retransmitted final is ACKed again, not passed up.
        c(
            false,
            Completed,
            In::Failure,
            &["bob ACK"],
            None,
            Some(Completed),
        ),
        c(false, Completed, In::Fire, &[], Some(secs(32)), None), // Timer D
        c(false, Completed, In::TransportError, &[], None, None),
    ]);
    v
}

fn run(case: &Case, failure: u16) {
    let (mut h, tx, inv) = setup(case.state, case.reliable);
    let what = format!(
        "{:?} {:?} reliable={} status={failure}",
        case.state, case.input, case.reliable
    );
    let out = match case.input {
        In::Provisional => h.recv(reply(&inv, 180), BOB, case.reliable),
        In::Success => h.recv(reply(&inv, 200), BOB, case.reliable),
        In::Failure => h.recv(reply(&inv, failure), BOB, case.reliable),
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
    // Whatever the state, time alone ends everything.
    h.run_out();
    h.assert_clean();
}

#[test]
fn every_state_and_input() {
    let cases = cases();
    assert_eq!(cases.len(), 35);
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
fn ack_for_non_2xx_follows_17_1_1_3() {
    let mut h = H::new();
    let mut inv = invite();
    inv.push_header(
        crate::proto::sip::HeaderName::Route,
        "<sip:p1.example.com;lr>",
    );
    inv.push_header(
        crate::proto::sip::HeaderName::Route,
        "<sip:p2.example.com;lr>",
    );
    h.send(inv.clone(), false);
    h.recv(reply(&inv, 486), BOB, false);
    let ack = h.sent(0);
    let ack = ack.as_request().expect("ACK is a request");
    assert_eq!(ack.method, crate::proto::sip::Method::Ack);
    assert_eq!(ack.uri.to_string(), "sip:bob@biloxi.com");
    let vias: Vec<_> = ack.headers.vias().collect();
    assert_eq!(vias.len(), 1, "one Via");
    assert_eq!(
        vias[0].as_ref().unwrap().branch(),
        Some("z9hG4bKnashds8"),
        "the INVITE's branch"
    );
    assert_eq!(ack.headers.cseq().unwrap().seq, 314159);
    assert_eq!(ack.headers.cseq().unwrap().method.as_str(), "ACK");
    assert_eq!(ack.headers.call_id().unwrap(), "a84b4c76e66710");
    assert_eq!(ack.headers.from_addr().unwrap().tag(), Some("1928301774"));
    assert_eq!(
        ack.headers.to_addr().unwrap().tag(),
        Some("uas1"),
        "To from the response"
    );
    let routes: Vec<_> = ack
        .headers
        .get_all(&crate::proto::sip::HeaderName::Route)
        .map(|h| h.value.to_string())
        .collect();
    assert_eq!(
        routes,
        ["<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"]
    );
    assert_eq!(ack.headers.max_forwards().unwrap(), Some(70));
    assert!(ack.body.is_empty());
    // The same ACK answers the retransmitted final.
    h.recv(reply(&inv, 486), BOB, false);
    assert_eq!(h.sent(0).as_request(), Some(ack));
}

#[test]
fn corpus_180_and_200_drive_the_invite_to_accepted() {
    let mut h = H::new();
    let tx = h.send(invite(), false);
    let f8 = super::corpus_response("rfc3261-s24.2-F8-180.sip");
    let f11 = super::corpus_response("rfc3261-s24.2-F11-200.sip");
    assert_eq!(h.recv(f8, BOB, false), ["response 180"]);
    assert_eq!(h.layer.client_state(tx), Some(Proceeding));
    assert_eq!(h.recv(f11.clone(), BOB, false), ["response 200"]);
    assert_eq!(h.layer.client_state(tx), Some(Accepted));
    // The 2xx retransmission also passes up: the dialog ACKs it again.
    assert_eq!(h.recv(f11.clone(), BOB, false), ["response 200"]);
    // No ACK from the transaction for a 2xx.
    assert!(
        !h.raw
            .iter()
            .any(|o| matches!(o, super::Output::Transmit { .. }))
    );
    assert_eq!(h.fire().map(|(at, _)| at), Some(secs(32)));
    // After Timer M the 2xx matches nothing.
    assert_eq!(h.recv(f11, BOB, false), ["stray 200 INVITE"]);
    h.assert_clean();
}
