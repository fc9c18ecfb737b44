/* SPDX-License-Identifier: BSD-3-Clause */
/* Coronary CTA phantom generator: geometry, partial-volume rendering, PSF, noise, truth. */
#include "phantom.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "vflow/volume.h"

#define DEG (M_PI / 180.0)
/* Lead-in of the target curve inside the chamber, so the lumen merges with
 * the chamber without a seam at the ostium. */
#define LEAD_IN_MM 2.0
#define CURVE_DS 0.05
#define STATION_DS 0.1
#define N_ANGLES 72

const char *const vflow_phantom_presets[] = {"easy",      "lad",     "stenosis",
                                             "calcified", "kissing", "tortuous",
                                             NULL};

/* ------------------------------------------------------------- presets */

static void preset_base(vflow_phantom_params *p)
{
    memset(p, 0, sizeof *p);
    p->seed = 1;
    for (int a = 0; a < 3; a++) {
        p->dims[a] = 96;
        p->spacing[a] = 0.5;
    }
    p->supersample = 5;
    p->psf_sigma_mm = 0.5;
    p->noise_hu = 20.0;
    p->length_mm = 50.0;
    p->r_prox_mm = 2.0;
    p->r_dist_mm = 1.0;
    p->wall_prox_mm = 0.8;
    p->wall_dist_mm = 0.5;
    /* A LAD-like course: three bends with torsion, radii of curvature
     * 9-12 mm, as the artery follows the interventricular groove. */
    const vflow_curve_bend lad[] = {{4, 16, 1.0 / 12, 0.03, 2},
                                    {18, 30, -1.0 / 9, -0.04, 2},
                                    {32, 46, 1.0 / 10, 0.05, 2}};
    memcpy(p->bends, lad, sizeof lad);
    p->n_bends = 3;
    p->branch = true;
    p->branch_s_mm = 12.0;
    p->branch_takeoff_deg = 50.0;
    p->branch_azimuth_deg = 90.0;
    p->branch_radius_mm = 1.0;
    p->branch_length_mm = 14.0;
    p->distractor = true;
    p->distractor_s_mm = 36.0;
    p->distractor_gap_mm = 1.5;
    p->distractor_radius_mm = 1.2;
    p->distractor_azimuth_deg = 0.0;
    /* A block large enough to survive the PSF: a 0.6 mm slab would blur
     * down to lumen intensities (~470 HU peak at sigma 0.5 mm). */
    p->calcium_hu = 950.0;
    p->calcium_gap_mm = 0.1;
    p->calcium_thickness_mm = 1.2;
    p->calcium_arc_deg = 100.0;
    p->chamber_radius_mm = 10.0;
    p->fat_sleeve_mm = 2.5;
    p->lumen_hu = 400.0;
    p->lumen_hu_distal = 350.0;
    p->chamber_hu = 400.0;
    p->wall_hu = 60.0;
    p->plaque_hu = 40.0;
    p->fat_hu = -100.0;
    p->myocardium_hu = 100.0;
    p->start_s_mm = 1.5;
    p->end_before_mm = 2.0;
}

static void add_lesion(vflow_phantom_params *p, vflow_phantom_lesion_kind k,
                       double s, double len, double pct, double angle)
{
    if (p->n_lesions < VFLOW_PHANTOM_MAX_LESIONS)
        p->lesions[p->n_lesions++] =
            (vflow_phantom_lesion){k, s, len, pct, angle};
}

int vflow_phantom_preset(const char *name, vflow_phantom_params *p,
                         vflow_error *err)
{
    preset_base(p);
    if (!name)
        name = "lad";
    snprintf(p->preset, sizeof p->preset, "%s", name);
    if (strcmp(name, "easy") == 0) {
        const vflow_curve_bend b[] = {{5, 35, 1.0 / 30, 0.01, 4}};
        memcpy(p->bends, b, sizeof b);
        p->n_bends = 1;
        p->length_mm = 40.0;
        p->r_dist_mm = 1.4;
        p->branch = false;
        p->distractor = false;
        p->noise_hu = 10.0;
        p->psf_sigma_mm = 0.4;
    } else if (strcmp(name, "lad") == 0) {
        add_lesion(p, VFLOW_LESION_CONCENTRIC, 24.0, 6.0, 40.0, 0.0);
    } else if (strcmp(name, "stenosis") == 0) {
        add_lesion(p, VFLOW_LESION_CONCENTRIC, 20.0, 6.0, 50.0, 0.0);
        add_lesion(p, VFLOW_LESION_ECCENTRIC, 28.0, 7.0, 60.0, 90.0);
        p->distractor_s_mm = 40.0;
    } else if (strcmp(name, "calcified") == 0) {
        add_lesion(p, VFLOW_LESION_ECCENTRIC, 24.0, 8.0, 40.0, 0.0);
        p->calcium = true;
        p->calcium_s_mm = 24.0;
        p->calcium_length_mm = 5.0;
        p->calcium_angle_deg = 0.0;
        p->noise_hu = 25.0;
    } else if (strcmp(name, "kissing") == 0) {
        add_lesion(p, VFLOW_LESION_CONCENTRIC, 20.0, 6.0, 30.0, 0.0);
        p->distractor_gap_mm = 1.0;
        p->distractor_radius_mm = 1.4;
    } else if (strcmp(name, "tortuous") == 0) {
        /* Quarter turns at 5-6 mm radius of curvature, alternating, with
         * torsion: the tightest bends coronaries show. */
        const vflow_curve_bend b[] = {{4, 13, 1.0 / 6, 0.08, 1.5},
                                      {15, 23, -1.0 / 5, 0.10, 1.5},
                                      {25, 34, 1.0 / 5, -0.10, 1.5},
                                      {36, 45, -1.0 / 6, 0.08, 1.5},
                                      {47, 53, 1.0 / 8, 0.0, 1.5}};
        memcpy(p->bends, b, sizeof b);
        p->n_bends = 5;
        p->length_mm = 55.0;
        p->psf_sigma_mm = 0.6;
        p->branch_s_mm = 14.0;
        p->distractor_s_mm = 40.0;
    } else {
        return vflow_error_set(err, VFLOW_EINVAL,
                               "unknown preset '%s' (expected easy, lad, "
                               "stenosis, calcified, kissing or tortuous)",
                               name);
    }
    return 0;
}

/* ------------------------------------------------------ vessel profile */

static double clamp01(double x) { return x < 0 ? 0 : (x > 1 ? 1 : x); }

double vflow_phantom_r0(const vflow_phantom_params *p, double s)
{
    double f = clamp01(s / p->length_mm);
    return p->r_prox_mm + (p->r_dist_mm - p->r_prox_mm) * f;
}

static double wall_thickness(const vflow_phantom_params *p, double s)
{
    double f = clamp01(s / p->length_mm);
    return p->wall_prox_mm + (p->wall_dist_mm - p->wall_prox_mm) * f;
}

