#!/usr/bin/env python3
"""An outside measurement of sim's heals, to check sim's own figures against.

Run it beside `sim run`: it follows `docker events` for sim's target containers (label
sim.trial) and polls each one's published health endpoint every 10 ms, open-loop (one thread a
poll, a 500 ms timeout each, as sim's probes have), from its own process. For each outage it
prints

  outage start  the container's `die` event or the first failed poll's send time, whichever is first
  start         the container's next `start` event
  first good    when the first poll sent after the death was answered 200 (a poll sent while the
                container is down may be held until it serves again: it is its answer that counts)
  MTTR          first good - outage start

and at the end the median MTTR, for comparison with sim's `MTTR p50`.
usage: tools/outside-mttr.py [SECONDS]   (stops after SECONDS, default 120, or on Ctrl-C)
Needs only python3 and the docker CLI."""
import http.client, json, statistics, subprocess, sys, threading, time

POLL_S, TIMEOUT_S = 0.010, 0.500
lock = threading.Lock()
watched = {}   # container id -> state dict
outages = []


def inspect(cid):
    out = subprocess.run(["docker", "inspect", cid], capture_output=True, text=True)
    if out.returncode != 0:
        return None
    return json.loads(out.stdout)[0]


def poll(state, sent):
    ok = False
    try:
        conn = http.client.HTTPConnection("127.0.0.1", state["port"], timeout=TIMEOUT_S)
        conn.request("GET", state["path"])
        ok = conn.getresponse().status == 200
    except Exception:
        ok = False
    with lock:
        state["polls"].append((sent, ok, time.time()))


def poller(state):
    while not state["stop"].is_set():
        threading.Thread(target=poll, args=(state, time.time()), daemon=True).start()
        time.sleep(POLL_S)


def watch(cid):
    info = inspect(cid)
    if info is None:
        return
    labels = info["Config"]["Labels"] or {}
    bindings = info["HostConfig"]["PortBindings"] or {}
    port = next((int(b[0]["HostPort"]) for b in bindings.values() if b), None)
    if port is None:
        return
    state = {"name": labels.get("sim.target", cid[:12]), "trial": labels.get("sim.trial"),
             "port": port, "path": labels.get("healer.health", "/health"), "polls": [],
             "die": None, "start": None, "stop": threading.Event()}
    watched[cid] = state
    threading.Thread(target=poller, args=(state,), daemon=True).start()


def settle(state):
    """An outage ends at the first good poll sent after the start that followed the death."""
    if state["die"] is None or state["start"] is None:
        return
    with lock:
        polls = sorted(state["polls"])
    failed = [t for t, ok, _ in polls if not ok and t >= state["die"] - 1.0]
    outage_start = min([state["die"]] + failed[:1])
    good = [answered for t, ok, answered in polls if ok and t >= state["die"]]
    if not good:
        return
    first_good = min(good)
    outages.append(first_good - outage_start)
    print(f"trial {state['trial']} {state['name']}: outage start {outage_start:.3f}, "
          f"start +{state['start'] - outage_start:.3f}s, first good +{first_good - outage_start:.3f}s "
          f"(start -> first good {1000 * (first_good - state['start']):.0f} ms); MTTR {first_good - outage_start:.3f}s",
          flush=True)
    state["die"] = state["start"] = None


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 120.0
    events = subprocess.Popen(
        ["docker", "events", "--format", "{{json .}}", "--filter", "type=container",
         "--filter", "label=sim.trial", "--filter", "event=start", "--filter", "event=die",
         "--filter", "event=destroy"],
        stdout=subprocess.PIPE, text=True)
    end = time.time() + seconds
    threading.Timer(seconds, events.terminate).start()
    try:
        for line in events.stdout:
            e = json.loads(line)
            cid, action, at = e["id"], e["Action"], e["timeNano"] / 1e9
            if action == "start":
                if cid not in watched:
                    watch(cid)
                elif watched[cid]["die"] is not None:
                    watched[cid]["start"] = at
                    threading.Timer(3.0, settle, args=(watched[cid],)).start()
            elif action == "die" and cid in watched:
                watched[cid]["die"] = at
            elif action == "destroy" and cid in watched:
                watched.pop(cid)["stop"].set()
            if time.time() > end:
                break
    except KeyboardInterrupt:
        pass
    finally:
        events.terminate()
    time.sleep(3.5)
    if outages:
        print(f"outside MTTR over {len(outages)} outage(s): p50 {statistics.median(outages):.3f}s, "
              f"min {min(outages):.3f}s, max {max(outages):.3f}s")
    else:
        print("no healed outage seen")


if __name__ == "__main__":
    main()
