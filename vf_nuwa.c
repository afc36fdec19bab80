/*
 * NUWA video generation and prediction filters (libnuwa)
 *
 * This file is part of FFmpeg.
 *
 * FFmpeg is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Lesser General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 *
 * FFmpeg is distributed in the hope that it will be useful,
 * but WITHOUT ANY WARRANTY; without even the implied warranty of
 * MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE.  See the GNU
 * Lesser General Public License for more details.
 *
 * You should have received a copy of the GNU Lesser General Public
 * License along with FFmpeg; if not, write to the Free Software
 * Foundation, Inc., 51 Franklin Street, Fifth Floor, Boston, MA 02110-1301 USA
 */

/**
 * @file
 * nuwa: video filter running the NUWA model (VQGAN frame tokenizer + 3DNA transformer)
 *   mode=extend       pass the input through, then append `frames` predicted frames
 *   mode=predict      for every input frame, the prediction of the frame `frames` steps ahead
 *   mode=reconstruct  VQGAN encode + decode of every frame
 * nuwasrc: text-to-video source.
 *
 * One source for FFmpeg 7.1 (libavfilter 10) and 8.x/9.x (libavfilter 11/12). Frames of any
 * size and software pixel format are converted with libswscale to the model's RGB (or gray)
 * frame size and back.
 */

#include <float.h>
#include <inttypes.h>
#include <stdarg.h>

#include <nuwa.h>

#include "libavutil/avassert.h"
#include "libavutil/avstring.h"
#include "libavutil/cpu.h"
#include "libavutil/dict.h"
#include "libavutil/imgutils.h"
#include "libavutil/mem.h"
#include "libavutil/opt.h"
#include "libavutil/pixdesc.h"
#include "libavutil/random_seed.h"
#include "libswscale/swscale.h"

#include "config_components.h"
#include "avfilter.h"
#include "filters.h"
#include "formats.h"
#include "version.h"
#include "video.h"

#if LIBAVFILTER_VERSION_MAJOR >= 11
#define NUWA_FILTER_T FFFilter
#define NUWA_P(field) .p.field
#else
#define NUWA_FILTER_T AVFilter
#define NUWA_P(field) .field
#endif

enum NuwaMode { MODE_EXTEND, MODE_PREDICT, MODE_RECONSTRUCT };
enum NuwaSizeMode { SIZE_INPUT, SIZE_MODEL };

typedef struct NuwaContext {
    const AVClass *class;

    /* options */
    char *model_path;
    int mode;
    int frames;
    int context;
    char *prompt;
    int64_t seed;
    float temperature;
    int top_k;
    float cfg_scale;
    int size_mode;
    char *device;
    int threads;
    /* nuwasrc */
    int w, h;
    AVRational rate;
    int64_t duration;

    /* state */
    NuwaModel *model;
    NuwaSession *sess;
    NuwaVaeInfo vi;
    NuwaTransformerInfo ti;
    int S, C;                  /* model frame side and channels */
    enum AVPixelFormat model_fmt;
    struct SwsContext *to_model, *from_model;
    int from_w, from_h, from_fmt;
    uint8_t *ring;             /* `context` model frames, packed */
    int ring_n, ring_pos, ctx_frames;
    uint8_t *mbuf;             /* one model frame */
    AVFrame *props;            /* last input frame (props template, no data kept) */
    int64_t next_pts, step, last_pts;
    int64_t deltas[16];
    int n_deltas;
    int eof, started;
    int64_t produced, total;
} NuwaContext;

#define OFFSET(x) offsetof(NuwaContext, x)
#define FLAGS AV_OPT_FLAG_VIDEO_PARAM | AV_OPT_FLAG_FILTERING_PARAM
#define RFLAGS FLAGS | AV_OPT_FLAG_RUNTIME_PARAM

