/* SPDX-License-Identifier: BSD-3-Clause */
/* Stage refine: centerline through lumen centroids, final contours. */
#include <string.h>

#include "refine.h"
#include "vflow/plugin.h"

typedef struct refine_priv {
    double spacing_mm;
    int64_t max_iterations;
    double tolerance_mm;
    double smoothing_mm;
    double max_shift_mm;
    int64_t n_angles;
    double radial_step_mm;
    double max_radius_mm;
    int interpolation;
    double max_step_mm;
    double min_wall_mm;
    double smooth_mm;
    double outer_smooth_mm;
    int calcium;
    double calcium_hu;
    bool blur_correction;
    double psf_sigma_mm;
    double wall_hu;
} refine_priv;

static void priv_to_params(const refine_priv *pv, vflow_refine_params *p)
{
    vflow_refine_params_default(p);
    p->spacing_mm = pv->spacing_mm;
    p->max_iterations = (int)pv->max_iterations;
    p->tolerance_mm = pv->tolerance_mm;
    p->smoothing_mm = pv->smoothing_mm;
    p->max_shift_mm = pv->max_shift_mm;
    p->polar.n_angles = (size_t)pv->n_angles;
    p->polar.radial_step_mm = pv->radial_step_mm;
    p->polar.max_radius_mm = pv->max_radius_mm;
    p->polar.interp = pv->interpolation == 0 ? VFLOW_XS_LINEAR : VFLOW_XS_CUBIC;
    p->pdp.max_step_mm = pv->max_step_mm;
    p->pdp.min_wall_mm = pv->min_wall_mm;
    p->pdp.smooth_mm = pv->smooth_mm;
    p->pdp.outer_smooth_mm = pv->outer_smooth_mm;
    p->pdp.calcium = pv->calcium;
    p->pdp.calcium_hu = pv->calcium_hu;
    p->pdp.blur_correction = pv->blur_correction;
    p->pdp.psf_sigma_mm = pv->psf_sigma_mm;
    p->pdp.wall_hu = pv->wall_hu;
}

/* The PSF covariance of the optional `psf` table (stage `psf` in
 * plugins/estimate) into the polar DP parameters; a table with edges = 0
 * (no usable edge in the volume) leaves them unset, so the blur is
 * estimated from the vessel profile as without the input. */
static void psf_from_table(vflow_ctx *ctx, const vflow_table *t,
                           vflow_pdp_params *pdp)
{
    static const char *const names[3][3] = {{"cov_xx", "cov_xy", "cov_xz"},
                                            {"cov_xy", "cov_yy", "cov_yz"},
                                            {"cov_xz", "cov_yz", "cov_zz"}};
    const double *edges = vflow_table_column(t, "edges");
    if (t->n_rows < 1 || edges == NULL || !(edges[0] > 0.0)) {
        vflow_log(ctx, VFLOW_LOG_INFO, "psf input: no usable edges in the "
                  "volume, blur estimated from the vessel profile");
        return;
    }
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 3; c++) {
            const double *col = vflow_table_column(t, names[r][c]);
            if (col == NULL) {
                vflow_log(ctx, VFLOW_LOG_WARN, "psf input: no column '%s' "
                          "(expected the table of stage psf): ignored",
                          names[r][c]);
                memset(pdp->psf_cov_mm2, 0, sizeof pdp->psf_cov_mm2);
                return;
            }
            pdp->psf_cov_mm2[r][c] = col[0];
        }
    const double *sig = vflow_table_column(t, "sigma_mm");
    vflow_log(ctx, VFLOW_LOG_INFO, "psf input: blur measured on %.0f edges "
              "of the volume (sigma %.3f mm)", edges[0],
              sig != NULL ? sig[0] : 0.0);
}

static int refine_stage_run(void *priv, vflow_ctx *ctx, vflow_io *io,
                            vflow_error *err)
{
    vflow_refine_params p;
    priv_to_params(priv, &p);
    const vflow_table *psf = vflow_io_table(io, "psf");
    if (psf != NULL && !(p.pdp.psf_sigma_mm > 0.0))
        psf_from_table(ctx, psf, &p.pdp);
    vflow_polyline *cl = NULL;
    vflow_contours *c = NULL;
    vflow_refine_info info;
    int rc = vflow_refine_run(ctx, vflow_io_volume(io, "volume"),
                              vflow_io_polyline(io, "centerline"), &p, &cl, &c,
                              &info, err);
    if (rc < 0)
        return rc;
    vflow_log(ctx, VFLOW_LOG_INFO,
              "%d update(s), last move %.3f mm, %zu stations, blur sigma "
              "%.3f mm", info.iterations, info.last_move_mm, c->count,
              info.psf_sigma_mm);
    rc = vflow_io_set_output(io, "centerline", &cl->base);
    int rc2 = vflow_io_set_output(io, "contours", &c->base);
    return rc < 0 ? rc : rc2;
}

static const char *const interp_choices[] = {"linear", "cubic", NULL};
static const char *const calcium_choices[] = {"auto", "on", "off", NULL};

