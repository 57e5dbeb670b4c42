//! The thread of one MSRP session (`msrp-session-N`): it owns everything the
//! session sends (chunking, transaction ids, responses, REPORTs, the relay
//! reservation) and runs the session's [`Transfer`] rules on what its
//! connection's reader hands it.
//!
//! Owns: the session's [`Transfer`], its end of the connection (opened here
//! for the active role and for the relay), its bounded command queue from
//! the session table, and the write side: bytes go to the connection's
//! bounded write queue in batches of up to [`BATCH`] octets.
//!
//! Must not: block the session table (it only `try_send`s commands here),
//! or wait on a peer without a bound. A peer that does not read stops the
//! connection's writer, which fills the connection queue; this thread then
//! stops taking commands (their queue fills and
//! [`super::MsrpStack::send`] fails) and, when no byte could be queued for
//! `write_timeout`, fails the session with
//! [`CloseReason::PeerNotReading`]. While it waits it keeps taking the
//! reader's input, so responses from the peer still arrive and two
//! sessions sending to each other cannot deadlock.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Select, TryRecvError, TrySendError};
use log::{debug, info, warn};

use super::connection::{ConnLink, RemoteEnd, Shared};
use super::relay::{AuthStep, RelayAuth};
use super::setup::Role;
use super::transfer::{OutgoingMessage, Transfer, TransferConfig, TransferEvent};
use crate::config::Relay;
use crate::event::{CloseReason, ConnId, HeldId, MsrpEvent, MsrpSessionKey};
use crate::proto::msrp::{Message, MsrpUri};

/// Octets collected before they are handed to the connection's writer.
pub const BATCH: usize = 64 * 1024;
/// How long the relay may take to answer AUTH.
const AUTH_TIMEOUT: Duration = Duration::from_secs(10);
/// The thread looks at the stop flag at least this often.
const TICK: Duration = Duration::from_millis(500);

/// What the session table asks of a session.
#[derive(Debug)]
pub(crate) enum SessionCommand {
    Start(RemoteEnd),
    Send(OutgoingMessage),
    Answer {
        held: HeldId,
        status: u16,
        comment: Option<String>,
    },
    Close,
}

/// What the connection side tells a session.
pub(crate) enum SessionInput {
    /// Boxed: a bounded channel allocates all its slots up front, and a
    /// slot the size of a message would make 10,000 idle sessions cost
    /// gigabytes.
    Frame(Box<Message<'static>>),
    /// An incoming connection was bound to the session by its first
    /// request (queued before that request).
    Bound(ConnLink),
    ConnClosed(ConnId, String),
    /// Look at the stop and overflow flags now.
    Wake,
}

pub(crate) struct SessionContext {
    pub shared: Arc<Shared>,
    pub key: MsrpSessionKey,
    pub session_id: String,
    pub local: MsrpUri<'static>,
    pub relay: Option<Relay>,
    pub hold_responses: bool,
    pub commands: Receiver<SessionCommand>,
    pub inputs: Receiver<SessionInput>,
    pub overflow: Arc<AtomicBool>,
}

struct RelayState {
    auth: RelayAuth,
    use_path: Vec<MsrpUri<'static>>,
    refresh_at: Instant,
}

struct Session {
    ctx: SessionContext,
    transfer: Transfer,
    conn: Option<ConnLink>,
    relay: Option<RelayState>,
    started: bool,
    connected_reported: bool,
    out: Vec<u8>,
    pending: Option<Vec<u8>>,
    stalled_since: Option<Instant>,
}

/// The thread body.
pub(crate) fn run(ctx: SessionContext) {
    let sh = ctx.shared.clone();
    let cfg = TransferConfig {
        chunk_size: sh.cfg.chunk_size,
        max_message_bytes: sh.cfg.max_message_bytes,
        max_session_bytes: sh.cfg.max_session_bytes,
        accept_types: sh.cfg.accept_types.clone(),
        transaction_timeout: sh.cfg.transaction_timeout,
        hold_responses: ctx.hold_responses,
        ..TransferConfig::default()
    };
    let prefix = crate::ids::random_token(6);
    let transfer = Transfer::new(cfg, Vec::new(), ctx.local.clone(), prefix);
    let mut s = Session {
        ctx,
        transfer,
        conn: None,
        relay: None,
        started: false,
        connected_reported: false,
        out: Vec::with_capacity(BATCH),
        pending: None,
        stalled_since: None,
    };
    let reason = match s.reserve() {
        Ok(()) => s.main_loop(),
        Err(r) => r,
    };
    s.finish(reason);
}

impl Session {
    fn emit(&self, ev: MsrpEvent) {
        self.ctx.shared.emit(ev);
    }