#define COMMON_SAMPLING_OPTIONS                                                                      \
    { "prompt", "text condition (empty: unconditional); changeable with sendcmd", OFFSET(prompt),  \
      AV_OPT_TYPE_STRING, { .str = "" }, 0, 0, RFLAGS },                                            \
    { "seed", "sampling seed (-1: random, logged)", OFFSET(seed), AV_OPT_TYPE_INT64, { .i64 = -1 },  \
      -1, INT64_MAX, FLAGS },                                                                       \
    { "temperature", "sampling temperature", OFFSET(temperature), AV_OPT_TYPE_FLOAT, { .dbl = 1 },  \
      0.01, 100, FLAGS },                                                                           \
    { "top_k", "sample among the k likeliest codes (0: the best 10%, nuwa-pytorch's filter_thres 0.9)", \
      OFFSET(top_k), AV_OPT_TYPE_INT, { .i64 = 0 }, 0, INT_MAX, FLAGS },                            \
    { "cfg_scale", "classifier-free guidance scale (1: off)", OFFSET(cfg_scale), AV_OPT_TYPE_FLOAT, \
      { .dbl = 2 }, -100, 100, FLAGS },                                                             \
    { "device", "compute device: cpu, cuda or cuda:N (libnuwa checks it)", OFFSET(device),          \
      AV_OPT_TYPE_STRING, { .str = "cpu" }, 0, 0, FLAGS },                                          \
    { "threads", "CPU threads (0: FFmpeg's filter threads, -filter_threads, at most one per core)", \
      OFFSET(threads), AV_OPT_TYPE_INT, { .i64 = 0 }, 0, 1024, FLAGS }

static int nuwa_averror(int err)
{
    switch (err) {
    case NUWA_ERR_NOMEM:       return AVERROR(ENOMEM);
    case NUWA_ERR_INVAL:       return AVERROR(EINVAL);
    case NUWA_ERR_IO:          return AVERROR(EIO);
    case NUWA_ERR_BAD_MODEL:   return AVERROR_INVALIDDATA;
    case NUWA_ERR_UNSUPPORTED: return AVERROR(ENOSYS);
    case NUWA_ERR_BACKEND:     return AVERROR_EXTERNAL;
    case NUWA_ERR_AGAIN:       return AVERROR(EAGAIN);
    case NUWA_ERR_EOF:         return AVERROR_EOF;
    default:                   return err < 0 ? AVERROR_EXTERNAL : 0;
    }
}

static void nuwa_log_cb(void *opaque, int level, const char *fmt, va_list ap)
{
    static const int map[] = { AV_LOG_ERROR, AV_LOG_WARNING, AV_LOG_VERBOSE, AV_LOG_DEBUG };
    av_vlog(opaque, level >= 0 && level <= 3 ? map[level] : AV_LOG_DEBUG, fmt, ap);
}

static int nuwa_log_level(void)
{
    const int l = av_log_get_level();
    return l >= AV_LOG_DEBUG ? NUWA_LOG_DEBUG : l >= AV_LOG_VERBOSE ? NUWA_LOG_INFO :
           l >= AV_LOG_WARNING ? NUWA_LOG_WARNING : l >= AV_LOG_ERROR ? NUWA_LOG_ERROR : NUWA_LOG_QUIET;
}

/* Loads the model and creates the session; `need_tf`: the mode needs the transformer. */
static int start_video(AVFilterContext *ctx);

