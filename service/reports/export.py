"""The reports as CSV: one header line, one row per agent, and the overall row first."""

from __future__ import annotations

import csv
import io
from typing import Any

from service.reports import schemas
from service.reports.spread import PERCENTILES

SPREADS = ("first_response_s", "reply_wait_s")
COUNTS = ("chats", "replies", "breaches", "apologies", "reassignments")


def _spread_columns(name: str) -> list[str]:
    stem = name.removesuffix("_s")
    return [f"{stem}_avg_s", *(f"{stem}_p{p}_s" for p in PERCENTILES)]


REPLY_TIME_COLUMNS = [
    "scope",
    "agent_id",
    "name",
    "employee_no",
    "chats",
    "replies",
    *(column for name in SPREADS for column in _spread_columns(name)),
    "breaches",
    "apologies",
    "reassignments",
]


def reply_times(report: schemas.ReplyTimeReport) -> str:
    rows: list[dict[str, Any]] = [{"scope": "overall", **_times(report.overall)}]
    for agent in report.agents:
        rows.append(
            {
                "scope": "agent",
                "agent_id": agent.agent_id,
                "name": agent.name,
                "employee_no": agent.employee_no,
                **_times(agent),
            }
        )
    return _csv(REPLY_TIME_COLUMNS, rows)


def _times(times: schemas.ReplyTimes) -> dict[str, Any]:
    row: dict[str, Any] = {name: getattr(times, name) for name in COUNTS}
    for name in SPREADS:
        spread: schemas.Spread = getattr(times, name)
        values = [spread.avg, *(getattr(spread, f"p{p}") for p in PERCENTILES)]
        row.update(zip(_spread_columns(name), values, strict=True))
    return row


def queue(report: schemas.QueueReport) -> str:
    row = report.model_dump(exclude={"agents"})
    row["at"] = report.at.isoformat().replace("+00:00", "Z")
    return _csv([name for name in schemas.QueueReport.model_fields if name != "agents"], [row])


def _csv(columns: list[str], rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: "" if value is None else value for key, value in row.items()})
    return out.getvalue()
