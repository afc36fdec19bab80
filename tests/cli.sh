#!/bin/sh
# tests/cli.sh — end-to-end tests of the `nuwa` command-line tool on the fixture models.
#
#   sh tests/cli.sh build/nuwa        (from the repository root; `make test` does this)
#
# tests/fixtures/vae_v1.gguf: RGB, 32x32 frames, 8x8 tokens, K 64;
# tests/fixtures/vae_v3.gguf: gray, 24x24 frames, 3x3 tokens, K 16.
# Test images are written with printf/awk into a temporary directory removed on exit.
# Prints one line per check and finally "N passed, M failed"; exits 1 if any check failed.
# shellcheck disable=SC2016 # the sh -c scripts expand their own arguments

NUWA=${1:?usage: sh tests/cli.sh path/to/nuwa}
V1=tests/fixtures/vae_v1.gguf
V3=tests/fixtures/vae_v3.gguf


if [ ! -x "$NUWA" ] || [ ! -f "$V1" ] || [ ! -f "$V3" ]; then
    echo "cli.sh: run from the repository root with the path of a built nuwa" >&2
    echo "0 passed, 1 failed"
    exit 1
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/nuwa-cli.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
trap 'exit 130' INT TERM HUP

pass=0
fail=0

ok() {
    pass=$((pass + 1))
    echo "ok   $1"
}

bad() {
    fail=$((fail + 1))
    echo "FAIL $1"
    for f in "$T/out" "$T/err"; do
        [ -s "$f" ] && head -n 20 "$f" | sed 's/^/     | /'
    done
    return 0
}

check() { # check NAME CONDITION...: ok if the command succeeds
    name=$1
    shift
    if "$@"; then ok "$name"; else bad "$name"; fi
}


# run ARGS...: runs nuwa, stdout in $T/out, stderr in $T/err, exit status in $rc
run() {
    "$NUWA" "$@" >"$T/out" 2>"$T/err"
    rc=$?
}

lines() { echo $(($(wc -l <"$1"))); }
bytes() { echo $(($(wc -c <"$1"))); }
has() { grep -q -- "$2" "$1"; }        # has FILE TEXT (basic regex)
failed() { [ "$rc" -ne 0 ] && [ "$rc" -lt 128 ]; }  # an error exit, not a crash

# mkpnm FILE P5|P6 W H SEED: random 8-bit netpbm image (maxval 255)
mkpnm() {
    c=3
    [ "$2" = P5 ] && c=1
    printf '%s\n%d %d\n255\n' "$2" "$3" "$4" >"$1"
    # pixels as octal escapes for printf (an LCG whose products stay exact in doubles)
    # shellcheck disable=SC2059
    printf "$(awk -v n=$(($3 * $4 * c)) -v x="$5" 'BEGIN {
        for (i = 0; i < n; i++) {
            x = (x * 69069 + 1) % 4294967296
            printf "\\%03o", int(x / 16777216)
        }
    }')" >>"$1"
}

# pnm_ok FILE MAGIC W H: FILE starts with the header nuwa writes and has the right size
pnm_ok() {
    printf '%s\n%d %d\n255\n' "$2" "$3" "$4" >"$T/hdr"
    c=3
    [ "$2" = P5 ] && c=1
    dd if="$1" bs="$(bytes "$T/hdr")" count=1 2>/dev/null | cmp -s - "$T/hdr" &&
        [ "$(bytes "$1")" -eq $(($(bytes "$T/hdr") + $3 * $4 * c)) ]
}

# grid_ok FILE ROWS K: ROWS lines of ROWS integers in [0, K)
grid_ok() {
    awk -v r="$2" -v k="$3" '
        NF != r { bad = 1 }
        { for (i = 1; i <= NF; i++) if ($i !~ /^[0-9]+$/ || $i + 0 >= k) bad = 1 }
        END { exit (bad || NR != r) }' "$1"
}

