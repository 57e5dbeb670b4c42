//! MSRP connections (RFC 4975 §5.4, §7.3; RFC 6714; RFC 4976): the threads
//! that own MSRP sockets, and the handle the session-table thread drives.
//!
//! Owns:
//! - one acceptor thread per `[msrp] listen` entry (`msrp-accept`);
//! - per TCP connection a reader (`msrp-rd`) and a writer (`msrp-wr`)
//!   sharing the socket (`Arc<TcpStream>`: one descriptor per connection),
//!   the writer fed by a bounded queue and
//!   batching whatever is queued into one write;
//! - per TLS connection ONE owner thread (`msrp-tls`) that alternates
//!   draining its write queue with reads under a short, adaptive timeout,
//!   for the reason the SIP transport gives (a native-tls stream cannot be
//!   read and written from two threads; a mutex around a blocked read
//!   starves the writer): 1 ms after traffic, doubling to 32 ms when idle;
//! - outgoing connections, opened by the session thread that needs them
//!   (active role, or the relay), then run by the same threads as above;
//! - the registry: sessions by the session-id of their URI, connections,
//!   and which connection each session is bound to;
//! - binding (RFC 4975 §7.3, RFC 6714): the reader looks at the first
//!   To-Path URI of every message. Unknown session-id, or a URI that does
//!   not compare equal to the session's (§6.1; session-id only with CEMA)
//!   → 481; a session bound to another connection → 506; a session not
//!   bound yet (passive, or not started) is bound to this connection by its
//!   first request, when that request's From-Path ends with the peer's URI
//!   from the SDP (RFC 4975 §5.4; else 481). One connection may carry many
//!   sessions (relays).
//!
//! Must not: keep per-session protocol state (that is [`super::transfer`],
//! run by the session thread in [`super::writer`]), or block the caller of
//! [`MsrpStack`]'s methods: they only `try_send` to the session's bounded
//! command queue.
//!
//! Readers hand each message to its session's thread through a bounded
//! queue, waiting at most [`HANDOFF_TIMEOUT`]: a session that cannot keep
//! up slows its own connection (TCP back-pressure) and nothing else; a
//! session stuck that long is failing and loses the message.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, SendTimeoutError, Sender, TrySendError, bounded};
use log::{debug, info, warn};

use super::setup::Role;
use super::transfer::OutgoingMessage;
use super::writer::{SessionCommand, SessionContext, SessionInput};
use crate::config::{Host, ListenSpec, Relay};
use crate::event::{ConnId, Event, HeldId, MsrpSessionKey, Transport};
use crate::ids::IdSource;
use crate::proto::msrp::{FrameErrorKind, FrameLimits, Framer, Message, Method, MsrpUri, Scheme};
use crate::threads::{ThreadSet, accept_each, is_timeout, wake_addr, write_queued};

/// Outgoing batches (up to 64 KiB each) queued per connection: with the
/// socket buffers, what may be in flight before a session notices its
/// peer is not reading.
const WRITE_QUEUE_DEPTH: usize = 32;
/// Received messages queued per session (slots of a few words: a bounded
/// channel allocates and touches them all when it is made, so the depth
/// is resident memory per session; a full queue makes the connection's
/// reader wait, which is the backpressure wanted).
const INPUT_QUEUE_DEPTH: usize = 32;
/// Commands beyond the gateway's per-session message bound: answers to
/// held messages, notifications, close.
const COMMAND_HEADROOM: usize = 32;
/// How long a reader waits for a session to take a message.
pub const HANDOFF_TIMEOUT: Duration = Duration::from_secs(5);
const POLL_INTERVAL: Duration = Duration::from_millis(250);
/// Bytes a plain-TCP reader takes per read. Small on purpose: the buffer is
/// zeroed, so every byte of it is resident for as long as the connection
/// lives, and 10,000 sessions hold 10,000 readers (64 KiB each cost about
/// 600 MB of RSS at 10,000 sessions); an MSRP chunk is 2 KiB by default.
const READ_BUFFER: usize = 8 * 1024;
const TLS_MIN_WAIT: Duration = Duration::from_millis(1);
const TLS_MAX_WAIT: Duration = Duration::from_millis(32);
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// An accepted connection that binds no session within this closes.
const FIRST_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
const STACK_PLAIN: usize = 128 * 1024;
const STACK_TLS: usize = 256 * 1024;
/// The session thread: a Transfer, its buffers, TLS handshakes of
/// outgoing connections.
pub(crate) const STACK_SESSION: usize = 256 * 1024;
/// Sessions a reader remembers as bound to its connection.
const MAX_BOUND_CACHE: usize = 4096;
/// RFC 4975 §6: the default MSRP port.
const DEFAULT_PORT: u16 = 2855;

/// What the stack listens on and how it bounds its work.
#[derive(Clone)]
pub struct MsrpStackConfig {
    pub listen: Vec<ListenSpec>,
    /// Host in msrpgw's URIs; default: the listener's address.
    pub advertised_host: Option<Host>,
    /// Server identity for `tls:` listeners.
    pub tls_acceptor: Option<native_tls::TlsAcceptor>,
    /// Client side of outgoing `msrps:` connections.
    pub tls_connector: Option<native_tls::TlsConnector>,
    /// Body octets per chunk sent.
    pub chunk_size: usize,
    /// Largest message received or sent.
    pub max_message_bytes: u64,
    /// Octets of partially received messages one session may hold.
    pub max_session_bytes: u64,
    /// What sessions accept (`a=accept-types`); empty accepts anything.
    pub accept_types: Vec<String>,
    pub transaction_timeout: Duration,
    /// Open connections (both directions).
    pub max_connections: usize,
    /// Commands queued per session before [`MsrpStack::send`] fails and the
    /// session with it.
    pub session_queue_depth: usize,
    /// A write that makes no progress for this long fails its session.
    pub write_timeout: Duration,
    pub relay: Option<Relay>,
    /// Expires asked of the relay.
    pub relay_expires: u32,
}

