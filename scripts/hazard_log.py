"""The hazard log kept as data: check ``docs/safety/hazards/HAZ-NNN.yaml`` and render
``docs/safety/hazard-log.md`` (plus the residual-risk list in the safety case).

Kept outside the product (nothing in base/ … kapcds/ imports it): it is the safety file's
tooling, run by hand and by ``tests/unit/test_hazard_log.py``.

    python -m scripts.hazard_log           # check every file, then write the Markdown
    python -m scripts.hazard_log --check   # check only; exit 1 if anything is wrong or stale
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from scripts.hazard_render import render_case, render_log
from scripts.hazard_schema import CASE_FILE, LOG_FILE, ROOT, load_hazards, missing_tests

log = logging.getLogger(__name__)


def rendered(root: Path, hazards: list) -> dict[Path, str]:
    """What the Markdown files under ``root`` should hold for ``hazards``."""
    outputs = {root / LOG_FILE: render_log(hazards)}
    case_path = root / CASE_FILE
    if case_path.is_file():
        outputs[case_path] = render_case(case_path.read_text(encoding="utf-8"), hazards)
    return outputs


def stale_files(root: Path, hazards: list) -> list[Path]:
    """The rendered files under ``root`` whose content differs from what the data gives."""
    return [p for p, text in rendered(root, hazards).items()
            if not p.is_file() or p.read_text(encoding="utf-8") != text]


def main(argv: list[str] | None = None) -> int:
    """Check the hazard files; write (or, with --check, compare) the rendered Markdown."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if a file is wrong or the Markdown stale")
    parser.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    hazards, problems = load_hazards(args.root)
    problems += missing_tests(hazards, args.root)
    for problem in problems:
        log.error("%s", problem)
    if problems:
        return 1
    outputs = rendered(args.root, hazards)
    stale = stale_files(args.root, hazards)
    if args.check:
        for path in stale:
            log.error("%s is out of date: run python -m scripts.hazard_log", path)
        return 1 if stale else 0
    for path in stale:
        path.write_text(outputs[path], encoding="utf-8")
        log.info("wrote %s", path)
    log.info("%d hazards checked", len(hazards))
    return 0


if __name__ == "__main__":
    sys.exit(main())
