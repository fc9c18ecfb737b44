/* SPDX-License-Identifier: BSD-3-Clause */
/* Stage `measure`: per-station arrays on the centerline and a vessel table. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "measure.h"
#include "vflow/volume.h"

typedef struct measure_priv {
    double end_exclusion_mm;
    double calcium_hu;
    double calcium_lumen_factor;
} measure_priv;

/* Per-station array names appended to the centerline, in this order. */
static const char *const station_arrays[] = {
    "lumen_area_mm2", "lumen_diam_mm", "min_diam_mm", "max_diam_mm",
    "wall_area_mm2", "plaque_burden", "outer_area_mm2", "radius"};

static const double *station_source(const vflow_station_measures *m, size_t a,
                                    double *radius)
{
    switch (a) {
    case 0: return m->lumen_area;
    case 1: return m->lumen_diam;
    case 2: return m->min_diam;
    case 3: return m->max_diam;
    case 4: return m->wall_area;
    case 5: return m->plaque_burden;
    case 6: return m->outer_area;
    default:
        for (size_t i = 0; i < m->count; i++)
            radius[i] = 0.5 * m->lumen_diam[i];
        return radius;
    }
}

/* Arc length of every polyline point from its start. */
static void polyline_arclength(const vflow_polyline *pl, double *s)
{
    s[0] = 0.0;
    for (size_t i = 1; i < pl->count; i++) {
        const double *p = pl->xyz[i], *q = pl->xyz[i - 1];
        s[i] = s[i - 1] + sqrt((p[0] - q[0]) * (p[0] - q[0]) +
                               (p[1] - q[1]) * (p[1] - q[1]) +
                               (p[2] - q[2]) * (p[2] - q[2]));
    }
}

/* Linear interpolation of station values y(s_st) at s (clamped ends). */
static double interp(const double *s_st, const double *y, size_t n, double s)
{
    if (s <= s_st[0])
        return y[0];
    if (s >= s_st[n - 1])
        return y[n - 1];
    size_t lo = 0, hi = n - 1;
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (s_st[mid] <= s)
            lo = mid;
        else
            hi = mid;
    }
    double t = (s - s_st[lo]) / (s_st[hi] - s_st[lo]);
    return y[lo] + t * (y[hi] - y[lo]);
}

/*
 * Puts s_mm and the six centerline.csv measurement columns first, in the
 * order of the issue (s_mm, lumen_area_mm2, lumen_diam_mm, min_diam_mm,
 * max_diam_mm, wall_area_mm2, plaque_burden), then every other array in its
 * previous order (tangents, radius, outer_area_mm2...). The CSV writer
 * prints arrays in storage order.
 */
static void order_arrays(vflow_polyline *pl)
{
    static const char *const first[] = {"s_mm", "lumen_area_mm2",
                                        "lumen_diam_mm", "min_diam_mm",
                                        "max_diam_mm", "wall_area_mm2",
                                        "plaque_burden"};
    size_t placed = 0;
    for (size_t f = 0; f < VFLOW_COUNT(first); f++) {
        for (size_t a = placed; a < pl->n_arrays; a++) {
            if (strcmp(pl->arrays[a].name, first[f]) != 0)
                continue;
            vflow_array tmp = pl->arrays[a];
            memmove(&pl->arrays[placed + 1], &pl->arrays[placed],
                    (a - placed) * sizeof tmp);
            pl->arrays[placed++] = tmp;
            break;
        }
    }
}

/*
 * The output centerline: a copy of the input with the station arrays
 * appended (1:1 when the counts match, else interpolated along the arc
 * length), or the station centres when no centerline is connected.
 */
