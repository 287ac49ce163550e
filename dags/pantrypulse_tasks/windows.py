"""Which dates a run of `pantrypulse_daily` ingests: pure functions, tested on their own."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

# A single run may backfill at most this many days (bronze commits in 14-day chunks).
MAX_WINDOW_DAYS = 400


class WindowError(ValueError):
    """The requested dates make no sense; the message says which parameter."""


@dataclass(frozen=True)
class Window:
    """An inclusive range of source dates."""

    date_from: date
    date_to: date

    def as_dict(self) -> dict[str, str]:
        """XCom form: ISO dates."""
        return {"date_from": self.date_from.isoformat(), "date_to": self.date_to.isoformat()}


def _parse(name: str, value: str | None) -> date | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise WindowError(f"param {name}: expected YYYY-MM-DD, got {value!r}") from None


def plan_window(
    run_at: datetime,
    lookback_days: int,
    date_from: str | None = None,
    date_to: str | None = None,
) -> Window:
    """The dates to ingest.

    Scheduled: the day before the run, plus `lookback_days` earlier days whose invoices may
    have arrived late or been corrected (re-ingesting a date replaces it, so this is safe).
    Backfill: `date_from`..`date_to` exactly (`date_to` defaults to the day before the run).
    """
    if lookback_days < 0:
        raise WindowError(f"param lookback_days: must be >= 0, got {lookback_days}")
    yesterday = run_at.date() - timedelta(days=1)
    start, end = _parse("date_from", date_from), _parse("date_to", date_to)
    if start is None and end is not None:
        raise WindowError("param date_to given without date_from")
    if start is None:
        return Window(yesterday - timedelta(days=lookback_days), yesterday)
    end = end or yesterday
    if end < start:
        raise WindowError(f"param date_to {end} is before date_from {start}")
    if end > yesterday:
        raise WindowError(f"param date_to {end} is not a past day (latest allowed: {yesterday})")
    if (end - start).days + 1 > MAX_WINDOW_DAYS:
        raise WindowError(
            f"params date_from..date_to span {(end - start).days + 1} days; "
            f"split backfills into runs of at most {MAX_WINDOW_DAYS} days"
        )
    return Window(start, end)
