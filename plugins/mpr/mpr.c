/* SPDX-License-Identifier: BSD-3-Clause */
/* Stages mpr, cpr and sections_volume: cross-sections along a centerline. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mpr.h"
#include "vflow/plugin.h"
#include "vflow/volume.h"

void vflow_mpr_params_default(vflow_mpr_params *p)
{
    p->spacing_mm = 0.3;
    p->fov_mm = 0.0;
    p->pixel_mm = 0.0;
    p->interp = VFLOW_XS_CUBIC;
}

typedef struct mpr_job {
    const vflow_xs_sampler *sampler;
    vflow_sections *out;
} mpr_job;

static void mpr_rows(void *user, size_t begin, size_t end, unsigned worker)
{
    (void)worker;
    mpr_job *job = user;
    vflow_sections *s = job->out;
    for (size_t i = begin; i < end; i++)
        vflow_xs_sample_section(job->sampler, &s->frames[i], s->width,
                                s->height, s->pixel_spacing,
                                s->pixels + i * s->width * s->height);
}

/* Odd pixel count covering fov_mm, so the centre is a pixel centre. */
static size_t side_pixels(double fov_mm, double pixel_mm)
{
    size_t half = (size_t)ceil(0.5 * fov_mm / pixel_mm);
    return 2 * (half < 1 ? 1 : half) + 1;
}

int vflow_mpr_compute(vflow_ctx *ctx, const vflow_volume *vol,
                      const vflow_polyline *cl, const vflow_mpr_params *p,
                      vflow_sections **out, vflow_error *err)
{
    *out = NULL;
    vflow_frame *frames = NULL;
    double *radius = NULL;
    size_t n = 0;
    int rc = vflow_xs_stations(cl, p->spacing_mm, &frames, &n, &radius, err);
    if (rc < 0)
        return rc;
    double px = p->pixel_mm > 0.0
                    ? p->pixel_mm
                    : 0.5 * fmin(vol->spacing[0],
                                 fmin(vol->spacing[1], vol->spacing[2]));
    double fov = p->fov_mm;
    if (!(fov > 0.0)) {
        double r = vflow_xs_radius_hint(vol, frames, n, radius);
        fov = fmax(6.0, 4.0 * r);
    }
    free(radius);
    size_t w = side_pixels(fov, px);
    if (w > 4097) {
        free(frames);
        return vflow_error_set(err, VFLOW_ERANGE,
                               "section of %g mm at %g mm pixels needs %zu "
                               "pixels a side (max 4097)", fov, px, w);
    }
    vflow_xs_sampler sampler;
    double (*pts)[3] = malloc(n * sizeof *pts);
    if (pts == NULL) {
        free(frames);
        return vflow_error_set(err, VFLOW_ENOMEM, "out of memory (mpr)");
    }
    for (size_t i = 0; i < n; i++)
        memcpy(pts[i], frames[i].center, sizeof pts[i]);
    rc = vflow_xs_sampler_init(&sampler, vol, (const double (*)[3])pts, n,
                               0.75 * (double)w * px, p->interp, err);
    free(pts);
    if (rc < 0) {
        free(frames);
        return rc;
    }
    vflow_sections *s = vflow_sections_create(n, w, w, px, err);
    if (s == NULL) {
        vflow_xs_sampler_free(&sampler);
        free(frames);
        return VFLOW_ENOMEM;
    }
    memcpy(s->frames, frames, n * sizeof *frames);
    free(frames);
    mpr_job job = {&sampler, s};
    rc = vflow_xs_parallel(ctx, n, mpr_rows, &job);
    vflow_xs_sampler_free(&sampler);
    if (rc < 0) {
        vflow_object_release(&s->base);
        return vflow_error_set(err, rc, "mpr cancelled");
    }
    *out = s;
    return 0;
}

