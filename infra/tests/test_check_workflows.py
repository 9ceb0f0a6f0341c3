"""scripts/check-workflows.py passes a clean workflow and catches each bad one it exists for."""

import importlib.util
import tempfile
import textwrap
import unittest
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "check-workflows.py"
spec = importlib.util.spec_from_file_location("check_workflows", SCRIPT)
checker = importlib.util.module_from_spec(spec)
spec.loader.exec_module(checker)

SHA = "08c6903cd8c0fde910a37f88322edcfb5dd907a8"
CLEAN = f"""
name: clean
on:
  pull_request:
permissions:
  contents: read
concurrency:
  group: clean-${{{{ github.ref }}}}
jobs:
  build:
    runs-on: ubuntu-24.04
    steps:
      - uses: actions/checkout@{SHA} # v5.0.0
        with:
          persist-credentials: false
      - name: Title, through the environment
        env:
          TITLE: ${{{{ github.event.pull_request.title }}}}
        run: echo "$TITLE"
"""


def rules(text):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "w.yml"
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return [f.rule for f in checker.check_file(path)]


class CheckWorkflowsTests(unittest.TestCase):
    def test_a_clean_workflow_has_no_findings(self):
        self.assertEqual(rules(CLEAN), [])

    def test_an_action_pinned_by_tag_is_caught(self):
        self.assertEqual(rules(CLEAN.replace(f"@{SHA} # v5.0.0", "@v5")), ["pin"])

    def test_a_sha_without_its_release_comment_is_caught(self):
        self.assertEqual(rules(CLEAN.replace(" # v5.0.0", "")), ["pin"])

    def test_untrusted_event_text_inside_run_is_caught(self):
        bad = CLEAN.replace('run: echo "$TITLE"', 'run: echo "${{ github.event.pull_request.title }}"')
        self.assertEqual(rules(bad), ["injection"])

    def test_head_ref_inside_a_github_script_is_caught(self):
        bad = CLEAN + textwrap.indent(textwrap.dedent(f"""\
            - uses: actions/github-script@{SHA} # v8.0.0
              with:
                script: console.log("${{{{ github.head_ref }}}}")
        """), "      ")
        self.assertEqual(rules(bad), ["injection"])

    def test_pull_request_target_checking_out_the_pr_head_is_caught(self):
        bad = CLEAN.replace("  pull_request:", "  pull_request_target:").replace(
            "persist-credentials: false",
            "persist-credentials: false\n          ref: ${{ github.event.pull_request.head.sha }}")
        self.assertEqual(rules(bad), ["pr-target"])

    def test_missing_permissions_and_concurrency_are_caught(self):
        bad = CLEAN.replace("permissions:\n  contents: read\n", "").replace(
            "concurrency:\n  group: clean-${{ github.ref }}\n", "")
        self.assertEqual(sorted(rules(bad)), ["concurrency", "permissions"])

    def test_write_all_permissions_are_caught(self):
        self.assertEqual(rules(CLEAN.replace("permissions:\n  contents: read", "permissions: write-all")),
                         ["permissions"])

    def test_a_checkout_that_keeps_the_token_is_caught(self):
        self.assertEqual(rules(CLEAN.replace("        with:\n          persist-credentials: false\n", "")),
                         ["credentials"])


if __name__ == "__main__":
    unittest.main()
