//! The MSRP stack over real loopback sockets: two stacks talking to each
//! other (TCP and TLS), and hand-written peers for the rules a well-behaved
//! stack never exercises (unknown sessions, wrong connections, bad
//! requests, a peer that resets mid-chunk, a peer that never reads).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, bounded};
use msrpgw::config::{ListenSpec, TlsConfig};
use msrpgw::event::{Event, Transport};
use msrpgw::msrp::{
    CloseReason, HeldId, MsrpEvent, MsrpSessionKey, MsrpStack, MsrpStackConfig, NewSession,
    OutgoingMessage, RemoteEnd, Role, SendOutcome, SessionOptions, StackError,
};
use msrpgw::proto::msrp::{FailureReport, FrameLimits, Framer, Message, MsrpUri};

const WAIT: Duration = Duration::from_secs(15);

pub(crate) fn tcp_listen() -> Vec<ListenSpec> {
    vec![ListenSpec {
        transport: Transport::Tcp,
        addr: "127.0.0.1:0".parse().unwrap(),
    }]
}

pub(crate) struct Side {
    pub stack: MsrpStack,
    events: Receiver<Event>,
    backlog: Vec<MsrpEvent>,
}

impl Side {
    pub(crate) fn start(cfg: MsrpStackConfig) -> Side {
        let (tx, events) = bounded(100_000);
        let stack = MsrpStack::start(cfg, tx).expect("msrp stack starts");
        Side {
            stack,
            events,
            backlog: Vec::new(),
        }
    }

    pub(crate) fn tcp() -> Side {
        Side::start(MsrpStackConfig::new(tcp_listen()))
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.stack.local_addrs()[0].addr
    }

    pub(crate) fn session(&self, opts: SessionOptions) -> NewSession {
        self.stack.create_session(opts).expect("session")
    }

    /// The first event (earlier ones kept) that `f` accepts.
    pub(crate) fn expect<T>(
        &mut self,
        what: &str,
        mut f: impl FnMut(&MsrpEvent) -> Option<T>,
    ) -> T {
        if let Some(i) = self.backlog.iter().position(|e| f(e).is_some()) {
            let e = self.backlog.remove(i);
            return f(&e).unwrap();
        }
        let deadline = Instant::now() + WAIT;
        loop {
            let Ok(ev) = self.events.recv_deadline(deadline) else {
                panic!("no {what} within {WAIT:?}; saw {:?}", self.backlog);
            };
            let Event::Msrp(ev) = ev else { continue };
            if let Some(t) = f(&ev) {
                return t;
            }
            self.backlog.push(ev);
        }
    }

    /// Like [`Side::expect`], but `None` after `wait` instead of failing.
    pub(crate) fn try_expect<T>(
        &mut self,
        wait: Duration,
        mut f: impl FnMut(&MsrpEvent) -> Option<T>,
    ) -> Option<T> {
        if let Some(i) = self.backlog.iter().position(|e| f(e).is_some()) {
            let e = self.backlog.remove(i);
            return f(&e);
        }
        let deadline = Instant::now() + wait;
        while let Ok(ev) = self.events.recv_deadline(deadline) {
            let Event::Msrp(ev) = ev else { continue };
            if let Some(t) = f(&ev) {
                return Some(t);
            }
            self.backlog.push(ev);
        }
        None
    }

    pub(crate) fn connected(&mut self, key: MsrpSessionKey) {
        self.expect("Connected", |e| match e {
            MsrpEvent::Connected { session, .. } if *session == key => Some(()),
            _ => None,
        })
    }

    pub(crate) fn received(&mut self, key: MsrpSessionKey) -> (Option<HeldId>, Vec<u8>, bool) {
        self.expect("Received", |e| match e {
            MsrpEvent::Received {
                session,
                held,
                body,
                success_report,
                ..
            } if *session == key => Some((*held, body.clone(), *success_report)),
            _ => None,
        })
    }

    pub(crate) fn outcome(&mut self, key: MsrpSessionKey, tag: u64) -> SendOutcome {
        self.expect("SendOutcome", |e| match e {
            MsrpEvent::SendOutcome {
                session,
                tag: t,
                outcome,
            } if *session == key && *t == tag => Some(outcome.clone()),
            _ => None,
        })
    }

    pub(crate) fn closed(&mut self, key: MsrpSessionKey) -> CloseReason {
        self.expect("Closed", |e| match e {
            MsrpEvent::Closed { session, reason } if *session == key => Some(reason.clone()),
            _ => None,
        })
    }

    /// Nothing about `key` for `d`.
    pub(crate) fn quiet(&mut self, key: MsrpSessionKey, d: Duration) {
        let deadline = Instant::now() + d;
        while let Ok(ev) = self.events.recv_deadline(deadline) {
            if let Event::Msrp(ev) = ev {
                assert!(ev.session() != key, "unexpected {ev:?}");
                self.backlog.push(ev);
            }
        }
    }
}

