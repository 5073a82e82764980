"""The mail part of ``make bench``, against the test suite's real servers (Dovecot and an SMTP
server delivering into it, both on 127.0.0.1).

1. Latency from IMAP APPEND to the receipt mail in the sender's mailbox, with ``ews serve``'s
   IDLE watcher and pass runner, one mail at a time (p50, p95).
2. Taking 1,000 waiting mails against the same PDFs dropped into the folder, one pass each,
   in paired rounds (``ROUNDS``): the median ratio.
"""

from __future__ import annotations

import random
import statistics
import time
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import SecretStr
from rich.console import Console
from scripts.bench.common import bench_settings, paired_order, use_settings, write_inbox

from ews.intake.pipeline import preload
from ews.runtime.settings import ImapSettings, LetterSettings, Settings, SmtpSettings

if TYPE_CHECKING:
    from tests.support.mailserver import Dovecot, SmtpServer

OFFICE = "bewerbung@ews.test"


def mail_bench_settings(root: Path, dovecot: Dovecot, smtp: SmtpServer, *, pdf: bool,
                        answers: bool = True) -> Settings:
    settings = bench_settings(root)
    settings.imap = ImapSettings(host="127.0.0.1", port=dovecot.imap_port, user=OFFICE,
                                 password=SecretStr("geheim"), security="none", batch_size=50,
                                 poll_seconds=600)
    # without answers: no server at all, not one an earlier part of the bench left in the
    # environment (Settings() reads it) and has stopped since
    settings.smtp = SmtpSettings(host="127.0.0.1", port=smtp.port, security="none",
                                 retry_seconds=0) if answers else SmtpSettings()
    settings.mail_from = OFFICE
    settings.letters = LetterSettings(pdf=pdf, timeout_seconds=120)
    settings.inbox_dir.mkdir(parents=True, exist_ok=True)
    return settings


def application_mail(number: int, name: str, data: bytes) -> EmailMessage:
    message = EmailMessage()
    message["From"] = f"absender{number}@kommune.example"
    message["To"] = OFFICE
    message["Subject"] = f"Bewerbung EWS 6 ({number})"
    message["Message-ID"] = make_msgid(domain="kommune.example")
    message.set_content("Anbei unsere Bewerbung.")
    message.add_attachment(data, maintype="application", subtype="pdf", filename=name)
    return message


def latency(files: list[tuple[str, bytes]], root: Path, count: int = 20,
            marks: list[tuple[float, float]] | None = None) -> list[float]:
    """Seconds from APPEND to the answer in the sender's mailbox, per mail; ``marks`` gets
    each mail's ``perf_counter`` before its APPEND and once its answer arrived."""
    from flows.mailbox_watch import MailboxWatcher
    from flows.server import console_runner
    from tests.support.mailserver import Dovecot, SmtpServer

    seconds = []
    with Dovecot() as dovecot:
        smtp = SmtpServer(dovecot).start()
        try:
            settings = mail_bench_settings(root / "latenz", dovecot, smtp, pdf=True)
            use_settings(settings)  # the runner's flow runs build theirs from the environment
            runner = console_runner(settings, Console(quiet=True))
            watcher = MailboxWatcher(settings, runner)
            runner.start()
            watcher.start()
            time.sleep(3)  # connected, first (empty) pass done, IDLE entered
            pauses = random.Random(20)
            # the first mail after the start also waits for the first LibreOffice start and
            # the worker processes' first reads: reported, not counted
            for number, (name, data) in enumerate(files[:count + 1]):
                sender = f"absender{number}@kommune.example"
                started = time.perf_counter()
                dovecot.append(OFFICE, application_mail(number, name, data))
                dovecot.wait_for_messages(sender, 1, timeout=60)
                seconds.append(time.perf_counter() - started)
                if marks is not None:
                    marks.append((started, started + seconds[-1]))
                # back in IDLE; a random pause, so that the mail meets Dovecot's IDLE check
                # (every second in the test server) at any phase, not at one the loop fixed
                time.sleep(pauses.uniform(0.5, 1.5))
            watcher.stop()
            runner.stopping.set()
            watcher.join(10)
            runner.join(120)
        finally:
            smtp.stop()
    return seconds


