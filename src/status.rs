//! The status endpoint (threads): a small HTTP/1.1 server for operators
//! and monitoring.
//!
//! - `GET /healthz`: `200 ok` when the session-table thread answered a ping
//!   within a second, else `503`.
//! - `GET /metrics`: every metric of [`Metrics`] in the OpenMetrics text
//!   format (Prometheus scrapes it).
//! - `GET /sessions`: the session table as JSON, one object per session.
//!
//! Owns: the listening socket, an acceptor thread and one short-lived
//! thread per connection (at most [`MAX_CLIENTS`] at once; more get `503`).
//! Requests are parsed with httparse; a bad request gets `400`, a header
//! section over [`MAX_REQUEST_BYTES`] `431`, an unknown path `404`, another
//! method `405`. One request per connection (`Connection: close`).
//!
//! Must not: read or change protocol state (it asks the session table
//! through the event channel, with `try_send`, so a busy table makes
//! `/healthz` fail instead of piling up requests), or block the table.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crossbeam_channel::{Sender, bounded};
use log::{debug, warn};

use crate::event::{Event, SessionRow, StatusQuery};
use crate::metrics::Metrics;

/// Largest request head accepted.
pub const MAX_REQUEST_BYTES: usize = 8192;
/// Connections served at once.
pub const MAX_CLIENTS: usize = 16;
/// How long a client may take to send its request, and the table to answer.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(2);
const TABLE_TIMEOUT: Duration = Duration::from_secs(1);
const STACK_SIZE: usize = 64 * 1024;

/// The running endpoint; [`StatusServer::shutdown`] stops and joins it.
pub struct StatusServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
}

struct Shared {
    events: Sender<Event>,
    metrics: Metrics,
    clients: AtomicUsize,
}

impl StatusServer {
    /// Binds `addr` and starts the acceptor.
    pub fn start(
        addr: SocketAddr,
        events: Sender<Event>,
        metrics: Metrics,
    ) -> io::Result<StatusServer> {
        let listener = TcpListener::bind(addr)
            .map_err(|e| io::Error::new(e.kind(), format!("status listener {addr}: {e}")))?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let shared = Arc::new(Shared {
            events,
            metrics,
            clients: AtomicUsize::new(0),
        });
        let stop2 = stop.clone();
        let acceptor = thread::Builder::new()
            .name("status-accept".to_owned())
            .stack_size(STACK_SIZE)
            .spawn(move || accept_loop(&listener, &shared, &stop2))?;
        Ok(StatusServer {
            addr,
            stop,
            acceptor: Some(acceptor),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting and joins the acceptor (client threads end on their
    /// own within two seconds, the client timeout).
    pub fn shutdown(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the blocked accept().
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
        if let Some(t) = self.acceptor.take() {
            let _ = t.join();
        }
    }
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>, stop: &AtomicBool) {
    for conn in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let mut stream = match conn {
            Ok(s) => s,
            Err(e) => {
                warn!("status: accept failed: {e}");
                thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        if shared.clients.fetch_add(1, Ordering::SeqCst) >= MAX_CLIENTS {
            shared.clients.fetch_sub(1, Ordering::SeqCst);
            let _ = write_response(&mut stream, 503, "text/plain", b"busy\n");
            continue;
        }
        let sh = shared.clone();
        let spawned = thread::Builder::new()
            .name("status-client".to_owned())
            .stack_size(STACK_SIZE)
            .spawn(move || {
                serve(&sh, stream);
                sh.clients.fetch_sub(1, Ordering::SeqCst);
            });
        if let Err(e) = spawned {
            shared.clients.fetch_sub(1, Ordering::SeqCst);
            warn!("status: cannot start a client thread: {e}");
        }
    }
}

/// What a request asks for, from its head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Health,
    Metrics,
    Sessions,
    NotFound,
    MethodNotAllowed,
}

/// Why a request head is unusable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestError {
    /// Not HTTP/1.x as httparse reads it.
    Malformed(httparse::Error),
    /// The head is not complete within [`MAX_REQUEST_BYTES`].
    TooLarge,
}

/// Parses a request head (pure): `Ok(None)` while incomplete.
pub fn route(buf: &[u8]) -> Result<Option<Route>, RequestError> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(buf) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) if buf.len() >= MAX_REQUEST_BYTES => {
            return Err(RequestError::TooLarge);
        }
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(RequestError::Malformed(e)),
    }
    let path = req.path.unwrap_or("/");
    // A query string does not change the answer.
    let path = path.split('?').next().unwrap_or(path);
    let known = matches!(path, "/healthz" | "/metrics" | "/sessions");
    Ok(Some(match (req.method, path) {
        (Some("GET" | "HEAD"), "/healthz") => Route::Health,
        (Some("GET" | "HEAD"), "/metrics") => Route::Metrics,
        (Some("GET" | "HEAD"), "/sessions") => Route::Sessions,
        (_, _) if known => Route::MethodNotAllowed,
        _ => Route::NotFound,
    }))
}

