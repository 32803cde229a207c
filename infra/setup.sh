#!/usr/bin/env bash
# Prepares a Debian or Ubuntu machine for labkit: the system tools the labs run, kernel
# headers for bcc where the running kernel has none, and a Python environment at .venv.
# Safe to run again: it only installs what is missing, so a second run takes seconds.
set -euo pipefail

say() { printf 'labkit setup: %s\n' "$*"; }
die() { printf 'labkit setup: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (it installs Debian packages and kernel headers): run 'sudo make setup'"
command -v apt-get >/dev/null || die "needs a Debian or Ubuntu machine with apt-get; on other systems install the tools in infra/setup.sh by hand, or use environment.yml with conda"

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

# --- Debian packages -----------------------------------------------------------------
packages=(
  bpftool python3-bpfcc bpfcc-tools python3-venv python3-pip
  iproute2 iptables conntrack tcpdump ngrep strace curl iputils-ping ethtool
  util-linux procps psmisc kmod make
  chromium  # Debian's: the browser test (tests/browser) drives it with playwright
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
apt_updated=
apt_install() {
  if [ -z "$apt_updated" ]; then apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
if [ ${#missing[@]} -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  apt_install "${missing[@]}"
fi

# --- kernel headers for bcc ----------------------------------------------------------
# bcc compiles its C against /lib/modules/$(uname -r)/build. Use the running kernel's own
# headers when the distribution has them; otherwise point build/source at Debian's newest
# linux-headers (labkit's eBPF C uses only UAPI types and tracepoints, so the version of
# those headers does not matter).
kernel=$(uname -r)
moddir=/lib/modules/$kernel
if [ ! -e "$moddir/build/include" ]; then
  if apt-cache show "linux-headers-$kernel" >/dev/null 2>&1; then
    say "installing linux-headers-$kernel for the running kernel"
    apt_install "linux-headers-$kernel"
  else
    arch=$(dpkg --print-architecture)
    [ -n "$apt_updated" ] || { apt-get update -qq; apt_updated=1; }
    newest=$(apt-cache search --names-only "^linux-headers-[0-9.]+-[0-9]+-$arch\$" \
             | awk '{print $1}' | sort -V | tail -n 1)
    [ -n "$newest" ] || die "no kernel headers package for $kernel or for $arch; install headers by hand so that $moddir/build exists"
    version=${newest#linux-headers-}
    common="/usr/src/linux-headers-${version%-"$arch"}-common"
    say "the running kernel $kernel has no headers package; using $newest for bcc (build -> /usr/src/linux-headers-$version, source -> $common)"
    dpkg-query -W -f='${Status}' "$newest" 2>/dev/null | grep -q 'install ok installed' || apt_install "$newest"
    mkdir -p "$moddir"
    ln -sfn "/usr/src/linux-headers-$version" "$moddir/build"
    ln -sfn "$common" "$moddir/source"
  fi
fi

# --- Python environment --------------------------------------------------------------
# Made from Debian's own python3 so that the system's bcc module is importable in it.
stamp=.venv/.labkit-setup
want=$(cat pyproject.toml | sha256sum | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  say "building the Python environment in .venv (first run: a few minutes)"
  [ -x .venv/bin/python ] || /usr/bin/python3 -m venv --system-site-packages .venv
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e '.[test]'
  echo "$want" > "$stamp"
fi
.venv/bin/python -c 'import bcc' 2>/dev/null \
  || die "bcc does not import in .venv: is python3-bpfcc installed for /usr/bin/python3? (apt-get install python3-bpfcc)"
say "ready (.venv, $(.venv/bin/python --version), bcc importable, kernel $kernel)"
