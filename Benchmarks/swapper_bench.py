"""Swapper benchmark driver (run by scripts/bench-swapper), all in one run on this machine:

  1. Swap latency: with SmolLM2 loaded, a streaming request for Gemma 3 270M, timed to its first
     token (and back again), through our Swapper (exclusive group) vs. llama-server's own router
     mode (--models-dir, --models-max 1).
  2. Proxy overhead on a warm model: the same one-token completion sent straight to a
     llama-server vs. through the Swapper's proxy.
"""
import http.client, json, os, statistics, sys, tempfile, time

from benchlib import Processes, free_port, wait_http

BIN, LLAMA, SMOL, GEMMA = sys.argv[1:5]
ROOT = tempfile.mkdtemp(prefix="dagi-bench-swapper-")


processes = Processes(ROOT)
start = processes.start


def request(port, path, body, stream=False):
    """Sends a request; returns (seconds to first body byte, seconds total)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    t0 = time.perf_counter()
    conn.request("POST", path, body=json.dumps(body), headers={"content-type": "application/json"})
    resp = conn.getresponse()
    first = None
    while True:
        chunk = resp.read1(65536) if stream else resp.read()
        if first is None:
            first = time.perf_counter() - t0
        if not chunk or not stream:
            break
        if stream and b"\"content\":\"" in chunk and first is None:
            first = time.perf_counter() - t0
    total = time.perf_counter() - t0
    if resp.status != 200:
        raise SystemExit("HTTP %d from %d%s" % (resp.status, port, path))
    conn.close()
    return first, total


def first_token(port, model, prefix=""):
    """Seconds until the first streamed content chunk."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    body = {"model": model, "stream": True, "max_tokens": 4, "messages": [{"role": "user", "content": "Say hi."}]}
    t0 = time.perf_counter()
    conn.request("POST", prefix + "/v1/chat/completions", body=json.dumps(body), headers={"content-type": "application/json"})
    resp = conn.getresponse()
    if resp.status != 200:
        raise SystemExit("HTTP %d from %d for %s: %s" % (resp.status, port, model, resp.read()[:300]))
    seen = None
    buffer = b""
    while True:
        chunk = resp.read1(65536)
        if not chunk:
            break
        buffer += chunk
        if seen is None and b'"content":"' in buffer:
            seen = time.perf_counter() - t0
    conn.close()
    return seen if seen is not None else time.perf_counter() - t0


def swaps(port, names, rounds, prefix=""):
    first_token(port, names[0], prefix)
    times = []
    for i in range(rounds):
        times.append(first_token(port, names[(i + 1) % 2], prefix))
    return times


try:
    # Our Swapper, in a node-guardian (release build).
    gport = free_port()
    config = os.path.join(ROOT, "node.yaml")
    with open(config, "w") as f:
        f.write("""metrics:
  interval: 1h
ollama: null
router:
  open_localhost: true
swapper:
  start_port: %d
  models:
    smollm2:
      cmd: %s -m ${MODEL_PATH} --port ${PORT} --host 127.0.0.1 -t 1 -c 1024
      model_path: %s
    gemma:
      cmd: %s -m ${MODEL_PATH} --port ${PORT} --host 127.0.0.1 -t 1 -c 1024
      model_path: %s
  groups:
    small: { members: [smollm2, gemma], exclusive: true }
""" % (free_port(), LLAMA, SMOL, LLAMA, GEMMA))
    start([os.path.join(BIN, "node-guardian"), "run", "--config", config, "--data-dir", os.path.join(ROOT, "data"),
           "--listen", "127.0.0.1:%d" % gport, "--node-id", "bench"], "guardian.log")
    wait_http("http://127.0.0.1:%d/health" % gport)
    ours = swaps(gport, ["smollm2", "gemma"], 6, prefix="/swapper")

    # llama-server's router mode, same models, same flags.
    models_dir = os.path.join(ROOT, "models")
    os.makedirs(models_dir)
    os.symlink(SMOL, os.path.join(models_dir, "smollm2.gguf"))
    os.symlink(GEMMA, os.path.join(models_dir, "gemma.gguf"))
    rport = free_port()
    router = start([LLAMA, "--models-dir", models_dir, "--models-max", "1", "--port", str(rport), "--host", "127.0.0.1",
                    "-t", "1", "-c", "1024"], "router.log")
    wait_http("http://127.0.0.1:%d/v1/models" % rport)
    theirs = swaps(rport, ["smollm2", "gemma"], 6)
    router.terminate()
    router.wait()

    print("swap latency (request for the other model -> first token), median of 6 swaps:")
    print("  DAGI Swapper:               %6.0f ms  (all: %s)" % (statistics.median(ours) * 1000, ", ".join("%.0f" % (t * 1000) for t in ours)))
    print("  llama-server router mode:   %6.0f ms  (all: %s)" % (statistics.median(theirs) * 1000, ", ".join("%.0f" % (t * 1000) for t in theirs)))
    print("  ratio (ours / router mode): %.2f" % (statistics.median(ours) / statistics.median(theirs)))

    # Proxy overhead on a warm model: direct llama-server vs. through the Swapper.
    dport = free_port()
    start([LLAMA, "-m", SMOL, "--port", str(dport), "--host", "127.0.0.1", "-t", "1", "-c", "1024"], "direct.log")
    wait_http("http://127.0.0.1:%d/health" % dport)
    body = {"model": "smollm2", "max_tokens": 1, "temperature": 0, "messages": [{"role": "user", "content": "Hi"}]}
    first_token(gport, "smollm2", "/swapper")
    direct, proxied, routed = [], [], []
    for _ in range(5):
        request(dport, "/v1/chat/completions", body)
        request(gport, "/swapper/v1/chat/completions", body)
        request(gport, "/v1/chat/completions", body)
    for _ in range(60):
        direct.append(request(dport, "/v1/chat/completions", body)[1])
        proxied.append(request(gport, "/swapper/v1/chat/completions", body)[1])
        routed.append(request(gport, "/v1/chat/completions", body)[1])
    d50 = statistics.median(direct)
    print("warm one-token completion, 60 requests each, interleaved:")
    print("  direct to llama-server:          p50 %.2f ms  p90 %.2f ms" % (d50 * 1000, sorted(direct)[54] * 1000))
    for label, times in [("through the Swapper proxy", proxied), ("through the router (fast path)", routed)]:
        p50 = statistics.median(times)
        print("  %-32s p50 %.2f ms  p90 %.2f ms  added p50 %+.2f ms (%.1f%% of direct)" % (
            label + ":", p50 * 1000, sorted(times)[54] * 1000, (p50 - d50) * 1000, (p50 - d50) / d50 * 100))
finally:
    processes.stop_all()
