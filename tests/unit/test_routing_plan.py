"""The routing plan (service/chats/routing.py ``plan``): who takes which chat, without a server.

S-first-come (FIFO line), capacity, groups and S-no-blind-transfer (never back to the agent
who handed a chat off); the integration tests (tests/integration/test_routing.py) drive the
same rules through real sockets.
"""

from __future__ import annotations

from service.chats.routing import Seat, Waiting, plan

NEVER = float("-inf")


def seat(
    agent_id: int,
    open_: int = 0,
    capacity: int = 5,
    last: float = NEVER,
    groups: frozenset[int] = frozenset(),
) -> Seat:
    return Seat(agent_id, open_, capacity, last, groups)


def waiting(chat_id: int, group: int | None = None, handed_by: int | None = None) -> Waiting:
    return Waiting(chat_id, group, handed_by)


def test_line_order_is_kept_and_least_loaded_agent_goes_first() -> None:
    pairs = plan([waiting(1), waiting(2), waiting(3)], [seat(10, open_=2), seat(11, open_=0)])
    assert pairs == [(1, 11), (2, 11), (3, 10)]  # 11 at 0 then 1 open, then 10 and 11 tie at 2


def test_ties_go_to_the_agent_idle_longest_then_the_lower_id() -> None:
    assert plan([waiting(1)], [seat(10, last=50.0), seat(11, last=10.0)]) == [(1, 11)]
    assert plan([waiting(1)], [seat(11), seat(10)]) == [(1, 10)]


def test_never_over_capacity_and_the_rest_wait() -> None:
    line = [waiting(n) for n in range(1, 8)]
    pairs = plan(line, [seat(10, open_=1, capacity=3), seat(11, capacity=2)])
    assert [chat for chat, _ in pairs] == [1, 2, 3, 4]
    taken: dict[int, int] = {}
    for _, agent in pairs:
        taken[agent] = taken.get(agent, 0) + 1
    assert taken == {10: 2, 11: 2}


def test_full_agents_take_nothing() -> None:
    assert plan([waiting(1)], [seat(10, open_=5, capacity=5)]) == []
    assert plan([waiting(1)], []) == []


def test_a_group_chat_goes_only_to_members_and_does_not_block_the_line() -> None:
    line = [waiting(1, group=7), waiting(2)]
    pairs = plan(line, [seat(10, capacity=1)])  # 10 is in no group
    assert pairs == [(2, 10)]
    pairs = plan(line, [seat(10, capacity=1), seat(11, capacity=1, groups=frozenset({7}))])
    assert pairs == [(1, 11), (2, 10)]


def test_a_handed_off_chat_never_goes_back_to_its_sender() -> None:
    assert plan([waiting(1, handed_by=10)], [seat(10)]) == []
    assert plan([waiting(1, handed_by=10)], [seat(10), seat(11, open_=4)]) == [(1, 11)]


def test_the_plan_does_not_change_the_seats_it_was_given() -> None:
    seats = [seat(10, capacity=1)]
    plan([waiting(1)], seats)
    assert seats[0].open == 0