impl MsrpStackConfig {
    /// Defaults for `listen` (tests, benchmarks): no TLS, no relay.
    pub fn new(listen: Vec<ListenSpec>) -> Self {
        MsrpStackConfig {
            listen,
            advertised_host: None,
            tls_acceptor: None,
            tls_connector: None,
            chunk_size: 2048,
            max_message_bytes: 1024 * 1024,
            max_session_bytes: 4 * 1024 * 1024,
            accept_types: Vec::new(),
            transaction_timeout: Duration::from_secs(30),
            max_connections: 10_000,
            session_queue_depth: 256,
            write_timeout: Duration::from_secs(10),
            relay: None,
            relay_expires: super::relay::DEFAULT_EXPIRES,
        }
    }

    /// The `[msrp]` settings of a validated configuration, the `[tls]`
    /// identity (loaded with the SIP transport's loader, so a bad file is
    /// named the same way), and the system's roots for outgoing TLS.
    pub fn from_config(cfg: &crate::config::Config) -> Result<Self, String> {
        let m = &cfg.msrp;
        let needs_tls = m.listen.iter().any(|l| l.transport == Transport::Tls);
        let tls_acceptor = match (&cfg.tls, needs_tls) {
            (Some(t), _) => Some(crate::sip::transport::load_acceptor(t)?),
            (None, true) => {
                return Err(
                    "an msrp tls: listener needs [tls] certificate and private_key".to_owned(),
                );
            }
            (None, false) => None,
        };
        let tls_connector = native_tls::TlsConnector::new()
            .map_err(|e| format!("cannot set up TLS for outgoing connections: {e}"))?;
        let mut accept_types = m.accept_types.clone();
        if !accept_types
            .iter()
            .any(|t| t.eq_ignore_ascii_case("message/cpim"))
        {
            accept_types.push("message/cpim".to_owned());
        }
        Ok(MsrpStackConfig {
            listen: m.listen.clone(),
            advertised_host: m.advertised_host.clone(),
            tls_acceptor,
            tls_connector: Some(tls_connector),
            chunk_size: m.chunk_size as usize,
            max_message_bytes: m.max_message_bytes,
            max_session_bytes: m.max_message_bytes.saturating_mul(4),
            accept_types,
            transaction_timeout: m.transaction_timeout,
            max_connections: m.max_connections as usize,
            relay: m.relay.clone(),
            // The session table never has more SENDs out per session
            // than its queue depth; a deeper channel would only be
            // resident memory (every slot is touched when it is made).
            session_queue_depth: cfg.gateway.session_queue_depth as usize + COMMAND_HEADROOM,
            ..MsrpStackConfig::new(Vec::new())
        })
    }
}

/// How [`MsrpStack::create_session`] makes a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionOptions {
    /// An `msrps:` URI on a `tls:` listener (else `msrp:` on `tcp:`).
    pub tls: bool,
    /// Reserve the session at the configured relay first (RFC 4976);
    /// `local_path` then arrives in [`crate::event::MsrpEvent::PathReady`].
    pub use_relay: bool,
    /// Hold each received message's final response for
    /// [`MsrpStack::answer`] (the gateway's "no 200 before delivery");
    /// otherwise answer 200 as soon as it is complete.
    pub hold_responses: bool,
}

impl Default for SessionOptions {
    fn default() -> Self {
        SessionOptions {
            tls: false,
            use_relay: false,
            hold_responses: true,
        }
    }
}

/// The peer's side, from the SDP offer/answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteEnd {
    /// The peer's a=path (relays first, the peer's own URI last).
    pub path: Vec<MsrpUri<'static>>,
    /// Ours, from [`super::setup`].
    pub role: Role,
    /// Both sides said a=msrp-cema (RFC 6714): match by session-id only.
    pub cema: bool,
    /// The peer's a=max-size.
    pub max_size: Option<u64>,
}

/// A session made by [`MsrpStack::create_session`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    pub key: MsrpSessionKey,
    /// The session-id of msrpgw's URI (≥ 80 random bits, RFC 4975 §14.1).
    pub session_id: String,
    /// For a=path; `None` while the relay reservation is under way.
    pub local_path: Option<Vec<MsrpUri<'static>>>,
}

/// Why a call on [`MsrpStack`] failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StackError {
    UnknownSession(MsrpSessionKey),
    /// The session's command queue is full: its peer is not reading. The
    /// session fails (a Closed event follows).
    QueueFull(MsrpSessionKey),
    NoListener(Transport),
    NoRelay,
    Spawn(String),
}

impl std::fmt::Display for StackError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StackError::UnknownSession(k) => write!(f, "{k}: no such session"),
            StackError::QueueFull(k) => write!(f, "{k}: command queue full (peer not reading)"),
            StackError::NoListener(t) => write!(f, "no msrp {t}: listener"),
            StackError::NoRelay => f.write_str("no [msrp] relay configured"),
            StackError::Spawn(e) => write!(f, "cannot start session thread: {e}"),
        }
    }
}

/// A session's end of a connection.
#[derive(Clone)]
pub(crate) struct ConnLink {
    pub id: ConnId,
    pub peer: SocketAddr,
    pub tx: Sender<Vec<u8>>,
}