pub(crate) fn remote(path: &[MsrpUri<'static>], role: Role) -> RemoteEnd {
    RemoteEnd {
        path: path.to_vec(),
        role,
        cema: false,
        max_size: None,
    }
}

/// Two stacks, one session between them: `a` active, `b` passive.
pub(crate) fn pair(a: &mut Side, b: &mut Side, opts: SessionOptions) -> (NewSession, NewSession) {
    let sa = a.session(opts);
    let sb = b.session(opts);
    let (pa, pb) = (
        sa.local_path.clone().unwrap(),
        sb.local_path.clone().unwrap(),
    );
    b.stack
        .start_session(sb.key, remote(&pa, Role::Passive))
        .unwrap();
    a.stack
        .start_session(sa.key, remote(&pb, Role::Active))
        .unwrap();
    a.connected(sa.key);
    b.connected(sb.key);
    (sa, sb)
}

fn text(tag: u64, body: &[u8]) -> OutgoingMessage {
    OutgoingMessage::new(tag, "text/plain", body.to_vec())
}

#[test]
fn small_and_chunked_messages_both_ways_with_held_responses_and_reports() {
    let (mut a, mut b) = (Side::tcp(), Side::tcp());
    let (sa, sb) = pair(&mut a, &mut b, SessionOptions::default());
    let big: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    a.stack.send(sa.key, text(1, b"hello")).unwrap();
    let mut m = text(2, &big);
    m.success_report = true;
    a.stack.send(sa.key, m).unwrap();

    let (held, body, sr) = b.received(sb.key);
    assert_eq!(body, b"hello");
    assert!(!sr);
    // The final response is held: no outcome before the answer.
    a.quiet(sa.key, Duration::from_millis(300));
    b.stack.answer(sb.key, held.unwrap(), 200, None).unwrap();
    assert_eq!(a.outcome(sa.key, 1), SendOutcome::Delivered);

    let (held, body, sr) = b.received(sb.key);
    assert_eq!(body, big, "300 kB reassembled from 2048-octet chunks");
    assert!(sr);
    b.stack.answer(sb.key, held.unwrap(), 200, None).unwrap();
    assert_eq!(a.outcome(sa.key, 2), SendOutcome::Delivered);
    let status = a.expect("Report", |e| match e {
        MsrpEvent::Report {
            tag: Some(2),
            status,
            ..
        } => Some(*status),
        _ => None,
    });
    assert_eq!(status, 200);

    // The other way, and an error answer travels back as the outcome.
    b.stack.send(sb.key, text(3, b"back")).unwrap();
    let (held, body, _) = a.received(sa.key);
    assert_eq!(body, b"back");
    a.stack
        .answer(
            sa.key,
            held.unwrap(),
            480,
            Some("Temporarily Unavailable".into()),
        )
        .unwrap();
    match b.outcome(sb.key, 3) {
        SendOutcome::Failed { status, .. } => assert_eq!(status, 480),
        o => panic!("{o:?}"),
    }

    a.stack.close(sa.key).unwrap();
    assert_eq!(a.closed(sa.key), CloseReason::Closed);
    assert!(matches!(b.closed(sb.key), CloseReason::ConnectionLost(_)));
    a.stack.shutdown();
    b.stack.shutdown();
}

#[test]
fn without_holding_messages_are_answered_at_once() {
    let (mut a, mut b) = (Side::tcp(), Side::tcp());
    let opts = SessionOptions {
        hold_responses: false,
        ..SessionOptions::default()
    };
    let (sa, sb) = pair(&mut a, &mut b, opts);
    for tag in 0..50 {
        a.stack.send(sa.key, text(tag, b"x")).unwrap();
    }
    for tag in 0..50 {
        assert_eq!(a.outcome(sa.key, tag), SendOutcome::Delivered);
        let (held, _, _) = b.received(sb.key);
        assert_eq!(held, None);
    }
    a.stack.shutdown();
    b.stack.shutdown();
}

#[test]
fn failure_report_no_and_partial_get_no_200() {
    let (mut a, mut b) = (Side::tcp(), Side::tcp());
    let (sa, sb) = pair(&mut a, &mut b, SessionOptions::default());
    for (tag, fr) in [(1, FailureReport::No), (2, FailureReport::Partial)] {
        let mut m = text(tag, b"fire and forget");
        m.failure_report = fr;
        a.stack.send(sa.key, m).unwrap();
        assert_eq!(a.outcome(sa.key, tag), SendOutcome::Written);
        let (held, _, _) = b.received(sb.key);
        b.stack.answer(sb.key, held.unwrap(), 200, None).unwrap();
    }
    // partial: a failure answer still comes back.
    let mut m = text(3, b"will fail");
    m.failure_report = FailureReport::Partial;
    a.stack.send(sa.key, m).unwrap();
    assert_eq!(a.outcome(sa.key, 3), SendOutcome::Written);
    let (held, _, _) = b.received(sb.key);
    b.stack.answer(sb.key, held.unwrap(), 403, None).unwrap();
    assert!(matches!(
        a.outcome(sa.key, 3),
        SendOutcome::Failed { status: 403, .. }
    ));
    a.stack.shutdown();
    b.stack.shutdown();
}

#[test]
fn peer_max_size_is_refused_locally_with_413() {
    let (mut a, mut b) = (Side::tcp(), Side::tcp());
    let sa = a.session(SessionOptions::default());
    let sb = b.session(SessionOptions::default());
    b.stack
        .start_session(
            sb.key,
            remote(sa.local_path.as_ref().unwrap(), Role::Passive),
        )
        .unwrap();
    let mut r = remote(sb.local_path.as_ref().unwrap(), Role::Active);
    r.max_size = Some(10);
    a.stack.start_session(sa.key, r).unwrap();
    a.connected(sa.key);
    a.stack.send(sa.key, text(1, &[b'x'; 11])).unwrap();
    assert!(matches!(
        a.outcome(sa.key, 1),
        SendOutcome::Failed { status: 413, .. }
    ));
    a.stack.send(sa.key, text(2, &[b'x'; 10])).unwrap();
    let (held, body, _) = b.received(sb.key);
    assert_eq!(body.len(), 10, "the 11-octet message never went out");
    b.stack.answer(sb.key, held.unwrap(), 200, None).unwrap();
    assert_eq!(a.outcome(sa.key, 2), SendOutcome::Delivered);
    a.stack.shutdown();
    b.stack.shutdown();
}

// ---- hand-written peers ------------------------------------------------

/// A raw MSRP connection with a frame reader.
pub(crate) struct Raw {
    pub s: TcpStream,
    buf: Vec<u8>,
}

impl Raw {
    pub(crate) fn connect(addr: SocketAddr) -> Raw {
        let s = TcpStream::connect(addr).unwrap();
        Raw::new(s)
    }

    pub(crate) fn new(s: TcpStream) -> Raw {
        s.set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        Raw { s, buf: Vec::new() }
    }

    pub(crate) fn send(&mut self, bytes: &[u8]) {
        self.s.write_all(bytes).unwrap();
    }

    /// The next frame within `wait`, or `None`.
    pub(crate) fn frame(&mut self, wait: Duration) -> Option<Message<'static>> {
        let deadline = Instant::now() + wait;
        loop {
            if let Ok(Some(f)) = Framer::new().frame(&self.buf, &FrameLimits::UNLIMITED) {
                let m = Message::parse_frame(&self.buf, &f).unwrap().into_owned();
                self.buf.drain(..f.len);
                return Some(m);
            }
            if Instant::now() >= deadline {
                return None;
            }
            let mut tmp = [0u8; 65536];
            match self.s.read(&mut tmp) {
                Ok(0) => return None,
                Ok(n) => self.buf.extend_from_slice(&tmp[..n]),
                Err(_) => {}
            }
        }
    }

    pub(crate) fn must(&mut self) -> Message<'static> {
        self.frame(WAIT).expect("a frame")
    }
}

