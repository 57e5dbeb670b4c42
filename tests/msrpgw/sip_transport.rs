//! The SIP transport threads through real sockets on 127.0.0.1: UDP, TCP
//! and TLS in both directions, framing across reads, malformed input,
//! keep-alives, connection reuse, and TLS under concurrent traffic both
//! ways (one owner thread per TLS connection).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::time::Duration;

use crossbeam_channel::{Receiver, bounded};
use msrpgw::config::ListenSpec;
use msrpgw::event::{Event, SipEvent, SipPeer, Transport};
use msrpgw::proto::sip::{self, SipMessage, SipResponse};
use msrpgw::sip::transport::{SipTransport, SipTransportConfig};

const WAIT: Duration = Duration::from_secs(5);

fn tls_files() -> (Vec<u8>, Vec<u8>) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tls");
    let cert = std::fs::read(dir.join("cert.pem")).expect("test cert");
    let key = std::fs::read(dir.join("key.pem")).expect("test key");
    (cert, key)
}

fn tls_connector() -> native_tls::TlsConnector {
    let (cert, _) = tls_files();
    native_tls::TlsConnector::builder()
        .add_root_certificate(native_tls::Certificate::from_pem(&cert).expect("cert"))
        .build()
        .expect("connector")
}

fn start(kinds: &[Transport]) -> (SipTransport, Receiver<Event>) {
    let (cert, key) = tls_files();
    let identity = native_tls::Identity::from_pkcs8(&cert, &key).expect("identity");
    let cfg = SipTransportConfig {
        listen: kinds
            .iter()
            .map(|&transport| ListenSpec {
                transport,
                addr: "127.0.0.1:0".parse().expect("addr"),
            })
            .collect(),
        tls_acceptor: Some(native_tls::TlsAcceptor::new(identity).expect("acceptor")),
        tls_connector: Some(tls_connector()),
        max_message_bytes: 65_536,
        max_connections: 64,
        idle_timeout: Duration::from_secs(30),
    };
    let (tx, rx) = bounded(10_000);
    let t = SipTransport::start(cfg, tx).expect("transport starts");
    (t, rx)
}

