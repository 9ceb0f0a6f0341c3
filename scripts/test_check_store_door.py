"""Tests of scripts/check-store-door.py on small crates written to a temporary directory (run by scripts/lint.sh:
python3 -m unittest discover -s scripts -p 'test_check_*.py')."""

import unittest
from pathlib import Path

import checker_kit

door = checker_kit.load("check-store-door.py")

STORE = {
    "store/mod.rs": "mod queue;\npub use queue::JobQueue;\npub trait TaskStore: JobQueue {}\npub struct Delivery;\n",
    "store/queue.rs": "pub trait JobQueue { fn ack(&self); }\n",
    "app/mod.rs": "use crate::store::TaskStore;\npub struct App { store: Box<dyn TaskStore> }\n"
                  "impl App { pub fn ack(&self) { self.store.ack() } }\n",
}


def crate(files: dict[str, str]) -> Path:
    return checker_kit.crate({**STORE, **files})


def run(*args) -> tuple[int, str]:
    return checker_kit.run(door, *args)


class CheckStoreDoor(unittest.TestCase):
    def test_a_worker_going_through_the_use_cases_passes(self):
        root = crate({"worker.rs": "use crate::store::Delivery;\nfn run(app: &crate::app::App) { app.ack() }\n"})
        self.assertEqual(run(root), (0, ""))

    def test_a_worker_calling_the_store_accessor_is_reported_with_its_line(self):
        root = crate({"worker.rs": "fn run(app: &crate::app::App) {\n    app.store().ack()\n}\n"})
        code, out = run(root)
        self.assertEqual(code, 1)
        self.assertIn("worker.rs:2: calls .store()", out)

    def test_a_focused_trait_declared_in_any_store_file_counts(self):
        root = crate({"outbox.rs": "use std::sync::Arc;\nfn run(q: Arc<dyn crate::store::JobQueue>) { q.ack() }\n"})
        code, out = run(root)
        self.assertEqual(code, 1)
        self.assertIn("outbox.rs:2: names the store trait `JobQueue`", out)

    def test_a_trait_added_later_in_a_new_store_file_is_covered(self):
        root = crate({
            "store/inbox.rs": "pub trait InboxStore {}\n",
            "grpc.rs": "fn f(_: &dyn crate::store::InboxStore) {}\n",
        })
        code, out = run(root)
        self.assertEqual(code, 1)
        self.assertIn("`InboxStore`", out)

    def test_comments_and_strings_may_name_the_store(self):
        root = crate({"events.rs": "// reads the TaskStore through app.store()\nconst S: &str = \"TaskStore\";\n"})
        self.assertEqual(run(root), (0, ""))


if __name__ == "__main__":
    unittest.main()
