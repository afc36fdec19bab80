/*
 * nuwa.h — public API of libnuwa, a C implementation of the NUWA generative video model
 * (VQGAN frame tokenizer + 3D-nearby-attention transformer), numerically matching
 * nuwa-pytorch 0.7.8.
 *
 * Usage: tokenize RGB frames and decode them back.
 *
 *     NuwaModel *model = NULL;
 *     NuwaSession *sess = NULL;
 *     NuwaModelParams mp;
 *     NuwaSessionParams sp;
 *     nuwa_model_params_default(&mp);
 *     int err = nuwa_model_load(&model, "model.gguf", &mp);
 *     if (err < 0) { fprintf(stderr, "%s\n", nuwa_strerror(err)); return 1; }
 *     nuwa_session_params_default(&sp);
 *     sp.n_threads = 4;
 *     err = nuwa_session_create(&sess, model, &sp);
 *
 *     NuwaVaeInfo info;
 *     nuwa_model_vae_info(model, &info);           // frame side, tokens per frame, ...
 *     NuwaFrame f = { NUWA_FRAME_RGB24, info.image_size, info.image_size, 3,
 *                     rgb_pixels, 3 * info.image_size, 0 };
 *     int32_t *tokens = malloc(sizeof(*tokens) * info.tokens_per_frame);
 *     err = nuwa_vae_encode(sess, &f, 1, tokens);   // one frame -> fmap x fmap token grid
 *     err = nuwa_vae_decode(sess, tokens, 1, &f);   // and back into the same buffer
 *
 *     nuwa_session_destroy(&sess);
 *     nuwa_model_unref(&model);
 *
 * Conventions
 * - Every function returning int returns 0 on success or a negative NUWA_ERR_* code; the
 *   reason is logged through the log callback of the handle involved (the library never
 *   prints and never exits).
 * - Destroy/unref functions take a pointer to the handle, set it to NULL and accept
 *   pointers to NULL.
 * - Parameter structs are only read during the call. Input buffers are borrowed; output
 *   buffers are provided by the caller.
 * - ABI policy: fill every parameter struct with its *_params_default function first, then
 *   set fields. Structs only grow at the end within a major version; new fields first take
 *   the place of `reserved_*` members (so sizes stay the same within a minor series), and a
 *   zero/NULL reserved member always means "the behaviour before that field existed". Until
 *   1.0 the minor version may change sizes; the soname (libnuwa.so.0) changes with the major.
 *
 * Thread-safety: a NuwaModel is immutable after load and reference-counted atomically; it
 * can be shared by any number of sessions on any threads. A NuwaSession must be used by one
 * thread at a time.
 */
#ifndef NUWA_H
#define NUWA_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(NUWA_BUILDING_LIB) && defined(__GNUC__)
#define NUWA_API __attribute__((visibility("default")))
#else
#define NUWA_API
#endif

#define NUWA_VERSION_MAJOR 0
#define NUWA_VERSION_MINOR 1
#define NUWA_VERSION_PATCH 0

/** Error codes (all negative; 0 is success). */
enum NuwaError {
    NUWA_OK = 0,
    NUWA_ERR_NOMEM = -1,       /**< an allocation failed */
    NUWA_ERR_INVAL = -2,       /**< invalid argument: NULL handle, wrong frame size, bad token, ... */
    NUWA_ERR_IO = -3,          /**< a file could not be opened, read or mapped */
    NUWA_ERR_BAD_MODEL = -4,   /**< the model file is malformed, truncated or inconsistent */
    NUWA_ERR_UNSUPPORTED = -5, /**< valid request that this build does not support */
    NUWA_ERR_BACKEND = -6,     /**< a compute backend (BLAS, CUDA) failed */
    NUWA_ERR_AGAIN = -7,       /**< more input is needed first */
    NUWA_ERR_EOF = -8,         /**< no more output */
};

/** Returns a static English description of an error code (never NULL). */
NUWA_API const char *nuwa_strerror(int err);

/** Returns the library version as "MAJOR.MINOR.PATCH". */
NUWA_API const char *nuwa_version(void);

/** Log levels; a callback receives messages with level <= the configured level. */
enum NuwaLogLevel {
    NUWA_LOG_QUIET = -1,
    NUWA_LOG_ERROR = 0,
    NUWA_LOG_WARNING = 1,
    NUWA_LOG_INFO = 2,
    NUWA_LOG_DEBUG = 3,
};

