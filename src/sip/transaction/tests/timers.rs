//! Timer values (RFC 3261 Table 4, RFC 6026 §8.11), with the default and
//! with shortened T1/T2/T4.

use std::time::Duration;

use super::{ALICE, BOB, H, invite, message, millis, reply, secs};
use crate::sip::transaction::{Config, Timers, TransactionLayer};

/// Each firing as (milliseconds since base, outputs joined).
fn timeline(h: &mut H) -> Vec<(u128, String)> {
    h.run_out()
        .into_iter()
        .map(|(at, out)| (at.as_millis(), out.join(", ")))
        .collect()
}

fn expect(pairs: &[(u128, &str)]) -> Vec<(u128, String)> {
    pairs.iter().map(|&(t, s)| (t, s.to_owned())).collect()
}

#[test]
fn timer_a_doubles_without_cap_and_b_is_64_t1() {
    let mut h = H::new();
    h.send(invite(), false);
    let r = "bob INVITE";
    assert_eq!(
        timeline(&mut h),
        expect(&[
            (500, r),
            (1500, r),
            (3500, r),
            (7500, r),
            (15500, r),
            (31500, r),
            (32000, "timeout")
        ])
    );
    h.assert_clean();
}

#[test]
fn timer_e_doubles_up_to_t2_and_f_is_64_t1() {
    let mut h = H::new();
    h.send(message(), false);
    let r = "bob MESSAGE";
    let mut want: Vec<(u128, &str)> = vec![(500, r), (1500, r), (3500, r), (7500, r)];
    want.extend((1..=6).map(|i| (7500 + 4000 * i, r)));
    want.push((32000, "timeout"));
    assert_eq!(timeline(&mut h), expect(&want));
}

#[test]
fn timer_e_is_t2_in_proceeding() {
    let mut h = H::new();
    let req = message();
    h.send(req.clone(), false);
    h.now = h.ms(100);
    assert_eq!(h.recv(reply(&req, 100), BOB, false), ["response 100"]);
    let r = "bob MESSAGE";
    let mut want: Vec<(u128, &str)> = vec![(500, r)];
    want.extend((1..=7).map(|i| (500 + 4000 * i, r)));
    want.push((32000, "timeout"));
    assert_eq!(timeline(&mut h), expect(&want));
}

#[test]
fn timer_g_doubles_up_to_t2_and_h_is_64_t1() {
    let mut h = H::new();
    let inv = invite();
    let tx = h.incoming(inv.clone(), false);
    h.respond(tx, reply(&inv, 486)).unwrap();
    let r = "alice 486 INVITE";
    let mut want: Vec<(u128, &str)> = vec![(500, r), (1500, r), (3500, r), (7500, r)];
    want.extend((1..=6).map(|i| (7500 + 4000 * i, r)));
    want.push((32000, "timeout"));
    assert_eq!(timeline(&mut h), expect(&want));
}

#[test]
fn reliable_transports_never_retransmit() {
    let mut h = H::new();
    h.send(invite(), true);
    assert_eq!(timeline(&mut h), expect(&[(32000, "timeout")]));
    let mut h = H::new();
    h.send(message(), true);
    assert_eq!(timeline(&mut h), expect(&[(32000, "timeout")]));
    let mut h = H::new();
    let inv = invite();
    let tx = h.incoming(inv.clone(), true);
    h.respond(tx, reply(&inv, 486)).unwrap();
    assert_eq!(timeline(&mut h), expect(&[(32000, "timeout")]));
}

/// T1 = 100 ms, T2 = 400 ms, T4 = 1 s, D = 2 s: every derived timer follows.
fn short() -> Timers {
    Timers {
        d: secs(2),
        ..Timers::new(millis(100), millis(400), secs(1))
    }
}

#[test]
fn shortened_timers_a_b_e_f_g_h() {
    let mut h = H::with_timers(short());
    h.send(invite(), false);
    let r = "bob INVITE";
    assert_eq!(
        timeline(&mut h),
        expect(&[
            (100, r),
            (300, r),
            (700, r),
            (1500, r),
            (3100, r),
            (6300, r),
            (6400, "timeout")
        ])
    );
    let mut h = H::with_timers(short());
    h.send(message(), false);
    let r = "bob MESSAGE";
    let mut want: Vec<(u128, &str)> = vec![(100, r), (300, r), (700, r)];
    want.extend((1..=14).map(|i| (700 + 400 * i, r)));
    want.push((6400, "timeout"));
    assert_eq!(timeline(&mut h), expect(&want));
    let mut h = H::with_timers(short());
    let inv = invite();
    let tx = h.incoming(inv.clone(), false);
    h.respond(tx, reply(&inv, 404)).unwrap();
    let r = "alice 404 INVITE";
    let mut want: Vec<(u128, &str)> = vec![(100, r), (300, r), (700, r)];
    want.extend((1..=14).map(|i| (700 + 400 * i, r)));
    want.push((6400, "timeout"));
    assert_eq!(timeline(&mut h), expect(&want));
}

