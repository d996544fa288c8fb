"""Router benchmark driver (run by scripts/bench-router). One run, one fast mock upstream on
loopback, the same requests through three paths:

  direct    wrk -> mock upstream
  router    wrk -> node-guardian's router -> mock upstream (an authenticated agent, a Swapper model)
  litellm   wrk -> LiteLLM proxy 1.106.2 -> mock upstream (master key)

Prints req/s and p50/p99 latency at concurrency 1 and 10, the router's added latency and
throughput ratios, and the streaming time-to-first-byte overhead. The cloud path follows: the
same mock answers as OpenAI, Anthropic and Gemini providers (cloud models bench-openai,
bench-anthropic, bench-gemini), and the router's added latency and per-chunk stream cost for each
are printed beside OpenAI passthrough's, so translation is measured against relaying. The
compatibility APIs (the LLM proxy's and the provider service's paths) are timed against /v1 with
the same chat. The response cache's hit path is timed against a direct call to the upstream, and
100 identical concurrent requests merged into one upstream call against 100 calls. With BASELINE_BIN set to the
release directory of an earlier build, that build's router runs too ("baseline"), against the
same upstream in the same run, so a change is measured against what it replaced.
"""
import json, os, re, socket, statistics, subprocess, sys, tempfile, time, urllib.request

from benchlib import Processes, free_port, wait_http

BIN, LITELLM = sys.argv[1], sys.argv[2]
BASELINE_BIN = os.environ.get("BASELINE_BIN")
DURATION = os.environ.get("BENCH_SECONDS", "8")
ROOT = tempfile.mkdtemp(prefix="dagi-bench-router-")
KEY = "sk-bench-agent-key"


processes = Processes(ROOT)
start = processes.start


COMPAT_SECRET = "bench-internal-secret-0123456789abcdef"
# An agent with requests and tokens per minute and budgets (never reached): its requests pay for the checks.
LIMITED_KEY = "sk-bench-limited-0123456789abcdef0123"
BODY = json.dumps({"model": "mock", "messages": [{"role": "user", "content": "Hello there, how are you today?"}], "max_tokens": 16})


def wrk(url, connections, auth, body=BODY, headers=None):
    script = os.path.join(ROOT, "post.lua")
    with open(script, "w") as f:
        f.write('wrk.method = "POST"\nwrk.body = %s\nwrk.headers["Content-Type"] = "application/json"\n' % json.dumps(body))
        if auth:
            f.write('wrk.headers["Authorization"] = "Bearer %s"\n' % auth)
        for name, value in (headers or {}).items():
            f.write('wrk.headers["%s"] = "%s"\n' % (name, value))
    out = subprocess.run(["wrk", "-t1", "-c%d" % connections, "-d%ss" % DURATION, "--latency", "-s", script, url],
                         capture_output=True, text=True).stdout
    def ms(label):
        m = re.search(r"^\s*%s\s+([\d.]+)(us|ms|s)\s*$" % label, out, re.M)
        if not m:
            return float("nan")
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = int(non2xx.group(1)) if non2xx else 0
    return {"rps": rps, "p50": ms("50%"), "p99": ms("99%"), "errors": errors}


def read_response(sock, first_event_at=None):
    """Reads one HTTP/1.1 response (content-length or chunked); returns when its first SSE
    event arrived (perf_counter) and the raw bytes."""
    data = b""
    first = None
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    headers = head.decode("latin-1").lower()
    if b"data:" in body:
        first = time.perf_counter()
    m = re.search(r"content-length:\s*(\d+)", headers)
    if m:
        length = int(m.group(1))
        while len(body) < length:
            body += sock.recv(65536)
            if first is None and b"data:" in body:
                first = time.perf_counter()
    else:
        while not body.endswith(b"0\r\n\r\n"):
            chunk = sock.recv(65536)
            if not chunk:
                raise SystemExit("connection closed mid-response")
            body += chunk
            if first is None and b"data:" in body:
                first = time.perf_counter()
    return first


