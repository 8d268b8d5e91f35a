#!/usr/bin/env python3
"""restart_on_down: an example healer that knows only sim's Agent API.

Every 100 ms it lists the trial's targets (GET /v1/targets). A target whose state is `exited`
gets the action `start`; one whose health is `unhealthy` gets `restart`, and so does a running
one whose last 3 probes by sim (GET /v1/targets/{name}/probes) all failed: alive but not
answering, as a hung process is. After acting on a target it leaves that target alone for 2 s,
so it never loops on one that stays down. It prints
one line per decision, and exits 0 on SIGTERM (which sim sends when the trial ends), or when the
API has not answered for 5 s (sim is gone).

Run it under sim, which sets SIM_AGENT_URL and SIM_AGENT_TOKEN (and SIM_RUN_ID, SIM_TRIAL):

    sim run oom-recovery --strategy external \
        --external-cmd "python3 examples/agents/restart_on_down.py"

Python 3 standard library only. If SIM_AGENT_PID_FILE is set, it appends its pid to that file.
"""

import json
import os
import signal
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

POLL_S = 0.1
COOLDOWN_S = 2.0
GIVE_UP_S = 5.0
TIMEOUT_S = 2.0

URL = os.environ["SIM_AGENT_URL"].rstrip("/")
TOKEN = os.environ["SIM_AGENT_TOKEN"]
TRIAL = os.environ.get("SIM_TRIAL", "?")


def say(message):
    print(f"trial {TRIAL}: {message}", flush=True)


def call(method, path, body=None):
    """One API call; the decoded JSON answer (an HTTP error's too, with its status)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(URL + path, data=data, method=method)
    request.add_header("Authorization", f"Bearer {TOKEN}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as e:
        try:
            return e.code, json.load(e)
        except ValueError:
            return e.code, {"error": e.reason}


FAILED_PROBES = 3


def decide(target, probes):
    """The action a target needs, if any, given sim's latest probes of it."""
    if target.get("state") == "exited":
        return "start"
    if target.get("health") == "unhealthy":
        return "restart"
    last = probes[-FAILED_PROBES:]
    if target.get("state") == "running" and len(last) == FAILED_PROBES:
        if not any(p.get("ok") for p in last):
            return "restart"
    return None


def probes_of(name):
    """sim's latest probes of `name`; none when the call fails."""
    path = f"/v1/targets/{urllib.parse.quote(name, safe='')}/probes"
    try:
        status, answer = call("GET", path)
    except (urllib.error.URLError, OSError, ValueError):
        return []
    return answer.get("probes", []) if status == 200 else []


def main():
    stopping = False

    def on_sigterm(_signum, _frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, on_sigterm)
    pid_file = os.environ.get("SIM_AGENT_PID_FILE")
    if pid_file:
        with open(pid_file, "a") as f:
            f.write(f"{os.getpid()}\n")
    say(f"watching {URL}")

    last_action = {}  # target name -> when we last acted on it (time.monotonic())
    last_answer = time.monotonic()
    while not stopping:
        now = time.monotonic()
        try:
            status, targets = call("GET", "/v1/targets")
            last_answer = now
        except (urllib.error.URLError, OSError, ValueError) as e:
            if now - last_answer > GIVE_UP_S:
                say(f"the API has not answered for {GIVE_UP_S:.0f}s ({e}); exiting")
                return 0
            time.sleep(POLL_S)
            continue
        if status != 200:
            say(f"GET /v1/targets: {status} {targets.get('error', '')}")
            time.sleep(POLL_S)
            continue
        for target in targets:
            name = target["name"]
            if now - last_action.get(name, float("-inf")) < COOLDOWN_S:
                continue
            probes = probes_of(name) if target.get("state") == "running" else []
            action = decide(target, probes)
            if action is None or stopping:
                continue
            last_action[name] = now
            failed = sum(1 for p in probes[-FAILED_PROBES:] if not p.get("ok"))
            why = (
                f"state {target.get('state')}, health {target.get('health') or '-'}, "
                f"{failed} of the last {FAILED_PROBES} probes failed"
            )
            try:
                path = f"/v1/targets/{urllib.parse.quote(name, safe='')}/actions"
                status, answer = call("POST", path, {"action": action})
            except (urllib.error.URLError, OSError, ValueError) as e:
                say(f"{name} ({why}): {action} failed: {e}")
                continue
            if status == 200 and answer.get("ok"):
                took = answer.get("duration_ms")
                say(f"{name} ({why}): {action} ok in {took} ms")
            else:
                say(f"{name} ({why}): {action} refused: {status} {answer}")
        time.sleep(POLL_S)
    say("SIGTERM: exiting")
    return 0


if __name__ == "__main__":
    sys.exit(main())
