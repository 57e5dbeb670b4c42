#!/usr/bin/env python3
"""Checks the Kamailio MSRP relay (kamailio_run.sh msrp-relay) with hand-written frames.

Starts the relay twice (without and with Digest AUTH), each on an ephemeral
127.0.0.1 port, and checks over plain TCP sockets:
  - AUTH without credentials: 200 + Use-Path (open relay) or 401 + WWW-Authenticate;
  - AUTH with good Digest credentials: 200 + Use-Path + Expires; wrong password: 401;
    other user: 403; Expires out of bounds: 423;
  - a SEND from a far peer to the client that reserved the session arrives on the
    client's AUTH connection, To-Path/From-Path rewritten; the peer gets 200;
  - a SEND from that client goes on along its To-Path to the far peer (over a new
    connection the relay opens), not back to the client; the client gets 200;
  - a REPORT is forwarded and not answered; a SEND for an unknown session gets 481.

Prints "CHECK <name> ok|FAIL <detail>" lines and a closing "N passed, M failed";
exit status 0 only when all passed. Bounded by --timeout (default 60 s overall).
"""

import argparse
import hashlib
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = []


def check(name, cond, detail=""):
    RESULTS.append(bool(cond))
    print(f"CHECK {name} {'ok' if cond else 'FAIL'}{(' ' + detail) if detail and not cond else ''}", flush=True)
    return cond


class Conn:
    """One MSRP TCP connection with a frame reader."""

    def __init__(self, sock, deadline):
        self.sock = sock
        self.buf = b""
        self.deadline = deadline
        sock.settimeout(0.2)

    @classmethod
    def connect(cls, port, deadline):
        return cls(socket.create_connection(("127.0.0.1", port), timeout=5), deadline)

    def send(self, data):
        self.sock.sendall(data.encode() if isinstance(data, str) else data)

    def read_frame(self, wait=5.0):
        """Return (first_line, headers dict, body, raw) or None if nothing came within `wait` s."""
        end = min(time.monotonic() + wait, self.deadline)
        while True:
            m = re.match(rb"MSRP ([A-Za-z0-9.\-+%=]+) ", self.buf)
            if m:
                tid = m.group(1)
                em = re.search(rb"(?:^|\r\n)-------" + re.escape(tid) + rb"[$+#]\r\n", self.buf)
                if em:
                    raw = self.buf[: em.end()]
                    self.buf = self.buf[em.end():]
                    return parse_frame(raw)
            if time.monotonic() >= end:
                return None
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                return None
            self.buf += chunk

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def parse_frame(raw):
    text = raw.decode("utf-8", "replace")
    head, sep, rest = text.partition("\r\n\r\n")
    if not sep:
        head, rest = text.rsplit("\r\n-------", 1)[0], ""
    lines = head.split("\r\n")
    headers = {}
    for line in lines[1:]:
        if line.startswith("-------"):
            break
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    body = rest.rsplit("\r\n-------", 1)[0] if sep else ""
    return lines[0], headers, body, raw


def tid():
    return secrets.token_hex(6)


def frame(method, to_path, from_path, extra=(), body=None, ctype="text/plain", msgid=None):
    t = tid()
    lines = [f"MSRP {t} {method}", f"To-Path: {to_path}", f"From-Path: {from_path}"]
    if method != "AUTH":
        lines.append(f"Message-ID: {msgid or secrets.token_hex(4)}")
    lines += list(extra)
    if body is not None:
        b = body.encode()
        lines.append(f"Byte-Range: 1-{len(b)}/{len(b)}")
        lines.append(f"Content-Type: {ctype}")
        return t, "\r\n".join(lines) + "\r\n\r\n" + body + f"\r\n-------{t}$\r\n"
    return t, "\r\n".join(lines) + f"\r\n-------{t}$\r\n"


def digest_header(challenge, user, password, uri, method="AUTH"):
    params = dict(re.findall(r'(\w+)="?([^",]*)"?', challenge))
    realm, nonce = params["realm"], params["nonce"]
    ha1 = hashlib.md5(f"{user}:{realm}:{password}".encode()).hexdigest()
    ha2 = hashlib.md5(f"{method}:{uri}".encode()).hexdigest()
    cnonce, nc = secrets.token_hex(8), "00000001"
    if "qop" in params:
        resp = hashlib.md5(f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}".encode()).hexdigest()
        return (f'Authorization: Digest username="{user}", realm="{realm}", nonce="{nonce}", '
                f'uri="{uri}", response="{resp}", algorithm=MD5, qop=auth, nc={nc}, cnonce="{cnonce}"')
    resp = hashlib.md5(f"{ha1}:{nonce}:{ha2}".encode()).hexdigest()
    return (f'Authorization: Digest username="{user}", realm="{realm}", nonce="{nonce}", '
            f'uri="{uri}", response="{resp}", algorithm=MD5')


