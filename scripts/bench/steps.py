"""Where the latency goes (``python -m scripts.bench latenz-schritte``): the folder's and the
mailbox's path timed step by step, each step's start and end after the file's last byte (the
mail's APPEND), as medians over the files. Measurement only: it wraps the service's functions
in this process with timestamps (I/O: as ``scripts.bench.latency`` and ``scripts.bench.mail``).
"""

from __future__ import annotations

import functools
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from scripts.bench import latency, mail

from ews.intake import claim, mailbox, passes, stages
from ews.mail import imap, smtp
from ews.outbox import conversion
from ews.runtime import folders

#: (label, start, end) in ``time.perf_counter`` seconds, in the order the steps ended
EVENTS: list[tuple[str, float, float]] = []


def timed(owner: Any, name: str, label: str) -> None:
    """Replace ``owner.name`` by a wrapper that records each call's start and end."""
    original: Callable[..., Any] = getattr(owner, name)

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            EVENTS.append((label, started, time.perf_counter()))

    setattr(owner, name, wrapper)


def instrument() -> None:
    """Wrap every step of a pass (after Prefect and the flows were imported)."""
    import flows.intake
    import flows.pass_runner

    timed(flows.pass_runner.PassRunner, "request", "Wächter weckt den Lauf")
    timed(flows.intake.WarmPasses, "run", "Flow-Lauf gesamt")
    timed(flows.intake, "service_settings", "Flow-Rumpf beginnt (Einstellungen)")
    timed(passes, "prepare", "Ordner/Migration prüfen")
    timed(passes, "claim_new_inputs", "übernehmen (mit Stabilitätsfenster)")
    timed(folders, "stable_files", "  davon Stabilitätsfenster")
    timed(claim, "_open_all", "  davon Eingänge registrieren")
    timed(passes, "open_input_ids", "offene Eingänge lesen")
    timed(mailbox, "take_mails", "Postfach abholen")
    timed(mailbox, "take_new_mails", "  davon neue E-Mails übernehmen")
    timed(imap.Mailbox, "__init__", "IMAP-Verbindung aufbauen")
    timed(imap.Mailbox, "idle", "IDLE")
    timed(passes, "process_inputs", "verarbeiten (gesamt)")
    timed(stages.Batches, "read_next", "  lesen+prüfen (Arbeitsprozess)")
    timed(stages.Batches, "decide", "  entscheiden+registrieren")
    timed(stages.Batches, "render", "  Brief schreiben (Arbeitsprozess)")
    timed(stages.Batches, "file", "  ablegen")
    timed(flows.intake, "convert_pending_letters", "PDF/A (gesamt)")
    timed(conversion, "convert_to_pdfa", "  davon LibreOffice")
    timed(mailbox, "answer_and_finish", "antworten+nachbearbeiten")
    timed(mailbox, "queue_answers", "  davon Antworten vorbereiten")
    timed(mailbox, "queue_acknowledgments", "  davon Bestätigungen vorbereiten")
    timed(mailbox, "finish_mails", "  davon Nachbearbeitung im Postfach")
    timed(mailbox, "send_queued", "  davon SMTP senden")
    timed(smtp, "transmit", "  davon SMTP-Übertragung")


def breakdown(marks: list[tuple[float, float]]) -> list[str]:
    """Per step: the median start and end after the last byte, over the files."""
    rows: dict[str, list[tuple[float, float]]] = {}
    for begun, done in marks:
        first: dict[str, tuple[float, float]] = {}
        for label, start, end in EVENTS:
            if begun - 0.05 <= end <= done + 0.5 and label not in first:
                first[label] = (start - begun, end - begun)
        for label, span in first.items():
            rows.setdefault(label, []).append(span)
    ordered = sorted(rows.items(), key=lambda item: statistics.median(s for s, _ in item[1]))
    return [f"  {label:42s} {statistics.median(s for s, _ in spans):6.3f} → "
            f"{statistics.median(e for _, e in spans):6.3f} s "
            f"(Dauer {statistics.median(e - s for s, e in spans):.3f} s; Ende "
            f"{min(e for _, e in spans):.2f}–{max(e for _, e in spans):.2f} s; n={len(spans)})"
            for label, spans in ordered]


def main(files: list[tuple[str, bytes]], root: Path, window: float) -> None:
    instrument()
    marks: list[tuple[float, float]] = []
    seconds = latency.folder_latency(files, root / "ordner", window, marks=marks)
    print(f"Ordner, Fenster {window:g} s: p50 {statistics.median(seconds[1:]):.2f} s; "
          "Schritte ab dem letzten Byte (Median Beginn → Ende):")
    print("\n".join(breakdown(marks[1:])))
    EVENTS.clear()
    marks.clear()
    seconds = mail.latency(files, root, marks=marks)
    print(f"E-Mail: p50 {statistics.median(seconds[1:]):.2f} s; Schritte ab APPEND:")
    print("\n".join(breakdown(marks[1:])))