static int load_model(AVFilterContext *ctx, int need_tf)
{
    NuwaContext *s = ctx->priv;
    NuwaModelParams mp;
    NuwaSessionParams sp;
    int err, threads;

    if (!s->model_path || !*s->model_path) {
        av_log(ctx, AV_LOG_ERROR, "no model given: set model=FILE.gguf\n");
        return AVERROR(EINVAL);
    }
    nuwa_model_params_default(&mp);
    mp.log_cb = nuwa_log_cb;
    mp.log_opaque = ctx;
    mp.log_level = nuwa_log_level();
    err = nuwa_model_load(&s->model, s->model_path, &mp);
    if (err < 0) {
        av_log(ctx, AV_LOG_ERROR, "cannot load the model '%s': %s\n", s->model_path, nuwa_strerror(err));
        return nuwa_averror(err);
    }
    nuwa_model_vae_info(s->model, &s->vi);
    nuwa_model_transformer_info(s->model, &s->ti);
    if (need_tf && !s->ti.present) {
        av_log(ctx, AV_LOG_ERROR, "model '%s' has only the VQGAN tokenizer, no NUWA transformer%s\n",
               s->model_path, ctx->nb_inputs ? ": only mode=reconstruct works with it" : "");
        return AVERROR(EINVAL);
    }
    if (s->vi.channels != 3 && s->vi.channels != 1) {
        av_log(ctx, AV_LOG_ERROR, "models with %d channels are not supported\n", s->vi.channels);
        return AVERROR(ENOSYS);
    }
    s->S = s->vi.image_size;
    s->C = s->vi.channels;
    s->model_fmt = s->C == 3 ? AV_PIX_FMT_RGB24 : AV_PIX_FMT_GRAY8;
    /* threads=0 follows the filter graph's thread count (-filter_threads), capped at the CPU
     * count: FFmpeg's automatic count is one more than the cores (the caller's thread also takes
     * slices), and libnuwa splits its work evenly over the threads it is given */
    threads = s->threads;
    if (!threads) {
        threads = ff_filter_get_nb_threads(ctx);
        if (threads > av_cpu_count())
            threads = av_cpu_count();
    }
    nuwa_session_params_default(&sp);
    sp.n_threads = threads > 0 ? threads : 0;
    sp.device = s->device;
    sp.log_cb = nuwa_log_cb;
    sp.log_opaque = ctx;
    sp.log_level = nuwa_log_level();
    /* libnuwa checks the device and logs why it is unusable (unknown name, no CUDA backend,
     * driver or GPU) */
    if ((err = nuwa_session_create(&s->sess, s->model, &sp)) < 0) {
        av_log(ctx, AV_LOG_ERROR, "cannot create a libnuwa session on device '%s': %s\n",
               s->device ? s->device : "cpu", nuwa_strerror(err));
        return nuwa_averror(err);
    }
    if (sp.n_threads > 0)
        av_log(ctx, AV_LOG_VERBOSE, "device %s, %d CPU thread%s (%s)\n", s->device ? s->device : "cpu",
               sp.n_threads, sp.n_threads > 1 ? "s" : "", s->threads ? "threads option" : "filter threads");
    else
        av_log(ctx, AV_LOG_VERBOSE, "device %s, CPU threads: all cores\n", s->device ? s->device : "cpu");
    s->mbuf = av_malloc((size_t)s->S * s->S * s->C);
    if (!s->mbuf)
        return AVERROR(ENOMEM);
    if (s->seed < 0) {
        s->seed = av_get_random_seed();
        av_log(ctx, AV_LOG_INFO, "seed %" PRId64 "\n", s->seed);
    }
    av_log(ctx, AV_LOG_VERBOSE, "model %s: %dx%d frames, %dx%d tokens%s\n", s->model_path, s->S, s->S,
           s->vi.fmap_size, s->vi.fmap_size, s->ti.present ? ", NUWA transformer" : "");
    /* check the prompt and sampling options now, so that a bad one fails at start-up, not at the
     * first generated frame (generation starts again from scratch when it is needed) */
    if (need_tf && s->ti.present)
        return start_video(ctx);
    return 0;
}

static NuwaFrame model_frame(NuwaContext *s, uint8_t *data)
{
    NuwaFrame f = { s->C == 3 ? NUWA_FRAME_RGB24 : NUWA_FRAME_GRAY8, s->S, s->S, s->C, data,
                    (ptrdiff_t)s->S * s->C, 0 };
    return f;
}

/* Starts a new video in the session with the current prompt and sampling options. */
static int start_video(AVFilterContext *ctx)
{
    NuwaContext *s = ctx->priv;
    NuwaGenParams gp;
    int err;
    nuwa_gen_params_default(&gp);
    gp.seed = (uint64_t)s->seed;
    gp.temperature = s->temperature;
    gp.cond_scale = s->cfg_scale;
    if (s->top_k > 0)
        gp.filter_thres = s->top_k >= s->vi.codebook_size ? 0.0 :
                          1.0 - (s->top_k + 0.5) / (double)s->vi.codebook_size;
    err = nuwa_session_start_text(s->sess, s->prompt ? s->prompt : "", &gp);
    if (err < 0) {
        av_log(ctx, AV_LOG_ERROR, "cannot start generation (prompt '%s'): %s\n", s->prompt ? s->prompt : "",
               nuwa_strerror(err));
        return nuwa_averror(err);
    }
    return 0;
}

/* Converts a frame of any size/format into the model's packed frame `dst`. */
static int to_model(AVFilterContext *ctx, const AVFrame *in, uint8_t *dst)
{
    NuwaContext *s = ctx->priv;
    uint8_t *d[4] = { dst };
    int ls[4] = { s->S * s->C };
    s->to_model = sws_getCachedContext(s->to_model, in->width, in->height, in->format, s->S, s->S,
                                       s->model_fmt, SWS_BICUBIC, NULL, NULL, NULL);
    if (!s->to_model) {
        av_log(ctx, AV_LOG_ERROR, "cannot convert %dx%d %s frames to the model's %dx%d %s\n", in->width,
               in->height, av_get_pix_fmt_name(in->format), s->S, s->S, av_get_pix_fmt_name(s->model_fmt));
        return AVERROR(EINVAL);
    }
    sws_scale(s->to_model, (const uint8_t *const *)in->data, in->linesize, 0, in->height, d, ls);
    return 0;
}

