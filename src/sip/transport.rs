//! SIP transports (RFC 3261 §18): the threads that own SIP sockets.
//!
//! Owns:
//! - one reader thread per UDP socket (`sip-udp`); datagrams are sent
//!   straight from the shared socket by whoever calls [`SipTransport::send`];
//! - one acceptor thread per TCP or TLS listener (`sip-accept`);
//! - per TCP connection a reader thread (`sip-tcp-rd`) and a writer thread
//!   (`sip-tcp-wr`) on a `try_clone` of the socket, the writer fed by a
//!   bounded queue;
//! - per TLS connection ONE owner thread (`sip-tls`) that both reads and
//!   writes (see "TLS" below);
//! - the registry of open connections, for responses over the connection a
//!   request came on and for reuse of connections to the same peer.
//!
//! Must not: hold protocol state. Readers frame and parse bytes and send
//! [`SipEvent`]s; the session-table thread decides everything else. Nothing
//! here blocks the caller of [`SipTransport::send`]: UDP `send_to` does not
//! wait for the peer, stream writes go through bounded queues (`try_send`; a
//! full queue fails that one send), and connecting runs on the new
//! connection's own thread.
//!
//! Back-pressure: readers `try_send` into the event channel. When it is full
//! a request is answered `503 Service Unavailable` with `Retry-After` right
//! here (statelessly) and a response is dropped, so load is shed at the edge
//! instead of stalling every reader.
//!
//! TLS: a native-tls stream cannot be read and written from two threads
//! (it is not `Clone`, `&TlsStream` is neither `Read` nor `Write`, and a
//! mutex around a blocked reader starves the writer). So one thread owns
//! each TLS connection and alternates: drain the write queue, then read
//! with a short socket timeout. The timeout adapts: 1 ms right after
//! traffic, doubling up to 32 ms while the connection is idle. Under load a
//! write waits at most about 1 ms; an idle connection costs ~30 wakeups/s.
//! A read timeout that strikes in the middle of a TLS record is harmless:
//! OpenSSL keeps the partial record and the next read resumes it (tested).
//!
//! Shutdown: [`SipTransport::shutdown`] sets a flag, wakes blocked
//! `accept`/`recv_from` calls with a self-connect / self-datagram, shuts
//! down every TCP socket (waking its reader) and joins every thread.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, TrySendError, bounded};
use log::{debug, info, warn};

use crate::config::ListenSpec;
use crate::event::{ConnId, Event, SipEvent, SipPeer, Transport};
use crate::proto::sip::{self, FrameKind, FrameLimits, SipMessage, SipRequest, StreamError};
use crate::sip::screen::{RETRY_AFTER_SECS, stateless_answer};
use crate::threads::{ThreadSet, accept_each, is_timeout, wake_addr, write_queued};

/// Largest UDP datagram read (the IPv4 maximum payload).
const MAX_DATAGRAM: usize = 65_535;
/// Queued outgoing messages per connection before sends to it fail.
const WRITE_QUEUE_DEPTH: usize = 1024;
/// How often blocked reads look at the stop flag.
const POLL_INTERVAL: Duration = Duration::from_millis(250);
/// Receive and send buffers asked for on UDP sockets. A burst of requests
/// (a proxy failing over to msrpgw, a bulk sender) must wait in the kernel
/// rather than be dropped while the reader catches up; the default
/// (`net.core.rmem_default`, often 208 KiB) holds about 170 datagrams. The
/// kernel caps the value at `net.core.rmem_max` / `wmem_max`.
const UDP_BUFFER_BYTES: usize = 4 * 1024 * 1024;
const TLS_MIN_WAIT: Duration = Duration::from_millis(1);
const TLS_MAX_WAIT: Duration = Duration::from_millis(32);
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Stack of reader/writer threads: parsing needs little; TLS (OpenSSL)
/// needs more for the handshake.
const STACK_PLAIN: usize = 128 * 1024;
const STACK_TLS: usize = 256 * 1024;

/// What the transport listens on and how it bounds its work.
#[derive(Clone)]
pub struct SipTransportConfig {
    pub listen: Vec<ListenSpec>,
    /// Server identity for `tls:` listeners.
    pub tls_acceptor: Option<native_tls::TlsAcceptor>,
    /// Client side of outgoing TLS connections.
    pub tls_connector: Option<native_tls::TlsConnector>,
    /// A SIP message larger than this is refused (513).
    pub max_message_bytes: usize,
    /// Open TCP/TLS connections (both directions) beyond which new inbound
    /// connections are closed at once.
    pub max_connections: usize,
    /// A stream connection without traffic for this long is closed.
    pub idle_timeout: Duration,
}

