"""Shapes of the notification table on the wire: admin API bodies and the ``complaint`` frames."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, time
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter

from service.complaints.workflow import STAFF_REASONS, FollowUpResult, Reason, Status
from service.customers.schemas import CustomerCard
from service.owners.schemas import OwnerSpan
from service.realtime.protocol import MAX_ID, RowId

# S-record: the facts kept with a complaint. A flat object; a few keys have a fixed form.
FactKey = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")]
FactValue = Annotated[str, Field(max_length=2000)] | int | float | bool | None
MAX_FACTS = 20
_AMOUNT = re.compile(r"^\d{1,12}(\.\d{1,4})?$")


def _parses(parse: Callable[[str], object], value: object, form: str) -> bool:
    if not isinstance(value, str) or not re.fullmatch(form, value):
        return False
    try:
        parse(value)
    except ValueError:
        return False
    return True


def _check_facts(facts: dict[str, Any]) -> dict[str, Any]:
    checked = dict(facts)
    if "date" in checked and not _parses(date.fromisoformat, checked["date"], r"\d{4}-\d{2}-\d{2}"):
        raise ValueError("date must be a date YYYY-MM-DD")
    if "time" in checked and not _parses(
        time.fromisoformat, checked["time"], r"\d{2}:\d{2}(:\d{2})?"
    ):
        raise ValueError("time must be a time HH:MM or HH:MM:SS")
    if "amount" in checked:
        value = checked["amount"]
        if isinstance(value, str):
            if not _AMOUNT.match(value):
                raise ValueError("amount must be a non-negative decimal such as 68.00")
        elif isinstance(value, int | float) and not isinstance(value, bool):
            amount = Decimal(str(value))
            if not amount.is_finite() or amount < 0:
                raise ValueError("amount must be a non-negative decimal such as 68.00")
            checked["amount"] = str(amount)
        else:
            raise ValueError("amount must be a number or a decimal string")
    return checked


Facts = Annotated[
    dict[FactKey, FactValue], Field(max_length=MAX_FACTS), AfterValidator(_check_facts)
]
facts_adapter: TypeAdapter[dict[str, Any]] = TypeAdapter(Facts)

StatusName = Literal[
    "draft", "open", "acknowledged", "escalated", "resolved", "followed_up", "closed", "dismissed"
]
ReasonName = Literal[
    "major",
    "skip_level",
    "batch",
    "repeat",
    "escalated",
    "cross_region",
    "important_customer",
    "sensitive_customer",
]
StaffReason = Literal["major", "skip_level", "escalated", "cross_region"]
SourceName = Literal["agent", "customer", "keyword", "survey"]
ClassName = Literal["ordinary", "urgent"]
# "-key" sorts descending; service/complaints/queries.py maps each key to a column.
SortKey = Literal[
    "id",
    "-id",
    "created_at",
    "-created_at",
    "opened_at",
    "-opened_at",
    "due_at",
    "-due_at",
    "updated_at",
    "-updated_at",
    "status",
    "-status",
    "topic",
    "-topic",
    "urgent",
    "-urgent",
]
Comment = Annotated[str, Field(min_length=1, max_length=2000)]
Topic = Annotated[str, Field(min_length=1, max_length=64)]

assert {*StatusName.__args__} == set(Status)  # type: ignore[attr-defined]
assert {*ReasonName.__args__} == set(Reason)  # type: ignore[attr-defined]
assert {*StaffReason.__args__} == set(STAFF_REASONS)  # type: ignore[attr-defined]


class ComplaintOut(BaseModel):
    """One row of the notification table."""

    model_config = ConfigDict(populate_by_name=True)

    id: int
    chat_id: int
    customer: CustomerCard
    agent_id: int | None = Field(description="the agent who took it")
    owner_id: int | None
    topic: str
    summary: str
    facts: dict[str, Any]
    source: SourceName
    status: StatusName
    class_: ClassName = Field(alias="class")
    reasons: list[ReasonName]
    batch_id: int | None
    created_at: datetime
    opened_at: datetime | None
    answer_due_at: datetime | None
    resolved_at: datetime | None
    follow_up_due_at: datetime | None
    followed_up_at: datetime | None
    follow_up_result: Literal["satisfied", "unsatisfied", "unreachable"] | None
    closed_at: datetime | None
    due_at: datetime | None = Field(description="the pending deadline: answer, then follow-up")
    overdue: bool
    updated_at: datetime


class EventOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    at: datetime
    actor: str
    action: str
    from_: str | None = Field(alias="from")
    to: str | None
    comment: str | None


class RatingOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    chat_id: int
    agent_id: int | None
    score: int
    band: Literal["unsatisfied", "average", "satisfied"]
    comment: str | None
    created_at: datetime


class ComplaintDetail(ComplaintOut):
    history: list[EventOut]
    owners: list[OwnerSpan] = Field(
        description="S-first-responder: its owners in order, from the history's owner events"
    )
    transcript: list[dict[str, Any]] = Field(
        description="message frames around the moment it was recorded, internal lines included"
    )
    rating: RatingOut | None


class ComplaintPage(BaseModel):
    items: list[ComplaintOut]
    total: int
    limit: int
    offset: int


class ComplaintUpdate(BaseModel):
    """Every field optional; ``owner_id: null`` clears the owner. Applied together or not at all."""

    model_config = ConfigDict(extra="forbid")

    status: StatusName | None = None
    owner_id: RowId | None = None
    topic: Topic | None = None
    summary: Annotated[str, Field(min_length=1, max_length=4000)] | None = None
    facts: Facts | None = None
    add_reasons: list[StaffReason] = Field(default_factory=list, max_length=8)
    remove_reasons: list[ReasonName] = Field(default_factory=list, max_length=8)
    comment: Comment | None = None


class FollowUpIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    result: Literal["satisfied", "unsatisfied", "unreachable"]
    note: Comment


assert {*FollowUpIn.model_fields["result"].annotation.__args__} == set(FollowUpResult)  # type: ignore[union-attr]


class WorkflowOut(BaseModel):
    statuses: list[str]
    moves: dict[str, list[str]]
    topics: list[str]
    reasons: list[str]
    staff_reasons: list[str]
    sources: list[str]
    follow_up_results: list[str]
    sort_keys: list[str]


class ComplaintFilterQuery(BaseModel):
    """The list's and the export's query: repeat a list parameter to match any of its values."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    status: list[StatusName] = Field(default_factory=list)
    class_: ClassName | None = Field(default=None, alias="class")
    reason: list[ReasonName] = Field(default_factory=list, description="has all of these")
    topic: list[Topic] = Field(default_factory=list)
    source: list[SourceName] = Field(default_factory=list)
    owner: Annotated[str, Field(pattern=r"^(none|[1-9][0-9]{0,17})$")] | None = Field(
        default=None, description="an agent id, or none for rows without an owner"
    )
    overdue: bool | None = None
    since: AwareDatetime | None = Field(default=None, description="created at or after")
    until: AwareDatetime | None = Field(default=None, description="created before")
    customer_id: RowId | None = None
    player_id: Annotated[str, Field(min_length=1, max_length=128)] | None = None
    agent_id: RowId | None = None
    chat_id: RowId | None = None
    sort: list[SortKey] = Field(
        default_factory=lambda: list[SortKey](["-id"]),
        min_length=1,
        max_length=3,
        description="up to three keys, the first deciding (sort=-urgent&sort=due_at)",
    )


class ComplaintListQuery(ComplaintFilterQuery):
    limit: Annotated[int, Field(ge=1, le=500)] = 50
    offset: Annotated[int, Field(ge=0, le=MAX_ID)] = 0
