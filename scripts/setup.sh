#!/usr/bin/env bash
# Sets up everything the service needs on a fresh Debian machine: the Debian packages
# (LibreOffice for PDF/A, tesseract for scanned forms, poppler), uv, and the locked Python
# environment in .venv. Safe to run again; skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(libreoffice-writer-nogui fonts-liberation2 poppler-utils
                 tesseract-ocr tesseract-ocr-deu ghostscript)

missing=()
for package in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$package")
done
if ((${#missing[@]})); then
  echo "Installiere Debian-Pakete: ${missing[*]}"
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends \
    "${missing[@]}"
fi

if ! command -v uv >/dev/null 2>&1; then
  echo "Installiere uv"
  python3 -m pip install -q --disable-pip-version-check uv
fi
UV=$(command -v uv || echo "$(python3 -m site --user-base)/bin/uv")

# uv must not read the local file indexes of pip.conf (they hold older versions)
"$UV" sync --frozen --python python3.11 --quiet
[[ -f config/ews.env ]] || cp config/ews.env.example config/ews.env
mkdir -p inbox outbox data
echo "Einrichtung abgeschlossen: .venv/bin/ews ist bereit."
