#!/bin/sh
# Installs the Debian packages a command needs when they are missing: `node` (npm, to bundle the editor's
# JavaScript) or `chromium` (the browser tests). Usage: scripts/system-packages.sh node|chromium ...
set -e
need=""
for what in "$@"; do
  case "$what" in
    node) command -v npm >/dev/null 2>&1 || need="$need nodejs npm" ;;
    chromium) [ -x /usr/bin/chromium ] || need="$need chromium" ;;
    *) echo "unknown system package group: $what" >&2; exit 2 ;;
  esac
done
[ -z "$need" ] && exit 0
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "installing Debian packages:$need"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $need >/dev/null