/// A registered connection: its id, the receiving end of its write queue
/// (for its writer), a sender to it, and its close flag.
type NewConn = (ConnId, Receiver<Vec<u8>>, Sender<Vec<u8>>, Arc<AtomicBool>);

pub(crate) struct Shared {
    stop: AtomicBool,
    next_conn: AtomicU64,
    next_session: AtomicU64,
    registry: Mutex<Registry>,
    threads: ThreadSet,
    pub events: Sender<Event>,
    pub cfg: MsrpStackConfig,
    pub ids: IdSource,
    limits: FrameLimits,
    local: Vec<ListenSpec>,
}

#[derive(Default)]
struct Registry {
    /// By the session-id of the session's URI.
    sessions: HashMap<String, SessionEntry>,
    by_key: HashMap<MsrpSessionKey, String>,
    conns: HashMap<ConnId, ConnEntry>,
}

struct SessionEntry {
    key: MsrpSessionKey,
    local: MsrpUri<'static>,
    cema: bool,
    /// Opening its own connection: never bound by an incoming one.
    connecting: bool,
    conn: Option<ConnId>,
    /// The peer's own URI (last of its a=path), once started: the first
    /// request on an incoming connection must come from it (RFC 4975
    /// §5.4), or the connection is not bound.
    expect_from: Option<MsrpUri<'static>>,
    commands: Sender<SessionCommand>,
    inputs: Sender<SessionInput>,
    overflow: Arc<AtomicBool>,
}

struct ConnEntry {
    peer: SocketAddr,
    tx: Sender<Vec<u8>>,
    /// To wake the reader (TCP) at close and shutdown. Shared with the
    /// plain-TCP reader and writer (`&TcpStream` reads and writes): one
    /// descriptor per connection, not a `try_clone` for each user, so
    /// 10,000 sessions need 10,000 descriptors rather than 30,000.
    socket: Option<Arc<TcpStream>>,
    closing: Arc<AtomicBool>,
    sessions: usize,
}

impl Shared {
    fn registry(&self) -> MutexGuard<'_, Registry> {
        // Every update is a single insert/remove/field store, so a panic
        // elsewhere cannot leave it half-done: poison is ignored.
        self.registry.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn spawn(
        &self,
        name: String,
        stack: usize,
        f: impl FnOnce() + Send + 'static,
    ) -> io::Result<()> {
        self.threads.spawn(name, stack, f)
    }

    pub(crate) fn stopping(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// Hands an event to the session table, waiting a little when its inbox
    /// is full (a session thread may wait; a reader never calls this).
    /// While stopping, nobody may be reading: then it never waits.
    pub(crate) fn emit(&self, ev: crate::event::MsrpEvent) {
        let r = if self.stopping() {
            self.events
                .try_send(Event::Msrp(ev))
                .map_err(|e| e.into_inner())
        } else {
            match self.events.send_timeout(Event::Msrp(ev), HANDOFF_TIMEOUT) {
                Err(SendTimeoutError::Timeout(e)) => Err(e),
                _ => Ok(()),
            }
        };
        if let Err(e) = r {
            if !self.stopping() {
                warn!("msrp: event queue full, dropped {e:?}");
            }
        }
    }

    fn register_conn(&self, peer: SocketAddr, socket: Option<Arc<TcpStream>>) -> Option<NewConn> {
        let mut reg = self.registry();
        if reg.conns.len() >= self.cfg.max_connections || self.stop.load(Ordering::SeqCst) {
            return None;
        }
        let id = ConnId(self.next_conn.fetch_add(1, Ordering::Relaxed));
        let (tx, rx) = bounded(WRITE_QUEUE_DEPTH);
        let closing = Arc::new(AtomicBool::new(false));
        reg.conns.insert(
            id,
            ConnEntry {
                peer,
                tx: tx.clone(),
                socket,
                closing: closing.clone(),
                sessions: 0,
            },
        );
        Some((id, rx, tx, closing))
    }

    /// A connection ended: every session bound to it hears of it.
    fn unregister_conn(&self, id: ConnId, reason: &str) {
        let inputs: Vec<Sender<SessionInput>> = {
            let mut reg = self.registry();
            let Some(e) = reg.conns.remove(&id) else {
                return;
            };
            debug!("msrp {} {id}: closed: {reason}", e.peer);
            reg.sessions
                .values_mut()
                .filter(|s| s.conn == Some(id))
                .map(|s| {
                    s.conn = None;
                    s.inputs.clone()
                })
                .collect()
        };
        for tx in inputs {
            let _ = tx.send_timeout(
                SessionInput::ConnClosed(id, reason.to_owned()),
                HANDOFF_TIMEOUT,
            );
        }
    }

    /// A session ended: forget it; a connection no session uses any more
    /// is closed once its queue is written.
    pub(crate) fn release(&self, session_id: &str) {
        let mut reg = self.registry();
        let Some(e) = reg.sessions.remove(session_id) else {
            return;
        };
        reg.by_key.remove(&e.key);
        let Some(c) = e.conn else {
            return;
        };
        let Some(conn) = reg.conns.get_mut(&c) else {
            return;
        };
        conn.sessions = conn.sessions.saturating_sub(1);
        if conn.sessions == 0 {
            conn.closing.store(true, Ordering::SeqCst);
            if let Some(s) = &conn.socket {
                // The reader sees end-of-stream and ends; the writer ends
                // when every sender is gone, after writing what is queued.
                let _ = s.shutdown(Shutdown::Read);
            }
            reg.conns.remove(&c);
        }
    }

    /// Opens a connection to `target` for session `session_id` and binds
    /// it (active role, relay). Runs on the session thread.
    pub(crate) fn connect(
        self: &Arc<Self>,
        target: &MsrpUri<'_>,
        session_id: &str,
    ) -> Result<ConnLink, String> {
        let host = target.host.trim_start_matches('[').trim_end_matches(']');
        let port = target.port.unwrap_or(DEFAULT_PORT);
        let addr = (host, port)
            .to_socket_addrs()
            .map_err(|e| format!("cannot resolve {host}: {e}"))?
            .next()
            .ok_or_else(|| format!("{host}: no address"))?;
        let stream = TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT)
            .map_err(|e| format!("connect to {addr} failed: {e}"))?;
        let _ = stream.set_nodelay(true);
        let tls = target.scheme == Scheme::Msrps;
        // TLS takes the stream by value: the registry keeps a clone. Plain
        // TCP shares one descriptor.
        let (tls_stream, plain, shared) = if tls {
            let clone = stream.try_clone().ok().map(Arc::new);
            (Some(stream), None, clone)
        } else {
            let plain = Arc::new(stream);
            (None, Some(plain.clone()), Some(plain))
        };
        let (id, rx, tx, closing) = self
            .register_conn(addr, shared.clone())
            .ok_or_else(|| "connection limit reached".to_owned())?;
        let started = if let Some(stream) = tls_stream {
            let Some(connector) = self.cfg.tls_connector.clone() else {
                self.unregister_conn(id, "no TLS client configuration");
                return Err("no TLS client configuration for msrps:".to_owned());
            };
            let _ = stream.set_read_timeout(Some(HANDSHAKE_TIMEOUT));
            let _ = stream.set_write_timeout(Some(HANDSHAKE_TIMEOUT));
            match connector.connect(host, stream) {
                Ok(s) => {
                    let sh = self.clone();
                    self.spawn(format!("msrp-tls-{}", id.0), STACK_TLS, move || {
                        tls_owner(sh, id, addr, s, rx, closing)
                    })
                }
                Err(e) => {
                    let reason = format!("TLS handshake with {addr} failed: {e}");
                    self.unregister_conn(id, &reason);
                    return Err(reason);
                }
            }
        } else if let Some(plain) = plain {
            start_plain(self, id, addr, plain, rx, closing)
        } else {
            Err(io::Error::other("no socket"))
        };
        if let Err(e) = started {
            self.unregister_conn(id, "thread spawn failed");
            return Err(format!("cannot start connection threads: {e}"));
        }
        let mut reg = self.registry();
        if let Some(c) = reg.conns.get_mut(&id) {
            c.sessions += 1;
        }
        if let Some(s) = reg.sessions.get_mut(session_id) {
            s.conn = Some(id);
        }
        Ok(ConnLink { id, peer: addr, tx })
    }
}