mkpnm "$T/a.ppm" P6 32 32 1
mkpnm "$T/b.ppm" P6 32 32 2
mkpnm "$T/narrow.ppm" P6 31 32 3
mkpnm "$T/gray32.pgm" P5 32 32 4
mkpnm "$T/g.pgm" P5 24 24 5
mkpnm "$T/g6.ppm" P6 24 24 6
check "test image a.ppm is a 32x32 P6" pnm_ok "$T/a.ppm" P6 32 32
check "test image g.pgm is a 24x24 P5" pnm_ok "$T/g.pgm" P5 24 24

# ---- info --------------------------------------------------------------------------------
run info "$V1"
check "info: exit 0" [ "$rc" -eq 0 ]
check "info: prints image_size" has "$T/out" '^ *image_size: *32$'
check "info: tensor table lists vae.encoders.0.weight" \
    has "$T/out" '^ *vae\.encoders\.0\.weight  *F32  *([0-9,]*)  *[0-9][0-9]* bytes$'
check "info: tensor table lists the codebook (64,8)" \
    has "$T/out" '^ *vae\.vq\._codebook\.embed  *F32  *(64,8) '
check "info: nothing on stderr" [ ! -s "$T/err" ]

run info "$V3"
check "info gray model: channels 1, 3x3 tokens" \
    sh -c 'grep -q "^ *channels: *1$" "$1" && grep -q "tokens per frame: *9 (3x3)" "$1"' sh "$T/out"

run info "$T/does-not-exist.gguf"
check "info missing file: error exit" failed
check "info missing file: one line on stderr" [ "$(lines "$T/err")" -eq 1 ]
check "info missing file: names the problem" has "$T/err" "No such file"

: >"$T/empty.gguf"
run info "$T/empty.gguf"
check "info empty file: error exit" failed
check "info empty file: one line on stderr" [ "$(lines "$T/err")" -eq 1 ]

dd if="$V1" of="$T/trunc.gguf" bs=1024 count=512 2>/dev/null
run info "$T/trunc.gguf"
check "info truncated model: error exit" failed
check "info truncated model: one line on stderr" [ "$(lines "$T/err")" -eq 1 ]
check "info truncated model: nothing on stdout" [ ! -s "$T/out" ]

run info "$T"
check "info on a directory: error exit" failed

# ---- encode ------------------------------------------------------------------------------
run encode "$V1" "$T/a.ppm"
cp "$T/out" "$T/a.tok"
check "encode: exit 0" [ "$rc" -eq 0 ]
check "encode: 8 lines of 8 tokens in [0,64)" grid_ok "$T/a.tok" 8 64
check "encode: nothing on stderr" [ ! -s "$T/err" ]

run encode "$V1" "$T/a.ppm" -o "$T/a.out"
check "encode -o: exit 0" [ "$rc" -eq 0 ]
check "encode -o: nothing on stdout" [ ! -s "$T/out" ]
check "encode -o: writes the same tokens" cmp -s "$T/a.tok" "$T/a.out"

run -t 1 encode "$V1" "$T/a.ppm" "$T/b.ppm"
cp "$T/out" "$T/t1.tok"
run encode "$V1" "$T/a.ppm" "$T/b.ppm" -t 2
check "encode -t 2: exit 0" [ "$rc" -eq 0 ]
check "encode: -t 1 and -t 2 give identical tokens" cmp -s "$T/t1.tok" "$T/out"
cp "$T/out" "$T/two.tok"
check "encode two frames: two grids separated by a blank line" \
    sh -c '[ "$(sed -n 9p "$1")" = "" ] && [ "$(wc -l <"$1")" -eq 17 ]' sh "$T/two.tok"
check "encode two frames: the first grid is a's" \
    sh -c 'head -n 8 "$1" | cmp -s - "$2"' sh "$T/two.tok" "$T/a.tok"

run encode "$V1" "$T/narrow.ppm"
check "encode 31x32: error exit" failed
check "encode 31x32: message names 32x32" has "$T/err" "32x32"
check "encode 31x32: no tokens printed" [ ! -s "$T/out" ]

