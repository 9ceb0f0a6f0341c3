"""The production topology on loopback: each Deployment of the rendered eks overlay as real processes of the service
binaries, configured with exactly the environment and arguments the manifest gives the container; only addresses
change, because everything shares 127.0.0.1:

  - listen addresses (0.0.0.0:P) become 127.0.0.1:<free port>, and every peer URL http://<Service>:<port> follows the
    Service to the process that serves it;
  - store URLs keep their credentials and point at throwaway servers: PostgreSQL (the test servers', with the
    manifest's role, password and databases created), Redis (started here with the redis StatefulSet's own flags and
    password), the MongoDB-compatible test server (no auth: its URL replaces the manifest's), and SQLite for metrics
    (no InfluxDB 2 server installs here);
  - the gateway's dashboard directory is a stand-in holding index.html;
  - variables in deploy/tests/pending-settings.txt are left out (this branch's binaries do not know them yet).

A renamed or missing variable in the manifests therefore breaks this run the way it would break the cluster.
"""

import glob
import os
import re
import shlex
import signal
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import config_check as cc
import deployment as d
from wsclient import status_of

# Processes per Deployment: the HPA's minimum where one scales it, else one.
HPA_MIN = 2


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def with_host(url, host, port):
    parts = urlsplit(url)
    auth = url[len(parts.scheme) + 3:].split("@", 1)[0] + "@" if "@" in parts.netloc else ""
    return urlunsplit((parts.scheme, f"{auth}{host}:{port}", parts.path, parts.query, parts.fragment))


class Process:
    def __init__(self, name, service, args, env, ports):
        self.name, self.service, self.args, self.env, self.ports = name, service, args, env, ports
        self.popen = None
        self.log = None

    @property
    def ready_url(self):
        port = self.ports.get("admin") if "grpc" in self.ports else self.ports.get("http", self.ports.get("admin"))
        return f"http://127.0.0.1:{port}/readyz"

    def start(self, workdir):
        self.log = Path(workdir) / f"{self.name}.log"
        with open(self.log, "wb") as out:
            self.popen = subprocess.Popen([str(cc.BIN_DIR / d.SERVICES[self.service]), *self.args], env=self.env,
                                          cwd=workdir, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)

    def healthcheck(self):
        """Exit status of `<binary> [args] healthcheck` with this process's environment (what compose runs)."""
        return subprocess.run([str(cc.BIN_DIR / d.SERVICES[self.service]), *self.args, "healthcheck"], env=self.env,
                              cwd=self.log.parent, capture_output=True, timeout=30).returncode

    def alive(self):
        return self.popen is not None and self.popen.poll() is None

    def stop(self, sig=signal.SIGTERM):
        if self.alive():
            self.popen.send_signal(sig)

    def tail(self, lines=25):
        if self.log and self.log.exists():
            return "\n".join("    " + line for line in self.log.read_text(errors="replace").splitlines()[-lines:])
        return "    (no log)"