/** Log callback. `fmt`/`ap` are printf-style; messages end with a newline. */
typedef void (*NuwaLogFn)(void *opaque, int level, const char *fmt, va_list ap);

/* -------------------------------------------------------------------------------------- */
/* Model                                                                                    */

typedef struct NuwaModel NuwaModel;

typedef struct NuwaModelParams {
    NuwaLogFn log_cb;  /**< used only during nuwa_model_load, never kept; NULL = silent */
    void *log_opaque;
    int log_level;     /**< enum NuwaLogLevel; default NUWA_LOG_WARNING */
    int reserved_i[8];      /**< must be 0 (nuwa_model_params_default) */
    void *reserved_p[4];    /**< must be NULL */
} NuwaModelParams;

NUWA_API void nuwa_model_params_default(NuwaModelParams *p);

/**
 * Loads a model file (GGUF v3, see docs/FORMAT.md). The file is mapped, fully validated
 * (header, metadata, tensor table, extents, shapes against the hyperparameters) and its
 * weights converted to float32.
 * @param out  receives the model (reference count 1); untouched on failure
 * @param path file name
 * @param p    parameters, or NULL for the defaults
 * @return 0, NUWA_ERR_INVAL (NULL argument), NUWA_ERR_IO (cannot open/map),
 *         NUWA_ERR_BAD_MODEL (malformed file; the log says what is wrong), NUWA_ERR_NOMEM
 */
NUWA_API int nuwa_model_load(NuwaModel **out, const char *path, const NuwaModelParams *p);

/** Adds a reference; returns m. Thread-safe. */
NUWA_API NuwaModel *nuwa_model_ref(NuwaModel *m);

/** Drops a reference, frees the model on the last one, sets *m = NULL. Thread-safe. */
NUWA_API void nuwa_model_unref(NuwaModel **m);

/** Hyperparameters of the VQGAN frame tokenizer. */
typedef struct NuwaVaeInfo {
    int image_size;        /**< frames are image_size x image_size */
    int channels;          /**< 3 (RGB) or 1 (gray) */
    int dim;               /**< base width */
    int num_layers;        /**< down/up-sampling stages */
    int fmap_size;         /**< token grid side = image_size / 2^num_layers */
    int tokens_per_frame;  /**< fmap_size^2 */
    int codebook_size;     /**< number of codes; tokens are in [0, codebook_size) */
    int codebook_dim;
    int feature_dim;       /**< encoder output width (dim * layer_mults[last]) */
    int use_cosine_sim;
    int attn_heads, attn_dim_head, resnet_groups, first_conv_kernel_size;
    int layer_mults[16], num_resnet_blocks[16], use_attn[16]; /**< per stage, num_layers used */
} NuwaVaeInfo;

/** Fills *info. Returns 0 or NUWA_ERR_INVAL. */
NUWA_API int nuwa_model_vae_info(const NuwaModel *m, NuwaVaeInfo *info);

/** One tensor of the model file, as stored (shape in PyTorch order, outermost first). */
typedef struct NuwaTensorInfo {
    const char *name;      /**< owned by the model */
    const char *type;      /**< "F32", "F16", "BF16", "I32", ... */
    int n_dims;
    int64_t shape[4];
    uint64_t offset;       /**< byte offset of the data within the file */
    uint64_t size;         /**< bytes */
} NuwaTensorInfo;

/** Number of tensors in the model file. */
NUWA_API int nuwa_model_tensor_count(const NuwaModel *m);
/** Describes tensor i (0 <= i < count). Returns 0 or NUWA_ERR_INVAL. */
NUWA_API int nuwa_model_tensor_info(const NuwaModel *m, int i, NuwaTensorInfo *info);

/* -------------------------------------------------------------------------------------- */
/* Session                                                                                  */

typedef struct NuwaSession NuwaSession;

