"""Checks every query of the Grafana dashboards (deploy/monitoring/grafana/dashboards) and of the alert rules against
what the services really export, for scripts/test-monitoring.sh:

- dashboards: JSON with a unique uid, panels with unique ids on the 24-column grid, each on a provisioned datasource
  (deploy/monitoring/grafana/provisioning/datasources) and with at least one query;
- PromQL (dashboard panels and variables): each expression, Grafana's variables replaced by sample values, is wrapped
  as a recording rule and parsed by `promtool check rules`;
- metric names: every name a PromQL expression selects is exported (EXPORTED: the names collected from a live
  `devopstrack up`) or `up`; alert rules may also name a metric of deploy/monitoring/pending-metrics.txt (and a name
  listed there must not be exported yet);
- Flux: every measurement, field and column a query reads is one the metrics service writes (its measurements in
  crates/metrics/src/domain/events.rs, its tags and fields in crates/metrics/src/store/influx/line_protocol.rs).

  python3 scripts/monitoring/check_queries.py --exported FILE --work DIR [--promtool PROMTOOL]
"""

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
MONITORING = ROOT / "deploy" / "monitoring"
DASHBOARDS = MONITORING / "grafana" / "dashboards"
DATASOURCES = MONITORING / "grafana" / "provisioning" / "datasources" / "datasources.yml"
ALERTS = MONITORING / "prometheus" / "alerts.yml"
PENDING = MONITORING / "pending-metrics.txt"
EVENTS = ROOT / "crates" / "metrics" / "src" / "domain" / "events.rs"
LINE_PROTOCOL = ROOT / "crates" / "metrics" / "src" / "store" / "influx" / "line_protocol.rs"

KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right", "offset", "bool",
            "inf", "nan", "atan2"}
# Columns every Flux table has, whatever was written.
FLUX_COLUMNS = {"_measurement", "_field", "_value", "_time", "_start", "_stop"}


# --- PromQL --------------------------------------------------------------------------------------------------------
def grafana_to_promql(expr):
    """Grafana's variables replaced by values PromQL accepts, so the expression can be parsed."""
    expr = re.sub(r"\$__(rate_interval|interval|range)", "1m", expr)
    return re.sub(r"\$\{?\w+(?::\w+)?\}?", ".*", expr)


def metric_names(expr):
    """The metric names an expression selects (strings, matchers, ranges and grouping clauses removed first)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = set()
    for match in re.finditer(r"(?<![\w.:])[a-zA-Z_:][\w:]*", text):
        name = match.group(0)
        following = text[match.end():].lstrip()
        if name in KEYWORDS or following.startswith("("):
            continue
        names.add(name)
    return names


def promql_of_dashboard(dashboard):
    """(where, expression) of every PromQL query: panels' targets and query variables."""
    for panel in dashboard.get("panels", []):
        if panel.get("datasource", {}).get("type") != "prometheus":
            continue
        for target in panel.get("targets", []):
            yield f"{dashboard['uid']} panel {panel['id']} ({panel['title']}) {target['refId']}", target["expr"]
    for var in dashboard.get("templating", {}).get("list", []):
        if var.get("datasource", {}).get("type") == "prometheus":
            query = var["query"]["query"] if isinstance(var["query"], dict) else var["query"]
            inner = re.match(r"label_values\((.*),\s*\w+\)$", query)
            if inner:
                yield f"{dashboard['uid']} variable {var['name']}", inner.group(1)


def promql_of_alerts():
    for group in yaml.safe_load(ALERTS.read_text())["groups"]:
        for rule in group["rules"]:
            yield f"alert {rule.get('alert') or rule.get('record')}", rule["expr"]


# --- Flux ----------------------------------------------------------------------------------------------------------
def written_by_metrics_service():
    """(measurements, tags and fields) the metrics service writes, read from its source."""
    events = EVENTS.read_text()
    block = events[events.index("impl Measurement"):]
    measurements = set(re.findall(r'Self::\w+ => "(\w+)"', block[:block.index("\n}\n")]))
    protocol = LINE_PROTOCOL.read_text()
    tags = set(re.findall(r'push_tag\(&mut line, event_id, "(\w+)"', protocol))
    fields = set(re.findall(r'fields\.(?:string|integer|time)\("(\w+)"', protocol))
    if not measurements or not tags or not fields:
        raise SystemExit("could not read the measurements, tags and fields from crates/metrics: update this check")
    return measurements, tags, fields


