"""Mean and percentiles of a column, per group, computed by the database.

The percentile is the nearest rank, PostgreSQL's ``percentile_disc``: the smallest value whose
position in the sorted list, counted from 1, is at least ``p × n``. PostgreSQL computes it with
``percentile_disc … WITHIN GROUP``; SQLite has no percentile function, so the same definition is
written with window functions (``ROW_NUMBER`` against ``COUNT``). Both compare the rank against
the same double-precision ``p × n``, so both answer the same value for the same rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, case, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute

PERCENTILES = (50, 90, 99)
OVERALL = None  # the group key of a spread computed over all rows

Column = ColumnElement[Any] | QueryableAttribute[Any]


@dataclass(frozen=True)
class Spread:
    count: int
    avg: float | None
    percentiles: dict[int, float | None]


async def spreads(
    session: AsyncSession,
    value: Column,
    where: Sequence[ColumnElement[bool]],
    group: Column | None,
    *,
    is_postgres: bool,
) -> dict[Any, Spread]:
    """``value``'s spread per ``group`` (or one, keyed ``OVERALL``), over non-null values."""
    build = _postgres if is_postgres else _window
    rows = await session.execute(build(value, [*where, value.is_not(None)], group))
    found: dict[Any, Spread] = {}
    for key, count, avg, *values in rows:
        found[key] = Spread(
            count=count,
            avg=None if avg is None else float(avg),
            percentiles={
                p: None if v is None else float(v) for p, v in zip(PERCENTILES, values, strict=True)
            },
        )
    return found


def _postgres(value: Column, where: list[ColumnElement[bool]], group: Column | None) -> Select[Any]:
    key = group if group is not None else literal(None)
    query = select(
        key,
        func.count(value),
        func.avg(value),
        *(func.percentile_disc(p / 100).within_group(value.asc()) for p in PERCENTILES),
    ).where(*where)
    return query.group_by(group) if group is not None else query


def _window(value: Column, where: list[ColumnElement[bool]], group: Column | None) -> Select[Any]:
    partition = [group] if group is not None else None
    ranked = (
        select(
            (group if group is not None else literal(None)).label("g"),
            value.label("v"),
            func.row_number().over(partition_by=partition, order_by=value).label("rn"),
            func.count().over(partition_by=partition).label("n"),
        )
        .where(*where)
        .subquery()
    )
    return select(
        ranked.c.g,
        func.count(ranked.c.v),
        func.avg(ranked.c.v),
        # The first rank at or past p × n is ceil(p × n), as percentile_disc takes it.
        *(
            func.min(case((ranked.c.rn >= literal(p / 100) * ranked.c.n, ranked.c.v)))
            for p in PERCENTILES
        ),
    ).group_by(ranked.c.g)