fn message(n: usize, transport: &str) -> Vec<u8> {
    let body = format!("hello {n}");
    format!(
        "MESSAGE sip:bob@example.com SIP/2.0\r\n\
         Via: SIP/2.0/{transport} client.example.com;branch=z9hG4bK{n}\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:alice@example.com>;tag=a{n}\r\n\
         To: <sip:bob@example.com>\r\n\
         Call-ID: call-{n}\r\n\
         CSeq: 1 MESSAGE\r\n\
         Content-Type: text/plain\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn next_sip(rx: &Receiver<Event>) -> SipEvent {
    match rx.recv_timeout(WAIT) {
        Ok(Event::Sip(e)) => e,
        Ok(other) => panic!("expected a SIP event, got {other:?}"),
        Err(e) => panic!("no event within {WAIT:?}: {e}"),
    }
}

fn next_received(rx: &Receiver<Event>) -> (SipMessage<'static>, SipPeer) {
    loop {
        match next_sip(rx) {
            SipEvent::Received { message, from } => return (message, from),
            SipEvent::ConnectionClosed { .. } => continue,
            other => panic!("expected a message, got {other:?}"),
        }
    }
}

fn ok_for(m: &SipMessage<'_>) -> Vec<u8> {
    let req = m.as_request().expect("a request");
    let mut r = SipResponse::for_request(req, 200, "OK");
    r.set_to_tag("gw1");
    r.to_bytes()
}

#[test]
fn udp_request_in_response_out() {
    let (t, rx) = start(&[Transport::Udp]);
    let gw = t.local_addr(Transport::Udp).expect("udp listener");
    let client = UdpSocket::bind("127.0.0.1:0").expect("bind");
    client.set_read_timeout(Some(WAIT)).expect("timeout");
    client.send_to(&message(1, "UDP"), gw).expect("send");
    let (m, from) = next_received(&rx);
    assert_eq!(from.kind, Transport::Udp);
    assert_eq!(from.addr, client.local_addr().expect("addr"));
    assert_eq!(from.local, Some(gw));
    assert_eq!(m.body(), b"hello 1");
    t.send(&from, ok_for(&m)).expect("send response");
    let mut buf = [0u8; 2048];
    let (n, src) = client.recv_from(&mut buf).expect("response arrives");
    assert_eq!(
        src, gw,
        "the response leaves from the socket the request came to"
    );
    let resp = sip::parse_datagram(&buf[..n]).expect("response parses");
    assert_eq!(resp.as_response().map(|r| r.status), Some(200));
    t.shutdown();
}

#[test]
fn udp_malformed_is_reported_with_its_answer_and_reader_survives() {
    let (t, rx) = start(&[Transport::Udp]);
    let gw = t.local_addr(Transport::Udp).expect("udp listener");
    let client = UdpSocket::bind("127.0.0.1:0").expect("bind");
    // Content-Length beyond the datagram (RFC 4475 clerr): 400, and the
    // head is kept so the answer can be addressed.
    let bad = b"MESSAGE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP c;branch=z9hG4bKx\r\n\
From: <sip:a@b>;tag=1\r\nTo: <sip:b@c>\r\nCall-ID: x\r\nCSeq: 1 MESSAGE\r\n\
Content-Length: 9999\r\n\r\nshort";
    client.send_to(bad, gw).expect("send");
    match next_sip(&rx) {
        SipEvent::Malformed {
            status,
            head,
            reason,
            ..
        } => {
            assert_eq!(status, 400);
            assert!(!reason.is_empty());
            let head = head.expect("the head is kept to address the answer");
            assert_eq!(head.headers().call_id().ok(), Some("x"));
        }
        other => panic!("expected Malformed, got {other:?}"),
    }
    client.send_to(b"\x00\xff garbage", gw).expect("send");
    match next_sip(&rx) {
        SipEvent::Malformed { status, .. } => assert_eq!(status, 400),
        other => panic!("expected Malformed, got {other:?}"),
    }
    client.send_to(&message(2, "UDP"), gw).expect("send");
    let (m, _) = next_received(&rx);
    assert_eq!(m.body(), b"hello 2");
    t.shutdown();
}

#[test]
fn tcp_framing_across_reads_keepalive_and_response_on_same_connection() {
    let (t, rx) = start(&[Transport::Tcp]);
    let gw = t.local_addr(Transport::Tcp).expect("tcp listener");
    let mut c = TcpStream::connect(gw).expect("connect");
    c.set_read_timeout(Some(WAIT)).expect("timeout");
    // Two messages and a ping, written in awkward pieces.
    let mut wire = message(1, "TCP");
    wire.extend_from_slice(b"\r\n\r\n");
    wire.extend_from_slice(&message(2, "TCP"));
    for piece in wire.chunks(7) {
        c.write_all(piece).expect("write");
        c.flush().expect("flush");
    }
    let (m1, from) = next_received(&rx);
    let (m2, _) = next_received(&rx);
    assert_eq!((m1.body(), m2.body()), (&b"hello 1"[..], &b"hello 2"[..]));
    assert!(from.conn.is_some());
    let mut pong = [0u8; 2];
    c.read_exact(&mut pong).expect("pong");
    assert_eq!(&pong, b"\r\n", "a CRLFCRLF ping gets a CRLF pong");
    t.send(&from, ok_for(&m1)).expect("send");
    let resp = read_one(&mut c);
    assert_eq!(resp.as_response().map(|r| r.status), Some(200));
    t.shutdown();
}

/// Reads one SIP message from a stream.
fn read_one(s: &mut impl Read) -> SipMessage<'static> {
    read_n(s, 1).remove(0)
}

/// Reads `n` SIP messages from a stream (keep-alives skipped).
fn read_n(s: &mut impl Read, n: usize) -> Vec<SipMessage<'static>> {
    let mut out = Vec::new();
    let mut buf = Vec::new();
    let mut tmp = [0u8; 4096];
    while out.len() < n {
        if let Ok(Some(unit)) = sip::parse_stream(&buf, &sip::FrameLimits::default()) {
            if let Some(m) = unit.message {
                out.push(m.into_owned());
            }
            buf.drain(..unit.frame.consumed);
            continue;
        }
        let got = s.read(&mut tmp).expect("read");
        assert!(got > 0, "connection closed before {n} messages arrived");
        buf.extend_from_slice(&tmp[..got]);
    }
    out
}

#[test]
fn tcp_framing_error_closes_the_connection() {
    let (t, rx) = start(&[Transport::Tcp]);
    let gw = t.local_addr(Transport::Tcp).expect("tcp listener");
    let mut c = TcpStream::connect(gw).expect("connect");
    c.set_read_timeout(Some(WAIT)).expect("timeout");
    c.write_all(b"MESSAGE sip:b@c SIP/2.0\r\nContent-Length: -5\r\n\r\n")
        .expect("write");
    match next_sip(&rx) {
        SipEvent::Malformed { status, .. } => assert_eq!(status, 400),
        other => panic!("expected Malformed, got {other:?}"),
    }
    match next_sip(&rx) {
        SipEvent::ConnectionClosed { reason, .. } => assert!(reason.contains("framing")),
        other => panic!("expected ConnectionClosed, got {other:?}"),
    }
    // The answer goes out before the close.
    let mut rest = Vec::new();
    c.read_to_end(&mut rest).expect("read until the close");
    let resp = sip::parse_datagram(&rest).expect("one response");
    assert_eq!(resp.as_response().map(|r| r.status), Some(400));
    t.shutdown();
}