run encode "$V1" "$T/gray32.pgm"
check "encode P5 on the RGB model: error exit" failed
check "encode P5 on the RGB model: message mentions channels" has "$T/err" "channel"

run encode "$V1" "$T/nope.ppm"
check "encode missing image: error exit" failed
check "encode missing image: names the file" has "$T/err" "nope.ppm"

printf 'hello\n' >"$T/text.ppm"
run encode "$V1" "$T/text.ppm"
check "encode non-netpbm file: error exit" failed

printf 'P6\n32 32\n65535\n' >"$T/deep.ppm"
run encode "$V1" "$T/deep.ppm"
check "encode 16-bit netpbm: error exit mentioning maxval" sh -c '[ "$1" -ne 0 ] && grep -q maxval "$2"' \
    sh "$rc" "$T/err"

dd if="$T/a.ppm" of="$T/short.ppm" bs=1000 count=1 2>/dev/null
run encode "$V1" "$T/short.ppm"
check "encode truncated image: error exit" failed

# ---- decode ------------------------------------------------------------------------------
run decode "$V1" "$T/a.tok" "$T/a_dec.ppm"
check "decode: exit 0" [ "$rc" -eq 0 ]
check "decode: writes a 32x32 P6" pnm_ok "$T/a_dec.ppm" P6 32 32

run roundtrip "$V1" "$T/a.ppm" "$T/a_rt.ppm"
check "roundtrip: exit 0" [ "$rc" -eq 0 ]
check "roundtrip: writes a 32x32 P6" pnm_ok "$T/a_rt.ppm" P6 32 32
check "roundtrip = decode(encode)" cmp -s "$T/a_rt.ppm" "$T/a_dec.ppm"

run -t 2 decode "$V1" "$T/a.tok" "$T/a_dec2.ppm"
check "decode -t 2 gives the same image" cmp -s "$T/a_dec.ppm" "$T/a_dec2.ppm"

run encode "$V1" "$T/a_dec.ppm"
check "a decoded image encodes again" grid_ok "$T/out" 8 64

awk 'NR == 1 { $1 = 64 } { print }' "$T/a.tok" >"$T/big.tok"
run decode "$V1" "$T/big.tok" "$T/x.ppm"
check "decode token 64: error exit" failed
check "decode token 64: message names the codebook" has "$T/err" "outside the codebook"
check "decode token 64: no image written" [ ! -e "$T/x.ppm" ]

awk 'NR == 3 { $5 = -1 } { print }' "$T/a.tok" >"$T/neg.tok"
run decode "$V1" "$T/neg.tok" "$T/x.ppm"
check "decode token -1: error exit" failed

sed '$d' "$T/a.tok" >"$T/short.tok"
run decode "$V1" "$T/short.tok" "$T/x.ppm"
check "decode 56 tokens: error exit" failed
check "decode 56 tokens: message gives the count" has "$T/err" "56 tokens"

{ cat "$T/a.tok"; echo 1 2 3; } >"$T/long.tok"
run decode "$V1" "$T/long.tok" "$T/x.ppm"
check "decode 67 tokens: error exit" failed

: >"$T/empty.tok"
run decode "$V1" "$T/empty.tok" "$T/x.ppm"
check "decode no tokens: error exit" failed

printf '1 2 x 4\n' >"$T/word.tok"
run decode "$V1" "$T/word.tok" "$T/x.ppm"
check "decode non-integer token: error exit" failed

run decode "$V1" "$T/two.tok" "$T/x.ppm"
check "decode two grids to one name: error exit" failed
check "decode two grids to one name: asks for %d" has "$T/err" "%d"
check "decode two grids to one name: nothing written" [ ! -e "$T/x.ppm" ]

run decode "$V1" "$T/two.tok" "$T/out_%d.ppm"
check "decode two grids to out_%d.ppm: exit 0" [ "$rc" -eq 0 ]
check "decode two grids: out_0.ppm is a 32x32 P6" pnm_ok "$T/out_0.ppm" P6 32 32
check "decode two grids: out_1.ppm is a 32x32 P6" pnm_ok "$T/out_1.ppm" P6 32 32
check "decode two grids: out_0.ppm = decoding a's grid" cmp -s "$T/out_0.ppm" "$T/a_dec.ppm"
check "decode two grids: no out_2.ppm" [ ! -e "$T/out_2.ppm" ]

