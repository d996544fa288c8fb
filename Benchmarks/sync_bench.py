"""Sync benchmark driver (run by scripts/bench-sync): real node-guardian processes on loopback.

Prints, each against a baseline measured in the same run:
  - changes applied per second in a 100k-change catch-up (baseline: raw SQLite executemany of
    the same rows into the same table, the floor of what any replication could do);
  - the compression ratio of that metrics-heavy catch-up on the wire (baseline: the same rows
    as JSON, gzip'd);
  - time for 3 and for 5 nodes to converge after one write (baseline: one HTTP round trip);
  - time to converge after a partition heals.
"""
import json, os, signal, sqlite3, statistics, subprocess, sys, tempfile, time, urllib.request, zlib

from benchlib import Processes, free_port, wait_http

BIN = sys.argv[1]
SECRET = "bench-mesh-secret-0123456789"
ROOT = tempfile.mkdtemp(prefix="dagi-bench-sync-")


processes = Processes(ROOT)


class Node:
    def __init__(self, node_id, port, peers, extra=""):
        self.id, self.port = node_id, port
        self.data = os.path.join(ROOT, node_id)
        os.makedirs(self.data, exist_ok=True)
        self.config = os.path.join(ROOT, node_id + ".yaml")
        with open(self.config, "w") as f:
            f.write("metrics:\n  interval: 1h\nmesh:\n  peers: [%s]\n  sync_interval: 1s\n  request_timeout: 2s\n%s\n"
                    % (", ".join("http://127.0.0.1:%d" % p for p in peers), extra))
        self.proc = None

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    @property
    def db(self):
        return os.path.join(self.data, "mesh.sqlite")

    def start(self):
        env = dict(os.environ, DAGI_MESH_SECRET=SECRET, DAGI_LOG_LEVEL="warning")
        env.pop("DAGI_HOME", None)
        self.proc = processes.start([os.path.join(BIN, "node-guardian"), "run", "--config", self.config, "--node-id", self.id,
                                     "--data-dir", self.data, "--listen", "127.0.0.1:%d" % self.port], self.id + ".log", env)
        wait_http(self.url + "/health", timeout=30)

    def query(self, sql, *args):
        con = sqlite3.connect("file:%s?mode=ro" % self.db, uri=True, timeout=5)
        try:
            return con.execute(sql, args).fetchall()
        finally:
            con.close()

    def seq(self, origin):
        rows = self.query("SELECT seq FROM sync_vector WHERE origin = ?", origin)
        return rows[0][0] if rows else 0

    def metric(self, name):
        text = urllib.request.urlopen(self.url + "/metrics").read().decode()
        for line in text.splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        return 0.0


def put_agent(node, name, body):
    req = urllib.request.Request(node.url + "/v1/agents/" + name, data=json.dumps(body).encode(), method="PUT",
                                 headers={"content-type": "application/json"})
    urllib.request.urlopen(req, timeout=10).read()


def wait(condition, timeout=60, step=0.002):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return True
        time.sleep(step)
    raise SystemExit("timed out")


stop_all = processes.stop_all


def catch_up(changes=100_000):
    a = Node("a", free_port(), [])
    subprocess.run([os.path.join(BIN, "dagi-bench"), "seed-changes", "--data-dir", a.data, "--node-id", "a",
                    "--changes", str(changes)], check=True, stdout=subprocess.DEVNULL)
    a.start()
    b = Node("b", free_port(), [a.port], "  snapshot_threshold: 1000000000\n  batch_size: 10000")
    target = a.seq("a")
    started = time.perf_counter()
    b.start()
    wait(lambda: b.seq("a") >= target, timeout=300)
    elapsed = time.perf_counter() - started
    raw, wire = b.metric("dagi_sync_raw_bytes_in_total"), b.metric("dagi_sync_wire_bytes_in_total")
    rows = a.query("SELECT node_id, metric, ts, value FROM metric_sample")
    stop_all()

    # Baseline 1: the same rows straight into SQLite, one transaction, no replication at all.
    path = os.path.join(ROOT, "baseline.sqlite")
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    con.execute("CREATE TABLE metric_sample (node_id TEXT, metric TEXT, ts INTEGER, value REAL, origin TEXT, hlc INTEGER,"
                " PRIMARY KEY (node_id, metric, ts)) WITHOUT ROWID")
    t0 = time.perf_counter()
    with con:
        con.executemany("INSERT INTO metric_sample VALUES (?, ?, ?, ?, 'a', 0)", rows)
    raw_insert = time.perf_counter() - t0
    con.close()
    # Baseline 2: the same rows as JSON, gzip'd.
    as_json = json.dumps([{"node_id": r[0], "metric": r[1], "ts": r[2], "value": r[3], "origin": "a", "seq": i}
                          for i, r in enumerate(rows)]).encode()
    json_gz = len(zlib.compress(as_json, 6))
    return {
        "changes": target, "seconds": elapsed, "rate": target / elapsed, "raw_insert_rate": len(rows) / raw_insert,
        "raw_bytes": raw, "wire_bytes": wire, "json_gzip_bytes": json_gz,
    }


