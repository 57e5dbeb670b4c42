//! Wiring of the daemon: the event channel, the threads around the
//! session table, signals, and the order things start and stop in.
//!
//! Owns: startup (SIP stack from the configuration, signal handler), the
//! log line that says what listens where, the systemd notifications
//! (`READY=1` once every listener is up, `STOPPING=1` when a stop signal
//! arrives, the watchdog thread while the table runs; see [`crate::notify`]),
//! and the join of everything the session table does not own itself.
//!
//! Must not: hold protocol state (the session table does) or decide what
//! to answer to anything.

use std::fmt;
use std::sync::Arc;

use crossbeam_channel::{Sender, bounded};
use log::{info, warn};

use crate::config::Config;
use crate::event::Event;
use crate::ids::IdSource;
use crate::metrics::Metrics;
use crate::msrp::{MsrpStack, MsrpStackConfig};
use crate::notify::{Notifier, Watchdog, watchdog_interval_from_env};
use crate::session::table::SessionTable;
use crate::sip::stack::LocalAddress;
use crate::sip::transaction::Timers;
use crate::sip::transport::SipTransportConfig;
use crate::sip::ua_core::UaCore;
use crate::status::StatusServer;

/// Depth of the session table's inbox. Readers `try_send` into it and shed
/// load (503) when it is full, so this bounds memory, not correctness.
pub const EVENT_QUEUE_DEPTH: usize = 65_536;

/// Why the gateway could not start or run.
#[derive(Debug)]
pub enum GatewayError {
    /// A listener could not be set up (address in use, permission, TLS
    /// identity): nothing was started.
    Startup(String),
}

impl fmt::Display for GatewayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GatewayError::Startup(e) => write!(f, "cannot start: {e}"),
        }
    }
}

impl std::error::Error for GatewayError {}

/// Runs the gateway until SIGTERM, SIGINT or SIGHUP, then stops it within
/// `[gateway] shutdown_grace_secs` (DESIGN I5).
pub fn run(config: Config) -> Result<(), GatewayError> {
    let config = Arc::new(config);
    warn_if_threads_cannot_fit(config.gateway.max_sessions);
    let (events_tx, events) = bounded::<Event>(EVENT_QUEUE_DEPTH);
    let ids = Arc::new(IdSource::new());
    let msrp_cfg = MsrpStackConfig::from_config(&config).map_err(GatewayError::Startup)?;
    let msrp = MsrpStack::start(msrp_cfg, events_tx.clone())
        .map_err(|e| GatewayError::Startup(format!("msrp: {e}")))?;
    let ua = match start_sip(&config, ids.clone(), events_tx.clone()) {
        Ok(ua) => ua,
        Err(e) => {
            msrp.shutdown();
            return Err(e);
        }
    };
    let metrics = Metrics::new();
    let status = match &config.status {
        Some(s) => {
            let server = StatusServer::start(s.listen, events_tx.clone(), metrics.clone())
                .map_err(|e| GatewayError::Startup(e.to_string()))?;
            info!("status: listening on http://{}", server.local_addr());
            Some(server)
        }
        None => None,
    };
    let notifier = Arc::new(Notifier::from_env().unwrap_or_else(|e| {
        warn!("systemd: {e}; no service notifications");
        Notifier::disabled()
    }));
    install_signal_handler(events_tx.clone(), notifier.clone())?;
    let ready = format!(
        "msrpgw {} ready (instance {})",
        env!("CARGO_PKG_VERSION"),
        ids.instance()
    );
    info!("{ready}");
    notifier.ready(&ready);
    // After READY=1: systemd counts the watchdog from then on.
    let watchdog = match watchdog_interval_from_env() {
        Some(interval) if notifier.is_enabled() => {
            match Watchdog::start(notifier.clone(), interval, events_tx.clone()) {
                Ok(w) => Some(w),
                Err(e) => {
                    warn!("systemd: cannot start the watchdog thread: {e}");
                    None
                }
            }
        }
        _ => None,
    };
    // The table stops on Event::Stop, not when senders go away: this one
    // is not needed past here.
    drop(events_tx);
    let table = SessionTable::new(ua, msrp, config, ids, metrics);
    table.run(&events);
    if let Some(w) = watchdog {
        w.stop();
    }
    if let Some(s) = status {
        s.shutdown();
    }
    info!("msrpgw stopped");
    Ok(())
}

