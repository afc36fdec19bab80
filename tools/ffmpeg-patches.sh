#!/bin/sh
# Regenerates the FFmpeg patch series patches/ffmpeg-<series>/000N-*.patch (`make patches`).
#
# Usage: tools/ffmpeg-patches.sh [SERIES ...]     [default: every series in patches/FFMPEG_VERSIONS]
#
# For each series: takes the pinned release tarball of the line of that name (tools/ffmpeg.sh
# fetch: cached in build/ffmpeg/dl, SHA-256 checked), unpacks the four files we touch into a
# scratch git repository, applies the edits below with sed/awk as three commits and writes them
# with `git format-patch` (fixed author and date, --zero-commit, no signature: the output
# depends only on the FFmpeg release and on this script + patches/doc/*.texi). The edits find
# their places by content, so the same script serves 7.1, 8.1 and 9.0; the only per-release
# difference (allfilters.c declares `AVFilter` in 7.1, `FFFilter` from 8.0 on) is copied from
# the neighbouring `null` lines. vf_nuwa.c is not part of the series: tools/ffmpeg.sh copies our
# top-level vf_nuwa.c into libavfilter/.
# Finally every line of FFMPEG_VERSIONS gets a `patch --dry-run` of its series, and, for
# information, of the primary (first row's) series, when its tarball is cached or can be fetched.
#
# The edits:
#  0001 configure: help line; libnuwa in EXTERNAL_LIBRARY_LIST; nuwa/nuwasrc_filter_deps
#       "libnuwa swscale"; the pkg-config probe `nuwa >= 0.1.0` (nuwa.h, nuwa_version);
#       avfilter_deps += swscale for both filters (vf_nuwa.c calls libswscale in both).
#  0002 libavfilter/allfilters.c: ff_vf_nuwa, ff_vsrc_nuwasrc; libavfilter/Makefile: vf_nuwa.o
#  0003 doc/filters.texi: patches/doc/nuwa.texi before the section after `null` (video filters),
#       patches/doc/nuwasrc.texi before `openclsrc` (video sources).
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
VERSIONS=$ROOT/patches/FFMPEG_VERSIONS
AUTHOR_NAME="libnuwa developers"
AUTHOR_EMAIL="libnuwa@example.org"
DATE="2026-01-01T00:00:00+0000"

say() { echo "ffmpeg-patches.sh: $*" >&2; }
die() { echo "ffmpeg-patches.sh: error: $*" >&2; exit 1; }

# must FILE PATTERN WHAT: the edit must have produced PATTERN in FILE
must() { grep -q -- "$2" "$1" || die "edit failed: $3 (pattern '$2' not found in $1)"; }

edit_configure() {
    f=configure
    # help text: before the first --enable-lib* line sorting after libnuwa
    awk 'done != 1 && /^  --enable-lib[a-z0-9-]* / { n = $1; sub(/^--enable-/, "", n)
             if (n > "libnuwa") { printf "  %-24s %s\n", "--enable-libnuwa", "enable NUWA video generation/prediction filters via libnuwa [no]"; done = 1 } }
         { print }' $f > $f.new && cat $f.new > $f && rm $f.new
    # EXTERNAL_LIBRARY_LIST, alphabetical
    awk '/^EXTERNAL_LIBRARY_LIST="$/ { b = 1; print; next }
         b && /^"$/ { b = 0 }
         b && $1 > "libnuwa" { print "    libnuwa"; b = 0 }
         { print }' $f > $f.new && cat $f.new > $f && rm $f.new
    # filter dependencies
    awk '/^ocr_filter_deps=/ { print "nuwa_filter_deps=\"libnuwa swscale\""; print "nuwasrc_filter_deps=\"libnuwa swscale\"" }
         { print }' $f > $f.new && cat $f.new > $f && rm $f.new
    # the probe: alphabetically after libmysofa
    awk '/^enabled libmysofa / { m = 1 }
         m && /^enabled lib[a-z0-9_]* / && $2 > "libnuwa" {
             printf "%-26s&& require_pkg_config libnuwa \"nuwa >= 0.1.0\" nuwa.h nuwa_version\n", "enabled libnuwa"; m = 0 }
         { print }' $f > $f.new && cat $f.new > $f && rm $f.new
    # libavfilter links libswscale
    awk '/^enabled pan_filter / { printf "%-28s&& prepend avfilter_deps \"swscale\"\n", "enabled nuwa_filter"
                                   printf "%-28s&& prepend avfilter_deps \"swscale\"\n", "enabled nuwasrc_filter" }
         { print }' $f > $f.new && cat $f.new > $f && rm $f.new
    must $f '^  --enable-libnuwa ' "configure help"
    must $f '^    libnuwa$' "EXTERNAL_LIBRARY_LIST"
    must $f '^nuwa_filter_deps="libnuwa swscale"$' "nuwa_filter_deps"
    must $f '^nuwasrc_filter_deps="libnuwa swscale"$' "nuwasrc_filter_deps"
    must $f '^enabled libnuwa  *&& require_pkg_config libnuwa "nuwa >= 0.1.0" nuwa.h nuwa_version$' "probe"
    must $f '^enabled nuwa_filter  *&& prepend avfilter_deps "swscale"$' "avfilter_deps"
    must $f '^enabled nuwasrc_filter  *&& prepend avfilter_deps "swscale"$' "avfilter_deps"
}

