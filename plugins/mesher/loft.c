/* SPDX-License-Identifier: BSD-3-Clause */
/* Lofting per-station contour rings into closed, outward-oriented surfaces. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vessel_geom.h"

static double dot3(const double a[3], const double b[3])
{
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

/* +1 when (tangent, normal, binormal) is right-handed, -1 otherwise. */
static int frame_handedness(const vflow_frame *f)
{
    double nxb[3] = {f->normal[1] * f->binormal[2] - f->normal[2] * f->binormal[1],
                     f->normal[2] * f->binormal[0] - f->normal[0] * f->binormal[2],
                     f->normal[0] * f->binormal[1] - f->normal[1] * f->binormal[0]};
    return dot3(f->tangent, nxb) >= 0.0 ? 1 : -1;
}

/* Radius of surface `which` at station s, angle a, clamped away from 0. */
static double ring_radius(const vflow_contours *c, vflow_loft_surface which,
                          size_t s, size_t a)
{
    const float *r = which == VFLOW_LOFT_LUMEN ? c->lumen_r : c->outer_r;
    double v = r[s * c->n_angles + a];
    return isfinite(v) && v > VFLOW_LOFT_MIN_RADIUS_MM ? v
                                                      : VFLOW_LOFT_MIN_RADIUS_MM;
}

/* Offset of ring vertex a from the centre, for radius r. */
static void ring_offset(const vflow_frame *f, size_t a, size_t n, double r,
                        double out[3])
{
    double th = 2.0 * M_PI * (double)a / (double)n;
    double cs = cos(th) * r, sn = sin(th) * r;
    for (int k = 0; k < 3; k++)
        out[k] = cs * f->normal[k] + sn * f->binormal[k];
}

/*
 * Signed distances of ring `s` (the larger of lumen/outer per angle) to the
 * plane of station `p` along its tangent: the extreme values.
 */
static void ring_plane_extent(const vflow_contours *c, size_t s, size_t p,
                              const double (*cs)[2], double *dmin,
                              double *dmax)
{
    const vflow_frame *fs = &c->frames[s], *fp = &c->frames[p];
    double rel[3] = {fs->center[0] - fp->center[0],
                     fs->center[1] - fp->center[1],
                     fs->center[2] - fp->center[2]};
    double base = dot3(rel, fp->tangent);
    /* Projections of the in-plane axes of s on the tangent of p. */
    double pn = dot3(fs->normal, fp->tangent), pb = dot3(fs->binormal, fp->tangent);
    double lo = INFINITY, hi = -INFINITY;
    for (size_t a = 0; a < c->n_angles; a++) {
        double rl = ring_radius(c, VFLOW_LOFT_LUMEN, s, a);
        double ro = ring_radius(c, VFLOW_LOFT_OUTER, s, a);
        double d = base + (rl > ro ? rl : ro) * (cs[a][0] * pn + cs[a][1] * pb);
        lo = d < lo ? d : lo;
        hi = d > hi ? d : hi;
    }
    *dmin = lo;
    *dmax = hi;
}

/* True when ring j lies in front of plane k and ring k behind plane j, so
 * the strip between them stays in the wedge between the two planes. */
static bool rings_separated(const vflow_contours *c, const double (*cs)[2],
                            size_t k, size_t j)
{
    /* 1 micrometre: rings closer than that to a plane count as crossing. */
    const double margin = 1e-3;
    double lo, hi;
    ring_plane_extent(c, j, k, cs, &lo, &hi);
    if (!(lo > margin))
        return false;
    ring_plane_extent(c, k, j, cs, &lo, &hi);
    return hi < -margin;
}

/* A station is usable when its frame and all its radii are finite. */
static bool station_usable(const vflow_contours *c, size_t s)
{
    const vflow_frame *f = &c->frames[s];
    for (int k = 0; k < 3; k++)
        if (!isfinite(f->center[k]) || !isfinite(f->tangent[k]) ||
            !isfinite(f->normal[k]) || !isfinite(f->binormal[k]))
            return false;
    for (size_t a = 0; a < c->n_angles; a++)
        if (!isfinite(c->lumen_r[s * c->n_angles + a]) ||
            !isfinite(c->outer_r[s * c->n_angles + a]))
            return false;
    return true;
}

/* How far back (in stations) a ring may look for its predecessor. */
#define LOFT_CHAIN_WINDOW 256