static const vflow_port_desc inputs[] = {
    {"volume", VFLOW_TYPE_VOLUME, false, "image"},
    {"centerline", VFLOW_TYPE_POLYLINE, false,
     "initial centerline, world mm (e.g. the minimal path)"},
    {"psf", VFLOW_TYPE_TABLE, true,
     "scanner blur measured on the volume's edges (stage psf: columns "
     "cov_xx..cov_zz, edges); used unless psf_sigma_mm is set; absent or "
     "edges = 0: blur estimated from the vessel profile"},
};

static const vflow_port_desc outputs[] = {
    {"centerline", VFLOW_TYPE_POLYLINE, false,
     "refined centerline: s_mm, tangent_x/y/z, radius = sqrt(area / pi)"},
    {"contours", VFLOW_TYPE_CONTOURS, false,
     "lumen and outer radii on the refined centerline's stations"},
};

#define F(name, field, def, lo, hi, doc)                                      \
    {name, VFLOW_PARAM_FLOAT, offsetof(refine_priv, field), def, lo, hi,      \
     NULL, doc, false}

static const vflow_param_desc params[] = {
    F("spacing_mm", spacing_mm, "0.3", 0.01, 10.0,
      "station spacing along the arc, mm"),
    {"max_iterations", VFLOW_PARAM_INT, offsetof(refine_priv, max_iterations),
     "3", 0, 50, NULL, "centerline updates at most (0: segment only)", false},
    F("tolerance_mm", tolerance_mm, "0.05", 0.0, 10.0,
      "stop when the centerline moves less than this, mm"),
    F("smoothing_mm", smoothing_mm, "1.0", 0.0, 100.0,
      "smoothing spline length of the centroid curve, mm "
      "(centerline_resample)"),
    F("max_shift_mm", max_shift_mm, "1.0", 0.0, 100.0,
      "largest move of one station per update, mm"),
    {"n_angles", VFLOW_PARAM_INT, offsetof(refine_priv, n_angles), "128", 8,
     4096, NULL, "angles per contour", false},
    F("radial_step_mm", radial_step_mm, "0", 1.0, 0.0,
      "polar radial step, mm; <= 0: smallest voxel spacing / 4"),
    F("max_radius_mm", max_radius_mm, "0", 1.0, 0.0,
      "polar range, mm; <= 0: from the vessel radius in the data"),
    {"interpolation", VFLOW_PARAM_ENUM, offsetof(refine_priv, interpolation),
     "cubic", VFLOW_UNBOUNDED, interp_choices,
     "linear (trilinear) or cubic (cubic B-spline)", false},
    F("max_step_mm", max_step_mm, "0.25", 0.001, 100.0,
      "largest radius change between adjacent angles, mm"),
    F("min_wall_mm", min_wall_mm, "0.3", 0.0, 100.0,
      "minimum wall thickness, mm"),
    F("smooth_mm", smooth_mm, "0.5", 0.0, 100.0,
      "edge-cost smoothing along the vessel (sigma), mm"),
    F("outer_smooth_mm", outer_smooth_mm, "1.0", 0.0, 100.0,
      "outer contour shape averaged along the vessel (sigma), mm; 0: none"),
    {"calcium", VFLOW_PARAM_ENUM, offsetof(refine_priv, calcium), "auto",
     VFLOW_UNBOUNDED, calcium_choices,
     "keep calcium outside the lumen: auto = when the image is CT", false},
    F("calcium_hu", calcium_hu, "500", 1.0, 0.0,
      "calcium floor, HU (threshold max(this, lumen + 0.2 contrast))"),
    {"blur_correction", VFLOW_PARAM_BOOL,
     offsetof(refine_priv, blur_correction), "true", VFLOW_UNBOUNDED, NULL,
     "blurred-disk model correction of the radii", false},
    F("psf_sigma_mm", psf_sigma_mm, "0", 1.0, 0.0,
      "scanner blur sigma, mm; <= 0: estimated from the data"),
    {"wall_hu", VFLOW_PARAM_FLOAT, offsetof(refine_priv, wall_hu), "50",
     -2000.0, 3000.0, NULL,
     "CT only: HU of a vessel wall too thin to show its own level; <= -1000: "
     "estimated from the data", false},
};

const vflow_stage_desc vflow_stage_refine = {
    VFLOW_STAGE_HEADER,
    .flags = VFLOW_STAGE_DETERMINISTIC | VFLOW_STAGE_THREAD_SAFE,
    .name = "refine",
    .version = "1.0.0",
    .summary = "centerline through lumen area centroids; final contours",
    .license = "BSD-3-Clause",
    .inputs = inputs,
    .n_inputs = VFLOW_COUNT(inputs),
    .outputs = outputs,
    .n_outputs = VFLOW_COUNT(outputs),
    .params = params,
    .n_params = VFLOW_COUNT(params),
    .priv_size = sizeof(refine_priv),
    .run = refine_stage_run,
};