/* Raised-cosine lesion profile: 1 at the centre, 0 beyond length/2. */
static double lesion_weight(const vflow_phantom_lesion *l, double s)
{
    double x = (s - l->s_mm) / (0.5 * l->length_mm);
    if (fabs(x) >= 1)
        return 0.0;
    return 0.5 * (1.0 + cos(M_PI * x));
}

static double lumen_radius_p(const vflow_phantom_params *p, double s)
{
    double r = vflow_phantom_r0(p, s);
    double f = 1.0;
    for (size_t i = 0; i < p->n_lesions; i++)
        f *= 1.0 - 0.01 * p->lesions[i].stenosis_pct *
                       lesion_weight(&p->lesions[i], s);
    return r * f;
}

/* Outer-circle centre offset in the frame (du, dv), mm. */
static void outer_offset_uv(const vflow_phantom_params *p, double s,
                            double *du, double *dv)
{
    *du = 0;
    *dv = 0;
    for (size_t i = 0; i < p->n_lesions; i++) {
        const vflow_phantom_lesion *l = &p->lesions[i];
        if (l->kind != VFLOW_LESION_ECCENTRIC)
            continue;
        double e = vflow_phantom_r0(p, s) * 0.01 * l->stenosis_pct *
                   lesion_weight(l, s);
        *du += e * cos(l->angle_deg * DEG);
        *dv += e * sin(l->angle_deg * DEG);
    }
}

static double outer_radius_p(const vflow_phantom_params *p, double s)
{
    return vflow_phantom_r0(p, s) + wall_thickness(p, s);
}

double vflow_phantom_lumen_radius(const vflow_phantom *ph, double s)
{
    return lumen_radius_p(&ph->params, s);
}

/* Distance from the circle-offset centre along direction theta: the ray
 * x = t*(cos th, sin th) leaves the circle |x - e| = R at
 * t = e.d + sqrt(R^2 - |e|^2 + (e.d)^2). */
static double ray_circle(double eu, double ev, double R, double th)
{
    double ed = eu * cos(th) + ev * sin(th);
    double disc = R * R - (eu * eu + ev * ev) + ed * ed;
    return ed + sqrt(disc > 0 ? disc : 0);
}

double vflow_phantom_outer_radius_at(const vflow_phantom *ph, double s,
                                     double theta)
{
    double du, dv;
    outer_offset_uv(&ph->params, s, &du, &dv);
    return ray_circle(du, dv, outer_radius_p(&ph->params, s), theta);
}

/* ------------------------------------------------------------- scene */

typedef struct scene {
    const vflow_phantom *ph;
    const vflow_phantom_params *p;
    vflow_curve_index target_ix, branch_ix, distractor_ix;
    bool has_branch, has_distractor;
    double chamber_r;
    double branch_hu, distractor_hu;
} scene;

/* What a point is made of, for intensities and labels. */
typedef struct sample {
    float hu;
    unsigned char lumen;    /* target lumen (label 1) */
    unsigned char vessel;   /* target lumen or wall (labels 1|2) */
    double margin;          /* mm to the nearest vessel interface */
    double soft_margin;     /* mm to the nearest tissue interface (fat,
                               myocardium, chamber) */
} sample;

/* Nearest samples found for the voxel centre, reused for its sub-samples
 * (target, branch, distractor); SIZE_MAX: no hint (full grid query). */
typedef struct hints {
    size_t seg[3];
} hints;

static int nearest(const vflow_curve_index *ix, const double x[3],
                   hints *hs, int which, bool use, vflow_curve_hit *h)
{
    if (use && hs->seg[which] != SIZE_MAX)
        return vflow_curve_nearest_hint(ix, x, hs->seg[which], h);
    int r = vflow_curve_nearest(ix, x, h);
    if (!use)
        hs->seg[which] = r ? h->seg : SIZE_MAX;
    return r;
}

