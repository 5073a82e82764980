"""The distributed setup as the Land would run it: PostgreSQL (a cluster in a temporary
folder), a Prefect server on it, the deployments of prefect.yaml, and two ``prefect worker``
processes sharing one inbox, one mailbox and one storage (fsspec, for every file the service
keeps), each with outbox and data folders of its own as on two machines. The first machine
starts its runs warm (flows.warm_start), the second cold. The first machine dies by SIGKILL in
the middle."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import sqlalchemy
from sqlalchemy import select

from ews.core.names import safe_name
from ews.letters.samples import sample_applications
from ews.register.schema import ApplicationRow, Input, LetterRow, MailRow, OutgoingMail
from ews.runtime.folders import WORK_FOLDER, observe_inbox
from ews.runtime.settings import Settings
from ews.runtime.storage import read_location
from tests.conftest import open_deadline
from tests.support.pgserver import (
    Postgres,
    PrefectServer,
    ProcessWorker,
    WarmStart,
    clean_environ,
    wait_for,
)

if TYPE_CHECKING:
    from tests.support.mailserver import MailServers

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
PREFECT = Path(sys.executable).parent / "prefect"
OFFICE = "bewerbung@ews.test"
FILES, MAILS = 200, 50
WARM_RUN = "Warmstart: Lauf in Prozess"  # the worker's log line of a run started warm


def _storage_options(tmp_path: Path) -> dict[str, str]:
    """fsspec options of the shared storage: a folder seen as an object store (``dir://``)."""
    return {"target_protocol": "file", "path": str(tmp_path / "ablage")}


def _env(tmp_path: Path, database_url: str, mail: MailServers) -> dict[str, str]:
    return {
        "EWS_DATABASE_URL": database_url,
        "EWS_INBOX_DIR": str(tmp_path / "inbox"),
        "EWS_OUTBOX_DIR": str(tmp_path / "outbox"),
        "EWS_DATA_DIR": str(tmp_path / "data"),
        "EWS_TEMPLATES_DIR": str(REPO / "templates"),
        "EWS_ROUND__NAME": "EWS 6",
        "EWS_ROUND__DEADLINE": open_deadline().isoformat(),
        "EWS_LETTERS__PDF": "false",
        "EWS_INTAKE__STABLE_SECONDS": "0.5",
        "EWS_INTAKE__POLL_SECONDS": "1",
        "EWS_INTAKE__WORKERS": "1",
        "EWS_INTAKE__OCR": "false",
        "EWS_IMAP__HOST": "127.0.0.1",
        "EWS_IMAP__PORT": str(mail.dovecot.imap_port),
        "EWS_IMAP__USER": OFFICE,
        "EWS_IMAP__PASSWORD": "geheim",
        "EWS_IMAP__SECURITY": "none",
        "EWS_SMTP__HOST": "127.0.0.1",
        "EWS_SMTP__PORT": str(mail.smtp.port),
        "EWS_SMTP__SECURITY": "none",
        "EWS_SMTP__RETRY_SECONDS": "0",
        "EWS_MAIL_FROM": OFFICE,
        "EWS_RUNDSCHREIBEN__PLAN_FILE": str(tmp_path / "kein-versandplan.toml"),
        "EWS_STORAGE__URL": "dir://",
        "EWS_STORAGE__OPTIONS": json.dumps(_storage_options(tmp_path)),
    }


def _prefect(*args: str, env: dict[str, str]) -> str:
    done = subprocess.run([str(PREFECT), *args], env={**clean_environ(), **env}, cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _start_watchers(env: dict[str, str]) -> None:
    """What the schedule does every five minutes (the test does not wait for it)."""
    for name in ("ordner/ordner", "postfach/postfach"):
        _prefect("deployment", "run", name, "--param", "laufzeit=900", env=env)


def test_two_workers_share_files_and_mails_and_one_dies_without_loss(
        tmp_path: Path, postgres: Postgres, mail: MailServers) -> None:
    from scripts.bench.mail import application_mail

    database_url = postgres.create_database("ews_cluster")
    postgres.create_database("prefect_cluster")
    server = PrefectServer(postgres.url("prefect_cluster", driver="postgresql+asyncpg")).start()
    env = {**server.client_env(), **_env(tmp_path, database_url, mail), "EWS_HOME": str(REPO)}
    workers: list[ProcessWorker] = []
    warm: WarmStart | None = None
    try:
        # the README's commands: the work pool, then the repository's prefect.yaml
        set_up = subprocess.run([sys.executable, "-m", "flows.cli", "cluster", "einrichten"],
                                env={**clean_environ(), **env}, cwd=REPO, capture_output=True,
                                text=True, timeout=300)
        assert set_up.returncode == 0 and "Arbeitspool „ews“ bereit" in set_up.stdout, \
            set_up.stdout + set_up.stderr
        _prefect("--no-prompt", "deploy", "--all", env=env)
        files = [(safe_name(name), data) for name, data in sample_applications(FILES, seed=61)]
        for number, (name, data) in enumerate(sample_applications(MAILS, seed=62), start=1):
            mail.dovecot.append(OFFICE, application_mail(number, name, data))
        # the first machine's warm start process, as ews-vorstart.service runs it
        warm = WarmStart(tmp_path / "w1-vorstart.sock",
                         {**env, **_own_folders(tmp_path / "w1")}, REPO).start()
        workers = [ProcessWorker("ews", f"w{n}", env={**env, **_own_folders(tmp_path / f"w{n}"),
                                                      **(warm.env_var if n == 1 else {})},
                                 cwd=REPO, limit=4, log_path=tmp_path / f"w{n}.log")
                   for n in (1, 2)]
        workers[0].start()
        inbox = tmp_path / "inbox"
        inbox.mkdir(parents=True, exist_ok=True)
        for name, data in files:  # dropped at once
            (inbox / name).write_bytes(data)
        _start_watchers(env)
        # the second machine joins once the first works (warm): whichever polls first takes a
        # run, and on a loaded machine the second could otherwise take every run before it
        wait_for(lambda: WARM_RUN in workers[0].log_text(), 300, "first warm run on w1",
                 interval=0.5)
        workers[1].start()

        engine = sqlalchemy.create_engine(database_url)
        wait_for(lambda: _done(engine) >= 60, 300, "60 inputs done", interval=0.5)
        warm.kill()  # the machine dies: warm start, worker, their flow runs and pools
        workers[0].kill()
        killed_at = _done(engine)

        def finished() -> bool:
            if time.monotonic() > finished.retrigger:  # type: ignore[attr-defined]
                _start_watchers(env)  # as the schedule would, should the watchers have died
                finished.retrigger = time.monotonic() + 45  # type: ignore[attr-defined]
            return _complete(engine)

        finished.retrigger = time.monotonic() + 45  # type: ignore[attr-defined]
        wait_for(finished, 600, "all inputs done, all answers sent, all mails finished",
                 interval=1.0)
        result = _register(engine)
        engine.dispose()
    except Exception:
        for worker in workers:
            print(f"--- {worker.name} ---\n{worker.log_text()[-6000:]}")
        raise
    finally:
        for worker in workers:
            worker.stop()
        if warm is not None:
            warm.kill()
        server.cleanup()
        postgres.drop_database("ews_cluster")

    assert killed_at < FILES + MAILS
    logs = [worker.log_text() for worker in workers]
    assert WARM_RUN in logs[0] and "Warmstart nicht möglich" not in logs[0]
    assert "Warmstart" not in logs[1]  # no socket given: cold, as before
    inputs = result["inputs"]
    assert len(inputs) == FILES + MAILS  # every input exactly once
    assert Counter(i.channel for i in inputs) == {"ordner": FILES, "mail": MAILS}
    assert sorted(i.source_name for i in inputs if i.channel == "ordner") == \
        sorted(name for name, _ in files)
    assert {i.state for i in inputs} == {"done"}
    options = _storage_options(tmp_path)
    for item in inputs:  # every original kept byte for byte in the storage
        assert item.stored_path.startswith(("dir://archiv/", "dir://quarantaene/"))
        assert hashlib.sha256(read_location(item.stored_path, options)).hexdigest() == item.sha256
    for letter in result["letters"]:  # written by either worker, read by the answering one
        assert letter.docx_path.startswith("dir://ausgang/")
        assert read_location(letter.docx_path, options).startswith(b"PK")
    serials = sorted(a.az_serial for a in result["applications"])
    assert serials == list(range(1, len(serials) + 1))  # unique and gap-free
    assert len(serials) == sum(1 for i in inputs if i.outcome in ("registered", "late"))
    assert len(result["mails"]) == MAILS and {m.state for m in result["mails"]} == {"done"}
    answers = result["answers"]
    assert len(answers) == MAILS == len({a.subject_key for a in answers})
    assert {a.state for a in answers} == {"sent"}
    assert all(a.eml_path.startswith("dir://postausgang/") for a in answers)
    for number in range(1, MAILS + 1):  # no duplicate mail
        assert len(mail.dovecot.messages(f"absender{number}@kommune.example")) == 1
    assert not observe_inbox(inbox) and not any((inbox / WORK_FOLDER).iterdir())
    mail_folder = Settings(_env_file=None, inbox_dir=inbox).mail_dir  # type: ignore[call-arg]
    assert not [p for p in mail_folder.rglob("*") if p.is_file()]  # every mail's PDF filed
    for worker in ("w1", "w2"):  # no file of the service kept on the machines themselves
        for folder in ("outbox", "data/archiv", "data/quarantaene", "data/postausgang"):
            assert not [p for p in (tmp_path / worker / folder).rglob("*") if p.is_file()]


def test_the_watcher_works_a_batch_itself_and_ends_as_cancelled_when_cancelled(
        tmp_path: Path, postgres: Postgres, mail: MailServers) -> None:
    """A worker that runs one flow at a time and holds the inbox watcher: the watcher works
    the batch in its own process (the intake deployment is not even deployed: starting
    further runs fails, and is only a warning). Then cancelling the run, which the warm
    start forked (the Prefect UI's "Cancel"): the worker signals its command, which passes
    it on; the run ends "Cancelled" and its process is gone."""
    import httpx

    database_url = postgres.create_database("ews_abbruch")
    postgres.create_database("prefect_abbruch")
    server = PrefectServer(postgres.url("prefect_abbruch", driver="postgresql+asyncpg")).start()
    env = {**server.client_env(), **_env(tmp_path, database_url, mail), "EWS_HOME": str(REPO)}
    (tmp_path / "inbox").mkdir()
    api = server.api_url
    warm = worker = None
    try:
        _prefect("work-pool", "create", "ews", "--type", "process", env=env)
        _prefect("--no-prompt", "deploy", "--name", "ordner", env=env)
        warm = WarmStart(tmp_path / "vorstart.sock", env, REPO).start()
        worker = ProcessWorker("ews", "w", env={**env, **warm.env_var}, cwd=REPO, limit=1,
                               log_path=tmp_path / "w.log").start()
        worker.wait_registered(api, timeout=120)
        # more than one chunk, there when the watcher first looks: it works one pass itself
        # and asks for a second run at once (asked for one by one, as files trickle in, a
        # pass of its own that is idle again takes each)
        batch = [(safe_name(name), data) for name, data in sample_applications(40, seed=63)]
        for name, data in batch:
            (tmp_path / "inbox" / name).write_bytes(data)
        deployment = httpx.get(f"{api}/deployments/name/ordner/ordner", timeout=30).json()
        run = httpx.post(f"{api}/deployments/{deployment['id']}/create_flow_run",
                         json={"parameters": {"laufzeit": 600}}, timeout=30).json()["id"]

        def state() -> str:
            return str(httpx.get(f"{api}/flow_runs/{run}", timeout=30).json()["state_type"])

        wait_for(lambda: state() == "RUNNING", 120, "the watcher run running", 0.5)
        engine = sqlalchemy.create_engine(database_url)
        wait_for(lambda: _done(engine) == len(batch), 180, "the batch done", interval=0.5)
        with sqlalchemy.orm.Session(engine) as session:
            inputs = list(session.scalars(select(Input)))
        engine.dispose()
        assert sorted(i.source_name for i in inputs) == sorted(name for name, _ in batch)
        own = httpx.post(f"{api}/flow_runs/filter", timeout=30, json={
            "flows": {"name": {"any_": ["posteingang"]}}}).json()
        assert own and all(run["deployment_id"] is None for run in own)  # the watcher's
        process = int(worker.log_text().split("Warmstart: Lauf in Prozess ")[1].split()[0])
        assert warm.proc is not None
        assert Path(f"/proc/{process}/stat").read_text().rsplit(")", 1)[1].split()[1] \
            == str(warm.proc.pid)  # forked by the warm start

        httpx.post(f"{api}/flow_runs/{run}/set_state", timeout=30,
                   json={"state": {"type": "CANCELLING"}, "force": True}).raise_for_status()
        wait_for(lambda: state() == "CANCELLED", 120, "the run cancelled", 0.5)
        # the warm start lets the kernel reap its runs: an ended run leaves no entry behind
        wait_for(lambda: not Path(f"/proc/{process}").exists(), 60, "the run's process gone")
        assert "Weitere Posteingangsläufe nicht gestartet" in worker.log_text()
    except Exception:
        if worker is not None:
            print(f"--- worker ---\n{worker.log_text()[-6000:]}")
        raise
    finally:
        if worker is not None:
            worker.stop()
        if warm is not None:
            warm.kill()
        server.cleanup()


def _own_folders(root: Path) -> dict[str, str]:
    return {"EWS_OUTBOX_DIR": str(root / "outbox"), "EWS_DATA_DIR": str(root / "data")}


def _done(engine: sqlalchemy.Engine) -> int:
    try:
        with engine.connect() as connection:
            return int(connection.execute(sqlalchemy.text(
                "SELECT count(*) FROM inputs WHERE state = 'done'")).scalar_one())
    except sqlalchemy.exc.ProgrammingError:  # the first flow run has not migrated yet
        return 0


def _complete(engine: sqlalchemy.Engine) -> bool:
    with engine.connect() as connection:
        counts = connection.execute(sqlalchemy.text(
            "SELECT (SELECT count(*) FROM inputs WHERE state = 'done'),"
            " (SELECT count(*) FROM inputs WHERE state <> 'done'),"
            " (SELECT count(*) FROM outgoing_mails WHERE state = 'sent'),"
            " (SELECT count(*) FROM mails WHERE state <> 'done')")).one()
    # the mailbox's post-actions (moved, marked: state done) come after the answers are sent
    return bool(counts[0] == FILES + MAILS and counts[1] == 0 and counts[2] >= MAILS
                and counts[3] == 0)


def _register(engine: sqlalchemy.Engine) -> dict[str, Any]:
    with sqlalchemy.orm.Session(engine) as session:
        return {"inputs": list(session.scalars(select(Input))),
                "applications": list(session.scalars(select(ApplicationRow))),
                "mails": list(session.scalars(select(MailRow))),
                "answers": list(session.scalars(select(OutgoingMail))),
                "letters": list(session.scalars(select(LetterRow)))}
