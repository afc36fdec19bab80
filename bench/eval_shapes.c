/*
 * eval_shapes — quality evaluation of a NUWA model on held-out synthetic "shapes" clips
 * (tools/make_shapes.py: clips.rgb + clips.tsv), with libnuwa only (no torch). `make eval`.
 *
 *   eval_shapes MODEL DATA_DIR [--clips N] [--context C] [--threads T] [--seed S]
 *
 * (a) prediction: from C context frames, the next frame vs the truth — PSNR and the shape's
 *     centroid error — against the copy-last-frame baseline;
 * (b) text-to-video: clips generated from each caption are scored by simple geometry: dominant
 *     hue -> colour name, fill ratio of the bounding box -> shape, centroid motion -> direction;
 * (c) VQGAN reconstruction PSNR (the ceiling of (a)).
 *
 * The shape is found as the pixels that differ from the background (the median colour of the
 * frame border) by more than a threshold.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nuwa.h"

#define MAXF 64

typedef struct Clip {
    char caption[256], colour[32], shape[32], direction[64];
    double cx[MAXF], cy[MAXF];
} Clip;

static int cmp_u8(const void *a, const void *b)
{
    return *(const uint8_t *)a - *(const uint8_t *)b;
}

/* Centroid, mean colour and fill ratio of the non-background pixels; 0 if none found. */
static int measure(const uint8_t *img, int S, double *cx, double *cy, double rgb[3], double *fill)
{
    uint8_t border[3][4 * 256];
    int nb = 0;
    for (int i = 0; i < S; i++) {
        const int pos[4][2] = {{0, i}, {S - 1, i}, {i, 0}, {i, S - 1}};
        for (int k = 0; k < 4 && nb < 4 * 256; k++, nb++)
            for (int c = 0; c < 3; c++)
                border[c][nb] = img[(pos[k][0] * S + pos[k][1]) * 3 + c];
    }
    double bg[3];
    for (int c = 0; c < 3; c++) {
        qsort(border[c], nb, 1, cmp_u8);
        bg[c] = border[c][nb / 2];
    }
    double sx = 0, sy = 0, n = 0, col[3] = {0, 0, 0};
    int x0 = S, x1 = -1, y0 = S, y1 = -1;
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++) {
            const uint8_t *p = img + (y * S + x) * 3;
            const double d = fabs(p[0] - bg[0]) + fabs(p[1] - bg[1]) + fabs(p[2] - bg[2]);
            if (d < 120)
                continue;
            sx += x;
            sy += y;
            n++;
            for (int c = 0; c < 3; c++)
                col[c] += p[c];
            x0 = x < x0 ? x : x0;
            x1 = x > x1 ? x : x1;
            y0 = y < y0 ? y : y0;
            y1 = y > y1 ? y : y1;
        }
    if (n < 4)
        return 0;
    *cx = sx / n;
    *cy = sy / n;
    for (int c = 0; c < 3; c++)
        rgb[c] = col[c] / n;
    *fill = n / ((double)(x1 - x0 + 1) * (y1 - y0 + 1));
    return 1;
}

static const char *colour_name(const double rgb[3])
{
    static const char *names[6] = {"red", "yellow", "green", "cyan", "blue", "magenta"};
    const double r = rgb[0] / 255, g = rgb[1] / 255, b = rgb[2] / 255;
    const double mx = fmax(r, fmax(g, b)), mn = fmin(r, fmin(g, b));
    double h;
    if (mx - mn < 1e-6)
        return "gray";
    if (mx == r)
        h = fmod((g - b) / (mx - mn), 6.0);
    else if (mx == g)
        h = (b - r) / (mx - mn) + 2;
    else
        h = (r - g) / (mx - mn) + 4;
    h *= 60;
    if (h < 0)
        h += 360;
    return names[(int)floor((h + 30) / 60) % 6];
}

static const char *shape_name(double fill)
{
    return fill > 0.9 ? "square" : fill > 0.62 ? "circle" : "triangle";
}

/* Direction of a displacement (image coordinates: y grows downwards). */
static const char *direction_name(double dx, double dy)
{
    static const char *names[8] = {"right", "down and to the right", "down", "down and to the left",
                                   "left", "up and to the left", "up", "up and to the right"};
    if (fabs(dx) + fabs(dy) < 0.5)
        return "still";
    double a = atan2(dy, dx) * 180 / M_PI;
    if (a < 0)
        a += 360;
    return names[(int)floor((a + 22.5) / 45) % 8];
}

static double psnr(const uint8_t *a, const uint8_t *b, size_t n)
{
    double se = 0;
    for (size_t i = 0; i < n; i++)
        se += (double)(a[i] - b[i]) * (a[i] - b[i]);
    if (se == 0)
        return 99;
    return 10 * log10(255.0 * 255.0 / (se / n));
}

