"""No merge conflict is left in what we ship: a marker line in docs or code is a broken merge."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TEXT = {".py", ".md", ".js", ".css", ".html", ".toml", ".ini", ".yaml", ".yml", ".txt", ".conf"}
SKIP = {".venv", "var", "node_modules", ".git", "vendor", "__pycache__"}
MARKER = re.compile(r"^(<{7} |>{7} |={7}$)", re.M)


def shipped() -> list[Path]:
    return [
        path
        for path in ROOT.rglob("*")
        if path.suffix in TEXT
        and path.is_file()
        and not SKIP.intersection(path.relative_to(ROOT).parts)
    ]


def test_no_conflict_markers() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{text[: match.start()].count(chr(10)) + 1}"
        for path in shipped()
        for text in [path.read_text(encoding="utf-8", errors="replace")]
        for match in MARKER.finditer(text)
    ]
    assert found == []


def test_the_marker_is_seen() -> None:
    assert MARKER.search("a\n<<<<<<< HEAD\nb\n=======\nc\n>>>>>>> main\n")
