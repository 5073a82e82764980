"""The warm converter's far side, run with Debian's ``/usr/bin/python3`` (it needs
``python3-uno``, which the service's venv cannot import): starts one soffice listener on
127.0.0.1 and converts on request (I/O: a process, files, a loopback socket, stdin/stdout).

Run by ``ews.letters.warm`` as ``python3 -I uno_bridge.py SOFFICE PROFILE_URI PORT`` under
``ews.runtime.child_launcher`` (own process group, limits, death with the service). Protocol,
one JSON line each way: ``{"sources": [...], "out_dir": "..."}`` in, ``{"errors": {source:
reason}}`` out. It first answers ``{"ready": true}`` once soffice accepts connections. End of
stdin ends soffice and the bridge. Never imported by the service.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import uno  # Debian's python3-uno
from com.sun.star.beans import PropertyValue

#: bounded: a fresh profile takes LibreOffice a few seconds on a loaded machine
CONNECT_SECONDS = 60.0


def _property(name: str, value: object) -> PropertyValue:
    prop = PropertyValue()
    prop.Name, prop.Value = name, value
    return prop


def _start_soffice(soffice: str, profile_uri: str, port: int) -> subprocess.Popen[bytes]:
    accept = f"--accept=socket,host=127.0.0.1,port={port};urp;StarOffice.ComponentContext"
    command = [soffice, f"-env:UserInstallation={profile_uri}", "--headless", "--invisible",
               "--norestore", "--nologo", "--nodefault", "--nolockcheck", accept]
    return subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def _connect(port: int, soffice: subprocess.Popen[bytes]) -> object:
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext(
        "com.sun.star.bridge.UnoUrlResolver", local)
    url = f"uno:socket,host=127.0.0.1,port={port};urp;StarOffice.ComponentContext"
    deadline = time.monotonic() + CONNECT_SECONDS
    while True:
        try:
            context = resolver.resolve(url)
            return context.ServiceManager.createInstanceWithContext(
                "com.sun.star.frame.Desktop", context)
        except Exception:  # noqa: BLE001 - NoConnectException until soffice listens
            if soffice.poll() is not None or time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _convert(desktop: object, source: str, out_dir: str) -> str | None:
    stem = os.path.splitext(os.path.basename(source))[0]
    target = uno.systemPathToFileUrl(os.path.join(out_dir, f"{stem}.pdf"))
    filter_data = uno.Any("[]com.sun.star.beans.PropertyValue",
                          (_property("SelectPdfVersion", 2),))
    document = desktop.loadComponentFromURL(  # type: ignore[attr-defined]
        uno.systemPathToFileUrl(source), "_blank", 0,
        (_property("Hidden", True), _property("ReadOnly", True)))
    if document is None:
        return "LibreOffice konnte die Datei nicht laden"
    try:
        uno.invoke(document, "storeToURL", (target, (
            _property("FilterName", "writer_pdf_Export"), _property("FilterData", filter_data))))
    finally:
        document.close(True)
    return None


def main(argv: list[str]) -> None:
    soffice_path, profile_uri, port = argv[0], argv[1], int(argv[2])
    soffice = _start_soffice(soffice_path, profile_uri, port)
    desktop = _connect(port, soffice)
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        errors: dict[str, str] = {}
        for source in request["sources"]:
            try:
                problem = _convert(desktop, source, request["out_dir"])
            except Exception as exc:  # noqa: BLE001 - any UNO error fails this file only
                problem = f"LibreOffice meldet: {type(exc).__name__} {exc}".strip()
            if problem:
                errors[source] = problem
        print(json.dumps({"errors": errors}), flush=True)
    try:
        desktop.terminate()  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - soffice gone already; the launcher kills the rest
        pass
    soffice.wait(timeout=10)


if __name__ == "__main__":
    main(sys.argv[1:])
