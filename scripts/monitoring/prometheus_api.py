"""Waits on a running Prometheus' HTTP API, for scripts/test-monitoring.sh.

  python3 scripts/monitoring/prometheus_api.py URL targets-up N TIMEOUT_S     N targets, every one `up`
  python3 scripts/monitoring/prometheus_api.py URL service-down N TIMEOUT_S   DevOpsTrackServiceDown pending or firing
                                                                              for N distinct services
Exits 0 when the condition holds within the timeout, else prints the last answer and exits 1.
"""

import json
import sys
import time
import urllib.request


def get(url):
    with urllib.request.urlopen(url, timeout=2) as response:
        body = json.load(response)
    if body.get("status") != "success":
        raise RuntimeError(f"{url}: {body}")
    return body["data"]


def targets_up(base, n):
    active = get(f"{base}/api/v1/targets?state=active")["activeTargets"]
    healthy = {t["labels"].get("service") for t in active if t["health"] == "up"}
    return len(active) == n and len(healthy) == n, [(t["labels"].get("service"), t["health"], t["lastError"])
                                                     for t in active]


def service_down(base, n):
    alerts = get(f"{base}/api/v1/alerts")["alerts"]
    down = {a["labels"].get("service"): a["state"] for a in alerts if a["labels"].get("alertname") == "DevOpsTrackServiceDown"}
    return len(down) == n and all(state in ("pending", "firing") for state in down.values()), down


def main():
    base, what, n, timeout = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    check = {"targets-up": targets_up, "service-down": service_down}[what]
    deadline = time.monotonic() + timeout
    started = time.monotonic()
    last = None
    while time.monotonic() < deadline:
        try:
            ok, last = check(base, n)
            if ok:
                print(f"==> monitoring: {what}: {last} after {time.monotonic() - started:.1f}s")
                return 0
        except (OSError, RuntimeError) as error:
            last = error
        time.sleep(0.25)
    print(f"{what}: not reached within {timeout:.0f}s; last answer: {last}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
