"""The production topology on loopback (loopback.py), driven like a team would drive the cluster:

  1. sign in on gateway A (the first admin comes from the Secret's DEVOPSTRACK_ADMIN_PASSWORD, as in the cluster);
  2. follow the project on a WebSocket of gateway B, and create a pipeline through A: B's socket sees it succeed;
  3. a pipeline of 16 jobs is spread over both workers;
  4. a pipeline whose jobs run long: one worker is killed with SIGKILL while it runs some of them; every job still
     succeeds, and B's socket sees each job finish exactly once.

Every process's `healthcheck` subcommand (what compose runs) answers 0 once it is ready, and 1 once it is killed.

Bounded: every wait has a deadline, and the whole run stops after DEVOPSTRACK_CLUSTER_TIMEOUT seconds (default 240).
Run by scripts/cluster.sh, inside scripts/test-servers.sh (PostgreSQL and the MongoDB-compatible server).
"""

import os
import signal
import sys
import tempfile
import time

import deployment as d
from loopback import Topology
from wsclient import WebSocket, call

PROJECT = "cluster"
TERMINAL = {"succeeded", "failed", "cancelled", "timed_out"}


def log(message):
    print(f"==> cluster: {message}", flush=True)


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def wait_until(what, timeout, probe, every=0.3):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"{what}: not within {timeout} s")


def worker_name(process):
    """The name a tasks worker records on the jobs it runs: `<hostname>-<pid>` (crates/tasks worker::process_name)."""
    try:
        host = open("/etc/hostname").read().strip() or "worker"
    except OSError:
        host = "worker"
    return f"{host}-{process.popen.pid}"


def simulate(count, duration_ms):
    return [{"name": f"job-{i:02}", "executor": "simulate",
             "params": {"durationMs": duration_ms, "failRate": 0, "logLines": 1}} for i in range(count)]


def create_pipeline(base, token, jobs):
    status, body = call(base, "POST", "/api/v1/pipelines", {"project": PROJECT, "stages": [{"name": "run", "jobs": jobs}]},
                        token)
    check(status == 201, f"create pipeline: {status} {body}")
    return body["id"]


def pipeline(base, token, pipeline_id):
    status, body = call(base, "GET", f"/api/v1/pipelines/{pipeline_id}", token=token)
    check(status == 200, f"get pipeline: {status} {body}")
    return body


def jobs_of(body):
    return [job for stage in body["stages"] for job in stage["jobs"]]


def collect(socket, pipeline_id, until, timeout):
    """Messages of `pipeline_id` on `socket` until `until(messages)` holds; answers them (deduplicated by eventId)."""
    seen, messages = set(), []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = socket.next(max(0.05, deadline - time.monotonic()))
        if message is None:
            continue
        if message.get("pipeline", {}).get("id") != pipeline_id or message.get("eventId") in seen:
            continue
        seen.add(message["eventId"])
        messages.append(message)
        if until(messages):
            return messages
    raise AssertionError(f"pipeline {pipeline_id}: gateway B's socket did not see the end within {timeout} s "
                         f"({len(messages)} events)")


def finished(messages):
    return any(m["type"] == "pipeline.updated" and m["pipeline"]["status"] in TERMINAL for m in messages)