run decode "$V1" "$T/two.tok" "$T/out_%s.ppm"
check "decode with %s in the output name: error exit, no crash" failed
check "decode with %s in the output name: says why" has "$T/err" "output name"
run decode "$V1" "$T/a.tok" "$T/one_%s%n.ppm"
check "decode one grid with %s%n in the output name: error exit, no crash" failed
run decode "$V1" "$T/two.tok" "$T/out_%d_%d.ppm"
check "decode with two %d in the output name: error exit" failed
run decode "$V1" "$T/two.tok" "$T/pct_%%_%03d.ppm"
check "decode to pct_%%_%03d.ppm: writes pct_%_000.ppm and pct_%_001.ppm" \
    sh -c '[ "$1" -eq 0 ] && [ -f "$2/pct_%_000.ppm" ] && [ -f "$2/pct_%_001.ppm" ]' sh "$rc" "$T"

run decode "$V1" "$T/nope.tok" "$T/x.ppm"
check "decode missing token file: error exit" failed

# ---- command line ------------------------------------------------------------------------
run -x info "$V1"
check "unknown option: exit 2" [ "$rc" -eq 2 ]
check "unknown option: usage on stderr" has "$T/err" "usage:"

run
check "no arguments: exit 2" [ "$rc" -eq 2 ]
check "no arguments: usage on stderr" has "$T/err" "usage:"

run frobnicate "$V1"
check "unknown command: exit 2 with usage" sh -c '[ "$1" -eq 2 ] && grep -q usage: "$2"' sh "$rc" "$T/err"

run encode "$V1"
check "encode without images: exit 2" [ "$rc" -eq 2 ]

run -t abc encode "$V1" "$T/a.ppm"
check "bad thread count: exit 2" [ "$rc" -eq 2 ]

run encode "$V1" "$T/a.ppm" -o
check "-o without a value: exit 2" [ "$rc" -eq 2 ]

run -h
check "-h: usage on stdout, exit 0" sh -c '[ "$1" -eq 0 ] && grep -q usage: "$2"' sh "$rc" "$T/out"

run --version
check "--version: prints the version" has "$T/out" '^nuwa [0-9][0-9]*\.[0-9][0-9]*\.[0-9][0-9]*$'

# ---- devices ------------------------------------------------------------------------------
run --device cpu encode "$V1" "$T/a.ppm"
check "--device cpu: exit 0" [ "$rc" -eq 0 ]
check "--device cpu: the same tokens as the default device" cmp -s "$T/out" "$T/a.tok"
run -d cpu roundtrip "$V1" "$T/a.ppm" "$T/a_rt_cpu.ppm"
check "-d cpu roundtrip: the same image as the default device" cmp -s "$T/a_rt_cpu.ppm" "$T/a_rt.ppm"
run encode "$V1" "$T/a.ppm" --device
check "--device without a value: exit 2" [ "$rc" -eq 2 ]

run --device bogus encode "$V1" "$T/a.ppm"
check "--device bogus: no crash" [ "$rc" -lt 128 ]
check "--device bogus: error exit" failed
check "--device bogus: no tokens printed" [ ! -s "$T/out" ]
check "--device bogus: one line on stderr naming the device" \
    sh -c '[ "$(wc -l <"$1")" -eq 1 ] && grep -q "bogus" "$1"' sh "$T/err"
run -d cuda:x roundtrip "$V1" "$T/a.ppm" "$T/x.ppm"
check "-d cuda:x: no crash" [ "$rc" -lt 128 ]
check "-d cuda:x: error exit naming the device, no image" \
    sh -c '[ "$1" -ne 0 ] && grep -q "cuda:x" "$2" && [ ! -e "$3" ]' sh "$rc" "$T/err" "$T/x.ppm"

