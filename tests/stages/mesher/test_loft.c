/* SPDX-License-Identifier: BSD-3-Clause */
/* Lofted surfaces: watertight, outward, analytic volumes, tight bends. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>

#include "synth_contours.h"
#include "vessel_geom.h"

static vflow_mesh *loft(const vflow_contours *c, vflow_loft_surface which,
                        bool fix, size_t *n_kept)
{
    vflow_error err = {0};
    size_t *kept = malloc(c->count * sizeof *kept), n = 0;
    cr_assert_not_null(kept);
    cr_assert_eq(vflow_loft_select_stations(c, fix, kept, &n, &err), 0, "%s",
                 err.message);
    vflow_mesh *m = vflow_loft_mesh(c, which, kept, n, &err);
    cr_assert_not_null(m, "%s", err.message);
    free(kept);
    if (n_kept)
        *n_kept = n;
    return m;
}

static void tri_normal(const vflow_mesh *m, size_t t, double n[3], double g[3])
{
    const float *a = m->vertices[m->triangles[t][0]];
    const float *b = m->vertices[m->triangles[t][1]];
    const float *c = m->vertices[m->triangles[t][2]];
    double u[3], v[3];
    for (int k = 0; k < 3; k++) {
        u[k] = b[k] - a[k], v[k] = c[k] - a[k];
        g[k] = (a[k] + b[k] + c[k]) / 3.0;
    }
    n[0] = u[1] * v[2] - u[2] * v[1];
    n[1] = u[2] * v[0] - u[0] * v[2];
    n[2] = u[0] * v[1] - u[1] * v[0];
}

/* Every side triangle's normal points away from the nearest station centre
 * (radially), every cap triangle's along -t at the start, +t at the end. */
static void assert_outward(const vflow_mesh *m, const vflow_contours *c)
{
    uint32_t cap0 = (uint32_t)(m->n_vertices - 2), cap1 = cap0 + 1;
    const vflow_frame *f0 = &c->frames[0], *f1 = &c->frames[c->count - 1];
    for (size_t t = 0; t < m->n_triangles; t++) {
        double n[3], g[3];
        tri_normal(m, t, n, g);
        const uint32_t *v = m->triangles[t];
        if (v[0] == cap0 || v[1] == cap0 || v[2] == cap0) {
            cr_assert_lt(n[0] * f0->tangent[0] + n[1] * f0->tangent[1] +
                         n[2] * f0->tangent[2], 0.0, "start cap %zu inward", t);
            continue;
        }
        if (v[0] == cap1 || v[1] == cap1 || v[2] == cap1) {
            cr_assert_gt(n[0] * f1->tangent[0] + n[1] * f1->tangent[1] +
                         n[2] * f1->tangent[2], 0.0, "end cap %zu inward", t);
            continue;
        }
        size_t best = 0;
        double bd = INFINITY;
        for (size_t s = 0; s < c->count; s++) {
            const double *p = c->frames[s].center;
            double d = (g[0] - p[0]) * (g[0] - p[0]) +
                       (g[1] - p[1]) * (g[1] - p[1]) +
                       (g[2] - p[2]) * (g[2] - p[2]);
            if (d < bd)
                bd = d, best = s;
        }
        const vflow_frame *f = &c->frames[best];
        double r[3], along = 0.0;
        for (int k = 0; k < 3; k++)
            along += (g[k] - f->center[k]) * f->tangent[k];
        for (int k = 0; k < 3; k++)
            r[k] = g[k] - f->center[k] - along * f->tangent[k];
        cr_assert_gt(n[0] * r[0] + n[1] * r[1] + n[2] * r[2], 0.0,
                     "side triangle %zu points inwards", t);
    }
}

/* Inscribed n-gon area relative to the circle's. */
static double polygon_factor(size_t n)
{
    return (double)n / (2.0 * M_PI) * sin(2.0 * M_PI / (double)n);
}

static double relative_error(double got, double want)
{
    return fabs(got - want) / fabs(want);
}

Test(loft, straight_cylinder_is_closed_outward_with_exact_volume)
{
    synth_path p = {{5, -3, 12}, 20.0, 0, 0, 0};
    synth_shape sh = {2.0, 1.0, 0.5, 0, 0, 0};
    vflow_contours *c = synth_contours(&p, &sh, 0.5, 64, false);
    vflow_mesh *m = loft(c, VFLOW_LOFT_LUMEN, true, NULL);
    cr_assert_eq(m->n_triangles, 2 * 64 * (c->count - 1) + 2 * 64);
    cr_assert_eq(vflow_mesh_count_bad_edges(m), 0);
    assert_outward(m, c);
    double want = M_PI * 4.0 * 20.0 * polygon_factor(64);
    cr_assert_lt(relative_error(vflow_mesh_signed_volume(m), want), 1e-4,
                 "volume %g vs %g", vflow_mesh_signed_volume(m), want);
    cr_assert_eq(vflow_mesh_count_self_intersections(m), 0);
    vflow_mesh *w = loft(c, VFLOW_LOFT_OUTER, true, NULL);
    double want_w = M_PI * 2.5 * 2.5 * 20.0 * polygon_factor(64);
    cr_assert_lt(relative_error(vflow_mesh_signed_volume(w), want_w), 1e-4);
    vflow_object_release(&w->base);
    vflow_object_release(&m->base);
    vflow_object_release(&c->base);
}