static vflow_polyline *centerline_with_arrays(const vflow_polyline *in,
                                              const vflow_contours *c,
                                              const vflow_station_measures *m,
                                              vflow_error *err)
{
    vflow_polyline *pl = NULL;
    if (in != NULL) {
        pl = (vflow_polyline *)vflow_object_clone(&in->base);
    } else if ((pl = vflow_polyline_create(c->count, err)) != NULL) {
        for (size_t i = 0; i < c->count; i++)
            memcpy(pl->xyz[i], c->frames[i].center, sizeof pl->xyz[i]);
    }
    double *s_pl = pl ? malloc((pl->count ? pl->count : 1) * sizeof *s_pl) : NULL;
    double *radius = malloc((m->count ? m->count : 1) * sizeof *radius);
    bool one_to_one = pl != NULL && pl->count == m->count;
    if (pl == NULL || s_pl == NULL || radius == NULL)
        goto nomem;
    if (vflow_polyline_array(pl, "s_mm") == NULL) {
        double *s = vflow_polyline_add_array(pl, "s_mm");
        if (s == NULL)
            goto nomem;
        if (one_to_one)
            memcpy(s, m->s_mm, m->count * sizeof *s);
        else
            polyline_arclength(pl, s);
    }
    polyline_arclength(pl, s_pl);
    for (size_t a = 0; a < VFLOW_COUNT(station_arrays); a++) {
        const double *src = station_source(m, a, radius);
        double *dst = vflow_polyline_add_array(pl, station_arrays[a]);
        if (dst == NULL)
            goto nomem;
        for (size_t i = 0; i < pl->count; i++)
            dst[i] = one_to_one ? src[i]
                                : interp(m->s_mm, src, m->count,
                                         s_pl[i] * m->s_mm[m->count - 1] /
                                             fmax(s_pl[pl->count - 1], 1e-12));
    }
    order_arrays(pl);
    free(s_pl);
    free(radius);
    return pl;
nomem:
    free(s_pl);
    free(radius);
    if (pl != NULL)
        vflow_object_release(&pl->base);
    vflow_error_set(err, VFLOW_ENOMEM, "out of memory building the measured "
                    "centerline");
    return NULL;
}

static int fill_table(vflow_table *t, const vflow_vessel_measures *v,
                      size_t n_stations, double calcium, double calcium_thr)
{
    struct { const char *name; double value; } cols[] = {
        {"length_mm", v->length_mm},
        {"mla_mm2", v->mla_mm2},
        {"mla_s_mm", v->mla_s_mm},
        {"mla_x", v->mla_xyz[0]},
        {"mla_y", v->mla_xyz[1]},
        {"mla_z", v->mla_xyz[2]},
        {"reference_area_mm2", v->reference_area_mm2},
        {"area_stenosis_pct", v->area_stenosis_pct},
        {"diameter_stenosis_pct", v->diameter_stenosis_pct},
        {"plaque_volume_mm3", v->plaque_volume_mm3},
        {"remodeling_index", v->remodeling_index},
        {"calcium_volume_mm3", calcium},
        {"n_stations", (double)n_stations},
        {"mld_mm", v->mld_mm},
        {"reference_diam_mm", v->reference_diam_mm},
        {"reference_outer_area_mm2", v->reference_outer_area_mm2},
        {"lumen_volume_mm3", v->lumen_volume_mm3},
        {"n_reference_stations", (double)v->n_reference_stations},
        {"calcium_threshold_hu", calcium_thr},
        {"min_area_mm2", v->min_area_mm2},
        {"min_area_s_mm", v->min_area_s_mm},
    };
    for (size_t i = 0; i < VFLOW_COUNT(cols); i++) {
        double *col = vflow_table_add_column(t, cols[i].name);
        if (col == NULL)
            return VFLOW_ENOMEM;
        col[0] = cols[i].value;
    }
    return 0;
}

/* Calcium volume when intensities are HU (CT or unknown modality). */
static int measure_calcium(const measure_priv *p, const vflow_contours *c,
                           const vflow_volume *image, vflow_ctx *ctx,
                           double *calcium, double *thr, vflow_error *err)
{
    *calcium = NAN;
    *thr = NAN;
    if (image == NULL)
        return 0;
    if (image->modality == VFLOW_MODALITY_MR) {
        vflow_log(ctx, VFLOW_LOG_INFO, "MR image: no calcium volume");
        return 0;
    }
    return vflow_calcium_volume(c, image, p->calcium_hu,
                                p->calcium_lumen_factor, ctx, calcium, thr,
                                err);
}