edit_lavfi() {
    f=libavfilter/allfilters.c
    sed -e 's/^\(extern const [A-Za-z]*Filter ff_vf_\)null;$/&\n\1nuwa;/' \
        -e 's/^\(extern const [A-Za-z]*Filter ff_vsrc_\)nullsrc;$/&\n\1nuwasrc;/' $f > $f.new && cat $f.new > $f && rm $f.new
    must $f '^extern const [A-Za-z]*Filter ff_vf_nuwa;$' "allfilters.c ff_vf_nuwa"
    must $f '^extern const [A-Za-z]*Filter ff_vsrc_nuwasrc;$' "allfilters.c ff_vsrc_nuwasrc"
    f=libavfilter/Makefile
    awk '{ print }
         /^OBJS-\$\(CONFIG_NULL_FILTER\) / { printf "%-45s+= vf_nuwa.o\n", "OBJS-$(CONFIG_NUWA_FILTER)" }
         /^OBJS-\$\(CONFIG_NULLSRC_FILTER\) / { printf "%-45s+= vf_nuwa.o\n", "OBJS-$(CONFIG_NUWASRC_FILTER)" }' $f > $f.new && cat $f.new > $f && rm $f.new
    must $f '^OBJS-$(CONFIG_NUWA_FILTER)  *+= vf_nuwa.o$' "Makefile nuwa"
    must $f '^OBJS-$(CONFIG_NUWASRC_FILTER)  *+= vf_nuwa.o$' "Makefile nuwasrc"
}

edit_doc() {
    f=doc/filters.texi
    awk -v a="$ROOT/patches/doc/nuwa.texi" -v b="$ROOT/patches/doc/nuwasrc.texi" '
        function put(file,   l) { while ((getline l < file) > 0) print l; close(file) }
        /^@section / && afternull { put(a); afternull = 0; da = 1 }
        /^@section openclsrc$/ { put(b); db = 1 }
        /^@section null$/ { afternull = 1 }
        { print }
        END { if (!da || !db) exit 1 }' $f > $f.new || die "filters.texi: anchor sections (null, openclsrc) not found"
    cat $f.new > $f && rm $f.new
    must $f '^@section nuwa$' "filters.texi nuwa"
    must $f '^@section nuwasrc$' "filters.texi nuwasrc"
}

