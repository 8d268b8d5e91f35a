#!/usr/bin/env python3
"""restart_on_alert: an example healer that is a plain Alertmanager webhook receiver.

It serves POST /alerts on 127.0.0.1 (port from --port, default 9095). For every firing alert of
a notification (Alertmanager webhook version 4) it restarts the target the alert names: its
`container` label (what sim's Prometheus puts on each target), else its `name` label, else the
host part of its `instance` label. It restarts through sim's Agent API, whose address and token
come with each notification relayed by sim (headers X-Sim-Agent-Url and X-Sim-Agent-Token), or
from SIM_AGENT_URL and SIM_AGENT_TOKEN when it was started by sim. After restarting a target it
leaves that target alone for 2 s: a notification repeated by Alertmanager does not restart it
again. It answers each notification at once and acts in the background, prints one line per
decision, and exits 0 on SIGTERM (which sim sends when the trial ends).

Run it under sim, which feeds it the run's alerts:

    sim run oom-recovery --strategy external \
        --external-cmd "python3 examples/agents/restart_on_alert.py --port 9095" \
        --external-webhook http://127.0.0.1:9095/alerts \
        --alertmanager-scrape 1s --alertmanager-for 0s --alertmanager-group-wait 0s

Python 3 standard library only. If SIM_AGENT_PID_FILE is set, it appends its pid to that file.
"""

import argparse
import http.server
import json
import os
import signal
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

COOLDOWN_S = 2.0
TIMEOUT_S = 5.0
MAX_BODY = 1 << 20

TRIAL = os.environ.get("SIM_TRIAL", "?")


def say(message):
    print(f"trial {TRIAL}: {message}", flush=True)


def target_of(alert):
    """The name of the target an alert is about, if it names one."""
    labels = alert.get("labels") or {}
    for key in ("container", "name"):
        if labels.get(key):
            return labels[key]
    instance = labels.get("instance", "")
    return instance.rsplit(":", 1)[0] or None


def restart(api_url, token, name, why):
    """Asks the Agent API to restart `name`; says how it went."""
    path = f"/v1/targets/{urllib.parse.quote(name, safe='')}/actions"
    body = json.dumps({"action": "restart"}).encode()
    request = urllib.request.Request(api_url.rstrip("/") + path, data=body, method="POST")
    request.add_header("Authorization", f"Bearer {token}")
    request.add_header("Content-Type", "application/json")
    request.add_header("X-Sim-Caller", "restart_on_alert")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            answer = json.load(response)
            say(f"{name} ({why}): restart ok in {answer.get('duration_ms')} ms")
    except urllib.error.HTTPError as e:
        say(f"{name} ({why}): restart refused: {e.code} {e.read()[:200]!r}")
    except (urllib.error.URLError, OSError, ValueError) as e:
        say(f"{name} ({why}): restart failed: {e}")


class Receiver(http.server.BaseHTTPRequestHandler):
    last_action = {}  # target name -> time.monotonic() of our last restart
    lock = threading.Lock()

    def log_message(self, *_args):
        pass  # one line per decision is enough

    def answer(self, status, text):
        body = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        if self.path.split("?", 1)[0] != "/alerts":
            return self.answer(404, "only POST /alerts")
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            return self.answer(413, "notification too large")
        try:
            notification = json.loads(self.rfile.read(length))
            alerts = notification["alerts"]
        except (ValueError, KeyError, TypeError) as e:
            return self.answer(400, f"not an Alertmanager notification: {e}")
        api_url = self.headers.get("X-Sim-Agent-Url") or os.environ.get("SIM_AGENT_URL")
        token = self.headers.get("X-Sim-Agent-Token") or os.environ.get("SIM_AGENT_TOKEN")
        if not api_url or not token:
            return self.answer(400, "no Agent API to act through (X-Sim-Agent-Url/-Token)")
        self.answer(200, "ok")
        now = time.monotonic()
        for alert in alerts:
            name = target_of(alert)
            alertname = (alert.get("labels") or {}).get("alertname", "?")
            if alert.get("status") != "firing" or not name:
                continue
            with self.lock:
                if now - self.last_action.get(name, float("-inf")) < COOLDOWN_S:
                    say(f"{name}: {alertname} again within {COOLDOWN_S:.0f}s; left alone")
                    continue
                self.last_action[name] = now
            why = f"alert {alertname}"
            threading.Thread(target=restart, args=(api_url, token, name, why), daemon=True).start()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--port", type=int, default=9095, help="port on 127.0.0.1 (9095)")
    args = parser.parse_args()
    pid_file = os.environ.get("SIM_AGENT_PID_FILE")
    if pid_file:
        with open(pid_file, "a") as f:
            f.write(f"{os.getpid()}\n")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Receiver)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    say(f"listening on http://127.0.0.1:{args.port}/alerts")
    while not stopped.wait(0.2):
        pass
    server.shutdown()
    say("SIGTERM: exiting")
    return 0


if __name__ == "__main__":
    sys.exit(main())