def scenario(topology):
    env = topology.named("auth-0").env
    gateway_a, gateway_b = topology.named("gateway-0"), topology.named("gateway-1")
    base_a = f"http://127.0.0.1:{gateway_a.ports['http']}"
    base_b = f"http://127.0.0.1:{gateway_b.ports['http']}"

    log(f"sign in on gateway A ({base_a})")
    status, body = call(base_a, "POST", "/api/v1/auth/login",
                        {"email": env.get("DEVOPSTRACK_ADMIN_EMAIL", "admin@localhost"),
                         "password": env["DEVOPSTRACK_ADMIN_PASSWORD"]})
    check(status == 200, f"login on gateway A: {status} {body}")
    token = body["accessToken"]
    status, body = call(base_a, "POST", "/api/v1/projects", {"slug": PROJECT, "name": "Loopback cluster"}, token)
    check(status == 201, f"create project: {status} {body}")

    log(f"follow project:{PROJECT} on gateway B's WebSocket ({base_b})")
    socket = WebSocket("127.0.0.1", gateway_b.ports["http"], "/api/v1/ws")
    socket.send({"type": "auth", "token": token})
    check(socket.wait_for(lambda m: m["type"] == "authenticated", 20), "gateway B: no `authenticated`")
    socket.send({"type": "subscribe", "topics": [f"project:{PROJECT}"]})
    check(socket.wait_for(lambda m: m["type"] == "subscribed", 20), "gateway B: no `subscribed`")

    workers = [p for p in topology.processes if p.name.startswith("tasks-worker-")]
    names = {worker_name(w): w.name for w in workers}

    # Twice the jobs one worker may run at once (the manifest's WORKERS): both workers must take some.
    slots = int(workers[0].env.get("DEVOPSTRACK_TASKS__WORKERS", "8"))
    log(f"{2 * slots} jobs of 2 s ({slots} slots per worker), created on gateway A, followed on gateway B")
    spread_id = create_pipeline(base_a, token, simulate(2 * slots, 2000))
    messages = collect(socket, spread_id, finished, 90)
    final = pipeline(base_b, token, spread_id)
    check(final["status"] == "succeeded", f"pipeline {spread_id}: {final['status']}")
    check(any(m["type"] == "pipeline.updated" and m["pipeline"]["status"] == "succeeded" for m in messages),
          "gateway B's socket did not see the pipeline succeed")
    ran_on = {job["worker"] for job in jobs_of(final)}
    check(set(names) <= ran_on, f"jobs ran on {sorted(ran_on)}, not on both workers {sorted(names)}")
    log(f"  succeeded, seen on B ({len(messages)} events); jobs per worker: "
        + ", ".join(f"{names.get(w, w)}={sum(j['worker'] == w for j in jobs_of(final))}" for w in sorted(ran_on)))

    log("8 jobs of 6 s; SIGKILL the worker running them, mid-run")
    kill_id = create_pipeline(base_a, token, simulate(8, 6000))

    def running_by_worker():
        body = pipeline(base_a, token, kill_id)
        by_worker = {}
        for job in jobs_of(body):
            if job["status"] == "running" and job.get("worker") in names:
                by_worker.setdefault(job["worker"], []).append(job["id"])
        return by_worker

    victim_name, running = max(wait_until("a worker running a job", 60, running_by_worker).items(),
                               key=lambda item: len(item[1]))
    victim = next(w for w in workers if worker_name(w) == victim_name)
    victim.stop(signal.SIGKILL)
    victim.popen.wait(timeout=10)
    log(f"  killed {victim.name} ({victim_name}) while it ran {len(running)} job(s)")
    check(victim.healthcheck() == 1, f"`healthcheck` of the killed {victim.name} did not answer 1")
    messages = collect(socket, kill_id, finished, 120)
    final = pipeline(base_b, token, kill_id)
    check(final["status"] == "succeeded", f"pipeline {kill_id} after the kill: {final['status']}")
    for job in jobs_of(final):
        check(job["status"] == "succeeded", f"job {job['name']}: {job['status']}")
        ends = [m for m in messages if m["type"] == "job.updated" and m["job"]["id"] == job["id"]
                and m["job"]["status"] in TERMINAL]
        check(len(ends) == 1, f"job {job['name']} finished {len(ends)} times on gateway B's socket")
        if job["id"] in running:
            check(job["worker"] != victim_name, f"job {job['name']} was not run again after the kill")
    log(f"  every job succeeded once; {len(running)} job(s) of the killed worker ran again on the other")
    socket.close()


def main():
    timeout = int(os.environ.get("DEVOPSTRACK_CLUSTER_TIMEOUT", "240"))
    signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(TimeoutError(f"over {timeout} s")))
    signal.alarm(timeout)
    started = time.monotonic()
    cluster = d.Cluster.load("all-in-one")
    with tempfile.TemporaryDirectory(prefix="devopstrack-cluster.") as workdir:
        topology = Topology(cluster, workdir)
        try:
            redis_port = topology.start_redis()
            postgres_port = topology.prepare_postgres(os.environ["DEVOPSTRACK_TEST_POSTGRES_URL"])
            topology.plan(postgres_port, redis_port, os.environ["DEVOPSTRACK_TEST_MONGODB_URL"])
            log("processes: " + ", ".join(p.name for p in topology.processes) + " (env from the all-in-one)")
            topology.start()
            topology.wait_ready(90)
            log(f"all ready after {time.monotonic() - started:.1f} s")
            failing = [p.name for p in topology.processes if p.healthcheck() != 0]
            check(not failing, f"`healthcheck` failed for {failing}")
            log("`healthcheck` answers 0 for every process")
            scenario(topology)
        except BaseException:
            for process in topology.processes:
                print(f"--- {process.name} ({'running' if process.alive() else 'exited'}):\n{process.tail()}",
                      file=sys.stderr)
            raise
        finally:
            topology.stop()
    log(f"passed in {time.monotonic() - started:.1f} s")


if __name__ == "__main__":
    main()