/// The lifetime of each absorbing state: how long after entering it the
/// transaction is gone, unreliable then reliable.
#[test]
fn absorbing_states_d_i_j_k_l_m() {
    for (timers, d, i, j, k, lm) in [
        (Timers::default(), 32_000, 5_000, 32_000, 5_000, 32_000),
        (short(), 2_000, 1_000, 6_400, 1_000, 6_400),
    ] {
        for reliable in [false, true] {
            let gone_after = |h: &mut H| -> Option<u128> {
                if h.layer.is_empty() {
                    return Some(0);
                }
                let last = h.run_out().last().map(|(at, _)| at.as_millis());
                h.assert_clean();
                last
            };
            let z = |v: u128| if reliable { 0 } else { v };
            // D: client INVITE after a non-2xx.
            let mut h = H::with_timers(timers);
            let inv = invite();
            h.send(inv.clone(), reliable);
            h.recv(reply(&inv, 180), BOB, reliable);
            h.recv(reply(&inv, 486), BOB, reliable);
            assert_eq!(gone_after(&mut h), Some(z(d)), "D reliable={reliable}");
            // M: client INVITE after a 2xx, on every transport.
            let mut h = H::with_timers(timers);
            h.send(inv.clone(), reliable);
            h.recv(reply(&inv, 200), BOB, reliable);
            assert_eq!(gone_after(&mut h), Some(lm), "M reliable={reliable}");
            // K: client non-INVITE after a final.
            let mut h = H::with_timers(timers);
            let msg = message();
            h.send(msg.clone(), reliable);
            h.recv(reply(&msg, 200), BOB, reliable);
            assert_eq!(gone_after(&mut h), Some(z(k)), "K reliable={reliable}");
            // J: server non-INVITE after a final.
            let mut h = H::with_timers(timers);
            let tx = h.incoming(msg.clone(), reliable);
            h.respond(tx, reply(&msg, 200)).unwrap();
            assert_eq!(gone_after(&mut h), Some(z(j)), "J reliable={reliable}");
            // I: server INVITE after the ACK of a non-2xx (ACK at 0).
            let mut h = H::with_timers(timers);
            let tx = h.incoming(inv.clone(), reliable);
            h.respond(tx, reply(&inv, 486)).unwrap();
            h.recv(
                super::as_method(inv.clone(), crate::proto::sip::Method::Ack),
                ALICE,
                reliable,
            );
            assert_eq!(gone_after(&mut h), Some(z(i)), "I reliable={reliable}");
            // L: server INVITE after a 2xx, on every transport.
            let mut h = H::with_timers(timers);
            let tx = h.incoming(inv.clone(), reliable);
            h.respond(tx, reply(&inv, 200)).unwrap();
            assert_eq!(gone_after(&mut h), Some(lm), "L reliable={reliable}");
        }
    }
}

#[test]
fn late_handle_timeout_retransmits_once_not_a_burst() {
    let mut h = H::new();
    h.send(invite(), false);
    h.now = h.ms(10_000);
    h.layer.handle_timeout(h.now);
    assert_eq!(h.drain(), ["bob INVITE"]);
    // Next retransmission one doubled interval after the late firing.
    assert_eq!(h.layer.poll_timeout(), Some(h.ms(11_000)));
}

#[test]
fn timer_c_restarts_on_each_provisional() {
    let mut h = H::new();
    let inv = invite();
    h.send(inv.clone(), false);
    h.recv(reply(&inv, 180), BOB, false);
    h.now = h.ms(100_000);
    h.recv(reply(&inv, 183), BOB, false);
    assert_eq!(h.layer.poll_timeout(), Some(h.ms(281_000)));
    assert_eq!(h.fire(), Some((secs(281), vec!["bob CANCEL".to_owned()])));
}

#[test]
fn zero_timers_terminate_without_looping() {
    let zero = Timers {
        t1: Duration::ZERO,
        t2: Duration::ZERO,
        t4: Duration::ZERO,
        d: Duration::ZERO,
        c: Duration::ZERO,
        trying: Duration::ZERO,
    };
    let mut h = H::with_timers(zero);
    let inv = invite();
    h.send(inv.clone(), false);
    h.send(message(), false);
    let tx = h.incoming(inv.clone(), false);
    h.respond(tx, reply(&inv, 486)).unwrap();
    h.layer.handle_timeout(h.now);
    h.drain();
    h.run_out();
    h.assert_clean();
    // Provisional then Timer C = 0: CANCEL, then the guard (64·0) ends it.
    let mut h = H::with_timers(zero);
    h.send(inv.clone(), false);
    h.recv(reply(&inv, 180), BOB, false);
    h.run_out();
    h.assert_clean();
}

#[test]
fn huge_timers_do_not_overflow() {
    let huge = Timers {
        t1: Duration::MAX,
        t2: Duration::MAX,
        t4: Duration::MAX,
        d: Duration::MAX,
        c: Duration::MAX,
        trying: Duration::MAX,
    };
    let mut layer: TransactionLayer<&str> = TransactionLayer::with_config(Config {
        timers: huge,
        ..Config::default()
    });
    let now = std::time::Instant::now();
    let inv = invite();
    layer.send_request(inv.clone(), BOB, false, now).unwrap();
    layer.receive(
        crate::proto::sip::SipMessage::Response(reply(&inv, 180)),
        BOB,
        false,
        now,
    );
    layer.receive(
        crate::proto::sip::SipMessage::Request(message()),
        ALICE,
        false,
        now,
    );
    // Deadlines past what `Instant` holds are never armed; nothing panics.
    assert_eq!(layer.poll_timeout(), None);
    layer.handle_timeout(now);
    while layer.poll_output().is_some() {}
}
