//! Server INVITE transaction (RFC 3261 §17.2.1, RFC 6026 §7.1, §8.5–§8.7):
//! every state × every input, unreliable and reliable.

use std::time::Duration;

use super::super::ServerState::{self, Accepted, Completed, Confirmed, Proceeding};
use super::{ALICE, H, NON_2XX_FINALS, as_method, invite, millis, reply, secs};
use crate::proto::sip::{Method, SipRequest};
use crate::sip::transaction::{ServerTxId, TxId};

/// Where the transaction is before the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum At {
    /// Just received, nothing sent.
    Fresh,
    /// The user layer sent 180.
    Ringing,
    /// The user layer sent 486.
    Completed,
    /// ... and the ACK came.
    Confirmed,
    /// The user layer sent 200.
    Accepted,
}

#[derive(Debug, Clone, Copy)]
enum In {
    /// The INVITE again.
    Retransmission,
    /// ACK with the INVITE's branch (the ACK for a non-2xx).
    Ack,
    Cancel,
    /// The user layer sends 180.
    Provisional,
    /// The user layer sends 200.
    Success,
    /// The user layer sends each of 300, 404, ..., 603.
    Failure,
    Fire,
    TransportError,
}

struct Case {
    reliable: bool,
    at: At,
    input: In,
    out: &'static [&'static str],
    when: Option<Duration>,
    next: Option<ServerState>,
}

const REFUSED: &[&str] = &["refused: final response already sent"];

fn setup(at: At, reliable: bool) -> (H, ServerTxId, SipRequest<'static>) {
    let mut h = H::new();
    let inv = invite();
    let tx = h.incoming(inv.clone(), reliable);
    match at {
        At::Fresh => {}
        At::Ringing => {
            h.respond(tx, reply(&inv, 180)).unwrap();
        }
        At::Completed | At::Confirmed => {
            h.respond(tx, reply(&inv, 486)).unwrap();
        }
        At::Accepted => {
            h.respond(tx, reply(&inv, 200)).unwrap();
        }
    }
    if at == At::Confirmed {
        assert_eq!(
            h.recv(as_method(inv.clone(), Method::Ack), ALICE, reliable),
            Vec::<String>::new()
        );
    }
    let state = match at {
        At::Fresh | At::Ringing => Proceeding,
        At::Completed => Completed,
        At::Confirmed => Confirmed,
        At::Accepted => Accepted,
    };
    assert_eq!(h.layer.server_state(tx), Some(state), "{at:?}");
    (h, tx, inv)
}

fn cases() -> Vec<Case> {
    let c = |reliable, at, input, out, when, next| Case {
        reliable,
        at,
        input,
        out,
        when,
        next,
    };
    let mut v = Vec::new();
    let cancelled: &[&str] = &["alice 200 CANCEL", "alice 487 INVITE", "cancelled"];
    for reliable in [false, true] {
        for (at, resent) in [
            (At::Fresh, &["alice 100 INVITE"][..]),
            (At::Ringing, &["alice 180 INVITE"][..]),
        ] {
            v.extend([
                c(
                    reliable,
                    at,
                    In::Retransmission,
                    resent,
                    None,
                    Some(Proceeding),
                ),
                c(reliable, at, In::Ack, &[][..], None, Some(Proceeding)),
                c(reliable, at, In::Cancel, cancelled, None, Some(Completed)),
                c(
                    reliable,
                    at,
                    In::Provisional,
                    &["alice 180 INVITE"],
                    None,
                    Some(Proceeding),
                ),
                c(
                    reliable,
                    at,
                    In::Success,
                    &["alice 200 INVITE"],
                    None,
                    Some(Accepted),
                ),
                c(
                    reliable,
                    at,
                    In::Failure,
                    &["alice * INVITE"],
                    None,
                    Some(Completed),
                ),
                c(
                    reliable,
                    at,
                    In::TransportError,
                    &["transport error"],
                    None,
                    None,
                ),
            ]);
        }
        // The 100 Trying timer (200 ms) runs until the first response.
        v.push(c(
            reliable,
            At::Fresh,
            In::Fire,
            &["alice 100 INVITE"],
            Some(millis(200)),
            Some(Proceeding),
        ));
        v.push(c(
            reliable,
            At::Ringing,
            In::Fire,
            &[],
            None,
            Some(Proceeding),
        ));

        let (after_ack, fire_when, fire_out, fire_next): (_, _, &'static [&str], _) = if reliable {
            (None, secs(32), &["timeout"], None) // I = 0; H = 64·T1, no G
        } else {
            (
                Some(Confirmed),
                millis(500),
                &["alice 486 INVITE"],
                Some(Completed),
            ) // G = T1
        };
        v.extend([
            c(
                reliable,
                At::Completed,
                In::Retransmission,
                &["alice 486 INVITE"][..],
                None,
                Some(Completed),
            ),
            c(reliable, At::Completed, In::Ack, &[], None, after_ack),
            c(
                reliable,
                At::Completed,
                In::Cancel,
                &["alice 200 CANCEL"],
                None,
                Some(Completed),
            ),
            c(
                reliable,
                At::Completed,
                In::Provisional,
                REFUSED,
                None,
                Some(Completed),
            ),
            c(
                reliable,
                At::Completed,
                In::Success,
                REFUSED,
                None,
                Some(Completed),
            ),
            c(
                reliable,
                At::Completed,
                In::Failure,
                REFUSED,
                None,
                Some(Completed),
            ),
            c(
                reliable,
                At::Completed,
                In::Fire,
                fire_out,
                Some(fire_when),
                fire_next,
            ),
            c(
                reliable,
                At::Completed,
                In::TransportError,
                &["transport error"],
                None,
                None,
            ),
            // RFC 6026 Accepted: INVITEs absorbed, ACK to the dialog, 2xx
            // retransmissions from the user layer go out, Timer L.
            c(
                reliable,
                At::Accepted,
                In::Retransmission,
                &[],
                None,
                Some(Accepted),
            ),
            c(
                reliable,
                At::Accepted,
                In::Ack,
                &["ack from alice"],
                None,
                Some(Accepted),
            ),
            c(
                reliable,
                At::Accepted,
                In::Cancel,
                &["alice 200 CANCEL"],
                None,
                Some(Accepted),
            ),
            c(
                reliable,
                At::Accepted,
                In::Provisional,
                REFUSED,
                None,
                Some(Accepted),
            ),
            c(
                reliable,
                At::Accepted,
                In::Success,
                &["alice 200 INVITE"],
                None,
                Some(Accepted),
            ),
            c(
                reliable,
                At::Accepted,
                In::Failure,
                REFUSED,
                None,
                Some(Accepted),
            ),
            c(reliable, At::Accepted, In::Fire, &[], Some(secs(32)), None),
            c(
                reliable,
                At::Accepted,
                In::TransportError,
                &["transport error"],
                None,
                None,
            ),
        ]);
    }
    // Confirmed exists on unreliable transports only (Timer I = 0 otherwise).
    v.extend([
        c(
            false,
            At::Confirmed,
            In::Retransmission,
            &[][..],
            None,
            Some(Confirmed),
        ),
        c(false, At::Confirmed, In::Ack, &[], None, Some(Confirmed)),
        c(
            false,
            At::Confirmed,
            In::Cancel,
            &["alice 200 CANCEL"],
            None,
            Some(Confirmed),
        ),
        c(
            false,
            At::Confirmed,
            In::Provisional,
            REFUSED,
            None,
            Some(Confirmed),
        ),
        c(
            false,
            At::Confirmed,
            In::Success,
            REFUSED,
            None,
            Some(Confirmed),
        ),
        c(
            false,
            At::Confirmed,
            In::Failure,
            REFUSED,
            None,
            Some(Confirmed),
        ),
        c(false, At::Confirmed, In::Fire, &[], Some(secs(5)), None), // Timer I = T4
        c(false, At::Confirmed, In::TransportError, &[], None, None),
    ]);
    v
}

