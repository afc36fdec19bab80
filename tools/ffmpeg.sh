#!/bin/sh
# Builds ffmpeg and ffprobe with libnuwa's filters (nuwa, nuwasrc) into build/bin/. `make ffmpeg`.
#
# Usage: tools/ffmpeg.sh [build]       fetch, patch, configure, build, check (incremental)
#        tools/ffmpeg.sh fetch [LINE]   only get + verify the pinned tarball, print its path
#
# Environment (also accepted as make variables: make ffmpeg FFMPEG_MINIMAL=1):
#   FFMPEG_VERSION=8.1|7.1|9.0   release line, rows of patches/FFMPEG_VERSIONS [8.1]
#   FFMPEG_SOURCE=DIR|TARBALL    use this FFmpeg tree or release tarball instead of downloading;
#                                its RELEASE file picks the line and the patch series
#   FFMPEG_MINIMAL=1             small, fast test build (docs/FFMPEG.md §10 + a few filters)
#   FFMPEG_CONFIGURE_FLAGS=...   extra FFmpeg configure options (e.g. --enable-ffnvcodec --enable-cuda)
#   FFMPEG_DEBIAN_MIRROR=URL     Debian mirror for the source download [the system's, else deb.debian.org]
#   NUWA_FILTER_SOURCE=FILE      filter source copied to libavfilter/vf_nuwa.c [./vf_nuwa.c]
#   JOBS=N                       parallel compile jobs [nproc]
#   FFMPEG_BIN_DIR=DIR           where ffmpeg/ffprobe are copied [build/bin]; make test uses
#                                build/bin-minimal so a default build in build/bin is kept
#
# Layout: build/ffmpeg/dl (tarball cache), build/ffmpeg/apt (private apt lists),
# build/ffmpeg/src-<ver> (patched tree), build/ffmpeg/prefix (libnuwa, static),
# build/ffmpeg/build-<ver>[-minimal] (out-of-tree build), build/bin/{ffmpeg,ffprobe}.
#
# libnuwa is linked statically (libnuwa.a + the Libs.private of nuwa.pc through
# --pkg-config-flags=--static), so build/bin/ffmpeg does not depend on build/ffmpeg/prefix; it
# needs only the system's OpenBLAS, libgomp, PCRE2 and utf8proc (and CUDA libraries for a CUDA
# build of libnuwa), found through the rpaths that libnuwa's configure put in LIBS.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
FF=$ROOT/build/ffmpeg
VERSIONS=$ROOT/patches/FFMPEG_VERSIONS
KEY_FPR=FCF986EA15E6E293A5644F10B4322F04D67658D8

say() { echo "ffmpeg.sh: $*" >&2; }
die() { echo "ffmpeg.sh: error: $*" >&2; exit 1; }
sha256() { sha256sum "$1" | cut -d' ' -f1; }
now() { date +%s; }

# row LINE -> sets ver series debver suite sha
row() {
    r=$(awk -v l="$1" '!/^#/ && NF >= 6 && $1 == l' "$VERSIONS")
    [ -n "$r" ] || die "FFmpeg line '$1' is not in patches/FFMPEG_VERSIONS (lines: $(awk '!/^#/ && NF >= 6 { printf "%s ", $1 }' "$VERSIONS"))"
    set -- $r
    ver=$2 series=$3 debver=$4 suite=$5 sha=$6
}

default_line() { awk '!/^#/ && NF >= 6 { print $1; exit }' "$VERSIONS"; }

# ---- fetching ---------------------------------------------------------------------------------

mirror() {
    if [ -n "${FFMPEG_DEBIAN_MIRROR:-}" ]; then echo "$FFMPEG_DEBIAN_MIRROR"; return; fi
    m=
    [ -r /etc/apt/sources.list.d/debian.sources ] &&
        m=$(sed -n 's/^URIs: *\([^ ]*\).*/\1/p' /etc/apt/sources.list.d/debian.sources | grep -v security | head -n 1)
    [ -z "$m" ] && [ -r /etc/apt/sources.list ] &&
        m=$(awk '$1 == "deb" && $2 !~ /security/ { print $2; exit }' /etc/apt/sources.list)
    case "$m" in http://*|https://*) echo "$m" ;; *) echo http://deb.debian.org/debian ;; esac
}

