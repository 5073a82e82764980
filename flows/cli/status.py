"""``ews betrieb status``: the health view for the office and for monitoring – deployments and their
runs, the watchers' heartbeats, what waits and what failed, and on a worker machine its warm
start; exit code 1 when something needs a person. Reads the register and asks the Prefect API
and the warm start process."""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from ews.core.deadlines import BERLIN
from ews.core.models import WatcherState
from ews.operations.health import Health, register_health
from ews.operations.service import VORSTART_SOCKET
from ews.runtime.redaction import redact, secret_values
from flows import warm_start
from flows.cli.office import office
from flows.cli.output import console, folding_table
from flows.server import api_url
from flows.status import (
    DeploymentRun,
    PrefectUnreachable,
    RunInfo,
    deployment_problems,
    deployment_runs,
    prefect_api_url,
)

STATES = {"laeuft": "läuft", "beendet": "beendet", "gestoert": "gestört"}
KINDS = {"ordner": "Ordner", "postfach": "Postfach"}


def status(ctx: typer.Context, json_lines: Annotated[bool, typer.Option(
        "--json", help="Ein JSON-Objekt statt der Tabellen.")] = False) -> None:
    """Zustand des Dienstes: letzte Läufe je Deployment, Herzschlag der Beobachter,
    wartende und fehlgeschlagene Vorgänge.

    Rückgabewert (für die Überwachung): 0, wenn alles in Ordnung ist; 1, wenn etwas eine
    Person braucht – die Probleme stehen am Ende der Ausgabe (bei --json unter „problems“)."""
    settings = office(ctx)
    health = register_health(settings, datetime.now(UTC))
    try:
        runs, note = deployment_runs(prefect_api_url(api_url(settings))), None
    except PrefectUnreachable as exc:
        runs, note = [], redact(str(exc), secret_values(settings))
    problems = [redact(problem, secret_values(settings))
                for problem in health.problems + deployment_problems(runs)]
    warm = _warm_start()
    if json_lines:
        sys.stdout.write(json.dumps({**_document(health, runs, note, problems),
                                     "warm_start": warm}, ensure_ascii=False) + "\n")
    else:
        _print_warm_start(warm)
        _print_view(health, runs, note, problems)
    if problems:
        raise typer.Exit(1)


def _warm_start() -> dict[str, Any] | None:
    """The warm start of this machine (a worker of the cluster), None where there is none:
    its socket from ``EWS_VORSTART_SOCKET``, else the one ``ews-vorstart.service`` uses. Not
    a problem when it is down: the runs then start without it, only slower."""
    configured = os.environ.get(warm_start.SOCKET_ENV)
    path = Path(configured) if configured else VORSTART_SOCKET
    if not configured and not path.exists():
        return None
    try:
        answer = warm_start.state(path)
    except warm_start.ColdStart as reason:
        return {"socket": str(path), "ready": False, "reason": str(reason)}
    return {"socket": str(path), "ready": True, "pid": answer["pid"],
            "since": answer.get("since"), "runs": answer.get("runs"),
            "code_current": answer.get("code_current")}


def _print_warm_start(warm: dict[str, Any] | None) -> None:
    if warm is None:
        return
    if not warm["ready"]:
        console.print(f"[yellow]Warmstart dieses Rechners nicht erreichbar:[/] "
                      f"{escape(warm['reason'])} – die Läufe starten ohne ihn, langsamer "
                      "(systemctl status ews-vorstart).")
        return
    since = datetime.fromisoformat(warm["since"]) if warm.get("since") else None
    text = (f"Warmstart dieses Rechners bereit: Prozess {warm['pid']}, seit {_time(since)}, "
            f"{warm['runs']} Läufe gestartet")
    if warm.get("code_current") is False:
        text += " – der Programmcode wurde geändert; er beginnt beim nächsten Lauf neu"
    console.print(text + ".")


def _document(health: Health, runs: list[DeploymentRun], note: str | None,
              problems: list[str]) -> dict[str, Any]:
    data = health.model_dump(mode="json")
    return {"checked_at": data["checked_at"],
            "deployments": [run.model_dump(mode="json") for run in runs],
            "prefect_note": note, "watchers": data["watchers"], "waiting": data["waiting"],
            "failed": data["failed"], "problems": problems}


def _print_view(health: Health, runs: list[DeploymentRun], note: str | None,
                problems: list[str]) -> None:
    _print_deployments(runs, note)
    _print_watchers(health)
    _print_waiting(health)
    _print_failed(health)
    if not problems:
        console.print("[green]Alles in Ordnung.[/]")
        return
    console.print(f"[bold red]{len(problems)} Problem(e):[/]")
    for problem in problems:
        console.print(f"[red]  • {escape(problem)}[/]")