static double dot3(const double a[3], const double b[3])
{
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

static double dist3(const double a[3], const double b[3])
{
    double d[3] = {a[0] - b[0], a[1] - b[1], a[2] - b[2]};
    return sqrt(dot3(d, d));
}

/* Geometry of the target around x (nearest centreline point and frame). */
typedef struct target_geom {
    int near;             /* within the index reach */
    double s, d;          /* arc length, distance to the centreline */
    double w[3];          /* x - nearest point */
    double wu, wv;        /* in-frame coordinates of w */
    double rl, ro, r0;    /* lumen, outer, healthy radius */
    double ou, ov;        /* outer centre offset in frame */
} target_geom;

static void target_at(const scene *sc, const double x[3], hints *hs,
                      bool use, target_geom *g)
{
    vflow_curve_hit h;
    g->near = nearest(&sc->target_ix, x, hs, 0, use, &h);
    if (!g->near)
        return;
    const vflow_curve *c = &sc->ph->target;
    double u[3], v[3];
    vflow_curve_at(c, h.s, NULL, NULL, u, v);
    g->s = h.s;
    g->d = h.dist;
    for (int a = 0; a < 3; a++)
        g->w[a] = x[a] - h.q[a];
    g->wu = dot3(g->w, u);
    g->wv = dot3(g->w, v);
    double sp = h.s < 0 ? 0 : h.s;
    g->rl = lumen_radius_p(sc->p, sp);
    g->ro = outer_radius_p(sc->p, sp);
    g->r0 = vflow_phantom_r0(sc->p, sp);
    outer_offset_uv(sc->p, sp, &g->ou, &g->ov);
}

static double target_outer_dist(const target_geom *g)
{
    double du = g->wu - g->ou, dv = g->wv - g->ov;
    /* Along-tangent part (distal cap) counts fully. */
    double along2 = g->d * g->d - g->wu * g->wu - g->wv * g->wv;
    return sqrt(du * du + dv * dv + (along2 > 0 ? along2 : 0));
}

static bool in_calcium(const vflow_phantom_params *p, const target_geom *g)
{
    if (!p->calcium || fabs(g->s - p->calcium_s_mm) > 0.5 * p->calcium_length_mm)
        return false;
    double th = atan2(g->wv, g->wu);
    double dth = remainder(th - p->calcium_angle_deg * DEG, 2 * M_PI);
    if (fabs(dth) > 0.5 * p->calcium_arc_deg * DEG)
        return false;
    double r_in = g->rl + p->calcium_gap_mm;
    return g->d >= r_in && g->d <= r_in + p->calcium_thickness_mm &&
           target_outer_dist(g) < g->ro - 0.1;
}

static void scene_eval(const scene *sc, const double x[3], hints *hs,
                       bool use_hints, sample *out)
{
    const vflow_phantom_params *p = sc->p;
    const vflow_phantom *ph = sc->ph;
    double m = DBL_MAX, soft;
    out->lumen = out->vessel = 0;

    double dch = dist3(x, ph->chamber_center) - sc->chamber_r;
    double dmyo = (x[0] - ph->myo_point[0]) * ph->myo_normal[0] +
                  (x[1] - ph->myo_point[1]) * ph->myo_normal[1] +
                  (x[2] - ph->myo_point[2]) * ph->myo_normal[2];
    soft = fmin(fabs(dch), fabs(dmyo));

    target_geom g;
    target_at(sc, x, hs, use_hints, &g);
    bool t_lumen = false, t_vessel = false, t_calc = false, t_plaque = false;
    bool sleeve = false;
    if (g.near) {
        double od = target_outer_dist(&g);
        t_lumen = g.d < g.rl;
        t_vessel = od < g.ro;
        sleeve = od < g.ro + p->fat_sleeve_mm;
        t_calc = t_vessel && !t_lumen && in_calcium(p, &g);
        double pd = sqrt((g.wu - g.ou) * (g.wu - g.ou) +
                         (g.wv - g.ov) * (g.wv - g.ov));
        t_plaque = pd < g.r0;
        m = fmin(m, fabs(g.d - g.rl));
        m = fmin(m, fabs(od - g.ro));
        soft = fmin(soft, fabs(od - g.ro - p->fat_sleeve_mm));
        m = fmin(m, fabs(pd - g.r0));
        if (p->calcium &&
            fabs(g.s - p->calcium_s_mm) < 0.5 * p->calcium_length_mm + 1.0 &&
            od < g.ro + 1.0)
            m = 0;
    }
    bool o_lumen = false, o_wall = false;
    double other_hu = p->lumen_hu;
    const vflow_curve_index *ixs[2] = {&sc->branch_ix, &sc->distractor_ix};
    const bool has[2] = {sc->has_branch, sc->has_distractor};
    const double rr[2] = {ph->branch_r_mm, ph->distractor_r_mm};
    const double ww[2] = {ph->branch_wall_mm, ph->distractor_wall_mm};
    const double hu[2] = {sc->branch_hu, sc->distractor_hu};
    for (int k = 0; k < 2; k++) {
        vflow_curve_hit h;
        if (!has[k] || !nearest(ixs[k], x, hs, k + 1, use_hints, &h))
            continue;
        if (h.dist < rr[k]) {
            o_lumen = true;
            other_hu = hu[k];
        }
        o_wall |= h.dist < rr[k] + ww[k];
        sleeve |= h.dist < rr[k] + ww[k] + p->fat_sleeve_mm;
        m = fmin(m, fabs(h.dist - rr[k]));
        m = fmin(m, fabs(h.dist - rr[k] - ww[k]));
        soft = fmin(soft, fabs(h.dist - rr[k] - ww[k] - p->fat_sleeve_mm));
    }

    /* The target exists from the ostium (s = 0) on; its lead-in belongs to
     * the chamber. */
    bool in_ch = dch < 0;
    bool t_ok = g.near && !in_ch;
    bool t_lab = t_ok && g.s >= 0;
    if (in_ch)
        out->hu = (float)p->chamber_hu;
    else if (t_ok && t_lumen)
        out->hu = (float)(p->lumen_hu + (p->lumen_hu_distal - p->lumen_hu) *
                                            clamp01(g.s / p->length_mm));
    else if (o_lumen)
        out->hu = (float)other_hu;
    else if (t_ok && t_calc)
        out->hu = (float)p->calcium_hu;
    else if (t_ok && t_vessel)
        out->hu = (float)(t_plaque ? p->plaque_hu : p->wall_hu);
    else if (o_wall || (g.near && t_vessel))
        out->hu = (float)p->wall_hu;
    else if (sleeve || dmyo >= 0)
        out->hu = (float)p->fat_hu;
    else
        out->hu = (float)p->myocardium_hu;
    out->lumen = t_lab && t_lumen;
    out->vessel = t_lab && (t_lumen || (t_vessel && !o_lumen));
    /* The chamber meets the target lumen at the ostium: a vessel interface. */
    out->margin = fmin(m, fabs(dch));
    out->soft_margin = soft;
}

bool vflow_phantom_in_lumen(const vflow_phantom *ph, const double x[3])
{
    vflow_curve_hit h;
    vflow_curve_nearest_brute(&ph->target, x, &h);
    if (h.s < 0 || dist3(x, ph->chamber_center) < ph->params.chamber_radius_mm)
        return false;
    return h.dist < lumen_radius_p(&ph->params, h.s);
}

bool vflow_phantom_in_vessel(const vflow_phantom *ph, const double x[3])
{
    vflow_curve_hit h;
    vflow_curve_nearest_brute(&ph->target, x, &h);
    if (h.s < 0 || dist3(x, ph->chamber_center) < ph->params.chamber_radius_mm)
        return false;
    double u[3], v[3], w[3];
    vflow_curve_at(&ph->target, h.s, NULL, NULL, u, v);
    for (int a = 0; a < 3; a++)
        w[a] = x[a] - h.q[a];
    target_geom g = {.near = 1, .d = h.dist, .wu = dot3(w, u), .wv = dot3(w, v)};
    outer_offset_uv(&ph->params, h.s, &g.ou, &g.ov);
    return target_outer_dist(&g) < outer_radius_p(&ph->params, h.s);
}

/* ----------------------------------------------------------- geometry */

static void frame_dir(const vflow_curve *c, double s, double az_deg,
                      double out[3])
{
    double u[3], v[3];
    vflow_curve_at(c, s, NULL, NULL, u, v);
    for (int a = 0; a < 3; a++)
        out[a] = cos(az_deg * DEG) * u[a] + sin(az_deg * DEG) * v[a];
}

/* Resamples a polyline at uniform arc-length step ds into a curve. */
static int curve_from_polyline(vflow_curve *c, double (*pts)[3], size_t n,
                               double ds, const double u0[3], vflow_error *err)
{
    double *acc = malloc(n * sizeof *acc);
    if (!acc)
        return vflow_error_set(err, VFLOW_ENOMEM, "out of memory (polyline)");
    acc[0] = 0;
    for (size_t i = 1; i < n; i++)
        acc[i] = acc[i - 1] + dist3(pts[i], pts[i - 1]);
    size_t m = (size_t)floor(acc[n - 1] / ds) + 1;
    int rc = vflow_curve_alloc(c, m, err);
    if (rc) {
        free(acc);
        return rc;
    }
    size_t j = 0;
    for (size_t k = 0; k < m; k++) {
        double s = (double)k * ds;
        while (j + 2 < n && acc[j + 1] < s)
            j++;
        double len = acc[j + 1] - acc[j];
        double f = len > 0 ? (s - acc[j]) / len : 0;
        f = f < 0 ? 0 : (f > 1 ? 1 : f);
        for (int a = 0; a < 3; a++)
            c->p[k][a] = (1 - f) * pts[j][a] + f * pts[j + 1][a];
    }
    free(acc);
    vflow_curve_finish_from_points(c, 0.0, u0);
    return 0;
}

static int build_branch(vflow_phantom *ph, vflow_error *err)
{
    const vflow_phantom_params *p = &ph->params;
    double q[3], t[3], d[3], t0[3], n0[3];
    vflow_curve_at(&ph->target, p->branch_s_mm, q, t, NULL, NULL);
    frame_dir(&ph->target, p->branch_s_mm, p->branch_azimuth_deg, d);
    double a = p->branch_takeoff_deg * DEG;
    for (int k = 0; k < 3; k++) {
        t0[k] = cos(a) * t[k] + sin(a) * d[k];
        n0[k] = -sin(a) * t[k] + cos(a) * d[k];
    }
    /* A gentle bend back towards the main direction, as diagonals do. */
    vflow_curve_bend b = {2.0, p->branch_length_mm, -1.0 / 25, 0.0, 2.0};
    ph->branch_r_mm = p->branch_radius_mm;
    ph->branch_wall_mm = 0.5;
    return vflow_curve_integrate(&ph->branch, q, t0, n0, &b, 1, 0.0,
                                 p->branch_length_mm, CURVE_DS, err);
}

/* Smallest outer-wall-to-outer-wall gap between the distractor and the
 * target, and whether it keeps clear of the chamber and the branch. */
static double distractor_gap(const vflow_phantom *ph, const vflow_curve *dc,
                             bool *clear)
{
    const vflow_phantom_params *p = &ph->params;
    double best = DBL_MAX;
    *clear = true;
    double rd = ph->distractor_r_mm + ph->distractor_wall_mm;
    for (size_t i = 0; i < dc->n; i += 2) {
        vflow_curve_hit h;
        vflow_curve_nearest_brute(&ph->target, dc->p[i], &h);
        double u[3], v[3], w[3];
        vflow_curve_at(&ph->target, h.s, NULL, NULL, u, v);
        for (int a = 0; a < 3; a++)
            w[a] = dc->p[i][a] - h.q[a];
        double sp = h.s < 0 ? 0 : h.s;
        target_geom g = {.near = 1, .d = h.dist, .wu = dot3(w, u),
                         .wv = dot3(w, v)};
        outer_offset_uv(p, sp, &g.ou, &g.ov);
        best = fmin(best, target_outer_dist(&g) - outer_radius_p(p, sp) - rd);
        if (dist3(dc->p[i], ph->chamber_center) < p->chamber_radius_mm + rd + 2)
            *clear = false;
        if (p->branch) {
            vflow_curve_nearest_brute(&ph->branch, dc->p[i], &h);
            if (h.dist < ph->branch_r_mm + ph->branch_wall_mm + rd + 1.0)
                *clear = false;
        }
    }
    return best;
}

/*
 * The distractor: a straight vessel crossing the target's course at 20
 * degrees, its axis passing at the requested outer-wall gap at arc length
 * distractor_s_mm, on the convex side of the bend rotated by `az` degrees
 * about the tangent (so the target curves away from it on both sides): a
 * short "kissing" contact that a minimal path may shortcut through.
 */
static int build_distractor_at(const vflow_phantom *ph, double az,
                               double extra, vflow_curve *dc, vflow_error *err)
{
    const vflow_phantom_params *p = &ph->params;
    const double half = 20.0, step = 0.1, cross = 20.0 * DEG;
    double sd = p->distractor_s_mm;
    double d0 = outer_radius_p(p, sd) + p->distractor_gap_mm +
                ph->distractor_r_mm + ph->distractor_wall_mm + extra;
    double q[3], t[3], u[3], v[3], ta[3], tb[3], nrm[3], dir[3], e[3];
    vflow_curve_at(&ph->target, sd, q, t, u, v);
    vflow_curve_at(&ph->target, sd - 1.0, NULL, ta, NULL, NULL);
    vflow_curve_at(&ph->target, sd + 1.0, NULL, tb, NULL, NULL);
    for (int a = 0; a < 3; a++)
        nrm[a] = tb[a] - ta[a];
    double pr = dot3(nrm, t);
    for (int a = 0; a < 3; a++)
        nrm[a] -= pr * t[a];
    double nl = sqrt(dot3(nrm, nrm));
    /* Convex side = minus the principal normal (u if straight there). */
    double cu = nl > 1e-6 ? -dot3(nrm, u) / nl : 1.0;
    double cv = nl > 1e-6 ? -dot3(nrm, v) / nl : 0.0;
    double base = atan2(cv, cu);
    for (int a = 0; a < 3; a++)
        dir[a] = cos(base + az * DEG) * u[a] + sin(base + az * DEG) * v[a];
    e[0] = t[1] * dir[2] - t[2] * dir[1];
    e[1] = t[2] * dir[0] - t[0] * dir[2];
    e[2] = t[0] * dir[1] - t[1] * dir[0];
    size_t n = (size_t)(2 * half / step) + 1;
    double(*pts)[3] = malloc(n * sizeof *pts);
    if (!pts)
        return vflow_error_set(err, VFLOW_ENOMEM, "out of memory (distractor)");
    for (size_t i = 0; i < n; i++) {
        double w = -half + (double)i * step;
        for (int a = 0; a < 3; a++)
            pts[i][a] = q[a] + d0 * dir[a] +
                        w * (cos(cross) * t[a] + sin(cross) * e[a]);
    }
    int rc = curve_from_polyline(dc, pts, n, CURVE_DS, dir, err);
    free(pts);
    return rc;
}

static int build_distractor(vflow_phantom *ph, vflow_error *err)
{
    const vflow_phantom_params *p = &ph->params;
    ph->distractor_r_mm = p->distractor_radius_mm;
    ph->distractor_wall_mm = 0.6;
    double best_gap = -DBL_MAX;
    int best_k = -1;
    /* Try four sides; keep the first that meets the requested gap and stays
     * clear of chamber and branch, else the one with the largest gap. */
    for (int k = 0; k < 4; k++) {
        vflow_curve dc;
        int rc = build_distractor_at(ph, p->distractor_azimuth_deg + 90.0 * k,
                                     0.0, &dc, err);
        if (rc)
            return rc;
        bool clear;
        double gap = distractor_gap(ph, &dc, &clear);
        vflow_curve_free(&dc);
        double score = clear ? gap : gap - 100.0;
        if (score > best_gap) {
            best_gap = score;
            best_k = k;
        }
        if (clear && gap >= p->distractor_gap_mm - 0.05)
            break;
    }
    /* The offset curve of a bent target comes closer on the concave side
     * than the offset itself: correct the offset by the measured shortfall
     * (twice; the gap is reported as measured). */
    double az = p->distractor_azimuth_deg + 90.0 * best_k, extra = 0.0;
    for (int it = 0; it < 3; it++) {
        vflow_curve_free(&ph->distractor);
        int rc = build_distractor_at(ph, az, extra, &ph->distractor, err);
        if (rc)
            return rc;
        bool clear;
        ph->measured_gap_mm = distractor_gap(ph, &ph->distractor, &clear);
        extra += p->distractor_gap_mm - ph->measured_gap_mm;
    }
    return 0;
}

/* Myocardium: the half-space on the concave side of the course, its
 * boundary plane 1 mm below the centroid (the fat sleeves carve grooves). */
static void build_myocardium(vflow_phantom *ph)
{
    const vflow_curve *c = &ph->target;
    double g[3] = {0, 0, 0}, mid[3], chord[3];
    size_t cnt = 0;
    for (size_t i = 0; i < c->n; i++) {
        if (c->s[i] < 0)
            continue;
        for (int a = 0; a < 3; a++)
            g[a] += c->p[i][a];
        cnt++;
    }
    for (int a = 0; a < 3; a++) {
        g[a] /= (double)cnt;
        mid[a] = 0.5 * (c->p[0][a] + c->p[c->n - 1][a]);
        chord[a] = c->p[c->n - 1][a] - c->p[0][a];
    }
    double n[3] = {g[0] - mid[0], g[1] - mid[1], g[2] - mid[2]};
    double cl2 = dot3(chord, chord);
    double pr = cl2 > 0 ? dot3(n, chord) / cl2 : 0;
    for (int a = 0; a < 3; a++)
        n[a] -= pr * chord[a];
    double nl = sqrt(dot3(n, n));
    if (nl < 1e-6) {
        double e[3] = {0, 0, 1};
        memcpy(n, e, sizeof e);
        nl = 1;
    }
    for (int a = 0; a < 3; a++) {
        ph->myo_normal[a] = n[a] / nl;
        ph->myo_point[a] = g[a] - 1.0 * ph->myo_normal[a];
    }
}

/* Grid centred on the vessel's bounding box taken along the grid axes (so
 * an oblique grid still fits the vessel best); affine = R * diag(spacing). */
static int build_grid(vflow_phantom *ph, vflow_error *err)
{
    const vflow_phantom_params *p = &ph->params;
    double an = p->oblique_deg * DEG;
    double rz[3][3] = {{cos(an), -sin(an), 0}, {sin(an), cos(an), 0}, {0, 0, 1}};
    double rx[3][3] = {{1, 0, 0}, {0, cos(an), -sin(an)}, {0, sin(an), cos(an)}};
    double r[3][3];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            r[i][j] = 0;
            for (int k = 0; k < 3; k++)
                r[i][j] += rx[i][k] * rz[k][j];
        }
    double lo[3] = {DBL_MAX, DBL_MAX, DBL_MAX}, hi[3] = {-DBL_MAX, -DBL_MAX,
                                                          -DBL_MAX};
    for (size_t i = 0; i < ph->target.n; i++)
        for (int a = 0; a < 3; a++) {
            /* Coordinate along grid axis a: column a of R dotted with p. */
            double q = r[0][a] * ph->target.p[i][0] +
                       r[1][a] * ph->target.p[i][1] +
                       r[2][a] * ph->target.p[i][2];
            lo[a] = fmin(lo[a], q);
            hi[a] = fmax(hi[a], q);
        }
    double ctr[3];
    for (int i = 0; i < 3; i++) {
        ctr[i] = 0;
        for (int a = 0; a < 3; a++)
            ctr[i] += r[i][a] * 0.5 * (lo[a] + hi[a]);
    }
    double aff[4][4] = {{0}};
    for (int i = 0; i < 3; i++) {
        for (int j = 0; j < 3; j++)
            aff[i][j] = r[i][j] * p->spacing[j];
        aff[i][3] = ctr[i];
        for (int j = 0; j < 3; j++)
            aff[i][3] -= aff[i][j] * 0.5 * (double)(p->dims[j] - 1);
    }
    aff[3][3] = 1;
    ph->image = vflow_volume_create(p->dims, VFLOW_DTYPE_I16, aff, err);
    if (!ph->image)
        return err ? err->code : VFLOW_ENOMEM;
    ph->image->modality = VFLOW_MODALITY_CT;
    ph->labels = vflow_volume_create(p->dims, VFLOW_DTYPE_U8, aff, err);
    if (!ph->labels)
        return err ? err->code : VFLOW_ENOMEM;
    return 0;
}