static int measure_run(void *priv, vflow_ctx *ctx, vflow_io *io,
                       vflow_error *err)
{
    measure_priv *p = priv;
    const vflow_contours *c = vflow_io_contours(io, "contours");
    const vflow_polyline *cl = vflow_io_polyline(io, "centerline");
    const vflow_volume *image = vflow_io_volume(io, "volume");
    if (c == NULL || c->count < 2 || c->n_angles < 3)
        return vflow_error_set(err, VFLOW_EINVAL, "contours need >= 2 stations "
                               "and >= 3 angles (got %zu x %zu)",
                               c ? c->count : 0, c ? c->n_angles : 0);
    vflow_station_measures m;
    int rc = vflow_station_measures_compute(c, &m, err);
    if (rc != 0)
        return rc;
    vflow_vessel_measures v;
    double len = cl != NULL && cl->count >= 2 ? vflow_polyline_length(cl) : -1.0;
    vflow_vessel_measures_compute(c, &m, p->end_exclusion_mm, len, &v);
    double calcium = NAN, calcium_thr = NAN;
    vflow_polyline *out = NULL;
    vflow_table *t = NULL;
    if ((rc = measure_calcium(p, c, image, ctx, &calcium, &calcium_thr, err)) != 0)
        goto out;
    out = centerline_with_arrays(cl, c, &m, err);
    t = vflow_table_create(1, err);
    if (out == NULL || t == NULL || fill_table(t, &v, c->count, calcium, calcium_thr) != 0) {
        rc = vflow_error_set(err, VFLOW_ENOMEM, "out of memory");
        goto out;
    }
    vflow_log(ctx, VFLOW_LOG_INFO, "MLA %.2f mm2 at s = %.1f mm, %.0f %% "
              "diameter stenosis", v.mla_mm2, v.mla_s_mm,
              v.diameter_stenosis_pct);
    rc = vflow_io_set_output(io, "centerline", &out->base);
    out = NULL;
    if (rc == 0)
        rc = vflow_io_set_output(io, "measures", &t->base);
    else
        vflow_object_release(&t->base);
    t = NULL;
out:
    if (out != NULL)
        vflow_object_release(&out->base);
    if (t != NULL)
        vflow_object_release(&t->base);
    vflow_station_measures_free(&m);
    return rc;
}

static const vflow_port_desc measure_inputs[] = {
    {"contours", VFLOW_TYPE_CONTOURS, false,
     "per-station frames with lumen and outer radii"},
    {"centerline", VFLOW_TYPE_POLYLINE, true,
     "refined centerline (one point per station) to annotate"},
    {"volume", VFLOW_TYPE_VOLUME, true,
     "the CT image in HU, for the calcium volume"},
};

static const vflow_port_desc measure_outputs[] = {
    {"centerline", VFLOW_TYPE_POLYLINE, false,
     "the centerline with per-station measurement arrays"},
    {"measures", VFLOW_TYPE_TABLE, false, "vessel-level measures, one row"},
};

static const vflow_param_desc measure_params[] = {
    {"end_exclusion_mm", VFLOW_PARAM_FLOAT,
     offsetof(measure_priv, end_exclusion_mm), "1.0", 0.0, 100.0, NULL,
     "stations closer than this to either end (mm) are not MLA or reference "
     "candidates (ostium and cap artefacts)",
     false},
    {"calcium_hu", VFLOW_PARAM_FLOAT, offsetof(measure_priv, calcium_hu),
     "130", -1024.0, 4000.0, NULL,
     "lower bound of the calcium threshold (HU; Agatston's 130): wall "
     "voxels at or above the threshold count as calcium",
     false},
    {"calcium_lumen_factor", VFLOW_PARAM_FLOAT,
     offsetof(measure_priv, calcium_lumen_factor), "1.1", 0.0, 10.0, NULL,
     "the calcium threshold is raised to this factor times the lumen plateau "
     "(90th percentile of the lumen voxels: contrast-enhanced blood in CTA); "
     "0 = calcium_hu alone",
     false},
};

const vflow_stage_desc vflow_stage_measure = {
    VFLOW_STAGE_HEADER,
    .flags = VFLOW_STAGE_DETERMINISTIC | VFLOW_STAGE_THREAD_SAFE,
    .name = "measure",
    .version = "1.0.0",
    .summary = "Lumen/wall areas, diameters, stenosis, plaque and calcium",
    .license = "BSD-3-Clause",
    .inputs = measure_inputs,
    .n_inputs = VFLOW_COUNT(measure_inputs),
    .outputs = measure_outputs,
    .n_outputs = VFLOW_COUNT(measure_outputs),
    .params = measure_params,
    .n_params = VFLOW_COUNT(measure_params),
    .priv_size = sizeof(measure_priv),
    .run = measure_run,
};
