/* SPDX-License-Identifier: BSD-3-Clause */
/* Sub-voxel gradient descent on arrival times with a discrete fallback. */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "backtrack.h"
#include "vflow/volume.h"

typedef struct bt_field {
    const vflow_volume *vol;
    const float *T;
    size_t n[3];
    size_t stride[3];
} bt_field;

typedef struct bt_path {
    double (*xyz)[3];
    size_t count, capacity;
} bt_path;

static int bt_path_push(bt_path *p, const double x[3])
{
    if (p->count == p->capacity) {
        size_t cap = p->capacity ? 2 * p->capacity : 1024;
        double(*grown)[3] = realloc(p->xyz, cap * sizeof *grown);
        if (grown == NULL)
            return VFLOW_ENOMEM;
        p->xyz = grown;
        p->capacity = cap;
    }
    memcpy(p->xyz[p->count++], x, sizeof p->xyz[0]);
    return 0;
}

static double dist3(const double a[3], const double b[3])
{
    double d0 = a[0] - b[0], d1 = a[1] - b[1], d2 = a[2] - b[2];
    return sqrt(d0 * d0 + d1 * d1 + d2 * d2);
}

static inline float bt_at(const bt_field *f, size_t i, size_t j, size_t k)
{
    return f->T[i + f->stride[1] * j + f->stride[2] * k];
}

/* Cell origin and fractions of continuous index c, clamped inside. */
static bool bt_cell(const bt_field *f, const double c[3], size_t i0[3],
                    double fr[3])
{
    for (int a = 0; a < 3; a++) {
        if (!(c[a] >= 0.0 && c[a] <= (double)(f->n[a] - 1)))
            return false;
        double fl = floor(c[a]);
        if (fl >= (double)(f->n[a] - 1))
            fl = f->n[a] >= 2 ? (double)(f->n[a] - 2) : 0.0;
        i0[a] = (size_t)fl;
        fr[a] = c[a] - fl;
    }
    return true;
}

/* Trilinear T at continuous index c; +inf outside or next to +inf. */
static double bt_value(const bt_field *f, const double c[3])
{
    size_t i0[3];
    double fr[3];
    if (!bt_cell(f, c, i0, fr))
        return INFINITY;
    double s = 0.0;
    for (int q = 0; q < 8; q++) {
        size_t ii[3];
        double w = 1.0;
        for (int a = 0; a < 3; a++) {
            int b = (q >> a) & 1;
            ii[a] = i0[a] + (size_t)b;
            if (ii[a] >= f->n[a])
                ii[a] = f->n[a] - 1;
            w *= b ? fr[a] : 1.0 - fr[a];
        }
        if (w == 0.0)
            continue;
        float t = bt_at(f, ii[0], ii[1], ii[2]);
        if (!isfinite(t))
            return INFINITY;
        s += w * t;
    }
    return s;
}

/* Index-space gradient of T at voxel (i,j,k): central differences, one-sided
 * next to +inf or the border; false when no finite difference exists. */
static bool bt_voxel_grad(const bt_field *f, const size_t v[3], double g[3])
{
    float t0 = bt_at(f, v[0], v[1], v[2]);
    if (!isfinite(t0))
        return false;
    for (int a = 0; a < 3; a++) {
        size_t lo[3] = {v[0], v[1], v[2]}, hi[3] = {v[0], v[1], v[2]};
        double tm = INFINITY, tp = INFINITY;
        if (v[a] > 0) {
            lo[a]--;
            tm = bt_at(f, lo[0], lo[1], lo[2]);
        }
        if (v[a] + 1 < f->n[a]) {
            hi[a]++;
            tp = bt_at(f, hi[0], hi[1], hi[2]);
        }
        if (isfinite(tm) && isfinite(tp))
            g[a] = 0.5 * (tp - tm);
        else if (isfinite(tp))
            g[a] = tp - t0;
        else if (isfinite(tm))
            g[a] = t0 - tm;
        else
            return false;
    }
    return true;
}

/*
 * Unit descent direction in world mm at world point x: the index gradient
 * (trilinear blend of the voxel gradients) is pulled back through the
 * affine, grad_x T = A^-T grad_ijk T, so anisotropic and oblique grids get
 * the true metric gradient. False where T is not usable.
 */