fn send_frame(
    tid: &str,
    to: &str,
    from: &str,
    extra: &str,
    ct: Option<&str>,
    body: &[u8],
    flag: char,
) -> Vec<u8> {
    let mut v =
        format!("MSRP {tid} SEND\r\nTo-Path: {to}\r\nFrom-Path: {from}\r\n{extra}").into_bytes();
    if let Some(ct) = ct {
        v.extend_from_slice(format!("Content-Type: {ct}\r\n\r\n").as_bytes());
        v.extend_from_slice(body);
        v.extend_from_slice(b"\r\n");
    }
    v.extend_from_slice(format!("-------{tid}{flag}\r\n").as_bytes());
    v
}

const RAW_PATH: &str = "msrp://127.0.0.1:9/rawpeer;tcp";

fn passive_session(side: &mut Side, opts: SessionOptions, cema: bool) -> (NewSession, String) {
    let s = side.session(opts);
    let mut r = remote(
        &[MsrpUri::parse(RAW_PATH).unwrap().into_owned()],
        Role::Passive,
    );
    r.cema = cema;
    side.stack.start_session(s.key, r).unwrap();
    let me = s.local_path.as_ref().unwrap()[0].to_string();
    (s, me)
}

fn code(m: &Message<'_>) -> u16 {
    m.code().unwrap_or(0)
}

#[test]
fn binding_481_unknown_506_wrong_connection_and_shared_connections() {
    let mut a = Side::tcp();
    let (s1, me1) = passive_session(&mut a, SessionOptions::default(), false);
    let (s2, me2) = passive_session(&mut a, SessionOptions::default(), false);

    let mut c1 = Raw::connect(a.addr());
    let unknown = format!("msrp://127.0.0.1:{}/nosuchsession;tcp", a.addr().port());
    c1.send(&send_frame(
        "t0",
        &unknown,
        RAW_PATH,
        "Message-ID: m0\r\nByte-Range: 1-1/1\r\n",
        Some("text/plain"),
        b"x",
        '$',
    ));
    assert_eq!(code(&c1.must()), 481);

    // A first request from someone else than the peer in the SDP: 481,
    // and the session stays unbound.
    c1.send(&send_frame(
        "tx",
        &me1,
        "msrp://127.0.0.1:9/intruder;tcp",
        "Message-ID: mx\r\nByte-Range: 1-1/1\r\n",
        Some("text/plain"),
        b"x",
        '$',
    ));
    assert_eq!(code(&c1.must()), 481);

    // Two sessions bound by their first requests on one connection.
    for (tid, me) in [("t1", &me1), ("t2", &me2)] {
        c1.send(&send_frame(
            tid,
            me,
            RAW_PATH,
            "Message-ID: m1\r\nByte-Range: 1-2/2\r\n",
            Some("text/plain"),
            b"hi",
            '$',
        ));
    }
    for s in [&s1, &s2] {
        a.connected(s.key);
        let (held, body, _) = a.received(s.key);
        assert_eq!(body, b"hi");
        a.stack.answer(s.key, held.unwrap(), 200, None).unwrap();
    }
    let (r1, r2) = (c1.must(), c1.must());
    assert_eq!((code(&r1), code(&r2)), (200, 200));

    // The same session from another connection: 506.
    let mut c2 = Raw::connect(a.addr());
    c2.send(&send_frame(
        "t3",
        &me1,
        RAW_PATH,
        "Message-ID: m3\r\nByte-Range: 1-1/1\r\n",
        Some("text/plain"),
        b"x",
        '$',
    ));
    let r = c2.must();
    assert_eq!((code(&r), r.tid.as_ref()), (506, "t3"));

    // The session-id right but the authority rewritten: 481 without CEMA.
    let rewritten = me1.replace("127.0.0.1", "192.0.2.1");
    c1.send(&send_frame(
        "t4",
        &rewritten,
        RAW_PATH,
        "Message-ID: m4\r\nByte-Range: 1-1/1\r\n",
        Some("text/plain"),
        b"x",
        '$',
    ));
    assert_eq!(code(&c1.must()), 481);
    a.stack.shutdown();
}

