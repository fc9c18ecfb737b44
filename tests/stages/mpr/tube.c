/* SPDX-License-Identifier: BSD-3-Clause */
/* Synthetic vessel phantoms with analytic truth for the wall-stage tests. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tube.h"
#include "vflow/volume.h"

void tube_spec_default(tube_spec *t)
{
    memset(t, 0, sizeof *t);
    t->shape = TUBE_STRAIGHT;
    t->n = 64;
    t->voxel_mm = 0.4;
    double c = 0.5 * (double)(t->n - 1) * t->voxel_mm;
    t->center[0] = t->center[1] = t->center[2] = c;
    t->dir[2] = 1.0;
    t->bend_mm = 6.0;
    t->radius_mm = 1.5;
    t->wall_mm = 0.7;
    t->lumen_hu = 400.0;
    t->wall_hu = 40.0;
    t->fat_hu = -100.0;
    t->calcium_hu = 900.0;
    t->seed = 1;
}

static double dot(const double a[3], const double b[3])
{
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

static void cross(const double a[3], const double b[3], double c[3])
{
    c[0] = a[1] * b[2] - a[2] * b[1];
    c[1] = a[2] * b[0] - a[0] * b[2];
    c[2] = a[0] * b[1] - a[1] * b[0];
}

/* An orthonormal pair (e1, e2) perpendicular to unit d. */
static void basis(const double d[3], double e1[3], double e2[3])
{
    double a[3] = {1, 0, 0};
    if (fabs(d[0]) > 0.9) {
        a[0] = 0;
        a[1] = 1;
    }
    cross(d, a, e1);
    double n = sqrt(dot(e1, e1));
    for (int k = 0; k < 3; k++)
        e1[k] /= n;
    cross(d, e1, e2);
}

void tube_torus_point(const tube_spec *t, double a, double p[3],
                      double tangent[3])
{
    double e1[3], e2[3];
    basis(t->dir, e1, e2);
    for (int k = 0; k < 3; k++) {
        p[k] = t->center[k] + t->bend_mm * (cos(a) * e1[k] + sin(a) * e2[k]);
        if (tangent != NULL)
            tangent[k] = -sin(a) * e1[k] + cos(a) * e2[k];
    }
}

double tube_axis_distance(const tube_spec *t, const double p[3],
                          double foot[3])
{
    double q[3] = {p[0] - t->center[0], p[1] - t->center[1],
                   p[2] - t->center[2]};
    double f[3];
    if (t->shape == TUBE_STRAIGHT) {
        double s = dot(q, t->dir);
        for (int k = 0; k < 3; k++)
            f[k] = t->center[k] + s * t->dir[k];
    } else {
        double z = dot(q, t->dir), inpl[3];
        for (int k = 0; k < 3; k++)
            inpl[k] = q[k] - z * t->dir[k];
        double rho = sqrt(dot(inpl, inpl));
        for (int k = 0; k < 3; k++)
            f[k] = t->center[k] +
                   (rho > 1e-12 ? inpl[k] * t->bend_mm / rho : 0.0);
    }
    if (foot != NULL)
        memcpy(foot, f, sizeof f);
    double d[3] = {p[0] - f[0], p[1] - f[1], p[2] - f[2]};
    return sqrt(dot(d, d));
}

/* In-cross-section coordinates (x along a fixed normal, y binormal) of p. */
static void local_xy(const tube_spec *t, const double p[3], double *x,
                     double *y)
{
    double f[3], e1[3], e2[3], tang[3], nrm[3];
    tube_axis_distance(t, p, f);
    if (t->shape == TUBE_STRAIGHT) {
        basis(t->dir, e1, e2);
    } else {
        /* Normal: radial (away from the torus centre); binormal: dir. */
        for (int k = 0; k < 3; k++)
            nrm[k] = f[k] - t->center[k];
        double n = sqrt(dot(nrm, nrm));
        for (int k = 0; k < 3; k++)
            e1[k] = n > 0 ? nrm[k] / n : 0;
        memcpy(e2, t->dir, sizeof e2);
        (void)tang;
    }
    double d[3] = {p[0] - f[0], p[1] - f[1], p[2] - f[2]};
    *x = dot(d, e1);
    *y = dot(d, e2);
}

