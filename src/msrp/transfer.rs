//! The send and receive rules of one MSRP session at an endpoint (RFC 4975
//! §7, §7.1.1–§7.1.2, §7.2, §7.3), without I/O: the session thread
//! ([`super::writer`]) feeds it requests, responses, commands and the time,
//! and writes the bytes it produces.
//!
//! Owns, for one session:
//! - sending: a bounded queue of messages, chunking at the configured size
//!   (`Byte-Range` on every SEND, `*` range-end above 2048 octets so chunks
//!   stay interruptible), transaction ids that do not occur in the chunk's
//!   body, `Success-Report`/`Failure-Report` as the caller asks, refusal of
//!   messages over the peer's `a=max-size` (413, locally), the outcome of
//!   each message (200 to its last chunk; the first error response
//!   interrupts it: no further chunk goes out; the transaction timeout gives
//!   408);
//! - receiving: reassembly with a per-message and a per-session cap (413),
//!   `accept-types` (415), malformed requests (400), unknown methods (501),
//!   responses by the rules of §7.2 (none with `Failure-Report: no`; with
//!   `partial` only on failure), the final response of a complete message
//!   held until the caller answers ([`Transfer::answer`]), success REPORTs
//!   after a 200 answer, failure REPORTs when a message fails after some of
//!   its chunks were already answered 200 (a failing response then covers
//!   only its own chunk), and REPORTs about sent messages.
//!
//! Must not: touch sockets, threads, channels or clocks (time comes in as
//! `now`), generate random ids (the caller gives a per-session prefix), or
//! decide session membership (the reader routes by To-Path before this).

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::io::Write as _;
use std::time::{Duration, Instant};

use crate::event::{HeldId, SendOutcome};
use crate::proto::lex::find_bytes;
use crate::proto::msrp::{
    ByteRange, ChunkRef, Chunker, FailureReport, Flag, Kind, Message, Method, MsrpUri, Progress,
    RangeEndStyle, Reassembler, ReassemblyLimits, SuccessReport,
};

/// Messages accepted by [`Transfer::send`] and not yet fully written.
pub const SEND_QUEUE_DEPTH: usize = 64;
/// Message-IDs remembered after a failure, so their later chunks get the
/// same answer instead of starting a new reassembly.
const FAILED_IDS: usize = 16;
/// Sent messages remembered for matching REPORTs to their tags.
const REPORT_MEMORY: usize = 1024;
/// Received messages whose response may wait for the caller at once; more
/// are refused (413: the receiver will not take it now, RFC 4975 §10.5)
/// so a caller that stops answering cannot make the session grow.
pub const MAX_HELD: usize = 1024;

/// The caps and choices of one session.
#[derive(Debug, Clone)]
pub struct TransferConfig {
    /// Body octets per SEND chunk (≤ 10240 to pass Kamailio's relay).
    pub chunk_size: usize,
    /// Largest message received (after reassembly) or sent.
    pub max_message_bytes: u64,
    /// Octets all partially received messages of the session may hold.
    pub max_session_bytes: u64,
    /// Messages partially received at once.
    pub max_in_progress: usize,
    /// Media types this side accepts (`a=accept-types`); `*` and `type/*`
    /// are wildcards; empty accepts anything.
    pub accept_types: Vec<String>,
    /// The peer's `a=max-size`.
    pub peer_max_size: Option<u64>,
    /// How long a SEND waits for its response (RFC 4975 §7.1.1: 30 s).
    pub transaction_timeout: Duration,
    /// Hold the final response of each complete message for
    /// [`Transfer::answer`]; otherwise answer 200 at once.
    pub hold_responses: bool,
}

impl Default for TransferConfig {
    fn default() -> Self {
        TransferConfig {
            chunk_size: 2048,
            max_message_bytes: 1024 * 1024,
            max_session_bytes: 4 * 1024 * 1024,
            max_in_progress: 16,
            accept_types: Vec::new(),
            peer_max_size: None,
            transaction_timeout: Duration::from_secs(30),
            hold_responses: true,
        }
    }
}

/// One message to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMessage {
    /// The caller's name for it, echoed in its outcome.
    pub tag: u64,
    pub content_type: String,
    pub body: Vec<u8>,
    /// Ask for a success REPORT (RFC 4975 §7.1.2).
    pub success_report: bool,
    /// `yes` (default: a response to every chunk), `partial` (only
    /// failures) or `no` (no response at all).
    pub failure_report: FailureReport,
}

impl OutgoingMessage {
    pub fn new(tag: u64, content_type: impl Into<String>, body: Vec<u8>) -> Self {
        OutgoingMessage {
            tag,
            content_type: content_type.into(),
            body,
            success_report: false,
            failure_report: FailureReport::Yes,
        }
    }
}

/// What the caller must pass on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransferEvent {
    Received {
        held: Option<HeldId>,
        message_id: String,
        content_type: Option<String>,
        body: Vec<u8>,
        success_report: bool,
    },
    Outcome {
        tag: u64,
        outcome: SendOutcome,
    },
    Report {
        tag: Option<u64>,
        status: u16,
        byte_range: Option<ByteRange>,
    },
}

