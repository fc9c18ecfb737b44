/* SPDX-License-Identifier: BSD-3-Clause */
/* Stage centerline_resample: equidistant, smoothed centerline with tangents. */
#include <stddef.h>

#include "resample.h"
#include "vflow/plugin.h"

typedef struct centerline_resample_priv {
    double spacing_mm;
    double smoothing_mm;
} centerline_resample_priv;

static int centerline_resample_run(void *priv, vflow_ctx *ctx, vflow_io *io,
                                   vflow_error *err)
{
    const centerline_resample_priv *p = priv;
    const vflow_polyline *in = vflow_io_polyline(io, "centerline");
    vflow_polyline *out = vflow_centerline_resample(in, p->spacing_mm,
                                                    p->smoothing_mm, err);
    if (out == NULL)
        return err != NULL && err->code != 0 ? err->code : VFLOW_ENOMEM;
    vflow_log(ctx, VFLOW_LOG_INFO, "%zu -> %zu points, %.2f -> %.2f mm",
              in->count, out->count, vflow_polyline_length(in),
              vflow_polyline_length(out));
    return vflow_io_set_output(io, "centerline", &out->base);
}

static const vflow_port_desc centerline_resample_inputs[] = {
    {"centerline", VFLOW_TYPE_POLYLINE, false, "polyline in world mm"},
};

static const vflow_port_desc centerline_resample_outputs[] = {
    {"centerline", VFLOW_TYPE_POLYLINE, false,
     "equidistant smoothed polyline: s_mm, tangent_x/y/z and the input's "
     "other arrays interpolated"},
};

static const vflow_param_desc centerline_resample_params[] = {
    {.name = "spacing_mm", .kind = VFLOW_PARAM_FLOAT,
     .offset = offsetof(centerline_resample_priv, spacing_mm),
     .default_value = "0.25", .min = 0.01, .max = 100.0, .choices = NULL,
     .doc = "arc length between output points, mm",
     .required = false},
    {.name = "smoothing_mm", .kind = VFLOW_PARAM_FLOAT,
     .offset = offsetof(centerline_resample_priv, smoothing_mm),
     .default_value = "0.5", .min = 0.0, .max = 100.0, .choices = NULL,
     .doc = "smoothing length l, mm: penalty l^4 * integral |x''|^2 against "
            "the squared distance to the input; removes wiggles shorter than "
            "about 2 pi l, shrinks a bend of radius R by (l/R)^4; 0 = linear "
            "interpolation",
     .required = false},
};

const vflow_stage_desc vflow_stage_centerline_resample = {
    VFLOW_STAGE_HEADER,
    .flags = VFLOW_STAGE_DETERMINISTIC | VFLOW_STAGE_THREAD_SAFE,
    .name = "centerline_resample",
    .version = "1.0.0",
    .summary = "Equidistant arc-length resampling with a cubic smoothing "
               "spline (Reinsch 1967) and unit tangents",
    .license = "BSD-3-Clause",
    .inputs = centerline_resample_inputs,
    .n_inputs = VFLOW_COUNT(centerline_resample_inputs),
    .outputs = centerline_resample_outputs,
    .n_outputs = VFLOW_COUNT(centerline_resample_outputs),
    .params = centerline_resample_params,
    .n_params = VFLOW_COUNT(centerline_resample_params),
    .extensions = NULL,
    .priv_size = sizeof(centerline_resample_priv),
    .init = NULL,
    .run = centerline_resample_run,
    .finalize = NULL,
};