static int check_params(const vflow_phantom_params *p, vflow_error *err)
{
    for (int a = 0; a < 3; a++) {
        if (p->dims[a] < 8 || p->dims[a] > 4096)
            return vflow_error_set(err, VFLOW_ERANGE,
                                   "grid size %zu on axis %d out of [8, 4096]",
                                   p->dims[a], a);
        if (!(p->spacing[a] >= 0.05 && p->spacing[a] <= 5.0))
            return vflow_error_set(err, VFLOW_ERANGE,
                                   "spacing %g mm on axis %d out of [0.05, 5]",
                                   p->spacing[a], a);
    }
    if (p->supersample < 1 || p->supersample > 15)
        return vflow_error_set(err, VFLOW_ERANGE,
                               "supersample %d out of [1, 15]", p->supersample);
    if (!(p->noise_hu >= 0 && p->noise_hu <= 500) ||
        !(p->psf_sigma_mm >= 0 && p->psf_sigma_mm <= 5) ||
        !(p->noise_corr_mm >= 0 && p->noise_corr_mm <= 5))
        return vflow_error_set(err, VFLOW_ERANGE,
                               "noise %g HU (0-500), PSF sigma %g mm (0-5) or "
                               "noise correlation %g mm (0-5) out of range",
                               p->noise_hu, p->psf_sigma_mm, p->noise_corr_mm);
    if (!(p->length_mm >= 10 && p->length_mm <= 300) ||
        !(p->r_prox_mm > 0.2 && p->r_dist_mm > 0.2))
        return vflow_error_set(err, VFLOW_ERANGE,
                               "vessel length %g mm (10-300) or radii %g/%g mm "
                               "(> 0.2) out of range",
                               p->length_mm, p->r_prox_mm, p->r_dist_mm);
    for (size_t i = 0; i < p->n_lesions; i++)
        if (!(p->lesions[i].stenosis_pct >= 0 &&
              p->lesions[i].stenosis_pct < 95))
            return vflow_error_set(err, VFLOW_ERANGE,
                                   "stenosis %g %% out of [0, 95)",
                                   p->lesions[i].stenosis_pct);
    if (!(p->start_s_mm >= 0) ||
        !(p->start_s_mm + p->end_before_mm < p->length_mm - 1))
        return vflow_error_set(err, VFLOW_ERANGE,
                               "click positions leave no vessel between them");
    return 0;
}

