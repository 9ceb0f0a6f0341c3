#!/usr/bin/env python3
"""Report module circles (import cycles) inside a Rust crate: `make lint` runs it on the service crates.

Imports should point one way (transports -> app -> domain, app -> store; STYLE.md 5.9). This reads a crate's src/
tree, maps each file to its module path, collects the paths it names (`crate::a::b`, `super::x`, `self::x`, a child
module `x::...`, and names a `use` bound to a module), and builds the graph between modules cut at --depth segments
(default 2: `routes::pipelines`, `domain::spec`, `app`). A module and its own parent or children are one unit (the
parent declares them; a child extends its parent's types), so edges between them do not count. Every strongly
connected component with more than one node is a circle: it is printed with one reference (file:line) per edge, and
the exit code is 1.

Good enough, not a Rust parser: comments and string literals are blanked, `#[cfg(test)]` inline modules and files
named `tests.rs` (or under a `tests/` module folder) are skipped, macro bodies are read like any other code, and
re-exports are not followed (a path counts against the module it names).

Usage: scripts/check-module-cycles.py [--depth N] [--known a,b::c ...] CRATE_DIR...   (CRATE_DIR holds src/)
A --known circle (its exact set of modules, without `crate::`) is printed but does not fail: a circle found and not
yet fixed stays visible, and any new one (or a known one that grows) fails.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
PATH_RE = re.compile(rf"(?<![A-Za-z0-9_:])((?:{IDENT}\s*::\s*)+{IDENT})")
MOD_DECL_RE = re.compile(rf"^\s*(?:pub(?:\s*\([^)]*\))?\s+)?mod\s+({IDENT})\s*;", re.M)
INLINE_TEST_MOD_RE = re.compile(rf"#\[cfg\(test\)\]\s*(?:#\[[^\]]*\]\s*)*(?:pub(?:\s*\([^)]*\))?\s+)?mod\s+{IDENT}\s*\{{")
USE_RE = re.compile(r"\buse\s+([^;]+);")


def blank(text: str) -> str:
    """Comments, string and char literals replaced by spaces (newlines kept, so line numbers hold)."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif (m := re.match(r'b?r(#*)"', text[i:i + 260])) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            end = text.find('"' + m.group(1), i + m.end())
            j = n if end < 0 else end + 1 + len(m.group(1))
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == "'" and (m := re.match(r"'(?:\\(?:x[0-9a-fA-F]{2}|u\{[0-9a-fA-F]+\}|.)|[^\\'])'", text[i:i + 14])):
            out.append(" " * m.end())
            i += m.end()
        else:
            out.append(c)
            i += 1
    return "".join(out)


def strip_test_mods(code: str) -> str:
    """`#[cfg(test)] mod x { ... }` blanked (braces matched on code already free of comments and strings)."""
    while m := INLINE_TEST_MOD_RE.search(code):
        depth, j = 1, m.end()
        while j < len(code) and depth:
            depth += {"{": 1, "}": -1}.get(code[j], 0)
            j += 1
        code = code[: m.start()] + re.sub(r"[^\n]", " ", code[m.start():j]) + code[j:]
    return code


def module_of(src: Path, file: Path) -> tuple[str, ...] | None:
    """The module path of a file under src/, or None for a file the checker skips (binaries, tests)."""
    parts = list(file.relative_to(src).with_suffix("").parts)
    if parts in (["lib"], ["main"]):
        return () if parts == ["lib"] else None
    if parts[0] in ("bin", "main") or "tests" in parts:
        return None
    if parts[-1] == "mod":
        parts.pop()
    return tuple(parts)


def expand_use(tree: str) -> list[tuple[str, str | None]]:
    """`a::{b, c::{d as e}}` -> [("a::b", None), ("a::c::d", "e")]."""
    tree = re.sub(r"\s+", " ", tree).strip()
    depth = 0
    for i, ch in enumerate(tree):
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if ch == "{" and depth == 1:
            prefix = tree[:i].strip().rstrip(":").strip()
            inner = tree[i + 1: tree.rfind("}")]
            items, d, start = [], 0, 0
            for k, c in enumerate(inner):
                d += {"{": 1, "}": -1}.get(c, 0)
                if c == "," and d == 0:
                    items.append(inner[start:k])
                    start = k + 1
            items.append(inner[start:])
            result = []
            for item in filter(None, (s.strip() for s in items)):
                for path, alias in expand_use(item):
                    path = prefix if path == "self" else f"{prefix}::{path}" if prefix else path
                    result.append((path, alias))
            return result
    m = re.fullmatch(rf"(.*?)(?: as ({IDENT}))?", tree)
    return [(re.sub(r"\s", "", m.group(1)), m.group(2))]


