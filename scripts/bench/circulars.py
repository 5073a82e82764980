"""The circular part of ``make bench``: personalised mails, each with the circular's PDF/A,
through the outbox to the test suite's real SMTP server (delivering into Dovecot, copies to
the Sent folder), on 127.0.0.1.

Each size runs in a fresh process, so that its memory peak (VmHWM) is its own: 1,000 mails
(two circulars to all 427 municipalities and one to a network of 146) against 250 (one
circular to a network of 250). Flat memory means the two peaks are about the same.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from scripts.bench.common import bench_settings

if TYPE_CHECKING:
    from tests.support.mailserver import Dovecot, SmtpServer

PROBE = """
import json, re, sys, time
from datetime import UTC, datetime
from pathlib import Path
from scripts.bench.circulars import run_mailing
root, imap_port, smtp_port, network, everyone = sys.argv[1:6]
result = run_mailing(Path(root), int(imap_port), int(smtp_port), int(network), int(everyone))
status = open("/proc/self/status").read()
result["peak_mb"] = int(re.search(r"VmHWM:\\s+(\\d+)", status).group(1)) // 1024
print(json.dumps(result))
"""


def run_mailing(root: Path, imap_port: int, smtp_port: int, network: int, everyone: int
                ) -> dict[str, float]:
    """Issue and send: ``everyone`` circulars to all municipalities, one to a network of
    ``network`` members (none when 0). Seconds for issuing (documents) and for sending."""
    from datetime import UTC, datetime

    from pydantic import SecretStr

    from ews.circulars.drafts import read_draft
    from ews.circulars.issuing import issue_circular
    from ews.circulars.mailing import send_circulars
    from ews.intake import passes as intake
    from ews.runtime.settings import CircularSettings, ImapSettings, LetterSettings, SmtpSettings
    from tests.integration.circulars.test_circulars import add_members, write_draft

    settings = bench_settings(root)
    settings.imap = ImapSettings(host="127.0.0.1", port=imap_port, user="buero@ews.test",
                                 password=SecretStr("geheim"), security="none")
    settings.smtp = SmtpSettings(host="127.0.0.1", port=smtp_port, security="none")
    settings.mail_from = "buero@ews.test"
    settings.letters = LetterSettings(pdf=True, timeout_seconds=240)
    settings.rundschreiben = CircularSettings(contacts_file=root / "kontakte.csv")
    intake.prepare(settings)
    _write_contacts(root / "kontakte.csv")
    if network:
        add_members(settings, network)
    drafts = []
    if network:
        drafts.append(read_draft(write_draft(settings, name="netzwerk"), settings.round.name))
    for number in range(everyone):
        folder = write_draft(settings, name=f"alle-{number}")
        text = (folder / "rundschreiben.md").read_text(encoding="utf-8")
        (folder / "rundschreiben.md").write_text(text.replace("verteiler: netzwerk",
                                                              "verteiler: alle"), "utf-8")
        drafts.append(read_draft(folder, settings.round.name))
    started = time.perf_counter()
    for draft in drafts:
        issue_circular(settings, draft, actor="bench", now=datetime.now(UTC))
    issued = time.perf_counter()
    report = send_circulars(settings, datetime.now(UTC))
    done = time.perf_counter()
    return {"issue_seconds": issued - started, "send_seconds": done - issued,
            "mails": report.sent, "failed": report.failed}


def _write_contacts(path: Path) -> None:
    from ews.core.municipalities import all_municipalities

    lines = ["Schlüssel;Kommune;Anrede;Name;Funktion;E-Mail"]
    lines += [f"{m.ags};{m.letter_name};Frau;Anna Beispiel;Bürgermeisterin;"
              f"buergermeisterin@{m.ags}.example" for m in all_municipalities()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def measure(root: Path, dovecot: Dovecot, smtp: SmtpServer, network: int, everyone: int
            ) -> dict[str, float]:
    before = len(smtp.received)
    started = time.perf_counter()
    output = subprocess.run(
        [sys.executable, "-c", PROBE, str(root), str(dovecot.imap_port), str(smtp.port),
         str(network), str(everyone)], check=True, capture_output=True, text=True,
        timeout=1800).stdout
    result: dict[str, float] = json.loads(output.splitlines()[-1])
    result["total_seconds"] = time.perf_counter() - started
    result["received"] = len(smtp.received) - before
    return result


def main(root: Path) -> None:
    from tests.support.mailserver import Dovecot, SmtpServer

    print("Rundschreiben: personalisierte E-Mails mit PDF/A an den lokalen SMTP-Server")
    with Dovecot() as dovecot:
        smtp = SmtpServer(dovecot).start()
        try:
            small = measure(root / "klein", dovecot, smtp, network=250, everyone=0)
            large = measure(root / "gross", dovecot, smtp, network=146, everyone=2)
        finally:
            smtp.stop()
    for result in (small, large):
        print(f"  {result['received']:.0f} E-Mails angekommen ({result['mails']:.0f} gesendet,"
              f" {result['failed']:.0f} gescheitert): ausgeben {result['issue_seconds']:.1f} s"
              f", versenden {result['send_seconds']:.1f} s, Prozess gesamt "
              f"{result['total_seconds']:.1f} s, Speicherspitze {result['peak_mb']:.0f} MB")
    print(f"  1.000 E-Mails: {large['issue_seconds'] + large['send_seconds']:.1f} s "
          f"(Ziel ≤ 60 s); Speicher 1.000/250 E-Mails: "
          f"{large['peak_mb'] / small['peak_mb']:.2f}x (flach: ≈ 1)")


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory(prefix="ews-bench-") as tmp:
        main(Path(tmp))
