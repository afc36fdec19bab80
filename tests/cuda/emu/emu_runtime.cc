/*
 * emu_runtime.cc — the CPU side of the kernel emulator (emu.h): the block scheduler that runs
 * a block's threads as coroutines, and the subset of the CUDA runtime and cuBLAS that
 * libnuwa/cuda/ calls, implemented on host memory against the real headers' declarations.
 * Test-only (linked into build/nuwa_cuda_emu_tests, never into libnuwa).
 *
 * The emulated device: one device "nuwa CPU emulator", 4 SMs, 48 KiB of shared memory per
 * block, 64 KiB with opt-in (a small GPU, so the tests reach the fallbacks). Everything runs
 * synchronously; streams are tokens. cudaMalloc'ed memory starts as NaN bytes. cuBLAS GEMMs
 * are plain loops with cuBLAS's argument checks (a wrong leading dimension is an error here
 * too). Environment: NW_EMU_NO_DEVICE=1 makes cudaGetDeviceCount report no device.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>

#include <map>
#include <vector>

#include "emu.h" /* first: it defines __device__ & co. before CUDA's headers do */

#include <cublas_v2.h>

/* AddressSanitizer builds (make test SANITIZE=1) are told about every stack switch. */
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#define EMU_ASAN 1
#else
#define EMU_ASAN 0
#endif

#define EMU_SMEM_DEFAULT (48 * 1024)
#define EMU_SMEM_OPTIN (64 * 1024)
#define EMU_SMS 4
#ifdef __SANITIZE_ADDRESS__
#define EMU_STACK (512 * 1024)
#else
#define EMU_STACK (128 * 1024)
#endif

/* Coroutine switch. On x86-64 a few instructions (callee-saved registers and the stack
 * pointer), since ucontext's swapcontext makes a system call per switch and the tests switch
 * millions of times; ucontext elsewhere. */
#if defined(__x86_64__) && defined(__linux__)
#define EMU_FAST_SWITCH 1
extern "C" void nw_emu_switch(void **save_sp, void *new_sp);
__asm__(".text\n"
        ".globl nw_emu_switch\n"
        ".type nw_emu_switch,@function\n"
        "nw_emu_switch:\n"
        "    pushq %rbp\n"
        "    pushq %rbx\n"
        "    pushq %r12\n"
        "    pushq %r13\n"
        "    pushq %r14\n"
        "    pushq %r15\n"
        "    movq %rsp, (%rdi)\n"
        "    movq %rsi, %rsp\n"
        "    popq %r15\n"
        "    popq %r14\n"
        "    popq %r13\n"
        "    popq %r12\n"
        "    popq %rbx\n"
        "    popq %rbp\n"
        "    ret\n"
        ".size nw_emu_switch, .-nw_emu_switch\n"
        ".section .note.GNU-stack,\"\",@progbits\n"
        ".text\n");
#else
#define EMU_FAST_SWITCH 0
#endif

/* The kernels' __shared__ variables (emu.h puts them in this section). */
extern "C" char __start_nw_emu_shared[] __attribute__((weak));
extern "C" char __stop_nw_emu_shared[] __attribute__((weak));

namespace {

enum ThrState { READY, WAIT_BLOCK, WAIT_WARP, DONE };

struct Thr {
#if EMU_FAST_SWITCH
    void *sp;
#else
    ucontext_t uc;
#endif
    NwEmuIndex ix;
    int lane, warp, state;
    unsigned shuffles; /* shuffles done: picks the slot set */
    char *stack;
};

struct Emu {
#if EMU_FAST_SWITCH
    void *sched_sp;
#else
    ucontext_t sched;
#endif
    std::vector<Thr> thr;
    std::vector<char *> stacks;
    std::vector<unsigned char> slots;
    Thr *cur = nullptr;
    void (*thunk)(void *) = nullptr;
    void *arg = nullptr;
    unsigned char *dyn = nullptr;
    cudaError_t last_error = cudaSuccess;
    std::map<const void *, int> smem_attr; /* kernel -> max dynamic shared memory */
    std::map<void *, size_t> allocs;
    unsigned long launches = 0; /* odd launches schedule in reverse order */
    const void *sched_stack = nullptr; /* the scheduler's stack, for AddressSanitizer */
    size_t sched_stack_size = 0;