typedef struct NuwaSessionParams {
    int n_threads;     /**< CPU threads; 0 = all cores (default) */
    NuwaLogFn log_cb;  /**< session log; NULL = silent */
    void *log_opaque;
    int log_level;     /**< default NUWA_LOG_WARNING */
    /** Compute device: NULL or "cpu" (default), "cuda" (= "cuda:0"), "cuda:N". A CUDA device
     * loads the CUDA backend module on first use; the model's weights are uploaded once per
     * device and shared by its sessions there. No module, driver or device, a device index that
     * does not exist, or too little device memory fails nuwa_session_create
     * (NUWA_ERR_UNSUPPORTED / NUWA_ERR_INVAL / NUWA_ERR_NOMEM) with a message naming the
     * cause. n_threads does not apply to CUDA sessions. */
    const char *device;
    int reserved_i[8];      /**< must be 0 (nuwa_session_params_default) */
    void *reserved_p[4];    /**< must be NULL */
} NuwaSessionParams;

NUWA_API void nuwa_session_params_default(NuwaSessionParams *p);

/**
 * Creates a session (scratch memory, thread settings) on a model; takes a model reference.
 * @return 0, NUWA_ERR_INVAL, NUWA_ERR_NOMEM
 */
NUWA_API int nuwa_session_create(NuwaSession **out, NuwaModel *m, const NuwaSessionParams *p);

/** Frees the session and its model reference; sets *s = NULL. */
NUWA_API void nuwa_session_destroy(NuwaSession **s);

/** Sets the number of CPU threads (0 = all cores). Results do not depend on it. */
NUWA_API int nuwa_session_set_threads(NuwaSession *s, int n_threads);

/* -------------------------------------------------------------------------------------- */
/* Frames and the VQGAN tokenizer                                                           */

enum NuwaFrameFormat {
    NUWA_FRAME_RGB24 = 0,  /**< packed 8-bit R,G,B; value v means v/255 */
    NUWA_FRAME_GRAY8 = 1,  /**< 8-bit gray (1-channel models) */
    NUWA_FRAME_FLOAT = 2,  /**< planar float32, one plane per channel, model units (0..1) */
};

/**
 * A frame in caller memory.
 * 8-bit formats: `data` points at row 0, `stride` is bytes between rows.
 * NUWA_FRAME_FLOAT: `data` points at plane 0, `stride` is floats between rows and
 * `plane_stride` floats between planes (0 = stride * height).
 * Decoding into 8-bit formats rounds and clamps to 0..255.
 */
typedef struct NuwaFrame {
    int format;            /**< enum NuwaFrameFormat */
    int width, height;
    int channels;          /**< must equal the model's channels */
    void *data;
    ptrdiff_t stride;
    ptrdiff_t plane_stride;
} NuwaFrame;

/**
 * Tokenizes n frames with the VQGAN encoder + vector quantizer.
 * @param frames  n frames of exactly image_size x image_size with the model's channel count
 *                (resizing is the caller's job)
 * @param tokens  receives n * tokens_per_frame indices, frame-major, raster order
 * @return 0, NUWA_ERR_INVAL (wrong size/channels/format; logged), NUWA_ERR_NOMEM
 */
NUWA_API int nuwa_vae_encode(NuwaSession *s, const NuwaFrame *frames, int n, int32_t *tokens);

/**
 * Decodes n token grids into frames.
 * @param tokens  n * tokens_per_frame indices in [0, codebook_size)
 * @param frames  n caller-allocated frames of the model's size and channel count
 * @return 0, NUWA_ERR_INVAL (bad token or frame; logged), NUWA_ERR_NOMEM
 */
NUWA_API int nuwa_vae_decode(NuwaSession *s, const int32_t *tokens, int n, NuwaFrame *frames);

/* -------------------------------------------------------------------------------------- */
/* The NUWA transformer: text-to-video and video prediction                                */

/** Hyperparameters of the transformer; `present` is 0 for tokenizer-only model files. */
typedef struct NuwaTransformerInfo {
    int present;
    int dim;
    int max_video_frames;    /**< frames in the attention window */
    int text_max_seq_len;    /**< text tokens (padded with id 0) */
    int text_num_tokens;
    int enc_depth, dec_depth, dec_heads, dec_dim_head;
    int kernel[3];           /**< 3DNA window (frames, rows, cols) */
    int reversible;          /**< decoder is reversible */
    int has_tokenizer;       /**< the file carries the BPE merges (text prompts accepted) */
} NuwaTransformerInfo;

NUWA_API int nuwa_model_transformer_info(const NuwaModel *m, NuwaTransformerInfo *info);

/** Progress callback: `done` of `total` tokens; return non-zero to stop (the call then
 * returns NUWA_ERR_AGAIN with the tokens made so far kept). */