    fn emit_transfer_events(&mut self) {
        while let Some(ev) = self.transfer.pop_event() {
            let session = self.ctx.key;
            self.emit(match ev {
                TransferEvent::Received {
                    held,
                    message_id,
                    content_type,
                    body,
                    success_report,
                } => MsrpEvent::Received {
                    session,
                    held,
                    message_id,
                    content_type,
                    body,
                    success_report,
                },
                TransferEvent::Outcome { tag, outcome } => MsrpEvent::SendOutcome {
                    session,
                    tag,
                    outcome,
                },
                TransferEvent::Report {
                    tag,
                    status,
                    byte_range,
                } => MsrpEvent::Report {
                    session,
                    tag,
                    status,
                    byte_range,
                },
            });
        }
    }

    /// RFC 4976: connect to the relay, AUTH (answering its challenge), and
    /// report the path to advertise.
    fn reserve(&mut self) -> Result<(), CloseReason> {
        let Some(relay) = self.ctx.relay.clone() else {
            return Ok(());
        };
        let sh = self.ctx.shared.clone();
        let link = sh
            .connect(&relay.uri, &self.ctx.session_id)
            .map_err(CloseReason::ConnectFailed)?;
        self.conn = Some(link);
        let mut auth = RelayAuth::new(
            relay.uri.clone(),
            self.ctx.local.clone(),
            relay.credentials.clone(),
            sh.cfg.relay_expires,
            crate::ids::random_token(6),
        );
        let first = auth.start();
        first.encode(&mut self.out);
        self.flush_blocking()?;
        let deadline = Instant::now() + AUTH_TIMEOUT;
        loop {
            let input = self
                .ctx
                .inputs
                .recv_deadline(deadline)
                .map_err(|_| CloseReason::ConnectFailed("relay did not answer AUTH".into()))?;
            match input {
                SessionInput::Frame(m) if !m.is_request() => {
                    let cnonce = crate::ids::random_token(16);
                    match auth.on_response(&m, &cnonce) {
                        AuthStep::Retry(next) => {
                            next.encode(&mut self.out);
                            self.flush_blocking()?;
                        }
                        AuthStep::Reserved { use_path, expires } => {
                            let mut local_path = use_path.clone();
                            local_path.push(self.ctx.local.clone());
                            info!(
                                "msrp {}: relay reserved {} for {expires} s",
                                self.ctx.key,
                                use_path
                                    .iter()
                                    .map(ToString::to_string)
                                    .collect::<Vec<_>>()
                                    .join(" ")
                            );
                            self.relay = Some(RelayState {
                                auth,
                                use_path,
                                refresh_at: RelayAuth::refresh_at(Instant::now(), expires),
                            });
                            self.emit(MsrpEvent::PathReady {
                                session: self.ctx.key,
                                local_path,
                            });
                            return Ok(());
                        }
                        AuthStep::Refused { status, reason } => {
                            return Err(CloseReason::ConnectFailed(format!(
                                "relay refused AUTH: {status} ({reason})"
                            )));
                        }
                        AuthStep::Ignored => {}
                    }
                }
                SessionInput::ConnClosed(_, r) => return Err(CloseReason::ConnectFailed(r)),
                SessionInput::Wake if self.ctx.shared.stopping() => {
                    return Err(CloseReason::Shutdown);
                }
                _ => {}
            }
        }
    }