#[test]
fn garbage_closes_only_its_own_connection() {
    let mut a = Side::tcp();
    let (s, me) = passive_session(&mut a, SessionOptions::default(), false);
    let mut good = Raw::connect(a.addr());
    good.send(&send_frame(
        "g1",
        &me,
        RAW_PATH,
        "Message-ID: m1\r\nByte-Range: 1-2/2\r\n",
        Some("text/plain"),
        b"ok",
        '$',
    ));
    let (held, _, _) = a.received(s.key);
    a.stack.answer(s.key, held.unwrap(), 200, None).unwrap();
    assert_eq!(code(&good.must()), 200);
    for junk in [
        &b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"[..],
        &b"MSRP \x00\xff SEND\r\n\r\n"[..],
        &[0xffu8; 70_000][..],
    ] {
        let mut bad = Raw::connect(a.addr());
        bad.send(junk);
        assert!(bad.frame(Duration::from_secs(2)).is_none());
        // The stack closed it: reading gives end-of-stream.
        let mut tmp = [0u8; 16];
        bad.s
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        match bad.s.read(&mut tmp) {
            Ok(0) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
            r => panic!("connection still open after junk: {r:?}"),
        }
    }
    good.send(&send_frame(
        "g2",
        &me,
        RAW_PATH,
        "Message-ID: m2\r\nByte-Range: 1-2/2\r\n",
        Some("text/plain"),
        b"ok",
        '$',
    ));
    let (held, _, _) = a.received(s.key);
    a.stack.answer(s.key, held.unwrap(), 200, None).unwrap();
    assert_eq!(code(&good.must()), 200);
    a.stack.shutdown();
}

#[test]
fn a_chunk_over_the_frame_cap_gets_413_then_the_connection_closes() {
    let mut cfg = MsrpStackConfig::new(tcp_listen());
    cfg.max_message_bytes = 1000;
    let mut a = Side::start(cfg);
    let (s, me) = passive_session(&mut a, SessionOptions::default(), false);
    let mut c = Raw::connect(a.addr());
    c.send(&send_frame(
        "h1",
        &me,
        RAW_PATH,
        "Message-ID: m1\r\nByte-Range: 1-2000/2000\r\n",
        Some("text/plain"),
        &[b'x'; 2000],
        '$',
    ));
    let r = c.must();
    assert_eq!((code(&r), r.tid.as_ref()), (413, "h1"));
    assert!(c.frame(Duration::from_secs(2)).is_none(), "closed");
    // The refused request bound nothing: the session still waits for its
    // peer, which can come on a new connection.
    let mut c = Raw::connect(a.addr());
    c.send(&send_frame(
        "h2",
        &me,
        RAW_PATH,
        "Message-ID: m2\r\nByte-Range: 1-2/2\r\n",
        Some("text/plain"),
        b"ok",
        '$',
    ));
    let (held, body, _) = a.received(s.key);
    assert_eq!(body, b"ok");
    a.stack.answer(s.key, held.unwrap(), 200, None).unwrap();
    assert_eq!(code(&c.must()), 200);
    a.stack.shutdown();
}

#[test]
fn cema_matches_by_session_id_only() {
    let mut a = Side::tcp();
    let (s, me) = passive_session(&mut a, SessionOptions::default(), true);
    let rewritten = me.replace("127.0.0.1", "192.0.2.1");
    let mut c = Raw::connect(a.addr());
    c.send(&send_frame(
        "t1",
        &rewritten,
        RAW_PATH,
        "Message-ID: m1\r\nByte-Range: 1-2/2\r\n",
        Some("text/plain"),
        b"ok",
        '$',
    ));
    let (held, body, _) = a.received(s.key);
    assert_eq!(body, b"ok");
    a.stack.answer(s.key, held.unwrap(), 200, None).unwrap();
    assert_eq!(code(&c.must()), 200);
    a.stack.shutdown();
}

