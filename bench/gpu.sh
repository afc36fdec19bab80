#!/usr/bin/env bash
# bench/gpu.sh — every GPU check of the CUDA backend in one run, on a machine with an NVIDIA GPU
# (sized for an H100/H200: about 6 minutes, at most 8). From the repository root:
#
#     bash bench/gpu.sh                  # logs in ./gpu-out, or in $OUT when it is set
#
# Steps (each one time-limited, its log in $OUT; summary.txt has one line per step, then the
# targets table):
#   env.txt        nvidia-smi, nvcc, compilers
#   build.log      ./configure --enable-cuda --cuda-arch=$CUDA_ARCH, make build/nuwa_cuda_tests (the CUDA
#                  backend linked in statically), the module build/libnuwa-cuda.so.0, build/nuwa_tests (the
#                  model tests and the loader tests), build/bench_gpu and build/bench_cuda. Where configure
#                  cannot run (CUDA images of GPU hosts often lack OpenBLAS, Criterion, PCRE2 or utf8proc),
#                  a standalone build of just the CUDA backend, its tests (with tests/cuda/shim/ standing
#                  in for Criterion), the module with its loader tests and bench_cuda, in build-gpu/
#                  (bench_gpu and the model tests need the whole library: skipped there).
#   tests.log      the CUDA op tests (tests/cuda/ops_cuda.c): every op against the scalar reference
#   module.log     the module loader tests (tests/libnuwa/cuda_module.c) on the real module, opened
#                  through NUWA_CUDA_MODULE: table, device count, device create/destroy
#   model.log      the model tests on the real module: golden parity with nuwa-pytorch (VQGAN and
#                  transformer, every layer), incremental == full forward, generation == recomputing the
#                  window with the transfer count, and the public API's cuda session == cpu session, once
#                  plainly and once with NUWA_CUDA_GRAPHS=1 (decode steps as CUDA graphs: same tokens)
#   bench_gpu.txt  bench_gpu --device cuda --json: the whole model through nuwa.h at the target sizes
#                  (VQGAN 256x256 frames/s, next-frame latency and tokens/s after 9 context frames,
#                  16 streams batched); table + JSON lines; bench_gpu_graphs.txt the same with graphs
#   ref.json, ref.log  nuwa-pytorch generate() on the same GPU (bench/ref_nuwa.py --device cuda, the
#                  target config), when `python3 -c 'import torch, nuwa_pytorch'` works here; else
#                  "reference: skipped" (nothing can be installed on a machine without network)
#   targets        in summary.txt (bench/summary_gpu.py): next-frame latency <= 16 ms, >= 20x
#                  nuwa-pytorch generate(), 16 batched streams >= 8x one stream. Reported, not pass/fail.
#   bench_ops.txt  bench_cuda --quick: per-op timings at the target model's shapes (kernel work)
#   bench_tf32.txt the same with TF32 allowed (what TF32 would buy), when time is left
#   sanitizer.log  compute-sanitizer memcheck and racecheck over a subset of the tests
#
# Variables: OUT, CUDA_ARCH (90), JOBS (all cores), GPU_STANDALONE=1 (skip configure), BUDGET (470 s),
# REF_TOKENS (256: generate() timed over the whole 10th frame), PYTHON (python3).
# Exit status: 0 when the build, the op, module and model tests passed (benchmarks, reference and sanitizer are
# reported in summary.txt either way).
set -u
cd "$(dirname "$0")/.." || exit 1
OUT=${OUT:-./gpu-out}
CUDA_ARCH=${CUDA_ARCH:-90}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 8)}
mkdir -p "$OUT"
SUMMARY=$OUT/summary.txt
: >"$SUMMARY"
T0=$(date +%s)

BUDGET=${BUDGET:-470} # seconds for everything: each step gets at most what is left

