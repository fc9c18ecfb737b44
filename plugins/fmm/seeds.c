/* SPDX-License-Identifier: BSD-3-Clause */
/* Click validation and background snapping shared by fmm and dijkstra. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmm.h"
#include "vflow/select.h"
#include "vflow/volume.h"

/* Half-width of the box that defines "the speed around" a click, mm. */
#define SEED_CONTEXT_MM 15.0
/* Samples drawn from that box for its percentiles. */
#define SEED_CONTEXT_SAMPLES 32768

static inline float speed_at(const float *F, size_t v)
{
    float f = F[v];
    return isfinite(f) && f > 0.0f ? f : 0.0f;
}

/* Voxel box [lo, hi] of a world-mm half-width `mm` around voxel c. */
static void seed_box(const vflow_volume *vol, const size_t c[3], double mm,
                     size_t lo[3], size_t hi[3])
{
    for (int a = 0; a < 3; a++) {
        size_t r = (size_t)ceil(mm / vol->spacing[a]);
        lo[a] = c[a] > r ? c[a] - r : 0;
        hi[a] = c[a] + r < vol->dims[a] ? c[a] + r : vol->dims[a] - 1;
    }
}

/* Speeds of the voxels in the box [lo, hi]: the value at rank
 * m / rank_div of a strided sample, the maximum and the smallest positive. */
typedef struct speed_stats {
    double rank_value;
    float max, min_positive;
} speed_stats;

/* Largest speed and smallest positive one of a row, folded into *mx and
 * *minpos: no sampling in this loop, so it stays branch-light. */
static void row_extrema(const float *row, size_t n, float *mx, float *minpos)
{
    float a = *mx, b = *minpos;
    for (size_t i = 0; i < n; i++) {
        float f = speed_at(row, i);
        a = f > a ? f : a;
        b = f > 0.0f && f < b ? f : b;
    }
    *mx = a;
    *minpos = b;
}

static int box_speed_stats(const vflow_volume *vol, const float *F,
                           const size_t lo[3], const size_t hi[3],
                           size_t rank_div, speed_stats *out)
{
    const size_t nx = hi[0] - lo[0] + 1;
    size_t n = nx * (hi[1] - lo[1] + 1) * (hi[2] - lo[2] + 1);
    size_t stride = n / SEED_CONTEXT_SAMPLES + 1;
    float *s = malloc((n / stride + 1) * sizeof *s);
    if (s == NULL)
        return VFLOW_ENOMEM;
    /* The sample: the voxels at positions 0, stride, 2 stride, ... of the
     * box in x-fastest order; q counts the voxels before each row. */
    size_t m = 0, q = 0;
    float mx = 0.0f, minpos = INFINITY;
    for (size_t k = lo[2]; k <= hi[2]; k++)
        for (size_t j = lo[1]; j <= hi[1]; j++, q += nx) {
            const float *row = F + vflow_volume_index(vol, lo[0], j, k);
            row_extrema(row, nx, &mx, &minpos);
            for (size_t i = (stride - q % stride) % stride; i < nx;
                 i += stride)
                s[m++] = speed_at(row, i);
        }
    out->rank_value = vflow_select_float(s, m, m / rank_div);
    out->max = mx;
    out->min_positive = minpos;
    free(s);
    return 0;
}

/*
 * Speed above which a voxel counts as "in a vessel" near voxel c: the
 * geometric mean of the box's lower quartile (background) and its maximum
 * (lumen). Scale-free, so it works for exp(aV) and eps+V^p speeds alike;
 * in a uniform medium it equals the speed itself.
 */
static int seed_threshold(const vflow_volume *vol, const float *F,
                          const size_t c[3], double *thr, double *fmax)
{
    size_t lo[3], hi[3];
    seed_box(vol, c, SEED_CONTEXT_MM, lo, hi);
    speed_stats st;
    if (box_speed_stats(vol, F, lo, hi, 4, &st) != 0)
        return VFLOW_ENOMEM;
    double p25 = st.rank_value;
    if (p25 <= 0.0)
        p25 = isfinite(st.min_positive) ? st.min_positive : 0.0;
    *fmax = st.max;
    *thr = sqrt(p25 * st.max);
    return 0;
}