def _print_deployments(runs: list[DeploymentRun], note: str | None) -> None:
    if note is not None:
        console.print(f"[yellow]Prefect-Server nicht erreichbar:[/] {escape(note)}")
        return
    if not runs:
        console.print("Keine Deployments beim Prefect-Server (läuft „ews betrieb starten“?).")
        return
    table = folding_table("Deployments",
                          ("Deployment", "Arbeitspool", "letzter Lauf", "Zustand", "Beginn", "Ende",
                           "wartend"))
    for run in runs:
        last = run.last_run
        table.add_row(_deployment_cell(run), run.work_pool or "– (ews serve)",
                      last.name if last else "–", _state_cell(run),
                      _time(last.start if last else None), _time(last.end if last else None),
                      f"{run.waiting}" + (f" ({run.late} verspätet)" if run.late else ""))
    console.print(table)


def _deployment_cell(run: DeploymentRun) -> str:
    notes = ["pausiert"] if run.paused else []
    if run.schedules_active:
        notes.append(f"Zeitpläne: {run.schedules_active} aktiv")
    if run.concurrency_limit is not None:
        notes.append(f"höchstens {run.concurrency_limit} gleichzeitig")
    return "\n".join([run.name, *notes])


def _state_cell(run: DeploymentRun) -> str:
    last, failure = run.last_run, run.last_failure
    if last is None:
        return "noch kein Lauf"
    text = f"[red]{last.state}[/]" if last.state_type in ("FAILED", "CRASHED") else last.state
    if failure is not None and failure != last:
        text += f"\nzuletzt gescheitert: {_time(_when(failure))}"
    return text


def _when(run: RunInfo) -> datetime | None:
    return run.end or run.start


def _print_watchers(health: Health) -> None:
    if not health.watchers:
        console.print("Keine Beobachter eingetragen (Posteingang und Postfach werden nur "
                      "unter „ews serve“ beobachtet).")
        return
    table = folding_table("Beobachter",
                          ("Name", "Art", "Prozess", "letzter Herzschlag", "Zustand"))
    for w in health.watchers:
        state = STATES.get(w.state, w.state) + (f": {w.detail}" if w.detail else "")
        if w.problem and w.state == WatcherState.RUNNING:
            state += " – ohne Herzschlag"
        table.add_row(escape(w.name), KINDS.get(w.kind, w.kind), escape(w.holder),
                      _age(w.age_seconds),
                      f"[red]{escape(state)}[/]" if w.problem else escape(state))
    console.print(table)


def _print_waiting(health: Health) -> None:
    w = health.waiting
    console.print("[bold]Wartend[/]")
    console.print(f"  Posteingang: {w.inbox_files} Datei(en)"
                  + (f", älteste vom {_time(w.inbox_oldest)}" if w.inbox_oldest else ""))
    console.print(f"  Eingänge in Arbeit: {w.inputs_open}"
                  + (f", ältester Eingang {_time(w.inputs_oldest)}" if w.inputs_oldest else "")
                  + (f", davon {w.inputs_stuck} hängend" if w.inputs_stuck else ""))
    console.print(f"  Briefe: {w.letters_planned} noch zu schreiben, {w.letters_without_pdf} "
                  "warten auf PDF")
    console.print(f"  E-Mails übernommen, noch nicht abgeschlossen: {w.mails_taken}")
    console.print(f"  Postausgang: {w.outgoing_queued} wartend (davon {w.outgoing_retrying} "
                  f"nach Fehlversuch), {w.outgoing_sending} im Versand")
    console.print(f"  Wiedervorlagen: {w.follow_ups_open} offen, davon {w.follow_ups_overdue} "
                  "überfällig" + (f" ({w.follow_ups_not_reminded} seit über einem Tag ohne "
                                  "Erinnerung)" if w.follow_ups_not_reminded else ""))


def _print_failed(health: Health) -> None:
    f = health.failed
    console.print("[bold]Fehlgeschlagen[/]")
    console.print(f"  E-Mails endgültig nicht zugestellt (letzte 7 Tage): {f.mails}")
    for mail in f.last_mails:
        console.print(escape(f"    {mail.subject_key} an {', '.join(mail.recipients)}: "
                             f"{mail.last_error or 'ohne Angabe'}"))
    console.print(f"  Ungültige Eingänge (Quarantäne) der letzten 7 Tage: {f.quarantined}")
    for item in f.last_quarantined:
        console.print(escape(f"    {item.source_name} ({_time(item.finished_at)}): "
                             f"{item.reason}"))
    console.print(f"  Eingänge, deren Briefe nicht geschrieben werden konnten: "
                  f"{f.letters_not_rendered}")
    console.print(f"  E-Mails ohne automatische Antwort (letzte 7 Tage, mit Grund): "
                  f"{f.for_staff}")
    for staff in f.last_for_staff:
        console.print(escape(f"    {staff.subject_key} von {staff.sender}: {staff.reason}"))


def _time(value: datetime | None) -> str:
    return value.astimezone(BERLIN).strftime("%d.%m.%Y %H:%M") if value else "–"


def _age(seconds: float) -> str:
    """``vor 12 s``, ``vor 7 min``, ``vor 3 h``, ``vor 2 Tagen``."""
    if seconds < 120:
        return f"vor {seconds:.0f} s"
    if seconds < 7200:
        return f"vor {seconds // 60:.0f} min"
    if seconds < 172800:
        return f"vor {seconds // 3600:.0f} h"
    return f"vor {seconds // 86400:.0f} Tagen"