# Private apt configuration (docs/FFMPEG.md §1.1): works as any user, leaves the system's alone.
apt_setup() {
    A=$FF/apt
    mkdir -p "$A/lists/partial" "$A/cache/archives/partial"
    M=$(mirror)
    printf 'deb-src %s sid main\ndeb-src %s trixie main\n' "$M" "$M" > "$A/sources.list"
    APT_OPTS="-o Dir::Etc::SourceList=$A/sources.list -o Dir::Etc::SourceParts=/dev/null"
    APT_OPTS="$APT_OPTS -o Dir::State::Lists=$A/lists -o Dir::Cache=$A/cache"
    # refresh the index at most once an hour
    if [ -z "$(find "$A/lists" -maxdepth 1 -name '*_Sources*' -mmin -60 2>/dev/null | head -n 1)" ]; then
        say "updating the private apt source index (sid, trixie) from $M"
        apt-get $APT_OPTS -q update >"$A/update.log" 2>&1 ||
            say "apt-get update failed (see $A/update.log); trying what is there"
    fi
}

# apt_download DEBVER: downloads the source package into $FF/dl; the exit code of apt is ignored
# (it fails when e.g. the .debian.tar.xz is 404 while the .orig tarball arrived).
apt_download() {
    (cd "$FF/dl" && apt-get $APT_OPTS -q source --download-only "ffmpeg=$1" >"$FF/dl/apt-$1.log" 2>&1) || true
}

# gpg_verify FILE: upstream signature FILE.asc against the FFmpeg release key we ship.
gpg_verify() {
    [ -f "$1.asc" ] || { say "no signature $1.asc"; return 1; }
    command -v gpgv >/dev/null 2>&1 && command -v gpg >/dev/null 2>&1 || { say "gpg/gpgv missing"; return 1; }
    kr=$FF/ffmpeg-release-key.gpg
    gpg --dearmor < "$ROOT/patches/ffmpeg-release-key.asc" > "$kr" 2>/dev/null || return 1
    gpgv --status-fd 1 --keyring "$kr" "$1.asc" "$1" 2>/dev/null | grep -q "VALIDSIG $KEY_FPR "
}

