"""docs/protocol.md stays true: every example is checked against the code that speaks contract v1.

Each fenced example is preceded by a marker comment saying what it is:
``<!-- frame: customer→server -->`` (optionally ``rejected=<code>``),
``<!-- frame: agent→server -->``, ``<!-- frame: server→customer -->``,
``<!-- frame: server→agent -->``, ``<!-- http: <Model> -->`` or
``<!-- python: player-signature -->``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, TypeAdapter

from service import errors
from service.agents.schemas import AgentCreate, AgentCreated, AgentOut, AgentUpdate
from service.api.admin.chats import ChatDetail, ChatPage
from service.api.admin.desk import DeskOut
from service.api.admin.shifts import HandoverPage, ShiftsOut
from service.attachments.schemas import AttachmentList, AttachmentOut
from service.callbacks.schemas import CallbackDone, CallbackOut, CallbackPage
from service.chats.frames import (
    agent_card,
    chat_summary,
    customer_card,
    message_frame,
    read_state,
)
from service.complaints.alerts import batch_frame
from service.complaints.models import ComplaintBatch
from service.complaints.schemas import ComplaintOut
from service.complaints.workflow import band
from service.customers.schemas import CustomerCard
from service.db.models import Agent, Chat, Customer, Message
from service.errors import KefuError
from service.groups.schemas import GroupCreate, GroupOut
from service.incidents.schemas import IncidentIn, IncidentOut, ResolveIn
from service.promises.schemas import PromiseDone, PromiseOut, PromisePage
from service.realtime import events
from service.realtime.protocol import (
    AGENT_TYPES,
    CUSTOMER_TYPES,
    Parser,
    agent_commands,
    agent_hello,
    customer_commands,
    customer_hello,
)
from service.reports.conduct import PhraseHitReport
from service.reports.schemas import QueueReport, ReplyTimeReport
from service.security import sign_player, verify_player
from service.settings import Settings
from service.templates.schemas import TemplateIn, TemplateOut

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "protocol.md"
SERVICE = ROOT / "service"

MAX_FRAME_BYTES: int = Settings.model_fields["max_frame_bytes"].default
MAX_TEXT: int = Settings.model_fields["max_text"].default

FENCE = re.compile(r"^```(?P<lang>[\w-]*)\n(?P<body>.*?)^```$", re.M | re.S)
MARKER = re.compile(r"^<!--\s*(?P<kind>[\w-]+):\s*(?P<value>.*?)\s*-->$")
DIRECTION = re.compile(
    r"^(?P<source>\w+)\s*(?:→|->)\s*(?P<target>\w+)(?:\s+rejected=(?P<code>\w+))?$"
)


@dataclass(frozen=True)
class Block:
    line: int
    lang: str
    body: str
    kind: str | None
    value: str | None

    @property
    def id(self) -> str:
        return f"line{self.line}"

    @property
    def data(self) -> Any:
        return json.loads(self.body)


def blocks() -> list[Block]:
    text = DOC.read_text(encoding="utf-8")
    found = []
    for match in FENCE.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        before = [ln.strip() for ln in text[: match.start()].splitlines() if ln.strip()]
        marker = MARKER.match(before[-1]) if before else None
        found.append(
            Block(
                line,
                match["lang"],
                match["body"],
                marker["kind"] if marker else None,
                marker["value"] if marker else None,
            )
        )
    return found


@dataclass(frozen=True)
class FrameExample:
    block: Block
    source: str
    target: str
    rejected: str | None


def frames() -> list[FrameExample]:
    found = []
    for block in blocks():
        if block.kind != "frame":
            continue
        direction = DIRECTION.match(block.value or "")
        assert direction, f"{block.id}: bad frame marker {block.value!r}"
        found.append(
            FrameExample(block, direction["source"], direction["target"], direction["code"])
        )
    return found


def inbound(side: str) -> list[FrameExample]:
    return [f for f in frames() if f.source == side and f.target == "server"]


def outbound(side: str) -> list[FrameExample]:
    return [f for f in frames() if f.source == "server" and f.target == side]


def by_id(examples: list[FrameExample]) -> dict[str, Any]:
    return {"argvalues": examples, "ids": [e.block.id for e in examples]}


# -- what the server really sends ---------------------------------------------------------------

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
_agent = Agent(id=3, name="Wang Fang", employee_no="1001")
_customer = Customer(id=40, player_id="p-1", name="n", tier="t")
_chat = Chat(id=12, status="assigned", last_seq=2, locale="en")


def _message(**fields: Any) -> Message:
    values = {
        "chat_id": 12,
        "seq": 1,
        "id": 1,
        "sender": "system",
        "text": "x",
        "template": None,
        "internal": False,
        "created_at": NOW,
        **fields,
    }
    return Message(**values)


MESSAGE_REQUIRED = frozenset(message_frame(_message()))
MESSAGE_ALL = frozenset(
    message_frame(
        _message(
            template="welcome",
            internal=True,
            client_id="m-1",
            kind="note",
            corrects=1,
            attachments=[{"id": 1}],
        ),
        _agent,
    )
)
AGENT_CARD = frozenset(agent_card(_agent))
CUSTOMER_CARD = frozenset(customer_card(_customer))
CHAT_SUMMARY = frozenset(chat_summary(_chat, _customer))
READ_STATE = frozenset(read_state(_chat))
ATTACHMENT_CARD = frozenset({"id", "content_type", "name", "size"})  # attachments/store.py card
AGENT_ME = frozenset({"id", "name", "employee_no", "role", "status", "capacity"})  # agent_ws.py
ERROR_CODES = frozenset(
    cls.code
    for cls in (KefuError, *errors.__dict__.values())
    if isinstance(cls, type) and issubclass(cls, KefuError)
)
# The values chats/service.py, chats/timing.py, chats/conduct.py and callbacks/ pass.
CLOSED_BY = frozenset({"agent", "customer", "idle", "system", "abuse"})
# chats/service.py (status, signed_out), chats/timing.py, desk/handover.py.
UNASSIGNED_REASONS = frozenset(
    {"offline", "gone", "disabled", "token_replaced", "accept_timeout", "shift_end"}
)
# The events complaints/{service,recording}.py send, and the batch fields of alerts.batch_frame.
COMPLAINT_EVENTS = frozenset({"recorded", "updated", "draft", "dismissed", "urgent", "overdue"})
# The events promises/service.py sends.
PROMISE_EVENTS = frozenset({"made", "reminder", "overdue", "done", "handed_over"})
BATCH_FIELDS = frozenset(
    batch_frame(
        ComplaintBatch(id=1, topic="t", started_at=NOW, customers=1, vip_customers=0), []
    ).batch
)


def aliases(model: type[BaseModel]) -> set[str]:
    return {field.alias or name for name, field in model.model_fields.items()}


QUICK_REPLY = frozenset({"key", "standard", "vars"})  # templates/service.py quick_replies
BANNER = frozenset({"id", "title", "text", "eta"})

# (audience, type) -> forms: (required keys, optional keys); a frame must match one form. Read
# off the frame classes themselves (service/realtime/events.py): the docs and the types agree.
Form = tuple[frozenset[str], frozenset[str]]
EMPTY: frozenset[str] = frozenset()
SERVER_FRAMES: dict[tuple[str, str], list[Form]] = {}
for _frame in events.FRAMES:
    _required, _optional = events.required_keys(_frame), events.optional_keys(_frame)
    if _frame is events.AgentAssigned:  # the chat's summary, spread, and its history
        _required = _required - {"summary"} | CHAT_SUMMARY
    for _audience in _frame.audiences:
        SERVER_FRAMES.setdefault((_audience, _frame.type), []).append((_required, _optional))
SERVER_TYPES = frozenset(kind for _, kind in SERVER_FRAMES)


def assert_form(frame: dict[str, Any], forms: list[Form], where: str) -> None:
    keys = set(frame)
    assert any(required <= keys <= required | optional for required, optional in forms), (
        f"{where}: fields {sorted(keys)} match none of {[sorted(r | o) for r, o in forms]}"
    )


def assert_message(frame: dict[str, Any], audience: str, where: str) -> None:
    assert frame.get("type") == "message", where
    assert_form(frame, SERVER_FRAMES[(audience, "message")], where)
    assert frame["sender"] in {"customer", "agent", "system"}, where
    assert isinstance(frame["seq"], int) and frame["seq"] >= 1, where
    assert ("agent" in frame) == (frame["sender"] == "agent"), where
    # System lines are always templates; agents may send quick replies, customers never.
    if frame["sender"] == "system":
        assert "template" in frame, where
    if frame["sender"] == "customer":
        assert "template" not in frame and "internal" not in frame, where
    if "agent" in frame:
        assert set(frame["agent"]) == AGENT_CARD, where
    if audience == "customer":
        assert "internal" not in frame, f"{where}: internal lines never reach customers"
    datetime.fromisoformat(frame["at"].replace("Z", "+00:00"))
    assert frame["at"].endswith("Z"), where
    assert frame["text"] or frame.get("attachments"), f"{where}: a text or attachments"
    assert_attachments(frame, where)


def assert_summary(chat: dict[str, Any], where: str) -> None:
    assert CHAT_SUMMARY <= set(chat), where
    assert set(chat["customer"]) == CUSTOMER_CARD, where
    assert set(chat["read"]) == READ_STATE, where


def assert_attachments(frame: dict[str, Any], where: str) -> None:
    for shown in frame.get("attachments", ()):
        assert ATTACHMENT_CARD <= set(shown) <= ATTACHMENT_CARD | {"width", "height"}, where


# -- the tests ------------------------------------------------------------------------------------


def test_every_example_is_marked_and_every_json_block_parses() -> None:
    found = blocks()
    assert found, "docs/protocol.md has no examples"
    for block in found:
        assert block.kind in {"frame", "http", "python"}, (
            f"{block.id}: every example needs a marker comment right before it"
        )
        if block.lang == "json":
            block.data  # noqa: B018 - raises when the JSON is broken
        if block.kind in {"frame", "http"}:
            assert block.lang == "json", f"{block.id}: frames and bodies are ```json blocks"


@pytest.mark.parametrize("example", **by_id(inbound("customer")))
def test_customer_frame_passes_the_real_parser(example: FrameExample) -> None:
    check_inbound(example, customer_hello, customer_commands, CUSTOMER_TYPES)


@pytest.mark.parametrize("example", **by_id(inbound("agent")))
def test_agent_frame_passes_the_real_parser(example: FrameExample) -> None:
    check_inbound(example, agent_hello, agent_commands, AGENT_TYPES)


def check_inbound(
    example: FrameExample,
    hello: TypeAdapter[Any],
    commands: TypeAdapter[Any],
    types: frozenset[str],
) -> None:
    raw = example.block.body
    is_hello = json.loads(raw).get("type") == "hello"
    # The gateways build exactly these parsers (api/sockets.py, api/*_ws.py).
    parser: Parser[Any] = (
        Parser(hello, frozenset({"hello"}), MAX_FRAME_BYTES)
        if is_hello
        else Parser(commands, types, MAX_FRAME_BYTES)
    )
    if example.rejected is not None:
        with pytest.raises(KefuError) as caught:
            parser.command(parser.decode(raw))
        assert caught.value.code == example.rejected
        return
    command = parser.command(parser.decode(raw))
    text = getattr(command, "text", None)
    assert text is None or len(text) <= MAX_TEXT


@pytest.mark.parametrize("example", **by_id(outbound("customer") + outbound("agent")))
def test_server_frame_is_one_the_server_sends(example: FrameExample) -> None:
    frame = example.block.data
    where = example.block.id
    audience = example.target
    assert isinstance(frame, dict) and isinstance(frame.get("type"), str), where
    kind = frame["type"]
    assert (audience, kind) in SERVER_FRAMES, f"{where}: the server sends no {kind!r} to {audience}"
    assert_form(frame, SERVER_FRAMES[(audience, kind)], where)
    if kind == "message":
        assert_message(frame, audience, where)
    elif kind == "error":
        assert frame["code"] in ERROR_CODES, where
    elif kind == "closed":
        assert frame["by"] in CLOSED_BY, where
    elif kind == "read":
        # The other side's read: an agent hears of the customer's, the customer of the agent's.
        assert frame["by"] == ("agent" if audience == "customer" else "customer"), where
        assert isinstance(frame["seq"], int) and frame["seq"] >= 1, where
    elif kind in {"timing", "reminder", "closing"}:
        for key in {"waiting_since", "held_since", "closes_at"} & set(frame):
            assert frame[key].endswith("Z"), where
            datetime.fromisoformat(frame[key].replace("Z", "+00:00"))
    elif kind == "ready" and audience == "agent":
        assert set(frame["agent"]) == AGENT_ME, where
        for chat in frame["chats"]:
            assert_summary(chat, where)
        for entry in frame["templates"]:
            assert set(entry) == QUICK_REPLY, where
    elif kind == "ready" and audience == "customer":
        assert frame["status"] in {"queued", "assigned", "closed"}, where
        assert ("position" in frame) == (frame["status"] == "queued"), where
        assert ("agent" in frame) == (frame["status"] == "assigned"), where
        assert set(frame["read"]) == READ_STATE, where
        assert frame.get("in_line", False) is False, where  # present only as false
        assert "in_line" not in frame or frame["status"] == "queued", where
        for shown in frame.get("incidents", ()):  # incidents/service.py banner
            assert set(shown) == BANNER and shown["eta"].endswith("Z"), where
        if "agent" in frame:
            assert set(frame["agent"]) == AGENT_CARD, where
    elif kind == "assigned" and audience == "agent":
        assert_summary(frame, where)
        seqs = [m["seq"] for m in frame["history"]]
        assert seqs == sorted(seqs) and (not seqs or seqs[-1] <= frame["last_seq"]), where
        for message in frame["history"]:
            assert_message(message, "agent", where)
    elif kind == "assigned":
        assert set(frame["agent"]) == AGENT_CARD, where
    elif kind == "rated":
        assert frame["band"] == band(frame["score"]), where
    elif kind == "promise":
        assert frame["event"] in PROMISE_EVENTS, where
        card = PromiseOut.model_validate(frame["promise"])
        assert set(frame["promise"]) == aliases(PromiseOut), where
        assert frame["promise"] == card.model_dump(mode="json"), where
    elif kind == "promises":
        page = PromisePage.model_validate(frame)
        assert page.total == len(page.items), where
    elif kind == "unassigned":
        assert frame["reason"] in UNASSIGNED_REASONS, where
    elif kind == "complaint" and frame["event"] == "batch":
        assert set(frame["batch"]) == BATCH_FIELDS, where
    elif kind == "complaint":
        assert frame["event"] in COMPLAINT_EVENTS, where
        card = ComplaintOut.model_validate(frame["complaint"])
        assert set(frame["complaint"]) == aliases(ComplaintOut), where
        assert set(frame["complaint"]["customer"]) == set(CustomerCard.model_fields), where
        assert frame["complaint"] == card.model_dump(mode="json", by_alias=True), where


@pytest.mark.parametrize("frame", events.FRAMES, ids=lambda frame: frame.__name__)
def test_every_frame_class_is_sent_by_the_service(frame: type[events.Event]) -> None:
    source = "\n".join(
        p.read_text(encoding="utf-8") for p in SERVICE.rglob("*.py") if p.name != "events.py"
    )
    assert re.search(rf"\b{frame.__name__}\(", source), (
        f"no {frame.__name__} frame is built anywhere in service/"
    )


def test_the_message_frame_matches_its_class() -> None:
    # message_frame builds MessageOut: the same keys either way.
    assert MESSAGE_REQUIRED == events.required_keys(events.MessageOut)
    assert MESSAGE_ALL - MESSAGE_REQUIRED == events.optional_keys(events.MessageOut)


def test_every_documented_server_field_exists_in_the_service() -> None:
    source = "\n".join(p.read_text(encoding="utf-8") for p in SERVICE.rglob("*.py"))
    for example in outbound("customer") + outbound("agent"):
        for key in example.block.data:
            assert re.search(rf"""["']{key}["']|\b{key}=|\b{key}:""", source), (
                f"{example.block.id}: field {key!r} appears nowhere in service/"
            )


