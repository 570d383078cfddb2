# Server scaffold of faas-deploy's python/of-watchdog template (standard library only): serves the
# function's handler on the address of upstream_url, behind the OpenFaaS of-watchdog (mode=http),
# which starts this program once and proxies every request to it.
#
# The handler: handler.py with `def handle(event, context)`. event: method, path, query (dict),
# raw_query, headers (case-insensitive), body (bytes), text(), json(). context: status(code) and
# headers(dict), both chainable. The return value is the response body: str, bytes, None for none,
# anything else as JSON. An exception gives a 500; its traceback goes to the log, not to the caller.
import json
import os
import re
import signal
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import handler  # the function's handler.py, found through PYTHONPATH

READY_PATH = os.environ.get("ready_path") or "/_/ready"


def duration(value, fallback):
    """Watchdog-style duration in seconds: whole seconds or a Go duration such as 1500ms, 2s, 1m."""
    value = value or ""
    if value.isdigit():
        return float(value)
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", value)
    if not parts or "".join(n + u for n, u in parts) != value:
        return fallback
    scale = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    return sum(float(n) * scale[u] for n, u in parts)


class Event:
    def __init__(self, method, target, headers, body):
        parts = urlsplit(target)
        self.method = method
        self.path = parts.path
        self.raw_query = parts.query
        self.query = dict(parse_qsl(parts.query, keep_blank_values=True))
        self.headers = headers
        self.body = body

    def text(self):
        return self.body.decode("utf-8")

    def json(self):
        return json.loads(self.body)


class Context:
    def __init__(self):
        self.status_code = 200
        self.response_headers = {}

    def status(self, code):
        self.status_code = int(code)
        return self

    def headers(self, values):
        self.response_headers.update(values)
        return self


def encode(result, headers):
    has_type = any(k.lower() == "content-type" for k in headers)
    if result is None:
        return b""
    if isinstance(result, str):
        if not has_type:
            headers["Content-Type"] = "text/plain; charset=utf-8"
        return result.encode("utf-8")
    if isinstance(result, (bytes, bytearray, memoryview)):
        if not has_type:
            headers["Content-Type"] = "application/octet-stream"
        return bytes(result)
    if not has_type:
        headers["Content-Type"] = "application/json"
    return json.dumps(result).encode("utf-8")


in_flight = 0
in_flight_lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # the watchdog logs requests already
        pass

    def send(self, status, headers, payload):
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, str(value))
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def serve(self):
        global in_flight
        if self.path == READY_PATH:
            self.send(200, {"Content-Type": "text/plain"}, b"OK")
            return
        with in_flight_lock:
            in_flight += 1
        try:
            body = self.read_body()
            context = Context()
            try:
                result = handler.handle(Event(self.command, self.path, self.headers, body), context)
                payload = encode(result, context.response_headers)
            except Exception:
                traceback.print_exc(file=sys.stderr)
                self.send(500, {"Content-Type": "text/plain; charset=utf-8"}, b"Internal Server Error\n")
                return
            self.send(context.status_code, context.response_headers, payload)
        finally:
            with in_flight_lock:
                in_flight -= 1

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = serve


def main():
    target = urlsplit(os.environ.get("upstream_url") or "http://127.0.0.1:8082")
    server = ThreadingHTTPServer((target.hostname or "127.0.0.1", target.port or 80), Handler)
    server.daemon_threads = True
    write_timeout = duration(os.environ.get("write_timeout"), 10.0)

    def stop():
        # After SIGTERM the watchdog routes requests here for healthcheck_interval more; serve
        # them, then finish the requests in flight for at most write_timeout and exit 0.
        time.sleep(duration(os.environ.get("healthcheck_interval"), write_timeout))
        server.shutdown()
        deadline = time.monotonic() + write_timeout
        while in_flight > 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)

    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=stop, daemon=True).start())
    server.serve_forever()
    threading.Event().wait()  # serve_forever returns on shutdown; stop() ends the process


if __name__ == "__main__":
    main()