fn serve(sh: &Shared, mut stream: TcpStream) {
    let _ = stream.set_read_timeout(Some(CLIENT_TIMEOUT));
    let _ = stream.set_write_timeout(Some(CLIENT_TIMEOUT));
    let mut buf = Vec::with_capacity(1024);
    let mut tmp = [0u8; 1024];
    let route = loop {
        match route(&buf) {
            Ok(Some(r)) => break Ok(r),
            Ok(None) => {}
            Err(e) => break Err(e),
        }
        match stream.read(&mut tmp) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&tmp[..n.min(MAX_REQUEST_BYTES)]),
        }
    };
    let head_only = buf.starts_with(b"HEAD ");
    let (status, ctype, body): (u16, &str, Vec<u8>) = match route {
        Err(RequestError::TooLarge) => (431, "text/plain", b"request too large\n".to_vec()),
        Err(RequestError::Malformed(e)) => {
            debug!("status: bad request: {e}");
            (
                400,
                "text/plain",
                format!("bad request: {e}\n").into_bytes(),
            )
        }
        Ok(Route::NotFound) => (404, "text/plain", b"not found\n".to_vec()),
        Ok(Route::MethodNotAllowed) => (405, "text/plain", b"GET only\n".to_vec()),
        Ok(Route::Metrics) => (
            200,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            sh.metrics.encode().into_bytes(),
        ),
        Ok(Route::Health) => {
            if ask_health(&sh.events) {
                (200, "text/plain", b"ok\n".to_vec())
            } else {
                (503, "text/plain", b"session table not answering\n".to_vec())
            }
        }
        Ok(Route::Sessions) => match ask_sessions(&sh.events) {
            Some(rows) => (
                200,
                "application/json",
                serde_json::to_vec_pretty(&rows).unwrap_or_default(),
            ),
            None => (503, "text/plain", b"session table not answering\n".to_vec()),
        },
    };
    let body = if head_only { &[][..] } else { &body[..] };
    let _ = write_response(&mut stream, status, ctype, body);
    let _ = stream.shutdown(Shutdown::Both);
}

fn ask_health(events: &Sender<Event>) -> bool {
    let (reply, rx) = bounded(1);
    events
        .try_send(Event::Status(StatusQuery::Health { reply }))
        .is_ok()
        && rx.recv_timeout(TABLE_TIMEOUT).is_ok()
}

fn ask_sessions(events: &Sender<Event>) -> Option<Vec<SessionRow>> {
    let (reply, rx) = bounded(1);
    events
        .try_send(Event::Status(StatusQuery::Sessions { reply }))
        .ok()?;
    rx.recv_timeout(TABLE_TIMEOUT).ok()
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        431 => "Request Header Fields Too Large",
        _ => "Service Unavailable",
    }
}

fn write_response(s: &mut TcpStream, status: u16, ctype: &str, body: &[u8]) -> io::Result<()> {
    let allow = if status == 405 {
        "Allow: GET, HEAD\r\n"
    } else {
        ""
    };
    let head = format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\n{allow}\
         Cache-Control: no-store\r\nConnection: close\r\n\r\n",
        reason(status),
        body.len()
    );
    s.write_all(head.as_bytes())?;
    s.write_all(body)?;
    s.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        let r = |s: &str| route(s.as_bytes());
        assert_eq!(r("GET /healthz HTTP/1.1\r\n\r\n"), Ok(Some(Route::Health)));
        assert_eq!(
            r("GET /metrics?x=1 HTTP/1.0\r\nHost: a\r\n\r\n"),
            Ok(Some(Route::Metrics))
        );
        assert_eq!(
            r("HEAD /sessions HTTP/1.1\r\n\r\n"),
            Ok(Some(Route::Sessions))
        );
        assert_eq!(
            r("POST /metrics HTTP/1.1\r\n\r\n"),
            Ok(Some(Route::MethodNotAllowed))
        );
        assert_eq!(r("GET / HTTP/1.1\r\n\r\n"), Ok(Some(Route::NotFound)));
        assert_eq!(r("GET /healthz HTTP/1.1\r\n"), Ok(None));
        assert!(matches!(
            r("GET /healthz HTTP/9.9\r\n\r\n"),
            Err(RequestError::Malformed(_))
        ));
        assert!(matches!(
            r("\x00\x01garbage\r\n\r\n"),
            Err(RequestError::Malformed(_))
        ));
        let long = format!("GET /healthz HTTP/1.1\r\nX: {}\r\n", "a".repeat(9000));
        assert_eq!(r(&long), Err(RequestError::TooLarge));
    }
}