/// The handle to the running MSRP stack; owned by the session-table thread.
/// Every method returns at once.
pub struct MsrpStack {
    shared: Arc<Shared>,
}

impl MsrpStack {
    /// Binds every listener and starts the acceptors. Events go to `events`.
    pub fn start(cfg: MsrpStackConfig, events: Sender<Event>) -> io::Result<MsrpStack> {
        let mut listeners = Vec::new();
        let mut local = Vec::new();
        for l in &cfg.listen {
            match l.transport {
                Transport::Tcp | Transport::Tls => {}
                Transport::Udp => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!("msrp udp:{}: MSRP runs over TCP or TLS", l.addr),
                    ));
                }
            }
            if l.transport == Transport::Tls && cfg.tls_acceptor.is_none() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("msrp tls:{}: no TLS certificate configured", l.addr),
                ));
            }
            let s = TcpListener::bind(l.addr).map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("cannot listen on msrp {}:{}: {e}", l.transport, l.addr),
                )
            })?;
            local.push(ListenSpec {
                transport: l.transport,
                addr: s.local_addr()?,
            });
            listeners.push((l.transport, s));
        }
        let limits = FrameLimits {
            max_header_bytes: FrameLimits::default().max_header_bytes,
            max_body_bytes: usize::try_from(cfg.max_message_bytes).unwrap_or(usize::MAX),
        };
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            next_conn: AtomicU64::new(1),
            next_session: AtomicU64::new(1),
            registry: Mutex::new(Registry::default()),
            threads: ThreadSet::new(),
            events,
            cfg,
            ids: IdSource::new(),
            limits,
            local: local.clone(),
        });
        for (kind, l) in listeners {
            let sh = shared.clone();
            let name = format!("msrp-accept-{}", l.local_addr()?.port());
            shared.spawn(name, STACK_PLAIN, move || acceptor_loop(sh, kind, l))?;
        }
        for l in &local {
            info!("msrp: listening on {l}");
        }
        Ok(MsrpStack { shared })
    }

    /// Every listener with its bound address (ephemeral ports resolved).
    pub fn local_addrs(&self) -> &[ListenSpec] {
        &self.shared.local
    }

    /// A new session: its URI (on the first `tcp:` or `tls:` listener) and
    /// its thread, waiting for [`MsrpStack::start_session`]. With
    /// `use_relay`, the thread first reserves the session at the relay.
    pub fn create_session(&self, opts: SessionOptions) -> Result<NewSession, StackError> {
        let sh = &self.shared;
        let kind = if opts.tls {
            Transport::Tls
        } else {
            Transport::Tcp
        };
        let l = sh
            .local
            .iter()
            .find(|l| l.transport == kind)
            .ok_or(StackError::NoListener(kind))?;
        let relay = if opts.use_relay {
            Some(sh.cfg.relay.clone().ok_or(StackError::NoRelay)?)
        } else {
            None
        };
        let host = match &sh.cfg.advertised_host {
            Some(h) => h.to_string(),
            None => Host::Ip(l.addr.ip()).to_string(),
        };
        let scheme = if opts.tls {
            Scheme::Msrps
        } else {
            Scheme::Msrp
        };
        let session_id = sh.ids.msrp_session_id();
        let local = MsrpUri::local(scheme, &host, l.addr.port(), &session_id)
            .map_err(|e| StackError::Spawn(format!("cannot build our URI: {e}")))?;
        let key = MsrpSessionKey(sh.next_session.fetch_add(1, Ordering::Relaxed));
        // Unbounded in memory, bounded in use (see `command`): a bounded
        // channel allocates and touches every slot up front, which is
        // resident memory per session whether used or not.
        let (commands, cmd_rx) = crossbeam_channel::unbounded();
        let (inputs, input_rx) = bounded(INPUT_QUEUE_DEPTH);
        let overflow = Arc::new(AtomicBool::new(false));
        {
            let mut reg = sh.registry();
            reg.sessions.insert(
                session_id.clone(),
                SessionEntry {
                    key,
                    local: local.clone(),
                    cema: false,
                    connecting: relay.is_some(),
                    conn: None,
                    expect_from: None,
                    commands,
                    inputs,
                    overflow: overflow.clone(),
                },
            );
            reg.by_key.insert(key, session_id.clone());
        }
        let ctx = SessionContext {
            shared: sh.clone(),
            key,
            session_id: session_id.clone(),
            local: local.clone(),
            relay,
            hold_responses: opts.hold_responses,
            commands: cmd_rx,
            inputs: input_rx,
            overflow,
        };
        let with_relay = opts.use_relay;
        if let Err(e) = sh.spawn(
            format!("msrp-session-{}", key.0),
            STACK_SESSION,
            move || super::writer::run(ctx),
        ) {
            sh.release(&session_id);
            return Err(StackError::Spawn(e.to_string()));
        }
        Ok(NewSession {
            key,
            session_id,
            local_path: (!with_relay).then(|| vec![local]),
        })
    }

    fn command(&self, key: MsrpSessionKey, cmd: SessionCommand) -> Result<(), StackError> {
        let (tx, inputs, overflow) = {
            let reg = self.shared.registry();
            let e = reg
                .by_key
                .get(&key)
                .and_then(|id| reg.sessions.get(id))
                .ok_or(StackError::UnknownSession(key))?;
            (e.commands.clone(), e.inputs.clone(), e.overflow.clone())
        };
        // In the gateway the session table is the only sender, so checking
        // the length first bounds the queue exactly.
        let full = tx.len() >= self.shared.cfg.session_queue_depth.max(1);
        match if full {
            Err(TrySendError::Full(cmd))
        } else {
            tx.try_send(cmd)
        } {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(_)) => {
                // The session thread is stuck behind a peer that does not
                // read: it fails the session when it next looks.
                overflow.store(true, Ordering::SeqCst);
                let _ = inputs.try_send(SessionInput::Wake);
                Err(StackError::QueueFull(key))
            }
            Err(TrySendError::Disconnected(_)) => Err(StackError::UnknownSession(key)),
        }
    }

    /// Connects (active) or waits for the peer's connection (passive).
    pub fn start_session(&self, key: MsrpSessionKey, remote: RemoteEnd) -> Result<(), StackError> {
        // How incoming messages match this session is set here, before the
        // peer can possibly connect (it learns our path from the answer
        // sent after this call).
        {
            let mut reg = self.shared.registry();
            let reg = &mut *reg;
            let e = reg
                .by_key
                .get(&key)
                .and_then(|id| reg.sessions.get_mut(id))
                .ok_or(StackError::UnknownSession(key))?;
            e.cema = remote.cema;
            e.connecting |= remote.role == Role::Active;
            e.expect_from = remote.path.last().cloned();
        }
        self.command(key, SessionCommand::Start(remote))
    }

    /// Queues a message; its outcome arrives as
    /// [`crate::event::MsrpEvent::SendOutcome`] with `msg.tag`.
    pub fn send(&self, key: MsrpSessionKey, msg: OutgoingMessage) -> Result<(), StackError> {
        self.command(key, SessionCommand::Send(msg))
    }

    /// The decision about a held message: 200 or an error status.
    pub fn answer(
        &self,
        key: MsrpSessionKey,
        held: HeldId,
        status: u16,
        comment: Option<String>,
    ) -> Result<(), StackError> {
        self.command(
            key,
            SessionCommand::Answer {
                held,
                status,
                comment,
            },
        )
    }

    /// Ends the session after writing what it has queued.
    pub fn close(&self, key: MsrpSessionKey) -> Result<(), StackError> {
        self.command(key, SessionCommand::Close)
    }

    /// Open connections.
    pub fn connection_count(&self) -> usize {
        self.shared.registry().conns.len()
    }

    /// Live sessions.
    pub fn session_count(&self) -> usize {
        self.shared.registry().sessions.len()
    }

    /// Stops every thread and waits for them; every session reports
    /// `Closed(Shutdown)`.
    pub fn shutdown(self) {
        let sh = &self.shared;
        sh.stop.store(true, Ordering::SeqCst);
        for l in &sh.local {
            let _ = TcpStream::connect_timeout(&wake_addr(l.addr), POLL_INTERVAL);
        }
        {
            let mut reg = sh.registry();
            for e in reg.conns.values() {
                if let Some(s) = &e.socket {
                    let _ = s.shutdown(Shutdown::Both);
                }
                e.closing.store(true, Ordering::SeqCst);
            }
            for s in reg.sessions.values() {
                let _ = s.inputs.try_send(SessionInput::Wake);
            }
            reg.conns.clear();
        }
        sh.threads.join_all();
    }
}

