//! systemd service notifications (sd_notify(3)) and the watchdog thread.
//!
//! Owns: the datagram socket toward `$NOTIFY_SOCKET` ([`Notifier`]), the
//! `READY=1` / `STOPPING=1` / `STATUS=` messages, and the watchdog thread
//! ([`Watchdog`]) that sends `WATCHDOG=1` while the session-table thread is
//! alive and answering.
//!
//! Must not: decide when the gateway is ready or stopping (the gateway
//! wiring calls [`Notifier::ready`] and [`Notifier::stopping`]), or touch
//! protocol state: the watchdog asks the session table the same
//! [`StatusQuery::Health`] question `/healthz` asks, through the event
//! channel, one question at a time, each bounded in time (to get into the
//! inbox and to be answered), so a stuck table makes the pings stop (and
//! systemd restarts the service) and a slow one never piles up questions.
//!
//! Without `$NOTIFY_SOCKET` (not started by systemd, or `Type=` other than
//! `notify`) every call is a no-op. The protocol is one datagram of
//! `KEY=VALUE` lines per notification to a Unix socket named by the
//! variable: a path, or an abstract name written with a leading `@`. It is
//! a few lines on std's [`UnixDatagram`]; no crate is needed.
//!
//! Watchdog: `$WATCHDOG_USEC` (systemd's `WatchdogSec=`) gives the interval;
//! `$WATCHDOG_PID`, when set, must name this process. The thread asks the
//! table every half interval and pings when the answer comes within a
//! quarter interval, so pings of a table that answers are always less than
//! one interval apart. The question waits for room in a full inbox (within
//! that quarter) instead of giving up at once: under a burst the readers
//! keep the inbox full while the table is working through it, and that is
//! overload, which the readers already shed with 503, not a stuck table
//! to be killed with every session it holds. An inbox still full, or an
//! answer still missing, after a quarter interval (7.5 s with the unit's
//! `WatchdogSec=30s`) is what the watchdog is for.

use std::fmt;
use std::io;
use std::os::unix::net::{SocketAddr as UnixAddr, UnixDatagram};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, bounded, select};
use log::{debug, info, warn};

use crate::event::{Event, StatusQuery};

/// The watchdog thread only waits on channels and sends a datagram.
const STACK_SIZE: usize = 64 * 1024;
/// Shortest ping period honoured: a smaller `WATCHDOG_USEC` is a mistake
/// and would spin.
const MIN_PERIOD: Duration = Duration::from_millis(10);

/// Why `$NOTIFY_SOCKET` cannot be used.
#[derive(Debug)]
pub enum NotifyError {
    /// Neither an absolute path nor an `@abstract` name.
    BadAddress(String),
    /// The local socket could not be created or the address built.
    Socket(io::Error),
}

impl fmt::Display for NotifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotifyError::BadAddress(a) => write!(
                f,
                "NOTIFY_SOCKET={a:?} is neither an absolute path nor an @abstract name"
            ),
            NotifyError::Socket(e) => write!(f, "notification socket: {e}"),
        }
    }
}

impl std::error::Error for NotifyError {}

/// Where service notifications go; [`Notifier::disabled`] when nowhere.
#[derive(Debug)]
pub struct Notifier {
    target: Option<(UnixDatagram, UnixAddr)>,
}

impl Notifier {
    /// A notifier that sends nothing.
    pub fn disabled() -> Notifier {
        Notifier { target: None }
    }

    /// From `$NOTIFY_SOCKET`; disabled when it is unset or empty.
    pub fn from_env() -> Result<Notifier, NotifyError> {
        match std::env::var_os("NOTIFY_SOCKET") {
            Some(v) if !v.is_empty() => Notifier::to(&v.to_string_lossy()),
            _ => Ok(Notifier::disabled()),
        }
    }

    /// Toward `address`: an absolute path, or `@name` for an abstract
    /// socket (Linux).
    pub fn to(address: &str) -> Result<Notifier, NotifyError> {
        let addr = parse_address(address)?;
        let socket = UnixDatagram::unbound().map_err(NotifyError::Socket)?;
        Ok(Notifier {
            target: Some((socket, addr)),
        })
    }

