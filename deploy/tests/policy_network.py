"""The NetworkPolicy rule (policy.py lists all rules): the graph the policies allow must be exactly the graph the
services' settings need."""

from urllib.parse import urlsplit

import deployment as d
from policy_common import is_ours, name_of


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


