/* SPDX-License-Identifier: BSD-3-Clause */
/* Stage `vessel_scales`: vesselness scales from the vessel radius measured
 * at the clicks, as a table a vesselness stage takes on its `scales` input.
 * Split from the vesselness so that an interactive session computes the
 * (expensive, click-free) whole-volume vesselness once per scale set: while
 * the fixed scales_mm cover the measured radius they are the answer (every
 * coronary click, and a warm-up run, gives the same table); beyond them the
 * radius is quantised, so clicks in vessels of about the same size give the
 * same table. The runtime cache identifies a small output by content, so an
 * unchanged table lets the vesselness be reused. */
#include <math.h>
#include <stddef.h>

#include "hessian.h"
#include "vflow/plugin.h"

typedef struct scales_priv {
    vflow_float_list scales_mm;
    long steps_per_octave;
} scales_priv;

/* True when the sigmas in `list` cover radii r_min..r_max: a bright tube of
 * radius r answers best at sigma = r / sqrt 2. */
static bool scales_cover(const vflow_float_list *list, double r_min,
                         double r_max)
{
    double lo = INFINITY, hi = 0.0;
    for (size_t i = 0; i < list->count; i++) {
        lo = fmin(lo, list->values[i]);
        hi = fmax(hi, list->values[i]);
    }
    return list->count > 0 && r_min >= lo * M_SQRT2 && r_max <= hi * M_SQRT2;
}

/* The output table: column sigma_mm, and c when c > 0. */
static int publish_scales(vflow_io *io, const double *sig, size_t n,
                          double c, vflow_error *err)
{
    vflow_table *t = vflow_table_create(n, err);
    double *col = t != NULL ? vflow_table_add_column(t, "sigma_mm") : NULL;
    double *c_col = col != NULL && c > 0.0 ? vflow_table_add_column(t, "c")
                                           : NULL;
    if (col == NULL || (c > 0.0 && c_col == NULL)) {
        if (t != NULL)
            vflow_object_release(&t->base);
        return vflow_error_set(err, VFLOW_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        col[i] = sig[i];
        if (c_col != NULL)
            c_col[i] = c;
    }
    return vflow_io_set_output(io, "scales", &t->base);
}

/* Frangi's structureness for the clicked vessel: half the Hessian norm of
 * a tube of the lumen contrast C at its matched scale, 0.52 C (frangi
 * README), on the same radius grid's ratio so it changes in steps too.
 * 0 when no contrast is measured (frangi then takes its own). */
static double structureness_at(const vflow_volume *vol,
                               const vflow_points *pts, long steps)
{
    double contrast = vflow_contrast_at_points(vol, pts);
    if (!(contrast > 0.0))
        return 0.0;
    double c = 0.52 * contrast;
    if (steps > 0)
        c = exp2(round(log2(c) * (double)steps) / (double)steps);
    return c;
}

/* r rounded on the grid 2^(k / steps) mm, down or up (steps <= 0: r). */
static double quantise_radius(double r, long steps, bool up)
{
    if (steps <= 0 || !(r > 0.0))
        return r;
    double k = log2(r) * (double)steps;
    k = up ? ceil(k - 1e-9) : floor(k + 1e-9);
    return exp2(k / (double)steps);
}

static int vessel_scales_run(void *priv, vflow_ctx *ctx, vflow_io *io,
                             vflow_error *err)
{
    const scales_priv *p = priv;
    const vflow_volume *vol = vflow_io_volume(io, "volume");
    const vflow_points *pts = vflow_io_points(io, "points");
    const vflow_float_list *fixed = &p->scales_mm;
    double r_min, r_max, sig[VFLOW_FLOAT_LIST_MAX];
    vflow_error why;
    vflow_error_clear(&why);
    if (vflow_estimate_radius_mm(vol, pts, &r_min, &r_max, &why) < 0) {
        /* A warm-up run clicks anywhere: the usual scales, said plainly. */
        vflow_log(ctx, VFLOW_LOG_WARN, "no vessel radius at the clicks (%s): "
                  "the %zu scales_mm", why.message, fixed->count);
        return publish_scales(io, fixed->values, fixed->count, 0.0, err);
    }
    if (scales_cover(fixed, r_min, r_max)) {
        vflow_log(ctx, VFLOW_LOG_INFO, "radius at the clicks %.2f-%.2f mm: "
                  "within what scales_mm cover", r_min, r_max);
        return publish_scales(io, fixed->values, fixed->count, 0.0, err);
    }
    /* Outwards: the scale range only widens, never misses the vessel. */
    double q_min = quantise_radius(r_min, p->steps_per_octave, false);
    double q_max = quantise_radius(r_max, p->steps_per_octave, true);
    size_t n = vflow_scales_from_radius(q_min, q_max, vol->spacing, sig);
    double c = structureness_at(vol, pts, p->steps_per_octave);
    vflow_log(ctx, VFLOW_LOG_INFO,
              "radius at the clicks %.2f-%.2f mm (grid %.2f-%.2f) -> %zu "
              "scales %.2f..%.2f mm, structureness c %.4g", r_min, r_max,
              q_min, q_max, n, sig[0], sig[n - 1], c);
    return publish_scales(io, sig, n, c, err);
}

static const vflow_port_desc scales_inputs[] = {
    {"volume", VFLOW_TYPE_VOLUME, false, "image (CT in HU, MR in any units)"},
    {"points", VFLOW_TYPE_POINTS, false,
     "clicks inside the vessel (each is moved to the brightest 3x3x3 mean "
     "within 2 mm first)"},
};

static const vflow_port_desc scales_outputs[] = {
    {"scales", VFLOW_TYPE_TABLE, false,
     "column sigma_mm: Gaussian sigmas (mm) for frangi/sato/jerman input "
     "'scales'; with estimated scales also column c, frangi's structureness "
     "from the lumen contrast at the clicks"},
};

static const vflow_param_desc scales_params[] = {
    {.name = "scales_mm", .kind = VFLOW_PARAM_FLOAT_LIST,
     .offset = offsetof(scales_priv, scales_mm),
     .default_value = "[0.5, 1.0, 1.5, 2.0]", .min = 0.001, .max = 1000.0,
     .choices = NULL,
     .doc = "the sigmas (mm) given while the radius measured at the clicks "
            "lies within what they cover (sqrt 2 x smallest .. sqrt 2 x "
            "largest), and when no radius can be measured; the default "
            "covers coronary arteries (r 0.7-2.8 mm)",
     .required = false},
    {.name = "steps_per_octave", .kind = VFLOW_PARAM_INT,
     .offset = offsetof(scales_priv, steps_per_octave),
     .default_value = "4", .min = 0.0, .max = 64.0, .choices = NULL,
     .doc = "radius grid: the measured radius range is widened to the "
            "enclosing powers of 2^(1/steps) mm, so nearby clicks give the "
            "same scales (0: no rounding)",
     .required = false},
};

const vflow_stage_desc vflow_stage_vessel_scales = {
    VFLOW_STAGE_HEADER,
    .flags = VFLOW_STAGE_THREAD_SAFE | VFLOW_STAGE_DETERMINISTIC,
    .name = "vessel_scales", .version = "1.0.0",
    .summary = "Vesselness scales from the vessel radius measured at the "
               "clicks (fixed ones while they cover it; quantised)",
    .license = "BSD-3-Clause",
    .inputs = scales_inputs, .n_inputs = 2,
    .outputs = scales_outputs, .n_outputs = 1,
    .params = scales_params, .n_params = 2,
    .priv_size = sizeof(scales_priv),
    .run = vessel_scales_run,
};