#[test]
fn outgoing_tcp_is_connected_and_reused() {
    let (t, rx) = start(&[Transport::Tcp]);
    let peer = TcpListener::bind("127.0.0.1:0").expect("bind");
    let to = SipPeer::to(Transport::Tcp, peer.local_addr().expect("addr"));
    t.send(&to, message(1, "TCP")).expect("queued");
    t.send(&to, message(2, "TCP")).expect("queued");
    let (mut s, _) = peer.accept().expect("gateway connects");
    s.set_read_timeout(Some(WAIT)).expect("timeout");
    let got = read_n(&mut s, 2);
    assert_eq!(
        (got[0].body(), got[1].body()),
        (&b"hello 1"[..], &b"hello 2"[..])
    );
    let a = &got[0];
    // A response from the peer comes back as an event on that connection.
    let resp = ok_for(a);
    s.write_all(&resp).expect("write");
    let (m, from) = next_received(&rx);
    assert_eq!(m.as_response().map(|r| r.status), Some(200));
    assert_eq!(from.addr, to.addr);
    assert_eq!(t.connection_count(), 1, "one connection for both messages");
    peer.set_nonblocking(true).expect("nonblocking");
    assert!(peer.accept().is_err(), "no second connection was opened");
    t.shutdown();
}

#[test]
fn outgoing_connect_failure_reports_send_failed() {
    let (t, rx) = start(&[Transport::Tcp]);
    // A port with nothing listening: bind, learn it, close.
    let dead: SocketAddr = {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr")
    };
    let to = SipPeer::to(Transport::Tcp, dead);
    t.send(&to, message(1, "TCP")).expect("queued");
    loop {
        match next_sip(&rx) {
            SipEvent::SendFailed { to: failed, reason } => {
                assert_eq!(failed.addr, dead);
                assert!(reason.contains("connect"), "{reason}");
                break;
            }
            SipEvent::ConnectionClosed { .. } => continue,
            other => panic!("expected SendFailed, got {other:?}"),
        }
    }
    t.shutdown();
}

#[test]
fn tls_in_and_out() {
    let (t, rx) = start(&[Transport::Tls]);
    let gw = t.local_addr(Transport::Tls).expect("tls listener");
    let tcp = TcpStream::connect(gw).expect("connect");
    tcp.set_read_timeout(Some(WAIT)).expect("timeout");
    let mut c = tls_connector()
        .connect("localhost", tcp)
        .expect("handshake");
    c.write_all(&message(1, "TLS")).expect("write");
    let (m, from) = next_received(&rx);
    assert_eq!(from.kind, Transport::Tls);
    assert_eq!(m.body(), b"hello 1");
    t.send(&from, ok_for(&m)).expect("send");
    let resp = read_one(&mut c);
    assert_eq!(resp.as_response().map(|r| r.status), Some(200));
    t.shutdown();
}

/// The TLS owner thread alternates reads and writes: heavy traffic in both
/// directions at once must all arrive, in order, without deadlock.
#[test]
fn tls_concurrent_traffic_both_directions() {
    const N: usize = 300;
    let (t, rx) = start(&[Transport::Tls]);
    let gw = t.local_addr(Transport::Tls).expect("tls listener");
    let tcp = TcpStream::connect(gw).expect("connect");
    tcp.set_read_timeout(Some(WAIT)).expect("timeout");
    let c = tls_connector()
        .connect("localhost", tcp)
        .expect("handshake");
    // Learn the connection from a first message.
    let c = std::sync::Arc::new(std::sync::Mutex::new(c));
    c.lock()
        .expect("lock")
        .write_all(&message(0, "TLS"))
        .expect("write");
    let (_, from) = next_received(&rx);
    // Client thread: reads N messages while the main thread sends N and
    // the client also writes N.
    let reader = {
        let c = c.clone();
        std::thread::spawn(move || {
            let mut got = Vec::new();
            let mut buf = Vec::new();
            let mut tmp = [0u8; 8192];
            while got.len() < N {
                while let Ok(Some(unit)) = sip::parse_stream(&buf, &sip::FrameLimits::default()) {
                    if let Some(m) = unit.message {
                        got.push(m.body().to_vec());
                    }
                    buf.drain(..unit.frame.consumed);
                }
                if got.len() >= N {
                    break;
                }
                let n = {
                    let mut g = c.lock().expect("lock");
                    let _ = g.get_ref().set_read_timeout(Some(Duration::from_millis(5)));
                    // A read timeout just means nothing arrived yet.
                    g.read(&mut tmp).unwrap_or(0)
                };
                buf.extend_from_slice(&tmp[..n]);
            }
            got
        })
    };
    for i in 1..=N {
        t.send(&from, message(i, "TLS")).expect("send");
        let mut g = c.lock().expect("lock");
        g.write_all(&message(1000 + i, "TLS"))
            .expect("client write");
    }
    let got = reader.join().expect("reader");
    let expected: Vec<Vec<u8>> = (1..=N).map(|i| format!("hello {i}").into_bytes()).collect();
    assert_eq!(got, expected, "gateway → client, all and in order");
    for i in 1..=N {
        let (m, _) = next_received(&rx);
        assert_eq!(m.body(), format!("hello {}", 1000 + i).as_bytes());
    }
    t.shutdown();
}