static int build_geometry(vflow_phantom *ph, vflow_error *err)
{
    const vflow_phantom_params *p = &ph->params;
    const double p0[3] = {0, 0, 0}, t0[3] = {1, 0, 0}, n0[3] = {0, 1, 0};
    int rc = vflow_curve_integrate(&ph->target, p0, t0, n0, p->bends,
                                   p->n_bends, -LEAD_IN_MM, p->length_mm,
                                   CURVE_DS, err);
    if (rc)
        return rc;
    for (int a = 0; a < 3; a++)
        ph->chamber_center[a] = p0[a] - p->chamber_radius_mm * t0[a];
    if (p->branch && (rc = build_branch(ph, err)))
        return rc;
    if (p->distractor && (rc = build_distractor(ph, err)))
        return rc;
    build_myocardium(ph);
    ph->start_s = p->start_s_mm;
    ph->end_s = p->length_mm - p->end_before_mm;
    vflow_curve_at(&ph->target, ph->start_s, ph->start, NULL, NULL, NULL);
    vflow_curve_at(&ph->target, ph->end_s, ph->end, NULL, NULL, NULL);
    return build_grid(ph, err);
}

/* ---------------------------------------------------------- rendering */

static int run_parallel(vflow_ctx *ctx, size_t n, vflow_job_fn fn, void *user)
{
    if (ctx)
        return vflow_parallel_for(ctx, n, 1, fn, user);
    fn(user, 0, n, 0);
    return 0;
}

