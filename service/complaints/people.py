"""S-classes batch: who counts as one person when complaints are counted.

A batch is "more than 10 customers" (or 5 VIP customers), so one person must not be able to
raise it by opening tabs. A verified player (a signed claim) is one person whatever the number
of chats. A guest is known only by the device id their widget keeps and the address their
socket came from: two guests who share either are taken for one person (one browser with 11
tabs shares both; a script with a new device id per tab still shares the address). The price:
guests behind one address (an internet café) count once; signed-in players are not affected.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Reporter:
    customer_id: int
    player: bool  # a verified player (signed claim), counted by their customer row
    vip: bool = False
    device: str | None = None
    address: str | None = None


@dataclass(frozen=True, slots=True)
class People:
    people: int
    vip_people: int


def count_people(reporters: Iterable[Reporter]) -> People:
    """Distinct people among the reporters; a VIP is a verified player with a VIP tier."""
    players: set[int] = set()
    vips: set[int] = set()
    parent: dict[str, str] = {}

    def find(key: str) -> str:
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    def union(a: str, b: str) -> None:
        parent.setdefault(a, a)
        parent.setdefault(b, b)
        root_a, root_b = find(a), find(b)
        if root_a != root_b:
            parent[root_b] = root_a

    for reporter in reporters:
        if reporter.player:
            players.add(reporter.customer_id)
            if reporter.vip:
                vips.add(reporter.customer_id)
            continue
        me = f"customer:{reporter.customer_id}"
        union(me, me)
        if reporter.device:
            union(me, f"device:{reporter.device}")
        if reporter.address:
            union(me, f"address:{reporter.address}")
    guests = {find(key) for key in parent if key.startswith("customer:")}
    return People(len(players) + len(guests), len(vips))
