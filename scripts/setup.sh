#!/usr/bin/env bash
# Sets up everything the service needs on a fresh Debian machine: the Debian packages
# (LibreOffice for PDF/A, tesseract for scanned forms, poppler, Dovecot for the mail tests,
# PostgreSQL for the multi-worker tests: they start their own cluster in a temporary folder;
# faketime for the guard that runs the tests with the clock a year ahead),
# uv, and the locked Python environment in .venv. Safe to run again; skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(libreoffice-writer-nogui libreoffice-calc-nogui fonts-liberation2 poppler-utils
                 tesseract-ocr tesseract-ocr-deu ghostscript
                 dovecot-imapd dovecot-lmtpd openssl postgresql faketime)

missing=()
for package in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$package")
done
SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
# The tests start their own Dovecot (own config, free ports on 127.0.0.1). The package
# scripts must not start the Debian dovecot service: without systemd that start fails
# (e.g. no snakeoil certificate) and leaves dovecot-core half-configured. A temporary
# policy-rc.d denies service starts during the install, unless the machine has one.
POLICY_RC=/usr/sbin/policy-rc.d
deny_service_starts() {
  [[ -e $POLICY_RC ]] && return 0
  printf '#!/bin/sh\n# temporary, from scripts/setup.sh\nexit 101\n' | $SUDO tee $POLICY_RC >/dev/null
  $SUDO chmod 755 $POLICY_RC
  trap '$SUDO rm -f "$POLICY_RC"' EXIT
}
if ((${#missing[@]})); then
  echo "Installiere Debian-Pakete: ${missing[*]}"
  deny_service_starts
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends \
    "${missing[@]}"
fi
# Finish a half-configured dovecot-core (an earlier install whose service start failed).
if ! dpkg-query -W -f='${Status}' dovecot-core 2>/dev/null | grep -q "install ok installed"; then
  echo "dovecot-core ist nicht vollständig eingerichtet: dpkg --configure -a"
  deny_service_starts
  DEBIAN_FRONTEND=noninteractive $SUDO dpkg --configure -a
fi

if ! command -v uv >/dev/null 2>&1; then
  echo "Installiere uv"
  python3 -m pip install -q --disable-pip-version-check uv
fi
UV=$(command -v uv || echo "$(python3 -m site --user-base)/bin/uv")

# uv must not read the local file indexes of pip.conf (they hold older versions)
"$UV" sync --frozen --python python3.11 --quiet
[[ -f config/ews.env ]] || cp config/ews.env.example config/ews.env
# The Prefect API's login (README: the UI of `ews serve`), random, once: never overwritten
if ! grep -qE '^EWS_PREFECT__AUTH_STRING=.+' config/ews.env; then
  auth=$(.venv/bin/python -c 'import secrets; print("admin:" + secrets.token_urlsafe(24))')
  printf '\n# Anmeldung an Prefect (erzeugt von scripts/setup.sh)\nEWS_PREFECT__AUTH_STRING=%s\n' \
    "$auth" >> config/ews.env
  echo "Anmeldung für die Prefect-Oberfläche erzeugt: EWS_PREFECT__AUTH_STRING in config/ews.env"
fi
chmod 600 config/ews.env  # passwords: for the service's user only
mkdir -p inbox outbox data
echo "Einrichtung abgeschlossen: .venv/bin/ews ist bereit."
