//! The peers around the gateway, on loopback sockets: the pager users (one
//! UDP SIP socket: `sip:p<N>@addr`), the session users (one UDP SIP socket:
//! `sip:s<N>@addr`, one MSRP listener, one TCP connection per session) and
//! the client-transaction timers (UDP retransmission, Timer E/F).
//!
//! Owns: those sockets, their reader threads, the table of transactions in
//! flight and the window of messages in flight. Must not: know which
//! scenario runs (the drivers in `scenario` decide what to send) or use the
//! gateway's code beyond its wire codecs (`msrpgw::proto`): the bench
//! speaks only SIP and MSRP to the gateway, so it can drive any gateway.
//!
//! Threads are plain blocking readers: one per UDP socket, one per MSRP
//! connection (small stacks: a 10,000-session run holds 10,000 of them),
//! one for the timers. Every reader polls the stop flag between reads.

use std::collections::{HashMap, HashSet};
use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use msrpgw::proto::msrp::{self, FrameLimits, Framer, Kind as MsrpKind, Message as MsrpMessage};
use msrpgw::proto::sdp::{SessionDescription, Setup};
use msrpgw::proto::sip::{self, HeaderName, Method, SipMessage, SipRequest, SipResponse};

use crate::stats::Tracker;

const READ_POLL: Duration = Duration::from_millis(100);
const READER_STACK: usize = 256 * 1024;
const CONN_STACK: usize = 64 * 1024;
/// MSRP transactions without a response for this long count as timeouts
/// (RFC 4975 §7.1.1 leaves the value to the endpoint; msrpgw uses 30 s).
const MSRP_TIMEOUT_NS: u64 = 30_000_000_000;

/// What every peer thread shares.
pub struct Env {
    start: Instant,
    pub tracker: Tracker,
    pub stop: AtomicBool,
    /// The gateway process went away during the run.
    pub gateway_gone: AtomicBool,
    /// The gateway's SIP UDP address.
    pub gateway: SocketAddr,
    /// The bench's T1 for its own UDP retransmissions.
    pub t1_ns: u64,
    /// Bytes of each message body.
    pub size: usize,
    /// One token per message in flight (bounded: the window).
    window_tx: Sender<()>,
    window_rx: Receiver<()>,
    /// Threads to join at the end (MSRP connection readers).
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl Env {
    pub fn new(gateway: SocketAddr, t1: Duration, size: usize, window: usize) -> Env {
        let (window_tx, window_rx) = crossbeam_channel::bounded(window.max(1));
        Env {
            start: Instant::now(),
            tracker: Tracker::default(),
            stop: AtomicBool::new(false),
            gateway_gone: AtomicBool::new(false),
            gateway,
            t1_ns: u64::try_from(t1.as_nanos())
                .unwrap_or(u64::MAX)
                .max(1_000_000),
            size,
            window_tx,
            window_rx,
            threads: Mutex::new(Vec::new()),
        }
    }

    /// Nanoseconds since the run started.
    pub fn now_ns(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// Waits for room in the window; false when stopping.
    pub fn acquire(&self) -> bool {
        loop {
            if self.stop.load(Relaxed) {
                return false;
            }
            match self.window_tx.send_timeout((), READ_POLL) {
                Ok(()) => return true,
                Err(crossbeam_channel::SendTimeoutError::Timeout(())) => {}
                Err(crossbeam_channel::SendTimeoutError::Disconnected(())) => return false,
            }
        }
    }

    /// A message in flight finished (final response, timeout, error).
    pub fn release(&self) {
        let _ = self.window_rx.try_recv();
    }

    /// Messages in flight.
    pub fn in_flight(&self) -> usize {
        self.window_rx.len()
    }

    fn spawn(&self, name: String, stack: usize, f: impl FnOnce() + Send + 'static) {
        match thread::Builder::new().name(name).stack_size(stack).spawn(f) {
            Ok(h) => {
                if let Ok(mut t) = self.threads.lock() {
                    t.retain(|h| !h.is_finished());
                    t.push(h);
                }
            }
            Err(_) => {
                self.tracker.errors.fetch_add(1, Relaxed);
            }
        }
    }

    /// Joins every connection reader (after `stop` is set).
    pub fn join_connections(&self) {
        let handles = self
            .threads
            .lock()
            .map(|mut t| std::mem::take(&mut *t))
            .unwrap_or_default();
        for h in handles {
            let _ = h.join();
        }
    }
}

/// The body of message `seq` of `pair`, sent at `t_ns`, padded to `size`.
pub fn body(pair: u64, seq: u64, t_ns: u64, size: usize) -> String {
    let mut b = format!("bench {pair} {seq} {t_ns} ");
    while b.len() < size {
        b.push('x');
    }
    b
}

/// (pair, seq, sent) from a body made by [`body`], found anywhere in the
/// content (a CPIM wrapper may surround it).
pub fn parse_body(content: &[u8]) -> Option<(u64, u64, u64)> {
    let at = content.windows(6).position(|w| w == b"bench ")?;
    let text = std::str::from_utf8(&content[at + 6..]).ok()?;
    let mut it = text.split(' ');
    let mut num = || it.next()?.trim().parse::<u64>().ok();
    Some((num()?, num()?, num()?))
}

fn udp_socket(ip: IpAddr) -> std::io::Result<UdpSocket> {
    let s = UdpSocket::bind((ip, 0))?;
    // Bursts of thousands of datagrams must wait in the kernel, not drop.
    let r = socket2::SockRef::from(&s);
    let _ = r.set_recv_buffer_size(8 << 20);
    let _ = r.set_send_buffer_size(8 << 20);
    s.set_read_timeout(Some(READ_POLL))?;
    Ok(s)
}

/// A request in flight, keyed by a bench-wide id.
struct Pending {
    pair: u64,
    seq: u64,
    sent_ns: u64,
    /// The datagram, for retransmission (empty: not retransmitted, TCP).
    bytes: Vec<u8>,
    next_ns: u64,
    interval_ns: u64,
    deadline_ns: u64,
}

/// Requests in flight, sharded so readers and the sender rarely contend.
struct InFlight {
    shards: Vec<Mutex<HashMap<u64, Pending>>>,
}

impl InFlight {
    fn new() -> InFlight {
        InFlight {
            shards: (0..32).map(|_| Mutex::new(HashMap::new())).collect(),
        }
    }

    fn shard(&self, id: u64) -> &Mutex<HashMap<u64, Pending>> {
        &self.shards[(id % self.shards.len() as u64) as usize]
    }

    fn insert(&self, id: u64, p: Pending) {
        if let Ok(mut s) = self.shard(id).lock() {
            s.insert(id, p);
        }
    }

    fn remove(&self, id: u64) -> Option<Pending> {
        self.shard(id).lock().ok()?.remove(&id)
    }

    fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().map_or(0, |s| s.len()))
            .sum()
    }

