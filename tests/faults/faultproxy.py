#!/usr/bin/env python3
"""faultproxy.py -- an S3 fault-injecting proxy on loopback, between mvbackupfs and RGW.

    faultproxy.py --upstream HOST:PORT --dir DIR

Listens on two loopback ports it picks itself and writes them to DIR/port (the S3 side: point
the daemon's minio.address/port there) and DIR/ctl (the control side, plain HTTP).  It prints
"ready" on stdout once both listen.

Why Python 3 with the standard library only, not C: the proxy is test machinery, not product
code; python3 is on every machine the tests run on (tests/fixtures/gen-meta.py needs it too),
a thread per connection is plenty for loopback test traffic, and the rules (regexes, JSON,
rewriting a DeleteObjects answer) are a few lines each here and hundreds in C.

Transparent to SigV4: the daemon signs the Host header it sends (the proxy's address), and
RGW checks the signature against the Host header it receives.  The proxy forwards every
request byte for byte (request line, headers, body unchanged), so the signature stays valid.
It parses just enough HTTP/1.1 to find request and response boundaries (Content-Length,
chunked answers, HEAD/204/304 without a body) so that it can fault one request of a kept-alive
connection.  One upstream connection per client connection.

Rules (JSON objects, kept in order; the first rule that matches a request and still has
firings left decides its fate):
    method   "GET" "PUT" "POST" "HEAD" "DELETE" or "*" (default "*")
    path     regex searched in the request target ("/bucket/key?query"; default ".*")
    header   regex searched in the request's header block (e.g. "If-None-Match"), optional
    body     regex searched in the request body (e.g. "binlogs/" in a DeleteObjects), optional
    nth      the first matching request that fires (1 = the first; default 1)
    count    how many firings from then on (default 1; 0 = every later match)
    distinct true: never fires on a request that already met a fault of a distinct rule (the
             same method, target and Range header): each request then meets at most one
             such fault, so a test of *transient* faults cannot, by the luck of the timing,
             spend a whole retry budget on one object (3 x 503 then a 500 on the same copy)
    fault    what happens:
      status        answer `status` (default 503) with an S3 <Error> of `code` (default
                    SlowDown) without forwarding
      reset         forward, then send the answer's headers and half its body and reset (RST)
      reset_early   reset the connection without forwarding the request
      stall         forward nothing, answer nothing for `stall_s` seconds (default 60) or
                    until the client gives up, then close
      stall_body    forward, then send the answer's headers and half its body and send
                    nothing more for `stall_s` seconds (default 60) or until the client
                    gives up, then close (a server that stops mid-way, connection open)
      lost          forward (the server does the work), then reset without answering
      delete_errors answer a DeleteObjects with 200 and an <Error> entry (InternalError) for
                    every key of the request, without forwarding (nothing is deleted)
      error200      answer 200 with an S3 <Error> body (InternalError) without forwarding, as
                    S3 may for CopyObject / UploadPartCopy / CompleteMultipartUpload
      etag          forward, but replace the answer's ETag by one that is not the body's MD5
                    (as SSE-KMS or multipart objects have)

Control (HTTP on the ctl port; curl is enough):
    POST   /rules      body: one rule or a JSON list of rules, appended
    DELETE /rules      remove every rule
    GET    /rules      the rules with "seen" (matches) and "fired" counts, JSON
    GET    /log        one line per request: "METHOD TARGET STATUS FAULT", and " range=bytes=A-B"
                       after a forwarded request's FAULT when it had a Range header
    DELETE /log        clear the log
"""

import argparse
import http.server
import json
import os
import re
import select
import socket
import struct
import sys
import threading
import time

LOCK = threading.Lock()     # protects RULES, FAULTED and LOG
RULES = []                  # dicts, see above, plus "seen"/"fired" counters and "_re"/"_hre"
FAULTED = set()             # (method, target, range) that met a fault of a distinct rule
LOG = []                    # "METHOD TARGET STATUS FAULT" lines
UPSTREAM = ("127.0.0.1", 7480)
FAULTS = ("status", "reset", "reset_early", "stall", "stall_body", "lost", "delete_errors",
          "error200", "etag")