/*
 * The same rule over the whole volume: the geometric mean of the median
 * speed (background) and the maximum (the best vessel). A click whose
 * neighbourhood holds no vessel at all passes the local rule (there the
 * box's maximum is background too); this one still refuses it.
 */
static int global_threshold(const vflow_volume *vol, const float *F,
                            double *thr)
{
    size_t lo[3] = {0, 0, 0};
    size_t hi[3] = {vol->dims[0] - 1, vol->dims[1] - 1, vol->dims[2] - 1};
    speed_stats st;
    if (box_speed_stats(vol, F, lo, hi, 2, &st) != 0)
        return VFLOW_ENOMEM;
    double p50 = st.rank_value > 0.0 ? st.rank_value : 0.0;
    *thr = sqrt(p50 * st.max);
    return 0;
}

static void nearest_voxel(const vflow_volume *vol, const double ijk[3],
                          size_t c[3])
{
    for (int a = 0; a < 3; a++) {
        double r = floor(ijk[a] + 0.5);
        if (r < 0.0)
            r = 0.0;
        if (r > (double)(vol->dims[a] - 1))
            r = (double)(vol->dims[a] - 1);
        c[a] = (size_t)r;
    }
}

static double voxel_dist_mm(const vflow_volume *vol, const double ijk[3],
                            size_t i, size_t j, size_t k)
{
    double a[3] = {(double)i, (double)j, (double)k}, x[3], y[3];
    vflow_volume_index_to_world(vol, a, x);
    vflow_volume_index_to_world(vol, ijk, y);
    return sqrt((x[0] - y[0]) * (x[0] - y[0]) + (x[1] - y[1]) * (x[1] - y[1]) +
                (x[2] - y[2]) * (x[2] - y[2]));
}

/* Fastest voxel within `radius` mm of ijk (ties: nearest). */
static double fastest_within(const vflow_volume *vol, const float *F,
                             const double ijk[3], const size_t c[3],
                             double radius, size_t best[3])
{
    size_t lo[3], hi[3];
    seed_box(vol, c, radius, lo, hi);
    double fbest = -1.0, dbest = INFINITY;
    for (size_t k = lo[2]; k <= hi[2]; k++)
        for (size_t j = lo[1]; j <= hi[1]; j++)
            for (size_t i = lo[0]; i <= hi[0]; i++) {
                double d = voxel_dist_mm(vol, ijk, i, j, k);
                if (d > radius)
                    continue;
                double f = speed_at(F, vflow_volume_index(vol, i, j, k));
                if (f > fbest || (f == fbest && d < dbest)) {
                    fbest = f;
                    dbest = d;
                    best[0] = i, best[1] = j, best[2] = k;
                }
            }
    return fbest;
}

/* Nearest voxel anywhere with speed >= thr; false if none. */
static bool nearest_bright(const vflow_volume *vol, const float *F,
                           const double ijk[3], double thr, size_t best[3])
{
    double dbest = INFINITY;
    for (size_t k = 0; k < vol->dims[2]; k++)
        for (size_t j = 0; j < vol->dims[1]; j++)
            for (size_t i = 0; i < vol->dims[0]; i++) {
                if (speed_at(F, vflow_volume_index(vol, i, j, k)) < thr ||
                    thr <= 0.0)
                    continue;
                double d = voxel_dist_mm(vol, ijk, i, j, k);
                if (d < dbest) {
                    dbest = d;
                    best[0] = i, best[1] = j, best[2] = k;
                }
            }
    return isfinite(dbest);
}

