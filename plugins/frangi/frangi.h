/* SPDX-License-Identifier: BSD-3-Clause */
/* Multi-scale Frangi vesselness on a volume (plain functions for tests). */
#ifndef VFLOW_PLUGIN_FRANGI_H
#define VFLOW_PLUGIN_FRANGI_H

#include "hessian.h"

typedef struct vflow_frangi_params {
    double alpha;  /* plate-vs-line sensitivity (R_A), Frangi's alpha */
    double beta;   /* blob-vs-line sensitivity (R_B), Frangi's beta */
    double c;      /* structureness scale; <= 0: half the maximum Frobenius
                      norm of the normalised Hessian in the box, per scale */
    bool bright;   /* bright vessels on a dark background */
} vflow_frangi_params;

/*
 * Frangi, Niessen, Vincken & Viergever, "Multiscale vessel enhancement
 * filtering", MICCAI 1998, eq. 13, with Hessian eigenvalues ordered
 * |l1| <= |l2| <= |l3|:
 *   V = 0                                   if l2 > 0 or l3 > 0 (bright)
 *   V = (1 - exp(-Ra^2/2a^2)) exp(-Rb^2/2b^2) (1 - exp(-S^2/2c^2))
 * Ra = |l2|/|l3|, Rb = |l1|/sqrt|l2 l3|, S = sqrt(l1^2+l2^2+l3^2).
 * Returns the product of the first two factors in *shape and S^2 in *s2.
 */
void vflow_frangi_voxel(float xx, float xy, float xz, float yy, float yz,
                        float zz, float ka, float kb, bool bright,
                        float *shape, float *s2);

/*
 * Multi-scale Frangi vesselness over `box` of `vol` (any dtype):
 * vesselness[i] = max over sigma_mm[s] of V_s (a float in [0, 1) by
 * construction: every factor lies in [0, 1]; not rescaled), and
 * scale[i] = the sigma (mm) of the maximum, 0 where V is 0 at every scale.
 * `vesselness` and `scale` (may be NULL) are f32 volumes on vol's grid,
 * zero on entry; voxels outside the box stay 0. With p->c <= 0 the scale's
 * c is known only after the whole box was seen, so the per-voxel factors
 * wait in `scale`'s memory (or a temporary buffer) packed in 32 bits:
 * 16-bit shape factor and S as bfloat16. Returns 0 or a negative
 * VFLOW_E* code.
 */
int vflow_frangi_compute(vflow_ctx *ctx, const vflow_volume *vol,
                         const vflow_box *box, const double *sigma_mm,
                         size_t n_sigma, const vflow_frangi_params *p,
                         vflow_volume *vesselness, vflow_volume *scale,
                         vflow_error *err);



/* Inline form of vflow_frangi_voxel for vectorised loops: returns the
 * shape factor; sign = +1 bright, -1 dark vessels. Branch-free. */
static inline float vflow_frangi_shape(float xx, float xy, float xz, float yy,
                                       float yz, float zz, float ka, float kb,
                                       float sign, float *s2)
{
    float l1, l2, l3;
    vflow_eig3_sym_inline(xx, xy, xz, yy, yz, zz, &l1, &l2, &l3);
    /* Sort by magnitude: |l1| <= |l2| <= |l3| (three compare-swaps). */
    vflow_sort_abs2(&l1, &l2);
    vflow_sort_abs2(&l2, &l3);
    vflow_sort_abs2(&l1, &l2);
    float a2 = l2 * l2, a3 = l3 * l3;
    float ra2 = a2 / (a3 > 1e-30f ? a3 : 1e-30f);
    float d = fabsf(l2 * l3);
    float rb2 = l1 * l1 / (d > 1e-30f ? d : 1e-30f);
    float v = (1.0f - vflow_exp_neg(-ra2 * ka)) * vflow_exp_neg(-rb2 * kb);
    *s2 = l1 * l1 + a2 + a3;
    return (sign * l2 < 0.0f) & (sign * l3 < 0.0f) ? v : 0.0f;
}

#endif