/// Why [`Transfer::send`] or [`Transfer::answer`] refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferError {
    /// [`SEND_QUEUE_DEPTH`] messages are waiting to be written.
    QueueFull,
    /// No held message has this id (answered already, or never held).
    UnknownHeld(HeldId),
    /// Status codes are 200..=999 (RFC 4975 §9 `status-code`).
    BadStatus(u16),
}

impl fmt::Display for TransferError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransferError::QueueFull => write!(f, "{SEND_QUEUE_DEPTH} messages already queued"),
            TransferError::UnknownHeld(h) => write!(f, "no held message #{}", h.0),
            TransferError::BadStatus(c) => write!(f, "status {c} is not 200..=999"),
        }
    }
}

/// A message being chunked.
struct Sending {
    seq: u64,
    msg: OutgoingMessage,
    chunker: Chunker,
    /// `To-Path` .. report headers, pre-encoded once per message.
    head: Vec<u8>,
    /// The Content-Type line (MIME headers go last, RFC 4975 §7.1).
    content_type_line: Vec<u8>,
}

/// A sent message whose outcome is not decided yet.
struct InFlight {
    tag: u64,
    /// Chunk transactions still waiting for a response.
    outstanding: usize,
    all_written: bool,
    /// `Failure-Report: yes`: a 200 per chunk is expected.
    expect_200: bool,
}

struct PendingTransaction {
    seq: u64,
    deadline: Instant,
}

/// A complete received message whose final response waits for the caller:
/// the last chunk's request without its body, to build that response and
/// any REPORT.
struct Held {
    request: Message<'static>,
    total: u64,
}

/// One session's rules. See the module docs.
pub struct Transfer {
    cfg: TransferConfig,
    /// For our SENDs: the peer's path (after our relay's, if any).
    to_path: Vec<MsrpUri<'static>>,
    /// Our own URI.
    from_path: Vec<MsrpUri<'static>>,
    id_prefix: String,
    next_id: u64,
    queue: VecDeque<(u64, OutgoingMessage)>,
    current: Option<Sending>,
    in_flight: HashMap<u64, InFlight>,
    pending: HashMap<String, PendingTransaction>,
    /// Transaction ids in the order sent (deadlines grow with it).
    deadlines: VecDeque<(Instant, String)>,
    /// Message-ID → tag of recently sent messages (for REPORTs).
    sent_ids: HashMap<String, u64>,
    sent_order: VecDeque<String>,
    reassembler: Reassembler,
    held: HashMap<u64, Held>,
    next_held: u64,
    /// Message-IDs that failed, with the status their chunks get.
    failed: VecDeque<(String, u16)>,
    events: VecDeque<TransferEvent>,
}

