"""Working days on the 2026 Chinese calendar, and the Monday–Friday fallback."""

from datetime import date

from survey import workdays


def test_2026_makeup_day_and_national_day():
    assert workdays.is_workday(date(2026, 2, 14))  # Saturday, 调休 make-up day
    for day in range(1, 8):
        assert not workdays.is_workday(date(2026, 10, day))


def test_add_working_days_skips_holidays():
    # 2026-09-30 (Wed) + 1 working day: Oct 1-7 are off, Oct 8 is the next workday... or a make-up day.
    result = workdays.add_working_days(date(2026, 9, 30), 1)
    assert result > date(2026, 10, 7) or workdays.is_workday(result)
    assert all(not workdays.is_workday(date(2026, 10, d)) for d in range(1, 8))
    assert workdays.working_days_between(date(2026, 9, 30), result) == 1


def test_unknown_year_falls_back_to_weekdays():
    assert not workdays.is_known_year(2099)
    assert workdays.is_workday(date(2099, 1, 1))  # a Thursday; no holiday data
    assert not workdays.is_workday(date(2099, 1, 3))  # Saturday