fn run(case: &Case, failure: u16) {
    let (mut h, tx, inv) = setup(case.at, case.reliable);
    let what = format!(
        "{:?} {:?} reliable={} status={failure}",
        case.at, case.input, case.reliable
    );
    let respond = |h: &mut H, status: u16| match h.respond(tx, reply(&inv, status)) {
        Ok(out) => out,
        Err(e) => vec![format!("refused: {e}")],
    };
    let out = match case.input {
        In::Retransmission => h.recv(inv.clone(), ALICE, case.reliable),
        In::Ack => h.recv(as_method(inv.clone(), Method::Ack), ALICE, case.reliable),
        In::Cancel => h.recv(as_method(inv.clone(), Method::Cancel), ALICE, case.reliable),
        In::Provisional => respond(&mut h, 180),
        In::Success => respond(&mut h, 200),
        In::Failure => respond(&mut h, failure),
        In::Fire => match h.fire() {
            None => {
                assert_eq!(case.when, None, "{what}: a timer should be armed");
                Vec::new()
            }
            Some((at, out)) => {
                assert_eq!(Some(at), case.when, "{what}: timer value");
                out
            }
        },
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

/// Answers what is still pending, then lets time end everything.
pub(super) fn finish(h: &mut H) {
    let pending: Vec<_> = h.layer.awaiting_final().collect();
    for tx in pending {
        let resp = crate::proto::sip::SipResponse::new(500, "Server Internal Error");
        h.layer.send_response(tx, resp, h.now).unwrap();
    }
    h.drain();
    h.run_out();
    h.assert_clean();
}

#[test]
fn every_state_and_input() {
    let cases = cases();
    assert_eq!(cases.len(), 2 * (2 * 7 + 2 + 16) + 8);
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
fn trying_at_once_when_configured() {
    let mut h = H::with_timers(crate::sip::transaction::Timers {
        trying: Duration::ZERO,
        ..Default::default()
    });
    let out = h.recv(invite(), ALICE, false);
    assert_eq!(out, ["alice 100 INVITE", "request INVITE from alice"]);
    // 100 Trying carries no To tag (§8.2.6.2) and echoes the INVITE's Via.
    let trying = h.sent(0);
    let trying = trying.as_response().unwrap();
    assert_eq!(trying.headers.to_addr().unwrap().tag(), None);
    assert_eq!(
        trying.headers.top_via().unwrap().branch(),
        Some("z9hG4bKnashds8")
    );
    assert_eq!(h.layer.poll_timeout(), None, "no Trying timer left");
}

#[test]
fn no_100_trying_when_the_user_layer_answers_within_200ms() {
    let mut h = H::new();
    let inv = invite();
    let tx = h.incoming(inv.clone(), false);
    h.now = h.ms(150);
    assert_eq!(
        h.respond(tx, reply(&inv, 180)).unwrap(),
        ["alice 180 INVITE"]
    );
    assert_eq!(h.layer.poll_timeout(), None, "the Trying timer is gone");
}
