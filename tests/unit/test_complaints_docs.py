"""docs/complaints.md stays true: its bodies match the schemas, its tables match the code."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from service.complaints.schemas import (
    ComplaintDetail,
    ComplaintOut,
    ComplaintUpdate,
    FollowUpIn,
)
from service.complaints.workflow import MOVES, Status
from service.customers.schemas import CustomerOut, CustomerUpdate
from service.reports.satisfaction import SatisfactionReport
from service.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "complaints.md"
EXAMPLE = re.compile(
    r"<!--\s*http:\s*(?P<model>\w+)\s*-->\s*\n```json\n(?P<body>.*?)^```$", re.M | re.S
)
MODELS: dict[str, type[BaseModel]] = {
    model.__name__: model
    for model in (
        ComplaintOut,
        ComplaintDetail,
        ComplaintUpdate,
        FollowUpIn,
        CustomerUpdate,
        CustomerOut,
        SatisfactionReport,
    )
}
REQUESTS = (ComplaintUpdate, FollowUpIn, CustomerUpdate)


def examples() -> list[tuple[str, Any]]:
    text = DOC.read_text(encoding="utf-8")
    return [(m["model"], json.loads(m["body"])) for m in EXAMPLE.finditer(text)]


def aliases(model: type[BaseModel]) -> set[str]:
    return {field.alias or name for name, field in model.model_fields.items()}


@pytest.mark.parametrize(("model", "body"), examples(), ids=[m for m, _ in examples()])
def test_every_body_matches_its_schema(model: str, body: Any) -> None:
    if model == "problem":
        assert {"type", "title", "status", "code", "detail"} <= set(body)
        assert body["type"] == f"https://kefu.dev/problems/{body['code']}"
        return
    schema = MODELS[model]
    schema.model_validate(body)
    if schema not in REQUESTS:
        assert set(body) == aliases(schema), f"{model}: fields differ"


def test_every_response_schema_has_an_example() -> None:
    shown = {model for model, _ in examples()}
    assert set(MODELS) - shown == set()


def test_the_moves_table_is_the_workflow() -> None:
    text = DOC.read_text(encoding="utf-8")
    table = text[text.index("| from | to |") :]
    for status, targets in MOVES.items():
        rows = table.split("\n\n")[0].splitlines()[2:]
        [line] = [ln for ln in rows if f"`{status}`" in ln.split("|")[1]]
        shown = set(re.findall(r"`(\w+)`", line.split("|")[2]))
        assert shown == set(targets), (status, shown)
    assert {s.value for s in Status} <= set(re.findall(r"`(\w+)`", table.split("\n\n")[0]))


def test_every_complaint_setting_is_documented_here_and_in_the_readme() -> None:
    doc = DOC.read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    names = [n for n in Settings.model_fields if n.startswith(("complaint_", "survey_"))]
    assert names
    for name in names:
        assert f"`KEFU_{name.upper()}`" in doc, name
        assert f"`KEFU_{name.upper()}`" in readme, name
    for name in re.findall(r"KEFU_([A-Z_]+)", doc):
        assert name.lower() in Settings.model_fields, f"KEFU_{name} is not a setting"


def test_documented_defaults_are_the_real_ones() -> None:
    doc = DOC.read_text(encoding="utf-8")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    for line in doc[doc.index("## Settings") :].splitlines():
        found = re.match(r"\| `KEFU_(\w+)` \| `([^`]*)` \|", line)
        if not found or "…" in found[2]:
            continue
        value = getattr(settings, found[1].lower())
        shown = found[2]
        if isinstance(value, bool):
            assert shown == str(value).lower(), line
        elif isinstance(value, float):
            assert float(shown) == value, line
        else:
            assert shown == str(value), line
