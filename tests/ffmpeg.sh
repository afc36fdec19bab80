#!/bin/sh
# Integration tests of the patched ffmpeg with the nuwa and nuwasrc filters, on the small
# fixture models. Usage (from the repository root): sh tests/ffmpeg.sh build/bin/ffmpeg build/nuwa
# Prints "N passed, N failed" and fails if any check failed.
set -u
FF=${1:?usage: tests/ffmpeg.sh FFMPEG NUWA_CLI}
NUWA=${2:?usage: tests/ffmpeg.sh FFMPEG NUWA_CLI}
N1=tests/fixtures/nuwa_n1.gguf    # NUWA: 16x16 RGB frames, 4x4 tokens, window 2 frames
V1=tests/fixtures/vae_v1.gguf     # VQGAN only: 32x32 RGB
pass=0
fail=0
T=$(mktemp -d "${TMPDIR:-/tmp}/nuwa-ff.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT INT TERM

ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() {
    fail=$((fail + 1))
    echo "FAIL $1"
    [ -s "$T/err" ] && tail -n 5 "$T/err" | sed 's/^/     | /'
}
check() {
    name=$1
    shift
    if "$@"; then ok "$name"; else bad "$name"; fi
}
ff() {
    "$FF" -hide_banner -nostdin -loglevel error "$@" >"$T/out" 2>"$T/err"
    rc=$?
}
# ffmpeg exits with its (negative) error code modulo 256 (EINVAL: 234, INVALIDDATA: 183 ...);
# a crash shows as 128 + signal (129..159)
failed() { [ "$rc" -ne 0 ] && { [ "$rc" -lt 128 ] || [ "$rc" -gt 160 ]; }; }
nocrash() { [ "$rc" -lt 128 ] || [ "$rc" -gt 160 ]; }
has() { grep -q -- "$2" "$1"; }
frames() { grep -vc '^#' "$1"; }                     # frames in a framemd5 file
pts_list() { grep -v '^#' "$1" | awk -F', *' '{print $3}' | tr '\n' ' '; }

# ---- the filters exist and document their options ---------------------------------------
ff -h filter=nuwa
check "-h filter=nuwa: exit 0" [ "$rc" -eq 0 ]
for o in model mode frames context prompt seed temperature top_k cfg_scale size device threads extend predict reconstruct; do
    check "-h filter=nuwa documents $o" has "$T/out" " $o "
done
ff -h filter=nuwasrc
for o in model frames duration rate size prompt seed temperature top_k cfg_scale device threads; do
    check "-h filter=nuwasrc documents $o" has "$T/out" " $o "
done

SRC="testsrc2=s=64x48:r=10:d=1"

# ---- extend -----------------------------------------------------------------------------------
ff -f lavfi -i "$SRC" -vf "nuwa=model=$N1:frames=3:seed=1" -f framemd5 "$T/e1.md5"
check "extend: exit 0" [ "$rc" -eq 0 ]
check "extend: 10 input + 3 appended frames" [ "$(frames "$T/e1.md5")" -eq 13 ]
check "extend: appended pts continue at the frame rate (10 11 12)" \
    sh -c 'pts=$(grep -v "^#" "$1" | awk -F", *" "{print \$3}" | tail -n 3 | tr "\n" " "); [ "$pts" = "10 11 12 " ]' sh "$T/e1.md5"
check "extend: the input passes through unchanged" sh -c '
    "$1" -hide_banner -nostdin -loglevel error -f lavfi -i "$2" -f framemd5 "$3/plain.md5" &&
    [ "$(grep -v "^#" "$3/plain.md5" | head -n 10 | md5sum)" = "$(grep -v "^#" "$3/e1.md5" | head -n 10 | md5sum)" ]' \
    sh "$FF" "$SRC" "$T"
ff -f lavfi -i "$SRC" -vf "nuwa=model=$N1:frames=3:seed=1" -f framemd5 "$T/e2.md5"
check "extend: same seed, same frames" cmp -s "$T/e1.md5" "$T/e2.md5"
ff -f lavfi -i "$SRC" -vf "nuwa=model=$N1:frames=3:seed=2" -f framemd5 "$T/e3.md5"
check "extend: another seed, other frames" sh -c '! cmp -s "$1" "$2"' sh "$T/e1.md5" "$T/e3.md5"
ff -f lavfi -i "$SRC" -vf "nuwa=model=$N1:frames=3:seed=1:threads=1" -f framemd5 "$T/e4.md5"
check "extend: threads=1 gives the same frames" cmp -s "$T/e1.md5" "$T/e4.md5"
ff -f lavfi -i "$SRC" -vf "select='not(eq(n\,4))',nuwa=model=$N1:frames=2:seed=1" -f framemd5 "$T/e5.md5"
check "extend: a gap in the input (9 frames) + 2 appended" [ "$(frames "$T/e5.md5")" -eq 11 ]
check "extend: appended pts follow the last input frame" \
    sh -c 'pts=$(grep -v "^#" "$1" | awk -F", *" "{print \$3}" | tail -n 2 | tr "\n" " "); [ "$pts" = "10 11 " ]' sh "$T/e5.md5"
ff -f lavfi -i "$SRC" -vf "setpts=N*3+gt(N\,4),nuwa=model=$N1:frames=3:seed=1" -fps_mode passthrough -f framemd5 "$T/e5b.md5"
check "extend after setpts (input pts 0 3 ... 25 28): appended pts follow the cadence (31 34 37)" \
    sh -c 'pts=$(grep -v "^#" "$1" | awk -F", *" "{print \$3}" | tail -n 3 | tr "\n" " "); [ "$pts" = "31 34 37 " ]' sh "$T/e5b.md5"
ff -f lavfi -i "testsrc2=s=64x48:r=30000/1001:d=0.5" -vf "nuwa=model=$N1:frames=2:seed=1" -f framemd5 "$T/e6.md5"
check "extend at 29.97 fps: 15 + 2 frames" [ "$(frames "$T/e6.md5")" -eq 17 ]
ff -f lavfi -i "$SRC" -vf "nuwa=model=$N1:frames=50:seed=1" -frames:v 3 -f framemd5 "$T/e7.md5"
check "-frames:v 3 stops cleanly" sh -c '[ "$1" -eq 0 ] && [ "$(grep -vc "^#" "$2")" -eq 3 ]' sh "$rc" "$T/e7.md5"
ff -f lavfi -i "testsrc2=s=97x61:r=10:d=0.5" -vf "format=yuv420p,nuwa=model=$N1:frames=2:seed=1" -f framemd5 "$T/e8.md5"
check "odd size 97x61 yuv420p: 5 + 2 frames" sh -c '[ "$1" -eq 0 ] && [ "$(grep -vc "^#" "$2")" -eq 7 ]' sh "$rc" "$T/e8.md5"
ff -f lavfi -i "$SRC" -vf "nuwa=model=$N1:frames=2:size=model:seed=1" -f rawvideo -pix_fmt rgb24 "$T/e9.rgb"
check "size=model: 12 frames of 16x16 RGB" [ "$(wc -c <"$T/e9.rgb")" -eq $((12 * 16 * 16 * 3)) ]
ff -f lavfi -i "$SRC" -vf "scale=w='if(lt(n,5),64,80)':h=48:eval=frame,nuwa=model=$N1:frames=2:seed=1" -f framemd5 "$T/e10.md5"
check "mid-stream size change: exit 0, 12 frames" sh -c '[ "$1" -eq 0 ] && [ "$(grep -vc "^#" "$2")" -eq 12 ]' sh "$rc" "$T/e10.md5"
check "generated frames carry lavfi.nuwa.generated" sh -c '"$1" -hide_banner -nostdin -f lavfi -i "$2" \
    -vf "nuwa=model=$3:frames=1:seed=1,metadata=print:key=lavfi.nuwa.generated" -f null - 2>&1 | grep -q "lavfi.nuwa.generated=1"' \
    sh "$FF" "$SRC" "$N1"

# ---- predict --------------------------------------------------------------------------------
ff -f lavfi -i "testsrc2=s=64x48:r=10:d=2" -vf "nuwa=model=$N1:mode=predict:frames=2:seed=1" -f framemd5 "$T/p1.md5"
check "predict: exit 0" [ "$rc" -eq 0 ]
check "predict: one output per input (20)" [ "$(frames "$T/p1.md5")" -eq 20 ]
check "predict: outputs are 2 frames ahead (pts 2 3 4)" \
    sh -c 'pts=$(grep -v "^#" "$1" | awk -F", *" "{print \$3}" | head -n 3 | tr "\n" " "); [ "$pts" = "2 3 4 " ]' sh "$T/p1.md5"
if [ -x /usr/bin/time ]; then
    /usr/bin/time -f %M "$FF" -hide_banner -nostdin -loglevel error -f lavfi -i "color=c=red:s=32x32:r=25:d=8" \
        -vf "nuwa=model=$N1:mode=predict:frames=1:seed=1" -f null - 2>"$T/rss200"
    /usr/bin/time -f %M "$FF" -hide_banner -nostdin -loglevel error -f lavfi -i "color=c=red:s=32x32:r=25:d=80" \
        -vf "nuwa=model=$N1:mode=predict:frames=1:seed=1" -f null - 2>"$T/rss2000"
    check "predict: 2,000 frames use no more memory than 200 (+10%)" \
        sh -c 'a=$(tail -n 1 "$1"); b=$(tail -n 1 "$2"); [ "$b" -le $((a + a / 10)) ]' sh "$T/rss200" "$T/rss2000"
else
    echo "skip predict memory check: /usr/bin/time is not installed"
fi

# ---- reconstruct ------------------------------------------------------------------------------
# a 32x32 test picture as PPM (for the CLI) and raw RGB (for ffmpeg)
ff -f lavfi -i "testsrc2=s=32x32:r=1:d=1" -frames:v 1 -f rawvideo -pix_fmt rgb24 "$T/a.rgb"
{ printf 'P6\n32 32\n255\n'; cat "$T/a.rgb"; } >"$T/a.ppm"
"$NUWA" roundtrip "$V1" "$T/a.ppm" "$T/rt.ppm" 2>"$T/err"
ff -f rawvideo -pix_fmt rgb24 -s 32x32 -i "$T/a.rgb" -vf "nuwa=model=$V1:mode=reconstruct" -f rawvideo -pix_fmt rgb24 "$T/rec.rgb"
check "reconstruct equals 'nuwa roundtrip' byte for byte" \
    sh -c 'tail -c 3072 "$1" | cmp -s - "$2"' sh "$T/rt.ppm" "$T/rec.rgb"
ff -f lavfi -i "$SRC" -vf "nuwa=model=$V1:mode=reconstruct" -f framemd5 "$T/r2.md5"
check "reconstruct on a 64x48 stream: 10 frames" [ "$(frames "$T/r2.md5")" -eq 10 ]

# ---- nuwasrc ----------------------------------------------------------------------------------
ff -f lavfi -i "nuwasrc=model=$N1:r=5:d=2:seed=3" -f framemd5 "$T/s1.md5"
check "nuwasrc d=2 r=5: 10 frames" sh -c '[ "$1" -eq 0 ] && [ "$(grep -vc "^#" "$2")" -eq 10 ]' sh "$rc" "$T/s1.md5"
ff -filter_complex "nuwasrc=model=$N1:frames=3:size=48x32:seed=3" -f rawvideo -pix_fmt rgb24 "$T/s2.rgb"
check "nuwasrc frames=3 size=48x32 (filter_complex)" [ "$(wc -c <"$T/s2.rgb")" -eq $((3 * 48 * 32 * 3)) ]
ff -f lavfi -i "nuwasrc=model=$N1:r=5:d=2:seed=3" -f framemd5 "$T/s3.md5"
check "nuwasrc: same seed, same video" cmp -s "$T/s1.md5" "$T/s3.md5"

# ---- the shipped demo model (models/nuwa-shapes.gguf) on the sample clip ------------------------
M=models/nuwa-shapes.gguf
CLIP=samples/shapes.mkv
CAP=$(cat samples/shapes.txt)
ff -i "$CLIP" -vf "nuwa=model=$M:frames=2:seed=1:prompt=$CAP" -f framemd5 "$T/m1.md5"
check "shipped model: extends the sample clip (4 + 2 frames)" sh -c '[ "$1" -eq 0 ] && [ "$(grep -vc "^#" "$2")" -eq 6 ]' sh "$rc" "$T/m1.md5"
# a prompt changed with sendcmd before the end of the input is the one the continuation uses
printf "0.1 nuwa prompt 'a blue circle moving left';\n" >"$T/cmds"
ff -i "$CLIP" -vf "sendcmd=f=$T/cmds,nuwa=model=$M:frames=2:seed=1:prompt=$CAP" -f framemd5 "$T/m2.md5"
ff -i "$CLIP" -vf "nuwa=model=$M:frames=2:seed=1:prompt=a blue circle moving left" -f framemd5 "$T/m3.md5"
check "sendcmd prompt change: exit 0" [ "$rc" -eq 0 ]
check "sendcmd prompt change: same frames as that prompt given as an option" cmp -s "$T/m2.md5" "$T/m3.md5"
check "sendcmd prompt change: other frames than the first prompt" sh -c '! cmp -s "$1" "$2"' sh "$T/m1.md5" "$T/m2.md5"
ff -f lavfi -i "nuwasrc=model=$M:frames=1:seed=1:prompt=a green circle moving up" -f rawvideo -pix_fmt rgb24 "$T/m4.rgb"
check "shipped model: nuwasrc frame of 64x64" [ "$(wc -c <"$T/m4.rgb" 2>/dev/null || echo 0)" -eq $((64 * 64 * 3)) ]
ff -f lavfi -i "nuwasrc=model=$M:frames=1:prompt=a ukulele" -f null -
check "a prompt with a word outside the model's vocabulary: clear error" has "$T/err" "vocabulary"
check "a prompt with a word outside the model's vocabulary: error exit, no crash" failed

# ---- bad options: a clear message and an error exit, never a crash -------------------------
expect_error() { # NAME FILTERSPEC TEXT
    ff -f lavfi -i "$SRC" -vf "$2" -f null -
    check "$1" sh -c 'grep -qi -- "$1" "$2"' sh "$3" "$T/err" && check "$1: error exit, no crash" failed
}
expect_error "no model: error naming model" "nuwa" "model"
expect_error "missing model file: error" "nuwa=model=$T/none.gguf" "No such file"
expect_error "corrupt model file: error" "nuwa=model=README.md" "GGUF"
expect_error "unknown mode: error" "nuwa=model=$N1:mode=foo" "mode"
expect_error "negative frames: error" "nuwa=model=$N1:frames=-1" "frames"
expect_error "extend with a VQGAN-only model: error" "nuwa=model=$V1:mode=extend" "transformer"
ff -f lavfi -i "nuwasrc=model=$V1" -f null -
check "nuwasrc with a VQGAN-only model: error exit, no crash" failed
check "nuwasrc with a VQGAN-only model: names the missing transformer" has "$T/err" "transformer"

# ---- device: the filters pass it to libnuwa, which checks it ------------------------------
ff -f lavfi -i "$SRC" -vf "nuwa=model=$N1:frames=3:seed=1:device=cpu" -f framemd5 "$T/d1.md5"
check "device=cpu: the same frames as the default" cmp -s "$T/e1.md5" "$T/d1.md5"
ff -f lavfi -i "nuwasrc=model=$N1:r=5:d=2:seed=3:device=cpu" -f framemd5 "$T/d2.md5"
check "nuwasrc device=cpu: the same video as the default" cmp -s "$T/s1.md5" "$T/d2.md5"
# ffmpeg exits with the filter's error code modulo 256: EINVAL 234, ENOSYS 218
ff -f lavfi -i "$SRC" -vf "nuwa=model=$N1:device=bogus" -f null -
check "device=bogus: no crash" nocrash
check "device=bogus: error exit (EINVAL)" [ "$rc" -eq 234 ]
check "device=bogus: the message names the device" has "$T/err" "bogus"
ff -f lavfi -i "nuwasrc=model=$N1:frames=1:device='cuda\\:x'" -f null -
check "nuwasrc device=cuda:x: no crash" nocrash
check "nuwasrc device=cuda:x: error exit naming the device" sh -c '[ "$1" -ne 0 ] && grep -q "cuda:x" "$2"' sh "$rc" "$T/err"
# device=cuda on a machine without a usable GPU (no CUDA backend in this build, no driver or no
# device) must fail cleanly with a message that names the device; on a GPU machine it may work.
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L 2>/dev/null | grep -q '^GPU'; then
    echo "skip device=cuda failure checks: this machine has a GPU"
else
    ff -f lavfi -i "$SRC" -vf "nuwa=model=$N1:device=cuda" -f null -
    check "device=cuda without a GPU: no crash" nocrash
    check "device=cuda without a GPU: error exit (ENOSYS)" [ "$rc" -eq 218 ]
    check "device=cuda without a GPU: the message mentions cuda" has "$T/err" "cuda"
    ff -f lavfi -i "nuwasrc=model=$N1:frames=1:device=cuda" -f null -
    check "nuwasrc device=cuda without a GPU: error exit mentioning cuda" \
        sh -c '[ "$1" -ne 0 ] && grep -q cuda "$2"' sh "$rc" "$T/err"
fi

# ---- threads: 0 follows FFmpeg's filter threads (at most one per core) -----------------------
# (ffmpeg also initializes a simple graph once with 1 thread to learn its inputs and outputs:
# the last log line is the graph that runs)
ffdbg() { "$FF" -hide_banner -nostdin -v debug "$@" >"$T/out" 2>"$T/err"; rc=$?; }
last_threads() { grep -o "$2" "$1" | tail -n 1; }
ffdbg -filter_threads 1 -f lavfi -i "$SRC" -vf "nuwa=model=$N1:frames=3:seed=1" -f framemd5 "$T/t1.md5"
check "-filter_threads 1: exit 0" [ "$rc" -eq 0 ]
check "-filter_threads 1: the same frames as the default" cmp -s "$T/e1.md5" "$T/t1.md5"
check "-filter_threads 1: the filter uses 1 thread" \
    [ "$(last_threads "$T/err" 'device cpu, [0-9]* CPU threads* ([a-z ]*)')" = "device cpu, 1 CPU thread (filter threads)" ]
check "-filter_threads 1: libnuwa's session has 1 thread" \
    [ "$(last_threads "$T/err" 'session: backend [^,]*, [0-9]* threads' | sed 's/.*, //')" = "1 threads" ]
if [ "$(nproc 2>/dev/null || echo 1)" -ge 2 ]; then
    ffdbg -filter_threads 2 -f lavfi -i "$SRC" -vf "nuwa=model=$N1:frames=3:seed=1" -f framemd5 "$T/t2.md5"
    check "-filter_threads 2: the same frames" cmp -s "$T/e1.md5" "$T/t2.md5"
    check "-filter_threads 2: the filter uses 2 threads" \
        [ "$(last_threads "$T/err" 'device cpu, [0-9]* CPU threads* ([a-z ]*)')" = "device cpu, 2 CPU threads (filter threads)" ]
    check "-filter_threads 2: libnuwa's session has 2 threads" \
        [ "$(last_threads "$T/err" 'session: backend [^,]*, [0-9]* threads' | sed 's/.*, //')" = "2 threads" ]
    ffdbg -filter_threads 2 -f lavfi -i "$SRC" -vf "nuwa=model=$N1:frames=3:seed=1:threads=1" -f framemd5 "$T/t3.md5"
    check "threads=1 overrides -filter_threads 2" \
        [ "$(last_threads "$T/err" 'device cpu, [0-9]* CPU threads* ([a-z ]*)')" = "device cpu, 1 CPU thread (threads option)" ]
fi
ffdbg -f lavfi -i "$SRC" -vf "nuwa=model=$N1:frames=3:seed=1" -f framemd5 "$T/t4.md5"
check "default filter threads: at most one per core" \
    sh -c 'n=$(grep -o "device cpu, [0-9]* CPU thread" "$1" | tail -n 1 | tr -dc 0-9); [ -n "$n" ] && [ "$n" -ge 1 ] && [ "$n" -le "$(nproc)" ]' sh "$T/err"
ffdbg -filter_complex_threads 1 -filter_complex "nuwasrc=model=$N1:frames=3:seed=3" -f framemd5 "$T/t5.md5"
cp "$T/err" "$T/t5.err"
ff -filter_complex "nuwasrc=model=$N1:frames=3:seed=3" -f framemd5 "$T/t6.md5"
check "nuwasrc with -filter_complex_threads 1: 1 thread, the same video as the default" \
    sh -c '[ "$(grep -o "device cpu, [0-9]* CPU threads* ([a-z ]*)" "$1" | tail -n 1)" = "device cpu, 1 CPU thread (filter threads)" ] && cmp -s "$2" "$3"' \
    sh "$T/t5.err" "$T/t5.md5" "$T/t6.md5"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
