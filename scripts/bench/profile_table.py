"""Reads a callgrind profile of scripts/bench-profile.sh and prints the instructions per create, split by hop.

Usage: profile_table.py CALLGRIND_OUT CREATES

A hop is the inclusive count of the function that enters it (the first pattern of HOPS found in the profile); the
counts overlap where one hop calls another (the edge's handler includes its gRPC call to tasks, for example), so each
row says what it includes. Then the most expensive functions, inclusive and self.
"""

import re
import subprocess
import sys

# (name, what the count includes, regular expressions on callgrind's function names: the first that matches wins).
HOPS = [
    ("edge: HTTP/1 dispatch of every request", "routing, middleware, handlers, JSON (not the services)",
     [r"actix_http::h1::dispatcher::Dispatcher<.*>::poll$"]),
    ("edge: route matching (regex per pattern)", "the router and `observe` naming the route",
     [r"^regex_lite::string::Regex::captures_at$"]),
    ("edge: audit writer", "the hash-chained records, batched", [r"audit_log::AuditWriter::run::\{\{closure\}\}$"]),
    ("tasks: CreatePipeline (async part)", "token check, projects lookup call; SQLite work runs on sqlx's thread",
     [r"tasks::grpc::TasksGrpc as .*>::create_pipeline::\{\{closure\}\}$"]),
    ("tasks: WatchEvents streams", "filtering every event for each watcher (the gateway's notifier)",
     [r"devopstrack_tasks::grpc::watch::\{\{closure\}\}$"]),
    ("tasks: metric events outbox", "batches to metrics", [r"outbox::metric_events::run::\{\{closure\}\}$"]),
    ("projects: GetProject (async part)", "", [r"ProjectsGrpc as .*>::get_project::\{\{closure\}\}$"]),
    ("gRPC server streams (hyper h2)", "every gRPC call's server side, its service included",
     [r"hyper::proto::h2::server::H2Stream<.*> as core::future::future::Future>::poll$"]),
    ("SQLite: every statement (all services)", "on sqlx's worker threads", [r"^sqlite3_step$"]),
    ("SQLite: re-prepares", "statements SQLite expired (a bound LIMIT does that)", [r"^sqlite3Reprepare$"]),
    ("SQLite: BEGIN / COMMIT", "sqlite3_exec parses them each time", [r"^sqlite3_exec$"]),
    ("SQLite: WAL frames", "pages written at commit", [r"^pagerWalFrames$"]),
    ("allocator", "malloc", [r"^malloc$"]),
]


def annotate(path: str, inclusive: bool) -> list:
    args = ["callgrind_annotate", f"--inclusive={'yes' if inclusive else 'no'}", "--threshold=100", path]
    text = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    rows = []
    for line in text.splitlines():
        m = re.match(r"\s*([\d,]+)\s+(?:\([^)]*\)\s+)?(\S.*)$", line)
        if not m:
            continue
        count = int(m.group(1).replace(",", ""))
        name = m.group(2)
        # "file:function [object]": keep the function.
        name = re.sub(r"\s+\[[^\]]*\]$", "", name)
        if ":" in name and not name.startswith("0x"):
            head, _, tail = name.partition(":")
            if "/" in head or head.endswith((".rs", ".c", ".h")) or head == "???":
                name = tail
        rows.append((count, name))
    return rows


def total(rows: list) -> int:
    """callgrind_annotate's PROGRAM TOTALS row (the file's own `totals:` line counts from the last zeroing)."""
    return next((count for count, name in rows if name.startswith("PROGRAM TOTALS")), 0)


def main() -> None:
    path, creates = sys.argv[1], int(sys.argv[2])
    inclusive = annotate(path, True)
    exclusive = annotate(path, False)
    all_ir = total(inclusive)
    per = lambda n: n / creates
    print(f"callgrind, {creates} creates and their drain: {all_ir:,} instructions in all, {per(all_ir):,.0f} per create")
    print()
    print(f"{'hop':44} {'Ir per create':>14} {'share':>6}  includes")
    for name, includes, patterns in HOPS:
        found = None
        for pattern in patterns:
            matches = [(c, n) for c, n in inclusive if re.search(pattern, n.strip())]
            if matches:
                found = max(matches)
                break
        if found is None:
            print(f"{name:44} {'-':>14} {'':>6}  (not in the profile)")
            continue
        share = 100 * found[0] / all_ir if all_ir else 0
        print(f"{name:44} {per(found[0]):>14,.0f} {share:>5.1f}%  {includes}")
    print()
    print("most instructions, inclusive (per create):")
    for count, name in [r for r in inclusive if not r[1].startswith("PROGRAM TOTALS")][:45]:
        print(f"  {per(count):>12,.0f}  {name[:150]}")
    print()
    print("most instructions, self (per create):")
    for count, name in [r for r in exclusive if not r[1].startswith("PROGRAM TOTALS")][:30]:
        print(f"  {per(count):>12,.0f}  {name[:150]}")


if __name__ == "__main__":
    main()
