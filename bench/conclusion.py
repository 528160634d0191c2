"""How every benchmark command ends: the run, its report printed and written as JSON and Markdown, its verdict."""

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.ingest.processes import BenchmarkSetupError

Report = dict[str, Any]


def conclude(
    name: str,
    output: Path,
    run: Callable[[], Report],
    render: Callable[[Report], str],
    problems: Callable[[Report], list[str]],
) -> int:
    """Run the benchmark; print its Markdown and write `<name>.json` and `<name>.md` to `output`. Exit status: 2
    when it could not be set up, 1 when `problems` finds any (each printed), else 0."""
    try:
        report = run()
    except BenchmarkSetupError as error:
        print(f"bench: {error}", file=sys.stderr)
        return 2
    text = render(report)
    print(text)
    output.mkdir(parents=True, exist_ok=True)
    (output / f"{name}.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    (output / f"{name}.md").write_text(text, encoding="utf-8")
    found = problems(report)
    for problem in found:
        print(f"bench: {problem}", file=sys.stderr)
    return 1 if found else 0