def log(line):
    with LOCK:
        LOG.append(line)
        if len(LOG) > 100000:
            del LOG[:50000]


def add_rule(r):
    if not isinstance(r, dict) or r.get("fault") not in FAULTS:
        raise ValueError("a rule needs a fault among %s" % ", ".join(FAULTS))
    r = dict(r)
    r.setdefault("method", "*")
    r.setdefault("path", ".*")
    r.setdefault("nth", 1)
    r.setdefault("count", 1)
    r["_re"] = re.compile(r["path"])
    r["_hre"] = re.compile(r["header"], re.I) if r.get("header") else None
    r["_bre"] = re.compile(r["body"].encode(), re.S) if r.get("body") else None
    r["seen"] = 0
    r["fired"] = 0
    with LOCK:
        RULES.append(r)


def pick_fault(method, target, head, body):
    """The rule that fires for this request (its counters updated), or None."""
    rng = re.search(r"^range:\s*(\S+)", head, re.I | re.M)
    key = (method, target, rng.group(1) if rng else "")
    with LOCK:
        for r in RULES:
            if r.get("distinct") and key in FAULTED:
                continue
            if r["method"] != "*" and r["method"] != method:
                continue
            if not r["_re"].search(target):
                continue
            if r["_hre"] and not r["_hre"].search(head):
                continue
            if r["_bre"] and not r["_bre"].search(body):
                continue
            r["seen"] += 1
            if r["seen"] < r["nth"]:
                continue
            if r["count"] and r["fired"] >= r["count"]:
                continue
            r["fired"] += 1
            if r.get("distinct"):
                FAULTED.add(key)
            return dict(r)
    return None


# ------------------------------------------------------------------------------ HTTP parsing

class Closed(Exception):
    pass