    /// Retransmits what is due (through `resend`) and expires what is past
    /// its deadline; returns how many expired.
    fn tick(&self, now: u64, max_interval: u64, mut resend: impl FnMut(&[u8])) -> u64 {
        let mut expired = 0;
        for shard in &self.shards {
            let Ok(mut s) = shard.lock() else { continue };
            s.retain(|_, p| {
                if now >= p.deadline_ns {
                    expired += 1;
                    return false;
                }
                if !p.bytes.is_empty() && now >= p.next_ns {
                    resend(&p.bytes);
                    p.interval_ns = (p.interval_ns * 2).min(max_interval);
                    p.next_ns = now + p.interval_ns;
                }
                true
            });
        }
        expired
    }
}

/// Remembers requests already answered, for two generations of `ttl`, so
/// that the gateway's UDP retransmissions are answered again but not
/// counted twice.
struct Seen {
    generations: Mutex<(HashSet<String>, HashSet<String>, Instant)>,
    ttl: Duration,
}

impl Seen {
    fn new(ttl: Duration) -> Seen {
        Seen {
            generations: Mutex::new((HashSet::new(), HashSet::new(), Instant::now())),
            ttl,
        }
    }

    /// True the first time `key` is seen.
    fn first(&self, key: String) -> bool {
        let Ok(mut g) = self.generations.lock() else {
            return true;
        };
        if g.2.elapsed() > self.ttl {
            g.1 = std::mem::take(&mut g.0);
            g.2 = Instant::now();
        }
        if g.1.contains(&key) {
            return false;
        }
        g.0.insert(key)
    }
}

fn transaction_key(r: &SipRequest<'_>) -> String {
    format!(
        "{} {} {}",
        r.headers.call_id().unwrap_or(""),
        r.headers.get(&HeaderName::CSeq).unwrap_or(""),
        r.headers
            .top_via()
            .ok()
            .and_then(|v| v.branch().map(str::to_owned))
            .unwrap_or_default()
    )
}

/// The user part of a request's To URI, e.g. `s17` → 17 with prefix `s`.
fn to_user_number(r: &SipRequest<'_>, prefix: char) -> Option<u64> {
    let to = r.headers.to_addr().ok()?;
    to.uri.user.as_deref()?.strip_prefix(prefix)?.parse().ok()
}

/// Called with the pair of each 2xx.
pub type OnOk = Box<dyn Fn(u64) + Send>;

/// What [`SessionSide::start`] returns: the side, its ready channel and
/// its threads.
pub type Started = (Arc<SessionSide>, Receiver<Ready>, Vec<JoinHandle<()>>);

