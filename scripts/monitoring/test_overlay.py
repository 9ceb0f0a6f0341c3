"""The test overlay of deploy/monitoring/prometheus/prometheus.yml for a loopback `devopstrack up`: the shipped job and
rule file, with the compose hosts replaced by the given addresses, the workers' DNS job left out (there are no
separate workers in one process), and 1 s scrape and evaluation intervals so the test takes seconds.

  python3 scripts/monitoring/test_overlay.py PROMETHEUS_YML ALERTS_YML OUT_DIR SERVICE=HOST:PORT...
"""

import sys
from pathlib import Path

import yaml


def overlay(config, alerts, targets):
    config = dict(config)
    config["global"] = {**config["global"], "scrape_interval": "1s", "scrape_timeout": "1s",
                        "evaluation_interval": "1s", "external_labels": {"platform": "test"}}
    config["rule_files"] = [str(Path(alerts).resolve())]
    job = next(j for j in config["scrape_configs"] if j["job_name"] == "devopstrack")
    shipped = {c["labels"]["service"] for c in job["static_configs"]}
    if shipped != set(targets):
        raise SystemExit(f"the shipped job scrapes {sorted(shipped)}, the test was given {sorted(targets)}")
    job["static_configs"] = [{"targets": [address], "labels": {"service": service}}
                             for service, address in targets.items()]
    config["scrape_configs"] = [job]
    return config


def main():
    source, alerts, out = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    targets = dict(arg.split("=", 1) for arg in sys.argv[4:])
    out.mkdir(parents=True, exist_ok=True)
    config = overlay(yaml.safe_load(Path(source).read_text()), alerts, targets)
    (out / "prometheus.yml").write_text(yaml.safe_dump(config, sort_keys=False))


if __name__ == "__main__":
    main()
