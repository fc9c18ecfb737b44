/* SPDX-License-Identifier: BSD-3-Clause */
/* Sato and Jerman multi-scale vesselness (plain functions for tests). */
#ifndef VFLOW_PLUGIN_SATO_H
#define VFLOW_PLUGIN_SATO_H

#include "hessian.h"

typedef enum vflow_line_measure {
    VFLOW_LINE_SATO = 0,
    VFLOW_LINE_JERMAN
} vflow_line_measure;

typedef struct vflow_line_params {
    vflow_line_measure measure;
    double alpha1, alpha2;   /* Sato: asymmetry for l1 <= 0 and l1 > 0 */
    double tau;              /* Jerman: regularisation fraction of max */
    bool bright;
} vflow_line_params;

/*
 * Sato, Nakajima, Shiraga, Atsumi, Yoshida, Koller, Gerig & Kikinis,
 * "Three-dimensional multi-scale line filter for segmentation and
 * visualization of curvilinear structures in medical images", Medical
 * Image Analysis 2(2):143-168, 1998, eq. 9 (bright lines; eigenvalues by
 * value l1 >= l2 >= l3): lc = -l2 (= min(-l2, -l3));
 *   S = lc exp(-l1^2 / (2 (alpha1 lc)^2))   if l1 <= 0 < lc
 *   S = lc exp(-l1^2 / (2 (alpha2 lc)^2))   if l1 > 0, lc > 0; else 0.
 * The multi-scale response max_s S(sigma_s) (sigma^2-normalised Hessian)
 * is divided by its maximum over the box, so vesselness is in [0, 1].
 *
 * Jerman, Pernus, Likar & Spiclin, "Enhancement of vascular structures in
 * 3D and 2D angiographic images", IEEE TMI 35(9):2107-2118, 2016, eq. 11-12
 * (magnitudes |l1| <= |l2| <= |l3|, bright: l2' = -l2, l3' = -l3):
 *   lr = l3' if l3' > tau max(l3'); tau max(l3') if 0 < l3' <= tau max;
 *   V = 0 if l2' <= 0 or lr <= 0; 1 if l2' >= lr / 2; else
 *   V = l2'^2 (lr - l2') (3 / (l2' + lr))^3,
 * max(l3') per scale over the box (deferred like frangi's c); V in [0, 1]
 * by construction. Output `scale` as frangi.
 */
int vflow_line_compute(vflow_ctx *ctx, const vflow_volume *vol,
                       const vflow_box *box, const double *sigma_mm,
                       size_t n_sigma, const vflow_line_params *p,
                       vflow_volume *vesselness, vflow_volume *scale,
                       vflow_error *err);

#endif