/* A new output frame holding the model frame `src`, scaled to the output size and format. */
static AVFrame *from_model(AVFilterContext *ctx, const uint8_t *src)
{
    NuwaContext *s = ctx->priv;
    AVFilterLink *outlink = ctx->outputs[0];
    const uint8_t *sp[4] = { src };
    const int sl[4] = { s->S * s->C };
    AVFrame *out = ff_get_video_buffer(outlink, outlink->w, outlink->h);
    if (!out)
        return NULL;
    s->from_model = sws_getCachedContext(s->from_model, s->S, s->S, s->model_fmt, outlink->w, outlink->h,
                                         outlink->format, SWS_BICUBIC, NULL, NULL, NULL);
    if (!s->from_model) {
        av_frame_free(&out);
        return NULL;
    }
    sws_scale(s->from_model, sp, sl, 0, s->S, out->data, out->linesize);
    return out;
}

/* ---- nuwa ------------------------------------------------------------------------------- */

#if CONFIG_NUWA_FILTER

static const AVOption nuwa_options[] = {
    { "model", "NUWA model file (GGUF)", OFFSET(model_path), AV_OPT_TYPE_STRING, { .str = NULL }, 0, 0, FLAGS },
    { "mode", "what to do", OFFSET(mode), AV_OPT_TYPE_INT, { .i64 = MODE_EXTEND }, 0, 2, FLAGS, .unit = "mode" },
        { "extend", "pass the input through, then append `frames` predicted frames", 0, AV_OPT_TYPE_CONST,
          { .i64 = MODE_EXTEND }, 0, 0, FLAGS, .unit = "mode" },
        { "predict", "for each input frame, output the prediction of the frame `frames` steps ahead", 0,
          AV_OPT_TYPE_CONST, { .i64 = MODE_PREDICT }, 0, 0, FLAGS, .unit = "mode" },
        { "reconstruct", "VQGAN encode + decode of each frame (what the tokenizer keeps)", 0,
          AV_OPT_TYPE_CONST, { .i64 = MODE_RECONSTRUCT }, 0, 0, FLAGS, .unit = "mode" },
    { "frames", "extend: frames to append; predict: how many frames ahead", OFFSET(frames), AV_OPT_TYPE_INT,
      { .i64 = 8 }, 1, 100000, FLAGS },
    { "context", "input frames of history the model sees (0: the model's window minus one)", OFFSET(context),
      AV_OPT_TYPE_INT, { .i64 = 0 }, 0, 4096, FLAGS },
    COMMON_SAMPLING_OPTIONS,
    { "size", "output size", OFFSET(size_mode), AV_OPT_TYPE_INT, { .i64 = SIZE_INPUT }, 0, 1, FLAGS, .unit = "size" },
        { "input", "the input's size", 0, AV_OPT_TYPE_CONST, { .i64 = SIZE_INPUT }, 0, 0, FLAGS, .unit = "size" },
        { "model", "the model's frame size", 0, AV_OPT_TYPE_CONST, { .i64 = SIZE_MODEL }, 0, 0, FLAGS, .unit = "size" },
    { NULL }
};

AVFILTER_DEFINE_CLASS(nuwa);

static const enum AVPixelFormat nuwa_pix_fmts[] = {
    AV_PIX_FMT_YUV420P, AV_PIX_FMT_YUVJ420P, AV_PIX_FMT_YUV422P, AV_PIX_FMT_YUVJ422P, AV_PIX_FMT_YUV444P,
    AV_PIX_FMT_YUVJ444P, AV_PIX_FMT_NV12, AV_PIX_FMT_RGB24, AV_PIX_FMT_BGR24, AV_PIX_FMT_RGBA,
    AV_PIX_FMT_BGRA, AV_PIX_FMT_ARGB, AV_PIX_FMT_ABGR, AV_PIX_FMT_RGB0, AV_PIX_FMT_BGR0, AV_PIX_FMT_GBRP,
    AV_PIX_FMT_GRAY8, AV_PIX_FMT_YUV420P10, AV_PIX_FMT_NONE
};

static av_cold int nuwa_init(AVFilterContext *ctx)
{
    NuwaContext *s = ctx->priv;
    int ret = load_model(ctx, s->mode != MODE_RECONSTRUCT);
    if (ret < 0)
        return ret;
    if (s->mode != MODE_RECONSTRUCT) {
        const int window = s->ti.max_video_frames;
        s->ctx_frames = s->context ? s->context : FFMAX(window - 1, 1);
        s->ring = av_malloc_array(s->ctx_frames, (size_t)s->S * s->S * s->C);
        if (!s->ring)
            return AVERROR(ENOMEM);
    }
    s->props = av_frame_alloc();
    if (!s->props)
        return AVERROR(ENOMEM);
    s->last_pts = AV_NOPTS_VALUE;
    return 0;
}

