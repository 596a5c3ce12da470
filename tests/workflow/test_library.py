"""Schedules keep their rhythm: the next slot after a late or long run is the next one of the
rhythm, never an immediate catch-up run."""

from __future__ import annotations

import pytest

from assistant.errors import UserError
from assistant.workflow.library import Schedule, parse_every


def every(seconds: float, next_at: float) -> Schedule:
    return Schedule(1, "w", seconds, None, {}, True, next_at, None, None)


@pytest.mark.parametrize(
    ("now", "expected"),
    [(1000.5, 1300.0), (1299.0, 1300.0), (1300.0, 1600.0), (1900.0, 2200.0), (1000.0, 1300.0)],
)
def test_next_slot_after_a_run(now: float, expected: float) -> None:
    assert every(300, 1000.0).following(now) == expected


def test_cron_schedules_follow_the_expression() -> None:
    cron = Schedule(1, "w", None, "*/5 * * * *", {}, True, 0.0, None, None)
    assert cron.following(1_800_000_001.0) == 1_800_000_300.0


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30.0), ("5m", 300.0), ("1h30m", 5400.0), ("90", 90.0)]
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_every(text) == seconds


def test_bad_durations_say_how_to_write_one() -> None:
    with pytest.raises(UserError) as caught:
        parse_every("soon")
    assert (caught.value.message, caught.value.hint) == (
        "'soon' is not a duration",
        "write e.g. 30s, 5m, 1h30m or 2d",
    )