static int read_tsv(const char *path, Clip *clips, int max, int F)
{
    FILE *f = fopen(path, "r");
    char line[8192];
    int n = 0;
    if (!f)
        return -1;
    if (!fgets(line, sizeof(line), f)) { /* header */
        fclose(f);
        return -1;
    }
    while (n < max && fgets(line, sizeof(line), f)) {
        char *save = NULL, *tok;
        int col = 0;
        Clip *c = &clips[n];
        memset(c, 0, sizeof(*c));
        for (tok = strtok_r(line, "\t\n", &save); tok; tok = strtok_r(NULL, "\t\n", &save), col++) {
            if (col == 1)
                snprintf(c->caption, sizeof(c->caption), "%s", tok);
            else if (col == 2)
                snprintf(c->colour, sizeof(c->colour), "%s", tok);
            else if (col == 3)
                snprintf(c->shape, sizeof(c->shape), "%s", tok);
            else if (col == 4)
                snprintf(c->direction, sizeof(c->direction), "%s", tok);
            else if (col >= 6 && col < 6 + 2 * F) {
                const int k = (col - 6) / 2;
                if ((col - 6) % 2 == 0)
                    c->cx[k] = atof(tok);
                else
                    c->cy[k] = atof(tok);
            }
        }
        if (col < 6 + 2 * F) {
            fprintf(stderr, "eval: %s line %d has %d columns, need %d\n", path, n + 2, col, 6 + 2 * F);
            fclose(f);
            return -1;
        }
        n++;
    }
    fclose(f);
    return n;
}

