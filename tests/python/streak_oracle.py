"""An independent streak oracle: the API contract's rules written out in
Python over raw rows read with SQL, with dates computed by zoneinfo (the
server computes them in PostgreSQL).

Activity day: a date D, in zone Z, with >= 1 completed row created at or
before as_of. T = the date of as_of in Z. current_days: the run of
consecutive activity days ending at T, else at T-1, else 0. longest_days:
the longest run of activity days <= T. last_active_date: the latest activity
day <= T ("" if none). active_on_as_of_date: T is an activity day.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Dict, Iterable, List, Tuple
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Expected:
    current_days: int
    longest_days: int
    last_active_date: str
    active_on_as_of_date: bool

    @staticmethod
    def of(streak) -> "Expected":
        return Expected(streak.current_days, streak.longest_days, streak.last_active_date,
                        streak.active_on_as_of_date)


def oracle(rows: Iterable[Tuple[float, str]], zone: str, as_of: datetime.datetime) -> Expected:
    """rows: (created_at as Unix seconds, status) of one user."""
    tz = ZoneInfo(zone or "UTC")
    limit = as_of.timestamp()
    days = sorted({datetime.datetime.fromtimestamp(t, tz).date()
                   for t, status in rows if status == "completed" and t <= limit})
    today = as_of.astimezone(tz).date()
    days = [d for d in days if d <= today]
    day_set = set(days)
    longest = run = 0
    previous = None
    for d in days:
        run = run + 1 if previous is not None and d - previous == datetime.timedelta(days=1) else 1
        longest = max(longest, run)
        previous = d

    def run_ending(end: datetime.date) -> int:
        n = 0
        while end - datetime.timedelta(days=n) in day_set:
            n += 1
        return n

    current = run_ending(today) or run_ending(today - datetime.timedelta(days=1))
    return Expected(current, longest, days[-1].isoformat() if days else "", today in day_set)


def load_rows(sql, user_ids: Iterable[int]) -> Dict[int, List[Tuple[float, str]]]:
    ids = ",".join(str(i) for i in set(user_ids)) or "0"
    rows: Dict[int, List[Tuple[float, str]]] = {int(i): [] for i in set(user_ids)}
    for user_id, epoch, status in sql(
            f"SELECT user_id, extract(epoch FROM created_at), status FROM user_exercises "
            f"WHERE user_id IN ({ids})"):
        rows[int(user_id)].append((float(epoch), status))
    return rows
