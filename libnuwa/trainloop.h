/*
 * trainloop.h — everything of `nuwa train` around the gradient (train.h): the optimizer step over
 * a plan's parameters, the learning-rate schedule, checkpoints that resume bit for bit, model
 * export, and the training data (clips + captions, tokenized once and cached, sampled into
 * batches by a counter-based generator).
 *
 * Layout: gradients and optimizer moments use the layout of the plan's own blob (nw_nuwa_load:
 * m->own, m->own_floats); the parameters are the tensors nw_nuwa_tensors reports, addressed by
 * name in files. The derived tables of the blob are not parameters: they get no update and are
 * recomputed (nw_nuwa_refresh_tables) after every change of the parameters.
 *
 * Errors: NUWA_ERR_* with the reason logged through the caller's NwLog (nothing is printed).
 */
#ifndef NW_TRAINLOOP_H
#define NW_TRAINLOOP_H

#include <stddef.h>
#include <stdint.h>

#include "gguf.h"
#include "internal.h"
#include "train_ops.h"
#include "transformer.h"

/* ---- the parameters of a plan ------------------------------------------------------------ */

typedef struct NwParam {
    char *name;
    int n_dims;            /* PyTorch shape, as stored in model files */
    int64_t shape[4];
    NwW at;                /* offset in the plan's blob */
    size_t n;              /* floats */
    int trainable;         /* 0 for buffers stored as weights (text_rotary_pos_emb.inv_freq) */
} NwParam;

typedef struct NwParams {
    NwParam *p;
    int n;
} NwParams;

/** The tensors of a loaded plan (nw_nuwa_tensors order = load order = the reference's
 * named_parameters() order). Returns 0 or NUWA_ERR_NOMEM / NUWA_ERR_INVAL. */
int nw_params_list(const NwNuwa *m, NwParams *out);
void nw_params_free(NwParams *ps);
const NwParam *nw_params_find(const NwParams *ps, const char *name);

/* ---- optimizer ----------------------------------------------------------------------------- */

typedef struct NwOptState {
    float *m, *v;          /* AdamW moments, blob layout (n floats each; zeros at start) */
    size_t n;              /* = the plan's own_floats */
    int64_t step;          /* steps taken (the next step is step + 1) */
    double last_grad_norm; /* total L2 norm of the last step's gradient, before clipping */
    NwParams params;       /* the plan's tensors (for the per-tensor update) */
} NwOptState;

/** Zero moments for the plan m (loaded with its own blob). Returns 0 or NUWA_ERR_*. */
int nw_opt_init(NwOptState *s, const NwNuwa *m);
void nw_opt_free(NwOptState *s);

/** One optimizer step, as the reference trainer takes it (docs/TRAINING.md §6):
 * 1. the total L2 norm of the gradient over every trainable parameter together (one norm for
 *    the whole model, not per tensor), summed in double in parameter order (bit for bit what
 *    nw_clip_grad_norm returns on the parameters' gradients laid end to end); when clip > 0 the
 *    gradients are scaled by nw_clip_grad_norm's coefficient (torch's clip_grad_norm_ rule);
 * 2. tops->adamw on each trainable tensor with step = s->step + 1 (hyper->step is ignored) and
 *    weight decay hyper->weight_decay on every tensor (decay_all = 1, run A of the fixtures) or
 *    only on tensors with >= 2 dimensions (decay_all = 0: the reference trainer's groups);
 * 3. nw_nuwa_refresh_tables(m).
 * grad (m->own_floats, blob layout) is scaled in place when clipped. s->last_grad_norm receives
 * the norm. A non-finite norm changes nothing (parameters, moments, step) and returns
 * NUWA_ERR_INVAL, so one bad batch cannot poison the weights. */
int nw_opt_step(NwNuwa *m, float *grad, NwOptState *s, const NwAdamW *hyper, double clip, int decay_all,
                const NwTrainOps *tops, NwCtx *ctx);

/** Learning rate of the 1-based step `step`:
 *   step <= warmup:          base_lr * step / warmup                  (linear from 0 at step 0)
 *   warmup < step < total:   min_lr + (base_lr - min_lr) * (1 + cos(pi * p)) / 2,
 *                            p = (step - warmup) / (total - warmup)
 *   step >= total:           min_lr
 * warmup = 0 skips the warm-up; total <= warmup means no decay (base_lr after the warm-up);
 * step < 1 is treated as 1. Computed in double. */