/// The pager users: send MESSAGEs through the gateway, answer the
/// MESSAGEs the gateway sends them.
pub struct Pager {
    env: Arc<Env>,
    sock: UdpSocket,
    pub addr: SocketAddr,
    in_flight: InFlight,
    next_id: AtomicU64,
    seen: Seen,
    /// Called with the pair of each 2xx (p2s-new hangs the session up).
    on_ok: Mutex<Option<OnOk>>,
    /// MESSAGEs go over this TCP connection to the gateway instead of UDP
    /// (`--pager-tcp`): its local address is the pager users' host.
    tcp: Option<TcpSide>,
}

/// The pager users' TCP connection to the gateway.
struct TcpSide {
    stream: Arc<TcpStream>,
    addr: SocketAddr,
    /// Whole messages only (the sender and the reader's answers).
    write: Mutex<()>,
}

impl TcpSide {
    fn write_all(&self, bytes: &[u8]) -> bool {
        self.write
            .lock()
            .is_ok_and(|_g| (&*self.stream).write_all(bytes).is_ok())
    }
}

impl Pager {
    /// `tcp`: the gateway's SIP TCP address, to send MESSAGEs over TCP.
    pub fn start(
        env: Arc<Env>,
        ip: IpAddr,
        tcp: Option<SocketAddr>,
    ) -> std::io::Result<(Arc<Pager>, Vec<JoinHandle<()>>)> {
        let sock = udp_socket(ip)?;
        let addr = sock.local_addr()?;
        let tcp = match tcp {
            Some(gw) => {
                let stream = TcpStream::connect(gw)?;
                let _ = stream.set_nodelay(true);
                stream.set_read_timeout(Some(READ_POLL))?;
                Some(TcpSide {
                    addr: stream.local_addr()?,
                    stream: Arc::new(stream),
                    write: Mutex::new(()),
                })
            }
            None => None,
        };
        let ttl = Duration::from_nanos(env.t1_ns.saturating_mul(64)).max(Duration::from_secs(40));
        let p = Arc::new(Pager {
            env,
            sock,
            addr,
            in_flight: InFlight::new(),
            next_id: AtomicU64::new(1),
            seen: Seen::new(ttl),
            on_ok: Mutex::new(None),
            tcp,
        });
        let reader = p.clone();
        let mut threads = vec![
            thread::Builder::new()
                .name("bench-pager".into())
                .stack_size(READER_STACK)
                .spawn(move || reader.read_loop())?,
        ];
        if p.tcp.is_some() {
            let reader = p.clone();
            threads.push(
                thread::Builder::new()
                    .name("bench-pager-tcp".into())
                    .stack_size(READER_STACK)
                    .spawn(move || reader.read_tcp())?,
            );
        }
        Ok((p, threads))
    }