# fetch LINE: prints the path of the verified release tarball of LINE.
fetch() {
    row "$1"
    mkdir -p "$FF/dl"
    t=$FF/dl/ffmpeg_$ver.orig.tar.xz
    if [ -f "$t" ] && [ "$(sha256 "$t")" = "$sha" ]; then echo "$t"; return; fi
    rm -f "$t"
    if command -v apt-get >/dev/null 2>&1; then
        apt_setup
        say "downloading ffmpeg $debver ($suite) from the Debian mirror"
        apt_download "$debver"
    fi
    if [ ! -f "$t" ]; then
        u=https://ffmpeg.org/releases/ffmpeg-$ver.tar.xz
        say "not on the Debian mirror; trying $u"
        if command -v curl >/dev/null 2>&1; then curl -fsSL -o "$t.part" "$u" && mv "$t.part" "$t" || rm -f "$t.part"
        elif command -v wget >/dev/null 2>&1; then wget -q -O "$t.part" "$u" && mv "$t.part" "$t" || rm -f "$t.part"
        fi
    fi
    if [ -f "$t" ]; then
        got=$(sha256 "$t")
        if [ "$got" = "$sha" ]; then say "ffmpeg $ver: SHA-256 $got (pinned) OK"; echo "$t"; return; fi
        rm -f "$t"
        say "ffmpeg $ver: SHA-256 mismatch: got $got, pinned $sha; removed"
    fi
    # The pinned release has left the mirror: take the newest release of the same line that the
    # (signed) index offers, and check upstream's signature with the release key.
    command -v apt-get >/dev/null 2>&1 || die "cannot get ffmpeg $ver: no apt-get; set FFMPEG_SOURCE=DIR|TARBALL"
    nv=$(apt-cache $APT_OPTS showsrc ffmpeg 2>/dev/null | sed -n 's/^Version: //p' |
        grep -E "^([0-9]+:)?$(echo "$1" | sed 's/\./\\./g')\.[0-9]+-" | sort -V | tail -n 1)
    [ -n "$nv" ] || die "ffmpeg $ver is not on the mirror and the index has no other $1.x release; set FFMPEG_SOURCE=DIR|TARBALL"
    uv=${nv#*:}; uv=${uv%-*}
    say "ffmpeg $ver is gone from the mirror; falling back to $nv (newest $1.x in the index)"
    apt_download "$nv"
    t=$FF/dl/ffmpeg_$uv.orig.tar.xz
    [ -f "$t" ] || die "download of ffmpeg $nv failed (see $FF/dl/apt-$nv.log)"
    got=$(sha256 "$t")
    if gpg_verify "$t"; then
        say "ffmpeg $uv: good upstream signature (key $KEY_FPR); SHA-256 $got"
    else
        say "WARNING: ffmpeg $uv: upstream signature NOT checked (only apt's index hash); SHA-256 $got"
    fi
    say "NOTE: not the pinned $ver; pin $uv in patches/FFMPEG_VERSIONS with SHA-256 $got"
    echo "$t"
}

# ---- building ---------------------------------------------------------------------------------

# src_version PATH: the release number of an FFmpeg tree or tarball (its RELEASE file).
src_version() {
    if [ -d "$1" ]; then cat "$1/RELEASE"
    else tar xJf "$1" --wildcards --no-anchored -O 'RELEASE' 2>/dev/null | head -n 1
    fi
}

line_of() { echo "$1" | sed -n 's/^\([0-9]*\.[0-9]*\).*/\1/p'; }

# apply_series TREE DIR: dry-run then apply every patch of DIR in TREE.
apply_series() {
    for p in "$2"/*.patch; do
        n=$(basename "$p")
        if out=$(cd "$1" && patch -p1 -N --dry-run < "$p" 2>&1); then
            (cd "$1" && patch -p1 -N -s < "$p") || die "applying $n failed after a clean dry run"
            if echo "$out" | grep -q -E 'offset|fuzz'; then
                say "$n applied with: $(echo "$out" | grep -E 'offset|fuzz' | tr '\n' ' ')"
            fi
        elif (cd "$1" && patch -p1 -R --dry-run -s -f < "$p") >/dev/null 2>&1; then
            say "$n is already applied in this tree; skipped"
        else
            echo "$out" >&2
            die "patch $n does not apply to FFmpeg $ver ($1). Use FFMPEG_VERSION=<line> with a matching series (patches/FFMPEG_VERSIONS), or update the series (make patches)"
        fi
    done
}

# sync_tree NEW OLD: makes OLD equal to NEW, touching only the files that differ (so that make
# rebuilds only what a changed patch touches); keeps OLD's libavfilter/vf_nuwa.c.
sync_tree() {
    LC_ALL=C diff -rq "$1" "$2" | while IFS= read -r l; do
        case "$l" in
        "Files $1/"*" and $2/"*" differ")
            f=${l#"Files $1/"}; f=${f%%" and $2/"*}; cp "$1/$f" "$2/$f" ;;
        "Only in $1"*": "*)
            d=${l#"Only in $1"}; n=${d#*": "}; d=${d%%": "*}; d=${d#/}
            cp -R "$1/${d:+$d/}$n" "$2/${d:+$d/}" ;;
        "Only in $2"*": "*)
            d=${l#"Only in $2"}; n=${d#*": "}; d=${d%%": "*}; d=${d#/}
            case "${d:+$d/}$n" in libavfilter/vf_nuwa.c|.nuwa-src-stamp) ;; *) rm -rf "$2/${d:+$d/}$n" ;; esac ;;
        *) say "sync: cannot handle: $l"; return 1 ;;
        esac
    done
}

copy_if_changed() { cmp -s "$1" "$2" 2>/dev/null || cp "$1" "$2"; }

build() {
    t0=$(now)
    # Tools. tools/deps.sh --ffmpeg installs nasm, zlib1g-dev, xz-utils when run as root.
    sh "$ROOT/tools/deps.sh" --ffmpeg || say "continuing; nasm is optional (--disable-x86asm without it)"
    for c in cc make pkg-config xz tar patch; do
        command -v $c >/dev/null 2>&1 || die "'$c' is missing (tools/deps.sh --ffmpeg lists the packages)"
    done
    pkg-config --exists zlib || die "zlib development files are missing (Debian: zlib1g-dev)"

    # (a) the source: FFMPEG_SOURCE or the pinned tarball
    src=${FFMPEG_SOURCE:-}
    if [ -n "$src" ]; then
        [ -e "$src" ] || die "FFMPEG_SOURCE=$src does not exist"
        src=$(cd "$(dirname "$src")" && echo "$(pwd)/$(basename "$src")")
        v=$(src_version "$src")
        [ -n "$v" ] || die "FFMPEG_SOURCE=$src: no RELEASE file, not an FFmpeg release tree or tarball"
        line=$(line_of "$v")
        row "$line"
        if [ "$v" != "$ver" ]; then
            say "FFMPEG_SOURCE is FFmpeg $v, not the pinned $ver; using series $series anyway"
            ver=$v
        fi
        if [ -f "$src" ]; then
            s=$(sha256 "$src")
            if [ "$s" = "$sha" ]; then say "FFMPEG_SOURCE: SHA-256 matches the pinned $ver"
            else say "FFMPEG_SOURCE: SHA-256 $s is not the pinned one of $ver (unverified source)"; fi
            srcid="tarball $s"
        else
            say "FFMPEG_SOURCE: directory $src (FFmpeg $v)"
            srcid="dir $(cd "$src" && tar cf - --exclude=.git --sort=name . | sha256sum | cut -d' ' -f1)"
        fi
    else
        line=${FFMPEG_VERSION:-$(default_line)}
        src=$(fetch "$line")
        row "$line"
        ver=$(src_version "$src")
        srcid="tarball $(sha256 "$src")"
    fi
    pdir=$ROOT/patches/ffmpeg-$series
    ls "$pdir"/*.patch >/dev/null 2>&1 || die "no patch series in patches/ffmpeg-$series"
    patchid=$(cat "$pdir"/*.patch | sha256sum | cut -d' ' -f1)

    # (b) unpack + patch (again only when the source or the series changed)
    S=$FF/src-$ver
    stamp="$srcid series=$series $patchid"
    if [ "$(cat "$S/.nuwa-src-stamp" 2>/dev/null)" != "$stamp" ]; then
        say "preparing $S (FFmpeg $ver, series patches/ffmpeg-$series)"
        rm -rf "$S.tmp"
        mkdir -p "$S.tmp"
        if [ -d "$src" ]; then
            (cd "$src" && tar cf - --exclude=.git .) | (cd "$S.tmp" && tar xf -)
        else
            tar xJf "$src" -C "$S.tmp" --strip-components=1
        fi
        apply_series "$S.tmp" "$pdir"
        if [ -d "$S" ]; then sync_tree "$S.tmp" "$S"; rm -rf "$S.tmp"; else mv "$S.tmp" "$S"; fi
        echo "$stamp" > "$S/.nuwa-src-stamp"
    fi
    fsrc=${NUWA_FILTER_SOURCE:-$ROOT/vf_nuwa.c}
    [ -f "$fsrc" ] || die "filter source $fsrc is missing"
    copy_if_changed "$fsrc" "$S/libavfilter/vf_nuwa.c"

    # (c) libnuwa, installed through make install into a staging dir; only changed files are
    # copied to the prefix (so that an unchanged nuwa.h does not rebuild vf_nuwa.o). The prefix
    # has no libnuwa.so: the linker takes libnuwa.a.
    P=$FF/prefix
    say "installing libnuwa into $P"
    rm -rf "$FF/stage"
    (unset MAKEFLAGS MFLAGS; ${MAKE:-make} -C "$ROOT" --no-print-directory -s install DESTDIR="$FF/stage" PREFIX="$P") ||
        die "make install of libnuwa failed"
    mkdir -p "$P/lib/pkgconfig" "$P/include"
    libchanged=
    cmp -s "$FF/stage$P/lib/libnuwa.a" "$P/lib/libnuwa.a" || { cp "$FF/stage$P/lib/libnuwa.a" "$P/lib/"; libchanged=1; }
    copy_if_changed "$FF/stage$P/include/nuwa.h" "$P/include/nuwa.h"
    copy_if_changed "$FF/stage$P/lib/pkgconfig/nuwa.pc" "$P/lib/pkgconfig/nuwa.pc"
    rm -rf "$FF/stage"
    PKG_CONFIG_PATH=$P/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
    export PKG_CONFIG_PATH

    # (d) configure, out of tree (again only when an option, the series or nuwa.pc changed)
    flags="--enable-libnuwa --pkg-config-flags=--static --disable-doc --disable-autodetect --enable-zlib"
    if [ "${FFMPEG_MINIMAL:-0}" = 1 ]; then
        B=$FF/build-$ver-minimal
        flags="--disable-everything --disable-programs --enable-ffmpeg --enable-ffprobe $flags
            --enable-filter=nuwa,nuwasrc,hstack,vstack,pad,drawbox,tile,setpts,fps,select,showinfo,metadata,sendcmd,trim,copy,split,scale,format,null,testsrc,testsrc2,color
            --enable-indev=lavfi
            --enable-muxer=framemd5,md5,null,image2,rawvideo,matroska,mp4
            --enable-encoder=rawvideo,png,ffv1,wrapped_avframe
            --enable-decoder=rawvideo,png,ffv1,wrapped_avframe
            --enable-demuxer=image2,matroska,mov,rawvideo
            --enable-parser=png
            --enable-protocol=file,pipe"
    else
        B=$FF/build-$ver
    fi
    command -v nasm >/dev/null 2>&1 || { flags="$flags --disable-x86asm"; say "no nasm: --disable-x86asm (slower swscale)"; }
    flags=$(echo $flags ${FFMPEG_CONFIGURE_FLAGS:-})
    # (the patched files configure reads, not the whole series: a doc-only change reconfigures nothing)
    cstamp="$flags | $srcid | $(cat "$S/configure" "$S/libavfilter/allfilters.c" | sha256sum | cut -d' ' -f1)"
    cstamp="$cstamp | $(cat "$P/lib/pkgconfig/nuwa.pc")"
    mkdir -p "$B"
    if [ ! -f "$B/ffbuild/config.mak" ] || [ "$(cat "$B/.nuwa-configure-stamp" 2>/dev/null)" != "$cstamp" ]; then
        say "configure $flags"
        rm -f "$B/.nuwa-configure-stamp"
        tc=$(now)
        # shellcheck disable=SC2086
        (cd "$B" && "$S/configure" $flags > configure.out 2>&1) || {
            tail -n 20 "$B/configure.out" >&2; tail -n 30 "$B/ffbuild/config.log" >&2 2>/dev/null || true
            die "FFmpeg configure failed (full log: $B/ffbuild/config.log)"; }
        grep -i warning "$B/configure.out" >&2 || true
        for f in NUWA NUWASRC; do
            grep -q "^#define CONFIG_${f}_FILTER 1" "$B/config_components.h" ||
                die "configure disabled the $(echo $f | tr A-Z a-z) filter (see the WARNING above and $B/ffbuild/config.log)"
        done
        echo "$cstamp" > "$B/.nuwa-configure-stamp"
        say "configure took $(( $(now) - tc )) s"
    fi

    # (e) build; a changed libnuwa.a forces the relink (FFmpeg's make does not track it)
    [ -n "$libchanged" ] && rm -f "$B/ffmpeg_g" "$B/ffprobe_g" "$B/ffmpeg" "$B/ffprobe"
    tb=$(now)
    (unset MAKEFLAGS MFLAGS MAKELEVEL; make -C "$B" -j"${JOBS:-$(nproc 2>/dev/null || echo 2)}" ffmpeg ffprobe) > "$B/make.out" 2>&1 || {
        grep -E -B2 -A6 'error|Error' "$B/make.out" | tail -n 40 >&2; die "FFmpeg build failed (log: $B/make.out)"; }
    grep -E 'warning:.*vf_nuwa|vf_nuwa\.c:[0-9]+:[0-9]+: warning' "$B/make.out" >&2 || true
    BIN=${FFMPEG_BIN_DIR:-$ROOT/build/bin}
    mkdir -p "$BIN"
    copy_if_changed "$B/ffmpeg" "$BIN/ffmpeg"
    copy_if_changed "$B/ffprobe" "$BIN/ffprobe"

    # (f) the filters must be in the binary
    for f in nuwa nuwasrc; do
        "$BIN/ffmpeg" -hide_banner -h filter=$f 2>&1 | grep -q "^Filter $f\$" ||
            die "$BIN/ffmpeg has no '$f' filter"
    done
    t1=$(now)
    say "FFmpeg $ver ($( [ "${FFMPEG_MINIMAL:-0}" = 1 ] && echo minimal || echo default) build) with nuwa + nuwasrc: $BIN/ffmpeg $(wc -c < "$BIN/ffmpeg") bytes (stripped), $BIN/ffprobe $(wc -c < "$BIN/ffprobe") bytes"
    say "time: make $(( t1 - tb )) s, total $(( t1 - t0 )) s (build dir $B)"
}

case "${1:-build}" in
build) build ;;
fetch) fetch "${2:-${FFMPEG_VERSION:-$(default_line)}}" ;;
*) die "usage: tools/ffmpeg.sh [build | fetch [LINE]]" ;;
esac