fn acceptor_loop(sh: Arc<Shared>, kind: Transport, listener: TcpListener) {
    let label = format!("msrp {kind}");
    accept_each(
        &listener,
        &label,
        || sh.stopping(),
        |stream, peer| {
            let acceptor = match (&sh.cfg.tls_acceptor, kind) {
                (Some(acc), Transport::Tls) => Some(acc.clone()),
                _ => None,
            };
            // As in `connect`: TLS takes the stream by value (the registry
            // keeps a clone); plain TCP shares one descriptor.
            let (tls_stream, plain, shared) = if acceptor.is_some() {
                let clone = stream.try_clone().ok().map(Arc::new);
                (Some(stream), None, clone)
            } else {
                let plain = Arc::new(stream);
                (None, Some(plain.clone()), Some(plain))
            };
            let Some((id, rx, _tx, closing)) = sh.register_conn(peer, shared) else {
                warn!(
                    "msrp {kind} {peer}: connection refused: {} connections open (msrp.max_connections)",
                    sh.cfg.max_connections
                );
                return;
            };
            debug!("msrp {kind} {peer} {id}: accepted");
            let started = match (acceptor, tls_stream, plain) {
                (Some(acc), Some(stream), _) => {
                    let sh2 = sh.clone();
                    sh.spawn(format!("msrp-tls-{}", id.0), STACK_TLS, move || {
                        let _ = stream.set_read_timeout(Some(HANDSHAKE_TIMEOUT));
                        let _ = stream.set_write_timeout(Some(HANDSHAKE_TIMEOUT));
                        match acc.accept(stream) {
                            Ok(s) => tls_owner(sh2, id, peer, s, rx, closing),
                            Err(e) => {
                                sh2.unregister_conn(id, &format!("TLS handshake failed: {e}"))
                            }
                        }
                    })
                }
                (_, _, Some(plain)) => start_plain(&sh, id, peer, plain, rx, closing),
                _ => Err(io::Error::other("no socket")),
            };
            if let Err(e) = started {
                warn!("msrp {kind} {peer}: cannot start connection threads: {e}");
                sh.unregister_conn(id, "thread spawn failed");
            }
        },
    );
}