    /// Whether notifications go anywhere.
    pub fn is_enabled(&self) -> bool {
        self.target.is_some()
    }

    /// Sends one notification (`KEY=VALUE` lines). A failure is logged, not
    /// returned: the gateway runs the same with or without a listener.
    pub fn send(&self, state: &str) {
        let Some((socket, addr)) = &self.target else {
            return;
        };
        if let Err(e) = socket.send_to_addr(state.as_bytes(), addr) {
            warn!("systemd: cannot send {:?}: {e}", first_line(state));
        }
    }

    /// `READY=1` with a status line `systemctl status` shows.
    pub fn ready(&self, status: &str) {
        self.send(&format!("READY=1\nSTATUS={}", one_line(status)));
    }

    /// `STOPPING=1`: the stop sequence has begun.
    pub fn stopping(&self) {
        self.send("STOPPING=1\nSTATUS=stopping: ending sessions, answering what is in flight");
    }

    /// `WATCHDOG=1`.
    fn ping(&self) {
        self.send("WATCHDOG=1");
    }
}

fn parse_address(address: &str) -> Result<UnixAddr, NotifyError> {
    if let Some(name) = address.strip_prefix('@') {
        abstract_address(name)
    } else if address.starts_with('/') {
        UnixAddr::from_pathname(address).map_err(NotifyError::Socket)
    } else {
        Err(NotifyError::BadAddress(address.to_owned()))
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn abstract_address(name: &str) -> Result<UnixAddr, NotifyError> {
    #[cfg(target_os = "android")]
    use std::os::android::net::SocketAddrExt;
    #[cfg(target_os = "linux")]
    use std::os::linux::net::SocketAddrExt;
    UnixAddr::from_abstract_name(name.as_bytes()).map_err(NotifyError::Socket)
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn abstract_address(name: &str) -> Result<UnixAddr, NotifyError> {
    Err(NotifyError::BadAddress(format!("@{name}")))
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

/// A value of a notification line may not span lines.
fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

/// The watchdog interval systemd asked for, from `WATCHDOG_USEC` and
/// `WATCHDOG_PID` (sd_watchdog_enabled(3)): `None` when there is none, it
/// is 0 or unreadable, or it is meant for another process.
pub fn watchdog_interval_from_env() -> Option<Duration> {
    watchdog_interval(
        std::env::var("WATCHDOG_USEC").ok().as_deref(),
        std::env::var("WATCHDOG_PID").ok().as_deref(),
        std::process::id(),
    )
}

/// [`watchdog_interval_from_env`] on given values (pure).
pub fn watchdog_interval(usec: Option<&str>, pid: Option<&str>, me: u32) -> Option<Duration> {
    let usec: u64 = usec?.trim().parse().ok()?;
    if usec == 0 {
        return None;
    }
    if let Some(pid) = pid.filter(|p| !p.is_empty()) {
        if pid.trim().parse::<u32>().ok()? != me {
            return None;
        }
    }
    Some(Duration::from_micros(usec))
}

/// The running watchdog thread; [`Watchdog::stop`] ends and joins it.
pub struct Watchdog {
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Watchdog {
    /// Starts pinging through `notifier` every `interval / 2` while the
    /// session table answers health questions sent on `events`.
    pub fn start(
        notifier: std::sync::Arc<Notifier>,
        interval: Duration,
        events: Sender<Event>,
    ) -> io::Result<Watchdog> {
        let (stop, stopped) = bounded::<()>(0);
        let period = (interval / 2).max(MIN_PERIOD);
        let wait = (interval / 4).max(MIN_PERIOD / 2);
        let thread = thread::Builder::new()
            .name("watchdog".to_owned())
            .stack_size(STACK_SIZE)
            .spawn(move || watch(&notifier, period, wait, &events, &stopped))?;
        info!(
            "systemd: watchdog every {} ms (WatchdogSec={} ms)",
            period.as_millis(),
            interval.as_millis()
        );
        Ok(Watchdog {
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Stops the pings and joins the thread.
    pub fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        // Dropping the sender wakes the thread out of its wait.
        self.stop.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.halt();
    }
}

fn watch(
    notifier: &Notifier,
    period: Duration,
    wait: Duration,
    events: &Sender<Event>,
    stopped: &Receiver<()>,
) {
    // Ticks keep their schedule however long an answer took, so a slow
    // answer does not stretch the gap between pings.
    let mut next = Instant::now();
    let mut answering = true;
    loop {
        match stopped.recv_deadline(next) {
            Err(RecvTimeoutError::Timeout) => {}
            // Stop (sender dropped) or anything sent: end.
            Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
        }
        next += period;
        let now = Instant::now();
        if next <= now {
            // Far behind (a suspended machine): start the schedule afresh.
            next = now + period;
        }
        let asked = ask_table(events, wait, stopped);
        if matches!(asked, Asked::Stop) {
            return;
        }
        if matches!(asked, Asked::Answered) {
            notifier.ping();
            if !answering {
                info!("systemd: the session table answers again; watchdog pings resume");
            }
            answering = true;
        } else if answering {
            warn!(
                "systemd: the session table did not answer within {} ms; no watchdog ping \
                 (systemd restarts msrpgw if this lasts WatchdogSec)",
                wait.as_millis()
            );
            answering = false;
        } else {
            debug!("systemd: the session table still does not answer");
        }
    }
}

/// What came of one health question.
enum Asked {
    Answered,
    NoAnswer,
    /// The watchdog is being stopped (the table may be gone already:
    /// nobody would answer).
    Stop,
}

/// Asks the table whether it is turning: the question and its answer
/// both within `wait`, and either wait cut short by a stop.
fn ask_table(events: &Sender<Event>, wait: Duration, stopped: &Receiver<()>) -> Asked {
    let deadline = Instant::now() + wait;
    let (reply, answer) = bounded(1);
    let question = Event::Status(StatusQuery::Health { reply });
    select! {
        send(events, question) -> sent => if sent.is_err() {
            return Asked::NoAnswer;
        },
        recv(stopped) -> _ => return Asked::Stop,
        default(deadline.saturating_duration_since(Instant::now())) => return Asked::NoAnswer,
    }
    select! {
        recv(answer) -> got => if got.is_ok() { Asked::Answered } else { Asked::NoAnswer },
        recv(stopped) -> _ => Asked::Stop,
        default(deadline.saturating_duration_since(Instant::now())) => Asked::NoAnswer,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn watchdog_interval_follows_sd_watchdog_enabled() {
        let s = |ms| Some(Duration::from_millis(ms));
        assert_eq!(watchdog_interval(Some("30000000"), None, 7), s(30_000));
        assert_eq!(watchdog_interval(Some("500000"), Some("7"), 7), s(500));
        assert_eq!(watchdog_interval(Some("500000"), Some(""), 7), s(500));
        assert_eq!(watchdog_interval(Some("500000"), Some("8"), 7), None);
        assert_eq!(watchdog_interval(Some("500000"), Some("x"), 7), None);
        assert_eq!(watchdog_interval(Some("0"), None, 7), None);
        assert_eq!(watchdog_interval(Some("-1"), None, 7), None);
        assert_eq!(watchdog_interval(Some("soon"), None, 7), None);
        assert_eq!(watchdog_interval(None, Some("7"), 7), None);
    }

    #[test]
    fn addresses_are_paths_or_abstract_names() {
        assert!(parse_address("/run/systemd/notify").is_ok());
        assert!(matches!(
            parse_address("run/notify"),
            Err(NotifyError::BadAddress(_))
        ));
        assert!(matches!(parse_address(""), Err(NotifyError::BadAddress(_))));
        #[cfg(target_os = "linux")]
        assert!(parse_address("@msrpgw-test").is_ok());
    }

    #[test]
    fn status_values_stay_on_one_line() {
        assert_eq!(one_line("a\nb\r\nc"), "a b  c");
    }

    fn listener(tag: &str) -> (UnixDatagram, std::path::PathBuf) {
        let path =
            std::env::temp_dir().join(format!("msrpgw-notify-{}-{tag}.sock", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let s = UnixDatagram::bind(&path).expect("bind");
        s.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        (s, path)
    }

    fn recv(s: &UnixDatagram) -> Option<String> {
        let mut buf = [0u8; 512];
        let n = s.recv(&mut buf).ok()?;
        Some(String::from_utf8_lossy(&buf[..n]).into_owned())
    }

    #[test]
    fn ready_and_stopping_datagrams() {
        let (s, path) = listener("states");
        let n = Notifier::to(path.to_str().expect("utf-8")).expect("notifier");
        assert!(n.is_enabled());
        n.ready("msrpgw 0.1.0 ready\n(instance x)");
        assert_eq!(
            recv(&s).as_deref(),
            Some("READY=1\nSTATUS=msrpgw 0.1.0 ready (instance x)")
        );
        n.stopping();
        assert!(recv(&s).is_some_and(|m| m.starts_with("STOPPING=1\n")));
        let _ = std::fs::remove_file(path);
        // Nobody listening any more: logged, not fatal.
        n.stopping();
        Notifier::disabled().ready("nothing happens");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn abstract_socket_names_work() {
        use std::os::linux::net::SocketAddrExt;
        let name = format!("msrpgw-notify-test-{}", std::process::id());
        let addr = UnixAddr::from_abstract_name(name.as_bytes()).expect("addr");
        let s = UnixDatagram::bind_addr(&addr).expect("bind");
        s.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        Notifier::to(&format!("@{name}"))
            .expect("notifier")
            .stopping();
        assert!(recv(&s).is_some_and(|m| m.starts_with("STOPPING=1")));
    }

    /// Stopping does not wait out a health question nobody answers (the
    /// table is gone by then).
    #[test]
    fn watchdog_stops_promptly_while_waiting_for_an_answer() {
        let n = Arc::new(Notifier::disabled());
        let (events_tx, events) = bounded::<Event>(1);
        // A quarter of 40 s: each question may wait 10 s.
        let dog = Watchdog::start(n, Duration::from_secs(40), events_tx).expect("start");
        // The question is in the inbox, unanswered.
        assert!(events.recv_timeout(Duration::from_secs(5)).is_ok());
        let started = Instant::now();
        dog.stop();
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
    }

    /// Pings flow while something answers the health questions, and stop
    /// while nothing does.
    #[test]
    fn watchdog_pings_only_while_the_table_answers() {
        let (s, path) = listener("watchdog");
        s.set_read_timeout(Some(Duration::from_millis(100)))
            .expect("timeout");
        let n = Arc::new(Notifier::to(path.to_str().expect("utf-8")).expect("notifier"));
        let (events_tx, events) = bounded::<Event>(4);
        let dog = Watchdog::start(n, Duration::from_millis(80), events_tx).expect("start");
        let answer = |until: Instant| {
            while Instant::now() < until {
                if let Ok(Event::Status(StatusQuery::Health { reply })) =
                    events.recv_timeout(Duration::from_millis(10))
                {
                    let _ = reply.try_send(());
                }
            }
        };
        let count = |s: &UnixDatagram| std::iter::from_fn(|| recv(s)).count();
        // A table that answers: pings.
        answer(Instant::now() + Duration::from_millis(400));
        let pings = count(&s);
        assert!(pings >= 2, "{pings} pings while answering");
        // A table that does not answer (its inbox fills up): no ping.
        std::thread::sleep(Duration::from_millis(400));
        assert_eq!(count(&s), 0, "pings while the table is silent");
        // Answering again: pings again.
        while events.try_recv().is_ok() {}
        answer(Instant::now() + Duration::from_millis(400));
        assert!(count(&s) >= 1, "no pings after the table came back");
        dog.stop();
        let _ = std::fs::remove_file(path);
    }
}