double nw_lr_at(int64_t step, double base_lr, int64_t warmup, int64_t total, double min_lr);

/* ---- checkpoints and export -------------------------------------------------------------- */

/** Everything besides tensors that a run needs to continue exactly. */
typedef struct NwTrainMeta {
    int64_t step;          /* optimizer steps taken (= NwOptState.step) */
    uint64_t seed;         /* data / dropout seed of the run */
    uint64_t rng_state;    /* the data generator's counter (NwDataRng.counter) */
    NwAdamW hyper;         /* lr = base learning rate; step unused */
    double clip;           /* 0 = none */
    int decay_all;
    int64_t warmup, total; /* schedule (nw_lr_at) */
    double min_lr;
    int batch;
    double cond_drop;      /* conditioning dropout probability */
} NwTrainMeta;

/** A model file (the format of tools/convert.py that nuwa_model_load reads) from `src` (the
 * model the run started from: its VQGAN tensors, `nuwa.vae.*`, `general.*` and tokenizer keys are
 * copied; may be NULL: transformer only) and the plan's tensors by name, with the `nuwa.*`
 * hyperparameters of the plan. dtype NW_TYPE_F32, NW_TYPE_F16 or NW_TYPE_BF16 applies as in
 * convert.py: only >= 2-D `.weight` tensors and the VQ codebook are narrowed, everything else
 * stays F32. Written atomically (path.tmp, fsync, rename). Returns 0 or NUWA_ERR_* (logged:
 * an f16 value out of range names the tensor). */
int nw_export_model(const char *path, const NwGguf *src, const NwNuwa *m, int dtype, const NwLog *log);

/** A checkpoint: the export in F32 (so it is itself a loadable model file when src is given)
 * plus the moments as `opt.m.<name>` / `opt.v.<name>` (trainable tensors) and `train.*`
 * metadata (meta). Atomic like nw_export_model. */
int nw_ckpt_save(const char *path, const NwGguf *src, const NwNuwa *m, const NwOptState *s,
                 const NwTrainMeta *meta, const NwLog *log);

/** Reads a checkpoint into the plan's blob (then refreshes its tables), the moments and meta.
 * Everything is validated before anything is changed: a tensor that is missing or whose type or
 * shape differs from the model's is an error naming it (NUWA_ERR_BAD_MODEL). Returns 0,
 * NUWA_ERR_IO, NUWA_ERR_BAD_MODEL. */
int nw_ckpt_load(const char *path, NwNuwa *m, NwOptState *s, NwTrainMeta *meta, const NwLog *log);

/** Opens a model file (or a checkpoint: it is one) and loads its transformer into a plan with its
 * own blob (fmap and codebook size from the file's VQGAN). *g stays open for nw_export_model /
 * nw_ckpt_save (its VQGAN and tokenizer are copied from it). Returns 0 or NUWA_ERR_* (logged). */
int nw_train_open_model(const char *path, NwGguf **g, NwNuwa *m, const NwLog *log);

/** `nuwa export`: the model file of a checkpoint (or of any model file) in dtype, without the
 * optimizer state and training metadata. Returns 0 or NUWA_ERR_* (logged). */
int nw_export_file(const char *ckpt_path, const char *out_path, int dtype, const NwLog *log);

/** Writes a writer's file atomically: path.tmp, fsync, rename over path, fsync of the directory
 * (a crash leaves the old file or the new one, never a torn one). */
int nw_gguf_writer_save_atomic(NwGgufWriter *w, const char *path, const NwLog *log);
/** Copies one metadata entry of a parsed file into a writer (any type). */
int nw_gguf_writer_copy_kv(NwGgufWriter *w, const NwGgufKV *kv);

/* ---- a new transformer (traininit.c) ---------------------------------------------------- */

/** `nuwa train --config`: writes to `out` a model file with the VQGAN, the tokenizer and the
 * `general.*` keys of `model` and a new transformer: the hyperparameters of the JSON `config`
 * (NUWA's keyword arguments, as tools/convert.py --config reads them; nuwa-pytorch's defaults
 * for the missing ones), its tensors initialised as PyTorch initialises nuwa-pytorch's modules
 * (docs/TRAINING.md §6c) from counter-based streams of `seed`. *n_params (may be NULL): the
 * number of trainable values. Returns 0 or NUWA_ERR_* (logged: a bad config names the file, the
 * line and the key). */