impl SipTransportConfig {
    /// The transport settings of a validated configuration: `[sip]`
    /// listeners and bounds, the `[tls]` identity (loaded here, so a bad
    /// certificate stops startup with a message naming the file), the
    /// system's trust roots for outgoing TLS, and `idle_timeout` for
    /// stream connections.
    pub fn from_config(
        cfg: &crate::config::Config,
        idle_timeout: Duration,
    ) -> Result<Self, String> {
        let needs_tls = cfg.sip.listen.iter().any(|l| l.transport == Transport::Tls);
        let tls_acceptor = match (&cfg.tls, needs_tls) {
            (Some(t), _) => Some(load_acceptor(t)?),
            (None, true) => {
                return Err(
                    "a sip tls: listener needs [tls] certificate and private_key".to_owned(),
                );
            }
            (None, false) => None,
        };
        let tls_connector = native_tls::TlsConnector::new()
            .map_err(|e| format!("cannot set up TLS for outgoing connections: {e}"))?;
        Ok(SipTransportConfig {
            listen: cfg.sip.listen.clone(),
            tls_acceptor,
            tls_connector: Some(tls_connector),
            max_message_bytes: cfg.sip.max_message_bytes as usize,
            max_connections: cfg.sip.max_connections as usize,
            idle_timeout,
        })
    }
}

/// The TLS server identity from the `[tls]` PEM files.
pub fn load_acceptor(t: &crate::config::TlsConfig) -> Result<native_tls::TlsAcceptor, String> {
    let read = |p: &std::path::Path| {
        std::fs::read(p).map_err(|e| format!("cannot read {}: {e}", p.display()))
    };
    let cert = read(&t.certificate)?;
    let key = read(&t.private_key)?;
    let identity = native_tls::Identity::from_pkcs8(&cert, &key).map_err(|e| {
        format!(
            "{} / {}: not a PEM certificate and PKCS#8 key pair: {e}",
            t.certificate.display(),
            t.private_key.display()
        )
    })?;
    native_tls::TlsAcceptor::new(identity).map_err(|e| format!("TLS setup failed: {e}"))
}

/// Why [`SipTransport::send`] could not take a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// No UDP socket to send from (no `udp:` listener of that family).
    NoUdpSocket,
    /// No TLS client configuration for an outgoing TLS connection.
    NoTls,
    /// The connection's write queue is full: it is not draining.
    QueueFull(ConnId),
    /// The connection is gone.
    Closed(ConnId),
    /// Too many open connections to open another.
    TooManyConnections,
    Io(String),
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendError::NoUdpSocket => f.write_str("no UDP listener to send from"),
            SendError::NoTls => f.write_str("no TLS configuration for outgoing connections"),
            SendError::QueueFull(c) => write!(f, "{c}: write queue full (peer not reading)"),
            SendError::Closed(c) => write!(f, "{c}: connection closed"),
            SendError::TooManyConnections => f.write_str("connection limit reached"),
            SendError::Io(e) => f.write_str(e),
        }
    }
}

/// Handle to the running transport; owned by the session-table thread.
pub struct SipTransport {
    shared: Arc<Shared>,
    /// Each UDP socket with its bound address, read once at bind: a send
    /// picks its socket by address, and asking the kernel each time
    /// (`getsockname`) was a system call per message.
    udp: Vec<(Arc<UdpSocket>, SocketAddr)>,
    /// Every listener with its bound address (ephemeral ports resolved).
    local: Vec<ListenSpec>,
}

struct Shared {
    stop: AtomicBool,
    next_conn: AtomicU64,
    registry: Mutex<Registry>,
    threads: ThreadSet,
    events: Sender<Event>,
    limits: FrameLimits,
    max_message_bytes: usize,
    max_connections: usize,
    idle_timeout: Duration,
    tls_connector: Option<native_tls::TlsConnector>,
}

#[derive(Default)]
struct Registry {
    conns: HashMap<ConnId, ConnEntry>,
    /// Open connection per (transport, peer address), for reuse.
    by_peer: HashMap<(Transport, SocketAddr), ConnId>,
}

struct ConnEntry {
    kind: Transport,
    peer: SocketAddr,
    tx: Sender<Vec<u8>>,
    /// A clone of the socket, to wake the reader at shutdown.
    socket: Option<TcpStream>,
}