    /// Queues `out` on the connection, waiting up to the write timeout.
    fn flush_blocking(&mut self) -> Result<(), CloseReason> {
        let Some(c) = &self.conn else {
            return Ok(());
        };
        if let Some(p) = self.pending.take() {
            c.tx.send_timeout(p, self.ctx.shared.cfg.write_timeout)
                .map_err(|_| CloseReason::PeerNotReading("write queue full".into()))?;
        }
        if !self.out.is_empty() {
            let b = std::mem::take(&mut self.out);
            c.tx.send_timeout(b, self.ctx.shared.cfg.write_timeout)
                .map_err(|_| CloseReason::PeerNotReading("write queue full".into()))?;
        }
        Ok(())
    }

    fn main_loop(&mut self) -> CloseReason {
        let write_timeout = self.ctx.shared.cfg.write_timeout;
        loop {
            if self.ctx.shared.stopping() {
                return CloseReason::Shutdown;
            }
            if self.ctx.overflow.load(Ordering::Relaxed) {
                return CloseReason::PeerNotReading("command queue full".into());
            }
            let now = Instant::now();
            self.transfer.on_tick(now);
            if let Err(r) = self.refresh_relay(now) {
                return r;
            }

            // Write as much as the connection queue takes.
            let mut progressed = false;
            if let Some(c) = &self.conn {
                if self.pending.is_none() {
                    if self.started && self.out.len() < BATCH {
                        self.transfer.write_chunks(&mut self.out, BATCH, now);
                    }
                    if !self.out.is_empty() {
                        self.pending = Some(std::mem::take(&mut self.out));
                    }
                }
                if let Some(p) = self.pending.take() {
                    match c.tx.try_send(p) {
                        Ok(()) => {
                            progressed = true;
                            self.stalled_since = None;
                        }
                        Err(TrySendError::Full(p)) => {
                            self.pending = Some(p);
                            self.stalled_since.get_or_insert(now);
                        }
                        Err(TrySendError::Disconnected(_)) => {
                            return CloseReason::ConnectionLost("connection closed".into());
                        }
                    }
                }
            }
            self.emit_transfer_events();
            if let Some(t) = self.stalled_since {
                if now.duration_since(t) >= write_timeout {
                    return CloseReason::PeerNotReading(format!(
                        "nothing could be written for {} s",
                        write_timeout.as_secs()
                    ));
                }
            }

            // Take input: without waiting while there is more to write,
            // else until something happens or a deadline passes.
            let more = self.pending.is_none()
                && self.conn.is_some()
                && (!self.out.is_empty() || (self.started && self.transfer.has_chunks()));
            let r = if progressed && more {
                self.poll_inputs(now)
            } else {
                self.wait(now)
            };
            if let Err(reason) = r {
                return reason;
            }
        }
    }

    /// Handles whatever input is already queued, without waiting.
    fn poll_inputs(&mut self, now: Instant) -> Result<(), CloseReason> {
        for _ in 0..64 {
            match self.ctx.inputs.try_recv() {
                Ok(i) => self.on_input(i, now)?,
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => return Err(CloseReason::Shutdown),
            }
        }
        for _ in 0..64 {
            if !self.transfer.has_room() {
                break;
            }
            match self.ctx.commands.try_recv() {
                Ok(c) => self.on_command(c, now)?,
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => return Err(CloseReason::Closed),
            }
        }
        Ok(())
    }

