//! Name resolution off the session-table thread (A/AAAA through the
//! system resolver, RFC 3263 §4.2 without SRV).
//!
//! Owns: a small pool of `resolver` threads, each blocking in
//! `getaddrinfo` (via `ToSocketAddrs`) for one job at a time, answering
//! with [`Event::Resolved`] on the table's inbox.
//!
//! Must not: cache (the system resolver does), or be asked for IP
//! literals (the caller uses them directly).

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::thread::{self, JoinHandle};

use crossbeam_channel::{Sender, TrySendError, bounded};

use crate::event::Event;

/// Lookups waiting beyond which new ones fail at once.
const QUEUE_DEPTH: usize = 256;
const THREADS: usize = 2;

struct Job {
    token: u64,
    host: String,
    port: u16,
}

/// Handle to the resolver threads.
pub struct Resolver {
    jobs: Option<Sender<Job>>,
    threads: Vec<JoinHandle<()>>,
}

impl Resolver {
    pub fn start(events: Sender<Event>) -> io::Result<Resolver> {
        let (tx, rx) = bounded::<Job>(QUEUE_DEPTH);
        let mut threads = Vec::new();
        for i in 0..THREADS {
            let (rx, events) = (rx.clone(), events.clone());
            threads.push(
                thread::Builder::new()
                    .name(format!("resolver-{i}"))
                    .stack_size(128 * 1024)
                    .spawn(move || {
                        // Ends when the handle drops its sender.
                        for job in rx {
                            let result = (job.host.as_str(), job.port)
                                .to_socket_addrs()
                                .map(Iterator::collect::<Vec<SocketAddr>>)
                                .map_err(|e| format!("cannot resolve {}: {e}", job.host))
                                .and_then(|v| {
                                    if v.is_empty() {
                                        Err(format!("{} has no address", job.host))
                                    } else {
                                        Ok(v)
                                    }
                                });
                            if events
                                .send(Event::Resolved {
                                    token: job.token,
                                    result,
                                })
                                .is_err()
                            {
                                break;
                            }
                        }
                    })?,
            );
        }
        Ok(Resolver {
            jobs: Some(tx),
            threads,
        })
    }

    /// Queues a lookup; its answer arrives as `Event::Resolved { token }`.
    /// Fails at once when too many lookups are waiting.
    pub fn lookup(&self, token: u64, host: &str, port: u16) -> Result<(), String> {
        let Some(jobs) = &self.jobs else {
            return Err("resolver stopped".to_owned());
        };
        jobs.try_send(Job {
            token,
            host: host.to_owned(),
            port,
        })
        .map_err(|e| match e {
            TrySendError::Full(_) => format!("too many pending lookups; {host} not resolved"),
            TrySendError::Disconnected(_) => "resolver stopped".to_owned(),
        })
    }

    /// Stops the threads once the lookups in progress finish.
    pub fn shutdown(mut self) {
        self.jobs = None;
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn resolves_localhost_and_reports_failures() {
        let (tx, rx) = bounded(16);
        let r = Resolver::start(tx).expect("start");
        r.lookup(7, "localhost", 5060).expect("queued");
        match rx.recv_timeout(Duration::from_secs(10)) {
            Ok(Event::Resolved { token, result }) => {
                assert_eq!(token, 7);
                let addrs = result.expect("localhost resolves");
                assert!(
                    addrs
                        .iter()
                        .all(|a| a.ip().is_loopback() && a.port() == 5060)
                );
            }
            other => panic!("expected Resolved, got {other:?}"),
        }
        r.lookup(8, "no-such-host.invalid", 5060).expect("queued");
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(Event::Resolved { token, result }) => {
                assert_eq!(token, 8);
                assert!(result.is_err());
            }
            other => panic!("expected Resolved, got {other:?}"),
        }
        r.shutdown();
    }
}
