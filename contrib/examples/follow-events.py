#!/usr/bin/env python3
"""Follow qmp-sidecar's event stream and act on events through its API (Python 3, stdlib only).

It reads GET /v1/events as Server-Sent Events, remembers the id of every event it has handled
in a state file, and resumes after it with Last-Event-ID, across restarts of the sidecar and of
itself: no event is lost or handled twice unless the stream says so with a gap (then it re-reads
the state). What it does with events:

  DEVICE_DELETED of a DPU function (device id starting with --dpu-prefix): appends a line to
  --record, as JSON: {"event": ID, "vm": VM, "device": ID, "time": ...};
  GUEST_PANICKED: resets the VM (POST /v1/vms/VM/qmp {"execute": "system_reset"}).

It prints one line per event it handled ("event ID TYPE VM"), per action and per gap, on stdout.
See docs/automation.md for the guarantees and contrib/examples/README.md for how to run it.
"""

import argparse
import http.client
import json
import os
import signal
import socket
import sys
import time
import urllib.parse

HEARTBEAT_SILENCE = 45  # seconds without even a heartbeat (sent every 15 s) before reconnecting
MAX_RETRY = 5.0  # seconds between reconnection attempts, at most


class UnixConnection(http.client.HTTPConnection):
    """HTTP over the sidecar's API Unix socket."""

    def __init__(self, path, timeout):
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)


class Api:
    """The sidecar's API: a Unix socket path, or http(s)://HOST:PORT with a bearer token."""

    def __init__(self, address, token):
        self.address = address
        self.token = token

    def connection(self, timeout):
        if self.address.startswith("http://") or self.address.startswith("https://"):
            url = urllib.parse.urlsplit(self.address)
            cls = http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
            return cls(url.hostname, url.port, timeout=timeout)
        return UnixConnection(self.address.removeprefix("unix:"), timeout)

    def headers(self, extra=None):
        h = {"Accept": "application/json"}
        if self.token:
            h["Authorization"] = "Bearer " + self.token
        h.update(extra or {})
        return h

    def call(self, method, path, body=None):
        conn = self.connection(30)
        try:
            data = None if body is None else json.dumps(body).encode()
            conn.request(method, path, body=data, headers=self.headers({"Content-Type": "application/json"}))
            resp = conn.getresponse()
            text = resp.read().decode()
            if resp.status >= 300:
                raise RuntimeError(f"{method} {path}: HTTP {resp.status}: {text}")
            return json.loads(text) if text else None
        finally:
            conn.close()


class State:
    """The id of the last event handled, kept in a file (written atomically)."""

    def __init__(self, path):
        self.path = path
        self.last = None
        if path and os.path.exists(path):
            with open(path) as f:
                text = f.read().strip()
                self.last = int(text) if text else None

    def save(self, event_id):
        self.last = event_id
        if self.path:
            tmp = self.path + ".tmp"
            with open(tmp, "w") as f:
                f.write(f"{event_id}\n")
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)


def say(line):
    print(line, flush=True)


class Follower:
    def __init__(self, api, state, record, dpu_prefix):
        self.api = api
        self.state = state
        self.record = record
        self.dpu_prefix = dpu_prefix
        self.retry = 1.0

    def run(self):
        while True:
            try:
                self.follow()
                say("stream ended; reconnecting")
            except (OSError, http.client.HTTPException) as e:
                say(f"cannot follow the stream ({e}); retrying in {self.retry:g} s")
            time.sleep(self.retry)

    def follow(self):
        """One connection: reads SSE until the stream ends (WHATWG event-stream parsing)."""
        headers = self.api.headers({"Accept": "text/event-stream"})
        if self.state.last is not None:
            headers["Last-Event-ID"] = str(self.state.last)
        conn = self.api.connection(HEARTBEAT_SILENCE)
        try:
            conn.request("GET", "/v1/events", headers=headers)
            resp = conn.getresponse()
            if resp.status != 200:
                raise http.client.HTTPException(f"GET /v1/events: HTTP {resp.status}: {resp.read().decode()}")
            say("following" + ("" if self.state.last is None else f" after event {self.state.last}"))
            data = []
            while True:
                raw = resp.readline()
                if not raw:
                    return
                line = raw.decode("utf-8").rstrip("\r\n")
                if line == "":
                    if data:
                        self.message(json.loads("\n".join(data)))
                    data = []
                elif line.startswith(":"):
                    continue
                else:
                    field, _, value = line.partition(":")
                    value = value[1:] if value.startswith(" ") else value
                    if field == "data":
                        data.append(value)
                    elif field == "retry" and value.isdigit():
                        self.retry = min(int(value) / 1000.0, MAX_RETRY)
        finally:
            conn.close()

    def message(self, m):
        kind = m.get("type")
        if kind == "gap":
            say(f"gap ({m.get('reason')}): {m.get('detail')}")
            self.reread()
            return
        if kind == "error":
            say(f"the sidecar cut the stream off: {m.get('detail')}")
            return
        event_id = m["id"]
        if self.state.last is not None and event_id <= self.state.last:
            return  # already handled: never act twice
        self.handle(m)
        self.state.save(event_id)
        say(f"event {event_id} {kind} {m['vm']}")

    def handle(self, e):
        data = e.get("data", {})
        if e["type"] == "qmp.DEVICE_DELETED" and str(data.get("device", "")).startswith(self.dpu_prefix):
            with open(self.record, "a") as f:
                f.write(json.dumps({"event": e["id"], "vm": e["vm"], "device": data["device"], "time": e["time"]}) + "\n")
            say(f"recorded the deletion of {data['device']} from {e['vm']}")
        elif e["type"] == "qmp.GUEST_PANICKED":
            self.api.call("POST", f"/v1/vms/{urllib.parse.quote(e['vm'])}/qmp", {"execute": "system_reset"})
            say(f"reset {e['vm']} after its panic (event {e['id']})")

    def reread(self):
        """After a gap: what the missed events would have said, read from the state routes."""
        for vm in self.api.call("GET", "/v1/vms"):
            name = vm["name"]
            devices = self.api.call("GET", f"/v1/vms/{urllib.parse.quote(name)}/devices")
            say(f"state: {name} {vm.get('state', '?')} devices {sorted(d['id'] for d in devices)}")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--api", default=os.environ.get("QMP_SIDECAR_API", "/run/qmp-sidecar/api.sock"),
                   help="the API's Unix socket, or http(s)://HOST:PORT (token in $QMP_SIDECAR_TOKEN)")
    p.add_argument("--state", required=True, help="file keeping the id of the last event handled")
    p.add_argument("--record", required=True, help="file the DPU functions' deletions are appended to")
    p.add_argument("--dpu-prefix", default="dpu-", help="device ids of DPU functions start with this")
    args = p.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    Follower(Api(args.api, os.environ.get("QMP_SIDECAR_TOKEN")), State(args.state), args.record, args.dpu_prefix).run()


if __name__ == "__main__":
    main()
