#!/usr/bin/env bash
# Sets up everything the service needs on a fresh Debian machine: the Debian packages
# (LibreOffice for PDF/A, tesseract for scanned forms with the script packs of NRW's names,
# poppler, Dovecot for the mail tests, PostgreSQL for the multi-worker tests: they start their
# own cluster in a temporary folder; the PDF programs of the form corpus;
# faketime for the guard that runs the tests with the clock a year ahead; systemd for
# `systemd-analyze verify` of the units `ews betrieb installieren` writes),
# uv, and the locked Python environment in .venv. Safe to run again; skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

# python3-uno: the warm LibreOffice (ews.letters.warm) runs under Debian's python3
DEBIAN_PACKAGES=(libreoffice-writer-nogui libreoffice-calc-nogui python3-uno fonts-liberation2 poppler-utils
                 tesseract-ocr tesseract-ocr-deu tesseract-ocr-tur tesseract-ocr-pol
                 tesseract-ocr-ces ghostscript
                 dovecot-imapd dovecot-lmtpd openssl postgresql faketime systemd
                 chromium-driver  # the web interface's browser tests (with chromium)
                 # the PDF programs of the form corpus (tests/support/programs.py)
                 pdftk-java qpdf mupdf-tools libreoffice-draw-nogui chromium)

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
"$UV" sync --frozen --python python3.11 --quiet --compile-bytecode
[[ -f config/ews.env ]] || cp config/ews.env.example config/ews.env
# Secrets in config/ews.env, generated once and never overwritten or printed: the key of the
# declaration's QR checksum, and the Prefect API's login (README: the UI of `ews serve`)
ensure_secret() {  # NAME VALUE_PREFIX COMMENT
  grep -qE "^$1=.{16,}" config/ews.env && return 0
  local value
  value="$2$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(32))')"
  sed -i "/^$1=/d" config/ews.env
  printf '\n# %s (erzeugt von scripts/setup.sh)\n%s=%s\n' "$3" "$1" "$value" >> config/ews.env
  echo "$3 erzeugt: $1 in config/ews.env"
}
ensure_secret EWS_NETWORK__QR_KEY "" "Schlüssel der Prüfsumme im QR-Code der Gemeinsamen Erklärung"
ensure_secret EWS_PREFECT__AUTH_STRING "admin:" "Anmeldung an Prefect"
ensure_secret EWS_WEB__SECRET "" "Schlüssel der Sitzungs-Cookies der Weboberfläche"
chmod 600 config/ews.env  # passwords: for the service's user only
mkdir -p inbox outbox data
echo "Einrichtung abgeschlossen: .venv/bin/ews ist bereit."
