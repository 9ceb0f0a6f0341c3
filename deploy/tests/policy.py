"""The rules every Kubernetes object of a render follows (issue 14), each a function answering its problems as
lines (an empty list: the rule holds). test_policy.py runs each on the renders and on copies broken on purpose.
"""

import re
import tomllib
from urllib.parse import urlsplit

import deployment as d

PART_OF = "devopstrack"
NAMESPACE = "devopstrack"
HPA_KINDS = {"gateway", "tasks-worker"}
# The API groups the manifests may use: built-in, GA, in every Kubernetes from 1.30 on. No CRD.
BUILT_IN = {
    ("v1", "Namespace"), ("v1", "ConfigMap"), ("v1", "ServiceAccount"), ("v1", "Service"), ("v1", "Secret"),
    ("apps/v1", "Deployment"), ("apps/v1", "StatefulSet"), ("networking.k8s.io/v1", "Ingress"),
    ("networking.k8s.io/v1", "NetworkPolicy"), ("policy/v1", "PodDisruptionBudget"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"),
}
SECRET_WORDS = re.compile(r"PASSWORD|SECRET|TOKEN|_KEY$|_KEK$|DATABASE_URL|AUTH$")


def workspace_version():
    with open(d.ROOT / "Cargo.toml", "rb") as f:
        return tomllib.load(f)["workspace"]["package"]["version"]


def name_of(obj):
    return f"{obj['kind']}/{obj['metadata']['name']}"


def containers(spec):
    return list(spec.get("initContainers") or []) + list(spec.get("containers") or [])


def is_ours(container):
    return d.image_target(container.get("image", "")) is not None


# --- objects ---------------------------------------------------------------------------------------------------------

def check_api_versions(cluster):
    """Only built-in GA kinds (no CRD: kubernetes-validate could not check it, a bare cluster could not apply it)."""
    return [f"{name_of(o)}: {o['apiVersion']} {o['kind']} is not a built-in GA kind" for o in cluster.objects
            if (o["apiVersion"], o["kind"]) not in BUILT_IN]


def check_namespace(cluster):
    problems = [f"{name_of(o)} is in namespace {o['metadata'].get('namespace')!r}, not {NAMESPACE!r}"
                for o in cluster.objects if o["kind"] != "Namespace" and o["metadata"].get("namespace") != NAMESPACE]
    if cluster.get("Namespace", NAMESPACE) is None:
        problems.append(f"no Namespace {NAMESPACE}")
    return problems


def check_labels(cluster):
    problems = []
    version = workspace_version()
    for obj in cluster.objects:
        labels = obj["metadata"].get("labels") or {}
        for key in ("app.kubernetes.io/name", "app.kubernetes.io/part-of"):
            if key not in labels:
                problems.append(f"{name_of(obj)}: no {key} label")
        if labels.get("app.kubernetes.io/part-of", PART_OF) != PART_OF:
            problems.append(f"{name_of(obj)}: part-of is {labels['app.kubernetes.io/part-of']!r}")
    for workload in cluster.workloads():
        labels = workload["spec"]["template"]["metadata"].get("labels") or {}
        for key in ("name", "part-of", "component", "version"):
            if f"app.kubernetes.io/{key}" not in labels:
                problems.append(f"{name_of(workload)}: pod template has no app.kubernetes.io/{key}")
        ours = any(is_ours(c) for c in workload["spec"]["template"]["spec"]["containers"])
        if ours and labels.get("app.kubernetes.io/version") != version:
            problems.append(f"{name_of(workload)}: version label {labels.get('app.kubernetes.io/version')!r} is "
                            f"not the workspace version {version}")
        selector = workload["spec"]["selector"].get("matchLabels") or {}
        if set(selector) != {"app.kubernetes.io/name", "app.kubernetes.io/part-of"}:
            problems.append(f"{name_of(workload)}: selector {selector} is not name + part-of")
        if any(labels.get(k) != v for k, v in selector.items()):
            problems.append(f"{name_of(workload)}: selector {selector} does not match its own pod template")
    return problems


def check_images(cluster, eks=False):
    problems = []
    for workload, spec in cluster.pod_specs():
        for c in containers(spec):
            image = c.get("image", "")
            last = image.split("/")[-1]
            tag = last.split(":", 1)[1] if ":" in last and "@" not in last else None
            if "@" not in image and not tag:
                problems.append(f"{name_of(workload)}/{c['name']}: image {image!r} has no tag")
            elif tag == "latest":
                problems.append(f"{name_of(workload)}/{c['name']}: image {image!r} uses :latest")
            if is_ours(c) and eks and not (tag == workspace_version() or re.fullmatch(r"[0-9a-f]{40}", tag or "")):
                problems.append(f"{name_of(workload)}/{c['name']}: image tag {tag!r} is neither the workspace "
                                f"version nor a commit SHA")
            if workload["kind"] == "Deployment" and not is_ours(c):
                problems.append(f"{name_of(workload)}/{c['name']}: image {image!r} is not one of "
                                f"{d.IMAGE_PREFIX}{{{','.join(d.SERVICES)}}}")
            if c.get("imagePullPolicy") != "IfNotPresent":
                problems.append(f"{name_of(workload)}/{c['name']}: imagePullPolicy is not IfNotPresent")
    return problems


def check_no_secret_values(cluster):
    """No Secret object, and no secret-looking variable given a literal value (they come from secretKeyRef)."""
    problems = [f"{name_of(o)}: the manifests carry no Secret (scripts/k8s-secrets.sh creates it)"
                for o in cluster.of_kind("Secret")]
    for o in cluster.of_kind("ConfigMap"):
        for key in o.get("data") or {}:
            if SECRET_WORDS.search(key):
                problems.append(f"{name_of(o)}: {key} looks secret but is in a ConfigMap")
    for workload, spec in cluster.pod_specs():
        for c in containers(spec):
            for item in c.get("env") or []:
                if "value" in item and SECRET_WORDS.search(item["name"]) and not item["name"].endswith("_USERNAME"):
                    problems.append(f"{name_of(workload)}/{c['name']}: {item['name']} has a literal value")
    return problems


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


# --- scaling and disruption ----------------------------------------------------------------------------------------

def check_scaling(cluster):
    problems = []
    hpas = {h["spec"]["scaleTargetRef"]["name"]: h for h in cluster.of_kind("HorizontalPodAutoscaler")}
    for dep in cluster.of_kind("Deployment"):
        name = dep["metadata"]["name"]
        if name in HPA_KINDS:
            if name not in hpas:
                problems.append(f"{name_of(dep)}: no HorizontalPodAutoscaler")
            elif hpas[name]["spec"].get("minReplicas", 1) < 2:
                problems.append(f"{name_of(dep)}: its HPA allows fewer than 2 replicas")
            if "replicas" in dep["spec"]:
                problems.append(f"{name_of(dep)}: sets spec.replicas although an HPA scales it")
        elif "replicas" not in dep["spec"]:
            problems.append(f"{name_of(dep)}: no spec.replicas and no HPA")
    for target in hpas:
        if cluster.get("Deployment", target) is None:
            problems.append(f"HorizontalPodAutoscaler for {target}: no such Deployment")
    return problems


def check_disruption_budgets(cluster):
    problems = []
    pdbs = cluster.of_kind("PodDisruptionBudget")
    for dep in cluster.of_kind("Deployment"):
        selector = dep["spec"]["selector"]["matchLabels"]
        matching = [p for p in pdbs if p["spec"]["selector"].get("matchLabels") == selector]
        if len(matching) != 1:
            problems.append(f"{name_of(dep)}: {len(matching)} PodDisruptionBudgets select it (want 1)")
        elif matching[0]["spec"].get("maxUnavailable") != 1 or "minAvailable" in matching[0]["spec"]:
            problems.append(f"{name_of(dep)}: its PodDisruptionBudget is not maxUnavailable: 1")
    return problems


# --- services, ingress, network policies -----------------------------------------------------------------------------

def check_services(cluster):
    problems = []
    for svc in cluster.of_kind("Service"):
        selector = svc["spec"].get("selector") or {}
        if set(selector) != {"app.kubernetes.io/name", "app.kubernetes.io/part-of"}:
            problems.append(f"{name_of(svc)}: selector {selector} is not name + part-of")
        selected = cluster.pods_selected(selector)
        if not selected:
            problems.append(f"{name_of(svc)}: selects no pod template")
        for pod in selected:
            for p in svc["spec"].get("ports") or []:
                if not any(d.named_port(c, p.get("targetPort", p["port"])) for c in pod["spec"]["template"]["spec"]
                           ["containers"]):
                    problems.append(f"{name_of(svc)}: targetPort {p.get('targetPort')!r} is no port of "
                                    f"{name_of(pod)}")
    return problems


def check_ingress(cluster, eks=False):
    problems = []
    ingresses = cluster.of_kind("Ingress")
    if len(ingresses) != 1:
        return [f"{len(ingresses)} Ingresses (want exactly one, to the gateway)"]
    ing = ingresses[0]
    if ing["apiVersion"] != "networking.k8s.io/v1":
        problems.append(f"{name_of(ing)}: not networking.k8s.io/v1")
    if "ingressClassName" in ing["spec"]:
        problems.append(f"{name_of(ing)}: sets ingressClassName (the cluster's default class must take it)")
    for rule in ing["spec"].get("rules") or []:
        for path in rule["http"]["paths"]:
            backend = path["backend"]["service"]
            svc = cluster.get("Service", backend["name"])
            if svc is None or backend["name"] != "gateway":
                problems.append(f"{name_of(ing)}: routes to {backend['name']!r}, not the gateway Service")
            elif not any(p.get("name") == backend["port"].get("name") for p in svc["spec"]["ports"]):
                problems.append(f"{name_of(ing)}: Service gateway has no port {backend['port']}")
    annotations = ing["metadata"].get("annotations") or {}
    if eks:
        for key in ("alb.ingress.kubernetes.io/scheme", "alb.ingress.kubernetes.io/target-type",
                    "alb.ingress.kubernetes.io/healthcheck-path"):
            if key not in annotations:
                problems.append(f"{name_of(ing)}: no {key} annotation")
    return problems


def _selected(cluster, selector):
    return {w["metadata"]["name"] for w in cluster.pods_selected(selector.get("matchLabels") or {})}


def allowed_edges(cluster):
    """{(source, workload, port name)} the NetworkPolicies allow in; source: a workload, `ns:<name>` or `anywhere`."""
    edges = set()
    for pol in cluster.of_kind("NetworkPolicy"):
        targets = _selected(cluster, pol["spec"].get("podSelector") or {})
        for rule in pol["spec"].get("ingress") or []:
            ports = [p.get("port") for p in rule.get("ports") or []] or ["*"]
            sources = set()
            for peer in rule.get("from") or [{"anywhere": True}]:
                if "anywhere" in peer:
                    sources.add("anywhere")
                elif "namespaceSelector" in peer and "podSelector" not in peer:
                    labels = peer["namespaceSelector"].get("matchLabels") or {}
                    sources.add(f"ns:{labels.get('kubernetes.io/metadata.name', labels)}")
                elif "podSelector" in peer:
                    sources |= _selected(cluster, peer["podSelector"])
                else:
                    sources.add(f"ipBlock:{peer.get('ipBlock', {}).get('cidr')}")
            edges |= {(s, t, p) for s in sources for t in targets for p in ports}
    return edges


def expected_edges(cluster):
    """The graph the configuration implies: each service's peer URLs (and store URLs from the Secret) name a Service,
    whose pods' port the caller needs; every admin port from `monitoring`; the gateway's HTTP port from anywhere."""
    edges = set()
    services = cluster.services()
    for workload, container, service, env in cluster.devopstrack_containers():
        caller = workload["metadata"]["name"]
        for key, value in env.items():
            if not key.endswith("_URL") or not value:
                continue
            parts = urlsplit(value)
            svc = services.get(parts.hostname)
            if svc is None:
                continue
            port = next((p for p in svc["spec"]["ports"] if p["port"] == parts.port), None)
            if port is None:
                continue
            for callee in cluster.pods_selected(svc["spec"].get("selector") or {}):
                edges.add((caller, callee["metadata"]["name"], port.get("targetPort")))
    for workload, spec in cluster.pod_specs():
        for c in spec["containers"]:
            if d.named_port(c, "admin"):
                edges.add(("ns:monitoring", workload["metadata"]["name"], "admin"))
    edges.add(("anywhere", "gateway", "http"))
    return edges


def check_network_policies(cluster):
    problems = []
    deny = [p for p in cluster.of_kind("NetworkPolicy") if not (p["spec"].get("podSelector") or {}).get("matchLabels")
            and set(p["spec"].get("policyTypes") or []) == {"Ingress", "Egress"} and not p["spec"].get("ingress")
            and not p["spec"].get("egress")]
    if not deny:
        problems.append("no deny-all NetworkPolicy (empty podSelector, Ingress and Egress, no rules)")
    for workload in cluster.workloads():
        name = workload["metadata"]["name"]
        own = [p for p in cluster.of_kind("NetworkPolicy") if name in _selected(cluster, p["spec"].get("podSelector")
                                                                                   or {}) and p not in deny]
        if len(own) != 1:
            problems.append(f"{name_of(workload)}: {len(own)} NetworkPolicies allow it traffic (want 1)")
        ours = any(is_ours(c) for c in workload["spec"]["template"]["spec"]["containers"])
        for pol in own:
            egress = pol["spec"].get("egress") or []
            if not ours and egress:
                problems.append(f"{name_of(pol)}: a store may not open connections (egress {egress})")
    allowed, expected = allowed_edges(cluster), expected_edges(cluster)
    for edge in sorted(allowed - expected, key=str):
        problems.append(f"NetworkPolicy allows {edge[0]} → {edge[1]}:{edge[2]}, which no setting needs")
    for edge in sorted(expected - allowed, key=str):
        problems.append(f"NetworkPolicy blocks {edge[0]} → {edge[1]}:{edge[2]}, which the settings need")
    return problems


ALL = [check_api_versions, check_namespace, check_labels, check_images, check_no_secret_values, check_security,
       check_resources, check_ports_named, check_probes, check_prometheus, check_tasks_drain, check_redis_durable,
       check_storage, check_scaling, check_disruption_budgets, check_services, check_ingress, check_network_policies]