class Topology:
    """Processes and stores of one loopback run, built from a rendered cluster."""

    def __init__(self, cluster, workdir):
        self.cluster = cluster
        self.workdir = Path(workdir)
        self.pending = d.pending_settings()
        self.processes = []
        self.stores = []
        self.redis = None

    # -- stores -------------------------------------------------------------------------------------------------------
    def store_env(self, name):
        workload = self.cluster.get("StatefulSet", name)
        container = workload["spec"]["template"]["spec"]["containers"][0]
        return container, self.cluster.container_env(container)

    def start_redis(self):
        container, env = self.store_env("redis")
        command = " ".join(container.get("args") or [])
        command = re.sub(r"^exec\s+", "", command).replace('"$REDIS_PASSWORD"', shlex.quote(env["REDIS_PASSWORD"]))
        argv = shlex.split(command)
        port = free_port()
        data = self.workdir / "redis"
        data.mkdir()
        for flag, value in (("--port", str(port)), ("--dir", str(data))):
            argv[argv.index(flag) + 1] = value
        argv += ["--bind", "127.0.0.1"]
        log = open(self.workdir / "redis.log", "wb")
        self.redis = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.stores.append(self.redis)
        return port

    def prepare_postgres(self, admin_url):
        """The manifest's role, password and databases (POSTGRES_USER/PASSWORD/DB and the init SQL) on the test server."""
        container, env = self.store_env("postgres")
        psql = sorted(glob.glob("/usr/lib/postgresql/*/bin/psql")) or ["psql"]
        user, password, database = env["POSTGRES_USER"], env["POSTGRES_PASSWORD"], env["POSTGRES_DB"]
        init = self.cluster.get("ConfigMap", "postgres-init")["data"]
        statements = [f"CREATE ROLE {user} LOGIN PASSWORD '{password}'", f"CREATE DATABASE {database} OWNER {user}"]
        statements += [sql for _, sql in sorted(init.items())]
        for sql in statements:
            subprocess.run([psql[-1], admin_url, "-v", "ON_ERROR_STOP=1", "-qc", sql], check=True,
                           capture_output=True)
        return urlsplit(admin_url).port

    # -- services -----------------------------------------------------------------------------------------------------
    def plan(self, postgres_port, redis_port, mongodb_url):
        """One Process per replica (HPA minimum for scaled Deployments, one otherwise), ports assigned, env mapped."""
        hpa = {h["spec"]["scaleTargetRef"]["name"] for h in self.cluster.of_kind("HorizontalPodAutoscaler")}
        for workload, container, service, env in self.cluster.devopstrack_containers():
            name = workload["metadata"]["name"]
            for replica in range(HPA_MIN if name in hpa else 1):
                ports = {p["name"]: free_port() for p in container.get("ports") or []}
                self.processes.append(Process(f"{name}-{replica}", service, container.get("args") or [], env, ports))
        by_workload = {}
        for process in self.processes:
            by_workload.setdefault(process.name.rsplit("-", 1)[0], []).append(process)
        dashboard = self.workdir / "dashboard"
        dashboard.mkdir()
        (dashboard / "index.html").write_text("<!doctype html><html><body>DevOpsTrack</body></html>")
        stores = {"postgres": ("127.0.0.1", postgres_port), "redis": ("127.0.0.1", redis_port)}
        for process in self.processes:
            env = {k: v for k, v in process.env.items() if k not in self.pending}
            prefix = cc.prefix(process.service)
            for port_name, key in cc.LISTEN.items():
                if port_name in process.ports and prefix + key in env:
                    env[prefix + key] = f"127.0.0.1:{process.ports[port_name]}"
            for key, value in list(env.items()):
                if not key.endswith("_URL") or not value:
                    continue
                host, port = urlsplit(value).hostname, urlsplit(value).port
                if key == prefix + "DATABASE_URL":
                    env[key] = self.store_url(process.service, value, stores, mongodb_url)
                    continue
                target = self.cluster.services().get(host)
                service_port = next(p for p in target["spec"]["ports"] if p["port"] == port)
                callee = by_workload[self.cluster.pods_selected(target["spec"]["selector"])[0]["metadata"]["name"]][0]
                env[key] = with_host(value, "127.0.0.1", callee.ports[service_port["targetPort"]])
            if prefix + "DASHBOARD_DIR" in env:
                env[prefix + "DASHBOARD_DIR"] = str(dashboard)
            env["PATH"] = os.environ.get("PATH", "/usr/bin:/bin")
            env.setdefault("DEVOPSTRACK_LOG", "info")
            process.env = env
        return self.processes

    def store_url(self, service, url, stores, mongodb_url):
        host = urlsplit(url).hostname
        if service == "projects":
            parts = urlsplit(mongodb_url)
            return urlunsplit((parts.scheme, parts.netloc, "/" + urlsplit(url).path.lstrip("/"), parts.query, ""))
        if service == "metrics":
            return f"sqlite://{self.workdir}/metrics.db"
        return with_host(url, *stores[host])

    # -- running ------------------------------------------------------------------------------------------------------
    def start(self, names=None):
        for process in self.processes:
            if names is None or process.name in names:
                process.start(self.workdir)

    def wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        waiting = list(self.processes)
        while waiting and time.monotonic() < deadline:
            for process in list(waiting):
                if not process.alive():
                    raise RuntimeError(f"{process.name} exited:\n{process.tail()}")
                if status_of(process.ready_url, timeout=2) == 200:
                    waiting.remove(process)
            time.sleep(0.2)
        if waiting:
            raise RuntimeError("not ready in time: " + ", ".join(p.name for p in waiting) + "\n" +
                               "\n".join(f"  {p.name}:\n{p.tail()}" for p in waiting))

    def named(self, name):
        return next(p for p in self.processes if p.name == name)

    def stop(self):
        for process in self.processes:
            process.stop()
        deadline = time.monotonic() + 30
        for process in self.processes:
            if process.popen is None:
                continue
            try:
                process.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.stop(signal.SIGKILL)
                process.popen.wait()
        for store in self.stores:
            store.terminate()
            store.wait(timeout=10)
