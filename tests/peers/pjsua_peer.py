#!/usr/bin/env python3
"""SIP pager-mode peer (RFC 3428 MESSAGE, OPTIONS) built on pjsua2, for black-box tests.

Binds 127.0.0.1 on an ephemeral port and reports one line per event on stdout
(see tests/peers/README.md); pjsua's own logging goes to stderr.

    pjsua_peer.py send-message --target URI [options]
    pjsua_peer.py receive [options]

Exit status: 0 normal end; 1 a sent request got no final response from the
network (pjsua's local 408 timeout or a transport error); 2 usage error;
3 --timeout expired in send-message mode.
"""

import argparse
import base64
import os
import re
import signal
import socket
import sys
import time

# pjlib prints to fd 1 from C (its start-up banner comes before any log
# configuration is possible). Keep a private copy of the real stdout for the
# protocol lines and point fd 1 at stderr before pjsua2 is even imported.
_PROTO_FD = os.dup(1)
os.dup2(2, 1)
_proto = os.fdopen(_PROTO_FD, "w", buffering=1, encoding="utf-8", newline="\n")
sys.stdout = sys.stderr

import pjsua2 as pj  # noqa: E402  (must come after the fd juggling above)


def out(*fields):
    _proto.write(" ".join(str(f) for f in fields) + "\n")
    _proto.flush()


def b64(data):
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    return base64.b64encode(data or b"").decode("ascii")


def nows(s):
    return re.sub(r"\s+", "", s or "")


def uri_of(value):
    m = re.search(r"<([^>]*)>", value or "")
    if m:
        return m.group(1)
    return (value or "").split(";")[0].strip()


HEADER_ALIASES = {"i": "call-id", "f": "from", "t": "to", "c": "content-type", "l": "content-length"}


