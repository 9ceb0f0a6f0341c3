"""The rules every Kubernetes object of a render follows (issue 14), each a function answering its problems as
lines (an empty list: the rule holds). test_policy.py runs each on the renders and on copies broken on purpose.
"""

import re

import deployment as d
from policy_common import containers, is_ours, name_of, workspace_version
from policy_network import check_network_policies
from policy_pods import (check_ports_named, check_prometheus, check_probes, check_redis_durable,
                         check_resources, check_security, check_storage, check_tasks_drain, redis_flags_problems)

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


ALL = [check_api_versions, check_namespace, check_labels, check_images, check_no_secret_values, check_security,
       check_resources, check_ports_named, check_probes, check_prometheus, check_tasks_drain, check_redis_durable,
       check_storage, check_scaling, check_disruption_budgets, check_services, check_ingress, check_network_policies]