/*
 * Longest chain of usable stations in which each kept ring is separated
 * from the one before it (dynamic programming over predecessors within
 * LOFT_CHAIN_WINDOW stations; O(n x window x angles)). A greedy walk from
 * the first station fails whenever that station's own ring crosses every
 * later plane (a ring wider than the bend's radius of curvature at the
 * very start: a 7 mm ring on a venous sinus bending within a few mm), and
 * then nothing at all could be meshed; the chain instead drops whichever
 * stations it must, at either end or inside. Ties go to the chain ending
 * last, then to the nearest predecessor, so a clean vessel keeps every
 * station as before.
 */
static size_t longest_separated_chain(const vflow_contours *c,
                                      const double (*cs)[2],
                                      const bool *usable, size_t *chain_len,
                                      size_t *prev, size_t *kept)
{
    size_t n = c->count, best_end = SIZE_MAX;
    for (size_t j = 0; j < n; j++) {
        chain_len[j] = 0;
        prev[j] = SIZE_MAX;
        if (!usable[j])
            continue;
        chain_len[j] = 1;
        size_t lo = j > LOFT_CHAIN_WINDOW ? j - LOFT_CHAIN_WINDOW : 0;
        for (size_t i = j; i-- > lo;) {
            if (chain_len[i] == 0 || chain_len[i] + 1 <= chain_len[j])
                continue;
            if (rings_separated(c, cs, i, j)) {
                chain_len[j] = chain_len[i] + 1;
                prev[j] = i;
            }
        }
        if (best_end == SIZE_MAX || chain_len[j] >= chain_len[best_end])
            best_end = j;
    }
    size_t m = best_end == SIZE_MAX ? 0 : chain_len[best_end];
    for (size_t j = best_end, r = m; r > 0; j = prev[j])
        kept[--r] = j;
    return m;
}

int vflow_loft_select_stations(const vflow_contours *c, bool fix_bends,
                               size_t *kept, size_t *n_kept,
                               vflow_error *err)
{
    if (c->count < 2 || c->n_angles < 3)
        return vflow_error_set(err, VFLOW_EINVAL,
                               "contours have %zu stations x %zu angles; "
                               "a surface needs >= 2 stations and >= 3 angles",
                               c->count, c->n_angles);
    double (*cs)[2] = malloc(c->n_angles * sizeof *cs);
    bool *usable = malloc(c->count * sizeof *usable);
    size_t *work = malloc(2 * c->count * sizeof *work);
    if (cs == NULL || usable == NULL || work == NULL) {
        free(cs), free(usable), free(work);
        return vflow_error_set(err, VFLOW_ENOMEM, "out of memory");
    }
    for (size_t a = 0; a < c->n_angles; a++) {
        double th = 2.0 * M_PI * (double)a / (double)c->n_angles;
        cs[a][0] = cos(th), cs[a][1] = sin(th);
    }
    size_t n = 0;
    for (size_t s = 0; s < c->count; s++) {
        usable[s] = station_usable(c, s); /* failed sections are skipped */
        if (usable[s] && !fix_bends)
            kept[n++] = s;
    }
    if (fix_bends)
        n = longest_separated_chain(c, cs, usable, work, work + c->count,
                                    kept);
    free(cs), free(usable), free(work);
    *n_kept = n;
    if (n < 2)
        return vflow_error_set(err, VFLOW_EINVAL,
                               "no two section rings of the %zu stations are "
                               "separated by their planes (vessel folds onto "
                               "itself or frames are inconsistent)",
                               c->count);
    return 0;
}

/* Writes the vertices of the kept rings and both cap centres. */
static void loft_vertices(const vflow_contours *c, vflow_loft_surface which,
                          const size_t *kept, size_t n_kept, vflow_mesh *m)
{
    size_t na = c->n_angles;
    for (size_t r = 0; r < n_kept; r++) {
        const vflow_frame *f = &c->frames[kept[r]];
        /* A left-handed frame turns the other way: reverse the angle order
         * so that vertex a of every ring winds the same way round the axis. */
        int hand = frame_handedness(f);
        for (size_t a = 0; a < na; a++) {
            size_t src = hand > 0 ? a : (na - a) % na;
            double off[3];
            ring_offset(f, src, na, ring_radius(c, which, kept[r], src), off);
            for (int k = 0; k < 3; k++)
                m->vertices[r * na + a][k] = (float)(f->center[k] + off[k]);
        }
    }
    for (int k = 0; k < 3; k++) {
        m->vertices[n_kept * na][k] = (float)c->frames[kept[0]].center[k];
        m->vertices[n_kept * na + 1][k] =
            (float)c->frames[kept[n_kept - 1]].center[k];
    }
}

/* Side strips (two triangles per quad) and fan caps. Outward for a
 * right-handed frame: d(vertex)/d(theta) x tangent points away from the
 * axis; the caller checks the sign of the volume anyway. */