# gen SERIES: regenerates patches/ffmpeg-SERIES from the pinned tarball of line SERIES
gen() {
    t=$(sh "$ROOT/tools/ffmpeg.sh" fetch "$1") || die "cannot get the FFmpeg $1 tarball"
    W=$(mktemp -d "${TMPDIR:-/tmp}/ffmpeg-patches.XXXXXX")
    trap 'rm -rf "$W"' EXIT INT TERM
    tar xJf "$t" -C "$W" --strip-components=1 --wildcards --no-anchored \
        '*/configure' '*/libavfilter/allfilters.c' '*/libavfilter/Makefile' '*/doc/filters.texi' '*/RELEASE'
    v=$(cat "$W/RELEASE")
    (
        cd "$W"
        export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
        export GIT_AUTHOR_NAME="$AUTHOR_NAME" GIT_AUTHOR_EMAIL="$AUTHOR_EMAIL" GIT_AUTHOR_DATE="$DATE"
        export GIT_COMMITTER_NAME="$AUTHOR_NAME" GIT_COMMITTER_EMAIL="$AUTHOR_EMAIL" GIT_COMMITTER_DATE="$DATE"
        git init -q .
        git add configure libavfilter/allfilters.c libavfilter/Makefile doc/filters.texi
        git commit -q -m "FFmpeg $v (pristine)"
        edit_configure
        git commit -q -a -F - <<EOF
configure: add libnuwa

--enable-libnuwa finds libnuwa through pkg-config (module nuwa >= 0.1.0,
header nuwa.h) and enables the nuwa and nuwasrc filters, which also need
libswscale. A static libnuwa needs --pkg-config-flags=--static so that the
Libs.private of nuwa.pc (OpenBLAS, OpenMP, PCRE2, utf8proc) are linked.
EOF
        edit_lavfi
        git commit -q -a -F - <<EOF
lavfi: add nuwa and nuwasrc

Registers the NUWA filters of libnuwa: nuwa (extend, predict or
reconstruct video) and the nuwasrc text-to-video source, both in
libavfilter/vf_nuwa.c. That file is not part of this patch: it is
libnuwa's vf_nuwa.c, copied into libavfilter/ before building.
EOF
        edit_doc
        git commit -q -a -F - <<EOF
doc/filters: document nuwa

Adds the nuwa video filter and the nuwasrc video source.
EOF
        git format-patch -q --zero-commit --no-signature -o out HEAD~3 >/dev/null
    )
    out=$ROOT/patches/ffmpeg-$1
    mkdir -p "$out"
    rm -f "$out"/*.patch
    cp "$W"/out/*.patch "$out/"
    say "patches/ffmpeg-$1: $(cd "$out" && ls *.patch | tr '\n' ' ')(from FFmpeg $v)"
    rm -rf "$W"
    trap - EXIT INT TERM
}

# check LINE [SERIES]: dry-runs SERIES (default: the series of LINE) against LINE's pinned release
check() {
    r=$(awk -v l="$1" '!/^#/ && NF >= 6 && $1 == l' "$VERSIONS")
    set -- $r ${2:-}
    line=$1 series=${7:-$3}
    t=$(sh "$ROOT/tools/ffmpeg.sh" fetch "$line" 2>/dev/null) || { say "check $line: tarball unavailable, skipped"; return 0; }
    W=$(mktemp -d "${TMPDIR:-/tmp}/ffmpeg-patches.XXXXXX")
    tar xJf "$t" -C "$W" --strip-components=1 --wildcards --no-anchored \
        '*/configure' '*/libavfilter/allfilters.c' '*/libavfilter/Makefile' '*/doc/filters.texi' '*/RELEASE'
    res=ok
    for p in "$ROOT/patches/ffmpeg-$series"/*.patch; do
        o=$(cd "$W" && patch -p1 -N --dry-run < "$p" 2>&1) || res=FAILED
        o=$(echo "$o" | grep -E 'offset|fuzz|FAILED|rej' | sed 's/^/    /') || true
        if [ -n "$o" ]; then say "  $(basename "$p") on $(cat "$W/RELEASE"):"; echo "$o" >&2; fi
    done
    say "check: FFmpeg $(cat "$W/RELEASE") + patches/ffmpeg-$series: dry run $res"
    rm -rf "$W"
    [ $res = ok ]
}

series=$(awk '!/^#/ && NF >= 6 && $1 == $3 { print $1 }' "$VERSIONS")
[ $# -gt 0 ] && series=$*
for s in $series; do gen "$s"; done
rc=0
lines=$(awk '!/^#/ && NF >= 6 { print $1 }' "$VERSIONS")
for l in $lines; do check "$l" || rc=1; done
# for information: does the primary (first row's) series also apply to the newer lines?
primary=$(awk '!/^#/ && NF >= 6 { print $3; exit }' "$VERSIONS")
for l in $lines; do
    [ "$(printf '%s\n%s\n' "$l" "$primary" | sort -V | tail -n 1)" = "$l" ] || continue
    [ "$(awk -v l="$l" '!/^#/ && NF >= 6 && $1 == l { print $3 }' "$VERSIONS")" = "$primary" ] ||
        check "$l" "$primary" || say "(information only: line $l has its own series)"
done
exit $rc