# device=cuda on a machine without a usable GPU (no CUDA backend in this build, no driver or no
# device) must fail cleanly with a message that names the device; on a GPU machine it may work.
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L 2>/dev/null | grep -q '^GPU'; then
    echo "skip --device cuda failure checks: this machine has a GPU"
else
    run --device cuda encode "$V1" "$T/a.ppm"
    check "--device cuda without a GPU: no crash" [ "$rc" -lt 128 ]
    check "--device cuda without a GPU: error exit" failed
    check "--device cuda without a GPU: the message mentions cuda" has "$T/err" "cuda"
    check "--device cuda without a GPU: no tokens printed" [ ! -s "$T/out" ]
fi

# ---- gray model --------------------------------------------------------------------------
run encode "$V3" "$T/g.pgm"
check "gray encode: 3 lines of 3 tokens in [0,16)" grid_ok "$T/out" 3 16
cp "$T/out" "$T/g.tok"

run roundtrip "$V3" "$T/g.pgm" "$T/g_rt.pgm"
check "gray roundtrip: exit 0" [ "$rc" -eq 0 ]
check "gray roundtrip: writes a 24x24 P5" pnm_ok "$T/g_rt.pgm" P5 24 24

run decode "$V3" "$T/g.tok" "$T/g_dec.pgm"
check "gray decode = roundtrip" cmp -s "$T/g_dec.pgm" "$T/g_rt.pgm"

run encode "$V3" "$T/g6.ppm"
check "P6 on the gray model: error exit mentioning channels" \
    sh -c '[ "$1" -ne 0 ] && grep -q channel "$2"' sh "$rc" "$T/err"

# ---- generate / predict (NUWA transformer fixture: 16x16 RGB, 4x4 tokens, F = 2) ------------
N1=tests/fixtures/nuwa_n1.gguf
mkpnm "$T/c16a.ppm" P6 16 16 7
mkpnm "$T/c16b.ppm" P6 16 16 8
run generate "$N1" --frames 3 --seed 5 -o "$T/gen_%02d.ppm" --tokens-out "$T/gen1.tok"
check "generate: exit 0" [ "$rc" -eq 0 ]
check "generate: writes 3 frames of 16x16" sh -c 'for i in 00 01 02; do [ -s "$1/gen_$i.ppm" ] || exit 1; done' sh "$T"
check "generate: frame is a valid P6" pnm_ok "$T/gen_02.ppm" P6 16 16
check "generate: 3 token grids of 4 lines" [ "$(grep -c . "$T/gen1.tok")" -eq 12 ]
check "generate: a progress line on stderr" has "$T/err" "tok/s"
run -t 1 generate "$N1" --frames 3 --seed 5 -o "$T/gen_%02d.ppm" --tokens-out "$T/gen2.tok"
check "generate: same seed, 1 thread -> same tokens" cmp -s "$T/gen1.tok" "$T/gen2.tok"
run --device cpu generate "$N1" --frames 3 --seed 5 -o "$T/gcpu_%02d.ppm" --tokens-out "$T/gen4.tok"
check "generate --device cpu: same tokens as the default device" cmp -s "$T/gen1.tok" "$T/gen4.tok"
run -d bogus predict "$N1" --frames 1 "$T/c16a.ppm" -o "$T/pbogus_%d.ppm"
check "predict -d bogus: no crash" [ "$rc" -lt 128 ]
check "predict -d bogus: error exit naming the device, no frame written" \
    sh -c '[ "$1" -ne 0 ] && grep -q bogus "$2" && [ ! -e "$3" ]' sh "$rc" "$T/err" "$T/pbogus_0.ppm"
run generate "$N1" --frames 3 --seed 6 -o "$T/other_%02d.ppm" --tokens-out "$T/gen3.tok"
check "generate: another seed -> other tokens" sh -c '! cmp -s "$1" "$2"' sh "$T/gen1.tok" "$T/gen3.tok"
run generate "$N1" --frames 2 --reference --cond-scale 3 --temperature 0.7 --filter-thres 0.5 -o "$T/ref_%d.ppm"
check "generate --reference with sampling options: exit 0" [ "$rc" -eq 0 ]
run decode "$N1" "$T/gen1.tok" "$T/dec_%02d.ppm"
check "generate: decoding the written tokens gives the written frames" cmp -s "$T/dec_02.ppm" "$T/gen_02.ppm"