#[test]
fn receiving_rules_415_413_400_501_reports_and_reassembly() {
    let mut cfg = MsrpStackConfig::new(tcp_listen());
    cfg.accept_types = vec!["text/plain".into(), "message/cpim".into()];
    cfg.max_message_bytes = 1000;
    let mut a = Side::start(cfg);
    let (s, me) = passive_session(&mut a, SessionOptions::default(), false);
    let mut c = Raw::connect(a.addr());
    let frame = |tid: &str, extra: &str, ct: Option<&str>, body: &[u8], flag: char| {
        send_frame(tid, &me, RAW_PATH, extra, ct, body, flag)
    };

    // 415: a type outside accept-types.
    c.send(&frame(
        "a1",
        "Message-ID: m1\r\nByte-Range: 1-3/3\r\n",
        Some("image/png"),
        b"png",
        '$',
    ));
    assert_eq!(code(&c.must()), 415);
    // 413: a declared total over the cap; later chunks of it get 413 too.
    c.send(&frame(
        "a2",
        "Message-ID: m2\r\nByte-Range: 1-10/5000\r\n",
        Some("text/plain"),
        b"0123456789",
        '+',
    ));
    assert_eq!(code(&c.must()), 413);
    c.send(&frame(
        "a3",
        "Message-ID: m2\r\nByte-Range: 11-20/5000\r\n",
        Some("text/plain"),
        b"0123456789",
        '+',
    ));
    assert_eq!(code(&c.must()), 413);
    // 413 when the data passes the cap mid-message (no total declared),
    // plus a failure REPORT: earlier chunks were answered 200.
    c.send(&frame(
        "a4",
        "Message-ID: m3\r\nByte-Range: 1-600/*\r\n",
        Some("text/plain"),
        &[b'a'; 600],
        '+',
    ));
    assert_eq!(code(&c.must()), 200);
    c.send(&frame(
        "a5",
        "Message-ID: m3\r\nByte-Range: 601-1200/*\r\n",
        Some("text/plain"),
        &[b'b'; 600],
        '+',
    ));
    assert_eq!(code(&c.must()), 413);
    let rep = c.must();
    assert_eq!(rep.method().map(|m| m.as_str()), Some("REPORT"));
    assert_eq!(rep.headers.status.as_ref().map(|s| s.code), Some(413));
    // 400: no Message-ID.
    c.send(&frame(
        "a6",
        "Byte-Range: 1-1/1\r\n",
        Some("text/plain"),
        b"x",
        '$',
    ));
    let r = c.must();
    assert_eq!((code(&r), r.tid.as_ref()), (400, "a6"));
    // 400: a header that does not parse (answered from the raw paths).
    c.send(&frame(
        "a7",
        "Message-ID: m7\r\nByte-Range: banana\r\n",
        Some("text/plain"),
        b"x",
        '$',
    ));
    let r = c.must();
    assert_eq!((code(&r), r.tid.as_ref()), (400, "a7"));
    // 501: unknown method.
    c.send(
        format!("MSRP a8 FETCH\r\nTo-Path: {me}\r\nFrom-Path: {RAW_PATH}\r\n-------a8$\r\n")
            .as_bytes(),
    );
    assert_eq!(code(&c.must()), 501);

    // Out of order and overlapping chunks reassemble; the final response
    // waits for the answer, then a success REPORT follows.
    let sr = "Success-Report: yes\r\n";
    c.send(&frame(
        "b2",
        &format!("Message-ID: m9\r\n{sr}Byte-Range: 6-10/10\r\n"),
        Some("text/plain"),
        b"FGHIJ",
        '$',
    ));
    c.send(&frame(
        "b1",
        &format!("Message-ID: m9\r\n{sr}Byte-Range: 1-7/10\r\n"),
        Some("text/plain"),
        b"ABCDEfg",
        '+',
    ));
    let r1 = c.must();
    assert_eq!(r1.tid, "b2");
    assert_eq!(
        code(&r1),
        200,
        "a chunk that does not complete is answered at once"
    );
    let (held, body, wants_report) = a.received(s.key);
    assert_eq!(body, b"ABCDEfgHIJ", "the chunk received last wins");
    assert!(wants_report);
    let early = c.frame(Duration::from_millis(300));
    assert!(early.is_none(), "held, yet got {early:?}");
    a.stack.answer(s.key, held.unwrap(), 200, None).unwrap();
    let (fin, rep) = (c.must(), c.must());
    assert_eq!((code(&fin), fin.tid.as_ref()), (200, "b1"));
    assert_eq!(rep.method().map(|m| m.as_str()), Some("REPORT"));
    assert_eq!(rep.headers.byte_range.unwrap().to_string(), "1-10/10");

    // '#' aborts a message: nothing is delivered.
    c.send(&frame(
        "c1",
        "Message-ID: m10\r\nByte-Range: 1-3/6\r\n",
        Some("text/plain"),
        b"abc",
        '+',
    ));
    c.send(&frame(
        "c2",
        "Message-ID: m10\r\nByte-Range: 4-6/6\r\n",
        Some("text/plain"),
        b"def",
        '#',
    ));
    assert_eq!(code(&c.must()), 200);
    assert_eq!(code(&c.must()), 200);
    // Failure-Report: no → no response at all, even when held and answered.
    c.send(&frame(
        "d1",
        "Message-ID: m11\r\nFailure-Report: no\r\nByte-Range: 1-2/2\r\n",
        Some("text/plain"),
        b"ok",
        '$',
    ));
    let (held, body, _) = a.received(s.key);
    assert_eq!(body, b"ok");
    a.stack.answer(s.key, held.unwrap(), 200, None).unwrap();
    // An empty SEND (the active side's first) is answered, not delivered.
    c.send(format!("MSRP e1 SEND\r\nTo-Path: {me}\r\nFrom-Path: {RAW_PATH}\r\nMessage-ID: m12\r\nByte-Range: 1-0/0\r\n-------e1$\r\n").as_bytes());
    let r = c.must();
    assert_eq!((code(&r), r.tid.as_ref()), (200, "e1"), "not d1");
    a.quiet(s.key, Duration::from_millis(200));
    a.stack.shutdown();
}