impl Shared {
    fn registry(&self) -> MutexGuard<'_, Registry> {
        // A panicking thread cannot leave the map half-updated (every
        // update is a single insert or remove), so poison is ignored.
        self.registry.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn spawn(
        self: &Arc<Self>,
        name: String,
        stack: usize,
        f: impl FnOnce() + Send + 'static,
    ) -> io::Result<()> {
        self.threads.spawn(name, stack, f)
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    fn new_conn_id(&self) -> ConnId {
        ConnId(self.next_conn.fetch_add(1, Ordering::Relaxed))
    }

    /// Registers a connection; `None` when the limit is reached.
    fn register(
        &self,
        kind: Transport,
        peer: SocketAddr,
        socket: Option<TcpStream>,
    ) -> Option<(ConnId, Receiver<Vec<u8>>)> {
        let mut reg = self.registry();
        // Checked under the lock that shutdown's sweep takes after setting
        // the flag: a connection is either swept or never registered.
        if reg.conns.len() >= self.max_connections || self.stop.load(Ordering::SeqCst) {
            return None;
        }
        let id = self.new_conn_id();
        let (tx, rx) = bounded(WRITE_QUEUE_DEPTH);
        reg.conns.insert(
            id,
            ConnEntry {
                kind,
                peer,
                tx,
                socket,
            },
        );
        reg.by_peer.insert((kind, peer), id);
        Some((id, rx))
    }

    fn unregister(&self, id: ConnId, reason: &str) {
        let removed = {
            let mut reg = self.registry();
            let e = reg.conns.remove(&id);
            if let Some(e) = &e {
                if reg.by_peer.get(&(e.kind, e.peer)) == Some(&id) {
                    reg.by_peer.remove(&(e.kind, e.peer));
                }
            }
            e
        };
        if let Some(e) = removed {
            debug!("sip {} {} {}: closed: {reason}", e.kind, e.peer, id);
            let _ = self.events.try_send(Event::Sip(SipEvent::ConnectionClosed {
                conn: id,
                peer: e.peer,
                reason: reason.to_owned(),
            }));
        }
    }

    /// Hands an event to the session table; when its inbox is full, sheds
    /// the load: a request gets a stateless 503 (returned for the caller
    /// to send back), anything else is dropped.
    fn deliver(&self, ev: SipEvent) -> Option<Vec<u8>> {
        match self.events.try_send(Event::Sip(ev)) {
            Err(TrySendError::Full(Event::Sip(SipEvent::Received {
                message: SipMessage::Request(req),
                from,
            }))) => {
                warn!("sip {from}: event queue full, answering 503");
                answer_bytes(&req, 503, "Service Unavailable")
            }
            Err(TrySendError::Full(_)) => {
                warn!("sip: event queue full, dropping an event");
                None
            }
            Ok(()) | Err(TrySendError::Disconnected(_)) => None,
        }
    }
}

/// What can be read of a malformed request's head, enough to address an
/// answer (Via, From, To, Call-ID, CSeq). When the request line itself is
/// what is broken (RFC 4475 ltgtruri, lwsruri, lwsstart, trws), the
/// headers are read under a stand-in request line: the answer copies
/// headers only. `None` for responses (never answered, RFC 3261 §18.1.2)
/// and heads that cannot be read at all.
fn answerable_head(bytes: &[u8]) -> Option<SipRequest<'static>> {
    if sip::is_response_start(bytes) {
        return None;
    }
    let read = |b: &[u8]| match SipMessage::parse_head(b) {
        Ok(SipMessage::Request(r)) => Some(r.into_owned()),
        _ => None,
    };
    if let Some(r) = read(bytes) {
        return Some(r);
    }
    // A datagram may end without the empty line (RFC 4475 baddn), and the
    // request line may be what is broken: try both repairs.
    let line_end = bytes.iter().position(|&b| b == b'\n')?;
    let mut patched = b"OPTIONS sip:invalid SIP/2.0\r\n".to_vec();
    patched.extend_from_slice(bytes.get(line_end + 1..)?);
    let mut terminated = bytes.to_vec();
    terminated.extend_from_slice(b"\r\n\r\n");
    let mut both = patched.clone();
    both.extend_from_slice(b"\r\n\r\n");
    read(&patched)
        .or_else(|| read(&terminated))
        .or_else(|| read(&both))
}

/// A stateless answer written by a transport thread itself (the session
/// table cannot answer: its inbox is full, or the connection is about to
/// close); `None` for ACK.
fn answer_bytes(req: &SipRequest<'_>, status: u16, reason: &str) -> Option<Vec<u8>> {
    let tag = crate::ids::random_token(10);
    stateless_answer(req, status, reason, &tag, RETRY_AFTER_SECS).map(|r| r.to_bytes())
}

