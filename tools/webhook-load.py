#!/usr/bin/env python3
"""Webhook load on `healer serve`: how many Alertmanager posts a second it answers, and whether
its memory stays flat meanwhile.

It posts the v4 fixture (healer/tests/fixtures/alertmanager-v4.json) with its container labels
renamed to containers no scope holds, so the healer decides nothing but looks each one up and
records it suppressed. N keep-alive connections post as fast as they are answered, for SECONDS,
from worker processes (the connections spread over them as threads); then it prints

  requests, errors (any answer but 200, by status, and failed connections), rate (req/s
  answered, and accepted with 200: a 503 says the engine's queue is full),
  p50/p99 latency, and the daemon's RSS (VmRSS) at the start, every 10 s and at the end,
  with the daemon's own counters from /metrics.

The generator runs on the same machine as the daemon and competes with it for the cores: the
rate is the pair's, not the daemon's alone.

usage:
  tools/webhook-load.py --healer target/release/healer [--connections N] [--seconds S]
      starts `healer serve` itself (the shipped runbooks, a scope no container has, a token,
      127.0.0.1 on a free port, its default logging, read and dropped), runs the load, and
      stops it with SIGTERM
  tools/webhook-load.py --url http://127.0.0.1:9095 --pid PID [--token T] [...]
      loads a daemon that runs already (PID for its RSS)
Needs only python3 (and, with --healer, a Docker engine for the daemon to connect to)."""
import argparse, json, multiprocessing, os, pathlib, signal, socket, subprocess, sys, tempfile
import threading, time
from urllib.parse import urlsplit

ROOT = pathlib.Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "healer/tests/fixtures/alertmanager-v4.json"
RUNBOOKS = ROOT / "healer/runbooks"
SCOPE = "healer.load-test=no-container-has-this"


def payload():
    """The fixture, its alerts naming containers that no scope holds."""
    body = json.loads(FIXTURE.read_text())
    for n, alert in enumerate(body["alerts"]):
        name = f"load-test-absent-{n}"
        alert["labels"]["container"] = name
        alert["labels"]["instance"] = f"{name}:8080"
    return json.dumps(body).encode()


def request_bytes(host, port, token, body):
    head = (f"POST /alerts HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n")
    if token:
        head += f"Authorization: Bearer {token}\r\n"
    return head.encode() + b"\r\n" + body


def read_answer(sock, buf):
    """(status, rest of the buffer) of one response on a keep-alive connection."""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("the daemon closed the connection")
        buf += chunk
    head, _, buf = buf.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = next((int(line.split(b":", 1)[1]) for line in lines[1:]
                   if line.lower().startswith(b"content-length:")), 0)
    while len(buf) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("the daemon closed the connection mid-answer")
        buf += chunk
    return status, buf[length:]


def connection(host, port, request, deadline, out):
    """Posts on one keep-alive connection until `deadline`; reconnects after a failure."""
    latencies, statuses, failures = [], {}, 0
    sock, buf = None, b""
    while time.monotonic() < deadline:
        try:
            if sock is None:
                sock, buf = socket.create_connection((host, port), timeout=10), b""
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sent = time.monotonic()
            sock.sendall(request)
            status, buf = read_answer(sock, buf)
            latencies.append(time.monotonic() - sent)
            statuses[status] = statuses.get(status, 0) + 1
        except (OSError, ValueError, IndexError):
            failures += 1
            if sock is not None:
                sock.close()
            sock = None
            time.sleep(0.01)
    if sock is not None:
        sock.close()
    out.append((latencies, statuses, failures))


def worker(host, port, request, deadline, threads, results):
    out = []
    running = [threading.Thread(target=connection, args=(host, port, request, deadline, out))
               for _ in range(threads)]
    for thread in running:
        thread.start()
    for thread in running:
        thread.join()
    results.put(out)


def rss_kib(pid):
    try:
        for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def metrics(url):
    host, port = urlsplit(url).hostname, urlsplit(url).port
    try:
        with socket.create_connection((host, port), timeout=5) as sock:
            sock.sendall(f"GET /metrics HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
                         .encode())
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
    except OSError as e:
        return f"(cannot read /metrics: {e})"
    wanted = ("healer_webhook_requests_total", "healer_signals_", "healer_http_connections",
              "healer_decisions_total")
    text = data.partition(b"\r\n\r\n")[2].decode(errors="replace")
    return "\n".join(f"  {line}" for line in text.splitlines()
                     if line.startswith(wanted) and not line.endswith(" 0"))


