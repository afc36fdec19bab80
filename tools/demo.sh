#!/bin/sh
# make demo: runs the shipped demo model (models/nuwa-shapes.gguf) through the patched ffmpeg.
#   (a) extends the sample clip samples/shapes.mkv (4 frames) by 8 predicted frames (-vf nuwa),
#   (b) generates an 8-frame clip from a caption (nuwasrc),
#   (c) draws both into one contact-sheet PNG (tile + vstack; predicted frames framed in white on a black sheet).
# Usage (from the repository root): sh tools/demo.sh FFMPEG [OUTDIR]
# Environment: DEMO_PROMPT (caption for (b)), DEMO_SEED (default 1), DEMO_THREADS (0: all cores).
set -eu
FF=${1:?usage: tools/demo.sh FFMPEG [OUTDIR]}
OUT=${2:-build/demo}
MODEL=models/nuwa-shapes.gguf
CLIP=samples/shapes.mkv
PROMPT=${DEMO_PROMPT:-a red circle moving right}
SEED=${DEMO_SEED:-1}
THREADS=${DEMO_THREADS:-0}
for f in "$MODEL" "$CLIP" "$FF"; do
    [ -e "$f" ] || { echo "demo: $f is missing" >&2; exit 1; }
done
mkdir -p "$OUT"
STATS=-nostats
[ -t 2 ] && STATS=-stats
ff() { "$FF" -hide_banner -nostdin -loglevel warning $STATS -y "$@"; }
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# The sample's caption (samples/shapes.txt) conditions the continuation, as in training.
CAPTION=$(cat samples/shapes.txt 2>/dev/null || true)
echo "demo: (a) extending $CLIP (\"$CAPTION\") by 8 predicted frames"
t0=$(now)
ff -i "$CLIP" -vf "nuwa=model=$MODEL:mode=extend:frames=8:seed=$SEED:threads=$THREADS:prompt='$CAPTION'" \
   -c:v ffv1 "$OUT/extend.mkv"
t1=$(now)
echo "demo: (b) generating 8 frames from \"$PROMPT\""
ff -f lavfi -i "nuwasrc=model=$MODEL:frames=8:rate=8:seed=$SEED:threads=$THREADS:prompt='$PROMPT'" \
   -c:v ffv1 "$OUT/text.mkv"
t2=$(now)
echo "demo: (c) contact sheet"
# row 1: the 4 input frames, then the 8 predicted ones (white frame); row 2: text-to-video.
ff -i "$OUT/extend.mkv" -i "$OUT/text.mkv" -filter_complex "\
[0:v]scale=128:128:flags=neighbor,format=rgb24,drawbox=enable='gte(n,4)':x=0:y=0:w=iw:h=ih:c=white:t=3,\
tile=12x1:padding=4:margin=4:color=black[a];\
[1:v]scale=128:128:flags=neighbor,format=rgb24,tile=12x1:padding=4:margin=4:color=black[b];\
[a][b]vstack=inputs=2[s]" -map "[s]" -frames:v 1 -update 1 "$OUT/demo.png"
echo "demo: extend took $(secs "$t0" "$t1") s, text-to-video took $(secs "$t1" "$t2") s"
echo "demo: wrote"
echo "  $OUT/extend.mkv   the sample clip + 8 predicted frames"
echo "  $OUT/text.mkv     \"$PROMPT\""
echo "  $OUT/demo.png     contact sheet (top: input + prediction, predicted frames framed; bottom: text-to-video)"
