"""Real traffic through a loopback `devopstrack up`, so that every metric family has series to scrape
(prometheus-client leaves a labelled family out of the exposition until it has one): logs in as the admin, creates a
project with a staging environment, runs a two-job pipeline that deploys to staging, waits for it to succeed and for
the deployment to reach the metrics service (the family devopstrack_deployments_total on METRICS_ADMIN).

  python3 scripts/monitoring/traffic.py BASE_URL ADMIN_PASSWORD METRICS_ADMIN_URL
"""

import json
import sys
import time
import urllib.error
import urllib.request


def call(base, method, path, body=None, token=None):
    request = urllib.request.Request(f"{base}{path}", method=method,
                                     data=json.dumps(body).encode() if body is not None else None)
    request.add_header("content-type", "application/json")
    if token:
        request.add_header("authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def expect(status, body, want, what):
    if status != want:
        raise SystemExit(f"{what}: answered {status}, expected {want}: {body}")
    return body


def wait(what, check, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise SystemExit(f"{what}: not within {seconds}s")


def main():
    base, password, metrics_admin = sys.argv[1], sys.argv[2], sys.argv[3]
    token = expect(*call(base, "POST", "/api/v1/auth/login", {"email": "admin@localhost", "password": password}),
                   200, "login")["accessToken"]
    expect(*call(base, "POST", "/api/v1/projects", {
        "slug": "shop", "name": "Shop", "environments": [{"name": "staging", "tier": "staging"}]}, token),
        201, "create project")
    quick = {"name": "unit", "executor": "simulate", "params": {"durationMs": 20, "failRate": 0, "logLines": 1}}
    pipeline = expect(*call(base, "POST", "/api/v1/pipelines", {
        "project": "shop", "environment": "staging", "version": "1.0.0",
        "stages": [{"name": "test", "jobs": [quick]}, {"name": "deploy", "jobs": [dict(quick, name="rollout")]}]},
        token), 201, "create pipeline")["id"]
    expect(*call(base, "GET", "/api/v1/projects/nope", token=token), 404, "an unknown project")
    wait(f"pipeline {pipeline} succeeded",
         lambda: call(base, "GET", f"/api/v1/pipelines/{pipeline}", token=token)[1]["status"] == "succeeded")

    def delivered():
        with urllib.request.urlopen(metrics_admin, timeout=5) as response:
            return b"devopstrack_deployments_total{" in response.read()
    wait("the deployment delivered to the metrics service", delivered)


if __name__ == "__main__":
    main()