static void world_bounds(const vflow_volume *vol, double lo[3], double hi[3])
{
    for (int a = 0; a < 3; a++)
        lo[a] = INFINITY, hi[a] = -INFINITY;
    for (int corner = 0; corner < 8; corner++) {
        double ijk[3], x[3];
        for (int a = 0; a < 3; a++)
            ijk[a] = (corner >> a) & 1 ? (double)vol->dims[a] - 0.5 : -0.5;
        vflow_volume_index_to_world(vol, ijk, x);
        for (int a = 0; a < 3; a++) {
            lo[a] = fmin(lo[a], x[a]);
            hi[a] = fmax(hi[a], x[a]);
        }
    }
}

static void seed_set_voxel(const vflow_volume *vol, vflow_seed_point *out,
                           const size_t c[3])
{
    out->ijk[0] = (double)c[0];
    out->ijk[1] = (double)c[1];
    out->ijk[2] = (double)c[2];
    vflow_volume_index_to_world(vol, out->ijk, out->xyz);
}

static int seed_outside(const vflow_volume *vol, const vflow_point *p,
                        vflow_error *err)
{
    double lo[3], hi[3];
    world_bounds(vol, lo, hi);
    return vflow_error_set(err, VFLOW_EINVAL,
                           "%s point (%.2f, %.2f, %.2f) mm lies outside the "
                           "image, which spans x %.2f..%.2f, y %.2f..%.2f, "
                           "z %.2f..%.2f mm",
                           p->name, p->xyz[0], p->xyz[1], p->xyz[2], lo[0],
                           hi[0], lo[1], hi[1], lo[2], hi[2]);
}

/* The click is in the background: snap it, or explain where to click. */
static int seed_snap(const vflow_volume *vol, const float *F,
                     const vflow_point *p, double max_snap_mm, double thr,
                     const size_t c[3], vflow_seed_point *out,
                     vflow_error *err)
{
    size_t best[3] = {c[0], c[1], c[2]};
    double fbest = fastest_within(vol, F, out->ijk, c, max_snap_mm, best);
    if (fbest >= thr && fbest > 0.0) {
        seed_set_voxel(vol, out, best);
        out->snapped = true;
        double d[3];
        for (int a = 0; a < 3; a++)
            d[a] = out->xyz[a] - out->click[a];
        out->snap_mm = sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
        return 0;
    }
    if (!nearest_bright(vol, F, out->ijk, thr, best))
        return vflow_error_set(err, VFLOW_EINVAL,
                               "%s point (%.2f, %.2f, %.2f) mm lies in "
                               "background and the speed volume has no "
                               "bright voxel at all", p->name, p->xyz[0],
                               p->xyz[1], p->xyz[2]);
    double b[3] = {(double)best[0], (double)best[1], (double)best[2]}, x[3];
    vflow_volume_index_to_world(vol, b, x);
    return vflow_error_set(err, VFLOW_EINVAL,
                           "%s point (%.2f, %.2f, %.2f) mm lies in "
                           "background; nearest bright voxel at (%.2f, %.2f, "
                           "%.2f) mm (%.1f mm away, more than max_snap_mm = "
                           "%.1f); if the point is inside a vessel, the speed "
                           "there is low for another reason, e.g. vesselness "
                           "scales far below the vessel radius",
                           p->name, p->xyz[0], p->xyz[1], p->xyz[2],
                           x[0], x[1], x[2],
                           voxel_dist_mm(vol, out->ijk, best[0], best[1],
                                         best[2]), max_snap_mm);
}

/* vflow_seed_resolve with the whole-volume threshold given (NAN: computed
 * here), so that resolving several points scans the volume once. */