int nw_train_init_model(const char *config, const char *model, uint64_t seed, const char *out, int64_t *n_params,
                        const NwLog *log);

/* ---- training data ----------------------------------------------------------------------- */

/* Layouts (nw_data_open's path):
 * - a directory written by tools/make_shapes.py: clips.rgb (count x frames x S x S x 3 bytes),
 *   clips.tsv (a header line, then one line per clip; column 2 is the caption), info.json
 *   (count, frames, size; optional: without it frames come from the sizes);
 * - a directory with captions.tsv, or a .tsv file: lines `FILE<TAB>caption` (FILE relative to the
 *   TSV's directory; empty lines and lines starting with '#' are skipped), each FILE raw rgb24
 *   frames of the model's size as `ffmpeg -i in.mp4 -vf scale=S:S -pix_fmt rgb24 -f rawvideo
 *   FILE` writes them.
 * Every clip needs at least max_video_frames frames; a batch item is a random window of that many
 * consecutive frames of a random clip. */

typedef struct NwDataParams {
    int n_threads;         /* VQGAN encoding threads (0 = all cores) */
    int truncate_text;     /* 1: cut long captions to text_max_seq_len ids (the reference's
                              truncate_text=True); 0 (default): a long caption is an error */
    const char *cache_path;/* token cache file; NULL = next to the data (DIR/clips.tokens.gguf,
                              DIR/captions.tokens.gguf, FILE.tsv.tokens.gguf); "" = no cache */
    const char *device;    /* VQGAN device (NuwaSessionParams.device); NULL = cpu */
    /* Called after each clip the VQGAN tokenized (not when the tokens come from the cache): done
     * of total clips. A non-zero return stops the tokenizing: nw_data_open returns
     * NUWA_ERR_AGAIN, writing no cache. May be NULL. */
    int (*progress)(void *opaque, int done, int total);
    void *progress_opaque;
} NwDataParams;

void nw_data_params_default(NwDataParams *p);

typedef struct NwDataset NwDataset;

/** Opens a dataset for the model file model_path: validates every clip (size, frame count) and
 * caption (token count, ids inside the model's text vocabulary), each error naming the file and
 * line; tokenizes the frames with the model's VQGAN (nuwa_vae_encode) and the captions with its
 * tokenizer (nuwa_tokenize) once, or reads them from the cache when the data, the model's VQGAN
 * and tokenizer and the settings are unchanged (key: device, inode, size and mtime of each data
 * file, however its path is spelt, + a hash of the VQGAN tensors, merges and text settings). Returns 0, NUWA_ERR_IO, NUWA_ERR_INVAL (bad
 * data), NUWA_ERR_UNSUPPORTED (the model has no transformer or no tokenizer), NUWA_ERR_NOMEM,
 * NUWA_ERR_AGAIN (stopped by the progress callback). */
int nw_data_open(NwDataset **out, const char *path, const char *model_path, const NwDataParams *p,
                 const NwLog *log);
void nw_data_close(NwDataset **ds);

typedef struct NwDataInfo {
    int clips;
    int64_t frames;        /* total over the clips */
    int max_frames, tokens_per_frame, text_len;
    int from_cache;        /* the tokens came from the cache file */
} NwDataInfo;
void nw_data_info(const NwDataset *ds, NwDataInfo *info);

/** The data generator: batch k uses the uniforms nw_uniforms(seed, k) and then counter = k + 1,
 * so the batches depend only on (seed, counter): the same on any thread count, and a run resumed
 * from a checkpoint (which stores counter) continues with the batches it would have drawn. */
typedef struct NwDataRng {
    uint64_t seed, counter;
} NwDataRng;

/** Fills a batch of B items: text (B, text_max_seq_len) caption ids padded with 0, video
 * (B, max_frames * T) tokens of max_frames consecutive frames. Item b takes uniforms 2b (clip,
 * uniform over the clips) and 2b + 1 (window start, uniform over the clip's windows). */
int nw_data_batch(NwDataset *ds, NwDataRng *rng, int B, int32_t *text, int32_t *video);

#endif