Test(loft, elliptical_tube_volume_matches_pi_a_b_length)
{
    synth_path p = {{0, 0, 0}, 15.0, 0, 0, 0};
    synth_shape sh = {2.0, 0.5, 0.6, 0, 0, 0};
    vflow_contours *c = synth_contours(&p, &sh, 0.5, 128, false);
    vflow_mesh *m = loft(c, VFLOW_LOFT_LUMEN, true, NULL);
    cr_assert_eq(vflow_mesh_count_bad_edges(m), 0);
    assert_outward(m, c);
    double want = M_PI * 2.0 * 1.0 * 15.0;
    cr_assert_lt(relative_error(vflow_mesh_signed_volume(m), want), 0.01);
    vflow_object_release(&m->base);
    vflow_object_release(&c->base);
}

Test(loft, stenosed_tube_volume_matches_integral_of_area)
{
    synth_path p = {{1, 2, 3}, 30.0, 0, 0, 0};
    synth_shape sh = {1.8, 1.0, 0.7, 15.0, 8.0, 0.5};
    vflow_contours *c = synth_contours(&p, &sh, 0.25, 96, false);
    vflow_mesh *m = loft(c, VFLOW_LOFT_LUMEN, true, NULL);
    cr_assert_eq(vflow_mesh_count_bad_edges(m), 0);
    assert_outward(m, c);
    double want = 0.0, h = 0.001;
    for (double s = 0.5 * h; s < 30.0; s += h) {
        double r = synth_lumen_r(&sh, s, 0.0);
        want += M_PI * r * r * h;
    }
    cr_assert_lt(relative_error(vflow_mesh_signed_volume(m), want), 0.01,
                 "volume %g vs %g", vflow_mesh_signed_volume(m), want);
    vflow_object_release(&m->base);
    vflow_object_release(&c->base);
}

Test(loft, gentle_torus_bend_matches_pappus_without_self_intersection)
{
    /* Radius of curvature 6 mm > vessel radius 2 mm: nothing to drop. */
    synth_path p = {{0, 0, 0}, 8.0, 6.0, M_PI / 2, 8.0};
    synth_shape sh = {2.0, 1.0, 0.5, 0, 0, 0};
    vflow_contours *c = synth_contours(&p, &sh, 0.4, 64, false);
    size_t n_kept = 0;
    vflow_mesh *m = loft(c, VFLOW_LOFT_LUMEN, true, &n_kept);
    cr_assert_eq(n_kept, c->count);
    cr_assert_eq(vflow_mesh_count_bad_edges(m), 0);
    assert_outward(m, c);
    double want = M_PI * 4.0 * synth_path_length(&p);
    cr_assert_lt(relative_error(vflow_mesh_signed_volume(m), want), 0.03);
    cr_assert_eq(vflow_mesh_count_self_intersections(m), 0);
    vflow_object_release(&m->base);
    vflow_object_release(&c->base);
}

Test(loft, tight_bend_folds_unless_crossing_stations_are_dropped)
{
    /* Radius of curvature 1 mm < outer radius 2.5 mm: consecutive section
     * planes meet inside the rings on the inner side of the bend. */
    synth_path p = {{0, 0, 0}, 10.0, 1.0, M_PI / 2, 10.0};
    synth_shape sh = {2.0, 1.0, 0.5, 0, 0, 0};
    vflow_contours *c = synth_contours(&p, &sh, 0.25, 48, false);

    vflow_mesh *raw = loft(c, VFLOW_LOFT_OUTER, false, NULL);
    cr_assert_gt(vflow_mesh_count_self_intersections(raw), 0,
                 "the naive loft should fold on this bend");
    vflow_object_release(&raw->base);

    size_t n_kept = 0;
    for (int which = 0; which < 2; which++) {
        vflow_mesh *m = loft(c, (vflow_loft_surface)which, true, &n_kept);
        cr_assert_lt(n_kept, c->count);
        cr_assert_eq(vflow_mesh_count_bad_edges(m), 0);
        cr_assert_eq(vflow_mesh_count_self_intersections(m), 0);
        cr_assert_gt(vflow_mesh_signed_volume(m), 0.0);
        vflow_object_release(&m->base);
    }
    vflow_object_release(&c->base);
}

