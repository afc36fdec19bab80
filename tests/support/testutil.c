/* testutil.c — see testutil.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

void vae_hparams(NwVae *hp, int image_size, int channels, int dim, int num_layers,
                 const int *mults, const int *res, const int *attn, int heads, int dim_head,
                 int groups, int first_k, int K, int cd, int cosine)
{
    memset(hp, 0, sizeof(*hp));
    hp->image_size = image_size;
    hp->channels = channels;
    hp->dim = dim;
    hp->num_layers = num_layers;
    for (int i = 0; i < num_layers; i++) {
        hp->layer_mults[i] = mults ? mults[i] : 1 << i;
        hp->num_resnet_blocks[i] = res[i];
        hp->use_attn[i] = attn[i];
    }
    hp->attn_heads = heads;
    hp->attn_dim_head = dim_head;
    hp->resnet_groups = groups;
    hp->first_conv_kernel_size = first_k;
    hp->codebook_size = K;
    hp->codebook_dim = cd;
    hp->use_cosine_sim = cosine;
}

typedef struct Gen {
    TRng rng;
    NwGgufWriter *w;
    int dtype, cosine, err;
    TWriterEdit edit;
    void *opaque;
} Gen;

static void gen_tensor(void *opaque, const char *name, int n_dims, const int64_t *shape_in)
{
    Gen *g = opaque;
    int64_t shape[4] = {1, 1, 1, 1};
    size_t n = 1;
    for (int i = 0; i < n_dims; i++) {
        shape[i] = shape_in[i];
        n *= (size_t)shape[i];
    }
    float *x = malloc(n * sizeof(float));
    if (!x) {
        g->err = -1;
        return;
    }
    const size_t len = strlen(name);
    const int is_bias = len > 5 && !strcmp(name + len - 5, ".bias");
    const int is_gain = (len > 7 && !strcmp(name + len - 7, ".weight") && n_dims == 1) ||
                        (len > 2 && !strcmp(name + len - 2, ".g"));
    if (strstr(name, "_codebook.embed")) {
        const size_t cd = (size_t)shape[n_dims - 1];
        fill_normal(&g->rng, x, n, 1.f);
        if (g->cosine)
            for (size_t k = 0; k < n / cd; k++) {
                double s = 0;
                for (size_t c = 0; c < cd; c++)
                    s += (double)x[k * cd + c] * x[k * cd + c];
                for (size_t c = 0; c < cd; c++)
                    x[k * cd + c] /= (float)sqrt(s);
            }
    } else if (strstr(name, "inv_freq")) {
        for (size_t i = 0; i < n; i++)
            x[i] = (float)(1.0 / pow(10000.0, (double)(2 * i) / (double)(2 * n)));
    } else if (strstr(name, "talking_heads")) {
        const size_t h = (size_t)shape[0];
        fill_normal(&g->rng, x, n, 0.3f);
        for (size_t i = 0; i < h; i++)
            x[i * h + i] += 1.f;
    } else if (strstr(name, "null_") || strstr(name, "video_bos") || strstr(name, "embed.weight") ||
               strstr(name, "axial")) {
        fill_normal(&g->rng, x, n, strstr(name, "axial") ? 0.5f : 1.f);
    } else if (strstr(name, ".scale")) {
        for (size_t i = 0; i < n; i++)
            x[i] = logf(4.f) + 0.1f * trng_normal(&g->rng);
    } else if (is_gain) {
        for (size_t i = 0; i < n; i++)
            x[i] = 1.f + 0.2f * trng_normal(&g->rng);
    } else if (is_bias || (len > 2 && !strcmp(name + len - 2, ".b"))) {
        fill_normal(&g->rng, x, n, 0.1f);
    } else {
        const size_t fan_in = n / (size_t)shape[0];
        fill_normal(&g->rng, x, n, 1.f / sqrtf((float)fan_in));
    }
    int type = n_dims >= 2 ? g->dtype : NW_TYPE_F32;
    int r = 0;
    if (g->edit)
        r = g->edit(g->opaque, g->w, name, n_dims, shape, x, n);
    if (r == 0) {
        void *data = x;
        uint16_t *h = NULL;
        if (type != NW_TYPE_F32) {
            h = malloc(n * sizeof(uint16_t));
            for (size_t i = 0; h && i < n; i++)
                h[i] = type == NW_TYPE_F16 ? nw_f32_to_f16(x[i]) : nw_f32_to_bf16(x[i]);
            data = h;
        }
        if (!data || nw_gguf_writer_add_tensor(g->w, name, type, n_dims, shape, data) < 0)
            g->err = -1;
        free(h);
    }
    free(x);
}

int vae_random_gguf_edit(const NwVae *hp, uint64_t seed, int dtype, TWriterEdit edit, void *opaque,
                         uint8_t **buf, size_t *size)
{
    Gen g = {{seed}, nw_gguf_writer_new(), dtype, hp->use_cosine_sim, 0, edit, opaque};
    int r = -1;
    if (!g.w)
        return -1;
    if (nw_vae_write_hparams(hp, g.w) == 0 && nw_vae_describe(hp, gen_tensor, &g) == 0 && !g.err)
        r = nw_gguf_writer_to_buffer(g.w, buf, size);
    nw_gguf_writer_free(&g.w);
    return r < 0 ? -1 : 0;
}

int nuwa_random_gguf(const NwVae *vhp, const NwNuwa *nhp, uint64_t seed, uint8_t **buf, size_t *size)
{
    Gen g = {{seed}, nw_gguf_writer_new(), NW_TYPE_F32, vhp->use_cosine_sim, 0, NULL, NULL};
    int r = -1;
    if (!g.w)
        return -1;
    const int fmap = vhp->image_size >> vhp->num_layers;
    if (nw_vae_write_hparams(vhp, g.w) == 0 && nw_nuwa_write_hparams(nhp, g.w) == 0 &&
        nw_vae_describe(vhp, gen_tensor, &g) == 0 &&
        nw_nuwa_describe(nhp, fmap, vhp->codebook_size, gen_tensor, &g) == 0 && !g.err)
        r = nw_gguf_writer_to_buffer(g.w, buf, size);
    nw_gguf_writer_free(&g.w);
    return r < 0 ? -1 : 0;
}

int vae_random_gguf_with_merges(const NwVae *hp, uint64_t seed, const char *const *merges, uint64_t n,
                                uint8_t **buf, size_t *size)
{
    Gen g = {{seed}, nw_gguf_writer_new(), NW_TYPE_F32, hp->use_cosine_sim, 0, NULL, NULL};
    int r = -1;
    if (!g.w)
        return -1;
    if (nw_vae_write_hparams(hp, g.w) == 0 && nw_gguf_writer_add_str(g.w, "nuwa.tokenizer.model", "clip-bpe") == 0 &&
        nw_gguf_writer_add_array(g.w, "nuwa.tokenizer.merges", NW_GGUF_STRING, merges, n) == 0 &&
        nw_vae_describe(hp, gen_tensor, &g) == 0 && !g.err)
        r = nw_gguf_writer_to_buffer(g.w, buf, size);
    nw_gguf_writer_free(&g.w);
    return r < 0 ? -1 : 0;
}

int vae_random_gguf(const NwVae *hp, uint64_t seed, int dtype, uint8_t **buf, size_t *size)
{
    return vae_random_gguf_edit(hp, seed, dtype, NULL, NULL, buf, size);
}

int write_temp(const char *tag, const uint8_t *buf, size_t size, char *path, size_t pathlen)
{
    const char *dir = getenv("TMPDIR");
    snprintf(path, pathlen, "%s/nuwa-test-%s-XXXXXX", dir && *dir ? dir : "/tmp", tag);
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    const ssize_t w = write(fd, buf, size);
    close(fd);
    return w == (ssize_t)size ? 0 : -1;
}
