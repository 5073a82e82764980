"""Running as a system service: the systemd units (one office, or the Prefect server, a
worker, its warm start process and the web interface of the cluster recipe), the logrotate
rule, the checks of ``config/ews.env`` (I/O: writes files; with root and a running systemd
also ``useradd`` and ``systemctl``)."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from ews.runtime.folders import write_atomic
from ews.runtime.settings import PREFECT_SERVER_ENVIRONMENT

SYSTEMD_DIR = Path("/etc/systemd/system")
LOGROTATE_FILE = Path("/etc/logrotate.d/ews")
OFFICE_UNIT = "ews.service"
SERVER_UNIT = "ews-prefect-server.service"
WORKER_UNIT = "ews-worker.service"
WEB_UNIT = "ews-web.service"
#: the worker machine's warm start process (flows.warm_start): runs start forked from it
VORSTART_UNIT = "ews-vorstart.service"
#: its socket, in the runtime folder systemd gives the unit (``RuntimeDirectory=``)
VORSTART_SOCKET = Path("/run/ews-vorstart/vorstart.sock")
#: the Prefect variables of the cluster units (database, API, auth string); mode 0600 too
PREFECT_ENV = Path("config/prefect.env")
SECRET_MODE = 0o600

_COMMON = """\
[Unit]
Description={description}
Documentation=file://{home}/README.md
After=network-online.target{after}
Wants=network-online.target{after}
StartLimitIntervalSec=600
StartLimitBurst=5

[Service]
Type=simple
User={user}
Group={user}
WorkingDirectory={home}
{environment}ExecStart={exec_start}
Restart={restart}
RestartSec=10
{service_extra}KillSignal=SIGTERM
TimeoutStopSec=180
StandardOutput=journal
StandardError=journal
SyslogIdentifier={identifier}
UMask=0027
NoNewPrivileges=yes
PrivateTmp=yes
ProtectSystem=full