impl SipTransport {
    /// Binds every listener and starts the threads. Events go to `events`.
    pub fn start(cfg: SipTransportConfig, events: Sender<Event>) -> io::Result<SipTransport> {
        let limits = FrameLimits {
            max_header_bytes: cfg
                .max_message_bytes
                .min(FrameLimits::default().max_header_bytes),
            max_body_bytes: cfg.max_message_bytes,
        };
        let mut udp = Vec::new();
        let mut tcp = Vec::new();
        let mut local = Vec::new();
        for &ListenSpec {
            transport: kind,
            addr,
        } in &cfg.listen
        {
            match kind {
                Transport::Udp => {
                    let s = UdpSocket::bind(addr).map_err(|e| bind_error(kind, addr, e))?;
                    s.set_read_timeout(Some(POLL_INTERVAL))?;
                    let bound = s.local_addr()?;
                    size_udp_buffers(&s, bound);
                    local.push(ListenSpec {
                        transport: kind,
                        addr: bound,
                    });
                    udp.push((Arc::new(s), bound));
                }
                Transport::Tcp | Transport::Tls => {
                    if kind == Transport::Tls && cfg.tls_acceptor.is_none() {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidInput,
                            format!("tls:{addr}: no TLS certificate configured"),
                        ));
                    }
                    let l = TcpListener::bind(addr).map_err(|e| bind_error(kind, addr, e))?;
                    local.push(ListenSpec {
                        transport: kind,
                        addr: l.local_addr()?,
                    });
                    tcp.push((kind, l));
                }
            }
        }
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            next_conn: AtomicU64::new(1),
            registry: Mutex::new(Registry::default()),
            threads: ThreadSet::new(),
            events,
            limits,
            max_message_bytes: cfg.max_message_bytes,
            max_connections: cfg.max_connections,
            idle_timeout: cfg.idle_timeout,
            tls_connector: cfg.tls_connector.clone(),
        });
        for (s, bound) in &udp {
            let (sh, sock, bound) = (shared.clone(), s.clone(), *bound);
            let name = format!("sip-udp-{}", bound.port());
            shared.spawn(name, STACK_PLAIN, move || udp_reader(sh, sock, bound))?;
        }
        for (kind, l) in tcp {
            let sh = shared.clone();
            let acceptor = cfg.tls_acceptor.clone();
            let name = format!("sip-accept-{}", l.local_addr()?.port());
            shared.spawn(name, STACK_PLAIN, move || {
                acceptor_loop(sh, kind, l, acceptor)
            })?;
        }
        for l in &local {
            info!("sip: listening on {l}");
        }
        Ok(SipTransport { shared, udp, local })
    }

    /// Every listener with its bound address (ephemeral ports resolved).
    pub fn local_addrs(&self) -> &[ListenSpec] {
        &self.local
    }

    /// The first listener of `kind` (for Via and Contact).
    pub fn local_addr(&self, kind: Transport) -> Option<SocketAddr> {
        self.local
            .iter()
            .find(|l| l.transport == kind)
            .map(|l| l.addr)
    }

    /// Sends one encoded message. Never blocks: UDP goes out at once;
    /// stream messages are queued on the connection (an existing one:
    /// `to.conn`, else any open one to `to.addr`, else a new one, connected
    /// by its own thread; failure to connect arrives as
    /// [`SipEvent::SendFailed`]).
    pub fn send(&self, to: &SipPeer, bytes: Vec<u8>) -> Result<(), SendError> {
        match to.kind {
            Transport::Udp => self.send_udp(to, &bytes),
            Transport::Tcp | Transport::Tls => self.send_stream(to, bytes),
        }
    }

    fn send_udp(&self, to: &SipPeer, bytes: &[u8]) -> Result<(), SendError> {
        let by_local = to
            .local
            .and_then(|l| self.udp.iter().find(|(_, bound)| *bound == l));
        let (sock, _) = by_local
            .or_else(|| {
                self.udp
                    .iter()
                    .find(|(_, bound)| bound.is_ipv4() == to.addr.is_ipv4())
            })
            .ok_or(SendError::NoUdpSocket)?;
        sock.send_to(bytes, to.addr)
            .map(|_| ())
            .map_err(|e| SendError::Io(format!("udp send to {}: {e}", to.addr)))
    }

    fn send_stream(&self, to: &SipPeer, bytes: Vec<u8>) -> Result<(), SendError> {
        let sh = &self.shared;
        let existing = {
            let reg = sh.registry();
            let id = to
                .conn
                .filter(|c| reg.conns.contains_key(c))
                .or_else(|| reg.by_peer.get(&(to.kind, to.addr)).copied());
            id.and_then(|id| reg.conns.get(&id).map(|e| (id, e.tx.clone())))
        };
        if let Some((id, tx)) = existing {
            return match tx.try_send(bytes) {
                Ok(()) => Ok(()),
                Err(TrySendError::Full(_)) => Err(SendError::QueueFull(id)),
                Err(TrySendError::Disconnected(_)) => Err(SendError::Closed(id)),
            };
        }
        self.open(to, None, Some(bytes))
    }

    /// Opens a TLS connection to `to` that verifies the server's
    /// certificate against `server_name` (and sends it as SNI), unless a
    /// connection to `to` is open already. Messages sent to `to` from now
    /// on are queued on it. The stack calls this after looking up a host
    /// name: `to` only holds the address, and a certificate names the host.
    pub fn open_tls(&self, to: &SipPeer, server_name: &str) -> Result<(), SendError> {
        let open = self
            .shared
            .registry()
            .by_peer
            .contains_key(&(Transport::Tls, to.addr));
        if open {
            return Ok(());
        }
        self.open(to, Some(server_name.to_owned()), None)
    }

    /// Registers a new outgoing connection and starts its thread; `first`
    /// is queued before it connects.
    fn open(
        &self,
        to: &SipPeer,
        server_name: Option<String>,
        first: Option<Vec<u8>>,
    ) -> Result<(), SendError> {
        let sh = &self.shared;
        if to.kind == Transport::Tls && sh.tls_connector.is_none() {
            return Err(SendError::NoTls);
        }
        let (id, rx) = sh
            .register(to.kind, to.addr, None)
            .ok_or(SendError::TooManyConnections)?;
        if let Some(bytes) = first {
            // Queued before the connection exists; the new thread sends it
            // once connected.
            let _ = sh.registry().conns.get(&id).map(|e| e.tx.try_send(bytes));
        }
        let (sh2, peer) = (sh.clone(), *to);
        let stack = if to.kind == Transport::Tls {
            STACK_TLS
        } else {
            STACK_PLAIN
        };
        let name = format!("sip-out-{}", id.0);
        sh.spawn(name, stack, move || {
            outgoing(sh2, id, peer, server_name, rx)
        })
        .map_err(|e| SendError::Io(format!("spawn: {e}")))
    }

    /// Open TCP/TLS connections.
    pub fn connection_count(&self) -> usize {
        self.shared.registry().conns.len()
    }

    /// Stops every thread and waits for them.
    pub fn shutdown(self) {
        let sh = &self.shared;
        sh.stop.store(true, Ordering::SeqCst);
        for &ListenSpec {
            transport: kind,
            addr,
        } in &self.local
        {
            match kind {
                Transport::Udp => {
                    // Wakes the reader now instead of at its next timeout.
                    if let Some((s, _)) = self.udp.iter().find(|(_, bound)| *bound == addr) {
                        let _ = s.send_to(&[], wake_addr(addr));
                    }
                }
                Transport::Tcp | Transport::Tls => {
                    let _ = TcpStream::connect_timeout(&wake_addr(addr), POLL_INTERVAL);
                }
            }
        }
        {
            let mut reg = sh.registry();
            for e in reg.conns.values() {
                if let Some(s) = &e.socket {
                    let _ = s.shutdown(Shutdown::Both);
                }
            }
            // Dropping the senders ends the writer threads.
            reg.conns.clear();
            reg.by_peer.clear();
        }
        sh.threads.join_all();
    }
}