run predict "$N1" --frames 2 "$T/c16a.ppm" "$T/c16b.ppm" -o "$T/pred_%d.ppm"
check "predict: exit 0" [ "$rc" -eq 0 ]
check "predict: writes 2 frames" pnm_ok "$T/pred_1.ppm" P6 16 16
run predict "$N1" --frames 2 "$T/a.ppm"
check "predict: a 32x32 context frame on a 16x16 model -> error naming 16x16" \
    sh -c 'failed() { [ "$1" -ne 0 ] && [ "$1" -lt 128 ]; }; failed "$2" && grep -q 16x16 "$3"' sh "$rc" "$rc" "$T/err"

run generate "$N1" --frames 0
check "generate --frames 0: usage error" [ "$rc" -eq 2 ]
run generate "$N1"
check "generate without --frames: usage error" [ "$rc" -eq 2 ]
run generate "$N1" --frames 1 --temperature 0 -o "$T/x_%d.ppm"
check "generate --temperature 0: error naming temperature" sh -c '[ "$1" -eq 1 ] && grep -q temperature "$2"' sh "$rc" "$T/err"
run generate "$N1" --frames 1 --temperature abc
check "generate --temperature abc: usage error" [ "$rc" -eq 2 ]
run generate "$N1" --frames 1 --text "a cat" -o "$T/x_%d.ppm"
check "generate --text on a model without tokenizer: error naming the tokenizer" \
    sh -c '[ "$1" -eq 1 ] && grep -q tokenizer "$2"' sh "$rc" "$T/err"
run generate "$V1" --frames 1
check "generate on a VQGAN-only model: error" sh -c '[ "$1" -eq 1 ] && grep -q "no NUWA transformer" "$2"' sh "$rc" "$T/err"
run info "$N1"
check "info on a NUWA model lists the transformer" has "$T/out" "^NUWA transformer:"

# ---- the shipped demo model --------------------------------------------------------------------
M=models/nuwa-shapes.gguf
run info "$M"
check "shipped model: info lists the transformer and the tokenizer" \
    sh -c 'grep -q "^NUWA transformer:" "$1" && grep -q "CLIP BPE tokenizer included" "$1"' sh "$T/out"
run generate "$M" --text "a green circle moving up" --frames 1 --seed 3 -o "$T/ship%03d.ppm"
check "shipped model: one generated frame of 64x64" sh -c '[ "$1" -eq 0 ] && [ "$(wc -c <"$2")" -eq $((64 * 64 * 3 + 13)) ]' \
    sh "$rc" "$T/ship000.ppm"
run generate "$M" --text "a ukulele" --frames 1 -o "$T/ship%03d.ppm"
check "a prompt outside the model's text vocabulary: error exit" failed
check "a prompt outside the model's text vocabulary: the message says so" has "$T/err" "outside this model's text vocabulary"

# ---- train / export (the shipped model: 64x64 frames, 8-frame window, CLIP BPE tokenizer) ---------
# Two random clips of 8 and 9 frames (raw rgb24 as ffmpeg writes them) with captions in the
# model's vocabulary (tools/make_shapes.py's words). A step of batch 1 takes a few seconds on
# 2 cores, so the run is interrupted after its first step and then resumed for one more.
D="$T/train"
mkdir -p "$D"
head -c $((64 * 64 * 3 * 8)) /dev/urandom >"$D/a.rgb"
head -c $((64 * 64 * 3 * 9)) /dev/urandom >"$D/b.rgb"
printf '# clip\tcaption\na.rgb\ta green circle moving up\nb.rgb\ta red square moving left\n' >"$D/captions.tsv"
CK="$T/ck.gguf"
# SIGINT mid-run: the step in progress ends, the checkpoint is written, exit 130 (128 + SIGINT)
"$NUWA" train "$M" --data "$D" --out "$CK" --steps 1000 --batch 1 --seed 3 >"$T/out" 2>"$T/err" &
pid=$!
# signal once the first step has reported (the handlers are in place by then), at most 60 s
i=0
while [ $i -lt 600 ] && ! grep -q '^step ' "$T/err" 2>/dev/null && kill -0 "$pid" 2>/dev/null; do
    sleep 0.1
    i=$((i + 1))