int tube_label(const tube_spec *t, const double p[3])
{
    double x, y;
    local_xy(t, p, &x, &y);
    double a = t->radius_mm;
    double b = t->ellipse_b_mm > 0 ? t->ellipse_b_mm : a;
    double q = (x * x) / (a * a) + (y * y) / (b * b);
    if (q <= 1.0)
        return 1;
    double ro_a = a + t->wall_mm, ro_b = b + t->wall_mm;
    double qo = (x * x) / (ro_a * ro_a) + (y * y) / (ro_b * ro_b);
    if (qo <= 1.0) {
        /* Calcium: the wall sector |angle| < 40 deg on the +x side. */
        if (t->calcium && x > 0 && fabs(atan2(y, x)) < 0.7)
            return 3;
        return 2;
    }
    if (t->sleeve_mm > 0) {
        double rs_a = ro_a + t->sleeve_mm, rs_b = ro_b + t->sleeve_mm;
        if ((x * x) / (rs_a * rs_a) + (y * y) / (rs_b * rs_b) > 1.0)
            return 4;
    }
    return 0;
}

static double level(const tube_spec *t, int label)
{
    switch (label) {
    case 1: return t->lumen_hu;
    case 2: return t->wall_hu;
    case 3: return t->calcium_hu;
    case 4: return t->tissue_hu;
    default: return t->fat_hu;
    }
}

/* Fixed oblique rotation (about (1,2,3)/|.| by 0.5 rad), for oblique
 * affines. */
static void oblique_rotation(double r[3][3])
{
    double k[3] = {1, 2, 3}, n = sqrt(14.0), th = 0.5;
    for (int i = 0; i < 3; i++)
        k[i] /= n;
    double c = cos(th), s = sin(th), v = 1 - c;
    r[0][0] = c + k[0] * k[0] * v;
    r[0][1] = k[0] * k[1] * v - k[2] * s;
    r[0][2] = k[0] * k[2] * v + k[1] * s;
    r[1][0] = k[1] * k[0] * v + k[2] * s;
    r[1][1] = c + k[1] * k[1] * v;
    r[1][2] = k[1] * k[2] * v - k[0] * s;
    r[2][0] = k[2] * k[0] * v - k[1] * s;
    r[2][1] = k[2] * k[1] * v + k[0] * s;
    r[2][2] = c + k[2] * k[2] * v;
}

static void blur_axis(float *d, const size_t dims[3], int axis, double sig)
{
    int rad = (int)ceil(4.0 * sig);
    double *w = malloc((2 * (size_t)rad + 1) * sizeof *w), sum = 0;
    for (int i = -rad; i <= rad; i++)
        sum += w[i + rad] = exp(-0.5 * i * i / (sig * sig));
    for (int i = 0; i <= 2 * rad; i++)
        w[i] /= sum;
    size_t n = dims[axis];
    size_t stride = axis == 0 ? 1 : (axis == 1 ? dims[0] : dims[0] * dims[1]);
    float *line = malloc(n * sizeof *line);
    size_t total = dims[0] * dims[1] * dims[2];
    for (size_t base = 0; base < total; base++) {
        size_t idx[3] = {base % dims[0], (base / dims[0]) % dims[1],
                         base / (dims[0] * dims[1])};
        if (idx[axis] != 0)
            continue;
        for (size_t i = 0; i < n; i++)
            line[i] = d[base + i * stride];
        for (size_t i = 0; i < n; i++) {
            double acc = 0;
            for (int k = -rad; k <= rad; k++) {
                long j = (long)i + k;
                j = j < 0 ? 0 : (j >= (long)n ? (long)n - 1 : j);
                acc += w[k + rad] * line[j];
            }
            d[base + i * stride] = (float)acc;
        }
    }
    free(line);
    free(w);
}

static double gauss_noise(unsigned long long *s)
{
    double u[2];
    for (int i = 0; i < 2; i++) {
        *s = *s * 6364136223846793005ull + 1442695040888963407ull;
        u[i] = ((double)(*s >> 11) + 0.5) / 9007199254740992.0;
    }
    return sqrt(-2.0 * log(u[0])) * cos(2.0 * M_PI * u[1]);
}