#[test]
fn peer_resets_mid_chunk_while_sending_to_us() {
    let mut a = Side::tcp();
    let (s, me) = passive_session(&mut a, SessionOptions::default(), false);
    let mut c = Raw::connect(a.addr());
    c.send(&send_frame(
        "f1",
        &me,
        RAW_PATH,
        "Message-ID: m1\r\nByte-Range: 1-4/4\r\n",
        Some("text/plain"),
        b"full",
        '$',
    ));
    let (held, _, _) = a.received(s.key);
    a.stack.answer(s.key, held.unwrap(), 200, None).unwrap();
    // The 200 is left unread so that closing sends RST (Linux resets a
    // connection closed with unread data).
    std::thread::sleep(Duration::from_millis(200));
    let chunk = send_frame(
        "f2",
        &me,
        RAW_PATH,
        "Message-ID: m2\r\nByte-Range: 1-*/8000\r\n",
        Some("text/plain"),
        &[b'z'; 4000],
        '+',
    );
    c.send(&chunk[..chunk.len() / 2]);
    drop(c); // RST
    assert!(matches!(a.closed(s.key), CloseReason::ConnectionLost(_)));
    assert_eq!(a.stack.session_count(), 0);
    a.stack.shutdown();
}

/// Accepts one connection on a raw listener standing in for a passive peer.
fn raw_passive_peer() -> (TcpListener, Vec<MsrpUri<'static>>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let path = vec![
        MsrpUri::parse(&format!("msrp://127.0.0.1:{port}/rawpassive;tcp"))
            .unwrap()
            .into_owned(),
    ];
    (l, path)
}

#[test]
fn peer_resets_mid_message_while_we_send() {
    let mut a = Side::tcp();
    let (l, path) = raw_passive_peer();
    let s = a.session(SessionOptions::default());
    a.stack
        .start_session(s.key, remote(&path, Role::Active))
        .unwrap();
    let (sock, _) = l.accept().unwrap();
    let mut c = Raw::new(sock);
    let first = c.must();
    assert!(first.body.is_none(), "the active side's empty SEND first");
    a.connected(s.key);
    a.stack.send(s.key, text(1, &vec![b'q'; 500_000])).unwrap();
    let chunk = c.must();
    assert_eq!(chunk.headers.byte_range.unwrap().start, 1);
    // More chunks are unread in the socket: closing now sends RST.
    std::thread::sleep(Duration::from_millis(100));
    drop(c);
    match a.outcome(s.key, 1) {
        SendOutcome::Failed { status, .. } => assert_eq!(status, 408),
        o => panic!("{o:?}"),
    }
    assert!(matches!(a.closed(s.key), CloseReason::ConnectionLost(_)));
    a.stack.shutdown();
}

#[test]
fn sending_rules_on_the_wire() {
    let mut cfg = MsrpStackConfig::new(tcp_listen());
    cfg.chunk_size = 4096;
    let mut a = Side::start(cfg);
    let (l, path) = raw_passive_peer();
    let s = a.session(SessionOptions::default());
    a.stack
        .start_session(s.key, remote(&path, Role::Active))
        .unwrap();
    let (sock, _) = l.accept().unwrap();
    let mut c = Raw::new(sock);
    let first = c.must();
    assert!(first.body.is_none());
    assert_eq!(first.headers.to_path, path);
    assert_eq!(first.headers.byte_range.unwrap().to_string(), "1-0/0");
    a.connected(s.key);

    let body: Vec<u8> = (0..10_000u32).map(|i| (i % 200) as u8).collect();
    let mut m = OutgoingMessage::new(1, "text/plain; charset=utf-8", body.clone());
    m.success_report = true;
    m.failure_report = FailureReport::Yes;
    a.stack.send(s.key, m).unwrap();
    let mut got = Vec::new();
    let mut ids = Vec::new();
    let mut tids = Vec::new();
    loop {
        let f = c.must();
        let h = &f.headers;
        let r = h.byte_range.expect("Byte-Range on every SEND");
        assert_eq!(r.start, got.len() as u64 + 1);
        assert_eq!(r.total, Some(10_000));
        // Chunks over 2048 octets can be interrupted: range-end `*`
        // (RFC 4975 §7.1.1); shorter ones give their end.
        let n = f.body.as_deref().map_or(0, <[u8]>::len) as u64;
        let want = (n <= 2048).then_some(r.start + n - 1);
        assert_eq!(r.end, want, "{r}");
        assert_eq!(
            h.success_report,
            Some(msrpgw::proto::msrp::SuccessReport::Yes)
        );
        assert_eq!(h.content_type.as_deref(), Some("text/plain; charset=utf-8"));
        assert_eq!(h.to_path, path);
        ids.push(h.message_id.clone().expect("Message-ID").to_string());
        tids.push(f.tid.to_string());
        got.extend_from_slice(f.body.as_deref().unwrap_or(&[]));
        c.send(&Message::response_for(&f, 200, None).unwrap().to_bytes());
        if f.flag == msrpgw::proto::msrp::Flag::End {
            break;
        }
    }
    assert_eq!(got, body);
    assert_eq!(ids.len(), 3, "4096 + 4096 + 1808");
    assert!(ids.windows(2).all(|w| w[0] == w[1]), "one Message-ID");
    tids.sort();
    tids.dedup();
    assert_eq!(tids.len(), 3, "a transaction id per chunk");
    assert_eq!(a.outcome(s.key, 1), SendOutcome::Delivered);
    a.stack.shutdown();
}

