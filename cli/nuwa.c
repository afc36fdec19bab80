/*
 * nuwa — command-line front end of libnuwa.
 *
 *   nuwa info MODEL                         hyperparameters and tensor table
 *   nuwa encode MODEL IN.ppm... [-o FILE]   token grid(s) of frames (netpbm P6/P5)
 *   nuwa decode MODEL TOKENS OUT.ppm        frames from token grid(s); OUT may hold %d
 *   nuwa roundtrip MODEL IN.ppm OUT.ppm     encode then decode
 *   nuwa generate / predict MODEL ...       text to video, video prediction
 *   nuwa train MODEL --data D --out CKPT    train the transformer (libnuwa/trainrun.h)
 *   nuwa export CKPT -o MODEL [--type T]    the model file of a checkpoint
 *
 * Options: -t N (threads, default all cores), -d/--device NAME (cpu, cuda, cuda:N), -v (verbose),
 * -o FILE.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <time.h>
#include <unistd.h>

#include "nuwa.h"
#include "trainrun.h"

static int g_verbose;
static const char *g_device; /* NULL: the library's default (cpu) */
static int g_errors;         /* error messages the library has logged */

static void log_cb(void *opaque, int level, const char *fmt, va_list ap)
{
    (void)opaque;
    if (level <= NUWA_LOG_ERROR)
        g_errors++;
    if (level > (g_verbose ? NUWA_LOG_DEBUG : NUWA_LOG_WARNING))
        return;
    fputs("nuwa: ", stderr);
    vfprintf(stderr, fmt, ap);
}

static int usage(FILE *f)
{
    fprintf(f,
            "usage: nuwa [-t THREADS] [-d DEVICE] [-v] COMMAND ...\n"
            "  info MODEL                        print hyperparameters and the tensor table\n"
            "  encode MODEL IN.ppm... [-o FILE]  print the token grid of each frame\n"
            "  decode MODEL TOKENS OUT.ppm       decode token grid(s) (text) into frames;\n"
            "                                    with several grids OUT must contain %%d\n"
            "  roundtrip MODEL IN.ppm OUT.ppm    encode and decode a frame\n"
            "  generate MODEL --text T --frames N [-o OUT%%03d.ppm]   text to video\n"
            "  predict MODEL --frames N CTX.ppm... [-o OUT%%03d.ppm]  continue a clip\n"
            "  train MODEL --data DIR|LIST --out CKPT [options]   train the transformer\n"
            "  train VQGAN.gguf --config NUWA.json --data ... --out CKPT   train a new transformer\n"
            "  export CKPT -o MODEL.gguf [--type f32|f16|bf16]    model file of a checkpoint\n"
            "Generation options: --text T, --frames N, --seed S, --temperature X (1),\n"
            "  --filter-thres X (0.9: keep the top 10%% of codes), --cond-scale X (2),\n"
            "  --reference (reproduce nuwa-pytorch's guidance and window, bugs B2/B5),\n"
            "  --tokens-out FILE (also write the sampled token grids).\n"
            "Training options (defaults: nuwa-pytorch's trainer): --val DIR|LIST, --steps N (1000),\n"
            "  --batch B (4), --lr LR (3e-4), --warmup W (0), --min-lr LR (= --lr: constant; lower\n"
            "  it for a cosine decay), --weight-decay WD (0.01, on >= 2-D tensors), --clip-grad C\n"
            "  (0.5; 0 = none), --cond-drop P (0.2), --seed S (0), --threads N, --val-every N (100),\n"
            "  --ckpt-every N (100), --resume CKPT (continue a run with its settings; only --steps\n"
            "  may change), --config JSON (a new transformer of NUWA's arguments; MODEL gives the\n"
            "  VQGAN and tokenizer; the initial model is written to CKPT.init.gguf), --dump-batches\n"
            "  FILE (the batches, dropout pattern and losses, to compare with another trainer).\n"
            "  SIGINT/SIGTERM write the checkpoint and exit with 130/143.\n"
            "Options: -t N: CPU threads (0, the default: all cores);\n"
            "  -d NAME, --device NAME: compute device, cpu (default), cuda or cuda:N;\n"
            "  -v: verbose logs; -o FILE: output file (encode) or name pattern.\n"
            "Frames are binary netpbm: P6 (RGB) or P5 (gray), 8-bit, of the model's size.\n");
    return f == stderr ? 2 : 0;
}

/* ---- netpbm ---------------------------------------------------------------------------- */

typedef struct Image {
    int w, h, c;
    unsigned char *px;
} Image;