    /// Responses (and any request) on the TCP connection (RFC 3261 §18.3
    /// framing by Content-Length).
    fn read_tcp(&self) {
        let Some(tcp) = &self.tcp else { return };
        let mut stream = &*tcp.stream;
        let limits = sip::FrameLimits::default();
        let mut buf: Vec<u8> = Vec::with_capacity(64 * 1024);
        let mut chunk = vec![0u8; 64 * 1024];
        while !self.env.stop.load(Relaxed) {
            let n = match stream.read(&mut chunk) {
                Ok(0) => return,
                Ok(n) => n,
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    continue;
                }
                Err(_) => {
                    self.env.tracker.errors.fetch_add(1, Relaxed);
                    return;
                }
            };
            buf.extend_from_slice(&chunk[..n]);
            let mut used = 0;
            loop {
                match sip::message::parse_stream(&buf[used..], &limits) {
                    Ok(Some(unit)) => {
                        used += unit.frame.consumed;
                        match unit.message {
                            Some(SipMessage::Response(r)) => self.response(&r),
                            Some(SipMessage::Request(r)) => self.request(&r, |b| {
                                tcp.write_all(b);
                            }),
                            None => {}
                        }
                    }
                    Ok(None) => break,
                    Err(sip::message::StreamError::Message { consumed, .. }) => {
                        self.env.tracker.errors.fetch_add(1, Relaxed);
                        used += consumed;
                    }
                    Err(sip::message::StreamError::Frame(_)) => {
                        self.env.tracker.errors.fetch_add(1, Relaxed);
                        return;
                    }
                }
            }
            buf.drain(..used);
        }
    }

    pub fn on_ok(&self, f: OnOk) {
        if let Ok(mut o) = self.on_ok.lock() {
            *o = Some(f);
        }
    }

    /// Sends message `seq` from pager user `pair` to session user `pair`
    /// (at `session`); the caller holds a window token.
    pub fn message(&self, pair: u64, seq: u64, session: SocketAddr) {
        let env = &self.env;
        let id = self.next_id.fetch_add(1, Relaxed);
        let now = env.now_ns();
        let body = body(pair, seq, now, env.size);
        let (me, transport) = match &self.tcp {
            Some(t) => (t.addr, "TCP"),
            None => (self.addr, "UDP"),
        };
        let m = format!(
            "MESSAGE sip:s{pair}@{session} SIP/2.0\r\n\
             Via: SIP/2.0/{transport} {me};branch=z9hG4bK-bm{id};rport\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:p{pair}@{me}>;tag=t{id}\r\n\
             To: <sip:s{pair}@{session}>\r\n\
             Call-ID: bm{id}@bench\r\n\
             CSeq: 1 MESSAGE\r\n\
             Content-Type: text/plain\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes();
        env.tracker.offered.fetch_add(1, Relaxed);
        // In the table before it leaves: the answer may come back before
        // send_to returns.
        let wire = m.clone();
        self.in_flight.insert(
            id,
            Pending {
                pair,
                seq,
                sent_ns: now,
                // TCP: no retransmission (RFC 3261 §17.1.2.2, Timer E is
                // for unreliable transports); Timer F still applies.
                bytes: if self.tcp.is_some() { Vec::new() } else { m },
                next_ns: now + env.t1_ns,
                interval_ns: env.t1_ns,
                deadline_ns: now + 64 * env.t1_ns,
            },
        );
        let sent = match &self.tcp {
            Some(t) => t.write_all(&wire),
            None => self.sock.send_to(&wire, env.gateway).is_ok(),
        };
        if !sent {
            // Left in flight: the retransmission timer tries again.
            env.tracker.errors.fetch_add(1, Relaxed);
        }
    }

    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// Retransmits and expires MESSAGEs (Timer E and F, RFC 3261 §17.1.2).
    pub fn tick(&self) {
        let env = &self.env;
        let expired = self.in_flight.tick(env.now_ns(), 8 * env.t1_ns, |b| {
            env.tracker.retransmits.fetch_add(1, Relaxed);
            let _ = self.sock.send_to(b, env.gateway);
        });
        for _ in 0..expired {
            env.tracker.timeouts.fetch_add(1, Relaxed);
            env.release();
        }
    }

    fn read_loop(&self) {
        let mut buf = vec![0u8; 65_536];
        while !self.env.stop.load(Relaxed) {
            let (n, src) = match self.sock.recv_from(&mut buf) {
                Ok(x) => x,
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    continue;
                }
                Err(_) => {
                    self.env.tracker.errors.fetch_add(1, Relaxed);
                    continue;
                }
            };
            match sip::parse_datagram(&buf[..n]) {
                Ok(SipMessage::Response(r)) => self.response(&r),
                Ok(SipMessage::Request(r)) => self.request(&r, |b| {
                    let _ = self.sock.send_to(b, src);
                }),
                Err(_) => {
                    self.env.tracker.errors.fetch_add(1, Relaxed);
                }
            }
        }
    }

    fn response(&self, r: &SipResponse<'_>) {
        if r.status < 200 {
            return;
        }
        let env = &self.env;
        let id = r
            .headers
            .call_id()
            .ok()
            .and_then(|c| c.strip_prefix("bm"))
            .and_then(|c| c.split('@').next())
            .and_then(|c| c.parse::<u64>().ok());
        let Some(p) = id.and_then(|id| self.in_flight.remove(id)) else {
            env.tracker.stray_finals.fetch_add(1, Relaxed);
            return;
        };
        env.tracker
            .final_response(p.pair, p.seq, r.status, p.sent_ns, env.now_ns());
        env.release();
        if (200..300).contains(&r.status) {
            if let Ok(f) = self.on_ok.lock() {
                if let Some(f) = f.as_ref() {
                    f(p.pair);
                }
            }
        }
    }

    /// A request to a pager user, answered through `reply`.
    fn request(&self, r: &SipRequest<'_>, reply: impl Fn(&[u8])) {
        let env = &self.env;
        if r.method == Method::Ack {
            return;
        }
        if r.method == Method::Message {
            if self.seen.first(transaction_key(r)) {
                match parse_body(&r.body) {
                    Some((pair, seq, sent)) => env.tracker.delivery(pair, seq, sent, env.now_ns()),
                    None => {
                        env.tracker.errors.fetch_add(1, Relaxed);
                    }
                }
            } else {
                env.tracker.retransmits_received.fetch_add(1, Relaxed);
            }
        }
        let mut ok = SipResponse::for_request(r, 200, "OK");
        ok.set_to_tag("pb1");
        reply(&ok.to_bytes());
    }
}

/// The write half of one MSRP connection and the paths of its session.
pub struct Conn {
    /// Shared by the reader and the writers (`&TcpStream` reads and
    /// writes): one descriptor per connection, not a dup for each side,
    /// so 10,000 sessions fit under a 20,000 descriptor limit.
    stream: Arc<TcpStream>,
    /// Whole messages only: the sender thread and the reader (answering
    /// SENDs) must not interleave their writes.
    write: Mutex<()>,
    /// A write failed: the gateway closed the connection.
    dead: AtomicBool,
    /// The gateway's a=path (To-Path of our SENDs).
    to_path: String,
    /// Ours (From-Path).
    from_path: String,
}