/// Reader and writer threads of a plain TCP connection.
fn start_plain(
    sh: &Arc<Shared>,
    id: ConnId,
    peer: SocketAddr,
    stream: Arc<TcpStream>,
    rx: Receiver<Vec<u8>>,
    closing: Arc<AtomicBool>,
) -> io::Result<()> {
    // SO_SNDTIMEO belongs to the socket, shared by both sides (as it was
    // with a try_clone): it bounds writes only.
    let _ = stream.set_write_timeout(Some(sh.cfg.write_timeout));
    let writer = stream.clone();
    let sh2 = sh.clone();
    sh.spawn(format!("msrp-wr-{}", id.0), STACK_PLAIN, move || {
        if let Err(e) = write_queued(&rx, &*writer, 256 * 1024) {
            let reason = if is_timeout(&e) {
                "write timed out (peer not reading)".to_owned()
            } else {
                format!("write failed: {e}")
            };
            sh2.unregister_conn(id, &reason);
        }
        let _ = writer.shutdown(Shutdown::Both);
    })?;
    let reply = sh
        .registry()
        .conns
        .get(&id)
        .map(|e| e.tx.clone())
        .ok_or_else(|| io::Error::other("connection vanished before its reader started"))?;
    let sh2 = sh.clone();
    sh.spawn(format!("msrp-rd-{}", id.0), STACK_PLAIN, move || {
        let _ = stream.set_read_timeout(Some(POLL_INTERVAL));
        let mut conn = ConnReader::new(sh2.clone(), id, peer);
        let mut stream: &TcpStream = &stream;
        let mut tmp = vec![0u8; READ_BUFFER];
        let started = Instant::now();
        let reason = loop {
            if sh2.stopping() {
                break "shutting down".to_owned();
            }
            match stream.read(&mut tmp) {
                Ok(0) => break "closed".to_owned(),
                Ok(n) => {
                    let mut out = Vec::new();
                    let end = conn.feed(&tmp[..n], &mut out);
                    if !out.is_empty() {
                        let _ = reply.send_timeout(out, HANDOFF_TIMEOUT);
                    }
                    if let Some(r) = end {
                        break r;
                    }
                }
                Err(e) if is_timeout(&e) => {
                    if closing.load(Ordering::Relaxed) {
                        break "closed: no session uses it".to_owned();
                    }
                    if conn.unbound_too_long(started) {
                        break "no session bound".to_owned();
                    }
                }
                Err(e) => break format!("read failed: {e}"),
            }
        };
        sh2.unregister_conn(id, &reason);
        drop(reply);
        let _ = stream.shutdown(Shutdown::Read);
    })
}

