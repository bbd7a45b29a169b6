"""The complaint rules that need no server: moves, bands, deadlines, keywords, percentiles, CSV."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from service.complaints.export import cell
from service.complaints.schemas import facts_adapter
from service.complaints.workflow import (
    MOVES,
    Band,
    Source,
    Status,
    allowed,
    answer_window,
    band,
    pending_due,
)
from service.reports.satisfaction import percentile, summarize
from service.settings import ROOT, Settings
from service.templates import Catalog

# The workflow of the issue: open → acknowledged → escalated → resolved → followed_up → closed,
# escalation optional; a keyword draft is confirmed (open) or dismissed.
ALLOWED = {
    ("draft", "open"),
    ("draft", "dismissed"),
    ("open", "acknowledged"),
    ("open", "escalated"),
    ("acknowledged", "escalated"),
    ("acknowledged", "resolved"),
    ("escalated", "resolved"),
    ("resolved", "followed_up"),
    ("followed_up", "closed"),
}
PAIRS = [(a, b) for a, b in itertools.product(list(Status), repeat=2) if a != b]


@pytest.mark.parametrize(("source", "target"), PAIRS, ids=[f"{a}->{b}" for a, b in PAIRS])
def test_only_the_workflow_moves_are_allowed(source: Status, target: Status) -> None:
    assert allowed(source, target) == ((source, target) in ALLOWED)


def test_finished_complaints_never_move() -> None:
    assert MOVES[Status.closed] == frozenset()
    assert MOVES[Status.dismissed] == frozenset()


@pytest.mark.parametrize(
    ("score", "expected"),
    [
        (0, Band.unsatisfied),
        (4, Band.unsatisfied),
        (5, Band.average),
        (7, Band.average),
        (8, Band.satisfied),
        (10, Band.satisfied),
    ],
)
def test_satisfaction_bands_follow_the_standard(score: int, expected: Band) -> None:
    # S-satisfaction: 0–4 unsatisfied, 5–7 average, 8–10 satisfied.
    assert band(score) == expected


@pytest.mark.parametrize("score", [-1, 11])
def test_scores_outside_the_scale_are_refused(score: int) -> None:
    with pytest.raises(ValueError):
        band(score)


def test_answer_is_due_in_48h_and_sooner_when_urgent() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert answer_window(settings, Source.agent, urgent=False) == timedelta(hours=48)
    assert answer_window(settings, Source.customer, urgent=True) == timedelta(hours=24)
    # S-unsatisfied-7d: the unsatisfied customer is contacted within a week.
    assert answer_window(settings, Source.survey, urgent=False) == timedelta(days=7)
    assert answer_window(settings, Source.survey, urgent=True) == timedelta(hours=24)


def test_the_pending_deadline_moves_from_answer_to_follow_up() -> None:
    answer, follow_up = datetime(2026, 1, 7, tzinfo=UTC), datetime(2026, 1, 14, tzinfo=UTC)
    for status in ("open", "acknowledged", "escalated"):
        assert pending_due(status, answer, follow_up) == answer
    assert pending_due("resolved", answer, follow_up) == follow_up
    for status in ("draft", "followed_up", "closed", "dismissed"):
        assert pending_due(status, answer, follow_up) is None


GUARD = Catalog.load(ROOT / "phrases").guard()  # one matcher for every list (issue #10 item 5)


def complaint_keyword(text: str) -> str | None:
    return GUARD.spot(text, "complaint")


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("我要投诉你们", "投诉"),
        ("再不处理我就打315", "315"),
        ("315晚会见", "315"),
        ("我的订单号是2026031512345", None),
        ("充值了3150元没到账", None),
        ("订单 A315 没到", None),
        ("我要找你们经理", "找你们经理"),
        ("账号登录不上", None),
        ("ＴＯＵＳＵ 投訴", "投诉"),  # traditional characters fold as for the taboo phrases
        ("我要投 诉", "投诉"),
    ],
)
def test_complaint_keywords_in_chinese(text: str, found: str | None) -> None:
    assert complaint_keyword(text) == found


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("I want to COMPLAIN about this", "complain"),
        ("I complained yesterday", "complain"),
        ("Let me talk to your manager", "your manager"),
        ("my account is uncomplainable", None),
        ("I cannot log in", None),
    ],
)
def test_complaint_keywords_in_english(text: str, found: str | None) -> None:
    assert complaint_keyword(text) == found


def test_full_width_digits_count_as_digits() -> None:
    assert complaint_keyword("打３１５") == "315"
    assert complaint_keyword("单号２０２６０３１５１") is None


def test_facts_keep_known_forms_and_refuse_others() -> None:
    facts = facts_adapter.validate_python(
        {"date": "2026-01-03", "time": "20:15", "amount": 68.5, "order": "2026010312345"}
    )
    assert facts == {
        "date": "2026-01-03",
        "time": "20:15",
        "amount": "68.5",
        "order": "2026010312345",
    }
    for bad in (
        {"date": "3 Jan"},
        {"time": "8pm"},
        {"amount": -1},
        {"amount": "1e9"},
        {"Order": "x"},
        {"nested": {"a": 1}},
        {f"k{i}": i for i in range(21)},
    ):
        with pytest.raises(ValueError):
            facts_adapter.validate_python(bad)


def test_percentiles_are_nearest_rank_over_the_histogram() -> None:
    scores = Counter({2: 1, 6: 2, 9: 7})  # ten ratings
    assert percentile(scores, 0.10) == 2
    assert percentile(scores, 0.30) == 6
    assert percentile(scores, 0.50) == 9
    assert percentile(Counter(), 0.5) is None
    summary = summarize(scores)
    assert (summary.ratings, summary.unsatisfied, summary.average, summary.satisfied) == (
        10,
        1,
        2,
        7,
    )
    assert summary.mean == 7.7
    assert summary.satisfied_share == 0.7


def test_csv_cells_never_start_a_formula() -> None:
    assert cell('=HYPERLINK("x")') == '\'=HYPERLINK("x")'
    assert cell("-1") == "'-1"
    assert cell("充值没到账") == "充值没到账"
    assert cell(None) == ""
    assert cell(True) == "true"
    assert cell(datetime(2026, 1, 5, 9, tzinfo=UTC)) == "2026-01-05T09:00:00Z"
