"""Runs `promtool test rules` on deploy/monitoring/prometheus/tests/alerts_test.yml after two things a YAML file cannot
say by itself:

- every alert of alerts.yml is tested both ways: at least one expectation where it fires and one where it stays quiet
  (a rule without both fails here, before promtool runs);
- each expected alert gets the rule's static annotations (runbook, runbook_url: long text that would be copied word
  for word), so the test file states only what varies, the rendered `summary`. promtool still compares every
  annotation of every alert that fires.

  python3 scripts/monitoring/promtool_test.py [PROMTOOL]
"""

import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "deploy" / "monitoring" / "prometheus"
RULES = PROMETHEUS / "alerts.yml"
TESTS = PROMETHEUS / "tests" / "alerts_test.yml"


def alert_rules(path=RULES):
    """{alert name: rule} of every alerting rule in the file."""
    groups = yaml.safe_load(path.read_text())["groups"]
    return {rule["alert"]: rule for group in groups for rule in group["rules"] if "alert" in rule}


def static_annotations(rule):
    return {k: v for k, v in (rule.get("annotations") or {}).items() if "{{" not in v}


def coverage_problems(rules, tests):
    fires, quiet = set(), set()
    for test in tests["tests"]:
        for case in test.get("alert_rule_test") or []:
            (fires if case.get("exp_alerts") else quiet).add(case["alertname"])
    problems = []
    for name in rules:
        if name not in fires:
            problems.append(f"{name}: no test where it fires")
        if name not in quiet:
            problems.append(f"{name}: no test where it stays quiet")
    for name in (fires | quiet) - set(rules):
        problems.append(f"{name}: tested but not in {RULES.name}")
    return problems


def completed(rules, tests):
    """The test file with each expected alert's static annotations filled in and the rule file's absolute path."""
    tests = dict(tests)
    tests["rule_files"] = [str(RULES)]
    for test in tests["tests"]:
        for case in test.get("alert_rule_test") or []:
            for alert in case.get("exp_alerts") or []:
                alert["exp_annotations"] = {**static_annotations(rules[case["alertname"]]),
                                            **(alert.get("exp_annotations") or {})}
    return tests


def main():
    promtool = sys.argv[1] if len(sys.argv) > 1 else "promtool"
    rules = alert_rules()
    tests = yaml.safe_load(TESTS.read_text())
    problems = coverage_problems(rules, tests)
    if problems:
        print("alert tests are incomplete:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as work:
        path = Path(work) / TESTS.name
        path.write_text(yaml.safe_dump(completed(rules, tests), sort_keys=False))
        result = subprocess.run([promtool, "test", "rules", str(path)])
    if result.returncode == 0:
        print(f"{len(rules)} alerts, {len(tests['tests'])} test groups: each alert fires and stays quiet as tested")
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