/// A session-mode session the bench set up toward the gateway (s2p).
pub struct Ready {
    pub pair: u64,
    pub conn: Arc<Conn>,
}

/// The dialog of a session the gateway set up (p2s), for BYE.
struct Dialog {
    call_id: String,
    /// Our To (with our tag), the BYE's From.
    local: String,
    /// The gateway's From (with its tag), the BYE's To.
    remote: String,
    target: String,
    peer: SocketAddr,
}

/// Our INVITE toward the gateway (s2p).
struct OutInvite {
    pair: u64,
    path: String,
    /// The ACK once sent: a retransmitted 200 gets it again.
    ack: Option<Vec<u8>>,
}

/// The session users: SIP on one UDP socket, MSRP on one listener plus
/// one connection per session.
pub struct SessionSide {
    env: Arc<Env>,
    sock: UdpSocket,
    pub addr: SocketAddr,
    pub msrp_addr: SocketAddr,
    next_id: AtomicU64,
    /// Our 200s to the gateway's INVITEs by Call-ID (retransmissions).
    answered: Mutex<HashMap<String, Vec<u8>>>,
    dialogs: Mutex<HashMap<u64, Dialog>>,
    invites: Mutex<HashMap<String, OutInvite>>,
    sends: Arc<InFlight>,
    ready: Sender<Ready>,
}

impl SessionSide {
    pub fn start(env: Arc<Env>, ip: IpAddr) -> std::io::Result<Started> {
        let sock = udp_socket(ip)?;
        let addr = sock.local_addr()?;
        let listener = TcpListener::bind((ip, 0))?;
        listener.set_nonblocking(true)?;
        let msrp_addr = listener.local_addr()?;
        let (ready, ready_rx) = crossbeam_channel::unbounded();
        let s = Arc::new(SessionSide {
            env,
            sock,
            addr,
            msrp_addr,
            next_id: AtomicU64::new(1),
            answered: Mutex::new(HashMap::new()),
            dialogs: Mutex::new(HashMap::new()),
            invites: Mutex::new(HashMap::new()),
            sends: Arc::new(InFlight::new()),
            ready,
        });
        let sip = s.clone();
        let h1 = thread::Builder::new()
            .name("bench-session-sip".into())
            .stack_size(READER_STACK)
            .spawn(move || sip.sip_loop())?;
        let acc = s.clone();
        let h2 = thread::Builder::new()
            .name("bench-msrp-accept".into())
            .stack_size(READER_STACK)
            .spawn(move || acc.accept_loop(listener))?;
        Ok((s, ready_rx, vec![h1, h2]))
    }

