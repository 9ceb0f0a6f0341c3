#!/usr/bin/env python3
"""Keep the use-cases the only door to a service's store: `make lint` runs it on crates/tasks (issue 13 item 4).

Inside a crate, only the use-case module (`app`, --door) and the store module itself (`store`, --store) may hold the
store. Everywhere else in src/ (transports, workers, outbox loops, event fan-out, gauges) this reports, with
file:line, every
- call of a `.store()` accessor (a use-case module handing its store out is how the door was bypassed before), and
- mention of a store trait: every `trait` declared under the store module (found, not listed here, so a trait added
  later, such as the GitHub inbox's, is covered the day it lands).
Data types the store defines (`Delivery`, `StoredEvent`, ...) may travel; the traits and the handle may not. The
composition root connecting the store and giving it to the use-cases (`crate::store::connect…` in startup.rs) names
neither, so it needs no exception.

Comments and string literals are blanked first (the same blanking as check-module-cycles.py), so prose may mention
the traits. Exit code 1 when anything is reported.

Usage: scripts/check-store-door.py [--door app] [--store store] CRATE_DIR...   (CRATE_DIR holds src/)
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import sys
from pathlib import Path

_SPEC = importlib.util.spec_from_file_location("module_cycles", Path(__file__).with_name("check-module-cycles.py"))
_CYCLES = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(_CYCLES)
blank = _CYCLES.blank

TRAIT_RE = re.compile(r"\btrait\s+([A-Za-z_][A-Za-z0-9_]*)")
STORE_CALL_RE = re.compile(r"\.\s*store\s*\(\s*\)")


def module_files(src: Path, module: str) -> set[Path]:
    """`src/<module>.rs` and everything under `src/<module>/`."""
    files = {p for p in (src / module).rglob("*.rs")} if (src / module).is_dir() else set()
    if (src / f"{module}.rs").is_file():
        files.add(src / f"{module}.rs")
    return files


def store_traits(files: set[Path]) -> set[str]:
    return {m.group(1) for f in files for m in TRAIT_RE.finditer(blank(f.read_text(encoding="utf-8")))}


def check(crate: Path, door: str, store: str) -> list[str]:
    src = crate / "src"
    store_files = module_files(src, store)
    inside = store_files | module_files(src, door)
    traits = store_traits(store_files)
    trait_re = re.compile(r"\b(" + "|".join(sorted(traits)) + r")\b") if traits else None
    findings = []
    for file in sorted(src.rglob("*.rs")):
        if file in inside:
            continue
        text = blank(file.read_text(encoding="utf-8"))
        for number, line in enumerate(text.splitlines(), start=1):
            where = f"{file}:{number}"
            if STORE_CALL_RE.search(line):
                findings.append(f"{where}: calls .store(): go through a use-case in `{door}` instead")
            if trait_re and (m := trait_re.search(line)):
                findings.append(f"{where}: names the store trait `{m.group(1)}`: only `{door}` and `{store}` hold it")
    return findings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--door", default="app", help="the use-case module allowed to hold the store (default app)")
    parser.add_argument("--store", default="store", help="the store module (default store)")
    parser.add_argument("crates", nargs="+", type=Path)
    args = parser.parse_args(argv)
    findings = [f for crate in args.crates for f in check(crate, args.door, args.store)]
    for finding in findings:
        print(finding)
    if findings:
        print(f"{len(findings)} way(s) around the use-cases to the store (STYLE.md 1: the use-cases are the only door)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
