#!/usr/bin/env bash
# Set-up for a fresh machine, idempotent: installs the system parts AgentOS's experts and tests
# drive (Chromium, Mosquitto, espeak-ng, Tesseract OCR, openssl) when they are missing, then AgentOS itself.
#   scripts/setup.sh            # AgentOS + test tools (extra "dev")
#   scripts/setup.sh all        # every extra
# torch comes first, pinned: 2.13.0 is a CPU build on local disk here, while a bare `torch`
# requirement would pull a multi-GB CUDA build from PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-dev}"

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || missing+=(mosquitto)
command -v espeak-ng >/dev/null 2>&1 || missing+=(espeak-ng)
command -v tesseract >/dev/null 2>&1 || missing+=(tesseract-ocr tesseract-ocr-eng)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)  # the bus tests make a TLS broker's certificate
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing system packages: ${missing[*]}"
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! python3 -c "import torch" >/dev/null 2>&1; then
  echo "setup: installing torch 2.13.0 (CPU build)"
  python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore "torch==2.13.0"
fi
echo "setup: installing agentos[${extras}]"
python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore -e ".[${extras}]"
if ! python3 -c "import resemblyzer" >/dev/null 2>&1; then  # the voice experts' speaker encoder (weights in the wheel)
  echo "setup: installing resemblyzer (--no-deps: it pins a source-only webrtcvad; webrtcvad-wheels stands in)"
  python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore --no-deps "resemblyzer==0.1.4"
fi
if command -v pyenv >/dev/null 2>&1; then pyenv rehash; fi  # make the new `agentos` script visible
if ! command -v agentos >/dev/null 2>&1; then
  echo "setup: installed, but \`agentos\` is not on PATH; add $(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))') to PATH or use \`python3 -m agentos\`" >&2
fi
echo "setup: done ($(python3 -m agentos --version))"