#: paired rounds of folder against mailbox: the median ratio is printed (the machine is noisy)
ROUNDS = 3


def mailbox_against_folder(files: list[tuple[str, bytes]], root: Path, rounds: int = ROUNDS
                           ) -> tuple[list[tuple[float, float]], float]:
    """Seconds for one pass over the files dropped into the folder and one pass over the same
    PDFs waiting as mails (taking only), in ``rounds`` pairs (the order alternates, so that a
    drift over the run favours neither side); then sending the last round's answers."""
    from ews.intake.mailbox import answer_and_finish
    from ews.runtime import workers
    from flows.intake import run_posteingang
    from tests.support.mailserver import Dovecot, SmtpServer

    pairs: list[tuple[float, float]] = []
    with Dovecot() as dovecot:
        smtp = SmtpServer(dovecot).start()
        try:
            warm = mail_bench_settings(root / "warm", dovecot, smtp, pdf=False, answers=False)
            warm.imap = ImapSettings()
            workers.warm_up(warm.worker_count, warm.intake.read_memory_mb, preload)
            use_settings(warm)
            run_posteingang()
            for number in range(1, rounds + 1):
                folder = mail_bench_settings(root / f"ordner-{number}", dovecot, smtp,
                                             pdf=False, answers=False)
                folder.imap = ImapSettings()
                mailbox = mail_bench_settings(root / f"postfach-{number}", dovecot, smtp,
                                              pdf=False, answers=False)
                seconds = {}
                for side in paired_order(("ordner", "postfach"), number):
                    if side == "ordner":
                        write_inbox(folder.inbox_dir, files)
                        use_settings(folder)
                    else:
                        for index, (name, data) in enumerate(files, start=1):
                            dovecot.append(OFFICE, application_mail(index, name, data))
                        use_settings(mailbox)
                    started = time.perf_counter()
                    assert len(run_posteingang()) == len(files)
                    seconds[side] = time.perf_counter() - started
                pairs.append((seconds["ordner"], seconds["postfach"]))
            mailbox.smtp = SmtpSettings(host="127.0.0.1", port=smtp.port, security="none")
            started = time.perf_counter()
            report = answer_and_finish(mailbox, datetime.now(UTC))
            answer_seconds = time.perf_counter() - started
            assert report.sent == len(files), report
        finally:
            smtp.stop()
    return pairs, answer_seconds


def main(files: list[tuple[str, bytes]], root: Path, count: int = 1000) -> None:
    from ews.letters.samples import sample_applications

    print_latency(files, root)
    many = sample_applications(count, seed=7)
    pairs, answers = mailbox_against_folder(many, root)
    for number, (folder, mailbox) in enumerate(pairs, start=1):
        print(f"{count} Bewerbungen, Runde {number}: Ordner {folder:.1f} s, Postfach "
              f"{mailbox:.1f} s → {mailbox / folder:.2f}x")
    ratios = [mailbox / folder for folder, mailbox in pairs]
    print(f"Postfach/Ordner, Median aus {len(pairs)} Runden: {statistics.median(ratios):.2f}x "
          f"(kleinste {min(ratios):.2f}x, größte {max(ratios):.2f}x; Ziel ≤ 1.5x); danach "
          f"{count} Antworten senden: {answers:.1f} s")


def print_latency(files: list[tuple[str, bytes]], root: Path) -> None:
    print("E-Mail: Zeit von IMAP APPEND bis zur Eingangsbestätigung im Postfach des Absenders")
    seconds = latency(files, root)
    print(f"  erste E-Mail nach dem Start: {seconds[0]:.1f} s")
    seconds = seconds[1:]
    quantiles = statistics.quantiles(seconds, n=20)
    print(f"  {len(seconds)} E-Mails nacheinander: p50 {statistics.median(seconds):.2f} s, "
          f"p95 {quantiles[18]:.2f} s, max {max(seconds):.2f} s (Ziel p50 ≤ 1.5 s)")
