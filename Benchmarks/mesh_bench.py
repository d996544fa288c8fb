"""Mesh pooling benchmark (run by scripts/bench-mesh): real node-guardian processes on loopback.

Three nodes, A (where every request enters), B and C, each serving the same model on a
one-slot server that takes SERVICE_MS per request (mock_upstream.py behind the Swapper with
`concurrency: 1`: a machine whose model answers one request at a time, as a GPU does, without
the three servers fighting over this machine's cores). A steady load of CLIENTS concurrent
clients calls A for PHASE seconds with 1, then 2, then 3 serving nodes, in one run.

Prints requests per second for each, the ratio to one node (the same-run baseline), the ideal
(n / service time), where A's requests were served, and A's store writes of its load under load
and at idle. With BASELINE_BIN set to an earlier build's release directory, three nodes of that
build take the same load too.
"""
import http.client, json, os, sys, tempfile, threading, time, urllib.request

from benchlib import Processes, free_port, wait_http

BIN = sys.argv[1]
BASELINE_BIN = os.environ.get("BASELINE_BIN")
SECRET = "bench-mesh-secret-0123456789"
ROOT = tempfile.mkdtemp(prefix="dagi-bench-mesh-")
SERVICE_MS = int(os.environ.get("SERVICE_MS", "100"))
CLIENTS = int(os.environ.get("CLIENTS", "12"))
PHASE = float(os.environ.get("PHASE", "10"))
MOCK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts", "fixtures", "mock_upstream.py")

processes = Processes(ROOT)


class Node:
    def __init__(self, node_id, port, peers, bin=BIN, tag=""):
        self.id, self.port, self.bin = node_id, port, bin
        self.data = os.path.join(ROOT, tag + node_id)
        os.makedirs(self.data, exist_ok=True)
        self.config = os.path.join(ROOT, tag + node_id + ".yaml")
        with open(self.config, "w") as f:
            f.write(
                "metrics:\n  interval: 1h\nollama: null\n"
                "router:\n  open_localhost: true\n"
                "mesh:\n  peers: [%s]\n  sync_interval: 1s\n  request_timeout: 2s\n"
                "swapper:\n  start_port: %d\n  models:\n    slot:\n"
                "      cmd: python3 %s --port ${PORT} --mode ok --name slot\n      concurrency: 1\n"
                % (", ".join("http://127.0.0.1:%d" % p for p in peers), 20000 + port % 20000, os.path.abspath(MOCK)))

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def start(self):
        env = dict(os.environ, DAGI_MESH_SECRET=SECRET, DAGI_LOG_LEVEL="warning")
        env.pop("DAGI_HOME", None)
        processes.start([os.path.join(self.bin, "node-guardian"), "run", "--config", self.config, "--node-id", self.id,
                         "--data-dir", self.data, "--listen", "127.0.0.1:%d" % self.port], self.id + ".log", env)
        wait_http(self.url + "/health", timeout=30)

    def metric(self, name):
        text = urllib.request.urlopen(self.url + "/metrics").read().decode()
        return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(name + " ") or line.startswith(name + "{"))

    def call(self, model):
        """One request; its route."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        body = json.dumps({"model": model, "max_tokens": 4, "mock_delay_ms": SERVICE_MS, "messages": [{"role": "user", "content": "hi"}]})
        conn.request("POST", "/v1/chat/completions", body, {"content-type": "application/json"})
        response = conn.getresponse()
        response.read()
        conn.close()
        if response.status != 200:
            raise SystemExit("%s answered %d" % (self.id, response.status))
        return response.getheader("x-dagi-route")

    def sees(self, peer):
        """Whether this node's router ranks the peer's loaded model."""
        routes = json.loads(urllib.request.urlopen(self.url + "/v1/routes/slot").read())
        return any(c["candidate"]["node"] == peer and c["candidate"]["loaded"] for c in routes["candidates"])


def load(node, seconds):
    """CLIENTS clients calling `node` back to back for `seconds`: requests per second, routes."""
    routes, lock = {}, threading.Lock()
    stop = time.time() + seconds

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", node.port, timeout=60)
        body = json.dumps({"model": "slot", "max_tokens": 4, "mock_delay_ms": SERVICE_MS, "messages": [{"role": "user", "content": "hi"}]})
        while time.time() < stop:
            conn.request("POST", "/v1/chat/completions", body, {"content-type": "application/json"})
            response = conn.getresponse()
            response.read()
            route = response.getheader("x-dagi-route") if response.status == 200 else "error %d" % response.status
            with lock:
                routes[route] = routes.get(route, 0) + 1
        conn.close()

    started = time.time()
    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.time() - started
    served = sum(n for route, n in routes.items() if not route.startswith("error"))
    return served / elapsed, routes, elapsed


def wait(condition, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise SystemExit("timed out")


def mesh(bin, tag=""):
    ports = {name: free_port() for name in "abc"}
    return {name: Node(name, ports[name], [ports[p] for p in "abc" if p != name], bin, tag) for name in "abc"}


nodes = mesh(BIN)
a = nodes["a"]
try:
    print("mesh pooling: %d clients on node a, one-slot model of %d ms per request on each serving node, %.0f s per phase"
          % (CLIENTS, SERVICE_MS, PHASE))
    a.start()
    a.call("slot")  # loaded
    results = []
    for count, name in enumerate("abc", start=1):
        if name != "a":
            nodes[name].start()
            nodes[name].call(name + "/slot")  # loaded there
            wait(lambda: a.sees(name))
        writes_before = a.metric("dagi_router_load_publications_total")
        rate, routes, elapsed = load(a, PHASE)
        writes = a.metric("dagi_router_load_publications_total") - writes_before
        results.append(rate)
        print("  %d serving node%s: %7.1f req/s  (%.2fx one node; ideal %.1f req/s)  routes %s  a's load writes %.1f/s"
              % (count, "" if count == 1 else "s", rate, rate / results[0], count * 1000.0 / SERVICE_MS,
                 json.dumps(routes, sort_keys=True), writes / elapsed))
    # The last requests' end is published once (within half a second); after that, nothing.
    time.sleep(1)
    idle_before = a.metric("dagi_router_load_publications_total")
    time.sleep(3)
    idle = a.metric("dagi_router_load_publications_total") - idle_before
    print("  a's load writes at idle: %d in 3 s" % idle)
    ratio = results[2] / results[0]
    print("3 nodes vs 1: %.2fx (target >= 2.2x): %s" % (ratio, "met" if ratio >= 2.2 else "MISSED"))
    if BASELINE_BIN:
        processes.stop_all()
        before = mesh(BASELINE_BIN, "baseline-")
        for name in "abc":
            before[name].start()
            before[name].call(name + "/slot")
        wait(lambda: before["a"].sees("b") and before["a"].sees("c"))
        rate, routes, _ = load(before["a"], PHASE)
        print("  3 nodes of the baseline build (%s): %.1f req/s (%.2fx one node of this build)  routes %s"
              % (BASELINE_BIN, rate, rate / results[0], json.dumps(routes, sort_keys=True)))
finally:
    processes.stop_all()
