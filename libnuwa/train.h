/*
 * train.h — training the NUWA transformer: the objective of nuwa-pytorch's
 * NUWA.forward(text, video, return_loss=True) (docs/TRAINING.md) and its gradient, computed
 * with the forward ops (ops.h) and the backward ops (train_ops.h), llm.c style: one forward
 * over whole sequences that keeps what the backward reads, then the backward layer by layer.
 *
 * The parameters are a plan loaded with its own blob (nw_nuwa_load: m->own, m->own_floats);
 * gradients and optimizer moments use the same layout (the gradient of the parameter at offset
 * w is grad[w]; nw_nuwa_tensors lists the parameters). The derived tables in the blob (summed
 * axial positions, expanded relative position biases) receive no gradient: theirs is folded
 * into the parameters they come from; nw_nuwa_refresh_tables recomputes them after an update.
 */
#ifndef NW_TRAIN_H
#define NW_TRAIN_H

#include <stdint.h>

#include "train_ops.h"
#include "transformer.h"

typedef struct NwTrainer NwTrainer;

/* A trainer for batches of `batch` sequences of full videos (max_frames frames) on the CPU
 * tables ops/tops, with n_threads threads. Returns 0 or NUWA_ERR_NOMEM / NUWA_ERR_INVAL. */
int nw_trainer_create(NwTrainer **out, const NwNuwa *m, const NwOps *ops, const NwTrainOps *tops, int batch,
                      int n_threads);
void nw_trainer_free(NwTrainer **t);

/* The loss of one batch (mean cross-entropy over batch * max_frames * T predicted tokens) into
 * *loss, and its gradient ACCUMULATED into grad (m->own_floats floats; zero it first).
 * text (batch, text_len) ids (0 = padding), video (batch, max_frames * T) token ids, drop
 * (batch) 1 = that item's text is replaced by the null condition (conditioning dropout; NULL =
 * none). Returns 0 or NUWA_ERR_INVAL (ids out of range). */
int nw_trainer_loss_grad(NwTrainer *t, const int32_t *text, const int32_t *video, const uint8_t *drop,
                         float *grad, double *loss);

#endif
