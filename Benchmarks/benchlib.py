"""What the benchmark drivers share: free ports, waiting for a server, and processes that are
always stopped (SIGCONT first, in case a test stopped them; SIGTERM; SIGKILL if they hang)."""
import os, signal, socket, subprocess, time, urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url, timeout=120, headers=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=2).status == 200:
                return
        except Exception:
            pass
        time.sleep(0.05)
    raise SystemExit("%s never became ready" % url)


class Processes:
    def __init__(self, root):
        self.root = root
        self.procs = []

    def start(self, args, log, env=None):
        p = subprocess.Popen(args, stdout=open(os.path.join(self.root, log), "ab"), stderr=subprocess.STDOUT, env=env)
        self.procs.append(p)
        return p

    def stop_all(self):
        for p in self.procs:
            if p.poll() is None:
                try:
                    os.kill(p.pid, signal.SIGCONT)
                except OSError:
                    pass
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
        self.procs.clear()