    fn wait(&mut self, now: Instant) -> Result<(), CloseReason> {
        let mut deadline = now + TICK;
        if let Some(d) = self.transfer.next_deadline() {
            deadline = deadline.min(d);
        }
        if let Some(r) = &self.relay {
            deadline = deadline.min(r.refresh_at);
        }
        if let Some(t) = self.stalled_since {
            deadline = deadline.min(t + self.ctx.shared.cfg.write_timeout);
        }
        let inputs = self.ctx.inputs.clone();
        let commands = self.ctx.commands.clone();
        let conn_tx = self.conn.as_ref().map(|c| c.tx.clone());
        let mut sel = Select::new();
        let i_in = sel.recv(&inputs);
        let i_cmd = self.transfer.has_room().then(|| sel.recv(&commands));
        let i_send = match (&self.pending, &conn_tx) {
            (Some(_), Some(tx)) => Some(sel.send(tx)),
            _ => None,
        };
        let Ok(op) = sel.select_deadline(deadline) else {
            return Ok(());
        };
        let i = op.index();
        if i == i_in {
            match op.recv(&inputs) {
                Ok(input) => self.on_input(input, Instant::now()),
                Err(_) => Err(CloseReason::Shutdown),
            }
        } else if Some(i) == i_cmd {
            match op.recv(&commands) {
                Ok(c) => self.on_command(c, Instant::now()),
                Err(_) => Err(CloseReason::Closed),
            }
        } else if Some(i) == i_send {
            let (Some(tx), Some(p)) = (&conn_tx, self.pending.take()) else {
                return Ok(());
            };
            match op.send(tx, p) {
                Ok(()) => {
                    self.stalled_since = None;
                    Ok(())
                }
                Err(_) => Err(CloseReason::ConnectionLost("connection closed".into())),
            }
        } else {
            Ok(())
        }
    }

    fn on_input(&mut self, input: SessionInput, now: Instant) -> Result<(), CloseReason> {
        match input {
            SessionInput::Frame(m) => {
                if !m.is_request() {
                    if let Some(r) = &mut self.relay {
                        let cnonce = crate::ids::random_token(16);
                        match r.auth.on_response(&m, &cnonce) {
                            AuthStep::Ignored => {}
                            AuthStep::Retry(next) => {
                                next.encode(&mut self.out);
                                return Ok(());
                            }
                            AuthStep::Reserved { use_path, expires } => {
                                r.refresh_at = RelayAuth::refresh_at(now, expires);
                                if use_path != r.use_path {
                                    warn!(
                                        "msrp {}: relay refresh gave a new Use-Path",
                                        self.ctx.key
                                    );
                                    let mut local_path = use_path.clone();
                                    local_path.push(self.ctx.local.clone());
                                    r.use_path = use_path;
                                    self.emit(MsrpEvent::PathReady {
                                        session: self.ctx.key,
                                        local_path,
                                    });
                                }
                                return Ok(());
                            }
                            AuthStep::Refused { status, reason } => {
                                return Err(CloseReason::ConnectionLost(format!(
                                    "relay refused the refresh: {status} ({reason})"
                                )));
                            }
                        }
                    }
                }
                self.transfer.on_message(&m, now, &mut self.out);
                self.emit_transfer_events();
                Ok(())
            }
            SessionInput::Bound(link) => {
                debug!(
                    "msrp {}: bound to {} ({})",
                    self.ctx.key, link.peer, link.id
                );
                self.conn = Some(link);
                self.report_connected();
                Ok(())
            }
            SessionInput::ConnClosed(id, reason) => {
                if self.conn.as_ref().is_some_and(|c| c.id == id) {
                    Err(CloseReason::ConnectionLost(reason))
                } else {
                    Ok(())
                }
            }
            SessionInput::Wake => Ok(()),
        }
    }

    fn report_connected(&mut self) {
        if self.started && !self.connected_reported {
            if let Some(c) = &self.conn {
                self.connected_reported = true;
                info!(
                    "msrp {}: connected, peer {} ({})",
                    self.ctx.key, c.peer, c.id
                );
                self.emit(MsrpEvent::Connected {
                    session: self.ctx.key,
                    peer: c.peer,
                });
            }
        }
    }

