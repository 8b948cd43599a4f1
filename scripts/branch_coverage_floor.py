"""Fail when branch coverage is below a floor: ``branch_coverage_floor.py coverage.json FLOOR``.

Reads the JSON report of coverage.py (``pytest --cov --cov-report=json:PATH``, configured in
pyproject's [tool.coverage]) and compares the share of branches covered, not coverage.py's
total (which mixes statements and branches), with FLOOR in percent. docs/testing.md says why.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)  # noqa: T201 - a script's output
        return 2
    totals = json.loads(Path(argv[0]).read_text(encoding="utf-8"))["totals"]
    floor = float(argv[1])
    covered, branches = totals["covered_branches"], totals["num_branches"]
    percent = 100.0 * covered / branches if branches else 100.0
    verdict = "ok" if percent >= floor else "BELOW THE FLOOR"
    print(  # noqa: T201
        f"branch coverage: {covered}/{branches} = {percent:.2f} % (floor {floor:g} %): {verdict}"
    )
    return 0 if percent >= floor else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