vflow_volume *vflow_sections_to_volume(const vflow_sections *s,
                                       vflow_error *err)
{
    if (s == NULL || s->count == 0 || s->width == 0 || s->height == 0) {
        vflow_error_set(err, VFLOW_EINVAL, "empty section stack");
        return NULL;
    }
    double dz = 1.0;
    if (s->count > 1) {
        dz = (s->frames[s->count - 1].s_mm - s->frames[0].s_mm) /
             (double)(s->count - 1);
        if (!(dz > 1e-9))
            dz = 1.0;
    }
    double aff[4][4] = {{s->pixel_spacing, 0, 0,
                         -0.5 * (double)(s->width - 1) * s->pixel_spacing},
                        {0, s->pixel_spacing, 0,
                         -0.5 * (double)(s->height - 1) * s->pixel_spacing},
                        {0, 0, dz, s->frames[0].s_mm},
                        {0, 0, 0, 1}};
    size_t dims[3] = {s->width, s->height, s->count};
    vflow_volume *v = vflow_volume_create(dims, VFLOW_DTYPE_F32, aff, err);
    if (v == NULL)
        return NULL;
    /* Same x-fastest layout: pixels[(n*h + y)*w + x] == voxel (x, y, n). */
    memcpy(v->data, s->pixels, s->count * s->width * s->height * sizeof(float));
    return v;
}

/* ------------------------------------------------------------ stages */

typedef struct mpr_priv {
    double spacing_mm;
    double fov_mm;
    double pixel_mm;
    int interpolation;
} mpr_priv;

static void priv_to_params(const mpr_priv *pv, vflow_mpr_params *p)
{
    p->spacing_mm = pv->spacing_mm;
    p->fov_mm = pv->fov_mm;
    p->pixel_mm = pv->pixel_mm;
    p->interp = pv->interpolation == 0 ? VFLOW_XS_LINEAR : VFLOW_XS_CUBIC;
}

static int mpr_run(void *priv, vflow_ctx *ctx, vflow_io *io, vflow_error *err)
{
    vflow_mpr_params p;
    priv_to_params(priv, &p);
    vflow_sections *s = NULL;
    int rc = vflow_mpr_compute(ctx, vflow_io_volume(io, "volume"),
                               vflow_io_polyline(io, "centerline"), &p, &s,
                               err);
    if (rc < 0)
        return rc;
    vflow_log(ctx, VFLOW_LOG_INFO, "%zu sections of %zux%zu px at %.3g mm",
              s->count, s->width, s->height, s->pixel_spacing);
    return vflow_io_set_output(io, "sections", &s->base);
}

static int cpr_run(void *priv, vflow_ctx *ctx, vflow_io *io, vflow_error *err)
{
    vflow_mpr_params p;
    priv_to_params(priv, &p);
    vflow_sections *s = NULL;
    int rc = vflow_mpr_compute(ctx, vflow_io_volume(io, "volume"),
                               vflow_io_polyline(io, "centerline"), &p, &s,
                               err);
    if (rc < 0)
        return rc;
    vflow_volume *v = vflow_sections_to_volume(s, err);
    vflow_object_release(&s->base);
    if (v == NULL)
        return err != NULL && err->code != 0 ? err->code : VFLOW_ENOMEM;
    return vflow_io_set_output(io, "cpr", &v->base);
}

static int sections_volume_run(void *priv, vflow_ctx *ctx, vflow_io *io,
                               vflow_error *err)
{
    (void)priv;
    (void)ctx;
    vflow_volume *v = vflow_sections_to_volume(vflow_io_sections(io, "sections"),
                                               err);
    if (v == NULL)
        return err != NULL && err->code != 0 ? err->code : VFLOW_ENOMEM;
    return vflow_io_set_output(io, "volume", &v->base);
}

static const char *const interp_choices[] = {"linear", "cubic", NULL};

static const vflow_port_desc mpr_inputs[] = {
    {"volume", VFLOW_TYPE_VOLUME, false, "image to reformat"},
    {"centerline", VFLOW_TYPE_POLYLINE, false,
     "world-mm centerline (tangent_x/y/z and radius arrays used if present)"},
};

static const vflow_port_desc mpr_outputs[] = {
    {"sections", VFLOW_TYPE_SECTIONS, false,
     "cross-sections with rotation-minimising frames"},
};