    fn sip_loop(self: &Arc<Self>) {
        let mut buf = vec![0u8; 65_536];
        while !self.env.stop.load(Relaxed) {
            let (n, src) = match self.sock.recv_from(&mut buf) {
                Ok(x) => x,
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    continue;
                }
                Err(_) => {
                    self.env.tracker.errors.fetch_add(1, Relaxed);
                    continue;
                }
            };
            match sip::parse_datagram(&buf[..n]) {
                Ok(SipMessage::Request(r)) => self.request(&r, src),
                Ok(SipMessage::Response(r)) => self.response(&r, src),
                Err(_) => {
                    self.env.tracker.errors.fetch_add(1, Relaxed);
                }
            }
        }
    }

    fn request(&self, r: &SipRequest<'_>, src: SocketAddr) {
        let env = &self.env;
        match r.method {
            Method::Ack => {}
            Method::Invite => {
                let call_id = r.headers.call_id().unwrap_or("").to_owned();
                let again = self
                    .answered
                    .lock()
                    .ok()
                    .and_then(|a| a.get(&call_id).cloned());
                if let Some(bytes) = again {
                    env.tracker.retransmits_received.fetch_add(1, Relaxed);
                    let _ = self.sock.send_to(&bytes, src);
                    return;
                }
                self.answer_invite(r, call_id, src);
            }
            _ => {
                let mut ok = SipResponse::for_request(r, 200, "OK");
                ok.set_to_tag("sb1");
                let _ = self.sock.send_to(&ok.to_bytes(), src);
            }
        }
    }

    /// Accepts the gateway's INVITE with a passive MSRP endpoint (the
    /// gateway offered actpass: it connects to our listener).
    fn answer_invite(&self, r: &SipRequest<'_>, call_id: String, src: SocketAddr) {
        let env = &self.env;
        let pair = to_user_number(r, 's');
        let offer_ok = SessionDescription::parse(&r.body)
            .ok()
            .is_some_and(|o| o.validate_msrp().is_ok());
        let (Some(pair), true) = (pair, offer_ok) else {
            env.tracker.setup_failures.fetch_add(1, Relaxed);
            let nope = SipResponse::for_request(r, 488, "Not Acceptable Here");
            let _ = self.sock.send_to(&nope.to_bytes(), src);
            return;
        };
        let n = self.next_id.fetch_add(1, Relaxed);
        let path = format!("msrp://{}/bs{n}x;tcp", self.msrp_addr);
        let sdp = answer_sdp(self.msrp_addr, &path, "passive");
        let tag = format!("sb{n}");
        let mut ok = SipResponse::for_request(r, 200, "OK");
        ok.set_to_tag(&tag);
        ok.push_header(HeaderName::Contact, format!("<sip:s{pair}@{}>", self.addr));
        ok.set_body("application/sdp", sdp.into_bytes());
        let bytes = ok.to_bytes();
        let local = ok.headers.get(&HeaderName::To).unwrap_or("").to_owned();
        let remote = r.headers.get(&HeaderName::From).unwrap_or("").to_owned();
        let target = r
            .headers
            .get(&HeaderName::Contact)
            .and_then(|c| {
                sip::typed::parse_name_addr(c)
                    .ok()
                    .map(|a| a.uri.to_string())
            })
            .unwrap_or_else(|| format!("sip:{}", env.gateway));
        if let Ok(mut d) = self.dialogs.lock() {
            d.insert(
                pair,
                Dialog {
                    call_id: call_id.clone(),
                    local,
                    remote,
                    target,
                    peer: src,
                },
            );
        }
        if let Ok(mut a) = self.answered.lock() {
            a.insert(call_id, bytes.clone());
        }
        env.tracker.setups.fetch_add(1, Relaxed);
        let _ = self.sock.send_to(&bytes, src);
    }

    /// Hangs up the session the gateway set up toward session user `pair`.
    pub fn bye(&self, pair: u64) {
        let Some(d) = self.dialogs.lock().ok().and_then(|mut d| d.remove(&pair)) else {
            return;
        };
        if let Ok(mut a) = self.answered.lock() {
            a.remove(&d.call_id);
        }
        let me = self.addr;
        let n = self.next_id.fetch_add(1, Relaxed);
        let bye = format!(
            "BYE {} SIP/2.0\r\nVia: SIP/2.0/UDP {me};branch=z9hG4bK-bb{n};rport\r\n\
             Max-Forwards: 70\r\nFrom: {}\r\nTo: {}\r\nCall-ID: {}\r\nCSeq: 2 BYE\r\n\
             Content-Length: 0\r\n\r\n",
            d.target, d.local, d.remote, d.call_id
        );
        let _ = self.sock.send_to(bye.as_bytes(), d.peer);
    }

    /// Sends an INVITE with an MSRP offer (actpass) from session user
    /// `pair` to pager user `pair` (at `pager`). The session is reported on
    /// the ready channel once connected.
    pub fn invite(&self, pair: u64, pager: SocketAddr) {
        let env = &self.env;
        let n = self.next_id.fetch_add(1, Relaxed);
        let me = self.addr;
        let path = format!("msrp://{}/bi{n}x;tcp", self.msrp_addr);
        let sdp = answer_sdp(self.msrp_addr, &path, "actpass");
        let call_id = format!("bi{n}@bench");
        let invite = format!(
            "INVITE sip:p{pair}@{pager} SIP/2.0\r\n\
             Via: SIP/2.0/UDP {me};branch=z9hG4bK-bi{n};rport\r\n\
             Max-Forwards: 70\r\nFrom: <sip:s{pair}@{me}>;tag=si{n}\r\n\
             To: <sip:p{pair}@{pager}>\r\nCall-ID: {call_id}\r\nCSeq: 1 INVITE\r\n\
             Contact: <sip:s{pair}@{me}>\r\nContent-Type: application/sdp\r\n\
             Content-Length: {}\r\n\r\n{sdp}",
            sdp.len()
        );
        if let Ok(mut i) = self.invites.lock() {
            i.insert(
                call_id,
                OutInvite {
                    pair,
                    path,
                    ack: None,
                },
            );
        }
        if self.sock.send_to(invite.as_bytes(), env.gateway).is_err() {
            env.tracker.errors.fetch_add(1, Relaxed);
        }
    }

    fn response(&self, r: &SipResponse<'_>, src: SocketAddr) {
        let env = &self.env;
        if r.status < 200 {
            return;
        }
        if r.headers.cseq().map(|c| c.method) != Ok(Method::Invite) {
            // A refused BYE, or any answer to an ACK (which has none when
            // well-formed): something the bench sent was wrong.
            if r.status >= 300 || r.headers.cseq().map(|c| c.method) == Ok(Method::Ack) {
                env.tracker.errors.fetch_add(1, Relaxed);
            }
            return;
        }
        let call_id = r.headers.call_id().unwrap_or("").to_owned();
        let Ok(mut invites) = self.invites.lock() else {
            return;
        };
        let Some(inv) = invites.get_mut(&call_id) else {
            return;
        };
        if let Some(ack) = &inv.ack {
            env.tracker.retransmits_received.fetch_add(1, Relaxed);
            let _ = self.sock.send_to(ack, src);
            return;
        }
        let me = self.addr;
        // A branch of token characters only (the Call-ID has an '@').
        let n = self.next_id.fetch_add(1, Relaxed);
        let target = r
            .headers
            .get(&HeaderName::Contact)
            .and_then(|c| {
                sip::typed::parse_name_addr(c)
                    .ok()
                    .map(|a| a.uri.to_string())
            })
            .unwrap_or_else(|| format!("sip:{}", env.gateway));
        let ack = format!(
            "ACK {target} SIP/2.0\r\nVia: SIP/2.0/UDP {me};branch=z9hG4bK-ba{n}\r\n\
             Max-Forwards: 70\r\nFrom: {}\r\nTo: {}\r\nCall-ID: {call_id}\r\nCSeq: 1 ACK\r\n\
             Content-Length: 0\r\n\r\n",
            r.headers.get(&HeaderName::From).unwrap_or(""),
            r.headers.get(&HeaderName::To).unwrap_or("")
        )
        .into_bytes();
        let _ = self.sock.send_to(&ack, src);
        inv.ack = Some(ack);
        let (pair, from_path) = (inv.pair, inv.path.clone());
        drop(invites);
        if r.status >= 300 {
            env.tracker.setup_failures.fetch_add(1, Relaxed);
            return;
        }
        match self.connect(r, from_path) {
            Some(conn) => {
                env.tracker.setups.fetch_add(1, Relaxed);
                let _ = self.ready.send(Ready { pair, conn });
            }
            None => {
                env.tracker.setup_failures.fetch_add(1, Relaxed);
            }
        }
    }

    /// Connects to the path of the gateway's answer (it answered passive,
    /// RFC 6135 default: the offerer connects).
    fn connect(&self, r: &SipResponse<'_>, from_path: String) -> Option<Arc<Conn>> {
        let answer = SessionDescription::parse(&r.body).ok()?;
        let media = answer.validate_msrp().ok()?;
        if matches!(media.setup, Some(Setup::Active)) {
            // The gateway would connect to us; the bench only plays the
            // active side of sessions it offers.
            return None;
        }
        let to_path: Vec<String> = media.path.iter().map(|p| p.to_string()).collect();
        let first = msrp::MsrpUri::parse(to_path.first()?).ok()?;
        let host = first.host.to_string();
        let port = first.port?;
        let stream = TcpStream::connect((host.trim_matches(['[', ']']), port)).ok()?;
        let _ = stream.set_nodelay(true);
        let conn = Arc::new(Conn {
            stream: Arc::new(stream),
            write: Mutex::new(()),
            dead: AtomicBool::new(false),
            to_path: to_path.join(" "),
            from_path,
        });
        self.spawn_reader(conn.clone());
        Some(conn)
    }

    fn accept_loop(self: &Arc<Self>, listener: TcpListener) {
        while !self.env.stop.load(Relaxed) {
            match listener.accept() {
                Ok((stream, _)) => {
                    let _ = stream.set_nonblocking(false);
                    let _ = stream.set_nodelay(true);
                    let conn = Arc::new(Conn {
                        stream: Arc::new(stream),
                        write: Mutex::new(()),
                        dead: AtomicBool::new(false),
                        to_path: String::new(),
                        from_path: String::new(),
                    });
                    self.spawn_reader(conn);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    thread::sleep(Duration::from_millis(1));
                }
                Err(_) => {
                    self.env.tracker.errors.fetch_add(1, Relaxed);
                    thread::sleep(Duration::from_millis(10));
                }
            }
        }
    }

    fn spawn_reader(&self, conn: Arc<Conn>) {
        let env = self.env.clone();
        let sends = self.sends.clone();
        self.env.spawn("bench-msrp".into(), CONN_STACK, move || {
            read_msrp(&env, &conn, &sends);
        });
    }

    /// Sends message `seq` of `pair` as an MSRP SEND on `conn`; the caller
    /// holds a window token. False (token given back, nothing offered)
    /// when the connection is gone.
    pub fn send(&self, conn: &Conn, pair: u64, seq: u64) -> bool {
        let env = &self.env;
        if conn.dead.load(Relaxed) {
            env.release();
            return false;
        }
        let id = self.next_id.fetch_add(1, Relaxed);
        let now = env.now_ns();
        let body = body(pair, seq, now, env.size);
        let tid = format!("bt{id:08x}");
        let m = format!(
            "MSRP {tid} SEND\r\nTo-Path: {}\r\nFrom-Path: {}\r\nMessage-ID: bm{id:x}\r\n\
             Byte-Range: 1-{len}/{len}\r\nContent-Type: text/plain\r\n\r\n{body}\r\n-------{tid}$\r\n",
            conn.to_path,
            conn.from_path,
            len = body.len()
        );
        env.tracker.offered.fetch_add(1, Relaxed);
        self.sends.insert(
            id,
            Pending {
                pair,
                seq,
                sent_ns: now,
                bytes: Vec::new(),
                next_ns: u64::MAX,
                interval_ns: 0,
                deadline_ns: now + MSRP_TIMEOUT_NS,
            },
        );
        let written = conn.write_all(m.as_bytes());
        if !written {
            // Counted once per connection; the SEND in flight was offered
            // and will never be answered: a timeout, not a silent drop.
            if !conn.dead.swap(true, Relaxed) {
                env.tracker.errors.fetch_add(1, Relaxed);
            }
            if self.sends.remove(id).is_some() {
                env.tracker.timeouts.fetch_add(1, Relaxed);
                env.release();
            }
        }
        written
    }

    pub fn in_flight(&self) -> usize {
        self.sends.len()
    }

    /// Expires SENDs without a response.
    pub fn tick(&self) {
        let expired = self.sends.tick(self.env.now_ns(), u64::MAX, |_| {});
        for _ in 0..expired {
            self.env.tracker.timeouts.fetch_add(1, Relaxed);
            self.env.release();
        }
    }
}