fn bind_error(kind: Transport, addr: SocketAddr, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("cannot listen on sip {kind}:{addr}: {e}"))
}

/// Asks for [`UDP_BUFFER_BYTES`] of socket buffer and says what was
/// granted when it is much less.
fn size_udp_buffers(s: &UdpSocket, bound: SocketAddr) {
    let sock = socket2::SockRef::from(s);
    let _ = sock.set_recv_buffer_size(UDP_BUFFER_BYTES);
    let _ = sock.set_send_buffer_size(UDP_BUFFER_BYTES);
    if let Ok(got) = sock.recv_buffer_size() {
        if got < UDP_BUFFER_BYTES / 2 {
            info!(
                "sip udp:{bound}: receive buffer is {} KiB (asked {} KiB); raise \
                 net.core.rmem_max for bursts",
                got / 1024,
                UDP_BUFFER_BYTES / 1024
            );
        }
    }
}

fn udp_reader(sh: Arc<Shared>, sock: Arc<UdpSocket>, bound: SocketAddr) {
    let local = Some(bound);
    let mut buf = vec![0u8; MAX_DATAGRAM];
    while !sh.stopping() {
        let (n, src) = match sock.recv_from(&mut buf) {
            Ok(x) => x,
            Err(e) if is_timeout(&e) => continue,
            Err(e) => {
                // ICMP port-unreachable from an earlier send surfaces here
                // on some systems; it says nothing about this socket.
                debug!("sip udp {local:?}: recv: {e}");
                continue;
            }
        };
        let data = &buf[..n];
        let from = SipPeer {
            kind: Transport::Udp,
            addr: src,
            conn: None,
            local,
        };
        // RFC 5626 keep-alives and stray empty datagrams.
        if data.iter().all(|&b| b == b'\r' || b == b'\n') {
            continue;
        }
        let ev = if n > sh.max_message_bytes {
            malformed_event(data, 513, "Message Too Large", n, from)
        } else {
            match sip::parse_datagram(data) {
                Ok(m) => SipEvent::Received {
                    message: m.into_owned(),
                    from,
                },
                Err(e) => {
                    malformed_event(data, e.status_code(), e.kind.description(), e.offset, from)
                }
            }
        };
        if let Some(bytes) = sh.deliver(ev) {
            let _ = sock.send_to(&bytes, src);
        }
    }
}

