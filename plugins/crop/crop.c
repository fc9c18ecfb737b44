/* SPDX-License-Identifier: BSD-3-Clause */
/* Stage `crop`: the part of a volume in the padded box around the clicks,
 * so click-dependent stages (cost map, Fast Marching) touch only it. */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "crop.h"
#include "vflow/volume.h"

vflow_volume *vflow_crop_volume(const vflow_volume *vol, const size_t lo[3],
                                const size_t hi[3], vflow_error *err)
{
    size_t dims[3];
    for (int a = 0; a < 3; a++) {
        if (hi[a] <= lo[a] || hi[a] > vol->dims[a]) {
            vflow_error_set(err, VFLOW_EINVAL, "crop box [%zu, %zu) on axis "
                            "%d is empty or beyond the image (0..%zu)",
                            lo[a], hi[a], a, vol->dims[a]);
            return NULL;
        }
        dims[a] = hi[a] - lo[a];
    }
    /* World position of voxel lo: translate the affine there, so
     * index_to_world(out, ijk) == index_to_world(vol, ijk + lo). */
    double affine[4][4];
    memcpy(affine, vol->affine, sizeof affine);
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 3; c++)
            affine[r][3] += vol->affine[r][c] * (double)lo[c];
    vflow_volume *out = vflow_volume_create(dims, vol->dtype, affine, err);
    if (out == NULL)
        return NULL;
    out->modality = vol->modality;
    memcpy(out->source, vol->source, sizeof out->source);
    size_t es = vflow_dtype_size(vol->dtype), row = dims[0] * es;
    const unsigned char *src = vol->data;
    unsigned char *dst = out->data;
    for (size_t k = 0; k < dims[2]; k++)
        for (size_t j = 0; j < dims[1]; j++) {
            size_t from = vflow_volume_index(vol, lo[0], lo[1] + j, lo[2] + k);
            memcpy(dst + (j + dims[1] * k) * row, src + from * es, row);
        }
    return out;
}

/* ------------------------------------------------------------- stage */

typedef struct crop_priv {
    double pad_mm;
    double span_fraction;
    double radii;
} crop_priv;

/* Vessel radius (mm) a scales table stands for: a bright tube of radius r
 * answers best at sigma = r / sqrt 2, so sqrt 2 x the largest sigma; 0
 * without a table. */
static double radius_from_scales(const vflow_table *scales)
{
    const double *sig = scales != NULL ? vflow_table_column(scales, "sigma_mm")
                                       : NULL;
    double r = 0.0;
    for (size_t i = 0; sig != NULL && i < scales->n_rows; i++)
        if (isfinite(sig[i]))
            r = fmax(r, M_SQRT2 * sig[i]);
    return r;
}

static int crop_run(void *priv, vflow_ctx *ctx, vflow_io *io,
                    vflow_error *err)
{
    const crop_priv *p = priv;
    const vflow_volume *vol = vflow_io_volume(io, "volume");
    const vflow_points *roi = vflow_io_points(io, "roi");
    /* A vessel bending away from the line between two clicks bulges by up
     * to half their distance (a half-circle) -- its axis does; its lumen
     * reaches a radius further, so the box also grows by `radii` vessel
     * radii when the scales are given -- as frangi's adaptive ROI does
     * (an aortic arch above two clicks in the ascending and descending
     * aorta lies ~half their distance plus its 15 mm radius higher). */
    double r = radius_from_scales(vflow_io_table(io, "scales"));
    double pad = fmax(p->pad_mm, p->span_fraction * vflow_points_span_mm(roi) +
                                     p->radii * r);
    size_t lo[3], hi[3];
    int rc = vflow_volume_box_around_points(vol, roi, pad, lo, hi, err);
    if (rc != 0)
        return rc;
    vflow_volume *out = vflow_crop_volume(vol, lo, hi, err);
    if (out == NULL)
        return err != NULL && err->code != 0 ? err->code : VFLOW_ENOMEM;
    vflow_log(ctx, VFLOW_LOG_INFO, "voxels [%zu..%zu) x [%zu..%zu) x "
              "[%zu..%zu) of %zux%zux%zu", lo[0], hi[0], lo[1], hi[1], lo[2],
              hi[2], vol->dims[0], vol->dims[1], vol->dims[2]);
    return vflow_io_set_output(io, "volume", &out->base);
}

static const vflow_port_desc crop_inputs[] = {
    {"volume", VFLOW_TYPE_VOLUME, false, "volume to crop (any dtype)"},
    {"roi", VFLOW_TYPE_POINTS, false,
     "world points (e.g. the clicks) whose padded box is kept"},
    {"scales", VFLOW_TYPE_TABLE, true,
     "(optional) vesselness scales (column sigma_mm, e.g. vessel_scales): "
     "the vessel radius sqrt 2 x the largest sigma widens the box by "
     "`radii` radii"},
};

static const vflow_port_desc crop_outputs[] = {
    {"volume", VFLOW_TYPE_VOLUME, false,
     "the voxels of the box, same dtype, each at its original world "
     "position (translated affine)"},
};

static const vflow_param_desc crop_params[] = {
    {.name = "pad_mm", .kind = VFLOW_PARAM_FLOAT,
     .offset = offsetof(crop_priv, pad_mm), .default_value = "20",
     .min = 0.0, .max = 1000.0, .choices = NULL,
     .doc = "padding (mm) of the box around the roi points; 20 matches the "
            "vesselness ROI default (frangi roi_pad_mm)",
     .required = false},
    {.name = "span_fraction", .kind = VFLOW_PARAM_FLOAT,
     .offset = offsetof(crop_priv, span_fraction), .default_value = "0",
     .min = 0.0, .max = 10.0, .choices = NULL,
     .doc = "the padding is at least this fraction of the largest distance "
            "between two roi points (0.5: room for a half-circle between "
            "the clicks, like frangi's adaptive ROI box)",
     .required = false},
    {.name = "radii", .kind = VFLOW_PARAM_FLOAT,
     .offset = offsetof(crop_priv, radii), .default_value = "2",
     .min = 0.0, .max = 100.0, .choices = NULL,
     .doc = "with the scales input, the span padding grows by this many "
            "vessel radii (frangi's adaptive box: two)",
     .required = false},
};

const vflow_stage_desc vflow_stage_crop = {
    VFLOW_STAGE_HEADER,
    .flags = VFLOW_STAGE_DETERMINISTIC | VFLOW_STAGE_THREAD_SAFE,
    .name = "crop",
    .version = "1.0.0",
    .summary = "Crop a volume to the padded box around points, keeping "
               "world positions",
    .license = "BSD-3-Clause",
    .inputs = crop_inputs,
    .n_inputs = VFLOW_COUNT(crop_inputs),
    .outputs = crop_outputs,
    .n_outputs = VFLOW_COUNT(crop_outputs),
    .params = crop_params,
    .n_params = VFLOW_COUNT(crop_params),
    .extensions = NULL,
    .priv_size = sizeof(crop_priv),
    .init = NULL,
    .run = crop_run,
    .finalize = NULL,
};
