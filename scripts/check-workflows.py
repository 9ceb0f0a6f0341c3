#!/usr/bin/env python3
"""zizmor-style checks on .github/workflows that actionlint does not make.

  scripts/check-workflows.py [FILE...]      default: every .github/workflows/*.yml

Rules (each finding prints `file:line: rule: message`; any finding exits 1):
  pin          every remote action is pinned by a full commit SHA with a `# vX.Y.Z` comment
               (tags move: the trivy-action tags were force-pushed in March 2026)
  pr-target    no `pull_request_target` workflow checks out the pull request's code (it would run with secrets)
  injection    no `${{ github.event.* }}` / `${{ github.head_ref }}` expanded inside `run:` or a github-script
               `script:` (attacker-controlled text becomes shell or JavaScript); pass it through `env:` instead
  permissions  a top-level `permissions:` that is not read-all/write-all, so each job asks for what it needs
  concurrency  a `concurrency:` group, so two runs of one workflow never race on the same target
  credentials  every actions/checkout sets `persist-credentials: false` (no token left in .git/config)
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
USES = re.compile(r"^\s*(?:-\s*)?uses:\s*(?P<ref>[^\s#]+)\s*(?:#\s*(?P<comment>.*))?$")
PINNED = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_./-]+@[0-9a-f]{40}$")
VERSION_COMMENT = re.compile(r"^v\d+\.\d+\.\d+$")
UNTRUSTED = re.compile(r"\$\{\{[^}]*\b(github\.event\.|github\.head_ref)[^}]*\}\}")


class Finding:
    def __init__(self, path: Path, line: int, rule: str, message: str):
        self.path, self.line, self.rule, self.message = path, line, rule, message

    def __str__(self) -> str:
        try:
            shown = self.path.relative_to(ROOT)
        except ValueError:
            shown = self.path
        return f"{shown}:{self.line}: {self.rule}: {self.message}"


class LineLoader(yaml.SafeLoader):
    """A SafeLoader that records each mapping's line number under the key `__line__`."""


def _mapping_with_line(loader, node):
    mapping = loader.construct_mapping(node, deep=True)
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_with_line)


def triggers(workflow: dict) -> set[str]:
    # YAML 1.1 reads a bare `on` key as the boolean True.
    on = workflow.get("on", workflow.get(True, {}))
    if isinstance(on, str):
        return {on}
    if isinstance(on, list):
        return set(on)
    return {k for k in on if k != "__line__"} if isinstance(on, dict) else set()


def steps(workflow: dict):
    for job_name, job in (workflow.get("jobs") or {}).items():
        if job_name == "__line__" or not isinstance(job, dict):
            continue
        for step in job.get("steps") or []:
            if isinstance(step, dict):
                yield job_name, step


def check_pins(path: Path, text: str) -> list[Finding]:
    findings = []
    for number, line in enumerate(text.splitlines(), 1):
        match = USES.match(line)
        if not match:
            continue
        ref, comment = match.group("ref").strip("'\""), (match.group("comment") or "").strip()
        if ref.startswith("./"):
            continue
        if ref.startswith("docker://"):
            if "@sha256:" not in ref:
                findings.append(Finding(path, number, "pin", f"{ref} is not pinned by digest"))
            continue
        if not PINNED.match(ref):
            findings.append(Finding(path, number, "pin", f"{ref} is not pinned by a full commit SHA"))
        elif not VERSION_COMMENT.match(comment):
            findings.append(Finding(path, number, "pin", f"{ref} lacks a '# vX.Y.Z' comment naming its release"))
    return findings


def check_pull_request_target(path: Path, workflow: dict) -> list[Finding]:
    if "pull_request_target" not in triggers(workflow):
        return []
    findings = []
    for _, step in steps(workflow):
        uses = str(step.get("uses", ""))
        ref = str((step.get("with") or {}).get("ref", ""))
        if uses.startswith("actions/checkout@") and re.search(r"github\.(event\.pull_request\.head|head_ref)", ref):
            findings.append(Finding(path, step["__line__"], "pr-target",
                                    "pull_request_target checks out the pull request's code"))
    return findings


def check_injection(path: Path, workflow: dict) -> list[Finding]:
    findings = []
    for _, step in steps(workflow):
        bodies = [("run", step.get("run"))]
        if str(step.get("uses", "")).startswith("actions/github-script@"):
            bodies.append(("script", (step.get("with") or {}).get("script")))
        for key, body in bodies:
            if isinstance(body, str):
                for match in UNTRUSTED.finditer(body):
                    findings.append(Finding(path, step["__line__"], "injection",
                                            f"{match.group(0)} expanded inside `{key}:` (pass it through env:)"))
    return findings


def check_permissions_and_concurrency(path: Path, workflow: dict) -> list[Finding]:
    findings = []
    permissions = workflow.get("permissions")
    if permissions is None:
        findings.append(Finding(path, 1, "permissions", "no top-level permissions: (the default token may write)"))
    elif permissions in ("read-all", "write-all"):
        findings.append(Finding(path, 1, "permissions", f"permissions: {permissions} is not least privilege"))
    if "concurrency" not in workflow:
        findings.append(Finding(path, 1, "concurrency", "no concurrency group"))
    return findings


def check_checkout_credentials(path: Path, workflow: dict) -> list[Finding]:
    findings = []
    for _, step in steps(workflow):
        if str(step.get("uses", "")).startswith("actions/checkout@"):
            if (step.get("with") or {}).get("persist-credentials") is not False:
                findings.append(Finding(path, step["__line__"], "credentials",
                                        "actions/checkout without persist-credentials: false"))
    return findings


def check_file(path: Path) -> list[Finding]:
    text = path.read_text(encoding="utf-8")
    try:
        workflow = yaml.load(text, Loader=LineLoader)  # noqa: S506 - LineLoader is a SafeLoader
    except yaml.YAMLError as error:
        return [Finding(path, 1, "yaml", str(error).splitlines()[0])]
    if not isinstance(workflow, dict):
        return [Finding(path, 1, "yaml", "not a workflow mapping")]
    return (check_pins(path, text) + check_pull_request_target(path, workflow) + check_injection(path, workflow)
            + check_permissions_and_concurrency(path, workflow) + check_checkout_credentials(path, workflow))


def main(argv: list[str]) -> int:
    files = [Path(a).resolve() for a in argv] or sorted((ROOT / ".github" / "workflows").glob("*.y*ml"))
    if not files:
        print("check-workflows: no workflow files", file=sys.stderr)
        return 1
    findings = [f for path in files for f in check_file(path)]
    for finding in findings:
        print(finding)
    print(f"check-workflows: {len(files)} workflow file(s), {len(findings)} finding(s)")
    return 1 if findings else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