static const vflow_port_desc cpr_outputs[] = {
    {"cpr", VFLOW_TYPE_VOLUME, false,
     "straightened volume: x = u, y = v, z = station (mm, not world)"},
};

#define MPR_PARAMS(fov_default)                                               \
    {"spacing_mm", VFLOW_PARAM_FLOAT, offsetof(mpr_priv, spacing_mm), "0.3",  \
     0.01, 10.0, NULL, "station spacing along the arc, mm", false},           \
    {"fov_mm", VFLOW_PARAM_FLOAT, offsetof(mpr_priv, fov_mm), fov_default,    \
     VFLOW_UNBOUNDED, NULL,                                                   \
     "section side, mm; <= 0: max(6, 4 x vessel radius from the data)",       \
     false},                                                                  \
    {"pixel_mm", VFLOW_PARAM_FLOAT, offsetof(mpr_priv, pixel_mm), "0",        \
     VFLOW_UNBOUNDED, NULL,                                                   \
     "pixel size, mm; <= 0: half the smallest voxel spacing", false},         \
    {"interpolation", VFLOW_PARAM_ENUM, offsetof(mpr_priv, interpolation),    \
     "cubic", VFLOW_UNBOUNDED, interp_choices,                                \
     "linear (trilinear) or cubic (cubic B-spline)", false}

static const vflow_param_desc mpr_params[] = {MPR_PARAMS("0")};

const vflow_stage_desc vflow_stage_mpr = {
    VFLOW_STAGE_HEADER,
    .flags = VFLOW_STAGE_DETERMINISTIC | VFLOW_STAGE_THREAD_SAFE,
    .name = "mpr",
    .version = "1.0.0",
    .summary = "cross-sections perpendicular to a centerline (RMF frames)",
    .license = "BSD-3-Clause",
    .inputs = mpr_inputs,
    .n_inputs = VFLOW_COUNT(mpr_inputs),
    .outputs = mpr_outputs,
    .n_outputs = VFLOW_COUNT(mpr_outputs),
    .params = mpr_params,
    .n_params = VFLOW_COUNT(mpr_params),
    .priv_size = sizeof(mpr_priv),
    .run = mpr_run,
};

const vflow_stage_desc vflow_stage_cpr = {
    VFLOW_STAGE_HEADER,
    .flags = VFLOW_STAGE_DETERMINISTIC | VFLOW_STAGE_THREAD_SAFE,
    .name = "cpr",
    .version = "1.0.0",
    .summary = "straightened curved planar reformation as a volume",
    .license = "BSD-3-Clause",
    .inputs = mpr_inputs,
    .n_inputs = VFLOW_COUNT(mpr_inputs),
    .outputs = cpr_outputs,
    .n_outputs = VFLOW_COUNT(cpr_outputs),
    .params = mpr_params,
    .n_params = VFLOW_COUNT(mpr_params),
    .priv_size = sizeof(mpr_priv),
    .run = cpr_run,
};

static const vflow_port_desc sv_inputs[] = {
    {"sections", VFLOW_TYPE_SECTIONS, false, "section stack"},
};

static const vflow_port_desc sv_outputs[] = {
    {"volume", VFLOW_TYPE_VOLUME, false,
     "stack as f32 volume: x = u, y = v, z = station (mm, not world)"},
};

const vflow_stage_desc vflow_stage_sections_volume = {
    VFLOW_STAGE_HEADER,
    .flags = VFLOW_STAGE_DETERMINISTIC | VFLOW_STAGE_THREAD_SAFE,
    .name = "sections_volume",
    .version = "1.0.0",
    .summary = "a section stack as a volume (for sections.nii.gz)",
    .license = "BSD-3-Clause",
    .inputs = sv_inputs,
    .n_inputs = VFLOW_COUNT(sv_inputs),
    .outputs = sv_outputs,
    .n_outputs = VFLOW_COUNT(sv_outputs),
    .priv_size = sizeof(mpr_priv),
    .run = sections_volume_run,
};