/// TLS records delivered a few bytes at a time, slower than the owner
/// thread's read timeout: a timeout in the middle of a record must resume.
#[test]
fn tls_record_split_across_read_timeouts() {
    let (t, rx) = start(&[Transport::Tls]);
    let gw = t.local_addr(Transport::Tls).expect("tls listener");
    // A slow proxy between the TLS client and the gateway.
    let proxy = TcpListener::bind("127.0.0.1:0").expect("bind");
    let paddr = proxy.local_addr().expect("addr");
    let pump = std::thread::spawn(move || {
        let (client, _) = proxy.accept().expect("accept");
        let upstream = TcpStream::connect(gw).expect("connect");
        let (mut cr, mut uw) = (
            client.try_clone().expect("clone"),
            upstream.try_clone().expect("clone"),
        );
        let (mut ur, mut cw) = (upstream, client);
        let back = std::thread::spawn(move || {
            let _ = std::io::copy(&mut ur, &mut cw);
        });
        let mut b = [0u8; 3];
        cr.set_read_timeout(Some(WAIT)).expect("timeout");
        loop {
            match cr.read(&mut b) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if uw.write_all(&b[..n]).is_err() {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(3));
                }
            }
        }
        let _ = uw.shutdown(std::net::Shutdown::Both);
        let _ = back.join();
    });
    let tcp = TcpStream::connect(paddr).expect("connect");
    tcp.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let mut c = tls_connector()
        .connect("localhost", tcp)
        .expect("handshake");
    c.write_all(&message(7, "TLS")).expect("write");
    let (m, _) = match rx.recv_timeout(Duration::from_secs(30)) {
        Ok(Event::Sip(SipEvent::Received { message, from })) => (message, from),
        other => panic!("expected the message, got {other:?}"),
    };
    assert_eq!(m.body(), b"hello 7");
    drop(c);
    t.shutdown();
    let _ = pump.join();
}

#[test]
fn shutdown_joins_with_open_connections() {
    let (t, _rx) = start(&[Transport::Udp, Transport::Tcp, Transport::Tls]);
    let tcp = TcpStream::connect(t.local_addr(Transport::Tcp).expect("tcp")).expect("c");
    let tls = TcpStream::connect(t.local_addr(Transport::Tls).expect("tls")).expect("c");
    let started = std::time::Instant::now();
    t.shutdown();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "shutdown is prompt"
    );
    drop((tcp, tls));
}

/// The transport settings come from the configuration file: listeners,
/// bounds and the [tls] identity; a bad certificate is named.
#[test]
fn transport_config_from_the_configuration_file() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tls");
    let text = format!(
        "[sip]\nlisten = [\"udp:127.0.0.1:0\", \"tls:127.0.0.1:0\"]\nmax_message_bytes = 4096\n\
         [msrp]\nlisten = [\"tcp:127.0.0.1:0\"]\n\
         [tls]\ncertificate = \"{}\"\nprivate_key = \"{}\"\n",
        dir.join("cert.pem").display(),
        dir.join("key.pem").display()
    );
    let (cfg, _) = msrpgw::config::Config::from_toml(&text, std::path::Path::new("t.toml"))
        .expect("valid configuration");
    let t = SipTransportConfig::from_config(&cfg, Duration::from_secs(60)).expect("loads");
    assert_eq!(t.listen, cfg.sip.listen);
    assert_eq!(t.max_message_bytes, 4096);
    assert!(t.tls_acceptor.is_some());
    let (tx, _rx) = bounded(16);
    let running = SipTransport::start(t, tx).expect("starts from the configuration");
    assert!(running.local_addr(Transport::Tls).is_some());
    running.shutdown();

    let bad = text.replace("key.pem", "cert.pem");
    let (cfg, _) = msrpgw::config::Config::from_toml(&bad, std::path::Path::new("t.toml"))
        .expect("valid configuration");
    let Err(e) = SipTransportConfig::from_config(&cfg, Duration::from_secs(60)) else {
        panic!("a certificate is not a key");
    };
    assert!(e.contains("cert.pem"), "{e}");
}