/// The one thread of a TLS connection (see the module docs).
fn tls_owner(
    sh: Arc<Shared>,
    id: ConnId,
    peer: SocketAddr,
    mut tls: native_tls::TlsStream<TcpStream>,
    rx: Receiver<Vec<u8>>,
    closing: Arc<AtomicBool>,
) {
    let mut conn = ConnReader::new(sh.clone(), id, peer);
    let mut wait = TLS_MIN_WAIT;
    let mut tmp = vec![0u8; 64 * 1024];
    let started = Instant::now();
    let write_timeout = sh.cfg.write_timeout;
    let _ = tls.get_ref().set_write_timeout(Some(write_timeout));
    let reason = loop {
        if sh.stopping() {
            break "shutting down".to_owned();
        }
        let mut wrote = false;
        let mut write_error = None;
        loop {
            match rx.try_recv() {
                Ok(bytes) => {
                    if let Err(e) = write_all_within(&mut tls, &bytes, write_timeout) {
                        write_error = Some(e);
                        break;
                    }
                    wrote = true;
                }
                Err(crossbeam_channel::TryRecvError::Empty) => break,
                Err(crossbeam_channel::TryRecvError::Disconnected) => {
                    if closing.load(Ordering::Relaxed) {
                        write_error = Some(io::Error::other("closed: no session uses it"));
                    }
                    break;
                }
            }
        }
        if let Some(e) = write_error {
            break e.to_string();
        }
        if closing.load(Ordering::Relaxed) && rx.is_empty() {
            break "closed: no session uses it".to_owned();
        }
        if wrote {
            let _ = tls.flush();
            wait = TLS_MIN_WAIT;
        }
        let _ = tls.get_ref().set_read_timeout(Some(wait));
        match tls.read(&mut tmp) {
            Ok(0) => break "closed".to_owned(),
            Ok(n) => {
                wait = TLS_MIN_WAIT;
                let mut out = Vec::new();
                let end = conn.feed(&tmp[..n], &mut out);
                if !out.is_empty() {
                    let _ = write_all_within(&mut tls, &out, write_timeout);
                }
                if let Some(r) = end {
                    break r;
                }
            }
            Err(e) if is_timeout(&e) => {
                if conn.unbound_too_long(started) {
                    break "no session bound".to_owned();
                }
                wait = (wait * 2).min(TLS_MAX_WAIT);
            }
            Err(e) => break format!("read failed: {e}"),
        }
    };
    sh.unregister_conn(id, &reason);
    let _ = tls.shutdown();
}

