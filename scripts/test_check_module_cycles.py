"""Tests of scripts/check-module-cycles.py on small crates written to a temporary directory (run by scripts/lint.sh:
python3 -m unittest discover -s scripts -p 'test_check_module_cycles.py')."""

import unittest

import checker_kit
from checker_kit import crate

checker = checker_kit.load("check-module-cycles.py")


def run(*args) -> tuple[int, str]:
    return checker_kit.run(checker, *args)


class CheckModuleCycles(unittest.TestCase):
    def test_a_cycle_between_two_files_is_reported(self):
        root = crate({
            "lib.rs": "pub mod app;\npub mod metrics;\n",
            "app.rs": "use crate::metrics::Counters;\npub struct App;\n",
            "metrics.rs": "pub fn sample(app: &crate::app::App) {}\npub struct Counters;\n",
        })
        code, out = run(root)
        self.assertEqual(code, 1)
        self.assertIn("module circle: crate::app <-> crate::metrics", out)
        self.assertIn("src/metrics.rs:1", out)

    def test_a_cycle_through_super_and_a_use_group_is_reported(self):
        root = crate({
            "lib.rs": "pub mod domain;\n",
            "domain/mod.rs": "mod spec;\nmod meta;\n",
            "domain/spec.rs": "use super::{meta::Meta};\npub struct FieldError;\n",
            "domain/meta.rs": "use super::spec::FieldError;\npub struct Meta;\n",
        })
        self.assertIn("crate::domain::meta <-> crate::domain::spec", run(root)[1])

    def test_an_acyclic_crate_passes(self):
        root = crate({
            "lib.rs": "pub mod routes;\npub mod error;\n",
            "routes/mod.rs": "mod users;\nuse crate::error::ApiError;\n",
            # a child naming its parent extends it: not a circle
            "routes/users.rs": "use super::ApiError;\nuse crate::routes::configure;\n",
            "error.rs": "/// See [`crate::routes`]: comments do not count.\npub struct ApiError;\n"
                        "const S: &str = \"crate::routes::x\";\n"
                        "#[cfg(test)]\nmod tests {\n    use crate::routes::users;\n}\n",
            "routes/tests.rs": "use crate::error::ApiError;\n",
        })
        self.assertEqual(run(root), (0, f"{root}: no module circles\n"))

    def test_a_known_circle_is_printed_but_passes_and_a_new_one_fails(self):
        root = crate({
            "lib.rs": "mod a;\nmod b;\nmod c;\n",
            "a.rs": "use crate::b::B;\npub struct A;\n",
            "b.rs": "use crate::a::A;\npub struct B;\n",
            "c.rs": "pub struct C;\n",
        })
        code, out = run("--known", "a,b", root)
        self.assertEqual(code, 0)
        self.assertIn("known module circle", out)
        (root / "src" / "c.rs").write_text("use crate::a::A;\npub struct C;\n")
        (root / "src" / "a.rs").write_text("use crate::b::B;\nuse crate::c::C;\npub struct A;\n")
        self.assertEqual(run("--known", "a,b", root)[0], 1)


if __name__ == "__main__":
    unittest.main()