typedef struct render_job {
    const scene *sc;
    const vflow_volume *grid;
    float *img;
    uint8_t *lab;
    double halfdiag;
} render_job;

static void render_voxel(const render_job *rj, const double x[3], size_t idx)
{
    const scene *sc = rj->sc;
    const double(*A)[4] = rj->grid->affine;
    sample sm;
    hints hs;
    scene_eval(sc, x, &hs, false, &sm);
    /* Pure voxels (no interface within reach of any corner) take the centre
     * value; the rest are averaged over N^3 sub-samples (partial volume). */
    double thr = 1.2 * rj->halfdiag + 0.02;
    if (sm.margin > thr && sm.soft_margin > thr) {
        rj->img[idx] = sm.hu;
        rj->lab[idx] = sm.lumen ? 1 : (sm.vessel ? 2 : 0);
        return;
    }
    /* Tissue-only interfaces (fat / myocardium / chamber far from the
     * vessel) do not need the full resolution of the vessel boundaries. */
    int n = sm.margin > thr ? 3 : sc->p->supersample;
    double sum = 0;
    for (int c = 0; c < n; c++)
        for (int b = 0; b < n; b++)
            for (int a = 0; a < n; a++) {
                double o[3] = {(a + 0.5) / n - 0.5, (b + 0.5) / n - 0.5,
                               (c + 0.5) / n - 0.5};
                double y[3];
                for (int r = 0; r < 3; r++)
                    y[r] = x[r] + A[r][0] * o[0] + A[r][1] * o[1] +
                           A[r][2] * o[2];
                sample ss;
                scene_eval(sc, y, &hs, true, &ss);
                sum += ss.hu;
            }
    int tot = n * n * n;
    rj->img[idx] = (float)(sum / tot);
    /* Label rule: the class at the voxel centre (point sampling), whose
     * expected volume equals the true volume. The majority rule over the
     * sub-samples would shrink convex tubes by about h^2 / (24 R) (the
     * boundary arc bulges inwards within a voxel): -1.5 % of the lumen
     * volume at 0.5 mm voxels, measured on the presets. */
    rj->lab[idx] = sm.lumen ? 1 : (sm.vessel ? 2 : 0);
}

static void render_slices(void *user, size_t begin, size_t end, unsigned w)
{
    (void)w;
    const render_job *rj = user;
    const size_t *d = rj->grid->dims;
    const double(*A)[4] = rj->grid->affine;
    for (size_t k = begin; k < end; k++)
        for (size_t j = 0; j < d[1]; j++) {
            double x0[3];
            for (int r = 0; r < 3; r++)
                x0[r] = A[r][1] * (double)j + A[r][2] * (double)k + A[r][3];
            size_t base = d[0] * (j + d[1] * k);
            for (size_t i = 0; i < d[0]; i++) {
                double x[3] = {x0[0] + A[0][0] * (double)i,
                               x0[1] + A[1][0] * (double)i,
                               x0[2] + A[2][0] * (double)i};
                render_voxel(rj, x, base + i);
            }
        }
}

/* ------------------------------------------------------- blur, noise */

/* Normalised sampled Gaussian, radius ceil(3.5 sigma); sigma in voxels. */
static float *gauss_kernel(double sigma, int *radius)
{
    int r = sigma > 0 ? (int)ceil(3.5 * sigma) : 0;
    float *k = malloc((size_t)(2 * r + 1) * sizeof *k);
    if (!k)
        return NULL;
    double sum = 0;
    for (int t = -r; t <= r; t++) {
        double v = r ? exp(-0.5 * t * t / (sigma * sigma)) : 1.0;
        k[t + r] = (float)v;
        sum += v;
    }
    for (int t = 0; t <= 2 * r; t++)
        k[t] = (float)(k[t] / sum);
    *radius = r;
    return k;
}

typedef struct blur_job {
    const float *in;
    float *out;
    const size_t *d;
    const float *k;
    int r;
    int axis;
} blur_job;

/* One pass along `axis` (clamp-to-edge). Work items: lines for axis 0,
 * slices k for axis 1, rows j for axis 2 (inner loop always over i, the
 * contiguous direction). */
static void blur_lines(void *user, size_t begin, size_t end, unsigned w)
{
    (void)w;
    const blur_job *b = user;
    const size_t nx = b->d[0], ny = b->d[1], nz = b->d[2];
    const int r = b->r;
    for (size_t it = begin; it < end; it++) {
        if (b->axis == 0) {
            const float *src = b->in + it * nx;
            float *dst = b->out + it * nx;
            for (size_t i = 0; i < nx; i++) {
                float acc = 0;
                for (int t = -r; t <= r; t++) {
                    long ii = (long)i + t;
                    ii = ii < 0 ? 0 : (ii >= (long)nx ? (long)nx - 1 : ii);
                    acc += b->k[t + r] * src[ii];
                }
                dst[i] = acc;
            }
        } else {
            size_t n_out = b->axis == 1 ? ny : nz;
            for (size_t o = 0; o < n_out; o++) {
                float *dst = b->axis == 1 ? b->out + nx * (o + ny * it)
                                          : b->out + nx * (it + ny * o);
                for (size_t i = 0; i < nx; i++)
                    dst[i] = 0;
                for (int t = -r; t <= r; t++) {
                    long oo = (long)o + t;
                    oo = oo < 0 ? 0 : (oo >= (long)n_out ? (long)n_out - 1 : oo);
                    const float *src = b->axis == 1
                                           ? b->in + nx * ((size_t)oo + ny * it)
                                           : b->in + nx * (it + ny * (size_t)oo);
                    float kw = b->k[t + r];
                    for (size_t i = 0; i < nx; i++)
                        dst[i] += kw * src[i];
                }
            }
        }
    }
}

