"""Idle-cost benchmark driver (run by scripts/bench-idle N). Starts N release node-guardians on
loopback, each peering with its two ring neighbours and the node opposite it (3 peers a node),
waits until every node knows every other, lets them settle, then samples each process's CPU time
(/proc/PID/stat) over a quiet window, then its memory: RSS, PSS (shared pages divided among the
processes that map them) and private dirty pages. Most of a guardian's RSS is the read-only code
of its binary and of Swift's libraries, shared by every node on the machine; PSS is what one more
node costs. With BASELINE_BIN set to an earlier build's release directory, that build's
mesh is measured the same way first, in the same run, and the ratios are printed.

Linux only (/proc). IDLE_SECONDS sets the window (default 30); IDLE_CONFIG, YAML given to every
node of the current build (`mesh: {poke_debounce: 1s}`, say), tries a setting against the baseline.
"""
import json, os, sys, tempfile, time, urllib.request

from benchlib import Processes, free_port, wait_http

BIN, N = sys.argv[1], int(sys.argv[2])
BASELINE_BIN = os.environ.get("BASELINE_BIN")
WINDOW = float(os.environ.get("IDLE_SECONDS", "30"))
EXTRA_CONFIG = os.environ.get("IDLE_CONFIG")
SETTLE = 10
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def rss_mb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def memory_mb(pid):
    """PSS (shared pages divided among the processes mapping them) and private dirty memory."""
    values = {}
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 2 and parts[0] in ("Pss:", "Private_Dirty:"):
                values[parts[0]] = int(parts[1]) / 1024
    return values.get("Pss:", float("nan")), values.get("Private_Dirty:", float("nan"))


def known_nodes(port):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/v1/nodes" % port, timeout=5) as r:
            document = json.load(r)
        return len(document.get("data", document.get("nodes", [])))
    except Exception:
        return 0


def measure(label, bin_dir, extra_config=None):
    root = tempfile.mkdtemp(prefix="dagi-bench-idle-%s-" % label)
    config = None
    if extra_config:
        config = os.path.join(root, "node.yaml")
        with open(config, "w") as f:
            f.write(extra_config + "\n")
    processes = Processes(root)
    try:
        ports = [free_port() for _ in range(N)]
        env = dict(os.environ, DAGI_LOG_LEVEL="warning", DAGI_MESH_SECRET="bench-idle-mesh-secret-0123456789abcdef")
        env.pop("DAGI_HOME", None)
        nodes = []
        for i, port in enumerate(ports):
            peers = sorted({(i + 1) % N, (i - 1) % N, (i + N // 2) % N} - {i})
            args = [os.path.join(bin_dir, "node-guardian"), "run", "--node-id", "n%02d" % i, "--data-dir", os.path.join(root, "n%02d" % i),
                    "--listen", "127.0.0.1:%d" % port] + (["--config", config] if config else [])
            for p in peers:
                args += ["--peer", "http://127.0.0.1:%d" % ports[p]]
            nodes.append(processes.start(args, "n%02d.log" % i, env))
        for port in ports:
            wait_http("http://127.0.0.1:%d/health" % port)
        started = time.time()
        deadline = started + 300
        while time.time() < deadline and any(known_nodes(port) < N for port in ports):
            time.sleep(1)
        converged = time.time() - started
        if any(known_nodes(port) < N for port in ports):
            raise SystemExit("%s: the mesh did not converge in 300 s" % label)
        time.sleep(SETTLE)
        before = [cpu_seconds(p.pid) for p in nodes]
        t0 = time.time()
        time.sleep(WINDOW)
        elapsed = time.time() - t0
        cpu = [(cpu_seconds(p.pid) - b) / elapsed * 100 for p, b in zip(nodes, before)]
        rss = [rss_mb(p.pid) for p in nodes]
        pss, dirty = zip(*(memory_mb(p.pid) for p in nodes))
        result = {"cpu_mean": sum(cpu) / N, "cpu_max": max(cpu), "rss_mean": sum(rss) / N, "rss_max": max(rss), "converged": converged,
                  "pss_mean": sum(pss) / N, "dirty_mean": sum(dirty) / N}
        print("%-9s N=%d: CPU per node mean %.3f %% (worst %.3f %%); RSS mean %.1f MB (worst %.1f MB), PSS mean %.1f MB, private dirty mean %.1f MB;"
              " every node knew all %d after %.0f s"
              % (label, N, result["cpu_mean"], result["cpu_max"], result["rss_mean"], result["rss_max"], result["pss_mean"],
                 result["dirty_mean"], N, converged), flush=True)
        return result
    finally:
        processes.stop_all()


print("idle mesh of %d nodes, 3 peers each, sampled over %.0f s after a %d s settle" % (N, WINDOW, SETTLE), flush=True)
base = measure("baseline", BASELINE_BIN) if BASELINE_BIN else None
now = measure("current", BIN, EXTRA_CONFIG)
if base:
    print("current/baseline: CPU %.2fx, RSS %.2fx, PSS %.2fx, private dirty %.2fx" % (
        now["cpu_mean"] / max(base["cpu_mean"], 1e-9), now["rss_mean"] / base["rss_mean"], now["pss_mean"] / base["pss_mean"],
        now["dirty_mean"] / base["dirty_mean"]))
print("targets (N=50): CPU <= 0.3 %% per node %s; RSS <= 30 MB per node %s" % (
    "MET" if now["cpu_mean"] <= 0.3 else "MISSED", "MET" if now["rss_mean"] <= 30 else "MISSED"))
