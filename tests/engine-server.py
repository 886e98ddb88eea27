#!/usr/bin/env python3
"""A stand-in for llama-server in the supervisor's tests: a real process on
a real socket that answers what cohete's readiness probe asks, as
llama-server does: GET /health (503 {"error": {"message": "Loading
model"}} while loading, then 200 {"status": "ok"}) and POST
/v1/completions (200 with a "choices" array).

    engine-server.py --host H --port P [--load-ms N] [--fail-health]
                     [--exit-after-ms N] [--exit-code C] [--alloc-mb N]
                     [--tag TEXT] [-m MODEL]...

--fail-health   /health answers 503 for ever (a model that never loads)
--exit-after-ms exit with --exit-code N ms after the start, saying so on
                stderr ("error: crashed on purpose"); 0: at once
--alloc-mb      on SIGUSR1, allocate and touch this many MiB, 8 MiB at a
                time, and keep them (the memory limit's test)
--tag           only makes the command line differ (a new version)
--spam-kb N     write N KiB of log lines to stderr once ready (engine.log's
                rotation)
--die-with PID  exit once process PID is gone (the test that started it,
                whichever way it ended: nothing is left running)

Logs go to stderr like llama-server's; SIGTERM stops it with status 0.
"""
import argparse
import json
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

START = time.monotonic()


def parse():
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--load-ms", type=int, default=0)
    p.add_argument("--fail-health", action="store_true")
    p.add_argument("--exit-after-ms", type=int, default=-1)
    p.add_argument("--exit-code", type=int, default=1)
    p.add_argument("--alloc-mb", type=int, default=0)
    p.add_argument("--tag", default="")
    p.add_argument("-m", "--model", default="")
    p.add_argument("--die-with", type=int, default=0)
    p.add_argument("--spam-kb", type=int, default=0)
    return p.parse_args()


ARGS = parse()


def log(text):
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


class Handler(BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        log("request: " + fmt % args)

    def answer(self, status, doc):
        body = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def loading(self):
        return ARGS.fail_health or (time.monotonic() - START) * 1000 < ARGS.load_ms

    def do_GET(self):
        if self.path != "/health":
            self.answer(404, {"error": {"code": 404, "message": "File Not Found"}})
        elif self.loading():
            self.answer(503, {"error": {"code": 503, "message": "Loading model",
                                        "type": "unavailable_error"}})
        else:
            self.answer(200, {"status": "ok"})

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        try:
            req = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            self.answer(400, {"error": {"code": 400, "message": "bad json"}})
            return
        if self.path != "/v1/completions":
            self.answer(404, {"error": {"code": 404, "message": "File Not Found"}})
        elif self.loading():
            self.answer(503, {"error": {"code": 503, "message": "Loading model"}})
        else:
            spam()
            n = int(req.get("max_tokens", 1))
            self.answer(200, {"id": "cmpl-1", "object": "text_completion",
                              "model": ARGS.model,
                              "choices": [{"index": 0, "text": "2" * n,
                                           "finish_reason": "length"}]})


def crash():
    time.sleep(ARGS.exit_after_ms / 1000.0)
    log("error: crashed on purpose")
    sys.stderr.flush()
    os._exit(ARGS.exit_code)


HELD = []
SPAMMED = []


def spam():
    if SPAMMED or not ARGS.spam_kb:
        return
    SPAMMED.append(1)
    line = "slot update: " + "x" * 1009
    for i in range(ARGS.spam_kb):
        sys.stderr.write(line + "\n")
    sys.stderr.flush()


def allocate():
    for _ in range(ARGS.alloc_mb // 8):
        HELD.append(b"\x01" * (8 << 20))
        time.sleep(0.02)
    log("allocated %d MiB" % (len(HELD) * 8))


def watch_test():
    while True:
        try:
            os.kill(ARGS.die_with, 0)
        except ProcessLookupError:
            log("the test is gone: exiting")
            os._exit(0)
        except PermissionError:
            pass
        time.sleep(0.5)


def main():
    signal.signal(signal.SIGTERM, lambda *_: (log("shutting down"), sys.exit(0)))
    if ARGS.exit_after_ms == 0:
        log("error: crashed on purpose")
        sys.exit(ARGS.exit_code)
    server = ThreadingHTTPServer((ARGS.host, ARGS.port), Handler)
    server.daemon_threads = True
    log("main: server is listening on http://%s:%d - starting the main loop"
        % (ARGS.host, ARGS.port))
    if ARGS.die_with:
        threading.Thread(target=watch_test, daemon=True).start()
    if ARGS.exit_after_ms > 0:
        threading.Thread(target=crash, daemon=True).start()
    if ARGS.alloc_mb:
        signal.signal(signal.SIGUSR1, lambda *_: threading.Thread(
            target=allocate, daemon=True).start())
    try:
        server.serve_forever()
    except SystemExit:
        server.server_close()
        raise


if __name__ == "__main__":
    main()