    fn on_command(&mut self, cmd: SessionCommand, now: Instant) -> Result<(), CloseReason> {
        match cmd {
            SessionCommand::Start(remote) => self.start(remote),
            SessionCommand::Send(m) => {
                let tag = m.tag;
                if let Err(e) = self.transfer.send(m) {
                    self.emit(MsrpEvent::SendOutcome {
                        session: self.ctx.key,
                        tag,
                        outcome: crate::event::SendOutcome::Failed {
                            status: 503,
                            reason: e.to_string(),
                        },
                    });
                }
                self.emit_transfer_events();
                Ok(())
            }
            SessionCommand::Answer {
                held,
                status,
                comment,
            } => {
                if let Err(e) =
                    self.transfer
                        .answer(held, status, comment.as_deref(), &mut self.out)
                {
                    debug!("msrp {}: answer: {e}", self.ctx.key);
                }
                Ok(())
            }
            SessionCommand::Close => {
                let _ = now;
                // What is already queued still goes out (responses, chunks
                // written so far), bounded by the write timeout.
                let _ = self.flush_blocking();
                Err(CloseReason::Closed)
            }
        }
    }

    fn start(&mut self, remote: RemoteEnd) -> Result<(), CloseReason> {
        if self.started {
            return Ok(());
        }
        let sh = self.ctx.shared.clone();
        let mut to_path = self
            .relay
            .as_ref()
            .map(|r| r.use_path.clone())
            .unwrap_or_default();
        to_path.extend(remote.path.iter().cloned());
        if remote.path.is_empty() {
            return Err(CloseReason::ConnectFailed(
                "the peer's a=path is empty".into(),
            ));
        }
        self.transfer.set_to_path(to_path);
        self.transfer.set_peer_max_size(remote.max_size);
        let active = remote.role == Role::Active;
        self.started = true;
        if active && self.relay.is_none() {
            let link = sh
                .connect(&remote.path[0], &self.ctx.session_id)
                .map_err(CloseReason::ConnectFailed)?;
            self.conn = Some(link);
        }
        if active && !self.transfer.has_chunks() {
            // RFC 4975 §5.4 / RFC 6135: the active side speaks first.
            self.transfer.write_empty_send(&mut self.out);
        }
        self.report_connected();
        Ok(())
    }

    fn refresh_relay(&mut self, now: Instant) -> Result<(), CloseReason> {
        let Some(r) = &mut self.relay else {
            return Ok(());
        };
        if now < r.refresh_at {
            return Ok(());
        }
        // Until the answer comes, do not ask again.
        r.refresh_at = now + AUTH_TIMEOUT;
        let m = r.auth.start();
        m.encode(&mut self.out);
        Ok(())
    }

    fn finish(mut self, reason: CloseReason) {
        let status = match reason {
            CloseReason::Closed | CloseReason::Shutdown => 481,
            _ => 408,
        };
        match &reason {
            CloseReason::Closed | CloseReason::Shutdown => {
                debug!("msrp {}: {reason}", self.ctx.key)
            }
            _ => warn!("msrp {}: session failed: {reason}", self.ctx.key),
        }
        self.transfer.fail_all(status, &reason.to_string());
        self.emit_transfer_events();
        // Commands still queued: their messages fail too.
        while let Ok(c) = self.ctx.commands.try_recv() {
            if let SessionCommand::Send(m) = c {
                self.emit(MsrpEvent::SendOutcome {
                    session: self.ctx.key,
                    tag: m.tag,
                    outcome: crate::event::SendOutcome::Failed {
                        status,
                        reason: reason.to_string(),
                    },
                });
            }
        }
        self.ctx.shared.release(&self.ctx.session_id);
        self.emit(MsrpEvent::Closed {
            session: self.ctx.key,
            reason,
        });
    }
}
