"""Schedule expressions (``rate(…)``, ``cron(…)``, ``at(…)``) for the local scheduler.

moto stores EventBridge schedule rules and never fires them, and has no EventBridge Scheduler, so
the local stack fires them itself: on demand (``LocalStack.fire_schedules()``) and, in ``tailor
local up``, on their own clock. This module only computes *when*.

AWS cron has six fields — minutes, hours, day-of-month, month, day-of-week (1 = SUN … 7 = SAT),
year — and one of day-of-month / day-of-week must be ``?``. Supported here: ``*``, ``?``, numbers,
names (JAN…DEC, SUN…SAT), ranges, lists and ``/`` increments. ``L``, ``W`` and ``#`` raise
:class:`UnsupportedScheduleError` (the schedule can still be fired by hand).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

__all__ = ["Schedule", "UnsupportedScheduleError", "parse_schedule"]


class UnsupportedScheduleError(ValueError):
    """The expression is valid AWS but not understood by the local scheduler."""


_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minutes?|hours?|days?)\s*\)$", re.IGNORECASE)
_CRON = re.compile(r"^cron\((.*)\)$", re.IGNORECASE)
_AT = re.compile(r"^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$", re.IGNORECASE)
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
_MONTHS = {
    m: i
    for i, m in enumerate(
        ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], start=1
    )
}
_DAYS = {d: i for i, d in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], start=1)}


def _field(text: str, low: int, high: int, names: dict[str, int] | None = None) -> frozenset[int] | None:
    """Values a cron field allows; None for ``?`` (no constraint)."""
    if text == "?":
        return None

    def number(token: str) -> int:
        token = token.upper()
        if names and token in names:
            return names[token]
        if not token.isdigit():
            raise UnsupportedScheduleError(
                f"cron field {text!r}: cannot read {token!r} (L, W and # are not supported locally)"
            )
        return int(token)

    values: set[int] = set()
    for part in text.split(","):
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if step < 1:
            raise UnsupportedScheduleError(f"cron field {text!r}: step must be ≥ 1")
        if base == "*":
            start, end = low, high
        elif "-" in base:
            first, last = base.split("-", 1)
            start, end = number(first), number(last)
        else:
            start = number(base)
            end = high if step_text else start
        if not (low <= start <= high and low <= end <= high):
            raise UnsupportedScheduleError(f"cron field {text!r}: out of range {low}-{high}")
        if start <= end:
            values.update(range(start, end + 1, step))
        else:  # wrap-around range such as FRI-MON
            values.update(v for v in [*range(start, high + 1), *range(low, end + 1)][::step])
    return frozenset(values)


@dataclass(frozen=True)
class Schedule:
    """A parsed schedule expression."""

    expression: str
    kind: str  # "rate" | "cron" | "at"
    interval: timedelta | None = None
    once_at: datetime | None = None
    minutes: frozenset[int] = frozenset()
    hours: frozenset[int] = frozenset()
    days_of_month: frozenset[int] | None = None
    months: frozenset[int] = frozenset()
    days_of_week: frozenset[int] | None = None
    years: frozenset[int] | None = None
    timezone: str = "UTC"

    def next_after(self, moment: datetime, *, time_scale: float = 1.0) -> datetime | None:
        """The first firing strictly after ``moment`` (aware datetime), or None if there is none.

        ``time_scale`` shortens ``rate`` intervals (local convenience); cron and at keep wall time.
        """
        if self.kind == "rate":
            assert self.interval is not None
            return moment + self.interval * time_scale
        zone = ZoneInfo(self.timezone)
        if self.kind == "at":
            assert self.once_at is not None
            when = self.once_at.replace(tzinfo=zone)
            return when if when > moment else None
        local = moment.astimezone(zone)
        day: date = local.date()
        for _ in range(366 * 5):
            if self._day_matches(day):
                for hour in sorted(self.hours):
                    for minute in sorted(self.minutes):
                        candidate = datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)
                        if candidate > local:
                            return candidate.astimezone(UTC)
            day += timedelta(days=1)
        return None

    def _day_matches(self, day: date) -> bool:
        if self.years is not None and day.year not in self.years:
            return False
        if day.month not in self.months:
            return False
        if self.days_of_month is not None and day.day not in self.days_of_month:
            return False
        aws_weekday = (day.weekday() + 1) % 7 + 1  # Monday=0 → 2 … Sunday=6 → 1
        return self.days_of_week is None or aws_weekday in self.days_of_week


def parse_schedule(expression: str, timezone: str | None = None) -> Schedule:
    """Parse an EventBridge / Scheduler schedule expression."""
    text = expression.strip()
    if match := _RATE.match(text):
        value, unit = int(match.group(1)), match.group(2).lower().rstrip("s")
        if value < 1:
            raise UnsupportedScheduleError(f"{expression!r}: the rate must be ≥ 1")
        return Schedule(text, "rate", interval=timedelta(seconds=value * _UNIT_SECONDS[unit]))
    if match := _AT.match(text):
        return Schedule(
            text, "at", once_at=datetime.fromisoformat(match.group(1)), timezone=timezone or "UTC"
        )
    if match := _CRON.match(text):
        fields = match.group(1).split()
        if len(fields) != 6:
            raise UnsupportedScheduleError(f"{expression!r}: cron needs 6 fields, got {len(fields)}")
        minutes, hours, dom, month, dow, year = fields
        days_of_month = _field(dom, 1, 31)
        days_of_week = _field(dow, 1, 7, _DAYS)
        if days_of_month is not None and days_of_week is not None:
            raise UnsupportedScheduleError(f"{expression!r}: one of day-of-month / day-of-week must be '?'")
        return Schedule(
            text,
            "cron",
            minutes=_field(minutes, 0, 59) or frozenset(range(60)),
            hours=_field(hours, 0, 23) or frozenset(range(24)),
            days_of_month=days_of_month,
            months=_field(month, 1, 12, _MONTHS) or frozenset(range(1, 13)),
            days_of_week=days_of_week,
            years=_field(year, 1970, 2199),
            timezone=timezone or "UTC",
        )
    raise UnsupportedScheduleError(f"{expression!r}: not a rate(), cron() or at() expression")