class Conn:
    """A socket with a read buffer."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def fill(self):
        d = self.sock.recv(262144)
        if not d:
            raise Closed()
        self.buf += d

    def read_head(self):
        while b"\r\n\r\n" not in self.buf:
            if len(self.buf) > 1 << 20:
                raise Closed()
            self.fill()
        i = self.buf.index(b"\r\n\r\n") + 4
        head, self.buf = self.buf[:i], self.buf[i:]
        return head

    def read_n(self, n):
        while len(self.buf) < n:
            self.fill()
        d, self.buf = self.buf[:n], self.buf[n:]
        return d

    def read_line(self):
        while b"\r\n" not in self.buf:
            self.fill()
        i = self.buf.index(b"\r\n") + 2
        d, self.buf = self.buf[:i], self.buf[i:]
        return d

    def read_all(self):
        try:
            while True:
                self.fill()
        except (Closed, OSError):
            pass
        d, self.buf = self.buf, b""
        return d


def headers_of(head):
    """(first line, {lower-case name: value}) of a header block."""
    lines = head.decode("latin-1").split("\r\n")
    h = {}
    for ln in lines[1:]:
        if ":" in ln:
            k, v = ln.split(":", 1)
            h[k.strip().lower()] = v.strip()
    return lines[0], h


def read_request(c):
    head = c.read_head()
    first, h = headers_of(head)
    parts = first.split(" ")
    if len(parts) < 3:
        raise Closed()
    if "chunked" in h.get("transfer-encoding", "").lower():
        raise Closed()      # curl always sends Content-Length for our bodies
    body = c.read_n(int(h.get("content-length", "0") or "0"))
    return parts[0], parts[1], head, body


def read_response_head(c, method):
    """(status, head bytes, body length or None, must_close) of one answer, its head read:
    the length is that of a Content-Length body, still to be read (0 when there is none);
    None: a chunked or read-to-close body (read_body reads it)."""
    while True:
        head = c.read_head()
        first, h = headers_of(head)
        status = int(first.split(" ")[1])
        if status >= 200 or status == 101:
            break
        # 1xx (100 Continue): curl does not ask for it, but skip it if sent
    must_close = h.get("connection", "").lower() == "close"
    if method == "HEAD" or status in (204, 304):
        return status, head, 0, must_close
    if "chunked" in h.get("transfer-encoding", "").lower():
        return status, head, None, must_close
    if "content-length" in h:
        return status, head, int(h["content-length"]), must_close
    return status, head, None, True


def read_body(c, head):
    """The whole chunked (with its trailers) or read-to-close body of an answer."""
    if "chunked" not in headers_of(head)[1].get("transfer-encoding", "").lower():
        return c.read_all()
    body = b""
    while True:
        line = c.read_line()
        body += line
        n = int(line.split(b";")[0].strip(), 16)
        if n == 0:
            while True:     # trailers up to the empty line
                t = c.read_line()
                body += t
                if t == b"\r\n":
                    break
            return body
        body += c.read_n(n + 2)


def relay(c, client, limit):
    """Send the next `limit` body bytes of c to client as they arrive: a large answer (a
    streamed GET) reaches the client as the server sends it, as without the proxy."""
    sent = 0
    while sent < limit:
        if not c.buf:
            c.fill()
        take = min(len(c.buf), limit - sent)
        client.sendall(c.buf[:take])
        c.buf = c.buf[take:]
        sent += take


def s3_error(status, code, message, resource=""):
    body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s</Code><Message>%s"
            "</Message><Resource>%s</Resource><RequestId>faultproxy</RequestId></Error>"
            % (code, message, resource)).encode()
    reason = {200: "OK", 500: "Internal Server Error", 503: "Service Unavailable"}.get(status, "Error")
    head = ("HTTP/1.1 %d %s\r\nContent-Type: application/xml\r\nContent-Length: %d\r\n"
            "x-amz-request-id: faultproxy\r\n\r\n" % (status, reason, len(body))).encode()
    return head + body


def delete_errors_answer(body):
    keys = re.findall(rb"<Key>(.*?)</Key>", body, re.S)
    out = [b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
           b"<DeleteResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"]
    for k in keys:
        out.append(b"<Error><Key>" + k + b"</Key><Code>InternalError</Code><Message>injected "
                   b"by faultproxy</Message></Error>")
    out.append(b"</DeleteResult>")
    b = b"".join(out)
    return (b"HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\nContent-Length: %d\r\n\r\n"
            % len(b)) + b


def reset(sock):
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()


def stall(client, seconds):
    """Send nothing for `seconds` or until the client closes, draining what it sends; close."""
    end = time.time() + seconds
    while time.time() < end:
        r, _, _ = select.select([client], [], [], max(0.0, min(1.0, end - time.time())))
        if r and not client.recv(65536, socket.MSG_PEEK):
            break   # the client gave up
        if r:
            client.recv(65536)  # drain what it sends
    client.close()


def replace_etag(head):
    return re.sub(rb"(?im)^(etag:\s*)\"?[^\r\n\"]*\"?",
                  rb'\1"f00dfacef00dfacef00dfacef00dface-1"', head)


# ------------------------------------------------------------------------------ one connection

def serve(client):
    cl = Conn(client)
    up = None
    try:
        while True:
            try:
                method, target, head, body = read_request(cl)
            except (Closed, OSError, ValueError):
                return
            rule = pick_fault(method, target, head.decode("latin-1"), body)
            fault = rule["fault"] if rule else ""
            if fault == "status":
                st = int(rule.get("status", 503))
                client.sendall(s3_error(st, rule.get("code", "SlowDown"),
                                        "injected by faultproxy", target))
                log("%s %s %d %s" % (method, target, st, fault))
                continue
            if fault == "error200":
                client.sendall(s3_error(200, rule.get("code", "InternalError"),
                                        "injected by faultproxy", target))
                log("%s %s 200 %s" % (method, target, fault))
                continue
            if fault == "delete_errors":
                client.sendall(delete_errors_answer(body))
                log("%s %s 200 %s" % (method, target, fault))
                continue
            if fault == "reset_early":
                log("%s %s - %s" % (method, target, fault))
                reset(client)
                return
            if fault == "stall":
                log("%s %s - %s" % (method, target, fault))
                stall(client, float(rule.get("stall_s", 60)))
                return
            if up is None:
                up = Conn(socket.create_connection(UPSTREAM))
            up.sock.sendall(head + body)
            try:
                status, rhead, blen, must_close = read_response_head(up, method)
                rbody = read_body(up, rhead) if blen is None else b""
            except (Closed, OSError, ValueError):
                log("%s %s - upstream-closed" % (method, target))
                return
            rng = re.search(r"^range:\s*(\S+)", head.decode("latin-1"), re.I | re.M)
            log("%s %s %d %s%s" % (method, target, status, fault,
                                    " range=" + rng.group(1) if rng else ""))
            if blen is None:
                blen = len(rbody)
                rest = lambda n: client.sendall(rbody[:n])
            else:
                rest = lambda n: relay(up, client, n)
            if fault == "lost":
                reset(client)
                return
            if fault in ("reset", "stall_body"):
                client.sendall(rhead)
                rest(blen // 2)
                if fault == "reset":
                    reset(client)
                else:
                    stall(client, float(rule.get("stall_s", 60)))
                return
            if fault == "etag":
                rhead = replace_etag(rhead)
            client.sendall(rhead)
            rest(blen)
            if must_close:
                return
    except (OSError, Closed):  # a client or server that went away mid-answer
        return
    finally:
        try:
            client.close()
        except OSError:
            pass
        if up is not None:
            try:
                up.sock.close()
            except OSError:
                pass


def accept_loop(lsock):
    while True:
        c, _ = lsock.accept()
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=serve, args=(c,), daemon=True).start()


# ------------------------------------------------------------------------------ control

class Ctl(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def reply(self, code, text, ctype="text/plain"):
        b = text.encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)

    def do_GET(self):
        with LOCK:
            if self.path == "/rules":
                t = json.dumps([{k: v for k, v in r.items() if not k.startswith("_")}
                                for r in RULES], indent=1)
                ctype = "application/json"
            elif self.path == "/log":
                t = "".join(ln + "\n" for ln in LOG)
                ctype = "text/plain"
            else:
                t, ctype = None, None
        if t is None:
            self.reply(404, "no such thing\n")
        else:
            self.reply(200, t, ctype)

    def do_POST(self):
        if self.path != "/rules":
            return self.reply(404, "no such thing\n")
        n = int(self.headers.get("Content-Length", "0") or "0")
        try:
            v = json.loads(self.rfile.read(n) or b"null")
            for r in (v if isinstance(v, list) else [v]):
                add_rule(r)
        except (ValueError, re.error) as e:
            return self.reply(400, "bad rule: %s\n" % e)
        self.reply(200, "ok\n")

    def do_DELETE(self):
        with LOCK:
            if self.path == "/rules":
                RULES.clear()
                FAULTED.clear()
            elif self.path == "/log":
                LOG.clear()
            else:
                return self.reply(404, "no such thing\n")
        self.reply(200, "ok\n")


def main():
    global UPSTREAM
    ap = argparse.ArgumentParser(description="S3 fault proxy (see the header)")
    ap.add_argument("--upstream", required=True, help="HOST:PORT of the real S3 server")
    ap.add_argument("--dir", required=True, help="where the port files go")
    a = ap.parse_args()
    host, port = a.upstream.rsplit(":", 1)
    UPSTREAM = (host, int(port))

    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(128)
    ctl = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Ctl)
    threading.Thread(target=ctl.serve_forever, daemon=True).start()
    for name, p in (("port", ls.getsockname()[1]), ("ctl", ctl.server_address[1])):
        tmp = os.path.join(a.dir, name + ".tmp")
        with open(tmp, "w") as f:
            f.write("%d\n" % p)
        os.rename(tmp, os.path.join(a.dir, name))
    print("ready", flush=True)
    try:
        accept_loop(ls)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