note() { echo "$*" | tee -a "$SUMMARY"; }
elapsed() { echo $(($(date +%s) - T0)); }
# limit N: N seconds, or what is left of the budget if that is less (at least 1)
limit() {
    local left=$((BUDGET - $(elapsed)))
    [ "$left" -lt 1 ] && left=1
    [ "$1" -lt "$left" ] && echo "$1" || echo "$left"
}

# ---- environment -------------------------------------------------------------------------------
{
    echo "== date"; date -u
    echo "== nvidia-smi"; nvidia-smi 2>&1 || true
    echo "== nvcc"; nvcc --version 2>&1 || true
    echo "== cc"; cc --version 2>&1 | head -1
    echo "== uname"; uname -a
} >"$OUT/env.txt" 2>&1
command -v nvcc >/dev/null || { note "FAIL env: nvcc not found"; exit 1; }
note "env: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -1)"

# ---- build ---------------------------------------------------------------------------------------
CUDA_HOME=$(dirname "$(dirname "$(command -v nvcc)")")
TESTS='' BENCH_OPS='' BENCH_GPU='' RUNENV='' MODULE='' MODTESTS='' MODELTESTS=''

standalone() {
    local B=build-gpu cudnn_inc='' cudnn_lib='' pydir
    rm -rf "$B" && mkdir -p "$B/gen" "$B/obj"
    # cuDNN from the toolkit, the system or the nvidia-cudnn wheel
    pydir=$(python3 -c 'import nvidia.cudnn, os; print(os.path.dirname(nvidia.cudnn.__file__))' 2>/dev/null)
    for d in "$CUDA_HOME/include" /usr/include /usr/include/x86_64-linux-gnu ${pydir:+"$pydir/include"}; do
        [ -f "$d/cudnn.h" ] && { cudnn_inc=$d; break; }
    done
    for d in "$CUDA_HOME/lib64" /usr/lib/x86_64-linux-gnu ${pydir:+"$pydir/lib"}; do
        for f in "$d/libcudnn.so" "$d/libcudnn.so.9"; do
            [ -f "$f" ] && [ -z "$cudnn_lib" ] && cudnn_lib=$f
        done
    done
    local have_cudnn=0
    [ -n "$cudnn_inc" ] && [ -n "$cudnn_lib" ] && have_cudnn=1
    printf '#ifndef NUWA_CONFIG_H\n#define NUWA_CONFIG_H\n#define NUWA_HAVE_CUDA 1\n#define NUWA_HAVE_CUDNN %d\n#define NUWA_PREFIX "/usr/local"\n#endif\n' \
        $have_cudnn >"$B/gen/config.h"
    echo "standalone build: cuDNN ${cudnn_lib:-not found} (headers ${cudnn_inc:-not found})"
    local inc="-I$B/gen -I. -Iinclude -Ilibnuwa -Itests -Itests/support -I$CUDA_HOME/include"
    [ -n "$cudnn_inc" ] && inc="$inc -I$cudnn_inc"
    local cflags="-std=c11 -D_GNU_SOURCE -O2 -g -fPIC -fvisibility=hidden -Wall -Wextra -Wno-unused-parameter -DNUWA_BUILDING_LIB"
    local srcs="libnuwa/ref/*.c libnuwa/util.c libnuwa/device.c libnuwa/cuda/backend.c libnuwa/cuda/ops_cuda.c tests/support/tensor.c"
    [ $have_cudnn = 1 ] && srcs="$srcs libnuwa/cuda/cudnn_conv.c"
    printf '%s\n' kernels/*.cu | xargs -P "$JOBS" -I{} sh -c \
        "nvcc -O3 -std=c++17 -arch=sm_$CUDA_ARCH -Xcompiler -fPIC -I. -Iinclude -Ilibnuwa -c {} -o $B/obj/\$(basename {} .cu).cu.o" \
        || return 1
    for f in $srcs; do
        # shellcheck disable=SC2086
        cc $cflags $inc -c "$f" -o "$B/obj/$(echo "$f" | tr / _).o" || return 1
    done
    # shellcheck disable=SC2086
    cc $cflags $inc -Itests/cuda/shim -c tests/cuda/ops_cuda.c -o "$B/ops_cuda.o" || return 1
    # shellcheck disable=SC2086
    cc $cflags $inc -c bench/bench_cuda.c -o "$B/bench_cuda.o" || return 1
    local libs="-L$CUDA_HOME/lib64 -Wl,-rpath,$CUDA_HOME/lib64 -lcublas -lcudart -lstdc++ -lm"
    if [ $have_cudnn = 1 ]; then
        libs="$libs $cudnn_lib -Wl,-rpath,$(dirname "$cudnn_lib")"
        RUNENV="LD_LIBRARY_PATH=$(dirname "$cudnn_lib")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    fi
    # shellcheck disable=SC2086
    cc -o "$B/nuwa_cuda_tests" "$B/ops_cuda.o" "$B"/obj/*.o $libs || return 1
    # shellcheck disable=SC2086
    cc -o "$B/bench_cuda" "$B/bench_cuda.o" "$B"/obj/*.o $libs || return 1
    # The module (one exported symbol: libnuwa/cuda/module.map) and the loader tests, which
    # open it through NUWA_CUDA_MODULE as libnuwa does; own directory, outside the globs above.
    mkdir -p "$B/mod"
    # shellcheck disable=SC2086
    cc $cflags $inc -c libnuwa/cuda/module.c -o "$B/mod/module.o" || return 1
    # shellcheck disable=SC2086
    cc $cflags $inc -c libnuwa/cuda_module.c -o "$B/mod/cuda_module.o" || return 1
    # shellcheck disable=SC2086
    cc $cflags $inc -Itests/cuda/shim -c tests/libnuwa/cuda_module.c -o "$B/mod/cuda_module_test.o" || return 1
    local modobjs="$B/mod/module.o $B/obj/libnuwa_util.c.o $B/obj/libnuwa_cuda_backend.c.o $B/obj/libnuwa_cuda_ops_cuda.c.o"
    [ $have_cudnn = 1 ] && modobjs="$modobjs $B/obj/libnuwa_cuda_cudnn_conv.c.o"
    # shellcheck disable=SC2086
    cc -shared -Wl,-soname,libnuwa-cuda.so.0 -Wl,--version-script=libnuwa/cuda/module.map -Wl,--no-undefined \
        -o "$B/libnuwa-cuda.so.0" $modobjs "$B"/obj/*.cu.o $libs || return 1
    cc -o "$B/nuwa_module_tests" "$B/mod/cuda_module_test.o" "$B/mod/cuda_module.o" "$B/obj/libnuwa_util.c.o" -ldl ||
        return 1
    TESTS="$B/nuwa_cuda_tests"
    BENCH_OPS="$B/bench_cuda"
    MODULE="$B/libnuwa-cuda.so.0"
    MODTESTS="$B/nuwa_module_tests"
}

built=
{
    if [ "${GPU_STANDALONE:-0}" != 1 ] && ./configure --enable-cuda --cuda-arch="$CUDA_ARCH"; then
        if timeout "$(limit 200)" make -j"$JOBS" build/nuwa_cuda_tests build/libnuwa-cuda.so.0 build/nuwa_tests \
            build/bench_gpu; then
            TESTS="build/nuwa_cuda_tests"
            MODULE="build/libnuwa-cuda.so.0"
            MODTESTS="build/nuwa_tests"
            MODELTESTS="build/nuwa_tests"
            BENCH_GPU="build/bench_gpu"
            built="configure + make"
            # the per-op benchmark links the backend's internals: its failure costs only its own step
            if timeout "$(limit 60)" make -j"$JOBS" build/bench_cuda; then
                BENCH_OPS="build/bench_cuda"
            else
                echo "== build/bench_cuda did not build: per-op timings skipped"
            fi
        fi
    fi
    if [ -z "$built" ]; then
        echo "== configure/make did not build: the standalone build of the CUDA backend instead"
        TESTS='' BENCH_OPS='' BENCH_GPU='' MODULE='' MODTESTS='' MODELTESTS=''
        if standalone; then built="standalone (build-gpu/)"; fi
    fi
} >"$OUT/build.log" 2>&1
if [ -z "$built" ]; then
    note "FAIL build ($(elapsed) s): see build.log"
    tail -30 "$OUT/build.log"
    exit 1
fi
note "ok   build: $built ($(elapsed) s)"

# ---- the CUDA backend module (libnuwa opens it at run time for device "cuda") --------------------
if [ -z "$MODULE" ]; then
    for f in build/libnuwa-cuda.so.0 build/libnuwa-cuda.so; do
        [ -f "$f" ] && { MODULE=$f; break; }
    done
fi
if [ -n "$MODULE" ]; then
    NUWA_CUDA_MODULE=$(cd "$(dirname "$MODULE")" && pwd)/$(basename "$MODULE")
    export NUWA_CUDA_MODULE
    note "ok   cuda module: NUWA_CUDA_MODULE=$NUWA_CUDA_MODULE"
elif [ -n "$BENCH_GPU" ]; then
    note "MISSING cuda module: no build/libnuwa-cuda.so* (no Makefile rule built one): CUDA sessions fail,"
    note "     bench_gpu --device cuda will say so (libnuwa's default search: next to libnuwa or the executable)"
fi

run() { env ${RUNENV:+"$RUNENV"} "$@"; }

# ---- tests ---------------------------------------------------------------------------------------
run timeout "$(limit 120)" "$TESTS" -j1 --verbose --filter 'cuda/*' >"$OUT/tests.log" 2>&1
status=$?
if [ $status = 0 ]; then
    note "ok   tests: $(grep -a 'Synthesis' "$OUT/tests.log" | tail -1) ($(elapsed) s)"
else
    note "FAIL tests (exit $status): $(grep -a 'Synthesis' "$OUT/tests.log" | tail -1) ($(elapsed) s)"
    grep -a -E "FAIL|Assertion|failed|off, max err" "$OUT/tests.log" | head -8 | sed 's/^/     /' | tee -a "$SUMMARY"
fi
grep -a -i "skipped" "$OUT/tests.log" | head -1 | sed 's/^/     /' | tee -a "$SUMMARY"
grep -a "conv2d paths" "$OUT/tests.log" | sed 's/^/     /' | tee -a "$SUMMARY"

# ---- the module, through libnuwa's loader ----------------------------------------------------------
run env NUWA_CUDA_MODULE="$PWD/$MODULE" timeout "$(limit 60)" "$MODTESTS" -j1 --verbose --filter 'cuda_module/*' \
    >"$OUT/module.log" 2>&1
rc=$?
note "$([ $rc = 0 ] && echo 'ok  ' || echo 'FAIL') module $MODULE (exit $rc): $(grep -a 'Synthesis' "$OUT/module.log" | tail -1)"
grep -a "cuda:0" "$OUT/module.log" | head -1 | sed 's/^/     /' | tee -a "$SUMMARY"
[ $rc = 0 ] || { grep -a -E "Assertion|skipped" "$OUT/module.log" | head -6 | sed 's/^/     /' | tee -a "$SUMMARY"; status=1; }

# ---- the model on the GPU: the same tests as `make test` runs on the emulator ----------------------
if [ -n "$MODELTESTS" ]; then
    for graphs in 0 1; do
        run env NUWA_CUDA_GRAPHS=$graphs timeout "$(limit 150)" "$MODELTESTS" -j1 \
            --filter "$([ $graphs = 1 ] && echo 'api_device/*' || echo '@(golden|golden_nuwa|transformer|generate|api_device)/*')" \
            >"$OUT/model$([ $graphs = 1 ] && echo _graphs).log" 2>&1
        rc=$?
        note "$([ $rc = 0 ] && echo 'ok  ' || echo 'FAIL') model tests on cuda$([ $graphs = 1 ] && echo ', CUDA graphs') (exit $rc): $(grep -a 'Synthesis' "$OUT/model$([ $graphs = 1 ] && echo _graphs).log" | tail -1) ($(elapsed) s)"
        grep -a -E "/cuda .*(DIFFERENT|max err)|skipped cuda" "$OUT/model$([ $graphs = 1 ] && echo _graphs).log" | sort -k6 -g | tail -3 | sed 's/^/     /' | tee -a "$SUMMARY"
        [ $rc = 0 ] || { grep -a -E "Assertion|FAIL" "$OUT/model$([ $graphs = 1 ] && echo _graphs).log" | head -6 | sed 's/^/     /' | tee -a "$SUMMARY"; status=1; }
    done
else
    note "skip model tests: need the configure build"
fi

# ---- the whole model on the GPU through nuwa.h -----------------------------------------------------
if [ -n "$BENCH_GPU" ]; then
    run timeout "$(limit 170)" "$BENCH_GPU" --device cuda --json --budget 120 >"$OUT/bench_gpu.txt" 2>&1
    rc=$?
    note "$([ $rc = 0 ] && echo 'ok  ' || echo "FAIL") bench_gpu --device cuda (exit $rc$([ $rc = 124 ] && echo ': timed out, the parts measured are kept')): bench_gpu.txt ($(elapsed) s)"
    grep -a -v '^{' "$OUT/bench_gpu.txt" | grep -a -E "^(measurement|VQGAN|start|push|generat|  |next-frame|[0-9]+ streams|bench_gpu: (cannot|libnuwa))" |
        sed 's/^/     /' | tee -a "$SUMMARY"
    if [ $((BUDGET - $(elapsed))) -gt 200 ]; then
        run env NUWA_CUDA_GRAPHS=1 timeout "$(limit 120)" "$BENCH_GPU" --device cuda --json --budget 60 \
            >"$OUT/bench_gpu_graphs.txt" 2>&1
        rc=$?
        note "$([ $rc = 0 ] && echo 'ok  ' || echo "FAIL") bench_gpu --device cuda with NUWA_CUDA_GRAPHS=1 (exit $rc): bench_gpu_graphs.txt ($(elapsed) s)"
        grep -a -E "^(generation|next-frame)" "$OUT/bench_gpu_graphs.txt" | sed 's/^/     /' | tee -a "$SUMMARY"
    else
        note "skip bench_gpu with CUDA graphs: not enough time left"
    fi
else
    note "skip bench_gpu: needs the configure build (the standalone build has only the CUDA backend)"
fi

# ---- nuwa-pytorch generate() on the same GPU -----------------------------------------------------
PYTHON=${PYTHON:-python3}
REF_TOKENS=${REF_TOKENS:-256}
: >"$OUT/ref.json"
REF_CONFIG='{"dim": 512, "max_video_frames": 10, "text_num_tokens": 49408, "text_max_seq_len": 256,
 "text_enc_depth": 6, "text_enc_heads": 8, "text_enc_dim_head": 64, "dec_depth": 12, "dec_heads": 8,
 "dec_dim_head": 64, "shift_video_tokens": true, "sparse_3dna_kernel_size": 3, "sparse_3dna_dilation": 1,
 "vae": {"dim": 64, "image_size": 256, "num_layers": 4, "resnet_groups": 16, "vq_codebook_size": 512,
         "vq_codebook_dim": 256}}'
if [ -z "$BENCH_GPU" ]; then
    note "reference: skipped (no bench_gpu to compare with)"
elif ! "$PYTHON" -c 'import torch, nuwa_pytorch' >/dev/null 2>&1; then
    note "reference: skipped (no torch/nuwa_pytorch on this machine)"
elif ! "$PYTHON" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' >/dev/null 2>&1; then
    note "reference: skipped (torch sees no CUDA device: $("$PYTHON" -c 'import torch; print(torch.__version__)' 2>&1 | tail -1))"
else
    # the 10th frame of a 10-frame video (prefix 2560 - REF_TOKENS), as bench_gpu's next frame
    run timeout "$(limit 150)" "$PYTHON" bench/ref_nuwa.py --device cuda --threads "$JOBS" --config "$REF_CONFIG" \
        --tokens "$REF_TOKENS" --check 4 --iters 2 --skip first --json >"$OUT/ref.json" 2>"$OUT/ref.log"
    rc=$?
    if [ $rc = 0 ]; then
        note "ok   reference: nuwa-pytorch generate() on cuda, last $REF_TOKENS tokens: ref.json ($(elapsed) s)"
    else
        note "FAIL reference (exit $rc$([ $rc = 124 ] && echo ": timed out; try REF_TOKENS=64")): ref.log ($(elapsed) s)"
        tail -3 "$OUT/ref.log" | sed 's/^/     /' | tee -a "$SUMMARY"
    fi
fi
if [ -n "$BENCH_GPU" ]; then
    if command -v "$PYTHON" >/dev/null; then
        note "targets (reported, not pass/fail):"
        "$PYTHON" bench/summary_gpu.py "$OUT/bench_gpu.txt" "$OUT/ref.json" 2>&1 | sed 's/^/     /' | tee -a "$SUMMARY"
    else
        note "targets: no $PYTHON to compute them; see bench_gpu.txt"
    fi
fi

# ---- per-op timings ------------------------------------------------------------------------------
if [ -z "$BENCH_OPS" ]; then
    note "skip bench_cuda: it did not build (build.log)"
else
    run timeout "$(limit 60)" "$BENCH_OPS" --quick >"$OUT/bench_ops.txt" 2>&1
    rc=$?
    note "$([ $rc = 0 ] && echo 'ok  ' || echo "FAIL") bench_cuda --quick, per-op (exit $rc): bench_ops.txt ($(elapsed) s)"
    grep -a -E "^(conv2d paths|bench_cuda:)" "$OUT/bench_ops.txt" | sed 's/^/     /' | tee -a "$SUMMARY"
    if [ $((BUDGET - $(elapsed))) -gt 120 ]; then
        run timeout "$(limit 45)" "$BENCH_OPS" --quick --tf32 >"$OUT/bench_tf32.txt" 2>&1
        rc=$?
        note "$([ $rc = 0 ] && echo 'ok  ' || echo "FAIL") bench_cuda --quick --tf32 (exit $rc): bench_tf32.txt ($(elapsed) s)"
    else
        note "skip bench_cuda --tf32: not enough time left"
    fi
fi

# ---- compute-sanitizer -------------------------------------------------------------------------
SANITIZER=$(command -v compute-sanitizer)
for f in "$CUDA_HOME/bin/compute-sanitizer" "$CUDA_HOME/compute-sanitizer/compute-sanitizer"; do
    [ -z "$SANITIZER" ] && [ -x "$f" ] && SANITIZER=$f
done
if [ -n "$SANITIZER" ]; then
    {
        for run_ in "memcheck cuda/attn_*" "memcheck cuda/vq_assign" "racecheck cuda/attn_gather" \
                    "racecheck cuda/layer_norm_chan" "memcheck cuda/group_norm" "racecheck cuda/vq_assign"; do
            # shellcheck disable=SC2086
            set -- $run_
            echo "== compute-sanitizer --tool $1 $2"
            run timeout "$(limit 35)" "$SANITIZER" --tool "$1" --error-exitcode 3 "$TESTS" -j1 --filter "$2" 2>&1 |
                tail -8
            echo "exit ${PIPESTATUS[0]}"
        done
    } >"$OUT/sanitizer.log" 2>&1
    errs=$(grep -c '^exit 3' "$OUT/sanitizer.log")
    slow=$(grep -c '^exit 124' "$OUT/sanitizer.log")
    note "$([ "$errs" = 0 ] && echo 'ok  ' || echo 'FAIL') sanitizer: $errs runs with errors, $slow cut short ($(elapsed) s)"
else
    note "skip sanitizer: compute-sanitizer not found"
fi
note "total $(elapsed) s"
exit $status