class Crate:
    def __init__(self, root: Path):
        self.src = root / "src" if (root / "src").is_dir() else root
        self.files: dict[tuple[str, ...], list[tuple[Path, str]]] = {}
        for file in sorted(self.src.rglob("*.rs")):
            module = module_of(self.src, file)
            if module is not None:
                code = strip_test_mods(blank(file.read_text(encoding="utf-8")))
                self.files.setdefault(module, []).append((file, code))
        self.modules = set(self.files)
        for module in list(self.modules):  # inline `mod x { ... }` and folders without mod.rs still have parents
            for k in range(len(module)):
                self.modules.add(module[:k])

    def resolve(self, here: tuple[str, ...], segments: list[str]) -> tuple[str, ...] | None:
        """The deepest known module a path names, from module `here`; None when it leaves the crate."""
        if segments[0] == "crate":
            base, rest = (), segments[1:]
        elif segments[0] in ("self", "super"):
            base, rest = here, segments
            while rest and rest[0] in ("self", "super"):
                if rest[0] == "super":
                    if not base:
                        return None
                    base = base[:-1]
                rest = rest[1:]
        else:
            return None
        return self.walk(base, rest)

    def walk(self, module: tuple[str, ...], rest: list[str]) -> tuple[str, ...]:
        for seg in rest:
            if module + (seg,) not in self.modules:
                break
            module = module + (seg,)
        return module

    def lookup(self, here, segments, aliases):
        """`resolve`, or a path through a child module or a `use` alias of this file."""
        target = self.resolve(here, segments)
        if target is None and segments[0] in aliases:
            target = self.walk(aliases[segments[0]], segments[1:])
        return target

    def references(self):
        """(from module, to module, file, line) for every path to another module of the crate."""
        for module, sources in self.files.items():
            for file, code in sources:
                children = {name: module + (name,) for name in MOD_DECL_RE.findall(code)}
                aliases = dict(children)
                rest = code
                for use in USE_RE.finditer(code):
                    line = code.count("\n", 0, use.start()) + 1
                    for path, alias in expand_use(use.group(1)):
                        segments = [s for s in path.split("::") if s]
                        if segments and segments[-1] == "*":
                            segments.pop()
                        target = self.lookup(module, segments, aliases) if segments else None
                        if target is None:
                            continue
                        yield module, target, file, line
                        if target and target != module and target[-1] == segments[-1]:  # the use names a module
                            aliases[alias or segments[-1]] = target
                    # the use is read: blank it, so its prefix (`crate::routes::{...}`) is not read as a path
                    rest = rest[: use.start()] + re.sub(r"[^\n]", " ", use.group(0)) + rest[use.end():]
                for m in PATH_RE.finditer(rest):
                    segments = [s.strip() for s in m.group(1).split("::")]
                    target = self.lookup(module, segments, aliases)
                    if target is not None:
                        yield module, target, file, rest.count("\n", 0, m.start()) + 1


def ancestor(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """`a` contains `b` (or is `b`)."""
    return b[: len(a)] == a


def cycles(crate: Crate, depth: int):
    """Strongly connected components (> 1 node) of the module graph cut at `depth`, each with its edges."""
    edges: dict[tuple[str, ...], dict[tuple[str, ...], str]] = {}
    for src, dst, file, line in crate.references():
        a, b = (src[:depth], dst[:depth]) if depth else (src, dst)
        if a == b or ancestor(dst, src) or ancestor(b, a):
            continue
        edges.setdefault(a, {}).setdefault(b, f"{file.relative_to(crate.src.parent)}:{line}")
    # Tarjan, iterative.
    index, low, on_stack, stack, sccs, counter = {}, {}, set(), [], [], 0
    nodes = sorted(set(edges) | {b for targets in edges.values() for b in targets})
    for root in nodes:
        if root in index:
            continue
        work = [(root, iter(sorted(edges.get(root, {}))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, {})))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    component.append(top)
                    if top == node:
                        break
                if len(component) > 1:
                    members = set(component)
                    inner = [
                        (a, b, where)
                        for a in sorted(members)
                        for b, where in sorted(edges.get(a, {}).items())
                        if b in members
                    ]
                    sccs.append((sorted(members), inner))
    return sorted(sccs)


def name(module: tuple[str, ...]) -> str:
    return "::".join(("crate",) + module)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--depth", type=int, default=0, help="module path segments per graph node (default 0: no cut)")
    parser.add_argument("--known", action="append", default=[], help="a circle tolerated for now: a,b::c")
    parser.add_argument("crates", nargs="+", type=Path, help="crate directories (holding src/)")
    args = parser.parse_args(argv)
    known = [{tuple(m.split("::")) for m in k.split(",")} for k in args.known]
    found = 0
    for root in args.crates:
        crate = Crate(root)
        if not crate.files:
            print(f"{root}: no Rust sources under {crate.src}", file=sys.stderr)
            return 2
        circles = cycles(crate, args.depth)
        if not circles:
            print(f"{root}: no module circles")
        for members, inner in circles:
            tolerated = set(members) in known
            found += not tolerated
            label = "known module circle (not fixed yet)" if tolerated else "module circle"
            print(f"{root}: {label}: {' <-> '.join(name(m) for m in members)}")
            for a, b, where in [] if tolerated else inner:
                print(f"    {name(a)} -> {name(b)}  ({where})")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