typedef int (*NuwaProgressFn)(void *opaque, int64_t done, int64_t total);

typedef struct NuwaGenParams {
    float temperature;       /**< > 0; default 1 */
    double filter_thres;     /**< top-k keeps max(int((1 - filter_thres) * codebook_size), 1)
                                  tokens, computed in double as nuwa-pytorch; in [0, 1);
                                  default 0.9 */
    float cond_scale;        /**< classifier-free guidance scale; 1 = off; default 2 */
    uint64_t seed;           /**< sampling seed; results depend only on it (not on threads) */
    int reference_guidance;  /**< 1: reproduce nuwa-pytorch's guidance (its unconditional pass
                                  re-reads the conditional outputs, bug B2); default 0 */
    int reference_window;    /**< 1: reproduce nuwa-pytorch's sliding window beyond
                                  max_video_frames (bug B5); default 0 */
    NuwaProgressFn progress; /**< may be NULL */
    void *progress_opaque;
    int reserved_i[8];       /**< must be 0 (nuwa_gen_params_default) */
    void *reserved_p[4];     /**< must be NULL */
} NuwaGenParams;

NUWA_API void nuwa_gen_params_default(NuwaGenParams *p);

/**
 * Starts a new video in the session: sets the text condition and forgets earlier frames.
 * @param text_ids  token ids (0 = padding), n_ids <= text_max_seq_len; NULL/0 = no text
 *                  (unconditional)
 * @return 0, NUWA_ERR_INVAL (ids out of range, too long, bad params), NUWA_ERR_UNSUPPORTED
 *         (the model has no transformer)
 */
NUWA_API int nuwa_session_start_ids(NuwaSession *s, const int32_t *text_ids, int n_ids,
                                    const NuwaGenParams *p);

/** Same, with UTF-8 text tokenized by the model's CLIP BPE tokenizer (longer text is an
 * error that reports the token count). */
NUWA_API int nuwa_session_start_text(NuwaSession *s, const char *text, const NuwaGenParams *p);

/** Tokenizes UTF-8 text with the model's tokenizer into ids[max_ids]; *n_ids receives the
 * count. NUWA_ERR_INVAL for invalid UTF-8 or more than max_ids tokens. */
NUWA_API int nuwa_tokenize(const NuwaModel *m, const char *text, int32_t *ids, int max_ids, int *n_ids);

/** Appends known frames, given as token grids (n_frames * tokens_per_frame), after the
 * frames already in the session (video prediction context). */
NUWA_API int nuwa_session_push_tokens(NuwaSession *s, const int32_t *tokens, int n_frames);

/** Appends known frames given as images (encoded with the VQGAN first). */
NUWA_API int nuwa_session_push_frames(NuwaSession *s, const NuwaFrame *frames, int n);

/**
 * Samples the next n_frames frames, appending them to the session's video.
 * @param tokens  receives n_frames * tokens_per_frame ids
 * @return 0; NUWA_ERR_AGAIN when the progress callback stopped it; NUWA_ERR_INVAL;
 *         NUWA_ERR_UNSUPPORTED without a transformer; NUWA_ERR_INVAL before a start call
 */
NUWA_API int nuwa_session_generate(NuwaSession *s, int n_frames, int32_t *tokens);

/** Generates the next n_frames frames and decodes them into caller frames (n_frames frames
 * of the model's size; see nuwa_vae_decode). `tokens` (may be NULL) also receives the ids. */
NUWA_API int nuwa_session_generate_frames(NuwaSession *s, int n_frames, NuwaFrame *frames, int32_t *tokens);

/**
 * Generates n_frames frames in each of n started sessions at once (a batch of prompts or
 * streams), one session per thread, each exactly as nuwa_session_generate would (the results do
 * not depend on the batching). CPU sessions share the first session's thread count; sessions
 * on a GPU each get a host thread, so their streams run concurrently on the device. Sessions
 * must be distinct; progress callbacks are called from worker threads.
 * @param tokens  tokens[i] receives session i's n_frames * tokens_per_frame ids
 * @return 0 or the first error (sessions after a failing one still run)
 */
NUWA_API int nuwa_generate_batch(NuwaSession *const *sessions, int n, int n_frames, int32_t *const *tokens);

#ifdef __cplusplus
}
#endif

#endif /* NUWA_H */