    ~Emu()
    {
        for (char *s : stacks)
            free(s);
    }
};

Emu g;

/* AddressSanitizer's fiber protocol around each switch (no-ops in other builds). */
#if EMU_ASAN
#define SWITCH_BEGIN(save, bottom, size) __sanitizer_start_switch_fiber(save, bottom, size)
#define SWITCH_END(save, bottom, size) __sanitizer_finish_switch_fiber(save, bottom, size)
#else
#define SWITCH_BEGIN(save, bottom, size) ((void)(save), (void)(bottom), (void)(size))
#define SWITCH_END(save, bottom, size) ((void)(save), (void)(bottom), (void)(size))
#endif

void run_thunk()
{
    SWITCH_END(nullptr, &g.sched_stack, &g.sched_stack_size); /* first entry into this stack */
    g.thunk(g.arg);
    g.cur->state = DONE;
    SWITCH_BEGIN(nullptr, g.sched_stack, g.sched_stack_size); /* leaving it for good */
}

void prepare_stack(char *stack)
{
#if EMU_ASAN
    __asan_unpoison_memory_region(stack, EMU_STACK); /* frames of the last block's threads */
#else
    (void)stack;
#endif
}

#if EMU_FAST_SWITCH
[[noreturn]] void entry()
{
    run_thunk();
    void *dead;
    nw_emu_switch(&dead, g.sched_sp); /* never resumed */
    abort();
}

/* A fresh coroutine: the stack nw_emu_switch pops (six registers, then entry as the return
 * address, 16-byte aligned as after a call). */
void start(Thr &t, char *stack)
{
    prepare_stack(stack);
    t.stack = stack;
    uintptr_t top = ((uintptr_t)(stack + EMU_STACK) & ~(uintptr_t)15) - 16;
    void **sp = (void **)top;
    *sp = (void *)entry;
    for (int i = 0; i < 6; i++)
        *--sp = nullptr;
    t.sp = sp;
}

void to_thread(Thr &t)
{
    void *fake = nullptr;
    SWITCH_BEGIN(&fake, t.stack, EMU_STACK);
    nw_emu_switch(&g.sched_sp, t.sp);
    SWITCH_END(fake, nullptr, nullptr);
}

void to_sched(Thr &t)
{
    void *fake = nullptr;
    SWITCH_BEGIN(&fake, g.sched_stack, g.sched_stack_size);
    nw_emu_switch(&t.sp, g.sched_sp);
    SWITCH_END(fake, nullptr, nullptr);
}
#else
void entry()
{
    run_thunk();
}

void start(Thr &t, char *stack)
{
    prepare_stack(stack);
    t.stack = stack;
    getcontext(&t.uc);
    t.uc.uc_stack.ss_sp = stack;
    t.uc.uc_stack.ss_size = EMU_STACK;
    t.uc.uc_link = &g.sched;
    makecontext(&t.uc, entry, 0);
}

void to_thread(Thr &t)
{
    void *fake = nullptr;
    SWITCH_BEGIN(&fake, t.stack, EMU_STACK);
    swapcontext(&g.sched, &t.uc);
    SWITCH_END(fake, nullptr, nullptr);
}

void to_sched(Thr &t)
{
    void *fake = nullptr;
    SWITCH_BEGIN(&fake, g.sched_stack, g.sched_stack_size);
    swapcontext(&t.uc, &g.sched);
    SWITCH_END(fake, nullptr, nullptr);
}
#endif

void fail(const char *what)
{
    fprintf(stderr, "CUDA emulator: kernel bug: %s", what);
    if (g.cur)
        fprintf(stderr, " (block %u,%u,%u thread %u,%u,%u)", g.cur->ix.bid.x, g.cur->ix.bid.y, g.cur->ix.bid.z,
                g.cur->ix.tid.x, g.cur->ix.tid.y, g.cur->ix.tid.z);
    fprintf(stderr, "\n");
    abort();
}

void yield(int state)
{
    Thr *t = g.cur;
    if (!t)
        fail("barrier outside a kernel");
    t->state = state;
    to_sched(*t);
}

/* Releases warp w when all its live lanes wait at a warp sync. */
bool release_warp(int w, int nthreads)
{
    const int t0 = w * 32, t1 = t0 + 32 < nthreads ? t0 + 32 : nthreads;
    int at_warp = 0, wdone = 0;
    for (int t = t0; t < t1; t++) {
        at_warp += g.thr[t].state == WAIT_WARP;
        wdone += g.thr[t].state == DONE;
    }
    if (!at_warp || at_warp + wdone != t1 - t0)
        return false;
    if (wdone || t1 - t0 < 32) {
        g.cur = &g.thr[t0];
        fail(wdone ? "warp sync/shuffle that some lanes never reach" : "warp sync/shuffle in a partial warp");
    }
    for (int t = t0; t < t1; t++)
        g.thr[t].state = READY;
    return true;
}

/* Runs one block. Scheduling runs ahead: the first ready thread in `reverse` or forward order
 * runs until it blocks, so the first warp (forward) or the last (reverse) gets as far as it
 * can before the others start: a missing barrier between a producer and a consumer in
 * different warps or lanes shows up as wrong results under one of the two orders. */
void run_block(int nthreads, uint3 bid, dim3 grid, dim3 block, size_t smem, bool reverse)
{
    if (smem)
        memset(g.dyn, 0xff, smem);
    const uintptr_t s0 = (uintptr_t)__start_nw_emu_shared, s1 = (uintptr_t)__stop_nw_emu_shared;
    if (s1 > s0) /* static shared memory: NaN bytes too */
        memset(__start_nw_emu_shared, 0xff, s1 - s0);
    for (int t = 0; t < nthreads; t++) {
        Thr &th = g.thr[t];
        th.ix.tid = make_uint3(t % block.x, t / block.x % block.y, t / (block.x * block.y));
        th.ix.bid = bid;
        th.ix.bdim = block;
        th.ix.gdim = grid;
        th.lane = t % 32;
        th.warp = t / 32;
        th.state = READY;
        th.shuffles = 0;
        start(th, g.stacks[t]);
    }
    int from = 0; /* no ready thread before this position */
    for (;;) {
        int q = from;
        for (; q < nthreads; q++)
            if (g.thr[reverse ? nthreads - 1 - q : q].state == READY)
                break;
        if (q < nthreads) {
            Thr &th = g.thr[reverse ? nthreads - 1 - q : q];
            g.cur = &th;
            to_thread(th);
            g.cur = nullptr;
            if (th.state == WAIT_WARP)
                release_warp(th.warp, nthreads);
            from = q > 31 ? q - 31 : 0; /* the released lanes are within 31 positions */
            continue;
        }
        int live = 0, at_block = 0, done = 0;
        for (int t = 0; t < nthreads; t++) {
            live += g.thr[t].state != DONE;
            done += g.thr[t].state == DONE;
            at_block += g.thr[t].state == WAIT_BLOCK;
        }
        if (!live)
            return;
        if (at_block == live) {
            if (done)
                fail("__syncthreads() that some threads of the block never reach (they returned)");
            for (int t = 0; t < nthreads; t++)
                g.thr[t].state = READY;
            from = 0;
            continue;
        }
        bool released = false;
        for (int w = 0; w < (nthreads + 31) / 32; w++)
            released |= release_warp(w, nthreads);
        if (!released)
            fail("deadlock: threads wait at __syncthreads() while others wait at a warp sync");
        from = 0;
    }
}

} // namespace