static av_cold void nuwa_uninit(AVFilterContext *ctx)
{
    NuwaContext *s = ctx->priv;
    if (s->mode == MODE_EXTEND && s->ring_n && !s->eof)
        av_log(ctx, AV_LOG_VERBOSE, "stream ended before the input: no frames appended\n");
    sws_freeContext(s->to_model);
    sws_freeContext(s->from_model);
    av_freep(&s->ring);
    av_freep(&s->mbuf);
    av_frame_free(&s->props);
    nuwa_session_destroy(&s->sess);
    nuwa_model_unref(&s->model);
}

static int nuwa_config_output(AVFilterLink *outlink)
{
    AVFilterContext *ctx = outlink->src;
    NuwaContext *s = ctx->priv;
    AVFilterLink *inlink = ctx->inputs[0];
    if (s->size_mode == SIZE_MODEL) {
        outlink->w = s->S;
        outlink->h = s->S;
        outlink->sample_aspect_ratio = (AVRational){ 1, 1 };
    } else {
        outlink->w = inlink->w;
        outlink->h = inlink->h;
        outlink->sample_aspect_ratio = inlink->sample_aspect_ratio;
    }
    outlink->time_base = inlink->time_base;
    return 0;
}

/* Keeps the model-size version of an input frame in the history ring. */
static int remember(AVFilterContext *ctx, const AVFrame *in)
{
    NuwaContext *s = ctx->priv;
    const size_t fs = (size_t)s->S * s->S * s->C;
    int ret = to_model(ctx, in, s->ring + (size_t)s->ring_pos * fs);
    if (ret < 0)
        return ret;
    s->ring_pos = (s->ring_pos + 1) % s->ctx_frames;
    s->ring_n = FFMIN(s->ring_n + 1, s->ctx_frames);
    return 0;
}

/* Pushes the ring, oldest first, as the context of a new video. */
static int push_history(AVFilterContext *ctx)
{
    NuwaContext *s = ctx->priv;
    const size_t fs = (size_t)s->S * s->S * s->C;
    int ret = start_video(ctx);
    if (ret < 0)
        return ret;
    for (int i = 0; i < s->ring_n; i++) {
        const int slot = (s->ring_pos - s->ring_n + i + s->ctx_frames) % s->ctx_frames;
        NuwaFrame f = model_frame(s, s->ring + (size_t)slot * fs);
        int err = nuwa_session_push_frames(s->sess, &f, 1);
        if (err < 0)
            return nuwa_averror(err);
    }
    return 0;
}

/* Track the time step of the input: link rate, else last duration, else median pts delta. */
static void track_time(AVFilterContext *ctx, const AVFrame *in)
{
    NuwaContext *s = ctx->priv;
    if (in->pts != AV_NOPTS_VALUE && s->last_pts != AV_NOPTS_VALUE && in->pts > s->last_pts) {
        s->deltas[s->n_deltas % 16] = in->pts - s->last_pts;
        s->n_deltas++;
    }
    if (in->pts != AV_NOPTS_VALUE)
        s->last_pts = in->pts;
}