static void loft_triangles(size_t na, size_t n_kept, vflow_mesh *m)
{
    size_t t = 0;
    for (size_t r = 0; r + 1 < n_kept; r++) {
        for (size_t a = 0; a < na; a++) {
            uint32_t v00 = (uint32_t)(r * na + a);
            uint32_t v01 = (uint32_t)(r * na + (a + 1) % na);
            uint32_t v10 = (uint32_t)((r + 1) * na + a);
            uint32_t v11 = (uint32_t)((r + 1) * na + (a + 1) % na);
            m->triangles[t][0] = v00, m->triangles[t][1] = v01,
            m->triangles[t++][2] = v11;
            m->triangles[t][0] = v00, m->triangles[t][1] = v11,
            m->triangles[t++][2] = v10;
        }
    }
    uint32_t c0 = (uint32_t)(n_kept * na), c1 = c0 + 1;
    size_t last = (n_kept - 1) * na;
    for (size_t a = 0; a < na; a++) {
        m->triangles[t][0] = c0;
        m->triangles[t][1] = (uint32_t)((a + 1) % na);
        m->triangles[t++][2] = (uint32_t)a;
        m->triangles[t][0] = c1;
        m->triangles[t][1] = (uint32_t)(last + a);
        m->triangles[t++][2] = (uint32_t)(last + (a + 1) % na);
    }
}

vflow_mesh *vflow_loft_mesh(const vflow_contours *c, vflow_loft_surface which,
                            const size_t *kept, size_t n_kept,
                            vflow_error *err)
{
    size_t na = c->n_angles;
    if (n_kept < 2 || na < 3) {
        vflow_error_set(err, VFLOW_EINVAL, "lofting needs >= 2 stations and "
                        ">= 3 angles (got %zu x %zu)", n_kept, na);
        return NULL;
    }
    if ((double)n_kept * (double)na + 2.0 > (double)UINT32_MAX) {
        vflow_error_set(err, VFLOW_ERANGE, "%zu stations x %zu angles exceed "
                        "32-bit vertex indices", n_kept, na);
        return NULL;
    }
    vflow_mesh *m = vflow_mesh_create(n_kept * na + 2,
                                      2 * na * (n_kept - 1) + 2 * na, err);
    if (m == NULL)
        return NULL;
    loft_vertices(c, which, kept, n_kept, m);
    loft_triangles(na, n_kept, m);
    if (vflow_mesh_signed_volume(m) < 0.0)
        vflow_mesh_flip(m);
    return m;
}

void vflow_loft_extend_ends(vflow_mesh *m, const vflow_contours *c,
                            const size_t *kept, size_t n_kept, double d)
{
    size_t na = c->n_angles;
    const double *t0 = c->frames[kept[0]].tangent;
    const double *t1 = c->frames[kept[n_kept - 1]].tangent;
    for (size_t a = 0; a <= na; a++) {
        /* a == na: the cap centre. */
        float *v0 = m->vertices[a < na ? a : n_kept * na];
        float *v1 = m->vertices[a < na ? (n_kept - 1) * na + a : n_kept * na + 1];
        for (int k = 0; k < 3; k++) {
            v0[k] -= (float)(d * t0[k]);
            v1[k] += (float)(d * t1[k]);
        }
    }
}

double vflow_mesh_signed_volume(const vflow_mesh *m)
{
    /* Sum of signed tetrahedra (origin, a, b, c); vertices are taken
     * relative to the first one to limit cancellation far from the origin. */
    if (m->n_vertices == 0)
        return 0.0;
    const float *o = m->vertices[0];
    double vol = 0.0;
    for (size_t t = 0; t < m->n_triangles; t++) {
        double p[3][3];
        for (int v = 0; v < 3; v++)
            for (int k = 0; k < 3; k++)
                p[v][k] = (double)m->vertices[m->triangles[t][v]][k] - o[k];
        vol += p[0][0] * (p[1][1] * p[2][2] - p[1][2] * p[2][1]) -
               p[0][1] * (p[1][0] * p[2][2] - p[1][2] * p[2][0]) +
               p[0][2] * (p[1][0] * p[2][1] - p[1][1] * p[2][0]);
    }
    return vol / 6.0;
}

void vflow_mesh_flip(vflow_mesh *m)
{
    for (size_t t = 0; t < m->n_triangles; t++) {
        uint32_t tmp = m->triangles[t][1];
        m->triangles[t][1] = m->triangles[t][2];
        m->triangles[t][2] = tmp;
    }
}
