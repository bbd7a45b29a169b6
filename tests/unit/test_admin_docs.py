"""docs/admin.md stays true: its role × route table is service/api/roles.py's, and its
examples match the schemas they name."""

from __future__ import annotations

import json
import re
from pathlib import Path

from pydantic import BaseModel

from service.api.admin.audit import AuditPage
from service.api.roles import ROUTES
from service.errors import Forbidden
from service.tokens.schemas import TokenCreate, TokenCreated, TokenOut
from service.tokens.service import Role

DOC = Path(__file__).resolve().parents[2] / "docs" / "admin.md"
ROW = re.compile(r"^\| `(GET|POST|PUT|PATCH|DELETE) (/api/v1\S*)` \| (.+) \| (.+) \| (.+) \|$")
EXAMPLE = re.compile(r"<!-- http: (\w+) -->\n```json\n(.*?)\n```", re.S)
MODELS: dict[str, type[BaseModel]] = {
    model.__name__: model for model in (TokenCreate, TokenCreated, TokenOut, AuditPage)
}
ROLES = (Role.admin, Role.supervisor, Role.agent)


def documented() -> dict[tuple[str, str], tuple[str, ...]]:
    found = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if (match := ROW.match(line)) is not None:
            method, path, *cells = match.groups()
            found[method, path] = tuple(cell.strip() for cell in cells)
    return found


def test_the_documented_matrix_is_the_enforced_one() -> None:
    def cells(key: tuple[str, str]) -> tuple[str, ...]:
        rule = ROUTES[key]
        return tuple(
            "✓" if role in rule.roles else "own" if role in rule.own else "–" for role in ROLES
        )

    assert documented() == {key: cells(key) for key in ROUTES}


def test_the_examples_match_their_schemas() -> None:
    examples = EXAMPLE.findall(DOC.read_text(encoding="utf-8"))
    assert {name for name, _ in examples} >= {"TokenCreate", "TokenCreated", "AuditPage"}
    for name, body in examples:
        data = json.loads(body)
        if name == "problem":
            assert data["code"] == Forbidden.code and data["status"] == Forbidden.status
            continue
        model = MODELS[name]
        model.model_validate(data)
        if model is not TokenCreate:
            assert set(data) == set(model.model_fields), name
