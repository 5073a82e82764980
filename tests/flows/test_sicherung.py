"""The daily ``sicherung`` flow: one backup into the folder of ``config/sicherung.toml``, only
the newest N kept; the plan's time becomes the deployment's cron schedule."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ews.core.errors import PlanError
from ews.intake import passes as intake
from ews.operations.backup import backup_name, backups_in
from ews.operations.backup_layout import verify
from ews.operations.backup_plan import BackupPlan, read_backup_plan
from ews.runtime.settings import Settings
from flows.deployments import office_deployments
from flows.sicherung import sicherung

OLD = datetime(2020, 1, 1, 2, 30, tzinfo=UTC)  # names of earlier backups, sorting first


def test_the_flow_writes_a_backup_and_keeps_the_newest(
        tmp_path: Path, settings: Settings,
        service_env: Callable[[Settings], Settings]) -> None:
    service_env(settings)  # runs from tmp_path: config/ is tmp_path/config
    intake.prepare(settings)
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "sicherung.toml").write_text(
        '[sicherung]\nziel = "gesichert"\nuhrzeit = "03:15"\nbehalten = 2\n', encoding="utf-8")
    folder = tmp_path / "gesichert"
    folder.mkdir()
    for day in (1, 2, 3):
        (folder / backup_name(OLD.replace(day=day))).write_bytes(b"alt")

    written = Path(sicherung.fn())

    assert written.parent.resolve() == folder.resolve() and verify(written) == []
    assert [path.name for path in backups_in(folder)] == [
        backup_name(OLD.replace(day=3)), written.name]


def test_the_plan_sets_the_schedule_and_bad_plans_are_refused(tmp_path: Path) -> None:
    assert read_backup_plan(tmp_path / "fehlt.toml") == BackupPlan()
    plan = tmp_path / "sicherung.toml"
    plan.write_text('[sicherung]\nuhrzeit = "3:05"\nbehalten = 7\naktiv = false\n',
                    encoding="utf-8")
    [deployment] = [d for d in office_deployments([], backup=read_backup_plan(plan))
                    if d.name == "sicherung"]
    assert deployment.cron == "5 3 * * *" and deployment.active is False
    for wrong in ('uhrzeit = "25:00"', "behalten = 0", 'unbekannt = "x"'):
        plan.write_text(f"[sicherung]\n{wrong}\n", encoding="utf-8")
        with pytest.raises(PlanError):
            read_backup_plan(plan)