static bool bt_direction(const bt_field *f, const double x[3], double d[3])
{
    const vflow_volume *vol = f->vol;
    double c[3], fr[3], gi[3] = {0, 0, 0};
    size_t i0[3];
    vflow_volume_world_to_index(vol, x, c);
    if (!bt_cell(f, c, i0, fr))
        return false;
    for (int q = 0; q < 8; q++) {
        size_t v[3];
        double w = 1.0, g[3];
        for (int a = 0; a < 3; a++) {
            int b = (q >> a) & 1;
            v[a] = i0[a] + (size_t)b;
            if (v[a] >= f->n[a])
                v[a] = f->n[a] - 1;
            w *= b ? fr[a] : 1.0 - fr[a];
        }
        if (w == 0.0)
            continue;
        if (!bt_voxel_grad(f, v, g))
            return false;
        for (int a = 0; a < 3; a++)
            gi[a] += w * g[a];
    }
    double gw[3], norm = 0.0;
    for (int col = 0; col < 3; col++) {
        gw[col] = 0.0;
        for (int r = 0; r < 3; r++)
            gw[col] += vol->inverse[r][col] * gi[r];
        norm += gw[col] * gw[col];
    }
    norm = sqrt(norm);
    if (!(norm > 0.0) || !isfinite(norm))
        return false;
    for (int a = 0; a < 3; a++)
        d[a] = -gw[a] / norm;
    return true;
}

static double bt_value_world(const bt_field *f, const double x[3])
{
    double c[3];
    vflow_volume_world_to_index(f->vol, x, c);
    return bt_value(f, c);
}

/* One Heun (or RK4) step of length h mm from x; false if a stage fails. */
static bool bt_step(const bt_field *f, const double x[3], double h, int method,
                    double out[3])
{
    double k1[3], k2[3], k3[3], k4[3], y[3];
    if (!bt_direction(f, x, k1))
        return false;
    double hh = method == VFLOW_BACKTRACK_RK4 ? 0.5 * h : h;
    for (int a = 0; a < 3; a++)
        y[a] = x[a] + hh * k1[a];
    if (!bt_direction(f, y, k2))
        return false;
    if (method != VFLOW_BACKTRACK_RK4) {
        for (int a = 0; a < 3; a++)
            out[a] = x[a] + 0.5 * h * (k1[a] + k2[a]);
        return true;
    }
    for (int a = 0; a < 3; a++)
        y[a] = x[a] + 0.5 * h * k2[a];
    if (!bt_direction(f, y, k3))
        return false;
    for (int a = 0; a < 3; a++)
        y[a] = x[a] + h * k3[a];
    if (!bt_direction(f, y, k4))
        return false;
    for (int a = 0; a < 3; a++)
        out[a] = x[a] + h / 6.0 * (k1[a] + 2 * k2[a] + 2 * k3[a] + k4[a]);
    return true;
}

/*
 * Discrete steepest descent: from the voxel nearest to x, the 26-neighbour
 * (or that voxel itself) with the largest drop of T per mm below the current
 * value t. False when none is lower: x sits at the minimum of T.
 */
static bool bt_discrete(const bt_field *f, double x[3], double *t)
{
    const vflow_volume *vol = f->vol;
    double c[3];
    vflow_volume_world_to_index(vol, x, c);
    long ci[3];
    for (int a = 0; a < 3; a++) {
        ci[a] = lround(c[a]);
        ci[a] = ci[a] < 0 ? 0 : ci[a] >= (long)f->n[a] ? (long)f->n[a] - 1 : ci[a];
    }
    double best = 0.0, bx[3] = {0, 0, 0}, bt = *t;
    bool found = false;
    for (int dk = -1; dk <= 1; dk++)
        for (int dj = -1; dj <= 1; dj++)
            for (int di = -1; di <= 1; di++) {
                long q[3] = {ci[0] + di, ci[1] + dj, ci[2] + dk};
                if (q[0] < 0 || q[1] < 0 || q[2] < 0 || q[0] >= (long)f->n[0] ||
                    q[1] >= (long)f->n[1] || q[2] >= (long)f->n[2])
                    continue;
                double tv = bt_at(f, (size_t)q[0], (size_t)q[1], (size_t)q[2]);
                if (!(tv < *t))
                    continue;
                double qi[3] = {(double)q[0], (double)q[1], (double)q[2]}, y[3];
                vflow_volume_index_to_world(vol, qi, y);
                double d = dist3(x, y);
                double slope = d > 0.0 ? (*t - tv) / d : INFINITY;
                if (!found || slope > best) {
                    found = true;
                    best = slope;
                    bt = tv;
                    memcpy(bx, y, sizeof bx);
                }
            }
    if (found) {
        memcpy(x, bx, sizeof bx);
        *t = bt;
    }
    return found;
}