/* Isotropic Gaussian of `sigma_mm` applied separably along the grid axes
 * (exact for an isotropic Gaussian whatever the affine's rotation).
 * Returns the L2 norm of the full 3-D kernel through *l2 (for noise). */
static int gauss_blur(vflow_ctx *ctx, float *data, const size_t d[3],
                      const double spacing[3], double sigma_mm, double *l2,
                      vflow_error *err)
{
    size_t n = d[0] * d[1] * d[2];
    float *tmp = malloc(n * sizeof *tmp);
    if (!tmp)
        return vflow_error_set(err, VFLOW_ENOMEM, "out of memory (blur)");
    double norm = 1;
    float *bufs[2] = {data, tmp};
    int cur = 0;
    for (int axis = 0; axis < 3; axis++) {
        int r;
        float *k = gauss_kernel(sigma_mm / spacing[axis], &r);
        if (!k) {
            free(tmp);
            return vflow_error_set(err, VFLOW_ENOMEM, "out of memory (blur)");
        }
        double ss = 0;
        for (int t = 0; t <= 2 * r; t++)
            ss += (double)k[t] * k[t];
        norm *= ss;
        blur_job bj = {bufs[cur], bufs[1 - cur], d, k, r, axis};
        size_t items = axis == 0 ? d[1] * d[2] : (axis == 1 ? d[2] : d[1]);
        int rc = run_parallel(ctx, items, blur_lines, &bj);
        free(k);
        if (rc) {
            free(tmp);
            return vflow_error_set(err, rc, "blur cancelled");
        }
        cur = 1 - cur;
    }
    if (cur == 1)
        memcpy(data, tmp, n * sizeof *tmp);
    free(tmp);
    if (l2)
        *l2 = sqrt(norm);
    return 0;
}

/* splitmix64 (Steele, Lea & Flood, OOPSLA 2014): a counter-based stream,
 * so each voxel's noise depends only on (seed, index), not on threads. */
static uint64_t splitmix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static double gauss_noise(uint64_t seed, uint64_t idx)
{
    uint64_t a = splitmix64(seed ^ splitmix64(2 * idx));
    uint64_t b = splitmix64(seed ^ splitmix64(2 * idx + 1));
    double u1 = ((double)(a >> 11) + 0.5) * (1.0 / 9007199254740992.0);
    double u2 = (double)(b >> 11) * (1.0 / 9007199254740992.0);
    return sqrt(-2.0 * log(u1)) * cos(2 * M_PI * u2);  /* Box-Muller */
}

typedef struct noise_job {
    float *dst;
    uint64_t seed;
    double scale;
    size_t chunk;
    size_t n;
} noise_job;

static void noise_fill(void *user, size_t begin, size_t end, unsigned w)
{
    (void)w;
    const noise_job *nj = user;
    for (size_t c = begin; c < end; c++) {
        size_t e = (c + 1) * nj->chunk < nj->n ? (c + 1) * nj->chunk : nj->n;
        for (size_t i = c * nj->chunk; i < e; i++)
            nj->dst[i] = (float)(nj->scale * gauss_noise(nj->seed, i));
    }
}

typedef struct quant_job {
    const float *img;
    const float *noise;
    int16_t *out;
    size_t chunk, n;
} quant_job;

static void quantize(void *user, size_t begin, size_t end, unsigned w)
{
    (void)w;
    const quant_job *q = user;
    for (size_t c = begin; c < end; c++) {
        size_t e = (c + 1) * q->chunk < q->n ? (c + 1) * q->chunk : q->n;
        for (size_t i = c * q->chunk; i < e; i++) {
            double v = q->img[i] + (q->noise ? q->noise[i] : 0.0f);
            v = nearbyint(v);
            q->out[i] = (int16_t)(v < -32768 ? -32768 : (v > 32767 ? 32767 : v));
        }
    }
}

static int add_noise_and_store(vflow_phantom *ph, vflow_ctx *ctx, float *img,
                               vflow_error *err)
{
    const vflow_phantom_params *p = &ph->params;
    const size_t *d = ph->image->dims;
    size_t n = d[0] * d[1] * d[2];
    const size_t chunk = 1 << 16;
    size_t n_chunks = (n + chunk - 1) / chunk;
    float *noise = NULL;
    int rc = 0;
    if (p->noise_hu > 0) {
        noise = malloc(n * sizeof *noise);
        if (!noise)
            return vflow_error_set(err, VFLOW_ENOMEM, "out of memory (noise)");
        noise_job nj = {noise, splitmix64(p->seed), 1.0, chunk, n};
        rc = run_parallel(ctx, n_chunks, noise_fill, &nj);
        double l2 = 1.0;
        if (!rc && p->noise_corr_mm > 0)
            rc = gauss_blur(ctx, noise, d, p->spacing, p->noise_corr_mm, &l2,
                            err);
        if (!rc) {
            /* Correlated noise: white noise blurred by a kernel of L2 norm
             * l2 has std l2; rescale to the requested sigma. */
            float f = (float)(p->noise_hu / l2);
            for (size_t i = 0; i < n; i++)
                noise[i] *= f;
        }
    }
    if (!rc) {
        quant_job qj = {img, noise, ph->image->data, chunk, n};
        rc = run_parallel(ctx, n_chunks, quantize, &qj);
    }
    free(noise);
    if (rc && err && err->code == 0)
        vflow_error_set(err, rc, "phantom generation cancelled");
    return rc;
}

/* ------------------------------------------------------------ truth */

static bool station_touches_others(const vflow_phantom *ph, const scene *sc,
                                   const vflow_phantom_station *st,
                                   const double *outer)
{
    for (size_t a = 0; a < ph->n_angles; a++) {
        double th = 2 * M_PI * (double)a / (double)ph->n_angles;
        double r = outer[a] + 0.3, x[3];
        for (int k = 0; k < 3; k++)
            x[k] = st->center[k] +
                   r * (cos(th) * st->normal[k] + sin(th) * st->binormal[k]);
        if (dist3(x, ph->chamber_center) < sc->chamber_r + 0.3)
            return true;
        vflow_curve_hit h;
        if (sc->has_branch && vflow_curve_nearest(&sc->branch_ix, x, &h) &&
            h.dist < ph->branch_r_mm + ph->branch_wall_mm)
            return true;
        if (sc->has_distractor &&
            vflow_curve_nearest(&sc->distractor_ix, x, &h) &&
            h.dist < ph->distractor_r_mm + ph->distractor_wall_mm)
            return true;
    }
    return false;
}

