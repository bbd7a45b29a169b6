"""Admin API shapes of the reports (JSON; the CSV columns follow the same names)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class Spread(BaseModel):
    """Seconds: the mean and the nearest-rank percentiles (null when nothing was measured)."""

    avg: float | None
    p50: float | None
    p90: float | None
    p99: float | None


class ReplyTimes(BaseModel):
    chats: int
    replies: int
    first_response_s: Spread
    reply_wait_s: Spread
    breaches: int
    apologies: int
    reassignments: int


class AgentReplyTimes(ReplyTimes):
    agent_id: int
    name: str
    employee_no: str


class ReplyTimeReport(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    # "from" is a Python keyword: the field is from_, the JSON key "from".
    from_: datetime = Field(alias="from")
    to: datetime
    agent_id: int | None
    max_wait_s: float
    overall: ReplyTimes
    agents: list[AgentReplyTimes]


class AgentWait(BaseModel):
    """One agent's open chats whose customer waits for their answer (S-no-silence)."""

    agent_id: int
    waiting_for_reply: int
    longest_reply_wait_s: float


class QueueReport(BaseModel):
    at: datetime
    length: int
    longest_wait_s: float | None
    longest_chat_id: int | None
    waiting_for_reply: int
    longest_reply_wait_s: float | None
    agents_online: int
    # Per assigned agent, the longest first (the dashboard's agent table); not in the CSV row.
    agents: list[AgentWait] = []