@pytest.mark.parametrize(
    ("side", "types"),
    [("customer", CUSTOMER_TYPES | {"hello"}), ("agent", AGENT_TYPES | {"hello"})],
)
def test_every_inbound_frame_type_has_an_example(side: str, types: frozenset[str]) -> None:
    shown = {e.block.data["type"] for e in inbound(side) if e.rejected is None}
    assert types - shown == set(), f"{side} frames without an example: {sorted(types - shown)}"
    assert shown - types == set(), f"{side} examples of unknown types: {sorted(shown - types)}"


def test_every_server_frame_has_an_example() -> None:
    shown = {(e.target, e.block.data["type"]) for e in outbound("customer") + outbound("agent")}
    missing = set(SERVER_FRAMES) - shown
    assert not missing, f"server frames without an example: {sorted(missing)}"


def test_every_error_code_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = sorted(code for code in ERROR_CODES if f"`{code}`" not in text)
    assert not missing, f"error codes missing from docs/protocol.md: {missing}"


def test_every_setting_named_in_the_docs_exists() -> None:
    text = DOC.read_text(encoding="utf-8")
    for name in set(re.findall(r"KEFU_([A-Z_]+)", text)):
        assert name.lower() in Settings.model_fields, f"KEFU_{name} is not a setting"


