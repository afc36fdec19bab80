#!/bin/sh
# Installs the Debian packages libnuwa needs to build and test (apt-get when run as root),
# or prints the exact command to run and fails.
# Usage: tools/deps.sh [--ffmpeg] [extra-package ...]
#   --ffmpeg  also what building FFmpeg with the nuwa filters needs (make ffmpeg, tools/ffmpeg.sh):
#             nasm (x86 asm, optional there), zlib1g-dev (png), xz-utils (unpacking),
#             time (/usr/bin/time: the filter tests' memory check)
set -u
FFMPEG_PKGS="nasm zlib1g-dev xz-utils time"
if [ "${1:-}" = --ffmpeg ]; then
    shift
    set -- $FFMPEG_PKGS "$@"
fi
pkgs="build-essential pkg-config libopenblas-openmp-dev libcriterion-dev libpcre2-dev libutf8proc-dev $*"
missing=
for p in $pkgs; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)
    case "$status" in *"install ok installed"*) ;; *) missing="$missing $p" ;; esac
done
[ -z "$missing" ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
    echo "deps: missing packages:$missing (not a Debian system: install their equivalents by hand)" >&2
    exit 1
fi
if [ "$(id -u)" != 0 ]; then
    echo "deps: missing Debian packages. Run:" >&2
    echo "    sudo apt-get install -y$missing" >&2
    exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing >/dev/null || {
    echo "deps: apt-get install$missing failed" >&2; exit 1; }