int main(int argc, char **argv)
{
    int n_clips = 100, context = 4, threads = 0, F = 8;
    unsigned long long seed = 1;
    if (argc < 3) {
        fprintf(stderr, "usage: eval_shapes MODEL DATA_DIR [--clips N] [--context C] [--frames F] [--threads T] [--seed S]\n");
        return 2;
    }
    for (int i = 3; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--clips"))
            n_clips = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--context"))
            context = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--frames"))
            F = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--threads"))
            threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--seed"))
            seed = strtoull(argv[i + 1], NULL, 10);
        else {
            fprintf(stderr, "eval: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (n_clips < 1 || F < 2 || F > MAXF || context < 1 || context >= F)
        return 2;

    NuwaModel *m = NULL;
    NuwaSession *s = NULL;
    NuwaSessionParams sp;
    NuwaVaeInfo vi;
    NuwaTransformerInfo ti;
    if (nuwa_model_load(&m, argv[1], NULL) < 0) {
        fprintf(stderr, "eval: cannot load %s\n", argv[1]);
        return 1;
    }
    nuwa_model_vae_info(m, &vi);
    nuwa_model_transformer_info(m, &ti);
    if (!ti.present || vi.channels != 3) {
        fprintf(stderr, "eval: %s must be a whole RGB NUWA model\n", argv[1]);
        return 1;
    }
    nuwa_session_params_default(&sp);
    sp.n_threads = threads;
    if (nuwa_session_create(&s, m, &sp) < 0)
        return 1;
    const int S = vi.image_size, T = vi.tokens_per_frame;
    const size_t fs = (size_t)S * S * 3;

    char path[4096];
    snprintf(path, sizeof(path), "%s/clips.tsv", argv[2]);
    Clip *clips = calloc(n_clips, sizeof(*clips));
    const int n = read_tsv(path, clips, n_clips, F);
    if (n < 1) {
        fprintf(stderr, "eval: cannot read %s (make the data with tools/make_shapes.py)\n", path);
        return 1;
    }
    snprintf(path, sizeof(path), "%s/clips.rgb", argv[2]);
    FILE *fr = fopen(path, "rb");
    uint8_t *video = malloc(fs * F * n), *gen = malloc(fs * F);
    int32_t *tok = malloc(sizeof(int32_t) * T * F);
    if (!fr || !video || !gen || !tok || fread(video, fs * F, n, fr) != (size_t)n) {
        fprintf(stderr, "eval: cannot read %d clips of %d frames of %dx%d from %s\n", n, F, S, S, path);
        return 1;
    }
    fclose(fr);

    /* the checker itself on the real clips: how often it reads the truth right */
    int tc = 0, ts = 0, td = 0;
    double tcerr = 0;
    for (int i = 0; i < n; i++) {
        const uint8_t *v = video + fs * F * i;
        double c0x, c0y, c2x, c2y, r0[3], r2[3], f0, f2;
        if (measure(v, S, &c0x, &c0y, r0, &f0) && measure(v + fs * 2, S, &c2x, &c2y, r2, &f2)) {
            tc += !strcmp(colour_name(r0), clips[i].colour);
            ts += !strcmp(shape_name(f0), clips[i].shape);
            td += !strcmp(direction_name(c2x - c0x, c2y - c0y), clips[i].direction);
            tcerr += hypot(c0x - clips[i].cx[0], c0y - clips[i].cy[0]);
        }
    }
    printf("checker on the real clips: colour %.1f %%, shape %.1f %%, direction %.1f %%, centroid error %.2f px\n",
           100.0 * tc / n, 100.0 * ts / n, 100.0 * td / n, tcerr / n);
    fflush(stdout);

    double rec_psnr = 0, pred_psnr = 0, base_psnr = 0, pred_cerr = 0, base_cerr = 0;
    int found = 0, colour_ok = 0, shape_ok = 0, dir_ok = 0, t2v = 0;
    for (int i = 0; i < n; i++) {
        const uint8_t *v = video + fs * F * i;
        NuwaGenParams gp;
        NuwaFrame fr1 = {NUWA_FRAME_RGB24, S, S, 3, gen, (ptrdiff_t)S * 3, 0};
        /* (c) reconstruction of every frame */
        for (int f = 0; f < F; f++) {
            NuwaFrame in = {NUWA_FRAME_RGB24, S, S, 3, (void *)(v + fs * f), (ptrdiff_t)S * 3, 0};
            nuwa_vae_encode(s, &in, 1, tok);
            nuwa_vae_decode(s, tok, 1, &fr1);
            rec_psnr += psnr(gen, v + fs * f, fs) / F;
        }
        /* (a) prediction of frame `context` from frames 0..context-1, captioned */
        nuwa_gen_params_default(&gp);
        gp.seed = seed + i;
        if (nuwa_session_start_text(s, clips[i].caption, &gp) < 0)
            return 1;
        for (int f = 0; f < context; f++) {
            NuwaFrame in = {NUWA_FRAME_RGB24, S, S, 3, (void *)(v + fs * f), (ptrdiff_t)S * 3, 0};
            nuwa_session_push_frames(s, &in, 1);
        }
        nuwa_session_generate_frames(s, 1, &fr1, NULL);
        const uint8_t *truth = v + fs * context, *last = v + fs * (context - 1);
        pred_psnr += psnr(gen, truth, fs);
        base_psnr += psnr(last, truth, fs);
        double cx, cy, rgb[3], fill;
        const double tx = clips[i].cx[context], ty = clips[i].cy[context];
        if (measure(gen, S, &cx, &cy, rgb, &fill))
            pred_cerr += hypot(cx - tx, cy - ty), found++;
        else
            pred_cerr += S / 2.0; /* no shape at all: count half the frame */
        base_cerr += hypot(clips[i].cx[context - 1] - tx, clips[i].cy[context - 1] - ty);
        /* (b) text-to-video from the caption alone */
        if (nuwa_session_start_text(s, clips[i].caption, &gp) < 0)
            return 1;
        NuwaFrame frames[MAXF];
        for (int f = 0; f < F; f++)
            frames[f] = (NuwaFrame){NUWA_FRAME_RGB24, S, S, 3, gen + fs * f, (ptrdiff_t)S * 3, 0};
        if (nuwa_session_generate_frames(s, F, frames, NULL) < 0)
            return 1;
        double c0x, c0y, c2x, c2y, r0[3], f0;
        if (measure(gen, S, &c0x, &c0y, r0, &f0) && measure(gen + fs * 2, S, &c2x, &c2y, rgb, &fill)) {
            colour_ok += !strcmp(colour_name(r0), clips[i].colour);
            shape_ok += !strcmp(shape_name(f0), clips[i].shape);
            dir_ok += !strcmp(direction_name(c2x - c0x, c2y - c0y), clips[i].direction);
        }
        t2v++;
        if (isatty(2))
            fprintf(stderr, "\reval: clip %d/%d", i + 1, n);
    }
    if (isatty(2))
        fprintf(stderr, "\n");
    printf("NUWA shapes evaluation: %s on %d held-out clips (%dx%d, %d frames), context %d\n", argv[1], n, S, S, F,
           context);
    printf("| metric | model | copy-last-frame baseline |\n|---|---|---|\n");
    printf("| next-frame PSNR (dB) | %.2f | %.2f |\n", pred_psnr / n, base_psnr / n);
    printf("| next-frame centroid error (px) | %.2f | %.2f |\n", pred_cerr / n, base_cerr / n);
    printf("| predicted frames with a detectable shape | %d / %d | |\n", found, n);
    printf("| text-to-video colour match | %.1f %% | |\n", 100.0 * colour_ok / t2v);
    printf("| text-to-video shape match | %.1f %% | |\n", 100.0 * shape_ok / t2v);
    printf("| text-to-video direction match | %.1f %% | |\n", 100.0 * dir_ok / t2v);
    printf("| VQGAN reconstruction PSNR (dB, ceiling of prediction) | %.2f | |\n", rec_psnr / n);
    free(clips);
    free(video);
    free(gen);
    free(tok);
    nuwa_session_destroy(&s);
    nuwa_model_unref(&m);
    return 0;
}
