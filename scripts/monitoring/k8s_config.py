"""Writes deploy/monitoring/prometheus/prometheus-k8s.yml into OUT_DIR in a form Debian's promtool can check: Debian
builds Prometheus without Kubernetes service discovery, so `kubernetes_sd_configs` becomes one static target carrying
the discovery labels a DevOpsTrack pod would have, and the rule file path points at ALERTS. The relabelling is then
run by promtool's own check, and here the result of the relabelling is computed for that pod: it must keep it, scrape
its annotated admin port and path, and name its service.

  python3 scripts/monitoring/k8s_config.py PROMETHEUS_K8S_YML ALERTS_YML OUT_DIR
"""

import re
import sys
from pathlib import Path

import yaml

# A gateway pod as Kubernetes discovery describes it (deploy/k8s/base/app/gateway.yaml's labels and annotations).
POD = {
    "__address__": "10.42.0.7:8080",
    "__metrics_path__": "/metrics",
    "__meta_kubernetes_namespace": "devopstrack",
    "__meta_kubernetes_pod_name": "gateway-5d9c7b7f4-abcde",
    "__meta_kubernetes_pod_phase": "Running",
    "__meta_kubernetes_pod_label_app_kubernetes_io_name": "gateway",
    "__meta_kubernetes_pod_label_app_kubernetes_io_part_of": "devopstrack",
    "__meta_kubernetes_pod_annotation_prometheus_io_scrape": "true",
    "__meta_kubernetes_pod_annotation_prometheus_io_port": "9100",
    "__meta_kubernetes_pod_annotation_prometheus_io_path": "/metrics",
}


def relabel(labels, configs):
    """Prometheus' relabelling (the `keep` and `replace` actions this configuration uses); None when dropped."""
    labels = dict(labels)
    for c in configs:
        value = (c.get("separator", ";")).join(labels.get(name, "") for name in c.get("source_labels", []))
        regex = re.compile("^(?:" + c.get("regex", "(.*)") + ")$")
        action = c.get("action", "replace")
        match = regex.match(value)
        if action == "keep":
            if not match:
                return None
        elif action == "replace":
            if match:
                replacement = re.sub(r"\$(\d+)", r"\\\1", c.get("replacement", "$1"))
                labels[c["target_label"]] = match.expand(replacement)
        else:
            raise SystemExit(f"relabel action {action!r} is not simulated here")
    return labels


def main():
    source, alerts, out = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    config = yaml.safe_load(source.read_text())
    job = next(j for j in config["scrape_configs"] if j["job_name"] == "devopstrack")
    result = relabel(POD, job["relabel_configs"])
    expected = {"__address__": "10.42.0.7:9100", "__metrics_path__": "/metrics", "service": "gateway",
                "pod": POD["__meta_kubernetes_pod_name"], "namespace": "devopstrack"}
    if result is None or any(result.get(k) != v for k, v in expected.items()):
        raise SystemExit(f"{source}: the relabelling of a gateway pod gives {result}, expected {expected}")
    for drop in ({"__meta_kubernetes_pod_annotation_prometheus_io_scrape": "false"},
                 {"__meta_kubernetes_pod_label_app_kubernetes_io_part_of": "other"},
                 {"__meta_kubernetes_pod_phase": "Pending"}):
        if relabel({**POD, **drop}, job["relabel_configs"]) is not None:
            raise SystemExit(f"{source}: a pod with {drop} would be scraped")
    del job["kubernetes_sd_configs"]
    job["static_configs"] = [{"targets": [POD["__address__"]],
                              "labels": {k: v for k, v in POD.items() if not k.startswith("__address")}}]
    config["rule_files"] = [str(alerts.resolve())]
    out.mkdir(parents=True, exist_ok=True)
    (out / "prometheus.yml").write_text(yaml.safe_dump(config, sort_keys=False))


if __name__ == "__main__":
    main()
