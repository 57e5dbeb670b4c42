//! The threads of a socket-owning module (the SIP transport, the MSRP
//! stack), kept so that shutdown can join every one of them, and the
//! socket loop shapes both share.
//!
//! Owns: [`ThreadSet`] (spawn named threads with explicit stack sizes,
//! forget finished ones, join the rest), [`wake_addr`] (where to connect
//! to wake a listener blocked in `accept` or `recv`), [`accept_each`] (an
//! acceptor thread's loop), [`write_queued`] (a writer thread's loop) and
//! [`is_timeout`] (a read timeout, not an error).
//!
//! Must not: decide when to stop (the owner sets its own flag and closes
//! its sockets first) or hold protocol state.

use std::io::{self, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Mutex;
use std::thread::{self, JoinHandle};

use crossbeam_channel::Receiver;
use std::time::Duration;

/// Threads started by one module.
#[derive(Debug, Default)]
pub struct ThreadSet {
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl ThreadSet {
    pub fn new() -> ThreadSet {
        ThreadSet::default()
    }

    /// Starts `f` on a thread named `name` with a `stack`-byte stack.
    pub fn spawn(
        &self,
        name: String,
        stack: usize,
        f: impl FnOnce() + Send + 'static,
    ) -> io::Result<()> {
        let h = thread::Builder::new()
            .name(name)
            .stack_size(stack)
            .spawn(f)?;
        // A poisoned lock only means a thread panicked while pushing: the
        // list itself is intact.
        let mut threads = self.threads.lock().unwrap_or_else(|p| p.into_inner());
        // Forget threads that already ended so the list stays bounded by
        // the live connection count.
        threads.retain(|t| !t.is_finished());
        threads.push(h);
        Ok(())
    }

    /// Joins every thread, including those started while joining (a
    /// connection thread may still start its writer), until none is left.
    pub fn join_all(&self) {
        loop {
            let batch: Vec<_> = {
                let mut t = self.threads.lock().unwrap_or_else(|p| p.into_inner());
                t.drain(..).collect()
            };
            if batch.is_empty() {
                break;
            }
            for h in batch {
                let _ = h.join();
            }
        }
    }
}

/// Where to connect to wake a listener blocked in `accept` or `recv`: its
/// own address, through loopback when it is bound to the unspecified one.
pub fn wake_addr(addr: SocketAddr) -> SocketAddr {
    let mut a = addr;
    if a.ip().is_unspecified() {
        a.set_ip(if a.is_ipv4() {
            std::net::Ipv4Addr::LOCALHOST.into()
        } else {
            std::net::Ipv6Addr::LOCALHOST.into()
        });
    }
    a
}

/// A writer thread's loop: writes what arrives on `queue` to `out` until
/// every sender is gone (`Ok`) or a write fails (`Err`). Whatever is
/// queued when a write starts goes out in that one write, up to about
/// `max_batch` bytes, so a busy connection costs few syscalls.
pub fn write_queued(
    queue: &Receiver<Vec<u8>>,
    mut out: impl Write,
    max_batch: usize,
) -> io::Result<()> {
    let mut batch = Vec::new();
    while let Ok(first) = queue.recv() {
        batch.clear();
        batch.extend_from_slice(&first);
        while batch.len() < max_batch {
            match queue.try_recv() {
                Ok(more) => batch.extend_from_slice(&more),
                Err(_) => break,
            }
        }
        out.write_all(&batch)?;
    }
    Ok(())
}

/// Whether a read error is only its timeout running out (or a signal).
pub fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
    )
}

/// An acceptor thread's loop: each accepted connection, with Nagle off,
/// goes to `accepted` with its peer address, until `stopping()` (checked
/// after each wake-up; the owner wakes a blocked accept with a connection
/// to [`wake_addr`]). Accept errors (out of descriptors, say) are logged
/// with `label` and retried after a pause instead of spinning.
pub fn accept_each(
    listener: &TcpListener,
    label: &str,
    stopping: impl Fn() -> bool,
    mut accepted: impl FnMut(TcpStream, SocketAddr),
) {
    for conn in listener.incoming() {
        if stopping() {
            break;
        }
        let stream = match conn {
            Ok(s) => s,
            Err(e) => {
                log::warn!("{label}: accept failed: {e}");
                thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        let Ok(peer) = stream.peer_addr() else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        accepted(stream, peer);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn joins_threads_started_while_joining() {
        let set = Arc::new(ThreadSet::new());
        let done = Arc::new(AtomicUsize::new(0));
        let (s2, d2) = (set.clone(), done.clone());
        set.spawn("outer".into(), 64 * 1024, move || {
            let d3 = d2.clone();
            s2.spawn("inner".into(), 64 * 1024, move || {
                std::thread::sleep(std::time::Duration::from_millis(20));
                d3.fetch_add(1, Ordering::SeqCst);
            })
            .expect("spawn");
            d2.fetch_add(1, Ordering::SeqCst);
        })
        .expect("spawn");
        set.join_all();
        assert_eq!(done.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn wakes_through_loopback() {
        let a: SocketAddr = "0.0.0.0:5060".parse().expect("addr");
        assert_eq!(wake_addr(a).to_string(), "127.0.0.1:5060");
        let b: SocketAddr = "[::]:5060".parse().expect("addr");
        assert_eq!(wake_addr(b).to_string(), "[::1]:5060");
        let c: SocketAddr = "192.0.2.1:1".parse().expect("addr");
        assert_eq!(wake_addr(c), c);
    }
}
