"""The figures-next-to-targets table the bench scripts print (throughput_table.py, chat_bench.py)."""


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def print_table(rows: list[tuple[str, str, str, str]]) -> None:
    """Prints (figure, measured, target, verdict) rows in aligned columns under a header and a rule."""
    table = [("figure", "measured", "target", "")] + rows
    widths = [max(len(row[i]) for row in table) for i in range(4)]
    print()
    for i, row in enumerate(table):
        print("  ".join(cell.ljust(widths[n]) for n, cell in enumerate(row)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))
    print()