def parse_sip(raw):
    """Split a whole SIP message (as pjsua hands it over) into (first line, headers, body)."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogateescape")
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("utf-8", "replace").split("\r\n")
    headers = {}
    for line in lines[1:]:
        if ":" not in line:
            continue
        name, value = line.split(":", 1)
        name = name.strip().lower()
        name = HEADER_ALIASES.get(name, name)
        headers.setdefault(name, value.strip())
    return lines[0] if lines else "", headers, body


def cseq_num(headers):
    return (headers.get("cseq", "?").split() or ["?"])[0]


class Peer:
    def __init__(self, args):
        self.args = args
        self.stop = False
        self.exit_code = 0
        self.ep = pj.Endpoint()
        self.ep.libCreate()
        cfg = pj.EpConfig()
        cfg.uaConfig.threadCnt = 0  # events are polled from the Python main thread
        cfg.uaConfig.mainThreadOnly = False
        cfg.uaConfig.userAgent = "pjsua-peer"
        cfg.uaConfig.maxCalls = 1
        cfg.logConfig.level = args.log_level
        cfg.logConfig.consoleLevel = args.log_level
        cfg.logConfig.msgLogging = 1 if args.log_level >= 4 else 0
        cfg.medConfig.hasIoqueue = False
        cfg.medConfig.threadCnt = 0
        self.ep.libInit(cfg)
        self.ep.audDevManager().setNullDev()
        self.tid, self.port = self._bind()
        self.ep.libStart()

    def _bind(self):
        kind = pj.PJSIP_TRANSPORT_UDP if self.args.transport == "udp" else pj.PJSIP_TRANSPORT_TCP
        last = None
        for attempt in range(20):
            tc = pj.TransportConfig()
            tc.boundAddress = "127.0.0.1"
            tc.publicAddress = "127.0.0.1"
            # --port 0: let the kernel pick (pjsip binds port 0 as is); should a
            # build ever refuse that, fall back to a free port we pick, retrying.
            tc.port = self.args.port if (self.args.port or attempt == 0) else free_port(self.args.transport)
            try:
                tid = self.ep.transportCreate(kind, tc)
            except pj.Error as e:
                last = e
                if self.args.port:
                    break
                continue
            name = self.ep.transportGetInfo(tid).localName
            return tid, int(name.rsplit(":", 1)[1])
        raise SystemExit(f"pjsua_peer: cannot bind 127.0.0.1/{self.args.transport}: {last.info() if last else ''}")

    def account(self, on_im=None, on_status=None, on_request=None):
        acfg = pj.AccountConfig()
        acfg.idUri = self.args.local_uri
        acfg.sipConfig.transportId = self.tid
        acfg.sipConfig.contactForced = (
            f"<sip:{self.args.user}@127.0.0.1:{self.port};transport={self.args.transport}>"
        )
        if getattr(self.args, "proxy", None):
            acfg.sipConfig.proxies.append(f"sip:{self.args.proxy};lr;transport={self.args.transport}")
        acfg.presConfig.publishEnabled = False
        acfg.natConfig.sipOutboundUse = 0
        acfg.natConfig.contactRewriteUse = 0
        acfg.natConfig.viaRewriteUse = 0
        acc = _Account(on_im, on_status, on_request)
        acc.create(acfg, True)
        return acc

    def poll(self, seconds):
        self.ep.libHandleEvents(int(seconds * 1000))

    def close(self):
        # Deliberately no libDestroy(): with a transaction still pending it
        # can abort() the process (seen with pjproject 2.15.1), and it waits
        # about a second for nothing a test needs. The kernel closes sockets.
        pass


class _Account(pj.Account):
    def __init__(self, on_im, on_status, on_request):
        super().__init__()
        self._on_im, self._on_status, self._on_request = on_im, on_status, on_request

    def onInstantMessage(self, prm):
        if self._on_im:
            self._on_im(prm)

    def onInstantMessageStatus(self, prm):
        if self._on_status:
            self._on_status(prm)

    def onSendRequest(self, prm):
        if self._on_request:
            self._on_request(prm)


def free_port(transport):
    kind = socket.SOCK_DGRAM if transport == "udp" else socket.SOCK_STREAM
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_receive(peer, args):
    state = {"count": 0, "done_at": None}

    def on_im(prm):
        first, hdrs, body = parse_sip(prm.rdata.wholeMsg)
        out(
            "RECV", "MESSAGE",
            f"from={uri_of(hdrs.get('from', prm.fromUri))}", f"to={uri_of(hdrs.get('to', prm.toUri))}",
            f"call-id={hdrs.get('call-id', '')}", f"cseq={cseq_num(hdrs)}",
            f"ctype={nows(prm.contentType)}", f"body={b64(body)}",
            f"src={prm.rdata.srcAddress}", f"ruri={first.split(' ')[1] if ' ' in first else ''}",
            "code=200",
        )
        if args.dump:
            out("RAW", b64(prm.rdata.wholeMsg))
        state["count"] += 1
        if args.count is not None and state["count"] >= args.count:
            state["done_at"] = time.monotonic() + args.linger

    acc = peer.account(on_im=on_im)
    deadline = time.monotonic() + args.timeout
    out("READY", args.transport, "127.0.0.1", peer.port)
    while not peer.stop:
        now = time.monotonic()
        if state["done_at"] is not None and now >= state["done_at"]:
            out("EXIT reason=count")
            break
        if now >= deadline:
            out("EXIT reason=timeout")
            break
        peer.poll(0.05)
    del acc


def run_send(peer, args):
    method = args.method.upper()
    body = args.body
    if args.body_size is not None:
        pat = "abcdefghijklmnopqrstuvwxyz0123456789"
        body = (pat * (args.body_size // len(pat) + 1))[: args.body_size]
    if body is None:
        body = "hello"
    st = {"sent": 0, "final": 0, "failed": 0, "pending": None}

    def finish_one(code, reason, rdata_msg):
        n, t0 = st["pending"]
        st["pending"] = None
        ms = int((time.monotonic() - t0) * 1000)
        if rdata_msg:
            _, hdrs, _ = parse_sip(rdata_msg)
            st["final"] += 1
            out("RESP", code, reason, f"cseq={cseq_num(hdrs)}", method,
                f"call-id={hdrs.get('call-id', '')}", f"n={n}", f"ms={ms}")
            if args.dump:
                out("RAW", b64(rdata_msg))
        else:
            # pjsua reports a transaction timeout or transport failure as a
            # locally generated final status with no received message.
            st["failed"] += 1
            out("TIMEOUT", "cseq=?", method, "call-id=?", f"n={n}",
                f"error={code}_{nows(reason)}", f"ms={ms}")

    def on_status(prm):
        if st["pending"] is None:
            return
        if prm.code < 200:
            return
        finish_one(prm.code, prm.reason, prm.rdata.wholeMsg if prm.rdata else "")

    def on_request(prm):
        if st["pending"] is None:
            return
        tsx = prm.e.body.tsxState.tsx
        if tsx.statusCode < 200:
            return
        src = prm.e.body.tsxState.src
        raw = src.rdata.wholeMsg if prm.e.body.tsxState.type == pj.PJSIP_EVENT_RX_MSG else ""
        finish_one(tsx.statusCode, tsx.statusText, raw)

    acc = peer.account(on_status=on_status, on_request=on_request)
    buddy = None
    if method == "MESSAGE":
        bcfg = pj.BuddyConfig()
        bcfg.uri = args.target
        bcfg.subscribe = False
        buddy = pj.Buddy()
        buddy.create(acc, bcfg)

    def send_one():
        st["sent"] += 1
        st["pending"] = (st["sent"], time.monotonic())
        hdrs = []
        for line in args.header:
            name, _, value = line.partition(":")
            h = pj.SipHeader()
            h.hName, h.hValue = name.strip(), value.strip()
            hdrs.append(h)
        if method == "MESSAGE":
            prm = pj.SendInstantMessageParam()
            prm.content = body
            prm.contentType = args.ctype
            for h in hdrs:
                prm.txOption.headers.append(h)
            buddy.sendInstantMessage(prm)
        else:
            prm = pj.SendRequestParam()
            prm.method = method
            prm.txOption.targetUri = args.target
            for h in hdrs:
                prm.txOption.headers.append(h)
            acc.sendRequest(prm)
        out("SENT", method, f"n={st['sent']}")

    out("READY", args.transport, "127.0.0.1", peer.port)
    deadline = time.monotonic() + args.timeout
    next_send = time.monotonic()
    while not peer.stop:
        now = time.monotonic()
        if st["pending"] is None:
            if st["sent"] >= args.count:
                out("DONE", f"sent={st['sent']}", f"final={st['final']}", f"timeout={st['failed']}")
                peer.exit_code = 1 if st["failed"] else 0
                break
            if now >= next_send:
                try:
                    send_one()
                except pj.Error as e:
                    n, _ = st["pending"]
                    st["pending"] = None
                    st["failed"] += 1
                    out("TIMEOUT", "cseq=?", method, "call-id=?", f"n={n}", f"error={nows(e.info())}")
                next_send = now + args.interval / 1000.0
                continue
        elif now - st["pending"][1] >= args.txn_timeout:
            n, _ = st["pending"]
            st["pending"] = None  # a late status for it is ignored
            st["failed"] += 1
            out("TIMEOUT", "cseq=?", method, "call-id=?", f"n={n}", "error=timer")
            next_send = now + args.interval / 1000.0
            continue
        if now >= deadline:
            out("EXIT reason=timeout", f"sent={st['sent']}", f"final={st['final']}", f"timeout={st['failed']}")
            peer.exit_code = 3
            break
        peer.poll(0.02)
    del buddy, acc


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=["send-message", "receive"])
    ap.add_argument("--transport", choices=["udp", "tcp"], default="udp")
    ap.add_argument("--port", type=int, default=0, help="local port (default 0: ephemeral)")
    ap.add_argument("--timeout", type=float, default=30.0, help="exit after this many seconds (default 30)")
    ap.add_argument("--user", default="pjsua", help="user part of the local URI and Contact")
    ap.add_argument("--from", dest="local_uri", default=None, help="local URI (From), default sip:USER@127.0.0.1")
    ap.add_argument("--target", help="send-message: Request-URI (and To)")
    ap.add_argument("--proxy", help="send-message: outbound proxy IP:PORT (loose route)")
    ap.add_argument("--method", default="MESSAGE", help="MESSAGE (default) or OPTIONS")
    ap.add_argument("--count", type=int, default=None, help="send: how many (default 1); receive: exit after N")
    ap.add_argument("--interval", type=int, default=0, help="send: ms between a final response and the next request")
    ap.add_argument("--body", help="MESSAGE body (default 'hello')")
    ap.add_argument("--body-size", type=int, help="MESSAGE body of N generated ASCII bytes")
    ap.add_argument("--ctype", default="text/plain")
    ap.add_argument("--header", action="append", default=[], help="extra header 'Name: value' (repeatable)")
    ap.add_argument("--txn-timeout", type=float, default=32.0,
                    help="send: give up on a request after S seconds (default 32, like Timer F)")
    ap.add_argument("--linger", type=float, default=0.5, help="receive: seconds to stay after --count")
    ap.add_argument("--dump", action="store_true", help="also print RAW <base64 of the whole SIP message>")
    ap.add_argument("--log-level", type=int, default=1, help="pjsua log level on stderr (default 1)")
    args = ap.parse_args()
    if args.local_uri is None:
        args.local_uri = f"sip:{args.user}@127.0.0.1"
    if args.mode == "send-message":
        if not args.target:
            ap.error("send-message needs --target")
        if args.count is None:
            args.count = 1

    peer = Peer(args)

    def on_signal(signum, _frame):
        if not peer.stop:
            out("EXIT reason=signal")
        peer.stop = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        if args.mode == "receive":
            run_receive(peer, args)
        else:
            run_send(peer, args)
    finally:
        peer.close()
    _proto.flush()
    os._exit(peer.exit_code)


if __name__ == "__main__":
    main()