NwEmuIndex *nw_emu_index(void)
{
    if (!g.cur)
        fail("threadIdx/blockIdx outside a kernel");
    return &g.cur->ix;
}

void nw_emu_syncthreads(void)
{
    yield(WAIT_BLOCK);
}

void nw_emu_syncwarp(void)
{
    yield(WAIT_WARP);
}

unsigned char *nw_emu_warp_slots(void)
{
    if (!g.cur)
        fail("shuffle outside a kernel");
    return g.slots.data() + ((size_t)g.cur->warp * 2 + (g.cur->shuffles++ & 1)) * 32 * 8;
}

int nw_emu_lane(void)
{
    return g.cur ? g.cur->lane : 0;
}

void *nw_emu_dyn_smem(void)
{
    return g.dyn;
}

void nw_emu_abort(const char *what)
{
    fail(what);
}

void nw_emu_run(const void *kern, dim3 grid, dim3 block, size_t smem, void (*thunk)(void *), void *arg)
{
    const unsigned long long nthreads = (unsigned long long)block.x * block.y * block.z;
    if (g.cur)
        fail("kernel launch from a kernel");
    if (!nthreads || nthreads > 1024 || block.z > 64 || !grid.x || !grid.y || !grid.z || grid.y > 65535 ||
        grid.z > 65535 || grid.x > 0x7fffffffu) {
        g.last_error = cudaErrorInvalidConfiguration;
        return;
    }
    if (smem > EMU_SMEM_DEFAULT) {
        auto it = g.smem_attr.find(kern);
        if (it == g.smem_attr.end() || (size_t)it->second < smem) {
            g.last_error = cudaErrorInvalidValue;
            return;
        }
    }
    while (g.stacks.size() < nthreads) {
        char *s = (char *)malloc(EMU_STACK);
        if (!s)
            fail("out of memory for thread stacks");
        g.stacks.push_back(s);
    }
    g.thr.resize(nthreads);
    g.slots.assign((nthreads + 31) / 32 * 2 * 32 * 8, 0);
    free(g.dyn);
    g.dyn = (unsigned char *)malloc(smem ? smem : 1);
    g.thunk = thunk;
    g.arg = arg;
    for (unsigned z = 0; z < grid.z; z++)
        for (unsigned y = 0; y < grid.y; y++)
            for (unsigned x = 0; x < grid.x; x++)
                run_block((int)nthreads, make_uint3(x, y, z), grid, block, smem, g.launches % 2 == 1);
    g.launches++;
    free(g.dyn);
    g.dyn = nullptr;
}