#[test]
fn peer_413_interrupts_and_silence_gives_408() {
    let mut cfg = MsrpStackConfig::new(tcp_listen());
    cfg.transaction_timeout = Duration::from_secs(1);
    cfg.max_message_bytes = 64 * 1024 * 1024;
    let mut a = Side::start(cfg);
    let (l, path) = raw_passive_peer();
    let s = a.session(SessionOptions::default());
    a.stack
        .start_session(s.key, remote(&path, Role::Active))
        .unwrap();
    let (sock, _) = l.accept().unwrap();
    let mut c = Raw::new(sock);
    c.must(); // empty SEND
    let total = 32 * 1024 * 1024;
    a.stack.send(s.key, text(1, &vec![b'w'; total])).unwrap();
    let first = c.must();
    let mut resp = Message::response_for(&first, 413, None).unwrap().to_bytes();
    c.send(&resp);
    assert!(matches!(
        a.outcome(s.key, 1),
        SendOutcome::Failed { status: 413, .. }
    ));
    // What was already on its way arrives; the rest never goes out.
    let mut chunks = 1;
    let mut last_flag = first.flag;
    while let Some(m) = c.frame(Duration::from_millis(500)) {
        chunks += 1;
        last_flag = m.flag;
    }
    assert!(chunks < total / 2048, "{chunks} chunks: not interrupted");
    assert_ne!(last_flag, msrpgw::proto::msrp::Flag::End);

    // A peer that never answers: 408 after the transaction timeout.
    a.stack.send(s.key, text(2, b"anyone?")).unwrap();
    let m = c.must();
    assert_eq!(m.body.as_deref(), Some(&b"anyone?"[..]));
    match a.outcome(s.key, 2) {
        SendOutcome::Failed { status, .. } => assert_eq!(status, 408),
        o => panic!("{o:?}"),
    }
    resp.clear();
    a.stack.shutdown();
}

#[test]
fn peer_that_never_reads_fails_its_session_and_nothing_else_stalls() {
    let mut cfg = MsrpStackConfig::new(tcp_listen());
    cfg.write_timeout = Duration::from_secs(1);
    cfg.session_queue_depth = 4;
    cfg.max_message_bytes = 4 * 1024 * 1024;
    let mut a = Side::start(cfg);
    let mut b = Side::tcp();
    let (l, path) = raw_passive_peer();
    let stuck = a.session(SessionOptions::default());
    a.stack
        .start_session(stuck.key, remote(&path, Role::Active))
        .unwrap();
    let (_sock, _) = l.accept().unwrap(); // accepted, never read
    a.connected(stuck.key);

    // A healthy session on the same stack, to another peer.
    let sa = a.session(SessionOptions::default());
    let sb = b.session(SessionOptions::default());
    b.stack
        .start_session(
            sb.key,
            remote(sa.local_path.as_ref().unwrap(), Role::Passive),
        )
        .unwrap();
    a.stack
        .start_session(
            sa.key,
            remote(sb.local_path.as_ref().unwrap(), Role::Active),
        )
        .unwrap();
    a.connected(sa.key);

    let started = Instant::now();
    let mut sent = 0u64;
    let mut refused = None;
    while started.elapsed() < WAIT {
        match a
            .stack
            .send(stuck.key, text(sent, &vec![b'f'; 2 * 1024 * 1024]))
        {
            Ok(()) => sent += 1,
            Err(e) => {
                refused = Some(e);
                break;
            }
        }
        // Meanwhile the other session works.
        a.stack
            .send(sa.key, text(1000 + sent, b"still here"))
            .unwrap();
        let (held, _, _) = b.received(sb.key);
        b.stack.answer(sb.key, held.unwrap(), 200, None).unwrap();
        assert_eq!(a.outcome(sa.key, 1000 + sent), SendOutcome::Delivered);
    }
    assert!(
        matches!(
            refused,
            Some(StackError::QueueFull(_)) | Some(StackError::UnknownSession(_))
        ),
        "{refused:?} after {sent} messages"
    );
    let reason = a.closed(stuck.key);
    assert!(
        matches!(reason, CloseReason::PeerNotReading(_)),
        "{reason:?}"
    );
    for tag in 0..sent {
        assert!(matches!(
            a.outcome(stuck.key, tag),
            SendOutcome::Failed { .. }
        ));
    }
    assert!(started.elapsed() < Duration::from_secs(12));
    a.stack.send(sa.key, text(5000, b"after")).unwrap();
    let (held, _, _) = b.received(sb.key);
    b.stack.answer(sb.key, held.unwrap(), 200, None).unwrap();
    assert_eq!(a.outcome(sa.key, 5000), SendOutcome::Delivered);
    a.stack.shutdown();
    b.stack.shutdown();
}

// ---- TLS ----------------------------------------------------------------

pub(crate) fn tls_side() -> Side {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tls");
    let acceptor = msrpgw::sip::transport::load_acceptor(&TlsConfig {
        certificate: dir.join("cert.pem"),
        private_key: dir.join("key.pem"),
    })
    .expect("test identity");
    let cert = std::fs::read(dir.join("cert.pem")).unwrap();
    let connector = native_tls::TlsConnector::builder()
        .add_root_certificate(native_tls::Certificate::from_pem(&cert).unwrap())
        .build()
        .unwrap();
    let mut cfg = MsrpStackConfig::new(vec![ListenSpec {
        transport: Transport::Tls,
        addr: "127.0.0.1:0".parse().unwrap(),
    }]);
    cfg.tls_acceptor = Some(acceptor);
    cfg.tls_connector = Some(connector);
    cfg.max_message_bytes = 4 * 1024 * 1024;
    Side::start(cfg)
}

