from datetime import UTC, datetime

from ews.outbox.acknowledgments import sender_day_key


def test_one_key_per_sender_and_berlin_day() -> None:
    evening = datetime(2026, 12, 4, 22, 30, tzinfo=UTC)  # 23:30 in Berlin
    night = datetime(2026, 12, 4, 23, 30, tzinfo=UTC)  # 00:30 on the next day in Berlin
    assert sender_day_key("Kaemmerei+ews@Moehnesee.DE", evening) == \
        "absender:kaemmerei@moehnesee.de:2026-12-04"
    assert sender_day_key("kaemmerei@moehnesee.de", night).endswith(":2026-12-05")


def test_a_long_address_still_fits_the_key_column() -> None:
    key = sender_day_key("a" * 200 + "@example.org", datetime(2026, 12, 4, tzinfo=UTC))
    assert len(key) <= 128 and key.startswith("absender:")