impl Transfer {
    /// `to_path`: where our SENDs go (the peer's a=path, after our relay's
    /// Use-Path when there is one); `local`: our own URI (From-Path).
    /// `id_prefix`: a random per-session prefix for transaction and
    /// message ids (ident characters).
    pub fn new(
        cfg: TransferConfig,
        to_path: Vec<MsrpUri<'static>>,
        local: MsrpUri<'static>,
        id_prefix: String,
    ) -> Transfer {
        let limits = ReassemblyLimits {
            max_message_bytes: cfg.max_message_bytes,
            max_in_progress: cfg.max_in_progress.max(1),
            ..ReassemblyLimits::default()
        };
        Transfer {
            cfg,
            to_path,
            from_path: vec![local],
            id_prefix,
            next_id: 1,
            queue: VecDeque::new(),
            current: None,
            in_flight: HashMap::new(),
            pending: HashMap::new(),
            deadlines: VecDeque::new(),
            sent_ids: HashMap::new(),
            sent_order: VecDeque::new(),
            reassembler: Reassembler::new(limits),
            held: HashMap::new(),
            next_held: 1,
            failed: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// The peer's path changed (a passive side learns nothing new, but a
    /// session re-offered may): later SENDs use it.
    pub fn set_to_path(&mut self, to_path: Vec<MsrpUri<'static>>) {
        self.to_path = to_path;
    }

    /// The peer's a=max-size, once the offer/answer is known.
    pub fn set_peer_max_size(&mut self, max: Option<u64>) {
        self.cfg.peer_max_size = max;
    }

    pub fn to_path(&self) -> &[MsrpUri<'static>] {
        &self.to_path
    }

    fn new_id(&mut self) -> String {
        let n = self.next_id;
        self.next_id += 1;
        format!("{}{n:x}", self.id_prefix)
    }

    /// Queues a message. A message over the peer's a=max-size or our own
    /// cap is refused at once with a 413 outcome (an event), never sent.
    pub fn send(&mut self, msg: OutgoingMessage) -> Result<(), TransferError> {
        let len = msg.body.len() as u64;
        let over_peer = self.cfg.peer_max_size.is_some_and(|m| len > m);
        if over_peer || len > self.cfg.max_message_bytes {
            let reason = if over_peer {
                "Message larger than the peer's a=max-size"
            } else {
                "Message larger than msrp.max_message_bytes"
            };
            self.outcome(msg.tag, failed(413, reason));
            return Ok(());
        }
        if !header_value_ok(&msg.content_type) {
            self.outcome(
                msg.tag,
                failed(400, "Content-Type is not a valid header value"),
            );
            return Ok(());
        }
        if self.queue.len() >= SEND_QUEUE_DEPTH {
            return Err(TransferError::QueueFull);
        }
        let seq = self.next_id;
        self.next_id += 1;
        self.queue.push_back((seq, msg));
        Ok(())
    }

    /// Messages accepted and not fully written.
    pub fn queued(&self) -> usize {
        self.queue.len() + usize::from(self.current.is_some())
    }

    /// Whether [`Transfer::send`] would take another message.
    pub fn has_room(&self) -> bool {
        self.queue.len() < SEND_QUEUE_DEPTH
    }

    /// Something is waiting to be written by [`Transfer::write_chunks`].
    pub fn has_chunks(&self) -> bool {
        self.current.is_some() || !self.queue.is_empty()
    }

    /// The active side's first request when it has nothing else to send
    /// (RFC 4975 §5.4): a SEND without body, whose response nobody awaits.
    pub fn write_empty_send(&mut self, out: &mut Vec<u8>) {
        let tid = self.new_id();
        let mid = self.new_id();
        let _ = write!(out, "MSRP {tid} SEND\r\n");
        self.write_paths(out);
        let _ = write!(
            out,
            "Message-ID: {mid}\r\nByte-Range: 1-0/0\r\nFailure-Report: no\r\n-------{tid}$\r\n"
        );
    }

    fn write_paths(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"To-Path: ");
        write_path(out, &self.to_path);
        out.extend_from_slice(b"\r\nFrom-Path: ");
        write_path(out, &self.from_path);
        out.extend_from_slice(b"\r\n");
    }

    /// Appends chunk frames to `out` until it holds at least `budget`
    /// bytes or nothing is left to send. Returns true when more remain.
    pub fn write_chunks(&mut self, out: &mut Vec<u8>, budget: usize, now: Instant) -> bool {
        while out.len() < budget {
            if self.current.is_none() && !self.start_next() {
                return false;
            }
            self.write_one_chunk(out, now);
        }
        self.has_chunks()
    }

    fn start_next(&mut self) -> bool {
        let Some((seq, msg)) = self.queue.pop_front() else {
            return false;
        };
        let message_id = self.new_id();
        let mut head = Vec::with_capacity(256);
        self.write_paths(&mut head);
        let _ = write!(head, "Message-ID: {message_id}\r\n");
        if msg.success_report {
            head.extend_from_slice(b"Success-Report: yes\r\n");
        }
        if msg.failure_report != FailureReport::Yes {
            let _ = write!(head, "Failure-Report: {}\r\n", msg.failure_report.as_str());
        }
        let content_type_line = format!("Content-Type: {}\r\n", msg.content_type).into_bytes();
        let chunker = Chunker::new(
            msg.body.len(),
            self.cfg.chunk_size,
            RangeEndStyle::StarAboveLimit,
        );
        self.in_flight.insert(
            seq,
            InFlight {
                tag: msg.tag,
                outstanding: 0,
                all_written: false,
                expect_200: msg.failure_report == FailureReport::Yes,
            },
        );
        self.sent_ids.insert(message_id.clone(), msg.tag);
        self.sent_order.push_back(message_id);
        if self.sent_order.len() > REPORT_MEMORY {
            if let Some(old) = self.sent_order.pop_front() {
                self.sent_ids.remove(&old);
            }
        }
        self.current = Some(Sending {
            seq,
            msg,
            chunker,
            head,
            content_type_line,
        });
        true
    }

    fn write_one_chunk(&mut self, out: &mut Vec<u8>, now: Instant) {
        let Some(mut s) = self.current.take() else {
            return;
        };
        let Some(spec) = s.chunker.next_chunk() else {
            return;
        };
        let body = s.msg.body.get(spec.body.clone()).unwrap_or(&[]);
        // RFC 4975 §7.1: the end-line must not occur in the body.
        let mut tid = self.new_id();
        loop {
            let mut pat = Vec::with_capacity(7 + tid.len());
            pat.extend_from_slice(b"-------");
            pat.extend_from_slice(tid.as_bytes());
            if find_bytes(body, &pat).is_none() {
                break;
            }
            tid = self.new_id();
        }
        let _ = write!(out, "MSRP {tid} SEND\r\n");
        out.extend_from_slice(&s.head);
        let _ = write!(out, "Byte-Range: {}\r\n", spec.byte_range);
        out.extend_from_slice(&s.content_type_line);
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(body);
        let _ = write!(
            out,
            "\r\n-------{tid}{}\r\n",
            char::from(spec.flag.as_byte())
        );

        let last = spec.flag == Flag::End;
        let fr = s.msg.failure_report;
        if let Some(f) = self.in_flight.get_mut(&s.seq) {
            if fr != FailureReport::No {
                f.outstanding += 1;
                self.pending.insert(
                    tid.clone(),
                    PendingTransaction {
                        seq: s.seq,
                        deadline: now + self.cfg.transaction_timeout,
                    },
                );
                self.deadlines
                    .push_back((now + self.cfg.transaction_timeout, tid));
            }
            f.all_written = last;
        }
        if last {
            if fr != FailureReport::Yes {
                // No 200 will come: the caller learns the message is out.
                let tag = s.msg.tag;
                if fr == FailureReport::No {
                    self.in_flight.remove(&s.seq);
                }
                self.outcome(tag, SendOutcome::Written);
            }
        } else {
            self.current = Some(s);
        }
    }

    /// Takes one parsed message from the connection (already routed to this
    /// session). Responses and REPORTs are appended to `out`.
    pub fn on_message(&mut self, m: &Message<'_>, now: Instant, out: &mut Vec<u8>) {
        let _ = now;
        match &m.kind {
            Kind::Response { code, comment } => {
                self.on_response(&m.tid, *code, comment.as_deref());
            }
            Kind::Request(method) => {
                if let Err(e) = m.validate() {
                    // Missing paths cannot be answered (nowhere to send).
                    if !m.headers.from_path.is_empty() && !m.headers.to_path.is_empty() {
                        respond(out, m, 400, Some(e.description()));
                    }
                    return;
                }
                match method {
                    Method::Send => self.on_send(m, out),
                    Method::Report => self.on_report(m),
                    // RFC 4975 §10.9 (an endpoint is not a relay: AUTH is
                    // unknown here too).
                    _ => respond(out, m, 501, None),
                }
            }
        }
    }

    fn on_response(&mut self, tid: &str, code: u16, comment: Option<&str>) {
        let Some(p) = self.pending.remove(tid) else {
            return;
        };
        let seq = p.seq;
        let Some(f) = self.in_flight.get_mut(&seq) else {
            return;
        };
        f.outstanding = f.outstanding.saturating_sub(1);
        if code == 200 {
            if f.expect_200 && f.all_written && f.outstanding == 0 {
                let tag = f.tag;
                self.in_flight.remove(&seq);
                self.outcome(tag, SendOutcome::Delivered);
            } else if !f.expect_200 && f.all_written && f.outstanding == 0 {
                self.in_flight.remove(&seq);
            }
            return;
        }
        let tag = f.tag;
        self.in_flight.remove(&seq);
        self.interrupt(seq);
        let reason = comment.unwrap_or("error response").to_owned();
        self.outcome(
            tag,
            SendOutcome::Failed {
                status: code,
                reason,
            },
        );
    }

    /// Stops chunking message `seq` (RFC 4975 §7.1.1: an error response,
    /// 413 in particular, ends the message; no further chunk is sent).
    fn interrupt(&mut self, seq: u64) {
        if self.current.as_ref().is_some_and(|s| s.seq == seq) {
            self.current = None;
        }
    }

    fn on_report(&mut self, m: &Message<'_>) {
        // RFC 4975 §7.1.2: REPORTs are never answered.
        let tag = m
            .headers
            .message_id
            .as_deref()
            .and_then(|id| self.sent_ids.get(id))
            .copied();
        let status = m.headers.status.as_ref().map_or(0, |s| s.code);
        self.events.push_back(TransferEvent::Report {
            tag,
            status,
            byte_range: m.headers.byte_range,
        });
    }

    fn on_send(&mut self, m: &Message<'_>, out: &mut Vec<u8>) {
        let fr = m.headers.failure_report.unwrap_or(FailureReport::Yes);
        let sr = m.headers.success_report == Some(SuccessReport::Yes);
        let answer = |out: &mut Vec<u8>, code: u16, comment: Option<&str>| {
            let wanted = match fr {
                FailureReport::Yes => true,
                FailureReport::Partial => code != 200,
                FailureReport::No => false,
            };
            if wanted {
                respond(out, m, code, comment);
            }
        };
        let Some(message_id) = m.headers.message_id.as_deref() else {
            answer(out, 400, Some("Message-ID missing"));
            return;
        };
        if let Some(&(_, code)) = self.failed.iter().find(|(id, _)| id == message_id) {
            answer(out, code, None);
            return;
        }
        let body = m.body.as_deref().unwrap_or(&[]);
        let start = m.headers.byte_range.map_or(1, |r| r.start);
        // The active side's empty SEND (RFC 4975 §5.4): answered, not
        // delivered.
        if body.is_empty() && start == 1 && m.flag == Flag::End {
            answer(out, 200, None);
            return;
        }
        if let Some(ct) = m.headers.content_type.as_deref() {
            if !accepts(&self.cfg.accept_types, ct) {
                self.reassembler.abandon(message_id);
                self.remember_failed(message_id, 415);
                answer(out, 415, None);
                return;
            }
        }
        let chunk = match ChunkRef::from_message(m) {
            Ok(c) => c,
            Err(e) => {
                answer(out, e.kind.status_code(), Some(e.kind.description()));
                return;
            }
        };
        let completes = chunk.flag == crate::proto::msrp::Flag::End;
        if completes && self.cfg.hold_responses && self.held.len() >= MAX_HELD {
            self.reassembler.abandon(message_id);
            self.fail_received(m, fr, 413, "Too many messages awaiting delivery", out);
            return;
        }
        match self.reassembler.push(chunk) {
            Ok(Progress::InProgress { .. }) => {
                if self.reassembler.buffered_bytes() as u64 > self.cfg.max_session_bytes {
                    self.reassembler.abandon(message_id);
                    self.fail_received(m, fr, 413, "Session reassembly cap reached", out);
                    return;
                }
                answer(out, 200, None);
            }
            Ok(Progress::Aborted) => answer(out, 200, None),
            Ok(Progress::Complete(a)) => {
                let total = a.data.len() as u64;
                let held = if self.cfg.hold_responses {
                    let id = self.next_held;
                    self.next_held += 1;
                    // The request without its body: enough to answer it.
                    let request = Message {
                        tid: std::borrow::Cow::Owned(m.tid.to_string()),
                        kind: Kind::Request(Method::Send),
                        headers: m.headers.clone().into_owned(),
                        body: None,
                        flag: m.flag,
                    };
                    self.held.insert(id, Held { request, total });
                    Some(HeldId(id))
                } else {
                    answer(out, 200, None);
                    if sr {
                        self.write_report(out, m, 200, total);
                    }
                    None
                };
                self.events.push_back(TransferEvent::Received {
                    held,
                    message_id: a.message_id,
                    content_type: a.content_type,
                    body: a.data,
                    success_report: sr,
                });
            }
            Err(e) => {
                let code = e.kind.status_code();
                self.fail_received(m, fr, code, e.kind.description(), out);
            }
        }
    }

    /// A received message failed at chunk `m`: that chunk gets the error
    /// response; when earlier chunks were answered 200 (the message started
    /// before this chunk), a failure REPORT covers the whole message.
    fn fail_received(
        &mut self,
        m: &Message<'_>,
        fr: FailureReport,
        code: u16,
        comment: &str,
        out: &mut Vec<u8>,
    ) {
        if let Some(id) = m.headers.message_id.as_deref() {
            self.remember_failed(id, code);
        }
        if fr == FailureReport::No {
            return;
        }
        respond(out, m, code, Some(comment));
        let started_earlier = m.headers.byte_range.is_some_and(|r| r.start > 1);
        if started_earlier && fr == FailureReport::Yes {
            let tid = self.new_id();
            if let Ok(r) = Message::report_for(m, tid, code, None, None) {
                r.encode(out);
            }
        }
    }

    fn remember_failed(&mut self, id: &str, code: u16) {
        if self.failed.len() >= FAILED_IDS {
            self.failed.pop_front();
        }
        self.failed.push_back((id.to_owned(), code));
    }

    fn write_report(&mut self, out: &mut Vec<u8>, m: &Message<'_>, code: u16, total: u64) {
        let tid = self.new_id();
        let range = ByteRange::new(1, Some(total), Some(total));
        if let Ok(r) = Message::report_for(m, tid, code, None, Some(range)) {
            r.encode(out);
        }
    }

    /// The caller's decision about a held message: `status` 200 sends the
    /// 200 (unless the sender asked for none) and, when asked, a success
    /// REPORT; any other status sends that error response (unless
    /// `Failure-Report: no`).
    pub fn answer(
        &mut self,
        held: HeldId,
        status: u16,
        comment: Option<&str>,
        out: &mut Vec<u8>,
    ) -> Result<(), TransferError> {
        if !(200..=999).contains(&status) {
            return Err(TransferError::BadStatus(status));
        }
        let h = self
            .held
            .remove(&held.0)
            .ok_or(TransferError::UnknownHeld(held))?;
        let m = &h.request;
        let fr = m.headers.failure_report.unwrap_or(FailureReport::Yes);
        let wanted = match fr {
            FailureReport::Yes => true,
            FailureReport::Partial => status != 200,
            FailureReport::No => false,
        };
        let comment = comment.filter(|c| header_value_ok(c));
        if wanted {
            respond(out, m, status, comment);
        }
        if status == 200 && m.headers.success_report == Some(SuccessReport::Yes) {
            self.write_report(out, m, 200, h.total);
        }
        Ok(())
    }

    /// Received messages whose response is still held.
    pub fn held_count(&self) -> usize {
        self.held.len()
    }

    /// When [`Transfer::on_tick`] next has something to do.
    pub fn next_deadline(&mut self) -> Option<Instant> {
        while let Some((_, tid)) = self.deadlines.front() {
            if self.pending.contains_key(tid) {
                break;
            }
            self.deadlines.pop_front();
        }
        self.deadlines.front().map(|(d, _)| *d)
    }

    /// Transactions past their deadline fail their message with 408.
    pub fn on_tick(&mut self, now: Instant) {
        while let Some((d, _)) = self.deadlines.front() {
            if *d > now {
                break;
            }
            let Some((_, tid)) = self.deadlines.pop_front() else {
                break;
            };
            let Some(p) = self.pending.remove(&tid) else {
                continue;
            };
            if p.deadline > now {
                continue;
            }
            let Some(f) = self.in_flight.remove(&p.seq) else {
                continue;
            };
            self.interrupt(p.seq);
            if f.expect_200 {
                self.outcome(f.tag, failed(408, "Transaction timed out"));
            }
        }
    }

    /// The session ends: every message not yet decided fails with `status`.
    pub fn fail_all(&mut self, status: u16, reason: &str) {
        let mut tags: Vec<(u64, u64)> = self
            .in_flight
            .iter()
            .filter(|(_, f)| f.expect_200)
            .map(|(s, f)| (*s, f.tag))
            .collect();
        tags.extend(self.queue.iter().map(|(s, m)| (*s, m.tag)));
        tags.sort_unstable();
        tags.dedup();
        self.in_flight.clear();
        self.queue.clear();
        self.current = None;
        self.pending.clear();
        self.deadlines.clear();
        for (_, tag) in tags {
            self.outcome(tag, failed(status, reason));
        }
    }

    fn outcome(&mut self, tag: u64, outcome: SendOutcome) {
        self.events
            .push_back(TransferEvent::Outcome { tag, outcome });
    }

    pub fn pop_event(&mut self) -> Option<TransferEvent> {
        self.events.pop_front()
    }
}

fn failed(status: u16, reason: &str) -> SendOutcome {
    SendOutcome::Failed {
        status,
        reason: reason.to_owned(),
    }
}

fn write_path(out: &mut Vec<u8>, path: &[MsrpUri<'_>]) {
    for (i, u) in path.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        let _ = write!(out, "{u}");
    }
}

/// Writes the response to request `m` (RFC 4975 §7.2).
fn respond(out: &mut Vec<u8>, m: &Message<'_>, code: u16, comment: Option<&str>) {
    let comment = comment.map(std::borrow::Cow::Borrowed);
    if let Ok(r) = Message::response_for(m, code, comment) {
        r.encode(out);
    }
}

/// A header value we can write: printable, no CR/LF, not empty.
fn header_value_ok(v: &str) -> bool {
    !v.is_empty() && !v.bytes().any(|b| b < 0x20 || b == 0x7f)
}

/// `ct` (parameters ignored) against an accept-types list with `*` and
/// `type/*` wildcards; an empty list accepts everything.
pub fn accepts(types: &[String], ct: &str) -> bool {
    if types.is_empty() {
        return true;
    }
    let media = ct.split(';').next().unwrap_or("").trim();
    let (ty, _) = media.split_once('/').unwrap_or((media, ""));
    types.iter().any(|t| {
        let t = t.trim();
        t == "*"
            || t.eq_ignore_ascii_case(media)
            || t.strip_suffix("/*")
                .is_some_and(|p| p.eq_ignore_ascii_case(ty))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::msrp::{FrameLimits, Framer};

    fn uri(s: &str) -> MsrpUri<'static> {
        MsrpUri::parse(s).unwrap().into_owned()
    }

    fn pair(cfg: TransferConfig) -> (Transfer, Transfer) {
        let a = uri("msrp://127.0.0.1:1000/aaaa;tcp");
        let b = uri("msrp://127.0.0.1:2000/bbbb;tcp");
        (
            Transfer::new(cfg.clone(), vec![b.clone()], a.clone(), "ta".into()),
            Transfer::new(cfg, vec![a], b, "tb".into()),
        )
    }

    /// Every frame in `bytes`, owned.
    fn frames(mut bytes: &[u8]) -> Vec<Message<'static>> {
        let mut v = Vec::new();
        while !bytes.is_empty() {
            let f = Framer::new()
                .frame(bytes, &FrameLimits::UNLIMITED)
                .unwrap()
                .unwrap();
            v.push(Message::parse_frame(bytes, &f).unwrap().into_owned());
            bytes = &bytes[f.len..];
        }
        v
    }

    fn deliver(to: &mut Transfer, bytes: &[u8], now: Instant) -> Vec<u8> {
        let mut out = Vec::new();
        for m in frames(bytes) {
            to.on_message(&m, now, &mut out);
        }
        out
    }

    fn events(t: &mut Transfer) -> Vec<TransferEvent> {
        std::iter::from_fn(|| t.pop_event()).collect()
    }

    #[test]
    fn chunked_message_is_held_then_delivered() {
        let now = Instant::now();
        let (mut a, mut b) = pair(TransferConfig {
            chunk_size: 10,
            ..TransferConfig::default()
        });
        let body: Vec<u8> = (0..35u8).collect();
        let mut msg = OutgoingMessage::new(7, "text/plain", body.clone());
        msg.success_report = true;
        a.send(msg).unwrap();
        let mut wire = Vec::new();
        assert!(!a.write_chunks(&mut wire, usize::MAX, now));
        let sent = frames(&wire);
        assert_eq!(sent.len(), 4);
        assert_eq!(sent[3].headers.byte_range.unwrap().to_string(), "31-35/35");
        let replies = deliver(&mut b, &wire, now);
        assert_eq!(frames(&replies).len(), 3, "200 for the first three chunks");
        let ev = events(&mut b);
        let TransferEvent::Received {
            held,
            body: got,
            success_report,
            ..
        } = &ev[0]
        else {
            panic!("{ev:?}")
        };
        assert_eq!(got, &body);
        assert!(success_report);
        deliver(&mut a, &replies, now);
        assert!(events(&mut a).is_empty(), "no outcome before the last 200");
        let mut out = Vec::new();
        b.answer(held.unwrap(), 200, None, &mut out).unwrap();
        let last = frames(&out);
        assert_eq!(last.len(), 2);
        assert_eq!(last[0].code(), Some(200));
        assert_eq!(last[1].method(), Some(&Method::Report));
        assert_eq!(last[1].headers.byte_range.unwrap().to_string(), "1-35/35");
        deliver(&mut a, &out, now);
        let ev = events(&mut a);
        assert_eq!(
            ev[0],
            TransferEvent::Outcome {
                tag: 7,
                outcome: SendOutcome::Delivered
            }
        );
        assert!(matches!(
            ev[1],
            TransferEvent::Report {
                tag: Some(7),
                status: 200,
                ..
            }
        ));
    }

    #[test]
    fn failure_report_no_and_partial_suppress_200s() {
        let now = Instant::now();
        let (mut a, mut b) = pair(TransferConfig {
            hold_responses: false,
            ..TransferConfig::default()
        });
        for (tag, fr) in [(1, FailureReport::No), (2, FailureReport::Partial)] {
            let mut m = OutgoingMessage::new(tag, "text/plain", b"hi".to_vec());
            m.failure_report = fr;
            a.send(m).unwrap();
        }
        let mut wire = Vec::new();
        a.write_chunks(&mut wire, usize::MAX, now);
        assert!(deliver(&mut b, &wire, now).is_empty());
        assert_eq!(events(&mut b).len(), 2);
        let ev = events(&mut a);
        assert!(ev.iter().all(|e| matches!(
            e,
            TransferEvent::Outcome {
                outcome: SendOutcome::Written,
                ..
            }
        )));
    }

    #[test]
    fn refusals_415_413_501_400() {
        let now = Instant::now();
        let (mut a, mut b) = pair(TransferConfig {
            accept_types: vec!["text/*".into()],
            max_message_bytes: 100,
            peer_max_size: Some(50),
            ..TransferConfig::default()
        });
        a.send(OutgoingMessage::new(1, "image/png", vec![1; 4]))
            .unwrap();
        let mut wire = Vec::new();
        a.write_chunks(&mut wire, usize::MAX, now);
        let r = frames(&deliver(&mut b, &wire, now));
        assert_eq!(r[0].code(), Some(415));
        deliver(&mut a, &r[0].to_bytes(), now);
        assert!(matches!(
            &events(&mut a)[0],
            TransferEvent::Outcome {
                tag: 1,
                outcome: SendOutcome::Failed { status: 415, .. }
            }
        ));
        // over the peer's a=max-size: refused locally
        a.send(OutgoingMessage::new(2, "text/plain", vec![b'x'; 60]))
            .unwrap();
        assert!(matches!(
            &events(&mut a)[0],
            TransferEvent::Outcome {
                tag: 2,
                outcome: SendOutcome::Failed { status: 413, .. }
            }
        ));
        let raw = b"MSRP t1 SEND\r\nTo-Path: msrp://127.0.0.1:2000/bbbb;tcp\r\nFrom-Path: msrp://127.0.0.1:1000/aaaa;tcp\r\nMessage-ID: m1\r\nByte-Range: 1-*/200\r\nContent-Type: text/plain\r\n\r\nabc\r\n-------t1+\r\n";
        assert_eq!(frames(&deliver(&mut b, raw, now))[0].code(), Some(413));
        let raw = b"MSRP t2 FETCH\r\nTo-Path: msrp://127.0.0.1:2000/bbbb;tcp\r\nFrom-Path: msrp://127.0.0.1:1000/aaaa;tcp\r\n-------t2$\r\n";
        assert_eq!(frames(&deliver(&mut b, raw, now))[0].code(), Some(501));
        let raw = b"MSRP t3 SEND\r\nTo-Path: msrp://127.0.0.1:2000/bbbb;tcp\r\nFrom-Path: msrp://127.0.0.1:1000/aaaa;tcp\r\n-------t3$\r\n";
        assert_eq!(frames(&deliver(&mut b, raw, now))[0].code(), Some(400));
    }

    #[test]
    fn error_response_interrupts_and_timeout_gives_408() {
        let now = Instant::now();
        let (mut a, _) = pair(TransferConfig {
            chunk_size: 10,
            ..TransferConfig::default()
        });
        a.send(OutgoingMessage::new(1, "text/plain", vec![b'x'; 100]))
            .unwrap();
        let mut wire = Vec::new();
        assert!(a.write_chunks(&mut wire, 1, now));
        let first = frames(&wire);
        let resp = Message::response_for(&first[0], 413, None).unwrap();
        let mut out = Vec::new();
        a.on_message(&resp, now, &mut out);
        assert!(!a.has_chunks(), "413 stops the message");
        assert!(matches!(
            &events(&mut a)[0],
            TransferEvent::Outcome {
                outcome: SendOutcome::Failed { status: 413, .. },
                ..
            }
        ));
        a.send(OutgoingMessage::new(2, "text/plain", b"x".to_vec()))
            .unwrap();
        a.write_chunks(&mut Vec::new(), usize::MAX, now);
        let d = a.next_deadline().unwrap();
        assert_eq!(d, now + Duration::from_secs(30));
        a.on_tick(d - Duration::from_millis(1));
        assert!(events(&mut a).is_empty());
        a.on_tick(d);
        assert!(matches!(
            &events(&mut a)[0],
            TransferEvent::Outcome {
                tag: 2,
                outcome: SendOutcome::Failed { status: 408, .. }
            }
        ));
        assert_eq!(a.next_deadline(), None);
    }

    #[test]
    fn session_cap_and_held_cap_refuse_with_413() {
        let now = Instant::now();
        let (_, mut b) = pair(TransferConfig {
            max_message_bytes: 1000,
            max_session_bytes: 1500,
            ..TransferConfig::default()
        });
        let chunk = |id: &str, tid: &str, body: &[u8], flag: char| {
            format!(
                "MSRP {tid} SEND\r\nTo-Path: msrp://127.0.0.1:2000/bbbb;tcp\r\nFrom-Path: msrp://127.0.0.1:1000/aaaa;tcp\r\nMessage-ID: {id}\r\nByte-Range: 1-{}/*\r\nContent-Type: text/plain\r\n\r\n{}\r\n-------{tid}{flag}\r\n",
                body.len(),
                String::from_utf8_lossy(body)
            )
            .into_bytes()
        };
        // Two partial messages of 900 octets each pass the session's 1500.
        let r = frames(&deliver(&mut b, &chunk("m1", "t1", &[b'a'; 900], '+'), now));
        assert_eq!(r[0].code(), Some(200));
        let r = frames(&deliver(&mut b, &chunk("m2", "t2", &[b'b'; 900], '+'), now));
        assert_eq!(r[0].code(), Some(413));
        // Held messages are capped too.
        for i in 0..MAX_HELD {
            let tid = format!("h{i}");
            let out = deliver(&mut b, &chunk(&format!("k{i}"), &tid, b"x", '$'), now);
            assert!(out.is_empty(), "held, no response yet");
        }
        assert_eq!(b.held_count(), MAX_HELD);
        let r = frames(&deliver(&mut b, &chunk("over", "tx", b"x", '$'), now));
        assert_eq!(r[0].code(), Some(413));
    }

    /// Random SENDs, REPORTs and responses (ranges, flags, report
    /// headers, a few Message-IDs) never panic, and every SEND gets at most
    /// one response.
    #[test]
    fn random_traffic_is_contained() {
        let now = Instant::now();
        let (_, mut b) = pair(TransferConfig {
            max_message_bytes: 5000,
            max_session_bytes: 8000,
            chunk_size: 7,
            ..TransferConfig::default()
        });
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut rnd = |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        for i in 0..5000 {
            let tid = format!("r{i}");
            let start = rnd(3000) + u64::from(rnd(4) == 0);
            let len = rnd(700) as usize;
            let end = match rnd(3) {
                0 => "*".to_owned(),
                1 => (start + len as u64).to_string(),
                _ => (start + rnd(900)).to_string(),
            };
            let total = match rnd(3) {
                0 => "*".to_owned(),
                _ => (start + rnd(4000)).to_string(),
            };
            let flag = ['+', '$', '#'][rnd(3) as usize];
            let fr = ["", "Failure-Report: no\r\n", "Failure-Report: partial\r\n"][rnd(3) as usize];
            let sr = ["", "Success-Report: yes\r\n"][rnd(2) as usize];
            let raw = match rnd(10) {
                0 => format!(
                    "MSRP {tid} REPORT\r\nTo-Path: msrp://127.0.0.1:2000/bbbb;tcp\r\nFrom-Path: msrp://127.0.0.1:1000/aaaa;tcp\r\nMessage-ID: m{}\r\nStatus: 000 200 OK\r\n-------{tid}$\r\n",
                    rnd(5)
                ),
                1 => format!(
                    "MSRP r{} 200 OK\r\nTo-Path: msrp://127.0.0.1:2000/bbbb;tcp\r\nFrom-Path: msrp://127.0.0.1:1000/aaaa;tcp\r\n-------r{}$\r\n",
                    rnd(i + 1),
                    rnd(i + 1)
                ),
                _ => format!(
                    "MSRP {tid} SEND\r\nTo-Path: msrp://127.0.0.1:2000/bbbb;tcp\r\nFrom-Path: msrp://127.0.0.1:1000/aaaa;tcp\r\nMessage-ID: m{}\r\n{fr}{sr}Byte-Range: {start}-{end}/{total}\r\nContent-Type: text/plain\r\n\r\n{}\r\n-------{tid}{flag}\r\n",
                    rnd(5),
                    "z".repeat(len)
                ),
            };
            let Ok(m) = Message::parse(raw.as_bytes()) else {
                continue;
            };
            let mut out = Vec::new();
            b.on_message(&m, now, &mut out);
            let responses = frames(&out).iter().filter(|r| r.code().is_some()).count();
            assert!(responses <= 1, "{raw}");
            while let Some(ev) = b.pop_event() {
                if let TransferEvent::Received { held: Some(h), .. } = ev {
                    let mut out = Vec::new();
                    b.answer(h, [200, 403][rnd(2) as usize], None, &mut out)
                        .unwrap();
                }
            }
            assert!(b.reassembler.buffered_bytes() <= 8000 + 5000);
        }
    }

    #[test]
    fn accept_types_wildcards() {
        let t = vec!["text/plain".to_owned(), "message/*".to_owned()];
        assert!(accepts(&t, "text/plain; charset=utf-8"));
        assert!(accepts(&t, "Message/CPIM"));
        assert!(!accepts(&t, "text/html"));
        assert!(accepts(&["*".to_owned()], "x/y"));
        assert!(accepts(&[], "x/y"));
    }
}