static int seed_resolve_global(const vflow_volume *speed,
                               const vflow_point *p, double max_snap_mm,
                               double thr_global, vflow_seed_point *out,
                               vflow_error *err)
{
    memset(out, 0, sizeof *out);
    snprintf(out->name, sizeof out->name, "%s", p->name);
    memcpy(out->click, p->xyz, sizeof out->click);
    memcpy(out->xyz, p->xyz, sizeof out->xyz);
    if (!(isfinite(p->xyz[0]) && isfinite(p->xyz[1]) && isfinite(p->xyz[2])))
        return vflow_error_set(err, VFLOW_EINVAL,
                               "%s point has a non-finite coordinate", p->name);
    vflow_volume_world_to_index(speed, p->xyz, out->ijk);
    for (int a = 0; a < 3; a++)
        if (out->ijk[a] < -0.5 || out->ijk[a] > (double)speed->dims[a] - 0.5)
            return seed_outside(speed, p, err);
    const float *F = speed->data;
    size_t c[3];
    nearest_voxel(speed, out->ijk, c);
    double thr, fmax;
    if (seed_threshold(speed, F, c, &thr, &fmax) != 0 ||
        (isnan(thr_global) && global_threshold(speed, F, &thr_global) != 0))
        return vflow_error_set(err, VFLOW_ENOMEM, "out of memory while "
                               "checking the %s point", p->name);
    if (thr_global > thr)
        thr = thr_global;
    double f = speed_at(F, vflow_volume_index(speed, c[0], c[1], c[2]));
    int rc = 0;
    if (!(f > 0.0 && f >= thr))
        rc = seed_snap(speed, F, p, max_snap_mm, thr, c, out, err);
    if (rc != 0)
        return rc;
    nearest_voxel(speed, out->ijk, c);
    out->voxel = vflow_volume_index(speed, c[0], c[1], c[2]);
    return 0;
}

int vflow_seed_resolve(const vflow_volume *speed, const vflow_point *p,
                       double max_snap_mm, vflow_seed_point *out,
                       vflow_error *err)
{
    return seed_resolve_global(speed, p, max_snap_mm, NAN, out, err);
}

/* The whole-volume threshold for several points (NAN when it could not be
 * computed: each point then tries again and reports the failure). */
static double points_global_threshold(const vflow_volume *speed)
{
    double thr = NAN;
    if (global_threshold(speed, speed->data, &thr) != 0)
        thr = NAN;
    return thr;
}

int vflow_seeds_resolve(const vflow_volume *speed, const vflow_points *pts,
                        double max_snap_mm, bool need_end,
                        vflow_seed_point *start, vflow_seed_point *end,
                        bool *has_end, vflow_error *err)
{
    long is = vflow_points_find(pts, "start");
    long ie = vflow_points_find(pts, "end");
    *has_end = false;
    if (is < 0)
        return vflow_error_set(err, VFLOW_EINVAL,
                               "no point named \"start\" among the %zu seed "
                               "points", pts->count);
    if (ie < 0 && need_end)
        return vflow_error_set(err, VFLOW_EINVAL,
                               "no point named \"end\" among the seed points "
                               "(needed as the target)");
    for (size_t i = 0; i < pts->count; i++)
        if (strcmp(pts->items[i].name, "start") != 0 &&
            strcmp(pts->items[i].name, "end") != 0)
            return vflow_error_set(err, VFLOW_EINVAL,
                                   "seed point \"%s\": this call takes only "
                                   "start and end (waypoints go through "
                                   "vflow_seeds_resolve_chain)",
                                   pts->items[i].name);
    double thr_global = points_global_threshold(speed);
    int rc = seed_resolve_global(speed, &pts->items[is], max_snap_mm,
                                 thr_global, start, err);
    if (rc != 0 || ie < 0)
        return rc;
    rc = seed_resolve_global(speed, &pts->items[ie], max_snap_mm, thr_global,
                             end, err);
    if (rc != 0)
        return rc;
    *has_end = true;
    if (start->voxel == end->voxel)
        return vflow_error_set(err, VFLOW_EINVAL,
                               "start (%.2f, %.2f, %.2f) mm and end (%.2f, "
                               "%.2f, %.2f) mm fall on the same voxel: give "
                               "two distinct points", start->click[0],
                               start->click[1], start->click[2],
                               end->click[0], end->click[1], end->click[2]);
    return 0;
}