def first_byte(port, path, auth, n=300):
    """Median time from sending a streaming request to its first SSE event, on one connection."""
    body = json.dumps({"model": "mock", "stream": True, "messages": [{"role": "user", "content": "hi"}]}, separators=(",", ":")).encode()
    head = ("POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s\r\n"
            % (path, len(body), ("Authorization: Bearer %s\r\n" % auth) if auth else "")).encode()
    times = []
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.settimeout(10)
    for i in range(n + 20):
        t0 = time.perf_counter()
        sock.sendall(head + body)
        first = read_response(sock)
        if i >= 20:
            times.append((first - t0) * 1000)
    sock.close()
    return statistics.median(times)


try:
    upstream = free_port()
    start([os.path.join(BIN, "dagi-bench"), "mock-upstream", "--port", str(upstream)], "upstream.log")
    wait_http("http://127.0.0.1:%d/health" % upstream)

    gport = free_port()
    config = os.path.join(ROOT, "node.yaml")
    import hashlib
    with open(config, "w") as f:
        f.write("""metrics:
  interval: 1h
ollama: null
agents:
  - name: bench
    key_sha256: %s
swapper:
  models:
    mock:
      cmd: sleep 100000000
      proxy: http://127.0.0.1:%d
      check_endpoint: /health
""" % (hashlib.sha256(KEY.encode()).hexdigest(), upstream))
    cloud_config = os.path.join(ROOT, "cloud.yaml")
    with open(config) as f, open(cloud_config, "w") as g:
        # (The baseline build runs `config`, without keys it may not know.)
        limited = ("  - name: bench-limited\n    key_sha256: %s\n    allow_cloud: true\n    rpm: 1000000000\n    tpm: 1000000000000\n"
                   "    budget: { daily: 1000000000, monthly: 1000000000 }\nswapper:\n") % hashlib.sha256(LIMITED_KEY.encode()).hexdigest()
        g.write(f.read().replace("  - name: bench\n", "  - name: bench\n    allow_cloud: true\n").replace("swapper:\n", limited) + """providers:
  openai: { kind: openai, key_env: BENCH_PROVIDER_KEY, base_url: http://127.0.0.1:%d/v1 }
  anthropic: { kind: anthropic, key_env: BENCH_PROVIDER_KEY, base_url: http://127.0.0.1:%d }
  google: { kind: gemini, key_env: BENCH_PROVIDER_KEY, base_url: http://127.0.0.1:%d }
compat: { llm_proxy: true, provider_service: true }
cloud_models:
  bench-openai: { provider: openai, id: mock, input: 0.40, output: 1.60 }
  bench-anthropic: { provider: anthropic, id: mock, input: 1.00, output: 5.00 }
  bench-gemini: { provider: google, id: mock, input: 0.30, output: 2.50 }
""" % (upstream, upstream, upstream))
    env = dict(os.environ, DAGI_LOG_LEVEL="warning", BENCH_PROVIDER_KEY="sk-bench-provider", LLM_PROXY_SECRET=COMPAT_SECRET)
    start([os.path.join(BIN, "node-guardian"), "run", "--config", cloud_config, "--data-dir", os.path.join(ROOT, "data"),
           "--listen", "127.0.0.1:%d" % gport, "--node-id", "bench"], "guardian.log", env)
    wait_http("http://127.0.0.1:%d/health" % gport)
    if BASELINE_BIN:
        bport = free_port()
        start([os.path.join(BASELINE_BIN, "node-guardian"), "run", "--config", config, "--data-dir", os.path.join(ROOT, "baseline-data"),
               "--listen", "127.0.0.1:%d" % bport, "--node-id", "baseline"], "baseline.log", env)
        wait_http("http://127.0.0.1:%d/health" % bport)

    lport = free_port()
    lconfig = os.path.join(ROOT, "litellm.yaml")
    with open(lconfig, "w") as f:
        f.write("""model_list:
  - model_name: mock
    litellm_params:
      model: openai/mock
      api_base: http://127.0.0.1:%d/v1
      api_key: sk-upstream
general_settings:
  master_key: sk-litellm-master
litellm_settings:
  drop_params: true
""" % upstream)
    lenv = dict(os.environ, LITELLM_LOCAL_MODEL_COST_MAP="True", LITELLM_MASTER_KEY="sk-litellm-master", LITELLM_LOG="ERROR")
    start([os.path.join(LITELLM, "litellm"), "--config", lconfig, "--port", str(lport), "--host", "127.0.0.1", "--num_workers", "1"],
          "litellm.log", lenv)
    wait_http("http://127.0.0.1:%d/health/liveliness" % lport, timeout=300)

    targets = [
        ("direct", "http://127.0.0.1:%d/v1/chat/completions" % upstream, None),
        ("router", "http://127.0.0.1:%d/v1/chat/completions" % gport, KEY),
        ("litellm", "http://127.0.0.1:%d/v1/chat/completions" % lport, "sk-litellm-master"),
    ]
    if BASELINE_BIN:
        targets.insert(2, ("baseline", "http://127.0.0.1:%d/v1/chat/completions" % bport, KEY))
    # Warm every path (the router starts its Swapper model on the first request).
    for name, url, auth in targets:
        req = urllib.request.Request(url, data=BODY.encode(), headers=dict({"content-type": "application/json"},
                                     **({"authorization": "Bearer " + auth} if auth else {})))
        urllib.request.urlopen(req, timeout=60).read()
    results = {}
    for c in (1, 10):
        for name, url, auth in targets:
            results[(name, c)] = wrk(url, c, auth)
    print("%-8s %4s %10s %10s %10s %8s" % ("path", "conc", "req/s", "p50 ms", "p99 ms", "errors"))
    for c in (1, 10):
        for name, _, _ in targets:
            r = results[(name, c)]
            print("%-8s %4d %10.0f %10.3f %10.3f %8d" % (name, c, r["rps"], r["p50"], r["p99"], r["errors"]))
    d1, r1, l1 = results[("direct", 1)], results[("router", 1)], results[("litellm", 1)]
    d10, r10, l10 = results[("direct", 10)], results[("router", 10)], results[("litellm", 10)]
    added50, added99 = r1["p50"] - d1["p50"], r1["p99"] - d1["p99"]
    print("router added latency at concurrency 1: p50 %+.3f ms, p99 %+.3f ms (LiteLLM: p50 %+.3f ms)" % (added50, added99, l1["p50"] - d1["p50"]))
    print("throughput: router/direct %.2f (c=1), %.2f (c=10); router/LiteLLM %.1fx (c=1), %.1fx (c=10)" % (
        r1["rps"] / d1["rps"], r10["rps"] / d10["rps"], r1["rps"] / l1["rps"], r10["rps"] / l10["rps"]))
    ttfb_direct = first_byte(upstream, "/v1/chat/completions", None)
    ttfb_router = first_byte(gport, "/v1/chat/completions", KEY)
    print("streaming time to first byte: direct %.3f ms, router %.3f ms, overhead %+.3f ms" % (ttfb_direct, ttfb_router, ttfb_router - ttfb_direct))
    if BASELINE_BIN:
        b1, b10 = results[("baseline", 1)], results[("baseline", 10)]
        ttfb_base = first_byte(bport, "/v1/chat/completions", KEY)
        print("vs baseline (%s): added p50 %+.3f ms (baseline %+.3f), p99 %+.3f ms (baseline %+.3f); req/s %.2fx (c=1), %.2fx (c=10); TTFB overhead %+.3f ms (baseline %+.3f)" % (
            BASELINE_BIN, added50, b1["p50"] - d1["p50"], added99, b1["p99"] - d1["p99"], r1["rps"] / b1["rps"], r10["rps"] / b10["rps"],
            ttfb_router - ttfb_direct, ttfb_base - ttfb_direct))
    print("targets: added p50 <= 0.2 ms %s; added p99 <= 2 ms %s; throughput >= 0.6x direct %s; >= 10x LiteLLM %s; TTFB overhead <= 1 ms %s" % (
        "MET" if added50 <= 0.2 else "MISSED", "MET" if added99 <= 2 else "MISSED",
        "MET" if min(r1["rps"] / d1["rps"], r10["rps"] / d10["rps"]) >= 0.6 else "MISSED",
        "MET" if min(r1["rps"] / l1["rps"], r10["rps"] / l10["rps"]) >= 10 else "MISSED",
        "MET" if ttfb_router - ttfb_direct <= 1 else "MISSED"))

    # The compatibility APIs: the same request (model, messages) through the LLM proxy's and the
    # provider service's paths, against /v1 in the same run: what reading it into an OpenAI request
    # and writing the answer in the service's shape add.
    proxy_body = json.dumps({"model": "mock", "messages": [{"role": "user", "content": "Hello there, how are you today?"}], "max_tokens": 16,
                             "metadata": {"agent_id": "agent:bench"}})
    compat = [("/v1", "/v1/chat/completions", BODY, {"Authorization": "Bearer " + KEY}),
              ("limited", "/v1/chat/completions", BODY, {"Authorization": "Bearer " + LIMITED_KEY}),
              ("cloud", "/v1/chat/completions", BODY.replace('"mock"', '"bench-openai"'), {"Authorization": "Bearer " + KEY}),
              ("cloud+b", "/v1/chat/completions", BODY.replace('"mock"', '"bench-openai"'), {"Authorization": "Bearer " + LIMITED_KEY}),
              ("proxy", "/internal/llm/proxy", proxy_body, {"X-Internal-Secret": COMPAT_SECRET}),
              ("service", "/api/v1/completion", BODY, {"X-Internal-Secret": COMPAT_SECRET, "X-Agent-Id": "agent:bench"})]
    print()
    print("compatibility APIs, rate limits and budgets (the same chat through each path, this run; limited: /v1 for an agent with rpm,")
    print("tpm and budgets, to a mesh model; cloud: the mock as OpenAI, without and with (cloud+b) them: a reservation and its settling):")
    print("%-8s %4s %10s %10s %10s %8s" % ("path", "conc", "req/s", "p50 ms", "p99 ms", "errors"))
    measured = {}
    for c in (1, 10):
        for name, path, body, headers in compat:
            r = measured[(name, c)] = wrk("http://127.0.0.1:%d%s" % (gport, path), c, None, body, headers)
            print("%-8s %4d %10.0f %10.3f %10.3f %8d" % (name, c, r["rps"], r["p50"], r["p99"], r["errors"]))
    for name, base in (("limited", "/v1"), ("proxy", "/v1"), ("service", "/v1"), ("cloud+b", "cloud")):
        print("%s vs %s: p50 %+.3f ms (c=1), req/s %.2fx (c=1), %.2fx (c=10)" % (
            name, base, measured[(name, 1)]["p50"] - measured[(base, 1)]["p50"], measured[(name, 1)]["rps"] / measured[(base, 1)]["rps"],
            measured[(name, 10)]["rps"] / measured[(base, 10)]["rps"]))

    # The response cache: a repeated deterministic request (temperature 0) is answered from the
    # node's cache. Its latency and throughput against a direct call to the upstream (the fastest
    # there is) and against the router's ordinary path (the sampled BODY above), in this run.
    cached_body = json.dumps({"model": "mock", "temperature": 0, "messages": [{"role": "user", "content": "Hello there, how are you today?"}],
                              "max_tokens": 16})
    router_url = "http://127.0.0.1:%d/v1/chat/completions" % gport
    for _ in range(2):
        reply = urllib.request.urlopen(urllib.request.Request(router_url, data=cached_body.encode(), headers={
            "content-type": "application/json", "authorization": "Bearer " + KEY}), timeout=60)
        reply.read()
    if reply.headers.get("x-dagi-cache") != "hit":
        raise SystemExit("the repeated deterministic request was not a cache hit: %s" % reply.headers.get("x-dagi-cache"))
    print()
    print("response cache (a repeated temperature-0 request, answered from this node's cache; direct: the same request to the upstream):")
    print("%-8s %4s %10s %10s %10s %8s" % ("path", "conc", "req/s", "p50 ms", "p99 ms", "errors"))
    hits = {}
    for c in (1, 10):
        for name, url, auth in (("direct", "http://127.0.0.1:%d/v1/chat/completions" % upstream, None), ("router", router_url, KEY),
                                ("hit", router_url, KEY)):
            r = hits[(name, c)] = wrk(url, c, auth, BODY if name == "router" else cached_body)
            print("%-8s %4d %10.0f %10.3f %10.3f %8d" % (name, c, r["rps"], r["p50"], r["p99"], r["errors"]))
    print("cache hit vs direct call: p50 %.3f vs %.3f ms (%.2fx), req/s %.2fx (c=1), %.2fx (c=10); vs the router's uncached path p50 %+.3f ms" % (
        hits[("hit", 1)]["p50"], hits[("direct", 1)]["p50"], hits[("hit", 1)]["p50"] / hits[("direct", 1)]["p50"],
        hits[("hit", 1)]["rps"] / hits[("direct", 1)]["rps"], hits[("hit", 10)]["rps"] / hits[("direct", 10)]["rps"],
        hits[("hit", 1)]["p50"] - hits[("router", 1)]["p50"]))

    # Coalescing: 100 identical requests at once to a cloud model whose upstream takes 200 ms,
    # merged (temperature 0: one upstream call, fanned out) and not (x-dagi-cache: off: 100 calls).
    import threading
    def upstream_calls():
        return int(urllib.request.urlopen("http://127.0.0.1:%d/count" % upstream, timeout=10).read())

    def burst(n, body, headers):
        barrier, statuses = threading.Barrier(n), []
        def one():
            barrier.wait()
            try:
                reply = urllib.request.urlopen(urllib.request.Request(router_url, data=body.encode(), headers=headers), timeout=60)
                reply.read()
                statuses.append(reply.status)
            except Exception as error:  # counted as a failure below
                statuses.append(str(error))
        threads = [threading.Thread(target=one) for _ in range(n)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return (time.perf_counter() - t0) * 1000, sum(1 for s in statuses if s != 200)

    print()
    print("coalescing (100 identical requests at once; the upstream answers each call in 200 ms):")
    merged = {}
    for round_, (name, extra) in enumerate((("merged", {}), ("separate", {"x-dagi-cache": "off"}), ("merged", {}), ("separate", {"x-dagi-cache": "off"}))):
        body = json.dumps({"model": "bench-openai", "temperature": 0, "mock_delay_ms": 200, "max_tokens": 16,
                           "messages": [{"role": "user", "content": "Round %d of the coalescing benchmark." % round_}]})
        headers = dict({"content-type": "application/json", "authorization": "Bearer " + KEY}, **extra)
        before = upstream_calls()
        elapsed, failed = burst(100, body, headers)
        merged.setdefault(name, []).append((elapsed, upstream_calls() - before, failed))
    for name, runs in merged.items():
        print("%-8s upstream calls %s, all 100 answered in %s ms, failures %s" % (
            name, [r[1] for r in runs], ["%.0f" % r[0] for r in runs], [r[2] for r in runs]))
    best = lambda name: min(r[0] for r in merged[name])
    print("coalescing: %d upstream call(s) instead of %d; 100 answers in %.0f ms vs %.0f ms (%.2fx)" % (
        merged["merged"][-1][1], merged["separate"][-1][1], best("merged"), best("separate"), best("separate") / best("merged")))

    # The cloud path: the router's added latency per provider kind (non-streamed, c=1), and the
    # cost of one more streamed chunk through each adapter (timing 8- and 200-chunk streams).
    def body_for(model, stream=False, chunks=None):
        doc = {"model": model, "messages": [{"role": "user", "content": "Hello there, how are you today?"}]}
        doc["max_tokens"] = chunks or 16
        if stream:
            doc["stream"] = True
        return json.dumps(doc, separators=(",", ":"))

    def stream_time(port, path, body, auth, n=200):
        """Median ms for a whole streamed answer, on one keep-alive connection."""
        body = body.encode()
        head = ("POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s\r\n"
                % (path, len(body), ("Authorization: Bearer %s\r\n" % auth) if auth else "")).encode()
        sock = socket.create_connection(("127.0.0.1", port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(10)
        times = []
        for i in range(n + 20):
            t0 = time.perf_counter()
            sock.sendall(head + body)
            read_response(sock)
            if i >= 20:
                times.append((time.perf_counter() - t0) * 1000)
        sock.close()
        return statistics.median(times)

    kinds = [
        ("openai", "bench-openai", "/v1/chat/completions",
         lambda c: body_for("mock", True, c), lambda: BODY),
        ("anthropic", "bench-anthropic", "/v1/messages",
         lambda c: json.dumps({"model": "mock", "max_tokens": c, "stream": True, "messages": [{"role": "user", "content": "hi"}]}),
         lambda: json.dumps({"model": "mock", "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]})),
        ("gemini", "bench-gemini", None,
         lambda c: json.dumps({"contents": [{"role": "user", "parts": [{"text": "hi"}]}], "generationConfig": {"maxOutputTokens": c}}),
         lambda: json.dumps({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]})),
    ]
    print()
    print("cloud path (the mock as each provider; the router translates Anthropic and Gemini, relays OpenAI):")
    print("%-10s %10s %10s %12s %14s %14s %14s" % ("provider", "direct p50", "router p50", "added p50 ms", "direct us/chunk",
                                                   "router us/chunk", "added us/chunk"))
    cloud = {}
    for kind, model, path, stream_body, plain_body in kinds:
        plain_path = path or "/v1beta/models/mock:generateContent"
        stream_path = path or "/v1beta/models/mock:streamGenerateContent?alt=sse"
        direct = wrk("http://127.0.0.1:%d%s" % (upstream, plain_path), 1, None, plain_body())
        routed = wrk("http://127.0.0.1:%d/v1/chat/completions" % gport, 1, KEY, body_for(model))
        if routed["errors"]:
            raise SystemExit("%s: %d errors through the router" % (kind, routed["errors"]))
        d8, d200 = (stream_time(upstream, stream_path, stream_body(c), None) for c in (8, 200))
        r8, r200 = (stream_time(gport, "/v1/chat/completions", body_for(model, True, c), KEY) for c in (8, 200))
        per_direct, per_router = (d200 - d8) / 192 * 1000, (r200 - r8) / 192 * 1000
        cloud[kind] = (routed["p50"] - direct["p50"], per_router - per_direct)
        print("%-10s %10.3f %10.3f %+12.3f %14.2f %14.2f %+14.2f" % (kind, direct["p50"], routed["p50"], routed["p50"] - direct["p50"],
                                                                 per_direct, per_router, per_router - per_direct))
    for kind in ("anthropic", "gemini"):
        print("%s translation vs OpenAI passthrough: added p50 %+.3f ms, added per chunk %+.2f us" % (
            kind, cloud[kind][0] - cloud["openai"][0], cloud[kind][1] - cloud["openai"][1]))
finally:
    processes.stop_all()