/// The event for bytes that did not make a message: what could be read of
/// the head (nothing for a response: those are dropped, never answered,
/// RFC 3261 §18.1.2) and the answer the problem calls for.
fn malformed_event(
    data: &[u8],
    status: u16,
    reason: &'static str,
    offset: usize,
    from: SipPeer,
) -> SipEvent {
    let head = answerable_head(data).map(SipMessage::Request);
    SipEvent::Malformed {
        status,
        reason,
        offset,
        head,
        from,
    }
}

fn acceptor_loop(
    sh: Arc<Shared>,
    kind: Transport,
    listener: TcpListener,
    tls: Option<native_tls::TlsAcceptor>,
) {
    let label = format!("sip {kind}");
    accept_each(
        &listener,
        &label,
        || sh.stopping(),
        |stream, peer| {
            let clone = stream.try_clone().ok();
            let Some((id, rx)) = sh.register(kind, peer, clone) else {
                if sh.stopping() {
                    debug!("sip {kind} {peer}: connection closed: shutting down");
                } else {
                    warn!(
                        "sip {kind} {peer}: connection refused: {} connections open \
                     (raise sip.max_connections if this is normal load)",
                        sh.max_connections
                    );
                }
                return;
            };
            debug!("sip {kind} {peer} {id}: accepted");
            let sh2 = sh.clone();
            let started = match (&tls, kind) {
                (Some(acc), Transport::Tls) => {
                    let acc = acc.clone();
                    sh.spawn(format!("sip-tls-{}", id.0), STACK_TLS, move || {
                        let _ = stream.set_read_timeout(Some(HANDSHAKE_TIMEOUT));
                        match acc.accept(stream) {
                            Ok(s) => tls_owner(sh2, id, peer, s, rx),
                            Err(e) => sh2.unregister(id, &format!("TLS handshake failed: {e}")),
                        }
                    })
                }
                _ => start_plain(&sh, id, peer, stream, rx),
            };
            if let Err(e) = started {
                warn!("sip {kind} {peer}: cannot start connection thread: {e}");
                sh.unregister(id, "thread spawn failed");
            }
        },
    );
}

/// Starts the reader and writer threads of a plain TCP connection.
fn start_plain(
    sh: &Arc<Shared>,
    id: ConnId,
    peer: SocketAddr,
    stream: TcpStream,
    rx: Receiver<Vec<u8>>,
) -> io::Result<()> {
    let mut writer = stream.try_clone()?;
    let sh2 = sh.clone();
    sh.spawn(format!("sip-tcp-wr-{}", id.0), STACK_PLAIN, move || {
        if let Err(e) = write_queued(&rx, &mut writer, 64 * 1024) {
            sh2.unregister(id, &format!("write failed: {e}"));
        }
        let _ = writer.shutdown(Shutdown::Both);
    })?;
    // The reader's own replies (pongs, stateless answers) go through the
    // writer's queue, so the two threads never interleave bytes.
    let reply = sh
        .registry()
        .conns
        .get(&id)
        .map(|e| e.tx.clone())
        .ok_or_else(|| io::Error::other("connection vanished before its reader started"))?;
    let sh2 = sh.clone();
    sh.spawn(format!("sip-tcp-rd-{}", id.0), STACK_PLAIN, move || {
        let _ = stream.set_read_timeout(Some(POLL_INTERVAL));
        let mut conn = StreamReader::new(id, peer, Transport::Tcp, stream.local_addr().ok());
        let mut stream = stream;
        let reason = conn.run_blocking(&sh2, &mut stream, &reply);
        sh2.unregister(id, &reason);
        // The writer closes the socket once it has sent what is queued
        // (a last answer before a framing-loss close, for instance).
        drop(reply);
        let _ = stream.shutdown(Shutdown::Read);
    })
}