done
kill -INT "$pid"
wait "$pid"
rc=$?
check "train + SIGINT: exit 130" [ "$rc" -eq 130 ]
check "train + SIGINT: says where the checkpoint is" has "$T/err" "stopped at step .* checkpoint"
check "train: a progress line while tokenizing the data the first time" has "$T/err" "^tokenizing .*: 2/2 clips (100%)"
check "train + SIGINT: a checkpoint that nuwa info loads" sh -c '"$1" info "$2" >/dev/null 2>&1' sh "$NUWA" "$CK"
check "train: the token cache is written next to the data" [ -s "$D/captions.tokens.gguf" ]
# resume one step past where the signal stopped it (how far it got depends on the machine)
stopped=$(sed -n 's/^nuwa: stopped at step \([0-9]*\) .*/\1/p' "$T/err" | tail -n 1)
next=$((${stopped:-0} + 1))
run train "$M" --data "$D" --out "$CK" --resume "$CK" --steps "$next"
check "train --resume: exit 0" [ "$rc" -eq 0 ]
check "train --resume: progress lines on stderr" has "$T/err" "^step $next/$next  loss [0-9.]*  lr 3.0e-04  |g| [0-9.]*  [0-9]* tok/s  ETA "
check "train --resume: the checkpoint is written at the end" has "$T/err" "(checkpoint)"
check "train: nothing on stdout" [ ! -s "$T/out" ]
run export "$CK" -o "$T/trained.gguf" --type f16
check "export --type f16: exit 0" [ "$rc" -eq 0 ]
run info "$T/trained.gguf"
check "export: nuwa info loads the model, transformer and tokenizer included" \
    sh -c 'grep -q "^NUWA transformer:" "$1" && grep -q "CLIP BPE tokenizer included" "$1" && ! grep -q "opt\." "$1"' sh "$T/out"
run generate "$T/trained.gguf" --text "a red square" --frames 1 -o "$T/tr%d.ppm"
check "export: the trained model generates" pnm_ok "$T/tr0.ppm" P6 64 64
# errors: one line, exit 1 (a bad value: usage error, exit 2), no checkpoint written
run train "$M" --data "$T/nodata" --out "$T/ck2.gguf"
check "train on a missing data dir: error exit naming it" sh -c '[ "$1" -eq 1 ] && grep -q nodata "$2"' sh "$rc" "$T/err"
check "train on a missing data dir: one line, no checkpoint" \
    sh -c '[ "$(wc -l <"$1")" -eq 1 ] && [ ! -e "$2" ]' sh "$T/err" "$T/ck2.gguf"
mkdir -p "$T/bad"
head -c 1000 /dev/urandom >"$T/bad/a.rgb"
printf 'a.rgb\ta red square\n' >"$T/bad/captions.tsv"
run train "$M" --data "$T/bad" --out "$T/ck2.gguf"
check "train on a clip of a wrong size: error naming the file" sh -c '[ "$1" -eq 1 ] && grep -q "a.rgb" "$2"' sh "$rc" "$T/err"
printf 'a.rgb\ta ukulele\n' >"$T/bad/captions.tsv"
cp "$D/a.rgb" "$T/bad/a.rgb"
run train "$M" --data "$T/bad" --out "$T/ck2.gguf"
check "train with a caption outside the vocabulary: error naming the word" \
    sh -c '[ "$1" -eq 1 ] && grep -q "ukulele" "$2"' sh "$rc" "$T/err"
