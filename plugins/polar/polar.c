/* SPDX-License-Identifier: BSD-3-Clause */
/* Stage polar: (r, theta) unwrap around each station, from the volume. */
#include <stdlib.h>

#include "vflow/plugin.h"
#include "xsection.h"

typedef struct polar_priv {
    int64_t n_angles;
    double radial_step_mm;
    double max_radius_mm;
    double spacing_mm;
    int interpolation;
} polar_priv;

static int polar_run(void *priv, vflow_ctx *ctx, vflow_io *io,
                     vflow_error *err)
{
    polar_priv *pv = priv;
    vflow_polar_params p = {(size_t)pv->n_angles, pv->radial_step_mm,
                            pv->max_radius_mm,
                            pv->interpolation == 0 ? VFLOW_XS_LINEAR
                                                   : VFLOW_XS_CUBIC};
    vflow_volume *vol = vflow_io_volume(io, "volume");
    vflow_sections *given = vflow_io_sections(io, "sections");
    vflow_polyline *cl = vflow_io_polyline(io, "centerline");
    vflow_frame *frames = NULL;
    double *radius = NULL;
    size_t n = 0;
    int rc;
    if (given != NULL) {
        /* Same stations and frames as the MPR stack. */
        frames = given->frames;
        n = given->count;
        if (cl != NULL) {
            const double *r = vflow_polyline_array(cl, "radius");
            radius = r != NULL && cl->count == n ? (double *)r : NULL;
        }
    } else if (cl != NULL) {
        rc = vflow_xs_stations(cl, pv->spacing_mm, &frames, &n, &radius, err);
        if (rc < 0)
            return rc;
    } else {
        return vflow_error_set(err, VFLOW_EINVAL,
                               "polar needs a 'centerline' or 'sections' input");
    }
    vflow_sections *img = NULL, *dr = NULL;
    rc = vflow_polar_compute(ctx, vol, frames, n, radius, &p, &img,
                             vflow_io_output_wanted(io, "dr") ? &dr : NULL,
                             err);
    if (given == NULL) {
        free(frames);
        free(radius);
    }
    if (rc < 0)
        return rc;
    vflow_log(ctx, VFLOW_LOG_INFO,
              "%zu stations: %zu angles x %zu radii of %.3g mm", img->count,
              img->height, img->width, img->pixel_spacing);
    rc = vflow_io_set_output(io, "polar", &img->base);
    if (dr != NULL) {
        int rc2 = vflow_io_set_output(io, "dr", &dr->base);
        rc = rc < 0 ? rc : rc2;
    }
    return rc;
}

static const char *const interp_choices[] = {"linear", "cubic", NULL};

static const vflow_port_desc inputs[] = {
    {"volume", VFLOW_TYPE_VOLUME, false, "image to unwrap"},
    {"centerline", VFLOW_TYPE_POLYLINE, true,
     "world-mm centerline (stations every spacing_mm, RMF frames)"},
    {"sections", VFLOW_TYPE_SECTIONS, true,
     "take the stations and frames of this stack instead"},
};

static const vflow_port_desc outputs[] = {
    {"polar", VFLOW_TYPE_SECTIONS, false,
     "polar images: x = radius index (r = x * pixel_spacing), y = angle "
     "index (theta = 2 pi y / height), frames = stations"},
    {"dr", VFLOW_TYPE_SECTIONS, false,
     "radial derivative dI/dr (image units per mm), same layout"},
};

static const vflow_param_desc params[] = {
    {"n_angles", VFLOW_PARAM_INT, offsetof(polar_priv, n_angles), "128", 8,
     4096, NULL, "angles over 360 degrees", false},
    {"radial_step_mm", VFLOW_PARAM_FLOAT, offsetof(polar_priv, radial_step_mm),
     "0", VFLOW_UNBOUNDED, NULL,
     "radial sample step, mm; <= 0: smallest voxel spacing / 4", false},
    {"max_radius_mm", VFLOW_PARAM_FLOAT, offsetof(polar_priv, max_radius_mm),
     "0", VFLOW_UNBOUNDED, NULL,
     "largest radius, mm; <= 0: max(3, 2.5 r, r + 2.5) with r the vessel "
     "radius estimated from the data (or the centerline's radius array)",
     false},
    {"spacing_mm", VFLOW_PARAM_FLOAT, offsetof(polar_priv, spacing_mm), "0.3",
     0.01, 10.0, NULL,
     "station spacing along the centerline, mm (ignored with 'sections')",
     false},
    {"interpolation", VFLOW_PARAM_ENUM, offsetof(polar_priv, interpolation),
     "cubic", VFLOW_UNBOUNDED, interp_choices,
     "linear (trilinear) or cubic (cubic B-spline)", false},
};

const vflow_stage_desc vflow_stage_polar = {
    VFLOW_STAGE_HEADER,
    .flags = VFLOW_STAGE_DETERMINISTIC | VFLOW_STAGE_THREAD_SAFE,
    .name = "polar",
    .version = "1.0.0",
    .summary = "polar (r, theta) unwrap around each station plus dI/dr",
    .license = "BSD-3-Clause",
    .inputs = inputs,
    .n_inputs = VFLOW_COUNT(inputs),
    .outputs = outputs,
    .n_outputs = VFLOW_COUNT(outputs),
    .params = params,
    .n_params = VFLOW_COUNT(params),
    .priv_size = sizeof(polar_priv),
    .run = polar_run,
};
