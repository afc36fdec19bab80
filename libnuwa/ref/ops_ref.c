/* ref/ops_ref.c — fills an NwOps table with the reference implementations. */
#include "ops.h"
#include "ref/ref.h"

void nw_ops_init_ref(NwOps *o)
{
    o->name = "ref";
    o->mem_alloc = nw_host_alloc;
    o->mem_free = nw_host_free;
    o->upload = nw_host_upload;
    o->download = nw_host_download;
    o->copy = nw_host_copy;
    o->fill = nw_host_fill;
    o->sync = nw_host_sync;
    o->conv2d = nw_conv2d_ref;
    o->conv2d_scratch = nw_conv2d_scratch_none;
    o->matmul = nw_matmul_ref;
    o->group_norm = nw_group_norm_ref;
    o->layer_norm_chan = nw_layer_norm_chan_ref;
    o->leaky_relu = nw_leaky_relu_ref;
    o->glu = nw_glu_ref;
    o->upsample2x = nw_upsample2x_ref;
    o->add = nw_add_ref;
    o->vqgan_attn = nw_vqgan_attn_ref;
    o->vqgan_attn_scratch = nw_vqgan_attn_scratch_ref;
    o->vq_assign = nw_vq_assign_ref;
    o->vq_assign_scratch = nw_vq_assign_scratch_ref;
    o->layer_norm = nw_layer_norm_ref;
    o->geglu = nw_geglu_ref;
    o->attn_null = nw_attn_null_ref;
    o->attn_null_scratch = nw_attn_null_scratch_ref;
    o->attn_gather = nw_attn_gather_ref;
    o->linear = nw_linear_ref;
    o->embed = nw_embed_ref;
    o->rotary = nw_rotary_ref;
    o->token_shift = nw_token_shift_ref;
    o->attn_3dna = nw_attn_3dna_ref;
    o->attn_3dna_scratch = nw_attn_3dna_scratch_ref;
    o->guide = nw_guide_ref;
    o->sample = nw_sample_ref;
    o->sample_scratch = nw_sample_scratch_ref;
}