run train "$T/missing.gguf" --data "$D" --out "$T/ck2.gguf"
check "train with a missing model: error exit" sh -c '[ "$1" -eq 1 ] && grep -q missing.gguf "$2"' sh "$rc" "$T/err"
run train "$V1" --data "$D" --out "$T/ck2.gguf"
check "train a VQGAN-only model: error" sh -c '[ "$1" -eq 1 ] && grep -q "no NUWA transformer" "$2"' sh "$rc" "$T/err"
run train "$M" --data "$D" --out "$CK"
check "train onto an existing checkpoint without --resume: refused" \
    sh -c '[ "$1" -eq 1 ] && grep -q -- "--resume" "$2"' sh "$rc" "$T/err"
run train "$M" --data "$D" --out "$T/ck2.gguf" --resume tests/fixtures/train_t2.gguf
check "train --resume with a checkpoint of another model: error naming a tensor" \
    sh -c '[ "$1" -eq 1 ] && grep -q "tensor" "$2" && [ ! -e "$3" ]' sh "$rc" "$T/err" "$T/ck2.gguf"
run train "$M" --data "$D" --out "$CK" --resume "$CK" --lr 1e-3
check "train --resume --lr: usage error (the checkpoint's settings continue)" [ "$rc" -eq 2 ]
run train "$M" --data "$D" --out "$T/ck2.gguf" --batch 0
check "train --batch 0: usage error" sh -c '[ "$1" -eq 2 ] && grep -q -- "--batch" "$2"' sh "$rc" "$T/err"
run train "$M" --data "$D" --out "$T/ck2.gguf" --cond-drop 2
check "train --cond-drop 2: usage error" [ "$rc" -eq 2 ]
run train "$M" --data "$D" --out "$T/ck2.gguf" --lr abc
check "train --lr abc: usage error" [ "$rc" -eq 2 ]
# a new transformer from a config (the VQGAN and tokenizer of the shipped model): one step
printf '{"dim": 32, "max_video_frames": 8, "text_num_tokens": 38092, "text_max_seq_len": 16,\n "text_enc_depth": 1, "text_enc_heads": 2, "text_enc_dim_head": 16, "dec_depth": 1, "dec_heads": 2, "dec_dim_head": 16}\n' >"$T/new.json"
run train "$M" --config "$T/new.json" --data "$D" --out "$T/new.ckpt" --steps 1 --batch 1 --val-every 0
check "train --config: exit 0" [ "$rc" -eq 0 ]
check "train --config: names the initial model" has "$T/err" "initial model .*new.ckpt.init.gguf"
check "train --config: reports the parameter count" has "$T/err" "the new transformer has [0-9]* trainable parameters"
check "train --config: the initial model loads" sh -c '"$1" info "$2" | grep -q "1 layers, 2 heads x 16"' sh "$NUWA" "$T/new.ckpt.init.gguf"
printf '{"dim": 32,\n "dec_depth": "two"}\n' >"$T/bad.json"
run train "$M" --config "$T/bad.json" --data "$D" --out "$T/bad.ckpt"
check "train --config with a bad value: error naming the file and key" \
    sh -c '[ "$1" -eq 1 ] && grep -q "bad.json: \"dec_depth\" must be a positive integer" "$2"' sh "$rc" "$T/err"
run train "$M" --config "$T/new.json" --data "$D" --out "$T/new.ckpt" --resume "$T/new.ckpt"
check "train --config --resume: usage error" [ "$rc" -eq 2 ]
run train "$M" --out "$T/ck2.gguf"
check "train without --data: usage error" [ "$rc" -eq 2 ]
run train "$M" --data
check "train --data without a value: usage error" [ "$rc" -eq 2 ]
run export "$CK" -o "$T/x.gguf" --type f8
check "export --type f8: usage error" [ "$rc" -eq 2 ]
run export "$T/missing.gguf" -o "$T/x.gguf"
check "export of a missing file: error exit" sh -c '[ "$1" -eq 1 ] && [ ! -e "$2" ]' sh "$rc" "$T/x.gguf"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