static int cmp_i64(const void *a, const void *b)
{
    const int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The time step of generated frames: the link's frame rate, unless the observed pts cadence
 * (median of the last 16 deltas) clearly disagrees with it (e.g. after setpts), then the last
 * frame's duration, then the median delta, then 1. */
static int64_t frame_step(AVFilterContext *ctx)
{
    NuwaContext *s = ctx->priv;
    AVFilterLink *outlink = ctx->outputs[0];
    FilterLink *fl = ff_filter_link(outlink);
    int64_t median = 0, st = 0;
    if (s->n_deltas > 0) {
        int64_t d[16];
        const int n = FFMIN(s->n_deltas, 16);
        memcpy(d, s->deltas, sizeof(d[0]) * n);
        qsort(d, n, sizeof(d[0]), cmp_i64);
        median = d[n / 2];
    }
    if (fl->frame_rate.num > 0 && fl->frame_rate.den > 0)
        st = av_rescale_q(1, av_inv_q(fl->frame_rate), outlink->time_base);
    if (st > 0 && !(s->n_deltas >= 2 && (median > st * 3 / 2 || median * 3 / 2 < st)))
        return st;
    if (median > 0) {
        if (st > 0)
            av_log(ctx, AV_LOG_VERBOSE, "the input's pts advance by %" PRId64 " per frame, not the frame rate's %"
                   PRId64 ": following the pts\n", median, st);
        return median;
    }
    if (s->props->duration > 0)
        return s->props->duration;
    return 1;
}

static int output_generated(AVFilterContext *ctx, int64_t pts, int64_t index)
{
    NuwaContext *s = ctx->priv;
    char buf[32];
    AVFrame *out = from_model(ctx, s->mbuf);
    int ret;
    if (!out)
        return AVERROR(ENOMEM);
    if ((ret = av_frame_copy_props(out, s->props)) < 0) {
        av_frame_free(&out);
        return ret;
    }
    if (s->size_mode == SIZE_MODEL)
        out->sample_aspect_ratio = (AVRational){ 1, 1 };
    out->pts = pts;
    out->duration = s->step;
    av_dict_set(&out->metadata, "lavfi.nuwa.generated", "1", 0);
    snprintf(buf, sizeof(buf), "%" PRId64, s->seed);
    av_dict_set(&out->metadata, "lavfi.nuwa.seed", buf, 0);
    snprintf(buf, sizeof(buf), "%" PRId64, index);
    av_dict_set(&out->metadata, "lavfi.nuwa.index", buf, 0);
    return ff_filter_frame(ctx->outputs[0], out);
}

static int nuwa_activate(AVFilterContext *ctx)
{
    NuwaContext *s = ctx->priv;
    AVFilterLink *inlink = ctx->inputs[0], *outlink = ctx->outputs[0];
    AVFrame *in = NULL;
    int64_t pts;
    int ret, status;

    FF_FILTER_FORWARD_STATUS_BACK(outlink, inlink);

    if (!s->eof) {
        ret = ff_inlink_consume_frame(inlink, &in);
        if (ret < 0)
            return ret;
        if (ret > 0) {
            track_time(ctx, in);
            av_frame_unref(s->props);
            if ((ret = av_frame_copy_props(s->props, in)) < 0)
                goto fail;
            if (s->mode == MODE_RECONSTRUCT) {
                int32_t *tok = av_malloc_array(s->vi.tokens_per_frame, sizeof(*tok));
                NuwaFrame f = model_frame(s, s->mbuf);
                AVFrame *out;
                if (!tok) {
                    ret = AVERROR(ENOMEM);
                    goto fail;
                }
                if ((ret = to_model(ctx, in, s->mbuf)) >= 0) {
                    int err = nuwa_vae_encode(s->sess, &f, 1, tok);
                    if (err >= 0)
                        err = nuwa_vae_decode(s->sess, tok, 1, &f);
                    ret = nuwa_averror(err);
                }
                av_free(tok);
                if (ret < 0)
                    goto fail;
                if (!(out = from_model(ctx, s->mbuf))) {
                    ret = AVERROR(ENOMEM);
                    goto fail;
                }
                av_frame_copy_props(out, in);
                if (s->size_mode == SIZE_MODEL)
                    out->sample_aspect_ratio = (AVRational){ 1, 1 };
                av_frame_free(&in);
                return ff_filter_frame(outlink, out);
            }
            if ((ret = remember(ctx, in)) < 0)
                goto fail;
            if (s->mode == MODE_EXTEND) {
                AVFrame *out;
                if (s->size_mode == SIZE_INPUT && in->width == outlink->w && in->height == outlink->h)
                    return ff_filter_frame(outlink, in);
                /* model-size output: the input is shown as the model sees it */
                out = from_model(ctx, s->ring + (size_t)((s->ring_pos + s->ctx_frames - 1) %
                                                         s->ctx_frames) * s->S * s->S * s->C);
                if (!out) {
                    ret = AVERROR(ENOMEM);
                    goto fail;
                }
                av_frame_copy_props(out, in);
                out->sample_aspect_ratio = (AVRational){ 1, 1 };
                av_frame_free(&in);
                return ff_filter_frame(outlink, out);
            }
            /* predict: the frame `frames` steps ahead of this one */
            s->step = frame_step(ctx);
            if ((ret = push_history(ctx)) < 0)
                goto fail;
            for (int i = 0; i < s->frames; i++) {
                NuwaFrame f = model_frame(s, s->mbuf);
                int err = nuwa_session_generate_frames(s->sess, 1, &f, NULL);
                if (err < 0) {
                    ret = nuwa_averror(err);
                    goto fail;
                }
            }
            pts = in->pts == AV_NOPTS_VALUE ? AV_NOPTS_VALUE : in->pts + s->frames * s->step;
            av_frame_free(&in);
            s->next_pts = pts == AV_NOPTS_VALUE ? s->next_pts : pts + s->step;
            return output_generated(ctx, pts, s->produced++);
        }
        if (ff_inlink_acknowledge_status(inlink, &status, &pts)) {
            if (s->mode != MODE_EXTEND || status != AVERROR_EOF || !s->ring_n) {
                if (s->mode == MODE_PREDICT && s->n_deltas)
                    pts = FFMAX(pts, s->next_pts);
                ff_outlink_set_status(outlink, status, pts);
                return 0;
            }
            s->eof = 1;
            s->step = frame_step(ctx);
            s->next_pts = s->last_pts != AV_NOPTS_VALUE ? FFMAX(pts, s->last_pts + s->step) : pts;
            if ((ret = push_history(ctx)) < 0)
                return ret;
        }
    }
    if (s->eof) {
        if (s->produced < s->frames) {
            NuwaFrame f = model_frame(s, s->mbuf);
            int err = nuwa_session_generate_frames(s->sess, 1, &f, NULL);
            if (err < 0) {
                av_log(ctx, AV_LOG_ERROR, "generation failed: %s\n", nuwa_strerror(err));
                return nuwa_averror(err);
            }
            pts = s->next_pts;
            s->next_pts += s->step;
            ret = output_generated(ctx, pts, s->produced++);
            if (ret >= 0 && s->produced < s->frames)
                ff_filter_set_ready(ctx, 100);
            return ret;
        }
        ff_outlink_set_status(outlink, AVERROR_EOF, s->next_pts);
        return 0;
    }
    FF_FILTER_FORWARD_WANTED(outlink, inlink);
    return FFERROR_NOT_READY;
fail:
    av_frame_free(&in);
    return ret;
}

static const AVFilterPad nuwa_outputs[] = {
    {
        .name         = "default",
        .type         = AVMEDIA_TYPE_VIDEO,
        .config_props = nuwa_config_output,
    },
};

const NUWA_FILTER_T ff_vf_nuwa = {
    NUWA_P(name)        = "nuwa",
    NUWA_P(description) = NULL_IF_CONFIG_SMALL("Extend, predict or reconstruct video with the NUWA model (libnuwa)."),
    NUWA_P(priv_class)  = &nuwa_class,
    .priv_size          = sizeof(NuwaContext),
    .init               = nuwa_init,
    .uninit             = nuwa_uninit,
    .activate           = nuwa_activate,
    FILTER_INPUTS(ff_video_default_filterpad),
    FILTER_OUTPUTS(nuwa_outputs),
    FILTER_PIXFMTS_ARRAY(nuwa_pix_fmts),
    .process_command    = ff_filter_process_command,
};

#endif /* CONFIG_NUWA_FILTER */

/* ---- nuwasrc ------------------------------------------------------------------------------ */

#if CONFIG_NUWASRC_FILTER

static const AVOption nuwasrc_options[] = {
    { "model", "NUWA model file (GGUF)", OFFSET(model_path), AV_OPT_TYPE_STRING, { .str = NULL }, 0, 0, FLAGS },
    { "frames", "number of frames (0: from duration, else the model's window)", OFFSET(frames), AV_OPT_TYPE_INT,
      { .i64 = 0 }, 0, 100000, FLAGS },
    { "duration", "duration of the video (alternative to frames)", OFFSET(duration), AV_OPT_TYPE_DURATION,
      { .i64 = 0 }, 0, INT64_MAX, FLAGS },
    { "d", "duration of the video (alternative to frames)", OFFSET(duration), AV_OPT_TYPE_DURATION,
      { .i64 = 0 }, 0, INT64_MAX, FLAGS },
    { "rate", "frame rate", OFFSET(rate), AV_OPT_TYPE_VIDEO_RATE, { .str = "8" }, 0, INT_MAX, FLAGS },
    { "r", "frame rate", OFFSET(rate), AV_OPT_TYPE_VIDEO_RATE, { .str = "8" }, 0, INT_MAX, FLAGS },
    { "size", "output size (default: the model's)", OFFSET(w), AV_OPT_TYPE_IMAGE_SIZE, { .str = NULL }, 0, 0, FLAGS },
    { "s", "output size (default: the model's)", OFFSET(w), AV_OPT_TYPE_IMAGE_SIZE, { .str = NULL }, 0, 0, FLAGS },
    COMMON_SAMPLING_OPTIONS,
    { NULL }
};

AVFILTER_DEFINE_CLASS(nuwasrc);

static av_cold int nuwasrc_init(AVFilterContext *ctx)
{
    NuwaContext *s = ctx->priv;
    int ret = load_model(ctx, 1);
    if (ret < 0)
        return ret;
    if (s->frames)
        s->total = s->frames;
    else if (s->duration)
        s->total = av_rescale_q(s->duration, AV_TIME_BASE_Q, av_inv_q(s->rate));
    else
        s->total = s->ti.max_video_frames;
    if (s->total < 1) {
        av_log(ctx, AV_LOG_ERROR, "duration is shorter than one frame at the given rate\n");
        return AVERROR(EINVAL);
    }
    if (!s->w || !s->h) {
        s->w = s->S;
        s->h = s->S;
    }
    return 0;
}

static av_cold void nuwasrc_uninit(AVFilterContext *ctx)
{
    NuwaContext *s = ctx->priv;
    sws_freeContext(s->from_model);
    av_freep(&s->mbuf);
    nuwa_session_destroy(&s->sess);
    nuwa_model_unref(&s->model);
}

static int nuwasrc_config_output(AVFilterLink *outlink)
{
    AVFilterContext *ctx = outlink->src;
    NuwaContext *s = ctx->priv;
    FilterLink *fl = ff_filter_link(outlink);
    outlink->w = s->w;
    outlink->h = s->h;
    outlink->sample_aspect_ratio = (AVRational){ 1, 1 };
    outlink->time_base = av_inv_q(s->rate);
    fl->frame_rate = s->rate;
    return 0;
}

static int nuwasrc_query_formats(const AVFilterContext *ctx, AVFilterFormatsConfig **cfg_in,
                                 AVFilterFormatsConfig **cfg_out)
{
    const NuwaContext *s = ctx->priv;
    const enum AVPixelFormat fmts[] = { s->C == 1 ? AV_PIX_FMT_GRAY8 : AV_PIX_FMT_RGB24, AV_PIX_FMT_NONE };
    (void)cfg_in;
    return ff_set_common_formats_from_list2(ctx, cfg_in, cfg_out, fmts);
}

static int nuwasrc_activate(AVFilterContext *ctx)
{
    NuwaContext *s = ctx->priv;
    AVFilterLink *outlink = ctx->outputs[0];
    NuwaFrame f;
    AVFrame *out;
    char buf[32];
    int err;
    if (!ff_outlink_frame_wanted(outlink))
        return FFERROR_NOT_READY;
    if (s->produced >= s->total) {
        ff_outlink_set_status(outlink, AVERROR_EOF, s->produced);
        return 0;
    }
    if (!s->started) {
        int ret = start_video(ctx);
        if (ret < 0)
            return ret;
        s->started = 1;
    }
    f = model_frame(s, s->mbuf);
    err = nuwa_session_generate_frames(s->sess, 1, &f, NULL);
    if (err < 0) {
        av_log(ctx, AV_LOG_ERROR, "generation failed: %s\n", nuwa_strerror(err));
        return nuwa_averror(err);
    }
    out = from_model(ctx, s->mbuf);
    if (!out)
        return AVERROR(ENOMEM);
    out->pts = s->produced++;
    out->duration = 1;
    out->sample_aspect_ratio = (AVRational){ 1, 1 };
#if LIBAVUTIL_VERSION_MAJOR >= 58
    out->flags |= AV_FRAME_FLAG_KEY;
#endif
    av_dict_set(&out->metadata, "lavfi.nuwa.generated", "1", 0);
    snprintf(buf, sizeof(buf), "%" PRId64, s->seed);
    av_dict_set(&out->metadata, "lavfi.nuwa.seed", buf, 0);
    return ff_filter_frame(outlink, out);
}

static const AVFilterPad nuwasrc_outputs[] = {
    {
        .name         = "default",
        .type         = AVMEDIA_TYPE_VIDEO,
        .config_props = nuwasrc_config_output,
    },
};

const NUWA_FILTER_T ff_vsrc_nuwasrc = {
    NUWA_P(name)        = "nuwasrc",
    NUWA_P(description) = NULL_IF_CONFIG_SMALL("Generate video from a text prompt with the NUWA model (libnuwa)."),
    NUWA_P(priv_class)  = &nuwasrc_class,
    .priv_size          = sizeof(NuwaContext),
    .init               = nuwasrc_init,
    .uninit             = nuwasrc_uninit,
    .activate           = nuwasrc_activate,
    FILTER_OUTPUTS(nuwasrc_outputs),
    FILTER_QUERY_FUNC2(nuwasrc_query_formats),
};

#endif /* CONFIG_NUWASRC_FILTER */
