"""Policy rules on pods (policy.py lists them all): securityContext, resources, named ports, probes, Prometheus
annotations, drain time, Redis durability, volumes."""

import re

import deployment as d
from policy_common import containers, is_ours, name_of

# --- pods ------------------------------------------------------------------------------------------------------------

def check_security(cluster):
    problems = []
    accounts = {o["metadata"]["name"]: o for o in cluster.of_kind("ServiceAccount")}
    for workload, spec in cluster.pod_specs():
        where = name_of(workload)
        pod = spec.get("securityContext") or {}
        if pod.get("runAsNonRoot") is not True:
            problems.append(f"{where}: pod securityContext.runAsNonRoot is not true")
        if not isinstance(pod.get("runAsUser"), int) or pod.get("runAsUser") == 0:
            problems.append(f"{where}: pod runs as no numeric non-root uid")
        if (pod.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
            problems.append(f"{where}: pod seccompProfile is not RuntimeDefault")
        if spec.get("automountServiceAccountToken") is not False:
            problems.append(f"{where}: automountServiceAccountToken is not false")
        account = accounts.get(spec.get("serviceAccountName"))
        if account is None:
            problems.append(f"{where}: its ServiceAccount {spec.get('serviceAccountName')!r} is not in the render")
        elif account.get("automountServiceAccountToken") is not False:
            problems.append(f"ServiceAccount/{account['metadata']['name']}: automountServiceAccountToken not false")
        volumes = {v["name"]: v for v in spec.get("volumes") or []}
        for c in containers(spec):
            sc = c.get("securityContext") or {}
            if sc.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{where}/{c['name']}: allowPrivilegeEscalation is not false")
            if sc.get("readOnlyRootFilesystem") is not True:
                problems.append(f"{where}/{c['name']}: readOnlyRootFilesystem is not true")
            if (sc.get("capabilities") or {}).get("drop") != ["ALL"]:
                problems.append(f"{where}/{c['name']}: capabilities do not drop ALL")
            if sc.get("runAsUser") == 0 or sc.get("privileged"):
                problems.append(f"{where}/{c['name']}: runs as root or privileged")
            if is_ours(c):
                tmp = [m for m in c.get("volumeMounts") or [] if m["mountPath"] == "/tmp"]
                if not tmp or "emptyDir" not in volumes.get(tmp[0]["name"], {}):
                    problems.append(f"{where}/{c['name']}: no emptyDir at /tmp")
    return problems


def check_resources(cluster):
    problems = []
    for workload, spec in cluster.pod_specs():
        for c in containers(spec):
            res = c.get("resources") or {}
            for key in ("cpu", "memory"):
                if key not in (res.get("requests") or {}):
                    problems.append(f"{name_of(workload)}/{c['name']}: no {key} request")
            if "memory" not in (res.get("limits") or {}):
                problems.append(f"{name_of(workload)}/{c['name']}: no memory limit")
    return problems


def check_ports_named(cluster):
    problems = []
    for workload, spec in cluster.pod_specs():
        for c in containers(spec):
            for p in c.get("ports") or []:
                if not p.get("name"):
                    problems.append(f"{name_of(workload)}/{c['name']}: port {p.get('containerPort')} has no name")
    for svc in cluster.of_kind("Service"):
        for p in svc["spec"].get("ports") or []:
            if not p.get("name") or not isinstance(p.get("targetPort"), str):
                problems.append(f"{name_of(svc)}: port {p.get('port')} is not named or targets no named port")
    return problems


def _probe_port(container, probe):
    for kind in ("httpGet", "tcpSocket", "grpc"):
        if kind in probe:
            return kind, d.named_port(container, probe[kind]["port"]), probe[kind]
    return "exec", None, probe.get("exec")


def check_probes(cluster):
    """Liveness /healthz and readiness /readyz over HTTP on the admin port (the gateway's HTTP port), start-up as a
    native gRPC probe on the gRPC port (an HTTP /healthz where the process has no gRPC server); stores: all three."""
    problems = []
    for workload, spec in cluster.pod_specs():
        for c in spec["containers"]:
            where = f"{name_of(workload)}/{c['name']}"
            for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                if probe not in c:
                    problems.append(f"{where}: no {probe}")
            if not is_ours(c) or any(p not in c for p in ("startupProbe", "livenessProbe", "readinessProbe")):
                continue
            ports = {p["name"]: p["containerPort"] for p in c.get("ports") or []}
            health = ports.get("admin") if "grpc" in ports else ports.get("http", ports.get("admin"))
            for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
                kind, port, action = _probe_port(c, c[probe])
                if kind != "httpGet" or action.get("path") != path or port != health:
                    problems.append(f"{where}: {probe} is not GET {path} on port {health}")
            kind, port, action = _probe_port(c, c["startupProbe"])
            if "grpc" in ports and (kind != "grpc" or port != ports["grpc"]):
                problems.append(f"{where}: startupProbe is not a grpc probe on port {ports['grpc']}")
            if "grpc" not in ports and (kind != "httpGet" or action.get("path") != "/healthz"):
                problems.append(f"{where}: startupProbe (no gRPC port) is not GET /healthz")
    return problems


def check_prometheus(cluster):
    problems = []
    for workload, spec in cluster.pod_specs():
        ours = [c for c in spec["containers"] if is_ours(c)]
        if not ours:
            continue
        annotations = workload["spec"]["template"]["metadata"].get("annotations") or {}
        admin = d.named_port(ours[0], "admin")
        if admin is None:
            problems.append(f"{name_of(workload)}: no container port named admin")
        if annotations.get("prometheus.io/scrape") != "true" or annotations.get("prometheus.io/path") != "/metrics" \
                or annotations.get("prometheus.io/port") != str(admin):
            problems.append(f"{name_of(workload)}: prometheus.io annotations do not point at /metrics on the admin "
                            f"port {admin}")
    return problems


def check_tasks_drain(cluster):
    """A worker's pod outlives its shutdown grace, so SIGTERM drains instead of killing jobs mid-run."""
    problems = []
    for workload, container, service, env in cluster.devopstrack_containers():
        if service != "tasks":
            continue
        grace_ms = int(env.get("DEVOPSTRACK_TASKS__SHUTDOWN_GRACE_MS", "20000"))
        period = workload["spec"]["template"]["spec"].get("terminationGracePeriodSeconds", 30)
        if period * 1000 < grace_ms + 5000:
            problems.append(f"{name_of(workload)}: terminationGracePeriodSeconds {period} is not above the workers' "
                            f"grace of {grace_ms} ms (+5 s)")
    return problems


def check_redis_durable(cluster):
    problems = []
    for workload, spec in cluster.pod_specs():
        for c in spec["containers"]:
            if c.get("image", "").startswith("redis:"):
                problems += redis_flags_problems(f"{name_of(workload)}/{c['name']}",
                                                 " ".join(c.get("command", []) + c.get("args", [])))
    return problems


def redis_flags_problems(where, command):
    return [f"{where}: redis-server is not started with {flag}" for flag in
            ("--appendonly yes", "--appendfsync everysec", "--maxmemory-policy noeviction")
            if flag not in re.sub(r"\s+", " ", command)]


def check_storage(cluster, storage_class=None):
    problems = []
    for s in cluster.of_kind("StatefulSet"):
        templates = s["spec"].get("volumeClaimTemplates") or []
        if not templates:
            problems.append(f"{name_of(s)}: no volumeClaimTemplates (its data would not survive the pod)")
        for t in templates:
            if storage_class and t["spec"].get("storageClassName") != storage_class:
                problems.append(f"{name_of(s)}: volume {t['metadata']['name']} is not on {storage_class}")
    return problems