fn answer_sdp(msrp: SocketAddr, path: &str, setup: &str) -> String {
    format!(
        "v=0\r\no=bench 1 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\n\
         m=message {port} TCP/MSRP *\r\na=accept-types:text/plain\r\na=path:{path}\r\n\
         a=setup:{setup}\r\n",
        ip = msrp.ip(),
        port = msrp.port()
    )
}

/// One MSRP connection's reader: answers every SEND with 200 (recording
/// the delivery) and matches responses to our SENDs.
impl Conn {
    fn write_all(&self, bytes: &[u8]) -> bool {
        self.write
            .lock()
            .is_ok_and(|_g| (&*self.stream).write_all(bytes).is_ok())
    }
}

fn read_msrp(env: &Env, conn: &Conn, sends: &InFlight) {
    let mut stream = &*conn.stream;
    let _ = stream.set_read_timeout(Some(READ_POLL));
    let limits = FrameLimits::default();
    let mut framer = Framer::new();
    let mut buf: Vec<u8> = Vec::with_capacity(8192);
    let mut chunk = [0u8; 16 * 1024];
    let mut out = Vec::with_capacity(512);
    while !env.stop.load(Relaxed) {
        let n = match stream.read(&mut chunk) {
            Ok(0) => return,
            Ok(n) => n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => continue,
            Err(_) => return,
        };
        buf.extend_from_slice(&chunk[..n]);
        let mut used = 0;
        loop {
            let frame = match framer.frame(&buf[used..], &limits) {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(_) => {
                    env.tracker.errors.fetch_add(1, Relaxed);
                    return;
                }
            };
            let bytes = &buf[used..used + frame.len];
            used += frame.len;
            let Ok(msg) = MsrpMessage::parse_frame(bytes, &frame) else {
                env.tracker.errors.fetch_add(1, Relaxed);
                continue;
            };
            match &msg.kind {
                MsrpKind::Request(msrp::Method::Send) => {
                    if let Some(b) = msg.body.as_deref().filter(|b| !b.is_empty()) {
                        match parse_body(b) {
                            Some((pair, seq, sent)) => {
                                env.tracker.delivery(pair, seq, sent, env.now_ns())
                            }
                            None => {
                                env.tracker.errors.fetch_add(1, Relaxed);
                            }
                        }
                    }
                    if let Ok(ok) = MsrpMessage::response_for(&msg, 200, None) {
                        out.clear();
                        ok.encode(&mut out);
                        let written = conn.write_all(&out);
                        if !written {
                            return;
                        }
                    }
                }
                MsrpKind::Response { code, .. } => {
                    let id = msg
                        .tid
                        .strip_prefix("bt")
                        .and_then(|t| u64::from_str_radix(t, 16).ok());
                    if let Some(p) = id.and_then(|id| sends.remove(id)) {
                        env.tracker
                            .final_response(p.pair, p.seq, *code, p.sent_ns, env.now_ns());
                        env.release();
                    } else {
                        env.tracker.stray_finals.fetch_add(1, Relaxed);
                    }
                }
                // REPORTs and anything else: nothing to answer.
                _ => {}
            }
        }
        buf.drain(..used);
    }
}