/* ---- CUDA runtime ------------------------------------------------------------------------ */

static cudaError_t ret(cudaError_t e)
{
    if (e != cudaSuccess)
        g.last_error = e;
    return e;
}

static bool no_device()
{
    const char *e = getenv("NW_EMU_NO_DEVICE");
    return e && *e && strcmp(e, "0");
}

extern "C" {

cudaError_t cudaGetDeviceCount(int *count)
{
    *count = 0;
    if (no_device())
        return ret(cudaErrorNoDevice);
    *count = 1;
    return cudaSuccess;
}

cudaError_t cudaSetDevice(int device)
{
    return ret(device == 0 && !no_device() ? cudaSuccess : cudaErrorInvalidDevice);
}

cudaError_t cudaGetDevice(int *device)
{
    *device = 0;
    return cudaSuccess;
}

cudaError_t cudaGetDeviceProperties(struct cudaDeviceProp *prop, int device)
{
    if (device != 0)
        return ret(cudaErrorInvalidDevice);
    memset(prop, 0, sizeof(*prop));
    snprintf(prop->name, sizeof(prop->name), "nuwa CPU emulator");
    prop->major = 9;
    prop->minor = 0;
    prop->multiProcessorCount = EMU_SMS;
    prop->sharedMemPerBlock = EMU_SMEM_DEFAULT;
    prop->sharedMemPerBlockOptin = EMU_SMEM_OPTIN;
    prop->totalGlobalMem = (size_t)16 << 30;
    prop->warpSize = 32;
    prop->maxThreadsPerBlock = 1024;
    return cudaSuccess;
}

cudaError_t cudaMalloc(void **p, size_t size)
{
    *p = nullptr;
    if (size > ((size_t)16 << 30))
        return ret(cudaErrorMemoryAllocation);
    const size_t n = (size + 255) & ~(size_t)255;
    if (posix_memalign(p, 256, n ? n : 256))
        return ret(cudaErrorMemoryAllocation);
    memset(*p, 0xff, n ? n : 256); /* uninitialised device memory reads as NaN */
    g.allocs[*p] = size;
    return cudaSuccess;
}

cudaError_t cudaFree(void *p)
{
    if (!p)
        return cudaSuccess;
    auto it = g.allocs.find(p);
    if (it == g.allocs.end())
        return ret(cudaErrorInvalidValue);
    g.allocs.erase(it);
    free(p);
    return cudaSuccess;
}

cudaError_t cudaMemGetInfo(size_t *free_b, size_t *total)
{
    size_t used = 0;
    for (auto &a : g.allocs)
        used += a.second;
    *total = (size_t)16 << 30;
    *free_b = *total - used;
    return cudaSuccess;
}

cudaError_t cudaMemcpy(void *dst, const void *src, size_t count, enum cudaMemcpyKind kind)
{
    (void)kind;
    if (count)
        memmove(dst, src, count);
    return cudaSuccess;
}

cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t count, enum cudaMemcpyKind kind, cudaStream_t s)
{
    (void)s;
    return cudaMemcpy(dst, src, count, kind);
}

cudaError_t cudaMemsetAsync(void *dst, int value, size_t count, cudaStream_t s)
{
    (void)s;
    memset(dst, value, count);
    return cudaSuccess;
}

cudaError_t cudaMemset(void *dst, int value, size_t count)
{
    memset(dst, value, count);
    return cudaSuccess;
}

