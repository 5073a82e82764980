"""``ews betrieb installieren``: the units it writes pass ``systemd-analyze verify``, restart on
failure, log to the journal, run under their own user; config/ews.env ends up mode 0600."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ews.operations.service import (
    OFFICE_UNIT,
    SERVER_UNIT,
    VORSTART_SOCKET,
    VORSTART_UNIT,
    WEB_UNIT,
    WORKER_UNIT,
    units,
)
from ews.runtime.settings import PREFECT_SERVER_ENVIRONMENT, Settings
from flows.cli import app
from tests.conftest import REPO, cli_env

ANALYZE = shutil.which("systemd-analyze")


def _verify(paths: list[Path]) -> subprocess.CompletedProcess[str]:
    assert ANALYZE is not None
    return subprocess.run([ANALYZE, "verify", *map(str, paths)], capture_output=True,
                          text=True, timeout=120, check=False)


@pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze fehlt (Debian-Paket systemd, "
                                            "scripts/setup.sh installiert es)")
@pytest.mark.parametrize("cluster", [False, True])
def test_installed_units_verify(tmp_path: Path, settings: Settings, cluster: bool) -> None:
    home = tmp_path / "ews"
    (home / "config").mkdir(parents=True)
    (home / ".venv").symlink_to(REPO / ".venv")  # the programs the units start exist
    env_file = home / "config" / "ews.env"
    env_file.write_text("EWS_IMAP__PASSWORD=geheim\n", encoding="utf-8")
    env_file.chmod(0o644)
    target = tmp_path / "units"
    arguments = ["betrieb", "installieren", "--ziel", str(target), "--home", str(home),
                 "--benutzer", "ews-dienst"] + (["--cluster"] if cluster else [])
    result = CliRunner().invoke(app, arguments, env=cli_env(settings))
    assert result.exit_code == 0, result.output
    assert "Rechte von 0644 auf 0600 gesetzt" in result.output
    assert env_file.stat().st_mode & 0o777 == 0o600

    names = [SERVER_UNIT, WORKER_UNIT, VORSTART_UNIT, WEB_UNIT] if cluster else [OFFICE_UNIT]
    assert sorted(path.name for path in target.glob("*.service")) == sorted(names)
    for name in names:
        text = (target / name).read_text("utf-8")
        restart = "Restart=always" if name == VORSTART_UNIT else "Restart=on-failure"
        for line in (restart, "User=ews-dienst", "StandardOutput=journal",
                     f"WorkingDirectory={home}", "WantedBy=multi-user.target"):
            assert line in text, (name, line)
    if cluster:  # the worker and its warm start process meet at one socket
        socket = f"Environment=EWS_VORSTART_SOCKET={VORSTART_SOCKET}"
        worker, vorstart = ((target / name).read_text("utf-8")
                            for name in (WORKER_UNIT, VORSTART_UNIT))
        assert socket in worker and socket in vorstart
        assert f"After=network-online.target {VORSTART_UNIT}" in worker
        assert "KillMode=process" in vorstart  # a restart leaves the runs it started alone
        server = (target / SERVER_UNIT).read_text("utf-8")
        readme = (REPO / "README.md").read_text("utf-8")  # the recipe without systemd
        for setting, value in PREFECT_SERVER_ENVIRONMENT.items():
            assert f"Environment={setting}={value}" in server
            assert f"export {setting}={value}" in readme
        assert f"RuntimeDirectory={VORSTART_SOCKET.parent.name}" in vorstart
    checked = _verify([target / name for name in names])
    assert checked.returncode == 0 and checked.stderr == "", checked.stderr
    rule = (target / "logrotate.d" / "ews").read_text("utf-8")
    assert "prefect-server.log" in rule and "copytruncate" in rule


@pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze fehlt (Debian-Paket systemd)")
def test_verify_rejects_a_broken_unit(tmp_path: Path) -> None:
    """The check above can fail: a unit whose program is missing does not pass."""
    [(name, text)] = units(tmp_path / "fehlt", "ews", cluster=False).items()
    unit = tmp_path / name
    unit.write_text(text, encoding="utf-8")
    assert _verify([unit]).returncode != 0