def converge_after_one_write(n, rounds=10):
    ports = [free_port() for _ in range(n)]
    nodes = [Node("n%d" % i, ports[i], [p for j, p in enumerate(ports) if j != i]) for i in range(n)]
    for node in nodes:
        node.start()
    wait(lambda: all(len(x.query("SELECT id FROM node")) == n for x in nodes), timeout=30)
    rtt = []
    for _ in range(20):
        t0 = time.perf_counter()
        urllib.request.urlopen(nodes[0].url + "/health").read()
        rtt.append(time.perf_counter() - t0)
    times = []
    for r in range(rounds):
        name = "probe-%d" % r
        writer = nodes[r % n]
        t0 = time.perf_counter()
        put_agent(writer, name, {"tier": "bench"})
        wait(lambda: all(x.query("SELECT 1 FROM agent WHERE name = ?", name) for x in nodes), timeout=30, step=0.001)
        times.append(time.perf_counter() - t0)
    stop_all()
    return statistics.median(times), max(times), statistics.median(rtt)


def partition_heal(writes=100):
    ports = [free_port() for _ in range(3)]
    a, b, c = [Node(x, ports[i], [p for j, p in enumerate(ports) if j != i]) for i, x in enumerate("abc")]
    for node in (a, b, c):
        node.start()
    c.proc.send_signal(signal.SIGSTOP)
    for i in range(writes):
        put_agent(a if i % 2 else b, "during-%d" % i, {"tier": "bench"})
    wait(lambda: len(b.query("SELECT name FROM agent WHERE name LIKE 'during-%'")) == writes, timeout=30)
    t0 = time.perf_counter()
    c.proc.send_signal(signal.SIGCONT)
    wait(lambda: len(c.query("SELECT name FROM agent WHERE name LIKE 'during-%'")) == writes, timeout=60, step=0.001)
    healed = time.perf_counter() - t0
    stop_all()
    return healed


try:
    cu = catch_up()
    ratio = cu["raw_bytes"] / cu["wire_bytes"] if cu["wire_bytes"] else 0
    print("catch-up: %d changes in %.2f s = %.0f changes/s applied (raw SQLite insert of the same rows: %.0f rows/s, ratio %.2f)"
          % (cu["changes"], cu["seconds"], cu["rate"], cu["raw_insert_rate"], cu["rate"] / cu["raw_insert_rate"]))
    print("compression: %d raw bytes -> %d on the wire = %.1fx (JSON+gzip of the same rows: %d bytes, ours is %.1fx smaller)"
          % (cu["raw_bytes"], cu["wire_bytes"], ratio, cu["json_gzip_bytes"], cu["json_gzip_bytes"] / cu["wire_bytes"]))
    results = {}
    for n in (3, 5):
        median, worst, rtt = converge_after_one_write(n)
        results[n] = median
        print("convergence, %d nodes, one write: median %.1f ms, worst %.1f ms (one HTTP round trip: %.2f ms, ratio %.0fx)"
              % (n, median * 1000, worst * 1000, rtt * 1000, median / rtt))
    healed = partition_heal()
    print("partition heal: 3 nodes, 100 writes during the partition, converged %.0f ms after SIGCONT" % (healed * 1000))
    print("targets: >= 50000 changes/s %s; >= 5x compression %s; 3-node convergence <= 2 s %s" % (
        "MET" if cu["rate"] >= 50000 else "MISSED", "MET" if ratio >= 5 else "MISSED", "MET" if results[3] <= 2 else "MISSED"))
finally:
    stop_all()