HTTP_MODELS: dict[str, type[BaseModel]] = {
    model.__name__: model
    for model in (
        AgentCreate,
        AgentUpdate,
        AgentOut,
        AgentCreated,
        ChatPage,
        ChatDetail,
        TemplateIn,
        TemplateOut,
        GroupCreate,
        GroupOut,
        CallbackOut,
        CallbackPage,
        CallbackDone,
        DeskOut,
        PromiseOut,
        PromisePage,
        PromiseDone,
        ShiftsOut,
        HandoverPage,
        PhraseHitReport,
        AttachmentOut,
        AttachmentList,
        ReplyTimeReport,
        QueueReport,
        IncidentIn,
        IncidentOut,
        ResolveIn,
    )
}
INPUT_MODELS = (
    AgentCreate,
    AgentUpdate,
    TemplateIn,
    GroupCreate,
    CallbackDone,
    PromiseDone,
    IncidentIn,
    ResolveIn,
)
PROBLEM = frozenset({"type", "title", "status", "code", "detail"})


def test_http_examples_match_their_schemas() -> None:
    http = [b for b in blocks() if b.kind == "http"]
    assert any(b.value == "problem" for b in http)
    for block in http:
        body = block.data
        if block.value == "problem":
            assert PROBLEM <= set(body), block.id
            assert body["type"] == f"https://kefu.dev/problems/{body['code']}", block.id
            assert body["code"] in ERROR_CODES | {"invalid_request", "internal"}, block.id
            continue
        assert block.value in HTTP_MODELS, f"{block.id}: unknown schema {block.value!r}"
        model = HTTP_MODELS[block.value]
        model.model_validate(body)
        if model not in INPUT_MODELS:
            names = {field.alias or name for name, field in model.model_fields.items()}
            assert set(body) == names, f"{block.id}: fields differ"


def test_worked_player_signature_is_what_the_server_verifies() -> None:
    [block] = [b for b in blocks() if b.kind == "python" and b.value == "player-signature"]
    scope: dict[str, Any] = {}
    exec(compile(block.body, f"{DOC}:{block.line}", "exec"), scope)  # runs its own assert
    secret, sig = scope["secret"], scope["sig"]
    player_id, name, tier, ts = scope["player_id"], scope["name"], scope["tier"], scope["ts"]
    assert sig == sign_player(secret, player_id, name, tier, ts)
    verify_player(
        secret,
        player_id=player_id,
        name=name,
        tier=tier,
        ts=ts,
        sig=sig,
        now=datetime.fromtimestamp(ts, UTC),
        ttl_s=300,
    )
    # The documented hello carries exactly this claim and signature.
    players = [
        e.block.data["player"]
        for e in inbound("customer")
        if e.block.data.get("type") == "hello" and "player" in e.block.data
    ]
    assert {"id": player_id, "name": name, "tier": tier, "ts": ts, "sig": sig} in players