fn start_sip(
    config: &Config,
    ids: Arc<IdSource>,
    events: Sender<Event>,
) -> Result<UaCore, GatewayError> {
    let transport = SipTransportConfig::from_config(config, config.gateway.idle_timeout)
        .map_err(GatewayError::Startup)?;
    let timers = Timers::new(config.sip.t1, config.sip.t2, config.sip.t4);
    let first = config
        .sip
        .listen
        .first()
        .ok_or_else(|| GatewayError::Startup("no [sip] listener".to_owned()))?;
    let local = LocalAddress {
        host: config.sip.host_for(first).to_string(),
    };
    let mut ua = UaCore::start(transport, timers, local, ids, events)
        .map_err(|e| GatewayError::Startup(format!("sip: {e}")))?;
    ua.stack_mut()
        .set_max_transactions(config.sip.max_transactions as usize);
    Ok(ua)
}

/// SIGINT, SIGTERM and SIGHUP (ctrlc's `termination` feature) all stop
/// the gateway; a second signal while stopping changes nothing, the grace
/// period bounds the stop. systemd hears `STOPPING=1` as the stop begins.
fn install_signal_handler(
    events: Sender<Event>,
    notifier: Arc<Notifier>,
) -> Result<(), GatewayError> {
    ctrlc::set_handler(move || {
        notifier.stopping();
        // The table may be busy: block briefly rather than lose the stop.
        if events
            .send_timeout(Event::Stop, std::time::Duration::from_secs(1))
            .is_err()
        {
            warn!("stop signal not delivered: the session table is not taking events");
        }
    })
    .map_err(|e| GatewayError::Startup(format!("cannot install the signal handler: {e}")))
}

/// Threads each MSRP session costs (session, connection reader, writer).
const THREADS_PER_SESSION: u64 = 3;
/// Memory mappings per thread (stack, guard page, signal stack, guard).
const MAPPINGS_PER_THREAD: u64 = 4;

/// Says, at startup, when `max_sessions` sessions would need more threads
/// or memory mappings than the kernel allows: thread creation then fails
/// under load, and a thread whose signal stack cannot be mapped aborts the
/// process, so an admin must hear of it before, not after.
fn warn_if_threads_cannot_fit(max_sessions: u32) {
    let read = |p: &str| {
        std::fs::read_to_string(p)
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
    };
    let threads = u64::from(max_sessions) * THREADS_PER_SESSION + 64;
    if let Some(maps) = read("/proc/sys/vm/max_map_count") {
        let need = threads * MAPPINGS_PER_THREAD + 4096;
        if need > maps {
            warn!(
                "gateway.max_sessions = {max_sessions} needs about {need} memory mappings \
                 ({THREADS_PER_SESSION} threads per session); vm.max_map_count is {maps}: \
                 raise it (sysctl vm.max_map_count={need}) or lower max_sessions, else \
                 thread creation fails near {} sessions and the process aborts",
                maps.saturating_sub(4096) / (THREADS_PER_SESSION * MAPPINGS_PER_THREAD)
            );
        }
    }
    for (path, name) in [
        ("/proc/sys/kernel/pid_max", "kernel.pid_max"),
        ("/proc/sys/kernel/threads-max", "kernel.threads-max"),
    ] {
        if let Some(limit) = read(path) {
            if threads > limit {
                warn!(
                    "gateway.max_sessions = {max_sessions} needs about {threads} threads; \
                     {name} is {limit}: raise it or lower max_sessions"
                );
            }
        }
    }
}
