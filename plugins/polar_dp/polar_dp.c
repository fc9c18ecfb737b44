/* SPDX-License-Identifier: BSD-3-Clause */
/* Stage polar_dp: lumen and outer wall per station by polar DP. */
#include "polar_dp.h"
#include "vflow/plugin.h"

typedef struct pdp_priv {
    double max_step_mm;
    double min_wall_mm;
    double min_radius_mm;
    double smooth_mm;
    double outer_smooth_mm;
    double step_penalty;
    int calcium;
    double calcium_hu;
    double calcium_margin_mm;
    bool blur_correction;
    double psf_sigma_mm;
    double wall_hu;
} pdp_priv;

static int pdp_run(void *priv, vflow_ctx *ctx, vflow_io *io, vflow_error *err)
{
    const pdp_priv *pv = priv;
    /* The library defaults, then the stage's parameters: fields the stage
     * does not expose (PSF covariance, modality) keep their defaults. */
    vflow_pdp_params p;
    vflow_pdp_params_default(&p);
    p.max_step_mm = pv->max_step_mm;
    p.min_wall_mm = pv->min_wall_mm;
    p.min_radius_mm = pv->min_radius_mm;
    p.smooth_mm = pv->smooth_mm;
    p.outer_smooth_mm = pv->outer_smooth_mm;
    p.step_penalty = pv->step_penalty;
    p.calcium = pv->calcium;
    p.calcium_hu = pv->calcium_hu;
    p.calcium_margin_mm = pv->calcium_margin_mm;
    p.blur_correction = pv->blur_correction;
    p.psf_sigma_mm = pv->psf_sigma_mm;
    p.lumen_only = false;
    p.wall_hu = pv->wall_hu;
    vflow_contours *c = NULL;
    vflow_pdp_info info;
    int rc = vflow_pdp_segment(ctx, vflow_io_sections(io, "polar"),
                               vflow_io_sections(io, "dr"),
                               vflow_io_volume(io, "volume"), &p, &c, &info,
                               err);
    if (rc < 0)
        return rc;
    vflow_log(ctx, VFLOW_LOG_INFO,
              "%zu stations; contrast %.4g, PSF sigma %.3g mm, calcium %s",
              c->count, info.contrast, info.psf_sigma_mm,
              info.calcium ? "on" : "off");
    return vflow_io_set_output(io, "contours", &c->base);
}

static const char *const calcium_choices[] = {"auto", "on", "off", NULL};

static const vflow_port_desc inputs[] = {
    {"polar", VFLOW_TYPE_SECTIONS, false, "polar images from the polar stage"},
    {"dr", VFLOW_TYPE_SECTIONS, true,
     "radial derivative from the polar stage (else computed)"},
    {"volume", VFLOW_TYPE_VOLUME, true,
     "source volume: its modality decides calcium handling"},
};

static const vflow_port_desc outputs[] = {
    {"contours", VFLOW_TYPE_CONTOURS, false,
     "lumen and outer radii per station and angle"},
};

static const vflow_param_desc params[] = {
    {"max_step_mm", VFLOW_PARAM_FLOAT, offsetof(pdp_priv, max_step_mm), "0.25",
     0.001, 100.0, NULL, "largest radius change between adjacent angles, mm",
     false},
    {"min_wall_mm", VFLOW_PARAM_FLOAT, offsetof(pdp_priv, min_wall_mm), "0.3",
     0.0, 100.0, NULL, "minimum wall thickness (outer - lumen), mm", false},
    {"min_radius_mm", VFLOW_PARAM_FLOAT, offsetof(pdp_priv, min_radius_mm),
     "0.2", 0.0, 100.0, NULL, "smallest lumen radius, mm", false},
    {"smooth_mm", VFLOW_PARAM_FLOAT, offsetof(pdp_priv, smooth_mm), "0.5", 0.0,
     100.0, NULL,
     "Gaussian sigma of the edge cost along the vessel (station coherence), "
     "mm of arc; 0: independent stations", false},
    {"outer_smooth_mm", VFLOW_PARAM_FLOAT,
     offsetof(pdp_priv, outer_smooth_mm), "1.0", 0.0, 100.0, NULL,
     "Gaussian sigma along the vessel of the outer contour's shape "
     "(deviation from its mean radius), mm of arc; 0: each station its own",
     false},
    {"step_penalty", VFLOW_PARAM_FLOAT, offsetof(pdp_priv, step_penalty), "0.5",
     0.0, 1e6, NULL,
     "cost per mm of radius change per angle step (edge cost is in units of "
     "the lumen contrast per mm)", false},
    {"calcium", VFLOW_PARAM_ENUM, offsetof(pdp_priv, calcium), "auto",
     VFLOW_UNBOUNDED, calcium_choices,
     "keep calcium outside the lumen: auto = when the image is CT (HU)",
     false},
    {"calcium_hu", VFLOW_PARAM_FLOAT, offsetof(pdp_priv, calcium_hu), "500",
     VFLOW_UNBOUNDED, NULL,
     "calcium floor, HU (after scanner blur); the threshold is max(this, lumen + 0.2 contrast)",
     false},
    {"calcium_margin_mm", VFLOW_PARAM_FLOAT,
     offsetof(pdp_priv, calcium_margin_mm), "0.15", 0.0, 10.0, NULL,
     "distance the lumen keeps from calcium pixels, mm", false},
    {"blur_correction", VFLOW_PARAM_BOOL, offsetof(pdp_priv, blur_correction),
     "true", VFLOW_UNBOUNDED, NULL,
     "correct the edge detector's blur bias with a fitted blurred-disk model",
     false},
    {"psf_sigma_mm", VFLOW_PARAM_FLOAT, offsetof(pdp_priv, psf_sigma_mm), "0",
     VFLOW_UNBOUNDED, NULL,
     "scanner blur sigma, mm; <= 0: estimated from the data", false},
    {"wall_hu", VFLOW_PARAM_FLOAT, offsetof(pdp_priv, wall_hu), "50",
     -2000.0, 3000.0, NULL,
     "CT only: HU of a vessel wall too thin to show its own level (soft "
     "tissue); <= -1000: wall/lumen contrast ratio estimated from the data",
     false},
};

const vflow_stage_desc vflow_stage_polar_dp = {
    VFLOW_STAGE_HEADER,
    .flags = VFLOW_STAGE_DETERMINISTIC | VFLOW_STAGE_THREAD_SAFE,
    .name = "polar_dp",
    .version = "1.0.0",
    .summary = "lumen and outer wall by closed minimum-cost paths (Viterbi)",
    .license = "BSD-3-Clause",
    .inputs = inputs,
    .n_inputs = VFLOW_COUNT(inputs),
    .outputs = outputs,
    .n_outputs = VFLOW_COUNT(outputs),
    .params = params,
    .n_params = VFLOW_COUNT(params),
    .priv_size = sizeof(pdp_priv),
    .run = pdp_run,
};