/// The thread of an outgoing connection: connects, then runs as the
/// connection's reader (TCP, with a separate writer) or owner (TLS). TLS
/// verifies the certificate against `server_name` when the destination
/// was a host name, else against the IP address.
fn outgoing(
    sh: Arc<Shared>,
    id: ConnId,
    peer: SipPeer,
    server_name: Option<String>,
    rx: Receiver<Vec<u8>>,
) {
    let stream = match TcpStream::connect_timeout(&peer.addr, CONNECT_TIMEOUT) {
        Ok(s) => s,
        Err(e) => {
            let reason = format!("connect to {} failed: {e}", peer.addr);
            warn!("sip {}: {reason}", peer);
            fail_queued(&sh, id, &peer, &rx, &reason);
            return;
        }
    };
    let _ = stream.set_nodelay(true);
    if let Some(e) = sh.registry().conns.get_mut(&id) {
        e.socket = stream.try_clone().ok();
    }
    debug!("sip {} {id}: connected", peer);
    match peer.kind {
        Transport::Tls => {
            let Some(connector) = sh.tls_connector.clone() else {
                fail_queued(&sh, id, &peer, &rx, "no TLS configuration");
                return;
            };
            let _ = stream.set_read_timeout(Some(HANDSHAKE_TIMEOUT));
            let domain = server_name.unwrap_or_else(|| peer.addr.ip().to_string());
            match connector.connect(&domain, stream) {
                Ok(s) => tls_owner(sh, id, peer.addr, s, rx),
                Err(e) => {
                    let reason = format!(
                        "TLS handshake with {} ({domain}) failed: {e}; check that its \
                         certificate names {domain} and is signed by a trusted CA",
                        peer.addr
                    );
                    warn!("sip {peer}: {reason}");
                    fail_queued(&sh, id, &peer, &rx, &reason);
                }
            }
        }
        _ => {
            if let Err(e) = start_plain(&sh, id, peer.addr, stream, rx) {
                sh.unregister(id, &format!("thread spawn failed: {e}"));
            }
        }
    }
}

/// Reports every queued message of a connection that never came up.
fn fail_queued(sh: &Shared, id: ConnId, peer: &SipPeer, rx: &Receiver<Vec<u8>>, reason: &str) {
    sh.unregister(id, reason);
    while rx.try_recv().is_ok() {
        let _ = sh.events.try_send(Event::Sip(SipEvent::SendFailed {
            to: *peer,
            reason: reason.to_owned(),
        }));
    }
}

/// The one thread of a TLS connection: writes what is queued, then reads
/// with a short, adaptive timeout (see the module docs).
fn tls_owner(
    sh: Arc<Shared>,
    id: ConnId,
    peer: SocketAddr,
    mut tls: native_tls::TlsStream<TcpStream>,
    rx: Receiver<Vec<u8>>,
) {
    let local = tls.get_ref().local_addr().ok();
    let mut conn = StreamReader::new(id, peer, Transport::Tls, local);
    let mut wait = TLS_MIN_WAIT;
    let mut tmp = vec![0u8; 16 * 1024];
    let reason = loop {
        if sh.stopping() {
            break "shutting down".to_owned();
        }
        let mut wrote = false;
        let mut write_error = None;
        while let Ok(bytes) = rx.try_recv() {
            if let Err(e) = write_all_retrying(&mut tls, &bytes) {
                write_error = Some(e);
                break;
            }
            wrote = true;
        }
        if let Some(e) = write_error {
            break format!("write failed: {e}");
        }
        if wrote {
            let _ = tls.flush();
            wait = TLS_MIN_WAIT;
        }
        let _ = tls.get_ref().set_read_timeout(Some(wait));
        match tls.read(&mut tmp) {
            Ok(0) => break "closed by peer".to_owned(),
            Ok(n) => {
                wait = TLS_MIN_WAIT;
                conn.idle = Duration::ZERO;
                let mut out = Vec::new();
                if let Some(reason) = conn.feed(&sh, &tmp[..n], &mut out) {
                    for b in out {
                        let _ = write_all_retrying(&mut tls, &b);
                    }
                    break reason;
                }
                for b in out {
                    let _ = write_all_retrying(&mut tls, &b);
                }
            }
            Err(e) if is_timeout(&e) => {
                conn.idle += wait;
                if conn.idle >= sh.idle_timeout {
                    break "idle timeout".to_owned();
                }
                wait = (wait * 2).min(TLS_MAX_WAIT);
            }
            Err(e) => break format!("read failed: {e}"),
        }
    };
    sh.unregister(id, &reason);
    let _ = tls.shutdown();
}

