"""Reports that tests keep beside their results, in test-artifacts/ (not committed; CI keeps the folder)."""

import json
from pathlib import Path
from typing import Any

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def keep(name: str, text: str, *, append: bool = False) -> Path:
    """Write (or append) `text` to test-artifacts/`name`; the path written."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    with path.open("a" if append else "w") as out:
        out.write(text)
    return path


def keep_table(name: str, title: str, rows: list[dict[str, Any]]) -> None:
    """`rows` as test-artifacts/`name`.json and as a Markdown table under `title` in `name`.md."""
    keep(f"{name}.json", json.dumps(rows, indent=2, default=str) + "\n")
    columns = list(rows[0]) if rows else []
    lines = [f"# {title}", "", "| " + " | ".join(columns) + " |", "|" + " --- |" * len(columns)]
    for row in rows:
        cells = (str(row[column]).replace("|", "\\|").replace("\n", " ") for column in columns)
        lines.append("| " + " | ".join(cells) + " |")
    keep(f"{name}.md", "\n".join(lines) + "\n")