cudaError_t cudaStreamCreateWithFlags(cudaStream_t *s, unsigned int flags)
{
    (void)flags;
    *s = (cudaStream_t)malloc(16);
    return *s ? cudaSuccess : ret(cudaErrorMemoryAllocation);
}

cudaError_t cudaStreamDestroy(cudaStream_t s)
{
    free(s);
    return cudaSuccess;
}

cudaError_t cudaStreamSynchronize(cudaStream_t s)
{
    (void)s;
    return cudaSuccess;
}

cudaError_t cudaDeviceSynchronize(void)
{
    return cudaSuccess;
}

cudaError_t cudaGetLastError(void)
{
    const cudaError_t e = g.last_error;
    g.last_error = cudaSuccess;
    return e;
}

cudaError_t cudaPeekAtLastError(void)
{
    return g.last_error;
}

cudaError_t cudaFuncSetAttribute(const void *func, enum cudaFuncAttribute attr, int value)
{
    if (attr != cudaFuncAttributeMaxDynamicSharedMemorySize)
        return cudaSuccess;
    if (value < 0 || value > EMU_SMEM_OPTIN)
        return ret(cudaErrorInvalidValue);
    g.smem_attr[func] = value;
    return cudaSuccess;
}

const char *cudaGetErrorName(cudaError_t e)
{
    switch (e) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
    case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
    case cudaErrorNoDevice: return "cudaErrorNoDevice";
    default: return "cudaErrorUnknown";
    }
}

const char *cudaGetErrorString(cudaError_t e)
{
    switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorNoDevice: return "no CUDA-capable device is detected";
    default: return "unknown error";
    }
}

/* ---- cuBLAS -------------------------------------------------------------------------------- */

cublasStatus_t cublasCreate_v2(cublasHandle_t *h)
{
    *h = (cublasHandle_t)malloc(16);
    return *h ? CUBLAS_STATUS_SUCCESS : CUBLAS_STATUS_ALLOC_FAILED;
}

cublasStatus_t cublasDestroy_v2(cublasHandle_t h)
{
    free(h);
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetStream_v2(cublasHandle_t h, cudaStream_t s)
{
    (void)h;
    (void)s;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetWorkspace_v2(cublasHandle_t h, void *ws, size_t bytes)
{
    (void)h;
    (void)ws;
    (void)bytes;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetMathMode(cublasHandle_t h, cublasMath_t mode)
{
    (void)h;
    (void)mode;
    return CUBLAS_STATUS_SUCCESS;
}

const char *cublasGetStatusString(cublasStatus_t st)
{
    switch (st) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    default: return "CUBLAS_STATUS_INTERNAL_ERROR";
    }
}

cublasStatus_t cublasSgemmStridedBatched(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n,
                                         int k, const float *alpha, const float *A, int lda, long long sa,
                                         const float *B, int ldb, long long sb, const float *beta, float *C, int ldc,
                                         long long sc, int batch)
{
    (void)h;
    const bool at = ta != CUBLAS_OP_N, bt = tb != CUBLAS_OP_N;
    if (m < 0 || n < 0 || k < 0 || batch < 0 || lda < (at ? (k > 1 ? k : 1) : (m > 1 ? m : 1)) ||
        ldb < (bt ? (n > 1 ? n : 1) : (k > 1 ? k : 1)) || ldc < (m > 1 ? m : 1))
        return CUBLAS_STATUS_INVALID_VALUE;
    for (int b = 0; b < batch; b++) {
        const float *Ab = A + b * sa, *Bb = B + b * sb;
        float *Cb = C + b * sc;
        for (int j = 0; j < n; j++)
            for (int i = 0; i < m; i++) {
                float acc = 0.f;
                for (int l = 0; l < k; l++) {
                    const float a = at ? Ab[(size_t)i * lda + l] : Ab[(size_t)l * lda + i];
                    const float bv = bt ? Bb[(size_t)l * ldb + j] : Bb[(size_t)j * ldb + l];
                    acc += a * bv;
                }
                float *c = Cb + (size_t)j * ldc + i;
                *c = *beta == 0.f ? *alpha * acc : *alpha * acc + *beta * *c;
            }
    }
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSgemm_v2(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                              const float *alpha, const float *A, int lda, const float *B, int ldb, const float *beta,
                              float *C, int ldc)
{
    return cublasSgemmStridedBatched(h, ta, tb, m, n, k, alpha, A, lda, 0, B, ldb, 0, beta, C, ldc, 0, 1);
}

} /* extern "C" */