def start_daemon(healer, token, work):
    """`healer serve` on a free loopback port, its token file in `work`; (process, url)."""
    token_file = pathlib.Path(work, "token")
    token_file.write_text(token + "\n")
    daemon = subprocess.Popen(
        [healer, "serve", "--runbooks", str(RUNBOOKS), "--scope", SCOPE,
         "--listen", "127.0.0.1:0", "--token-file", str(token_file)],
        stderr=subprocess.PIPE, text=True)
    found = []

    def follow():
        for line in daemon.stderr:
            if not found and "serving on " in line:
                found.append(line.split("serving on ", 1)[1].split()[0])
    threading.Thread(target=follow, daemon=True).start()
    limit = time.monotonic() + 30
    while not found:
        if daemon.poll() is not None or time.monotonic() > limit:
            daemon.kill()
            sys.exit(f"healer serve did not start (exit {daemon.poll()}); is Docker running?")
        time.sleep(0.05)
    return daemon, found[0]


def percentile(ordered, q):
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--healer", help="start this healer binary and load it")
    target.add_argument("--url", help="load the daemon serving here")
    parser.add_argument("--pid", type=int, help="with --url: the daemon's process, for its RSS")
    parser.add_argument("--token", default="load-test-token")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--processes", type=int, default=min(2, os.cpu_count() or 1),
                        help="worker processes the connections are spread over (default 2)")
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args()

    if not args.healer:
        run(args, args.url, args.pid)
        return
    with tempfile.TemporaryDirectory(prefix="webhook-load-") as work:
        daemon, url = start_daemon(args.healer, args.token, work)
        try:
            run(args, url, daemon.pid)
        finally:
            daemon.send_signal(signal.SIGTERM)
            try:
                daemon.wait(10)
            except subprocess.TimeoutExpired:
                daemon.kill()


def run(args, url, pid):
    host, port = urlsplit(url).hostname, urlsplit(url).port
    request = request_bytes(host, port, args.token, payload())
    processes = max(1, min(args.processes, args.connections))
    shares = [args.connections // processes + (i < args.connections % processes)
              for i in range(processes)]
    print(f"{args.connections} keep-alive connections over {processes} processes, "
          f"{args.seconds:g} s, at {url} (healer pid {pid})", flush=True)
    rss = [(0, rss_kib(pid))]
    results = multiprocessing.Queue()
    start = time.monotonic()
    deadline = start + args.seconds
    workers = [multiprocessing.Process(target=worker,
                                       args=(host, port, request, deadline, share, results))
               for share in shares]
    for proc in workers:
        proc.start()
    next_sample = start + 10
    while time.monotonic() < deadline:
        time.sleep(max(0.0, min(next_sample, deadline) - time.monotonic()))
        if time.monotonic() >= next_sample and next_sample < deadline:
            rss.append((round(next_sample - start), rss_kib(pid)))
            next_sample += 10
    outcomes = [outcome for _ in workers for outcome in results.get()]
    for proc in workers:
        proc.join()
    rss.append((round(time.monotonic() - start), rss_kib(pid)))
    elapsed = time.monotonic() - start

    latencies = sorted(lat for lats, _, _ in outcomes for lat in lats)
    statuses = {}
    for _, counted, _ in outcomes:
        for status, count in counted.items():
            statuses[status] = statuses.get(status, 0) + count
    failures = sum(failed for _, _, failed in outcomes)
    answered = sum(statuses.values())
    errors = answered - statuses.get(200, 0) + failures
    print(f"requests  {answered} answered ({', '.join(f'{s}: {n}' for s, n in sorted(statuses.items()))})"
          f", {failures} failed connections")
    print(f"errors    {errors}")
    print(f"rate      {answered / elapsed:.0f} req/s answered, {statuses.get(200, 0) / elapsed:.0f}"
          f" req/s accepted (200), over {elapsed:.1f} s")
    print(f"latency   p50 {percentile(latencies, 0.50) * 1000:.2f} ms, "
          f"p99 {percentile(latencies, 0.99) * 1000:.2f} ms")
    print("RSS       " + ", ".join(f"{t}s {kib / 1024:.1f} MiB" if kib else f"{t}s ?"
                                    for t, kib in rss))
    print("daemon's counters (non-zero):\n" + metrics(url))


if __name__ == "__main__":
    main()