def flux_problems(where, query, measurements, columns):
    problems = []
    made = set(re.findall(r"\bwith\s+(\w+)\s*:", query))
    for m in re.findall(r'r\._measurement\s*==\s*"(\w+)"', query):
        if m not in measurements:
            problems.append(f"{where}: measurement {m!r} is not written by the metrics service ({sorted(measurements)})")
    for f in re.findall(r'r\._field\s*==\s*"(\w+)"', query):
        if f not in columns:
            problems.append(f"{where}: field {f!r} is not written by the metrics service")
    used = set(re.findall(r"\br\.(\w+)", query))
    used |= {c for group in re.findall(r"columns:\s*\[([^\]]*)\]", query) for c in re.findall(r'"(\w+)"', group)}
    used |= set(re.findall(r'\b(?:column|tag):\s*"(\w+)"', query))
    for name in sorted(used - columns - FLUX_COLUMNS - made):
        problems.append(f"{where}: column {name!r} is neither a tag nor a field the metrics service writes")
    for bucket in re.findall(r'bucket:\s*"([^"]*)"', query):
        if bucket != "devopstrack":
            problems.append(f"{where}: bucket {bucket!r} is not the metrics service's bucket devopstrack")
    return problems


# --- dashboards ------------------------------------------------------------------------------------------------------
def structure_problems(path, dashboard, datasources, uids):
    problems = []
    uid = dashboard.get("uid")
    if not uid or uid in uids:
        problems.append(f"{path.name}: missing or duplicate uid {uid!r}")
    uids.add(uid)
    if not dashboard.get("title") or not dashboard.get("panels"):
        problems.append(f"{path.name}: no title or no panels")
    ids = set()
    for panel in dashboard.get("panels", []):
        where = f"{path.name} panel {panel.get('id')} ({panel.get('title')})"
        if panel.get("id") in ids:
            problems.append(f"{where}: duplicate id")
        ids.add(panel.get("id"))
        grid = panel.get("gridPos", {})
        if not all(k in grid for k in "hwxy") or grid["x"] + grid["w"] > 24:
            problems.append(f"{where}: gridPos {grid} is off the 24-column grid")
        ds = panel.get("datasource", {})
        if datasources.get(ds.get("uid")) != ds.get("type"):
            problems.append(f"{where}: datasource {ds} is not provisioned ({datasources})")
        targets = panel.get("targets") or []
        if not targets:
            problems.append(f"{where}: no query")
        for target in targets:
            if not (target.get("expr") if ds.get("type") == "prometheus" else target.get("query")):
                problems.append(f"{where} {target.get('refId')}: empty query")
    return problems


def main():
    args = argparse.ArgumentParser()
    args.add_argument("--exported", required=True, type=Path)
    args.add_argument("--work", required=True, type=Path)
    args.add_argument("--promtool", default="promtool")
    opts = args.parse_args()

    exported = set(opts.exported.read_text().split()) | {"up"}
    pending = {line.split()[0] for line in PENDING.read_text().splitlines() if line.strip() and not line.startswith("#")}
    datasources = {d["uid"]: d["type"] for d in yaml.safe_load(DATASOURCES.read_text())["datasources"]}
    measurements, tags, fields = written_by_metrics_service()
    problems = [f"{PENDING.name}: {name} is exported now: remove it from the pending list"
                for name in sorted(pending & exported)]

    uids, rules, flux_count = set(), [], 0
    for path in sorted(DASHBOARDS.glob("*.json")):
        dashboard = json.loads(path.read_text())
        problems += structure_problems(path, dashboard, datasources, uids)
        for where, expr in promql_of_dashboard(dashboard):
            expr = grafana_to_promql(expr)
            rules.append({"record": f"dashboard:check:{len(rules)}", "expr": expr,
                          "labels": {"where": where[:200]}})
            problems += [f"{where}: {name} is not exported by any service" for name in sorted(metric_names(expr) - exported)]
        for panel in dashboard.get("panels", []):
            if panel.get("datasource", {}).get("type") == "influxdb":
                for target in panel["targets"]:
                    flux_count += 1
                    problems += flux_problems(f"{path.name} panel {panel['id']} {target['refId']}", target["query"],
                                              measurements, tags | fields)
        for var in dashboard.get("templating", {}).get("list", []):
            if var.get("datasource", {}).get("type") == "influxdb":
                flux_count += 1
                problems += flux_problems(f"{path.name} variable {var['name']}", var["query"], measurements, tags | fields)
    alert_count = 0
    for where, expr in promql_of_alerts():
        alert_count += 1
        problems += [f"{where}: {name} is neither exported nor listed in {PENDING.name}"
                     for name in sorted(metric_names(expr) - exported - pending)]

    opts.work.mkdir(parents=True, exist_ok=True)
    rule_file = opts.work / "dashboard-queries.yml"
    rule_file.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}, sort_keys=False))
    checked = subprocess.run([opts.promtool, "check", "rules", str(rule_file)], capture_output=True, text=True)
    if checked.returncode != 0:
        problems.append(f"promtool check rules on the dashboards' PromQL:\n{checked.stdout}{checked.stderr}")

    if problems:
        print("monitoring queries:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 1
    print(f"==> monitoring: {len(uids)} dashboards: {len(rules)} PromQL expressions parse and name exported metrics, "
          f"{flux_count} Flux queries read only {sorted(measurements)}' tags and fields; "
          f"{alert_count} alert expressions name exported or pending metrics")
    return 0


if __name__ == "__main__":
    sys.exit(main())