/// `write_all` that rides over the short read timeout (an OpenSSL write
/// may need to read and then reports WouldBlock) but gives up when no
/// byte went out for `limit`.
fn write_all_within(w: &mut impl Write, mut buf: &[u8], limit: Duration) -> io::Result<()> {
    let mut since = Instant::now();
    while !buf.is_empty() {
        match w.write(buf) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => {
                buf = &buf[n..];
                since = Instant::now();
            }
            Err(e) if is_timeout(&e) && since.elapsed() < limit => {}
            Err(e) if is_timeout(&e) => {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "write timed out (peer not reading)",
                ));
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Framing and routing of one connection's incoming bytes.
struct ConnReader {
    sh: Arc<Shared>,
    id: ConnId,
    peer: SocketAddr,
    buf: Vec<u8>,
    framer: Framer,
    /// Sessions bound to this connection, by session-id: their URI, CEMA
    /// flag and queue (the registry is asked only for the first message).
    bound: HashMap<String, (MsrpUri<'static>, bool, Sender<SessionInput>)>,
}

/// Where a message goes.
enum Route {
    Session(Sender<SessionInput>),
    Refuse(u16),
    Drop,
}

impl ConnReader {
    fn new(sh: Arc<Shared>, id: ConnId, peer: SocketAddr) -> Self {
        ConnReader {
            sh,
            id,
            peer,
            // Grows on demand (a large chunk); most connections carry
            // small messages.
            buf: Vec::with_capacity(READ_BUFFER),
            framer: Framer::new(),
            bound: HashMap::new(),
        }
    }

    fn unbound_too_long(&self, started: Instant) -> bool {
        self.bound.is_empty()
            && started.elapsed() >= FIRST_REQUEST_TIMEOUT
            && self
                .sh
                .registry()
                .conns
                .get(&self.id)
                .is_some_and(|c| c.sessions == 0)
    }

    /// Appends `data` and routes every complete message. Answers this
    /// reader writes itself (481, 506, 400, 413) go to `out`. `Some(reason)`
    /// when the connection must close.
    fn feed(&mut self, data: &[u8], out: &mut Vec<u8>) -> Option<String> {
        self.buf.extend_from_slice(data);
        let mut start = 0;
        let limits = self.sh.limits;
        let result = loop {
            let rest = &self.buf[start..];
            if rest.is_empty() {
                break None;
            }
            match self.framer.frame(rest, &limits) {
                Ok(None) => break None,
                Ok(Some(f)) => {
                    let len = f.len;
                    match Message::parse_frame(rest, &f) {
                        Ok(m) => {
                            let owned = m.into_owned();
                            self.route(owned, out);
                        }
                        Err(e) => {
                            debug!("msrp {} {}: malformed message: {e}", self.peer, self.id);
                            if let Some(b) = answer_unparsed(&rest[..len], 400, &e.to_string()) {
                                out.extend_from_slice(&b);
                            }
                        }
                    }
                    start += len;
                }
                Err(e) => {
                    if e.kind == FrameErrorKind::BodyTooLarge {
                        if let Some(h) = self.framer.header_frame() {
                            if let Ok(m) = Message::parse_frame(rest, &h) {
                                if m.is_request() {
                                    if let Ok(r) = Message::response_for(&m, 413, None) {
                                        r.encode(out);
                                    }
                                }
                            }
                        }
                    }
                    self.buf.clear();
                    self.framer.reset();
                    break Some(format!("framing lost: {} at byte {}", e.kind, e.offset));
                }
            }
        };
        if start > 0 {
            self.buf.drain(..start.min(self.buf.len()));
        }
        result
    }

    fn route(&mut self, m: Message<'static>, out: &mut Vec<u8>) {
        let answerable = m.is_request() && m.method() != Some(&Method::Report);
        let route = self.lookup(&m);
        let tx = match route {
            Route::Session(tx) => tx,
            Route::Refuse(code) => {
                if answerable && !m.headers.from_path.is_empty() {
                    if let Ok(r) = Message::response_for(&m, code, None) {
                        r.encode(out);
                    }
                }
                return;
            }
            Route::Drop => return,
        };
        match tx.send_timeout(SessionInput::Frame(Box::new(m)), HANDOFF_TIMEOUT) {
            Ok(()) => {}
            Err(SendTimeoutError::Timeout(_)) => {
                warn!(
                    "msrp {} {}: session not taking messages; one dropped",
                    self.peer, self.id
                );
            }
            Err(SendTimeoutError::Disconnected(SessionInput::Frame(m))) => {
                // The session ended since: forget it and answer for it.
                if let Some(sid) = m
                    .headers
                    .to_path
                    .first()
                    .and_then(|u| u.session_id.as_deref())
                {
                    self.bound.remove(sid);
                }
                if answerable && !m.headers.from_path.is_empty() {
                    if let Ok(r) = Message::response_for(&m, 481, None) {
                        r.encode(out);
                    }
                }
            }
            Err(SendTimeoutError::Disconnected(_)) => {}
        }
    }

    /// RFC 4975 §7.3 / RFC 6714: which session this message is for.
    fn lookup(&mut self, m: &Message<'_>) -> Route {
        let Some(first) = m.headers.to_path.first() else {
            return if m.is_request() {
                Route::Refuse(400)
            } else {
                Route::Drop
            };
        };
        let Some(sid) = first.session_id.as_deref() else {
            return Route::Refuse(481);
        };
        if let Some((local, cema, tx)) = self.bound.get(sid) {
            if !cema && !first.equivalent(local) {
                return Route::Refuse(481);
            }
            return Route::Session(tx.clone());
        }
        let mut reg = self.sh.registry();
        let reg = &mut *reg;
        let Some(e) = reg.sessions.get_mut(sid) else {
            return Route::Refuse(481);
        };
        if !e.cema && !first.equivalent(&e.local) {
            return Route::Refuse(481);
        }
        match e.conn {
            Some(c) if c == self.id => {}
            Some(_) => return Route::Refuse(506),
            None if e.connecting => return Route::Refuse(506),
            None if !m.is_request() => return Route::Drop,
            None => {
                if let Some(want) = &e.expect_from {
                    let from = m.headers.from_path.last();
                    let ok = from.is_some_and(|f| {
                        if e.cema {
                            f.session_matches(want)
                        } else {
                            f.equivalent(want)
                        }
                    });
                    if !ok {
                        return Route::Refuse(481);
                    }
                }
                let Some(conn) = reg.conns.get_mut(&self.id) else {
                    return Route::Drop;
                };
                conn.sessions += 1;
                e.conn = Some(self.id);
                let link = ConnLink {
                    id: self.id,
                    peer: self.peer,
                    tx: conn.tx.clone(),
                };
                // Queued before the frame itself, so the session knows its
                // connection before it must answer on it.
                if e.inputs.try_send(SessionInput::Bound(link)).is_err() {
                    return Route::Drop;
                }
                debug!("msrp {} {}: bound session {}", self.peer, self.id, e.key);
            }
        }
        if self.bound.len() >= MAX_BOUND_CACHE {
            // A long-lived relay connection sees many sessions come and go;
            // the cache is only a shortcut past the registry, so start over.
            self.bound.clear();
        }
        self.bound
            .insert(sid.to_owned(), (e.local.clone(), e.cema, e.inputs.clone()));
        Route::Session(e.inputs.clone())
    }
}

/// A 400 for a request whose headers did not parse: its To-Path and
/// From-Path lines are read alone to address the answer (RFC 4975 §7.2);
/// `None` for responses and when even those are unreadable.
fn answer_unparsed(frame: &[u8], code: u16, why: &str) -> Option<Vec<u8>> {
    let text = String::from_utf8_lossy(frame);
    let mut lines = text.split("\r\n");
    let start = lines.next()?;
    let mut words = start.split(' ');
    let (_, tid, what) = (words.next()?, words.next()?, words.next()?);
    if what.bytes().next()?.is_ascii_digit() {
        return None;
    }
    let mut to = None;
    let mut from = None;
    for l in lines {
        if l.is_empty() {
            break;
        }
        let (name, value) = l.split_once(':')?;
        if name.eq_ignore_ascii_case("To-Path") {
            to = MsrpUri::parse_list(value.trim()).ok();
        } else if name.eq_ignore_ascii_case("From-Path") {
            from = MsrpUri::parse_list(value.trim()).ok();
        }
    }
    let (to, from) = (to?, from?);
    let tid_ok = !tid.is_empty()
        && tid.len() <= crate::proto::msrp::MAX_TID_LEN
        && tid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.+%=".contains(&b));
    if !tid_ok {
        return None;
    }
    let comment: String = why.chars().filter(|c| !c.is_control()).take(100).collect();
    let mut out = format!(
        "MSRP {tid} {code:03} {}\r\nTo-Path: {}\r\nFrom-Path: {}\r\n-------{tid}$\r\n",
        comment.trim(),
        from.first()?,
        to.first()?
    );
    if comment.trim().is_empty() {
        out = format!(
            "MSRP {tid} {code:03}\r\nTo-Path: {}\r\nFrom-Path: {}\r\n-------{tid}$\r\n",
            from.first()?,
            to.first()?
        );
    }
    Some(out.into_bytes())
}