static int build_stations(vflow_phantom *ph, const scene *sc, vflow_error *err)
{
    const vflow_phantom_params *p = &ph->params;
    size_t n = (size_t)llround(p->length_mm / STATION_DS) + 1;
    ph->n_angles = N_ANGLES;
    ph->n_stations = n;
    ph->stations = calloc(n, sizeof *ph->stations);
    ph->lumen_r = calloc(n * N_ANGLES, sizeof *ph->lumen_r);
    ph->outer_r = calloc(n * N_ANGLES, sizeof *ph->outer_r);
    if (!ph->stations || !ph->lumen_r || !ph->outer_r)
        return vflow_error_set(err, VFLOW_ENOMEM, "out of memory (truth)");
    for (size_t i = 0; i < n; i++) {
        vflow_phantom_station *st = &ph->stations[i];
        double s = fmin((double)i * STATION_DS, p->length_mm);
        st->s_mm = s;
        vflow_curve_at(&ph->target, s, st->center, st->tangent, st->normal,
                       st->binormal);
        st->lumen_r_mm = lumen_radius_p(p, s);
        st->outer_r_mm = outer_radius_p(p, s);
        double du, dv;
        outer_offset_uv(p, s, &du, &dv);
        for (int k = 0; k < 3; k++)
            st->outer_offset[k] = du * st->normal[k] + dv * st->binormal[k];
        for (size_t a = 0; a < N_ANGLES; a++) {
            double th = 2 * M_PI * (double)a / N_ANGLES;
            ph->lumen_r[i * N_ANGLES + a] = st->lumen_r_mm;
            ph->outer_r[i * N_ANGLES + a] =
                ray_circle(du, dv, st->outer_r_mm, th);
        }
        st->valid = !station_touches_others(ph, sc, st,
                                            ph->outer_r + i * N_ANGLES);
        if (p->calcium &&
            fabs(s - p->calcium_s_mm) <= 0.5 * p->calcium_length_mm) {
            /* Annular sector of the block (its 0.1 mm clip at the outer
             * wall ignored): an estimate for reports. */
            double r1 = st->lumen_r_mm + p->calcium_gap_mm;
            double r2 = r1 + p->calcium_thickness_mm;
            ph->calcium_volume_mm3 += 0.5 * p->calcium_arc_deg * DEG *
                                      (r2 * r2 - r1 * r1) * STATION_DS;
        }
    }
    return 0;
}

/* ----------------------------------------------------------- generate */

static int scene_init(scene *sc, vflow_phantom *ph, vflow_error *err)
{
    const vflow_phantom_params *p = &ph->params;
    memset(sc, 0, sizeof *sc);
    sc->ph = ph;
    sc->p = p;
    sc->chamber_r = p->chamber_radius_mm;
    /* Reach: outer radius + eccentric shift + fat sleeve + a voxel. */
    double hd = 0.5 * sqrt(p->spacing[0] * p->spacing[0] +
                           p->spacing[1] * p->spacing[1] +
                           p->spacing[2] * p->spacing[2]);
    double rmax = fmax(p->r_prox_mm, p->r_dist_mm);
    double wmax = fmax(p->wall_prox_mm, p->wall_dist_mm);
    double reach = 2 * rmax + wmax + p->fat_sleeve_mm + 2 * hd + 1.0;
    int rc = vflow_curve_index_build(&sc->target_ix, &ph->target, reach, 1.0,
                                     err);
    sc->has_branch = p->branch;
    if (!rc && p->branch)
        rc = vflow_curve_index_build(&sc->branch_ix, &ph->branch,
                                     ph->branch_r_mm + ph->branch_wall_mm +
                                         p->fat_sleeve_mm + 2 * hd + 1.0,
                                     1.0, err);
    sc->has_distractor = p->distractor;
    if (!rc && p->distractor)
        rc = vflow_curve_index_build(&sc->distractor_ix, &ph->distractor,
                                     ph->distractor_r_mm +
                                         ph->distractor_wall_mm +
                                         p->fat_sleeve_mm + 2 * hd + 1.0,
                                     1.0, err);
    sc->branch_hu = p->lumen_hu + (p->lumen_hu_distal - p->lumen_hu) *
                                      clamp01(p->branch_s_mm / p->length_mm);
    sc->distractor_hu = 0.5 * (p->lumen_hu + p->lumen_hu_distal);
    return rc;
}

static void scene_free(scene *sc)
{
    vflow_curve_index_free(&sc->target_ix);
    vflow_curve_index_free(&sc->branch_ix);
    vflow_curve_index_free(&sc->distractor_ix);
}

static int render(vflow_phantom *ph, const scene *sc, vflow_ctx *ctx,
                  vflow_error *err)
{
    const vflow_phantom_params *p = &ph->params;
    const size_t *d = ph->image->dims;
    size_t n = d[0] * d[1] * d[2];
    float *img = malloc(n * sizeof *img);
    if (!img)
        return vflow_error_set(err, VFLOW_ENOMEM,
                               "out of memory for a %zux%zux%zu image", d[0],
                               d[1], d[2]);
    render_job rj = {sc, ph->image, img, ph->labels->data,
                     0.5 * sqrt(p->spacing[0] * p->spacing[0] +
                                p->spacing[1] * p->spacing[1] +
                                p->spacing[2] * p->spacing[2])};
    int rc = run_parallel(ctx, d[2], render_slices, &rj);
    if (rc)
        vflow_error_set(err, rc, "phantom generation cancelled");
    if (!rc && p->psf_sigma_mm > 0)
        rc = gauss_blur(ctx, img, d, p->spacing, p->psf_sigma_mm, NULL, err);
    if (!rc)
        rc = add_noise_and_store(ph, ctx, img, err);
    free(img);
    return rc;
}

int vflow_phantom_generate(const vflow_phantom_params *params, vflow_ctx *ctx,
                           vflow_phantom **out, vflow_error *err)
{
    *out = NULL;
    int rc = check_params(params, err);
    if (rc)
        return rc;
    vflow_phantom *ph = calloc(1, sizeof *ph);
    if (!ph)
        return vflow_error_set(err, VFLOW_ENOMEM, "out of memory (phantom)");
    ph->params = *params;
    scene sc;
    memset(&sc, 0, sizeof sc);
    rc = build_geometry(ph, err);
    if (!rc)
        rc = scene_init(&sc, ph, err);
    if (!rc)
        rc = build_stations(ph, &sc, err);
    if (!rc)
        rc = render(ph, &sc, ctx, err);
    scene_free(&sc);
    if (rc) {
        vflow_phantom_free(ph);
        return rc;
    }
    *out = ph;
    return 0;
}

void vflow_phantom_free(vflow_phantom *ph)
{
    if (!ph)
        return;
    vflow_object_release((vflow_object *)ph->image);
    vflow_object_release((vflow_object *)ph->labels);
    vflow_curve_free(&ph->target);
    vflow_curve_free(&ph->branch);
    vflow_curve_free(&ph->distractor);
    free(ph->stations);
    free(ph->lumen_r);
    free(ph->outer_r);
    free(ph);
}
