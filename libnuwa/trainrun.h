/*
 * trainrun.h — the whole training run of `nuwa train` as one library call (internal API; the CLI
 * only parses options, installs signal handlers and prints the progress it is given).
 *
 * A run: open the model (nw_train_open_model), the training data and the optional validation data
 * (nw_data_open), the trainer on the CPU tables, fresh AdamW moments or the state of a checkpoint
 * (--resume: weights, moments, step, data counter and every hyperparameter, so that the run
 * continues bit for bit as if it had never stopped), then per step:
 *   batch (nw_data_batch) -> conditioning-dropout draw -> loss + gradient (nw_trainer_loss_grad)
 *   -> learning rate (nw_lr_at) -> nw_opt_step (clip, decay rule, table refresh)
 *   -> [validation loss] -> [checkpoint] -> progress callback.
 * A checkpoint is written every ckpt_every steps, at the end, and when the run is stopped (the
 * stop flag, set from a signal handler, or the progress callback returning non-zero).
 *
 * Determinism: everything random is counter-based (nw_uniforms): batch k uses the data stream
 * (seed, k) and the dropout stream (seed ^ salt, k); the result does not depend on the thread
 * count or on where the run was interrupted and resumed.
 *
 * Errors: NUWA_ERR_* with the reason logged through the caller's NwLog; nothing is printed.
 */
#ifndef NW_TRAINRUN_H
#define NW_TRAINRUN_H

#include <signal.h>
#include <stdint.h>

#include "internal.h"
#include "trainloop.h"

typedef struct NwTrainRunOpts {
    const char *model;      /* model file: VQGAN + transformer (+ tokenizer, needed by the data) */
    const char *data;       /* training data (nw_data_open's layouts) */
    const char *val;        /* validation data, or NULL */
    const char *out;        /* checkpoint written during and at the end of the run */
    const char *resume;     /* checkpoint to continue from, or NULL */
    const char *config;     /* a new transformer: JSON of NUWA's arguments (nw_train_init_model);
                               `model` then only provides the VQGAN and the tokenizer. Not with
                               resume (the checkpoint is a model file: resume from it) */
    const char *init_out;   /* with config: where the initial model file is written (the run
                               trains from it; kept, so that the start can be reproduced) */
    const char *dump_batches; /* or NULL: a GGUF of this session's batches (token ids, dropout
                               pattern, loss and learning rate of every step), for comparing the
                               run with another trainer on the same data */

    int64_t steps;          /* total optimizer steps of the run (the schedule's total); resuming:
                               0 = the checkpoint's total */
    int batch;              /* sequences per step */
    double lr, min_lr;      /* base and final learning rate (min_lr = lr: constant) */
    int64_t warmup;         /* linear warm-up steps (nw_lr_at) */
    float beta1, beta2, eps, weight_decay;
    double clip;            /* global gradient-norm clip; 0 = none */
    int decay_all;          /* 1: weight decay on every tensor; 0: only on >= 2-D tensors */
    double cond_drop;       /* probability that an item's caption is replaced by the null condition */
    uint64_t seed;          /* data and dropout seed */
    int threads;            /* CPU threads; 0 = all cores */
    int64_t val_every;      /* validation loss every N steps (and at the last step); 0 = never */
    int val_batches;        /* batches of the validation loss; 0 = enough to cover the validation
                               clips once (at most 16) */
    int64_t ckpt_every;     /* checkpoint every N steps; 0 = only at the end / when stopped */
    int truncate_text;      /* nw_data_params: cut long captions instead of failing */
    /* Called while the data's clips are tokenized the first time (a cache makes later runs skip
     * it): done of total clips of `path`, with nw_train_run's opaque. May be NULL. */
    void (*data_progress)(void *opaque, const char *path, int done, int total);
} NwTrainRunOpts;

/** The reference trainer's settings (docs/TRAINING.md §6, NUWATrainer + get_optimizer): lr 3e-4
 * constant, AdamW betas (0.9, 0.999), eps 1e-8, weight decay 0.01 on >= 2-D tensors, clip 0.5,
 * conditioning dropout 0.2; plus batch 4, 1000 steps, seed 0, val_every 100, ckpt_every 100. */
void nw_train_run_opts_default(NwTrainRunOpts *o);

typedef struct NwTrainProgress {
    int64_t step, total;    /* the step just taken (1-based) of total */
    double loss;            /* training loss of this step's batch (before the update) */
    double lr;              /* learning rate used by this step */
    double grad_norm;       /* total gradient L2 norm before clipping */
    double tokens_per_s;    /* predicted tokens per second over this session's steps */
    double eta_s;           /* seconds left at that rate */
    double val_loss;        /* the last validation loss; NAN before the first */
    int val_now;            /* 1: val_loss was computed at this step */
    int saved;              /* 1: a checkpoint was written after this step */
    int skipped;            /* 1: the gradient was not finite: no update (the step is retried
                               on the next batch) */
    int64_t resumed_from;   /* informational: the step the run started from */
} NwTrainProgress;

/** Called after every step; a non-zero return stops the run like the stop flag (checkpoint, then
 * return). */
typedef int (*NwTrainProgressFn)(void *opaque, const NwTrainProgress *p);

typedef struct NwTrainRunResult {
    int64_t step;           /* optimizer steps taken in total (the checkpoint's step) */
    int64_t start_step;     /* where this session started (0, or the resumed checkpoint's step) */
    int stopped;            /* 1: stopped early by the flag or the callback (checkpoint written) */
    double last_loss, last_val;
    int64_t new_params;     /* with config: trainable values of the new transformer */
    NwDataInfo data, val;   /* what the datasets hold (val zeroed without validation data) */
} NwTrainRunResult;

/** Runs (or continues) training. stop may be NULL; it is read between steps and between the
 * clips being tokenized. res may be NULL. Returns 0 (finished or stopped with a checkpoint
 * written), NUWA_ERR_AGAIN (stopped while tokenizing the data, before any step: nothing
 * written) or NUWA_ERR_*: bad options
 * (INVAL, logged), files (IO / BAD_MODEL / UNSUPPORTED, logged), a checkpoint of another model
 * (BAD_MODEL, the tensor named), repeated non-finite gradients (INVAL). */
int nw_train_run(const NwTrainRunOpts *o, const NwLog *log, NwTrainProgressFn progress, void *opaque,
                 volatile sig_atomic_t *stop, NwTrainRunResult *res);

#endif