vflow_volume *tube_make(const tube_spec *t)
{
    double aff[4][4] = {{0}};
    double r[3][3] = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}};
    if (t->oblique)
        oblique_rotation(r);
    /* Rotation about the volume centre so the tube stays inside. */
    double c = 0.5 * (double)(t->n - 1) * t->voxel_mm;
    for (int i = 0; i < 3; i++) {
        for (int j = 0; j < 3; j++)
            aff[i][j] = r[i][j] * t->voxel_mm;
        aff[i][3] = c - (r[i][0] + r[i][1] + r[i][2]) * c;
    }
    aff[3][3] = 1;
    size_t dims[3] = {t->n, t->n, t->n};
    vflow_volume *v = vflow_volume_create(dims, VFLOW_DTYPE_F32, aff, NULL);
    if (v == NULL)
        return NULL;
    v->modality = VFLOW_MODALITY_CT;
    float *d = v->data;
    const int ss = 4;
    for (size_t k = 0; k < t->n; k++)
        for (size_t j = 0; j < t->n; j++)
            for (size_t i = 0; i < t->n; i++) {
                double ijk[3] = {(double)i, (double)j, (double)k}, p[3];
                vflow_volume_index_to_world(v, ijk, p);
                double dist = tube_axis_distance(t, p, NULL);
                double reach = fmax(t->radius_mm, t->ellipse_b_mm) +
                               t->wall_mm + t->voxel_mm;
                /* Sleeve end: between the minor and major semi-axis
                 * plus wall and sleeve; supersampled in between. */
                double b = t->ellipse_b_mm > 0 ? t->ellipse_b_mm
                                               : t->radius_mm;
                double s_in = fmin(t->radius_mm, b) + t->wall_mm +
                              t->sleeve_mm - t->voxel_mm;
                double s_out = reach + t->sleeve_mm;
                double acc = 0;
                if (t->sleeve_mm > 0 && dist > s_out) {
                    acc = t->tissue_hu;
                } else if (dist > reach &&
                           (t->sleeve_mm <= 0 || dist < s_in)) {
                    acc = t->fat_hu;
                } else {
                    for (int a = 0; a < ss; a++)
                        for (int b = 0; b < ss; b++)
                            for (int e = 0; e < ss; e++) {
                                double q[3] = {i + (a + 0.5) / ss - 0.5,
                                               j + (b + 0.5) / ss - 0.5,
                                               k + (e + 0.5) / ss - 0.5};
                                vflow_volume_index_to_world(v, q, p);
                                acc += level(t, tube_label(t, p));
                            }
                    acc /= ss * ss * ss;
                }
                d[i + t->n * (j + t->n * k)] = (float)acc;
            }
    if (t->blur_mm > 0)
        for (int a = 0; a < 3; a++)
            blur_axis(d, dims, a, t->blur_mm / t->voxel_mm);
    tube_add_noise(v, t->noise_hu, t->seed);
    return v;
}

void tube_add_noise(vflow_volume *v, double noise_hu, unsigned seed)
{
    if (!(noise_hu > 0))
        return;
    float *d = v->data;
    size_t n = v->dims[0] * v->dims[1] * v->dims[2];
    unsigned long long s = 0x9E3779B97F4A7C15ull ^ seed;
    for (size_t i = 0; i < n; i++)
        d[i] += (float)(noise_hu * gauss_noise(&s));
}

vflow_polyline *tube_axis_polyline(const tube_spec *t, double s0, double s1,
                                   size_t n, bool tangents, double offset_mm)
{
    vflow_polyline *pl = vflow_polyline_create(n, NULL);
    if (pl == NULL)
        return NULL;
    double *tx = NULL, *ty = NULL, *tz = NULL;
    if (tangents) {
        tx = vflow_polyline_add_array(pl, "tangent_x");
        ty = vflow_polyline_add_array(pl, "tangent_y");
        tz = vflow_polyline_add_array(pl, "tangent_z");
    }
    double e1[3], e2[3];
    basis(t->dir, e1, e2);
    for (size_t i = 0; i < n; i++) {
        double u = s0 + (s1 - s0) * (double)i / (double)(n - 1), tg[3];
        if (t->shape == TUBE_STRAIGHT) {
            for (int k = 0; k < 3; k++) {
                pl->xyz[i][k] = t->center[k] + u * t->dir[k];
                tg[k] = t->dir[k];
            }
        } else {
            tube_torus_point(t, u, pl->xyz[i], tg);
        }
        for (int k = 0; k < 3; k++)
            pl->xyz[i][k] += offset_mm * (t->shape == TUBE_STRAIGHT ? e1[k]
                                                                    : t->dir[k]);
        if (tangents) {
            tx[i] = tg[0];
            ty[i] = tg[1];
            tz[i] = tg[2];
        }
    }
    return pl;
}