def status(fr):
    if fr is None:
        return None
    parts = fr[0].split(" ")
    return int(parts[2]) if len(parts) > 2 and parts[2].isdigit() else None


def start_relay(args, extra):
    cmd = [os.path.join(HERE, "kamailio_run.sh"), "msrp-relay", "--timeout", str(int(args.timeout))] + extra
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=args.log, text=True, start_new_session=True)
    line = proc.stdout.readline().strip()
    m = re.match(r"READY tcp 127\.0\.0\.1 (\d+) (msrp://\S+)$", line)
    if not m:
        stop_relay(proc)
        raise SystemExit(f"relay did not start: {line!r}")
    return proc, int(m.group(1)), m.group(2)


def stop_relay(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def do_auth(port, relay_uri, client_path, deadline, creds=None, expires=None):
    """AUTH on a new connection; returns (conn, last response frame)."""
    c = Conn.connect(port, deadline)
    extra = [f"Expires: {expires}"] if expires is not None else []
    _, f = frame("AUTH", relay_uri, client_path, extra)
    c.send(f)
    r = c.read_frame()
    if creds and status(r) == 401:
        user, password = creds
        auth = digest_header(r[1].get("www-authenticate", ""), user, password, relay_uri)
        _, f = frame("AUTH", relay_uri, client_path, extra + [auth])
        c.send(f)
        r = c.read_frame()
    return c, r


def relay_flow(port, relay_uri, deadline, creds):
    """SEND both ways between a far peer and the client that reserved a session."""
    client_path = "msrp://127.0.0.1:9/clientsess;tcp"  # the client listens nowhere
    a, r = do_auth(port, relay_uri, client_path, deadline, creds)
    use_path = r[1].get("use-path", "") if r else ""
    if not check("relay.auth-for-flow", status(r) == 200 and use_path, f"{r and r[0]}"):
        return
    # The far peer (think: the gateway) listens for the relay's connection.
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(4)
    lsock.settimeout(5)
    bport = lsock.getsockname()[1]
    peer_path = f"msrp://127.0.0.1:{bport}/peersess;tcp"

    # far peer -> client
    b = Conn.connect(port, deadline)
    t, f = frame("SEND", f"{use_path} {client_path}", peer_path, body="to client")
    b.send(f)
    rb = b.read_frame()
    check("relay.send-to-client.peer-gets-200", status(rb) == 200 and f" {t} " in f" {rb[0]} ", f"{rb and rb[0]}")
    fa = a.read_frame()
    ok = (fa is not None and fa[0].endswith(" SEND") and fa[2] == "to client"
          and fa[1].get("to-path") == client_path
          and fa[1].get("from-path") == f"{use_path} {peer_path}")
    check("relay.send-to-client.arrives-on-auth-connection", ok, f"{fa and (fa[0], fa[1])}")
    if fa:
        ftid = fa[0].split(" ")[1]
        a.send(f"MSRP {ftid} 200 OK\r\nTo-Path: {use_path}\r\nFrom-Path: {client_path}\r\n-------{ftid}$\r\n")

    # client -> far peer: must follow To-Path, not come back to the client
    t, f = frame("SEND", f"{use_path} {peer_path}", client_path, body="from client")
    a.send(f)
    ra = a.read_frame()
    check("relay.send-from-client.client-gets-200", status(ra) == 200 and f" {t} " in f" {ra[0]} ", f"{ra and ra[0]}")
    try:
        s, _ = lsock.accept()
        inbound = Conn(s, deadline)
        fb = inbound.read_frame()
    except socket.timeout:
        inbound, fb = None, None
    ok = (fb is not None and fb[0].endswith(" SEND") and fb[2] == "from client"
          and fb[1].get("to-path") == peer_path
          and fb[1].get("from-path") == f"{use_path} {client_path}")
    check("relay.send-from-client.forwarded-along-to-path", ok, f"{fb and (fb[0], fb[1])}")
    if inbound and fb:
        ftid = fb[0].split(" ")[1]
        inbound.send(f"MSRP {ftid} 200 OK\r\nTo-Path: {use_path}\r\nFrom-Path: {peer_path}\r\n-------{ftid}$\r\n")
    echo = a.read_frame(wait=0.5)
    check("relay.send-from-client.not-echoed-to-client", echo is None, f"{echo and echo[0]}")

    # REPORT from the far peer: forwarded, not answered
    _, f = frame("REPORT", f"{use_path} {client_path}", peer_path, ["Status: 000 200 OK", "Byte-Range: 1-9/9"])
    (inbound or b).send(f)
    fr = a.read_frame()
    check("relay.report-forwarded", fr is not None and fr[0].endswith(" REPORT"), f"{fr and fr[0]}")
    extra = (inbound or b).read_frame(wait=0.5)
    check("relay.report-not-answered", extra is None, f"{extra and extra[0]}")

    # unknown session
    t, f = frame("SEND", f"{relay_uri.replace(';tcp', '')}/nosuchsession;tcp {client_path}", peer_path, body="x")
    b.send(f)
    r = b.read_frame()
    check("relay.unknown-session-481", status(r) == 481, f"{r and r[0]}")
    for c in (a, b, inbound):
        if c:
            c.close()
    lsock.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--verbose", action="store_true", help="show Kamailio's log on stderr")
    args = ap.parse_args()
    args.log = None if args.verbose else subprocess.DEVNULL
    deadline = time.monotonic() + args.timeout
    signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(SystemExit("check_msrp_relay: timeout")))
    signal.alarm(int(args.timeout) + 5)

    # 1. open relay: AUTH without credentials -> 200
    proc, port, uri = start_relay(args, [])
    try:
        print(f"RELAY open {uri}", flush=True)
        c, r = do_auth(port, uri, "msrp://127.0.0.1:9/x;tcp", deadline)
        use_path = r[1].get("use-path", "") if r else ""
        check("open.auth-200", status(r) == 200, f"{r and r[0]}")
        check("open.use-path", re.match(rf"msrp://127\.0\.0\.1:{port}/[^ ;]+;tcp$", use_path), use_path)
        c.close()
        relay_flow(port, uri, deadline, None)
    finally:
        stop_relay(proc)

    # 2. relay requiring Digest AUTH
    user, password = "alice", "s3cret"
    proc, port, uri = start_relay(args, ["--auth", f"{user}:{password}", "--expires", "600", "--min-expires", "30"])
    try:
        print(f"RELAY auth {uri}", flush=True)
        c = Conn.connect(port, deadline)
        _, f = frame("AUTH", uri, "msrp://127.0.0.1:9/x;tcp")
        c.send(f)
        r = c.read_frame()
        chal = r[1].get("www-authenticate", "") if r else ""
        check("auth.no-credentials-401", status(r) == 401, f"{r and r[0]}")
        check("auth.challenge-digest", chal.startswith("Digest ") and "nonce=" in chal, chal)
        _, f = frame("AUTH", uri, "msrp://127.0.0.1:9/x;tcp", [digest_header(chal, user, "wrong", uri)])
        c.send(f)
        r = c.read_frame()
        check("auth.wrong-password-401", status(r) == 401, f"{r and r[0]}")
        c.close()
        c, r = do_auth(port, uri, "msrp://127.0.0.1:9/x;tcp", deadline, ("mallory", password))
        check("auth.other-user-403", status(r) == 403, f"{r and r[0]}")
        c.close()
        c, r = do_auth(port, uri, "msrp://127.0.0.1:9/x;tcp", deadline, (user, password), expires=120)
        hdrs = r[1] if r else {}
        check("auth.good-credentials-200", status(r) == 200, f"{r and r[0]}")
        check("auth.use-path", re.match(rf"msrp://127\.0\.0\.1:{port}/[^ ;]+;tcp$", hdrs.get("use-path", "")),
              hdrs.get("use-path", ""))
        check("auth.expires-echoed", hdrs.get("expires") == "120", hdrs.get("expires", ""))
        c.close()
        c, r = do_auth(port, uri, "msrp://127.0.0.1:9/x;tcp", deadline, (user, password), expires=5)
        check("auth.expires-too-small-423", status(r) == 423 and r[1].get("min-expires") == "30", f"{r and r[0]}")
        c.close()
        relay_flow(port, uri, deadline, (user, password))
    finally:
        stop_relay(proc)

    passed = sum(RESULTS)
    failed = len(RESULTS) - passed
    print(f"{passed} passed, {failed} failed", flush=True)
    sys.exit(0 if failed == 0 else 1)


if __name__ == "__main__":
    main()
