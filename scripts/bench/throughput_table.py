"""Prints the issue-19 table from the figures scripts/bench-throughput.sh wrote (one NAME.env per store).

Usage: throughput_table.py WORKDIR STORE...
"""

import sys
from pathlib import Path

from tables import print_table, verdict

# The targets of issue 19, on this 2-core machine.
CREATES = {"sqlite": (4000, 20.0), "redis": (10000, 10.0)}
JOBS = {"sqlite": 3000, "redis": 8000}
DRAIN_S = 2.0
FIRST_START_S, WARM_START_S = 2.0, 1.0
RSS_IDLE_MB, RSS_AFTER_MB = 80, 120
NAMES = {"sqlite": "embedded SQLite", "redis": "Redis store"}


def read(path: Path) -> dict:
    figures = {}
    for line in path.read_text().splitlines():
        key, _, value = line.partition("=")
        figures[key] = value.strip('"')
    return figures


def rows(store: str, f: dict) -> list:
    out = []
    name = NAMES[store]
    if "wrk_requests" in f:
        seconds = int(f["wrk_duration_us"]) / 1e6
        rate = int(f["created"]) / seconds
        p99 = int(f["wrk_p99_us"]) / 1000
        errors = int(f["wrk_status_errors"]) + int(f["socket_errors"])
        want_rate, want_p99 = CREATES[store]
        note = f" ({errors} errors)" if errors else ""
        out.append((
            f"{name}: POST a one-job pipeline",
            f"{rate:,.0f}/s, p99 {p99:.1f} ms{note}",
            f">= {want_rate:,}/s, p99 <= {want_p99:g} ms",
            verdict(rate >= want_rate and p99 <= want_p99 and not errors),
        ))
        if "e2e_ms" in f:
            e2e = int(f["created"]) / (int(f["e2e_ms"]) / 1000)
            drain = int(f["drain_ms"]) / 1000
            out.append((
                f"{name}: jobs finished end to end",
                f"{e2e:,.0f}/s",
                f">= {JOBS[store]:,}/s",
                verdict(e2e >= JOBS[store]),
            ))
            out.append((
                f"{name}: backlog drained after the load",
                f"{drain:.1f} s",
                f"<= {DRAIN_S:g} s",
                verdict(drain <= DRAIN_S),
            ))
        else:
            out.append((f"{name}: jobs finished end to end", f"{f['undrained']} jobs never finished", "all", "MISSED"))
    if store == "sqlite":
        warning = " (warned)" if "start_warning" in f else ""
        first = int(f["first_start_ms"]) / 1000
        out.append(("devopstrack up -> healthy, first start", f"{first:.2f} s{warning}", f"<= {FIRST_START_S:g} s",
                    verdict(first <= FIRST_START_S and not warning)))
        if "warm_start_ms" in f:
            warm = int(f["warm_start_ms"]) / 1000
            out.append(("devopstrack up -> healthy, warm restart", f"{warm:.2f} s{warning}", f"<= {WARM_START_S:g} s",
                        verdict(warm <= WARM_START_S and not warning)))
    out.append((f"{name}: RSS of the platform, idle", f"{f['rss_idle_mb']} MB", f"<= {RSS_IDLE_MB} MB",
                verdict(int(f["rss_idle_mb"]) <= RSS_IDLE_MB)))
    if "rss_after_mb" in f:
        out.append((f"{name}: RSS of the platform, after the load", f"{f['rss_after_mb']} MB",
                    f"<= {RSS_AFTER_MB} MB", verdict(int(f["rss_after_mb"]) <= RSS_AFTER_MB)))
    return out


def main() -> None:
    work = Path(sys.argv[1])
    table = []
    loads = []
    for store in sys.argv[2:]:
        figures = read(work / f"{store}.env")
        table += rows(store, figures)
        loads.append(f"{NAMES[store]} under load average {figures.get('load_avg', '?')}")
    print_table(table)
    print("Machine load when each load ended (1, 5, 15 min): " + "; ".join(loads))


if __name__ == "__main__":
    main()