static int pnm_int(FILE *f, int *out)
{
    int ch, v = 0, n = 0;
    do {
        ch = fgetc(f);
        if (ch == '#')
            while (ch != '\n' && ch != EOF)
                ch = fgetc(f);
    } while (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r');
    while (ch >= '0' && ch <= '9') {
        if (v > 100000000)
            return -1;
        v = v * 10 + (ch - '0');
        n++;
        ch = fgetc(f);
    }
    *out = v;
    return n ? 0 : -1;
}

static int read_pnm(const char *path, Image *img)
{
    FILE *f = fopen(path, "rb");
    char magic[3] = {0};
    int maxval;
    if (!f) {
        fprintf(stderr, "nuwa: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (fread(magic, 1, 2, f) != 2 || magic[0] != 'P' || (magic[1] != '6' && magic[1] != '5')) {
        fprintf(stderr, "nuwa: %s is not a binary PPM/PGM (P6/P5) file\n", path);
        fclose(f);
        return -1;
    }
    img->c = magic[1] == '6' ? 3 : 1;
    if (pnm_int(f, &img->w) || pnm_int(f, &img->h) || pnm_int(f, &maxval) || img->w < 1 ||
        img->h < 1 || img->w > 65536 || img->h > 65536) {
        fprintf(stderr, "nuwa: %s: bad netpbm header\n", path);
        fclose(f);
        return -1;
    }
    if (maxval != 255) {
        fprintf(stderr, "nuwa: %s: only 8-bit netpbm (maxval 255) is supported, got %d\n", path, maxval);
        fclose(f);
        return -1;
    }
    const size_t n = (size_t)img->w * img->h * img->c;
    img->px = malloc(n);
    if (!img->px || fread(img->px, 1, n, f) != n) {
        fprintf(stderr, "nuwa: %s: truncated pixel data\n", path);
        free(img->px);
        img->px = NULL;
        fclose(f);
        return -1;
    }
    fclose(f);
    return 0;
}

static int write_pnm(const char *path, const Image *img)
{
    FILE *f = fopen(path, "wb");
    const size_t n = (size_t)img->w * img->h * img->c;
    if (!f) {
        fprintf(stderr, "nuwa: cannot create %s: %s\n", path, strerror(errno));
        return -1;
    }
    fprintf(f, "P%c\n%d %d\n255\n", img->c == 3 ? '6' : '5', img->w, img->h);
    if (fwrite(img->px, 1, n, f) != n || fclose(f)) {
        fprintf(stderr, "nuwa: error writing %s\n", path);
        return -1;
    }
    return 0;
}

/* ---- commands ---------------------------------------------------------------------------- */

static NuwaModel *load_model(const char *path)
{
    NuwaModelParams mp;
    NuwaModel *m = NULL;
    nuwa_model_params_default(&mp);
    mp.log_cb = log_cb;
    mp.log_level = g_verbose ? NUWA_LOG_DEBUG : NUWA_LOG_WARNING;
    if (nuwa_model_load(&m, path, &mp) < 0)
        return NULL;
    return m;
}

static NuwaSession *new_session(NuwaModel *m, int threads)
{
    NuwaSessionParams sp;
    NuwaSession *s = NULL;
    nuwa_session_params_default(&sp);
    sp.n_threads = threads;
    sp.device = g_device;
    sp.log_cb = log_cb;
    sp.log_level = g_verbose ? NUWA_LOG_DEBUG : NUWA_LOG_WARNING;
    const int errors = g_errors;
    int err = nuwa_session_create(&s, m, &sp);
    if (err < 0) {
        /* errors are one line: the library's when it said why (an unknown device, no CUDA
         * backend, driver or GPU, ...), else ours */
        if (g_errors == errors)
            fprintf(stderr, "nuwa: cannot create a session%s%s%s: %s\n", g_device ? " on device '" : "",
                    g_device ? g_device : "", g_device ? "'" : "", nuwa_strerror(err));
        return NULL;
    }
    return s;
}

static int cmd_info(const char *path)
{
    NuwaModel *m = load_model(path);
    NuwaVaeInfo v;
    if (!m)
        return 1;
    nuwa_model_vae_info(m, &v);
    printf("%-22s%s\n", "model:", path);
    printf("VQGAN tokenizer:\n");
    printf("  %-20s%d\n", "image_size:", v.image_size);
    printf("  %-20s%d\n", "channels:", v.channels);
    printf("  %-20s%d\n", "dim:", v.dim);
    printf("  %-20s%d\n", "num_layers:", v.num_layers);
    printf("  %-20s", "layer_mults:");
    for (int i = 0; i < v.num_layers; i++)
        printf("%s%d", i ? "," : "", v.layer_mults[i]);
    printf("\n  %-20s", "num_resnet_blocks:");
    for (int i = 0; i < v.num_layers; i++)
        printf("%s%d", i ? "," : "", v.num_resnet_blocks[i]);
    printf("\n  %-20s", "use_attn:");
    for (int i = 0; i < v.num_layers; i++)
        printf("%s%s", i ? "," : "", v.use_attn[i] ? "yes" : "no");
    printf("\n  %-20s%d heads x %d\n", "attention:", v.attn_heads, v.attn_dim_head);
    printf("  %-20s%d\n", "resnet_groups:", v.resnet_groups);
    printf("  %-20s%d\n", "first_conv_kernel:", v.first_conv_kernel_size);
    printf("  %-20s%d codes x %d (%s)%s\n", "codebook:", v.codebook_size, v.codebook_dim,
           v.use_cosine_sim ? "cosine" : "euclidean",
           v.codebook_dim != v.feature_dim ? ", with projections" : "");
    printf("  %-20s%d (%dx%d)\n", "tokens per frame:", v.tokens_per_frame, v.fmap_size, v.fmap_size);
    NuwaTransformerInfo ti;
    nuwa_model_transformer_info(m, &ti);
    if (ti.present) {
        printf("NUWA transformer:\n");
        printf("  %-20s%d\n", "dim:", ti.dim);
        printf("  %-20s%d (%d tokens per frame)\n", "max_video_frames:", ti.max_video_frames, v.tokens_per_frame);
        printf("  %-20s%d layers%s\n", "text encoder:", ti.enc_depth, "");
        printf("  %-20s%d layers, %d heads x %d%s\n", "video decoder:", ti.dec_depth, ti.dec_heads, ti.dec_dim_head,
               ti.reversible ? ", reversible" : "");
        printf("  %-20s%dx%dx%d\n", "3DNA window:", ti.kernel[0], ti.kernel[1], ti.kernel[2]);
        printf("  %-20s%d tokens, vocabulary %d%s\n", "text:", ti.text_max_seq_len, ti.text_num_tokens,
               ti.has_tokenizer ? ", CLIP BPE tokenizer included" : ", no tokenizer (token ids only)");
    }
    const int n = nuwa_model_tensor_count(m);
    uint64_t bytes = 0;
    printf("tensors: %d\n", n);
    for (int i = 0; i < n; i++) {
        NuwaTensorInfo t;
        char shape[96];
        int o = 0;
        nuwa_model_tensor_info(m, i, &t);
        o += snprintf(shape + o, sizeof(shape) - o, "(");
        for (int d = 0; d < t.n_dims; d++)
            o += snprintf(shape + o, sizeof(shape) - o, "%s%lld", d ? "," : "", (long long)t.shape[d]);
        snprintf(shape + o, sizeof(shape) - o, ")");
        printf("  %-48s %-5s %-20s %10llu bytes\n", t.name, t.type, shape, (unsigned long long)t.size);
        bytes += t.size;
    }
    printf("total: %.2f MiB\n", bytes / 1048576.0);
    nuwa_model_unref(&m);
    return 0;
}

static int frame_of(const Image *img, NuwaFrame *f)
{
    f->format = img->c == 3 ? NUWA_FRAME_RGB24 : NUWA_FRAME_GRAY8;
    f->width = img->w;
    f->height = img->h;
    f->channels = img->c;
    f->data = img->px;
    f->stride = (ptrdiff_t)img->w * img->c;
    f->plane_stride = 0;
    return 0;
}

static int cmd_encode(const char *model, char **inputs, int n_in, const char *out, int threads)
{
    NuwaModel *m = load_model(model);
    NuwaSession *s = NULL;
    NuwaVaeInfo v;
    int32_t *tok = NULL;
    FILE *fo = stdout;
    int ret = 1;
    if (!m || !(s = new_session(m, threads)))
        goto end;
    nuwa_model_vae_info(m, &v);
    tok = malloc(sizeof(*tok) * v.tokens_per_frame);
    if (!tok)
        goto end;
    if (out && !(fo = fopen(out, "w"))) {
        fprintf(stderr, "nuwa: cannot create %s: %s\n", out, strerror(errno));
        fo = stdout;
        goto end;
    }
    for (int i = 0; i < n_in; i++) {
        Image img = {0};
        NuwaFrame f;
        if (read_pnm(inputs[i], &img) < 0)
            goto end;
        frame_of(&img, &f);
        int err = nuwa_vae_encode(s, &f, 1, tok);
        free(img.px);
        if (err < 0) {
            fprintf(stderr, "nuwa: %s: %s\n", inputs[i], nuwa_strerror(err));
            goto end;
        }
        if (i)
            fputc('\n', fo);
        for (int y = 0; y < v.fmap_size; y++)
            for (int x = 0; x < v.fmap_size; x++)
                fprintf(fo, "%d%c", tok[y * v.fmap_size + x], x + 1 == v.fmap_size ? '\n' : ' ');
    }
    ret = 0;
end:
    if (fo != stdout && fclose(fo) && !ret) {
        fprintf(stderr, "nuwa: error writing %s\n", out);
        ret = 1;
    }
    free(tok);
    nuwa_session_destroy(&s);
    nuwa_model_unref(&m);
    return ret;
}

static int decode_and_write(NuwaSession *s, const NuwaVaeInfo *v, const int32_t *tok, const char *path)
{
    Image img = {v->image_size, v->image_size, v->channels, NULL};
    NuwaFrame f;
    int ret = -1;
    if (v->channels != 1 && v->channels != 3) {
        fprintf(stderr, "nuwa: %d-channel models cannot be written as netpbm\n", v->channels);
        return -1;
    }
    img.px = malloc((size_t)img.w * img.h * img.c);
    if (!img.px)
        return -1;
    frame_of(&img, &f);
    int err = nuwa_vae_decode(s, tok, 1, &f);
    if (err < 0)
        fprintf(stderr, "nuwa: decode: %s\n", nuwa_strerror(err));
    else
        ret = write_pnm(path, &img);
    free(img.px);
    return ret;
}

/* The output name is used as a printf format with one int argument: it may hold %% and at
 * most one %d (with an optional width such as %03d), nothing else. Returns the number of %d
 * or -1. */
static int out_pattern(const char *s)
{
    int n = 0;
    for (; *s; s++) {
        if (*s != '%')
            continue;
        if (*++s == '%')
            continue;
        for (int w = 0; *s >= '0' && *s <= '9' && w < 3; w++)
            s++;
        if (*s != 'd')
            return -1;
        n++;
    }
    return n;
}

static int cmd_decode(const char *model, const char *tokens, const char *out, int threads)
{
    NuwaModel *m = load_model(model);
    NuwaSession *s = NULL;
    NuwaVaeInfo v;
    int32_t *tok = NULL;
    size_t n = 0, cap = 0;
    FILE *f = NULL;
    int ret = 1;
    if (!m || !(s = new_session(m, threads)))
        goto end;
    nuwa_model_vae_info(m, &v);
    if (!(f = fopen(tokens, "r"))) {
        fprintf(stderr, "nuwa: cannot open %s: %s\n", tokens, strerror(errno));
        goto end;
    }
    for (;;) {
        long t;
        int r = fscanf(f, "%ld", &t);
        if (r == EOF)
            break;
        if (r != 1) {
            fprintf(stderr, "nuwa: %s: not a list of integers (after %zu tokens)\n", tokens, n);
            goto end;
        }
        if (n == cap) {
            cap = cap ? 2 * cap : 1024;
            int32_t *nt = realloc(tok, cap * sizeof(*tok));
            if (!nt)
                goto end;
            tok = nt;
        }
        if (t < 0 || t >= v.codebook_size) {
            fprintf(stderr, "nuwa: %s: token %zu is %ld, outside the codebook [0, %d)\n", tokens, n,
                    t, v.codebook_size);
            goto end;
        }
        tok[n++] = (int32_t)t;
    }
    if (n == 0 || n % v.tokens_per_frame) {
        fprintf(stderr, "nuwa: %s holds %zu tokens, not a positive multiple of %d (%dx%d per frame)\n",
                tokens, n, v.tokens_per_frame, v.fmap_size, v.fmap_size);
        goto end;
    }
    const size_t frames = n / v.tokens_per_frame;
    const int pattern = out_pattern(out);
    if (pattern < 0 || pattern > 1) {
        fprintf(stderr, "nuwa: output name %s: a %% may only start %%%% or one %%d (or %%0Nd)\n", out);
        goto end;
    }
    if (frames > 1 && pattern != 1) {
        fprintf(stderr, "nuwa: %zu frames to write: the output name needs a %%d pattern\n", frames);
        goto end;
    }
    for (size_t i = 0; i < frames; i++) {
        char path[4096];
        snprintf(path, sizeof(path), out, (int)i);
        if (decode_and_write(s, &v, tok + i * v.tokens_per_frame, path) < 0)
            goto end;
    }
    ret = 0;
end:
    if (f)
        fclose(f);
    free(tok);
    nuwa_session_destroy(&s);
    nuwa_model_unref(&m);
    return ret;
}

static int cmd_roundtrip(const char *model, const char *in, const char *out, int threads)
{
    NuwaModel *m = load_model(model);
    NuwaSession *s = NULL;
    NuwaVaeInfo v;
    Image img = {0};
    NuwaFrame f;
    int32_t *tok = NULL;
    int ret = 1;
    if (!m || !(s = new_session(m, threads)))
        goto end;
    nuwa_model_vae_info(m, &v);
    if (read_pnm(in, &img) < 0)
        goto end;
    tok = malloc(sizeof(*tok) * v.tokens_per_frame);
    if (!tok)
        goto end;
    frame_of(&img, &f);
    int err = nuwa_vae_encode(s, &f, 1, tok);
    if (err < 0) {
        fprintf(stderr, "nuwa: %s: %s\n", in, nuwa_strerror(err));
        goto end;
    }
    if (decode_and_write(s, &v, tok, out) < 0)
        goto end;
    ret = 0;
end:
    free(img.px);
    free(tok);
    nuwa_session_destroy(&s);
    nuwa_model_unref(&m);
    return ret;
}


/* ---- generation ----------------------------------------------------------------------------- */

typedef struct GenOpts {
    const char *text;
    int frames;
    unsigned long long seed;
    float temperature, cond_scale;
    double filter_thres;
    int reference;
    const char *tokens_out;
} GenOpts;

typedef struct Progress {
    double t0;
    int64_t last_print;
    int tty;
} Progress;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int progress_cb(void *opaque, int64_t done, int64_t total)
{
    Progress *p = opaque;
    const double el = now_s() - p->t0;
    if (!p->tty && done != total)
        return 0; /* not a terminal: only the summary line */
    if (done == total || done - p->last_print >= 16 || done == 1) {
        const double rate = el > 0 ? done / el : 0;
        fprintf(stderr, "%snuwa: token %lld/%lld  %.1f tok/s  ETA %.0f s   ", p->tty ? "\r" : "", (long long)done,
                (long long)total, rate, rate > 0 ? (total - done) / rate : 0.0);
        if (done == total)
            fputc('\n', stderr);
        p->last_print = done;
    }
    return 0;
}

static int write_frames(NuwaSession *s, const NuwaVaeInfo *v, const int32_t *tok, int n, const char *out)
{
    const int pattern = out_pattern(out);
    if (pattern < 0 || pattern > 1 || (n > 1 && pattern != 1)) {
        fprintf(stderr, "nuwa: output name %s: %d frames need one %%d (or %%0Nd) pattern, and a %% may "
                        "otherwise only start %%%%\n", out, n);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof(path), out, i);
        if (decode_and_write(s, v, tok + (size_t)i * v->tokens_per_frame, path) < 0)
            return -1;
    }
    return 0;
}

static int cmd_generate(const char *model, char **ctx_files, int n_ctx, const GenOpts *go, const char *out,
                        int threads)
{
    NuwaModel *m = load_model(model);
    NuwaSession *s = NULL;
    NuwaVaeInfo v;
    NuwaTransformerInfo ti;
    NuwaGenParams gp;
    Progress pr = {0, 0, isatty(2)};
    int32_t *tok = NULL;
    int ret = 1, err;
    if (!m || !(s = new_session(m, threads)))
        goto end;
    nuwa_model_vae_info(m, &v);
    nuwa_model_transformer_info(m, &ti);
    if (!ti.present) {
        fprintf(stderr, "nuwa: %s has no NUWA transformer (it is a VQGAN-only model)\n", model);
        goto end;
    }
    if (go->frames < 1 || go->frames > 100000) {
        fprintf(stderr, "nuwa: --frames must be a positive number of frames to generate\n");
        goto end;
    }
    nuwa_gen_params_default(&gp);
    gp.seed = go->seed;
    gp.temperature = go->temperature;
    gp.filter_thres = go->filter_thres;
    gp.cond_scale = go->cond_scale;
    gp.reference_guidance = gp.reference_window = go->reference;
    gp.progress = progress_cb;
    gp.progress_opaque = &pr;
    err = nuwa_session_start_text(s, go->text ? go->text : "", &gp);
    if (err < 0) {
        fprintf(stderr, "nuwa: cannot start: %s\n", nuwa_strerror(err));
        goto end;
    }
    for (int i = 0; i < n_ctx; i++) {
        Image img = {0};
        NuwaFrame f;
        if (read_pnm(ctx_files[i], &img) < 0)
            goto end;
        frame_of(&img, &f);
        err = nuwa_session_push_frames(s, &f, 1);
        free(img.px);
        if (err < 0) {
            fprintf(stderr, "nuwa: %s: %s\n", ctx_files[i], nuwa_strerror(err));
            goto end;
        }
    }
    tok = malloc(sizeof(int32_t) * (size_t)go->frames * v.tokens_per_frame);
    if (!tok)
        goto end;
    pr.t0 = now_s();
    err = nuwa_session_generate(s, go->frames, tok);
    if (err < 0) {
        fprintf(stderr, "nuwa: generation failed: %s\n", nuwa_strerror(err));
        goto end;
    }
    if (go->tokens_out) {
        FILE *f = fopen(go->tokens_out, "w");
        if (!f) {
            fprintf(stderr, "nuwa: cannot create %s: %s\n", go->tokens_out, strerror(errno));
            goto end;
        }
        for (int i = 0; i < go->frames; i++) {
            if (i)
                fputc('\n', f);
            for (int y = 0; y < v.fmap_size; y++)
                for (int x = 0; x < v.fmap_size; x++)
                    fprintf(f, "%d%c", tok[(size_t)i * v.tokens_per_frame + y * v.fmap_size + x],
                            x + 1 == v.fmap_size ? '\n' : ' ');
        }
        if (fclose(f)) {
            fprintf(stderr, "nuwa: error writing %s\n", go->tokens_out);
            goto end;
        }
    }
    if (write_frames(s, &v, tok, go->frames, out) < 0)
        goto end;
    ret = 0;
end:
    free(tok);
    nuwa_session_destroy(&s);
    nuwa_model_unref(&m);
    return ret;
}

/* ---- training ------------------------------------------------------------------------------ */

/* Set by SIGINT / SIGTERM: the run finishes its step, writes the checkpoint and returns. The
 * handler is installed with SA_RESETHAND, so a second signal stops the program at once (the
 * checkpoint file is replaced atomically, so even that never leaves a torn one). */
static volatile sig_atomic_t g_stop;

static void on_stop_signal(int sig)
{
    g_stop = sig;
}

typedef struct TrainCli {
    NwTrainRunOpts o;
    const char *hyper_set; /* the first option that only a new run may set (refused with --resume) */
    const char *type;      /* export: f32, f16, bf16 */
    int tty;
    int data_pct;          /* last tokenizing progress printed */
    char *init_out;        /* --config: OUT.init.gguf */
} TrainCli;

static void fmt_eta(char *buf, size_t n, double s)
{
    if (!(s >= 0) || s > 1e8)
        snprintf(buf, n, "?");
    else if (s >= 3600)
        snprintf(buf, n, "%dh%02dm", (int)(s / 3600), (int)(s / 60) % 60);
    else if (s >= 60)
        snprintf(buf, n, "%dm%02ds", (int)(s / 60), (int)s % 60);
    else
        snprintf(buf, n, "%ds", (int)s);
}

/* One line per step (a log of the run that survives in a file, unlike a \r line). */
static int train_progress(void *opaque, const NwTrainProgress *p)
{
    (void)opaque;
    char val[32] = "", eta[32];
    if (isfinite(p->val_loss))
        snprintf(val, sizeof(val), "  val %.3f", p->val_loss);
    fmt_eta(eta, sizeof(eta), p->eta_s);
    fprintf(stderr, "step %lld/%lld  loss %.3f%s  lr %.1e  |g| %.2f  %.0f tok/s  ETA %s%s%s\n", (long long)p->step,
            (long long)p->total, p->loss, val, p->lr, p->grad_norm, p->tokens_per_s, eta,
            p->saved ? "  (checkpoint)" : "", p->skipped ? "  (skipped: non-finite gradient)" : "");
    return 0;
}

/* First-time tokenizing of the data: a line every 5 % (a \r line on a terminal). */
static void data_progress(void *opaque, const char *path, int done, int total)
{
    TrainCli *tc = opaque;
    const int pct = (int)(100.0 * done / (total ? total : 1)), last = tc->data_pct;
    if (done != total && pct / 5 == last / 5 && done != 1)
        return;
    tc->data_pct = pct;
    fprintf(stderr, "%stokenizing %s: %d/%d clips (%d%%)%s", tc->tty ? "\r" : "", path, done, total, pct,
            tc->tty && done != total ? "" : "\n");
}

static int cmd_train(const char *model, TrainCli *tc, int threads)
{
    NwTrainRunOpts *o = &tc->o;
    o->model = model;
    if (tc->o.threads == 0)
        o->threads = threads;
    if (!o->data || !o->out) {
        fprintf(stderr, "nuwa: train needs --data DIR|LIST and --out CKPT\n");
        return 2;
    }
    if (o->resume && tc->hyper_set) {
        fprintf(stderr, "nuwa: %s cannot be combined with --resume: a resumed run keeps the checkpoint's settings "
                        "(only --steps may change)\n", tc->hyper_set);
        return 2;
    }
    /* a fresh run must not silently replace the checkpoint of another one */
    if (!o->resume && access(o->out, F_OK) == 0) {
        fprintf(stderr, "nuwa: %s exists: continue it with --resume %s, or remove it to start over\n", o->out, o->out);
        return 1;
    }
    if (o->config) {
        const size_t n = strlen(o->out) + sizeof(".init.gguf");
        if (!(tc->init_out = malloc(n)))
            return 1;
        snprintf(tc->init_out, n, "%s.init.gguf", o->out);
        o->init_out = tc->init_out;
        fprintf(stderr, "nuwa: new transformer from %s (VQGAN and tokenizer of %s): initial model %s\n", o->config,
                model, o->init_out);
    }
    tc->tty = isatty(2);
    o->data_progress = data_progress;
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop_signal;
    sa.sa_flags = SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    NwLog log = {log_cb, NULL, g_verbose ? NUWA_LOG_DEBUG : NUWA_LOG_WARNING};
    NwTrainRunResult res;
    const int errors = g_errors;
    const int err = nw_train_run(o, &log, train_progress, tc, &g_stop, &res);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    free(tc->init_out);
    if (err == NUWA_ERR_AGAIN && g_stop)
        return 128 + (int)g_stop; /* stopped while tokenizing: logged, nothing written */
    if (err < 0) {
        if (g_errors == errors)
            fprintf(stderr, "nuwa: train: %s\n", nuwa_strerror(err));
        return 1;
    }
    if (res.stopped) {
        fprintf(stderr, "nuwa: stopped at step %lld by %s: checkpoint %s (continue with --resume %s)\n",
                (long long)res.step, g_stop == SIGTERM ? "SIGTERM" : "SIGINT", o->out, o->out);
        /* the shell's convention for a signal, so that scripts see the run did not finish */
        return 128 + (g_stop ? (int)g_stop : SIGINT);
    }
    if (o->config)
        fprintf(stderr, "nuwa: the new transformer has %lld trainable parameters\n", (long long)res.new_params);
    fprintf(stderr, "nuwa: trained to step %lld: checkpoint %s (make a model file with: nuwa export %s -o MODEL.gguf)\n",
            (long long)res.step, o->out, o->out);
    return 0;
}

static int cmd_export(const char *ckpt, const char *out, const char *type)
{
    int dtype;
    if (!out) {
        fprintf(stderr, "nuwa: export needs -o MODEL.gguf\n");
        return 2;
    }
    if (!type || !strcmp(type, "f32"))
        dtype = NW_TYPE_F32;
    else if (!strcmp(type, "f16"))
        dtype = NW_TYPE_F16;
    else if (!strcmp(type, "bf16"))
        dtype = NW_TYPE_BF16;
    else {
        fprintf(stderr, "nuwa: --type must be f32, f16 or bf16, got '%s'\n", type);
        return 2;
    }
    NwLog log = {log_cb, NULL, g_verbose ? NUWA_LOG_DEBUG : NUWA_LOG_WARNING};
    const int errors = g_errors;
    const int err = nw_export_file(ckpt, out, dtype, &log);
    if (err < 0) {
        if (g_errors == errors)
            fprintf(stderr, "nuwa: export: %s\n", nuwa_strerror(err));
        return 1;
    }
    return 0;
}

/* Numbers of the training options; a bad value is a usage error naming the option. */
static int parse_i64(const char *opt, const char *v, long long lo, long long hi, int64_t *out)
{
    char *end;
    errno = 0;
    const long long x = strtoll(v, &end, 10);
    if (!*v || *end || errno || x < lo || x > hi) {
        fprintf(stderr, "nuwa: %s needs an integer in [%lld, %lld], got '%s'\n", opt, lo, hi, v);
        return -1;
    }
    *out = x;
    return 0;
}

static int parse_double(const char *opt, const char *v, double lo, double hi, double *out)
{
    char *end;
    const double x = strtod(v, &end);
    if (!*v || *end || !isfinite(x) || x < lo || x > hi) {
        fprintf(stderr, "nuwa: %s needs a number in [%g, %g], got '%s'\n", opt, lo, hi, v);
        return -1;
    }
    *out = x;
    return 0;
}

/* A training option with its value: 1 = consumed, 0 = not a training option, -1 = bad value. */
static int train_option(TrainCli *tc, const char *a, const char *v, int *min_lr_set)
{
    NwTrainRunOpts *o = &tc->o;
    int64_t i;
    double x;
    static const char *const hyper[] = {"--batch", "--lr", "--warmup", "--min-lr", "--weight-decay",
                                        "--clip-grad", "--cond-drop", "--seed", "--config", NULL};
    static const char *const all[] = {"--data", "--val", "--out", "--resume", "--type", "--steps", "--threads",
                                      "--val-every", "--ckpt-every", "--dump-batches", NULL};
    if (!v) { /* only: is this a training option? */
        for (int k = 0; hyper[k]; k++)
            if (!strcmp(a, hyper[k]) && strcmp(a, "--seed"))
                return 1;
        for (int k = 0; all[k]; k++)
            if (!strcmp(a, all[k]))
                return 1;
        return 0;
    }
    for (int k = 0; hyper[k]; k++)
        if (!strcmp(a, hyper[k]) && !tc->hyper_set)
            tc->hyper_set = hyper[k];
    if (!strcmp(a, "--data"))
        o->data = v;
    else if (!strcmp(a, "--val"))
        o->val = v;
    else if (!strcmp(a, "--out"))
        o->out = v;
    else if (!strcmp(a, "--resume"))
        o->resume = v;
    else if (!strcmp(a, "--config"))
        o->config = v;
    else if (!strcmp(a, "--dump-batches"))
        o->dump_batches = v;
    else if (!strcmp(a, "--type"))
        tc->type = v;
    else if (!strcmp(a, "--steps")) {
        if (parse_i64(a, v, 1, INT64_MAX / 2, &o->steps) < 0)
            return -1;
    } else if (!strcmp(a, "--batch")) {
        if (parse_i64(a, v, 1, 65536, &i) < 0)
            return -1;
        o->batch = (int)i;
    } else if (!strcmp(a, "--warmup")) {
        if (parse_i64(a, v, 0, INT64_MAX / 2, &o->warmup) < 0)
            return -1;
    } else if (!strcmp(a, "--threads")) {
        if (parse_i64(a, v, 0, 1024, &i) < 0)
            return -1;
        o->threads = (int)i;
    } else if (!strcmp(a, "--val-every")) {
        if (parse_i64(a, v, 0, INT64_MAX / 2, &o->val_every) < 0)
            return -1;
    } else if (!strcmp(a, "--ckpt-every")) {
        if (parse_i64(a, v, 0, INT64_MAX / 2, &o->ckpt_every) < 0)
            return -1;
    } else if (!strcmp(a, "--lr")) {
        if (parse_double(a, v, 1e-12, 1e3, &o->lr) < 0)
            return -1;
    } else if (!strcmp(a, "--min-lr")) {
        if (parse_double(a, v, 0, 1e3, &o->min_lr) < 0)
            return -1;
        *min_lr_set = 1;
    } else if (!strcmp(a, "--weight-decay")) {
        if (parse_double(a, v, 0, 1e3, &x) < 0)
            return -1;
        o->weight_decay = (float)x;
    } else if (!strcmp(a, "--clip-grad")) {
        if (parse_double(a, v, 0, 1e30, &o->clip) < 0)
            return -1;
    } else if (!strcmp(a, "--cond-drop")) {
        if (parse_double(a, v, 0, 1, &o->cond_drop) < 0)
            return -1;
    } else {
        return 0;
    }
    return 1;
}

static int parse_float(const char *opt, const char *v, float *out)
{
    char *end;
    const double x = strtod(v, &end);
    if (!*v || *end || !isfinite(x)) {
        fprintf(stderr, "nuwa: %s needs a number, got '%s'\n", opt, v);
        return -1;
    }
    *out = (float)x;
    return 0;
}

static int steps_given(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--steps"))
            return 1;
    return 0;
}

int main(int argc, char **argv)
{
    int threads = 0;
    const char *out = NULL;
    char *pos[256];
    int npos = 0;
    GenOpts go = {.temperature = 1.f, .cond_scale = 2.f, .filter_thres = 0.9};
    TrainCli tc;
    int min_lr_set = 0;
    memset(&tc, 0, sizeof(tc));
    nw_train_run_opts_default(&tc.o);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strncmp(a, "--", 2) && i + 1 < argc) {
            const int t = train_option(&tc, a, argv[i + 1], &min_lr_set);
            if (t < 0)
                return 2;
            if (t > 0) {
                i++;
                continue;
            }
        } else if (!strncmp(a, "--", 2) && train_option(&tc, a, NULL, &min_lr_set) > 0) {
            fprintf(stderr, "nuwa: %s needs a value\n", a);
            return 2;
        }
        if (!strcmp(a, "--reference")) {
            go.reference = 1;
            continue;
        }
        if (!strcmp(a, "--text") || !strcmp(a, "--frames") || !strcmp(a, "--seed") || !strcmp(a, "--temperature") ||
            !strcmp(a, "--filter-thres") || !strcmp(a, "--cond-scale") || !strcmp(a, "--tokens-out")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "nuwa: %s needs a value\n", a);
                return 2;
            }
            const char *v = argv[++i];
            char *end;
            if (!strcmp(a, "--text")) {
                go.text = v;
            } else if (!strcmp(a, "--tokens-out")) {
                go.tokens_out = v;
            } else if (!strcmp(a, "--frames")) {
                const long f = strtol(v, &end, 10);
                if (!*v || *end || f < 1 || f > 100000) {
                    fprintf(stderr, "nuwa: --frames needs a positive count, got '%s'\n", v);
                    return 2;
                }
                go.frames = (int)f;
            } else if (!strcmp(a, "--seed")) {
                go.seed = strtoull(v, &end, 10);
                if (!*v || *end) {
                    fprintf(stderr, "nuwa: --seed needs a non-negative integer, got '%s'\n", v);
                    return 2;
                }
            } else if (!strcmp(a, "--filter-thres")) {
                float f;
                if (parse_float(a, v, &f) < 0)
                    return 2;
                go.filter_thres = strtod(v, NULL); /* keep the double, as the reference */
            } else if (parse_float(a, v, !strcmp(a, "--temperature") ? &go.temperature : &go.cond_scale) < 0) {
                return 2;
            }
            continue;
        }
        if (!strcmp(a, "-h") || !strcmp(a, "--help"))
            return usage(stdout);
        if (!strcmp(a, "--version")) {
            printf("nuwa %s\n", nuwa_version());
            return 0;
        }
        if (!strcmp(a, "-v")) {
            g_verbose = 1;
        } else if (!strcmp(a, "-t") || !strcmp(a, "-o") || !strcmp(a, "-d") ||
                   !strcmp(a, "--device")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "nuwa: %s needs a value\n", a);
                return 2;
            }
            if (!strcmp(a, "-d") || !strcmp(a, "--device")) {
                g_device = argv[++i]; /* checked by nuwa_session_create */
            } else if (a[1] == 't') {
                char *end;
                long t = strtol(argv[++i], &end, 10);
                if (*end || t < 0 || t > 1024) {
                    fprintf(stderr, "nuwa: bad thread count '%s'\n", argv[i]);
                    return 2;
                }
                threads = (int)t;
            } else {
                out = argv[++i];
            }
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "nuwa: unknown option %s\n", a);
            return usage(stderr);
        } else if (npos < 256) {
            pos[npos++] = argv[i];
        }
    }
    if (npos < 1)
        return usage(stderr);
    const char *cmd = pos[0];
    if (!strcmp(cmd, "info") && npos == 2)
        return cmd_info(pos[1]);
    if (!strcmp(cmd, "encode") && npos >= 3)
        return cmd_encode(pos[1], pos + 2, npos - 2, out, threads);
    if (!strcmp(cmd, "decode") && npos == 4)
        return cmd_decode(pos[1], pos[2], pos[3], threads);
    if (!strcmp(cmd, "roundtrip") && npos == 4)
        return cmd_roundtrip(pos[1], pos[2], pos[3], threads);
    if ((!strcmp(cmd, "generate") && npos == 2) || (!strcmp(cmd, "predict") && npos >= 3)) {
        if (go.frames < 1) {
            fprintf(stderr, "nuwa: %s needs --frames N\n", cmd);
            return 2;
        }
        return cmd_generate(pos[1], pos + 2, npos - 2, &go, out ? out : "out_%03d.ppm", threads);
    }
    if (!strcmp(cmd, "train") && npos == 2) {
        /* the reference trainer's schedule is constant: without --min-lr the rate stays --lr */
        if (!min_lr_set)
            tc.o.min_lr = tc.o.lr;
        tc.o.seed = go.seed;
        if (!tc.o.out)
            tc.o.out = out;
        /* resuming: 0 = the checkpoint's total unless --steps was given */
        if (tc.o.resume && !steps_given(argc, argv))
            tc.o.steps = 0;
        return cmd_train(pos[1], &tc, threads);
    }
    if (!strcmp(cmd, "export") && npos == 2)
        return cmd_export(pos[1], out, tc.type);
    fprintf(stderr, "nuwa: bad command line for '%s'\n", cmd);
    return usage(stderr);
}