/* The descent proper: fills `path` from end towards start. */
static int bt_descend(const bt_field *f, const double start[3],
                      const double end[3], const vflow_backtrack_params *p,
                      bt_path *path, vflow_backtrack_stats *st)
{
    const vflow_volume *vol = f->vol;
    double hmin = fmin(vol->spacing[0], fmin(vol->spacing[1], vol->spacing[2]));
    double h = p->step_vox * hmin;
    double x[3] = {end[0], end[1], end[2]};
    double t = bt_value_world(f, x);
    if (!isfinite(t)) {
        /* the end itself may sit next to +inf: start from its voxel */
        if (!bt_discrete(f, x, &t))
            return VFLOW_EUNREACHABLE;
    }
    if (bt_path_push(path, end) != 0)
        return VFLOW_ENOMEM;
    size_t total = 0;
    while (dist3(x, start) > h) {
        if (++total > p->max_steps)
            return VFLOW_EINTERNAL;
        double y[3];
        double ty = bt_step(f, x, h, p->method, y) ? bt_value_world(f, y)
                                                   : INFINITY;
        if (ty < t) {
            memcpy(x, y, sizeof y);
            t = ty;
            st->steps++;
        } else if (bt_discrete(f, x, &t)) {
            st->fallbacks++;
        } else {
            break; /* at the minimum of T */
        }
        if (bt_path_push(path, x) != 0)
            return VFLOW_ENOMEM;
    }
    st->gap_mm = dist3(x, start);
    return bt_path_push(path, start);
}

static vflow_polyline *bt_polyline(const bt_path *path, vflow_error *err)
{
    vflow_polyline *pl = vflow_polyline_create(path->count, err);
    if (pl == NULL)
        return NULL;
    double *s = vflow_polyline_add_array(pl, "s_mm");
    if (s == NULL) {
        vflow_object_release(&pl->base);
        vflow_error_set(err, VFLOW_ENOMEM, "out of memory");
        return NULL;
    }
    /* reverse: the descent ran end -> start, the centerline reads start -> end */
    for (size_t i = 0; i < path->count; i++) {
        memcpy(pl->xyz[i], path->xyz[path->count - 1 - i], sizeof pl->xyz[i]);
        s[i] = i == 0 ? 0.0 : s[i - 1] + dist3(pl->xyz[i - 1], pl->xyz[i]);
    }
    return pl;
}

int vflow_backtrack_descend(const vflow_volume *T, const double start[3],
                            const double end[3],
                            const vflow_backtrack_params *p,
                            vflow_polyline **out,
                            vflow_backtrack_stats *stats, vflow_error *err)
{
    *out = NULL;
    memset(stats, 0, sizeof *stats);
    if (T->dtype != VFLOW_DTYPE_F32)
        return vflow_error_set(err, VFLOW_EINVAL, "arrival volume must be "
                               "float32, got %s", vflow_dtype_name(T->dtype));
    bt_field f = {.vol = T, .T = T->data};
    for (int a = 0; a < 3; a++)
        f.n[a] = T->dims[a];
    f.stride[0] = 1;
    f.stride[1] = f.n[0];
    f.stride[2] = f.n[0] * f.n[1];
    bt_path path = {0};
    int rc = bt_descend(&f, start, end, p, &path, stats);
    if (rc == 0) {
        *out = bt_polyline(&path, err);
        rc = *out == NULL ? VFLOW_ENOMEM : 0;
    } else if (rc == VFLOW_EUNREACHABLE) {
        vflow_error_set(err, rc, "end point (%.2f, %.2f, %.2f) mm was not "
                        "reached by the front (arrival time is +inf there)",
                        end[0], end[1], end[2]);
    } else if (rc == VFLOW_EINTERNAL) {
        vflow_error_set(err, rc, "backtracking did not reach the start point "
                        "within max_steps = %zu steps", p->max_steps);
    } else {
        vflow_error_set(err, rc, "out of memory while backtracking");
    }
    free(path.xyz);
    return rc;
}