/// `write_all` that rides over the read timeout set on the socket: an
/// OpenSSL write may need to read (key update) and then reports WouldBlock.
fn write_all_retrying(w: &mut impl Write, mut buf: &[u8]) -> io::Result<()> {
    let mut spins = 0;
    while !buf.is_empty() {
        match w.write(buf) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => buf = &buf[n..],
            Err(e) if is_timeout(&e) && spins < 1000 => spins += 1,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Framing state of one stream connection: the bytes received and not
/// yet consumed, parsed with [`sip::parse_stream`].
struct StreamReader {
    from: SipPeer,
    buf: Vec<u8>,
    idle: Duration,
}

impl StreamReader {
    fn new(id: ConnId, peer: SocketAddr, kind: Transport, local: Option<SocketAddr>) -> Self {
        StreamReader {
            from: SipPeer {
                kind,
                addr: peer,
                conn: Some(id),
                local,
            },
            buf: Vec::with_capacity(4096),
            idle: Duration::ZERO,
        }
    }

    /// Reader loop of a plain TCP connection; returns why it ended. What
    /// the reader must send itself goes to `reply` (the writer's queue).
    fn run_blocking(
        &mut self,
        sh: &Arc<Shared>,
        stream: &mut TcpStream,
        reply: &Sender<Vec<u8>>,
    ) -> String {
        let mut tmp = vec![0u8; 16 * 1024];
        loop {
            if sh.stopping() {
                return "shutting down".to_owned();
            }
            match stream.read(&mut tmp) {
                Ok(0) => return "closed by peer".to_owned(),
                Ok(n) => {
                    self.idle = Duration::ZERO;
                    let mut out = Vec::new();
                    let end = self.feed(sh, &tmp[..n], &mut out);
                    for b in out {
                        let _ = reply.try_send(b);
                    }
                    if let Some(reason) = end {
                        return reason;
                    }
                }
                Err(e) if is_timeout(&e) => {
                    self.idle += POLL_INTERVAL;
                    if self.idle >= sh.idle_timeout {
                        return "idle timeout".to_owned();
                    }
                }
                Err(e) => return format!("read failed: {e}"),
            }
        }
    }

    /// Appends `data` and delivers every complete unit. Bytes this reader
    /// must write itself (keep-alive pongs, stateless 503s) are pushed to
    /// `out`. Returns `Some(reason)` when the connection must close.
    fn feed(&mut self, sh: &Shared, data: &[u8], out: &mut Vec<Vec<u8>>) -> Option<String> {
        self.buf.extend_from_slice(data);
        let mut start = 0;
        let result = loop {
            let rest = &self.buf[start..];
            if rest.is_empty() {
                break None;
            }
            match sip::parse_stream(rest, &sh.limits) {
                Ok(None) => break None,
                Ok(Some(unit)) => {
                    start += unit.frame.consumed;
                    match unit.message {
                        Some(m) => {
                            let ev = SipEvent::Received {
                                message: m.into_owned(),
                                from: self.from,
                            };
                            out.extend(sh.deliver(ev));
                        }
                        // RFC 5626 §4.4.1: a CRLFCRLF ping gets a CRLF pong.
                        None if unit.frame.kind == FrameKind::Ping => out.push(b"\r\n".to_vec()),
                        None => {}
                    }
                }
                Err(StreamError::Message { consumed, error }) => {
                    let bytes = rest.get(..consumed).unwrap_or(rest);
                    let (status, reason) = (error.status_code(), error.kind.description());
                    let ev = malformed_event(bytes, status, reason, error.offset, self.from);
                    out.extend(sh.deliver(ev));
                    start += consumed.max(1);
                }
                Err(StreamError::Frame(e)) => {
                    // Framing is lost (RFC 4475 ncl, mcl01): the answer is
                    // written here, ahead of the close, since the
                    // connection will be gone before the session table
                    // could answer; the table still hears of it.
                    let (status, reason) = (e.status_code(), e.kind.description());
                    if let Some(bytes) =
                        answerable_head(rest).and_then(|r| answer_bytes(&r, status, reason))
                    {
                        out.push(bytes);
                    }
                    let ev = SipEvent::Malformed {
                        status,
                        reason,
                        offset: e.offset,
                        head: None,
                        from: self.from,
                    };
                    out.extend(sh.deliver(ev));
                    break Some(format!("framing lost: {} at byte {}", e.kind, e.offset));
                }
            }
        };
        self.buf.drain(..start.min(self.buf.len()));
        result
    }
}
