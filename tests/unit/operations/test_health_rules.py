"""The health's judgements over plain data: a watcher's problem, the German durations and the
sentences for whatever needs a person (no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ews.operations.health import (
    Failed,
    Waiting,
    WatcherHealth,
    duration_de,
    problems_of,
    watcher_problem,
)

LIMIT = timedelta(seconds=180)
NOW = datetime(2026, 11, 21, 13, 0, tzinfo=UTC)


def test_a_watcher_is_a_problem_when_disturbed_or_silent() -> None:
    assert watcher_problem("ordner", "ordner:/in", "gestoert", "", 5, LIMIT) == \
        "Ordner-Beobachter ordner:/in gestört: ohne Angabe"
    assert watcher_problem("postfach", "p", "laeuft", "", 600, LIMIT) == \
        "Postfach-Beobachter p ohne Herzschlag seit 10 Minuten"
    assert watcher_problem("x", "y", "laeuft", "", 600, LIMIT) == \
        "Beobachter y ohne Herzschlag seit 10 Minuten"
    assert watcher_problem("ordner", "o", "laeuft", "", 179, LIMIT) is None
    assert watcher_problem("ordner", "o", "beendet", "", 10_000, LIMIT) is None


def test_durations_in_german_after_seit() -> None:
    assert duration_de(1) == "1 Sekunde"
    assert duration_de(45) == "45 Sekunden"
    assert duration_de(60) == "1 Minute"
    assert duration_de(2 * 3600 + 5) == "2 Stunden"
    assert duration_de(3 * 86400) == "3 Tagen"


def test_all_is_well_without_problems() -> None:
    assert problems_of(Waiting(), Failed(), [], timedelta(minutes=15)) == []


def test_every_problem_is_one_sentence() -> None:
    silent = WatcherHealth(name="o", kind="ordner", holder="h:1", started_at=NOW, beat_at=NOW,
                           state="laeuft", detail="", age_seconds=900, problem="still")
    problems = problems_of(Waiting(inputs_stuck=1, inbox_stale=2),
                           Failed(mails=3, letters_not_rendered=1), [silent],
                           timedelta(minutes=15))
    assert problems == [
        "still",
        "3 E-Mails in den letzten 7 Tagen endgültig nicht zugestellt",
        "1 Eingang hängt seit über 15 Minuten",
        "Für 1 Eingang konnten die Briefe nicht geschrieben werden",
        "2 Dateien liegen seit über 15 Minuten unbearbeitet im Posteingang",
    ]