[Install]
WantedBy=multi-user.target
"""

_LOGROTATE = """\
# Von `ews betrieb installieren` geschrieben. Die Dienste schreiben ins Journal
# (journalctl -u ews); in Dateien schreibt nur der Prefect-Server von `ews serve`.
{data_dir}/prefect-server.log {data_dir}/*.log {{
    weekly
    rotate 8
    compress
    delaycompress
    missingok
    notifempty
    copytruncate
    su {user} {user}
}}
"""


@dataclass
class Installation:
    """What ``install`` wrote and did, in German notes for the person installing."""

    written: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    enabled: list[str] = field(default_factory=list)


class InstallRefused(Exception):
    """The installation cannot go on (German message)."""


def units(home: Path, user: str, *, cluster: bool) -> dict[str, str]:
    """The unit files by name: ``ews serve`` for one office, or the Prefect server, a worker
    with its warm start process and the web interface of the cluster recipe."""
    venv = home / ".venv" / "bin"
    if not cluster:
        return {OFFICE_UNIT: _unit(
            "EWS-Aktenführung (ews betrieb starten: Prefect-Server, Beobachter, Deployments)",
            home, user, f"{venv / 'ews'} betrieb starten", "ews",
            "# config/ews.env liest der Dienst selbst (Arbeitsordner oben), Rechte 0600\n")}
    environment = (f"EnvironmentFile={home / PREFECT_ENV}\nEnvironment=EWS_HOME={home}\n")
    socket = f"Environment=EWS_VORSTART_SOCKET={VORSTART_SOCKET}\n"
    return {
        SERVER_UNIT: _unit("EWS: Prefect-Server des Verbunds", home, user,
                           f"{venv / 'prefect'} server start --host 127.0.0.1 --port 4200",
                           "ews-prefect-server", environment + "".join(
                               f"Environment={name}={value}\n"
                               for name, value in PREFECT_SERVER_ENVIRONMENT.items())),
        WORKER_UNIT: _unit("EWS: Prefect-Worker (Arbeitspool ews)", home, user,
                           f"{venv / 'prefect'} worker start --pool ews --limit 4",
                           "ews-worker", environment + socket
                           + "Environment=PREFECT_WORKER_QUERY_SECONDS=0.5\n",
                           after=f" {VORSTART_UNIT}"),
        # forks each run of this machine's worker warm; restarted after an update (it ends
        # itself when the code changed), without ending the runs it started
        VORSTART_UNIT: _unit("EWS: Warmstart der Läufe dieses Workers (flows.warm_start)",
                             home, user, f"{venv / 'python'} -m flows.warm_start --dienst",
                             "ews-vorstart", environment + socket, restart="always",
                             service_extra=f"RuntimeDirectory={VORSTART_SOCKET.parent.name}\n"
                                           "RuntimeDirectoryMode=0700\n"
                                           "RuntimeDirectoryPreserve=yes\n"
                                           "KillMode=process\n"),
        # the office's web interface, its own process beside the Prefect server
        WEB_UNIT: _unit("EWS: Weboberfläche des Büros (ews betrieb web)", home, user,
                        f"{venv / 'ews'} betrieb web", "ews-web", environment),
    }


def _unit(description: str, home: Path, user: str, exec_start: str, identifier: str,
          environment: str, *, after: str = "", restart: str = "on-failure",
          service_extra: str = "") -> str:
    return _COMMON.format(description=description, home=home, user=user,
                          exec_start=exec_start, identifier=identifier, environment=environment,
                          after=after, restart=restart, service_extra=service_extra)


def logrotate_rule(data_dir: Path, user: str) -> str:
    return _LOGROTATE.format(data_dir=data_dir, user=user)


def secure_env_files(home: Path, user: str, *, cluster: bool) -> list[str]:
    """Make ``config/ews.env`` (and ``config/prefect.env`` for the cluster) mode 0600, owned
    by the service user when we are root; German notes on what was found and changed."""
    notes = []
    for relative in (Path("config/ews.env"), *([PREFECT_ENV] if cluster else [])):
        path = home / relative
        if not path.exists():
            notes.append(f"{path} fehlt noch: vor dem Start anlegen (Rechte 0600).")
            continue
        if path.is_symlink() or not path.is_file():
            raise InstallRefused(f"{path} ist keine gewöhnliche Datei; bitte durch eine "
                                 "Datei mit Rechten 0600 ersetzen.")
        mode = path.stat().st_mode & 0o777
        if mode != SECRET_MODE:
            path.chmod(SECRET_MODE)
            notes.append(f"{path}: Rechte von {mode:04o} auf 0600 gesetzt (enthält Passwörter).")
        if os.geteuid() == 0 and _user_exists(user):
            entry = pwd.getpwnam(user)
            os.chown(path, entry.pw_uid, entry.pw_gid)
    return notes


def install(home: Path, user: str, *, cluster: bool, data_dir: Path,
            target: Path | None = None) -> Installation:
    """Write the units and the logrotate rule: into ``target`` (units there, the rule in
    ``target/logrotate.d/ews``), or into the system's folders, then, as root with a running
    systemd, create the user and enable the units."""
    if not home.is_absolute():
        raise InstallRefused(f"Der Installationsordner muss absolut angegeben sein: {home}")
    enable = target is None and systemd_running() and os.geteuid() == 0
    result = Installation()
    if enable:  # first, so that the env files below are given to the new user
        _create_user(user, home, result)
    result.notes += secure_env_files(home, user, cluster=cluster)
    unit_dir = target or SYSTEMD_DIR
    rule = (target / "logrotate.d" / "ews") if target else LOGROTATE_FILE
    for name, text in units(home, user, cluster=cluster).items():
        result.written.append(write_atomic(unit_dir / name, text.encode("utf-8")))
    result.written.append(write_atomic(rule, logrotate_rule(data_dir.resolve(), user)
                                       .encode("utf-8")))
    if enable:
        subprocess.run(["systemctl", "daemon-reload"], check=True, timeout=60)
        for name in units(home, user, cluster=cluster):
            subprocess.run(["systemctl", "enable", name], check=True, timeout=60)
            result.enabled.append(name)
    else:
        result.notes.append("Nicht aktiviert (kein laufendes systemd, kein root oder --ziel): "
                            "Units nach /etc/systemd/system kopieren, dann `systemctl "
                            "daemon-reload` und `systemctl enable --now` mit ihren Namen.")
    return result


def systemd_running() -> bool:
    return Path("/run/systemd/system").is_dir() and shutil.which("systemctl") is not None


def _user_exists(user: str) -> bool:
    try:
        pwd.getpwnam(user)
    except KeyError:
        return False
    return True


def _create_user(user: str, home: Path, result: Installation) -> None:
    if _user_exists(user):
        return
    subprocess.run(["useradd", "--system", "--home-dir", str(home), "--no-create-home",
                    "--shell", "/usr/sbin/nologin", user], check=True, timeout=60)
    result.notes.append(f"Systembenutzer „{user}“ angelegt; ihm müssen {home}/data und der "
                        "Posteingang gehören (chown -R).")