Test(loft, a_first_ring_wider_than_the_bend_is_dropped_not_fatal)
{
    /* The vessel starts on a bend of radius 3 mm and its first section
     * came out 8 mm wide (a segmentation spilling into a neighbour): that
     * ring crosses every later section plane. Walking greedily from it
     * kept nothing; the longest separated chain drops it and meshes the
     * rest. */
    synth_path p = {{0, 0, 0}, 0.0, 3.0, M_PI / 2, 10.0};
    synth_shape sh = {1.0, 1.0, 0.3, 0, 0, 0};
    vflow_contours *c = synth_contours(&p, &sh, 0.25, 32, false);
    for (size_t a = 0; a < c->n_angles; a++)
        c->outer_r[a] = 8.0f;
    size_t n_kept = 0;
    vflow_mesh *m = loft(c, VFLOW_LOFT_OUTER, true, &n_kept);
    cr_assert_gt(n_kept, c->count / 2, "kept %zu of %zu", n_kept, c->count);
    cr_assert_eq(vflow_mesh_count_bad_edges(m), 0);
    cr_assert_eq(vflow_mesh_count_self_intersections(m), 0);
    cr_assert_gt(vflow_mesh_signed_volume(m), 0.0);
    vflow_object_release(&m->base);
    vflow_object_release(&c->base);
}

Test(loft, left_handed_frames_still_give_outward_watertight_surface)
{
    synth_path p = {{0, 0, 0}, 10.0, 5.0, 1.0, 5.0};
    synth_shape sh = {1.5, 0.7, 0.5, 0, 0, 0};
    vflow_contours *c = synth_contours(&p, &sh, 0.5, 40, true);
    /* Mix handedness: flip every third station back to right-handed. */
    for (size_t s = 0; s < c->count; s += 3) {
        for (int k = 0; k < 3; k++)
            c->frames[s].binormal[k] = -c->frames[s].binormal[k];
        for (size_t a = 0; a < 40; a++) {
            double th = 2.0 * M_PI * (double)a / 40.0;
            c->lumen_r[s * 40 + a] = (float)synth_lumen_r(&sh, c->frames[s].s_mm, th);
        }
    }
    vflow_mesh *m = loft(c, VFLOW_LOFT_LUMEN, true, NULL);
    cr_assert_eq(vflow_mesh_count_bad_edges(m), 0);
    cr_assert_gt(vflow_mesh_signed_volume(m), 0.0);
    assert_outward(m, c);
    cr_assert_eq(vflow_mesh_count_self_intersections(m), 0);
    vflow_object_release(&m->base);
    vflow_object_release(&c->base);
}

Test(loft, refuses_a_single_station)
{
    vflow_contours *c = vflow_contours_create(1, 16, NULL);
    size_t kept[1], n = 0;
    vflow_error err = {0};
    cr_assert_eq(vflow_loft_select_stations(c, true, kept, &n, &err),
                 VFLOW_EINVAL);
    cr_assert_neq(err.message[0], '\0');
    vflow_object_release(&c->base);
}

Test(meshcheck, detects_open_and_inconsistent_edges)
{
    vflow_mesh *m = vflow_mesh_create(4, 4, NULL);
    float v[4][3] = {{0, 0, 0}, {1, 0, 0}, {0, 1, 0}, {0, 0, 1}};
    uint32_t t[4][3] = {{0, 2, 1}, {0, 1, 3}, {1, 2, 3}, {0, 3, 2}};
    for (int i = 0; i < 4; i++)
        for (int k = 0; k < 3; k++)
            m->vertices[i][k] = v[i][k], m->triangles[i][k] = t[i][k];
    cr_assert_eq(vflow_mesh_count_bad_edges(m), 0);
    cr_assert_float_eq(vflow_mesh_signed_volume(m), 1.0 / 6.0, 1e-9);
    m->triangles[3][1] = 2, m->triangles[3][2] = 3; /* flip one face */
    cr_assert_eq(vflow_mesh_count_bad_edges(m), 3);
    m->n_triangles = 3; /* open */
    cr_assert_eq(vflow_mesh_count_bad_edges(m), 3);
    vflow_object_release(&m->base);
}

Test(loft, stations_with_nan_radii_are_skipped)
{
    synth_path p = {{0, 0, 0}, 10.0, 0, 0, 0};
    synth_shape sh = {1.5, 1.0, 0.5, 0, 0, 0};
    vflow_contours *c = synth_contours(&p, &sh, 0.5, 32, false);
    c->lumen_r[0 * 32 + 3] = NAN;  /* first station */
    c->outer_r[7 * 32 + 9] = NAN;  /* a middle one */
    size_t n_kept = 0;
    vflow_mesh *m = loft(c, VFLOW_LOFT_LUMEN, true, &n_kept);
    cr_assert_eq(n_kept, c->count - 2);
    cr_assert_eq(vflow_mesh_count_bad_edges(m), 0);
    double want = M_PI * 2.25 * 9.5 * polygon_factor(32);
    cr_assert_lt(relative_error(vflow_mesh_signed_volume(m), want), 1e-4);
    vflow_object_release(&m->base);
    vflow_object_release(&c->base);
}