#[test]
fn tls_sessions_carry_concurrent_traffic_both_ways() {
    let (mut a, mut b) = (tls_side(), tls_side());
    let opts = SessionOptions {
        tls: true,
        ..SessionOptions::default()
    };
    let (sa, sb) = pair(&mut a, &mut b, opts);
    assert!(
        sa.local_path.as_ref().unwrap()[0]
            .to_string()
            .starts_with("msrps://")
    );
    let big: Vec<u8> = (0..1_500_000u32).map(|i| (i % 253) as u8).collect();
    // Both sides send at once: many small messages and one large one each.
    let n = 200u64;
    for i in 0..n {
        a.stack
            .send(sa.key, text(i, format!("a{i}").as_bytes()))
            .unwrap();
        b.stack
            .send(sb.key, text(i, format!("b{i}").as_bytes()))
            .unwrap();
        if i == n / 2 {
            a.stack.send(sa.key, text(9999, &big)).unwrap();
            b.stack.send(sb.key, text(9999, &big)).unwrap();
        }
    }
    for (me, key, other) in [(&mut a, sa.key, "b"), (&mut b, sb.key, "a")] {
        let mut small = 0;
        let mut large = 0;
        while small + large < n + 1 {
            let (held, body, _) = me.received(key);
            if body.len() == big.len() {
                assert_eq!(body, big);
                large += 1;
            } else {
                assert_eq!(body, format!("{other}{small}").into_bytes(), "in order");
                small += 1;
            }
            me.stack.answer(key, held.unwrap(), 200, None).unwrap();
        }
    }
    for i in (0..n).chain([9999]) {
        assert_eq!(a.outcome(sa.key, i), SendOutcome::Delivered);
        assert_eq!(b.outcome(sb.key, i), SendOutcome::Delivered);
    }
    a.stack.shutdown();
    b.stack.shutdown();
}

/// TLS records delivered three bytes at a time, slower than the owner
/// thread's read timeout: a timeout in the middle of a record resumes, and
/// the answer goes back on the same connection.
#[test]
fn tls_record_split_across_read_timeouts() {
    let mut a = tls_side();
    let s = a.session(SessionOptions {
        tls: true,
        ..SessionOptions::default()
    });
    let me = s.local_path.as_ref().unwrap()[0].to_string();
    a.stack
        .start_session(
            s.key,
            remote(
                &[MsrpUri::parse(RAW_PATH).unwrap().into_owned()],
                Role::Passive,
            ),
        )
        .unwrap();
    let gw = a.addr();
    let proxy = TcpListener::bind("127.0.0.1:0").unwrap();
    let paddr = proxy.local_addr().unwrap();
    let pump = std::thread::spawn(move || {
        let (client, _) = proxy.accept().unwrap();
        let upstream = TcpStream::connect(gw).unwrap();
        let (mut cr, mut uw) = (client.try_clone().unwrap(), upstream.try_clone().unwrap());
        let (mut ur, mut cw) = (upstream, client);
        let back = std::thread::spawn(move || {
            let _ = std::io::copy(&mut ur, &mut cw);
        });
        let mut b = [0u8; 3];
        cr.set_read_timeout(Some(WAIT)).unwrap();
        while let Ok(n @ 1..) = cr.read(&mut b) {
            if uw.write_all(&b[..n]).is_err() {
                break;
            }
            std::thread::sleep(Duration::from_millis(3));
        }
        let _ = uw.shutdown(std::net::Shutdown::Both);
        let _ = back.join();
    });
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tls");
    let cert = std::fs::read(dir.join("cert.pem")).unwrap();
    let connector = native_tls::TlsConnector::builder()
        .add_root_certificate(native_tls::Certificate::from_pem(&cert).unwrap())
        .build()
        .unwrap();
    let tcp = TcpStream::connect(paddr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut c = connector.connect("localhost", tcp).expect("handshake");
    c.write_all(&send_frame(
        "s1",
        &me,
        RAW_PATH,
        "Message-ID: m1\r\nByte-Range: 1-13/13\r\n",
        Some("text/plain"),
        b"slow and safe",
        '$',
    ))
    .unwrap();
    let (held, body, _) = a.received(s.key);
    assert_eq!(body, b"slow and safe");
    a.stack.answer(s.key, held.unwrap(), 200, None).unwrap();
    let mut buf = Vec::new();
    let mut tmp = [0u8; 1024];
    while !buf.ends_with(b"-------s1$\r\n") {
        let n = c.read(&mut tmp).expect("the 200");
        assert!(n > 0, "closed before the 200");
        buf.extend_from_slice(&tmp[..n]);
    }
    assert!(
        buf.starts_with(b"MSRP s1 200"),
        "{}",
        String::from_utf8_lossy(&buf)
    );
    drop(c);
    a.stack.shutdown();
    let _ = pump.join();
}

#[test]
fn shutdown_is_prompt_with_open_connections_and_sessions() {
    let (mut a, mut b) = (Side::tcp(), Side::tcp());
    let (sa, _) = pair(&mut a, &mut b, SessionOptions::default());
    let t = tls_side();
    let idle_tcp = TcpStream::connect(a.addr()).unwrap();
    let idle_tls = TcpStream::connect(t.addr()).unwrap(); // no handshake
    a.stack.send(sa.key, text(1, b"pending")).unwrap();
    let started = Instant::now();
    a.stack.shutdown();
    t.stack.shutdown();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    drop((idle_tcp, idle_tls));
    b.stack.shutdown();
}