/* Rank of a point name in the chain: start 0, waypointN N, end last;
 * -1 for names the chain does not know. */
static long chain_rank(const char *name, size_t n_points)
{
    if (strcmp(name, "start") == 0)
        return 0;
    if (strcmp(name, "end") == 0)
        return (long)n_points;
    char *tail;
    if (strncmp(name, "waypoint", 8) == 0) {
        long w = strtol(name + 8, &tail, 10);
        if (tail != name + 8 && *tail == '\0' && w >= 1)
            return w;
    }
    return -1;
}

static int chain_order(const vflow_points *pts, size_t *order,
                       vflow_error *err)
{
    long *rank = malloc(pts->count * sizeof *rank);
    if (rank == NULL)
        return vflow_error_set(err, VFLOW_ENOMEM, "out of memory");
    for (size_t i = 0; i < pts->count; i++) {
        rank[i] = chain_rank(pts->items[i].name, pts->count);
        if (rank[i] < 0) {
            free(rank);
            return vflow_error_set(err, VFLOW_EINVAL, "seed point \"%s\": "
                                   "expected start, waypoint1..N or end",
                                   pts->items[i].name);
        }
        order[i] = i;
    }
    /* insertion sort by rank; equal ranks (a repeated name) are an error */
    for (size_t i = 1; i < pts->count; i++)
        for (size_t k = i; k > 0 && rank[order[k]] <= rank[order[k - 1]]; k--) {
            if (rank[order[k]] == rank[order[k - 1]]) {
                const char *nm = pts->items[order[k]].name;
                free(rank);
                return vflow_error_set(err, VFLOW_EINVAL, "seed point \"%s\" "
                                       "is given twice", nm);
            }
            size_t t = order[k];
            order[k] = order[k - 1];
            order[k - 1] = t;
        }
    bool ok = pts->count >= 2 && rank[order[0]] == 0 &&
              rank[order[pts->count - 1]] == (long)pts->count;
    free(rank);
    if (!ok)
        return vflow_error_set(err, VFLOW_EINVAL, "the seed points need a "
                               "\"start\" and an \"end\" (got %zu point(s))",
                               pts->count);
    return 0;
}

int vflow_seeds_resolve_chain(const vflow_volume *speed,
                              const vflow_points *pts, double max_snap_mm,
                              vflow_seed_point **chain, size_t *count,
                              vflow_error *err)
{
    *chain = NULL;
    *count = 0;
    size_t *order = malloc((pts->count ? pts->count : 1) * sizeof *order);
    vflow_seed_point *c = calloc(pts->count ? pts->count : 1, sizeof *c);
    if (order == NULL || c == NULL) {
        free(order);
        free(c);
        return vflow_error_set(err, VFLOW_ENOMEM, "out of memory");
    }
    int rc = chain_order(pts, order, err);
    double thr_global = rc == 0 ? points_global_threshold(speed) : NAN;
    for (size_t i = 0; rc == 0 && i < pts->count; i++) {
        rc = seed_resolve_global(speed, &pts->items[order[i]], max_snap_mm,
                                 thr_global, &c[i], err);
        if (rc == 0 && i > 0 && c[i].voxel == c[i - 1].voxel)
            rc = vflow_error_set(err, VFLOW_EINVAL,
                                 "%s (%.2f, %.2f, %.2f) mm and %s (%.2f, "
                                 "%.2f, %.2f) mm fall on the same voxel: give "
                                 "distinct points", c[i - 1].name,
                                 c[i - 1].click[0], c[i - 1].click[1],
                                 c[i - 1].click[2], c[i].name, c[i].click[0],
                                 c[i].click[1], c[i].click[2]);
    }
    free(order);
    if (rc != 0) {
        free(c);
        return rc;
    }
    *chain = c;
    *count = pts->count;
    return 0;
}
