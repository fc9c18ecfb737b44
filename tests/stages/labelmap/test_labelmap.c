/* SPDX-License-Identifier: BSD-3-Clause */
/* Label maps from lofted contours: volumes agree with the meshes. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "labelmap.h"
#include "synth_contours.h"
#include "vessel_geom.h"
#include "vflow/runtime.h"
#include "vflow/volume.h"

/* An oblique, anisotropic grid of n^3 voxels centred on `centre`. */
static vflow_volume *oblique_grid(size_t n, const double sp[3],
                                  const double centre[3])
{
    double a = 0.35, b = 0.2; /* rotations about z then x, rad */
    double rz[3][3] = {{cos(a), -sin(a), 0}, {sin(a), cos(a), 0}, {0, 0, 1}};
    double rx[3][3] = {{1, 0, 0}, {0, cos(b), -sin(b)}, {0, sin(b), cos(b)}};
    double aff[4][4] = {{0}};
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            double r = 0.0;
            for (int k = 0; k < 3; k++)
                r += rx[i][k] * rz[k][j];
            aff[i][j] = r * sp[j];
        }
    aff[3][3] = 1.0;
    for (int i = 0; i < 3; i++) {
        double half = 0.0;
        for (int j = 0; j < 3; j++)
            half += aff[i][j] * 0.5 * (double)(n - 1);
        aff[i][3] = centre[i] - half;
    }
    size_t dims[3] = {n, n, n};
    vflow_volume *v = vflow_volume_create(dims, VFLOW_DTYPE_I16, aff, NULL);
    cr_assert_not_null(v);
    return v;
}

static double voxel_volume(const vflow_volume *v)
{
    const double (*a)[4] = v->affine;
    return fabs(a[0][0] * (a[1][1] * a[2][2] - a[1][2] * a[2][1]) -
                a[0][1] * (a[1][0] * a[2][2] - a[1][2] * a[2][0]) +
                a[0][2] * (a[1][0] * a[2][1] - a[1][1] * a[2][0]));
}

static void count_labels(const vflow_volume *l, size_t counts[3])
{
    const uint8_t *d = l->data;
    counts[0] = counts[1] = counts[2] = 0;
    for (size_t i = 0; i < vflow_volume_voxel_count(l); i++) {
        cr_assert_leq(d[i], 2);
        counts[d[i]]++;
    }
}

static double mesh_volume(const vflow_contours *c, vflow_loft_surface which)
{
    size_t *kept = malloc(c->count * sizeof *kept), n = 0;
    cr_assert_eq(vflow_loft_select_stations(c, true, kept, &n, NULL), 0);
    vflow_mesh *m = vflow_loft_mesh(c, which, kept, n, NULL);
    double v = vflow_mesh_signed_volume(m);
    vflow_object_release(&m->base);
    free(kept);
    return v;
}

/* Label volumes (lumen; lumen + wall) within `tol` of the mesh volumes. */
static void check_volumes(const vflow_contours *c, const vflow_volume *grid,
                          unsigned ss, double tol)
{
    vflow_error err = {0};
    vflow_volume *l = vflow_labelmap_build(c, grid, true, ss, NULL, &err);
    cr_assert_not_null(l, "%s", err.message);
    cr_assert_eq(l->dtype, VFLOW_DTYPE_U8);
    for (int k = 0; k < 3; k++)
        cr_assert_eq(l->dims[k], grid->dims[k]);
    size_t n[3];
    count_labels(l, n);
    double vv = voxel_volume(grid);
    double lumen = mesh_volume(c, VFLOW_LOFT_LUMEN);
    double outer = mesh_volume(c, VFLOW_LOFT_OUTER);
    cr_assert_lt(fabs((double)n[1] * vv - lumen) / lumen, tol,
                 "lumen labels %g mm3 vs mesh %g mm3 (ss %u)",
                 (double)n[1] * vv, lumen, ss);
    cr_assert_lt(fabs((double)(n[1] + n[2]) * vv - outer) / outer, tol,
                 "outer labels %g mm3 vs mesh %g mm3 (ss %u)",
                 (double)(n[1] + n[2]) * vv, outer, ss);
    vflow_object_release(&l->base);
}

Test(labelmap, straight_cylinder_volume_matches_mesh_on_oblique_grid)
{
    /* Radius / spacing ~ 10: the voxel-centre count of a disc is then
     * within ~2 % (Gauss circle problem); majority-vote supersampling does
     * not change that (it is not a partial-volume estimate). */
    double sp[3] = {0.2, 0.22, 0.25}, centre[3] = {10, -4, 30};
    vflow_volume *g = oblique_grid(96, sp, centre);
    synth_path p = {{centre[0] - 7, centre[1], centre[2]}, 14.0, 0, 0, 0};
    synth_shape sh = {2.0, 1.0, 0.6, 0, 0, 0};
    vflow_contours *c = synth_contours(&p, &sh, 0.5, 64, false);
    check_volumes(c, g, 1, 0.03);
    check_volumes(c, g, 3, 0.03);
    vflow_object_release(&c->base);
    vflow_object_release(&g->base);
}

Test(labelmap, elliptical_stenosed_tube_volume_matches_mesh)
{
    double sp[3] = {0.2, 0.2, 0.22}, centre[3] = {0, 0, 0};
    vflow_volume *g = oblique_grid(96, sp, centre);
    synth_path p = {{-9, 0, 0}, 18.0, 0, 0, 0};
    synth_shape sh = {2.0, 0.6, 0.8, 9.0, 6.0, 0.5};
    vflow_contours *c = synth_contours(&p, &sh, 0.25, 96, false);
    check_volumes(c, g, 1, 0.03);
    vflow_object_release(&c->base);
    vflow_object_release(&g->base);
}

Test(labelmap, tight_bend_volume_matches_mesh)
{
    double sp[3] = {0.22, 0.22, 0.22}, centre[3] = {5, 5, 0};
    vflow_volume *g = oblique_grid(96, sp, centre);
    synth_path p = {{-3, 0, 0}, 8.0, 1.0, M_PI / 2, 8.0};
    synth_shape sh = {2.0, 1.0, 0.5, 0, 0, 0};
    vflow_contours *c = synth_contours(&p, &sh, 0.25, 64, false);
    check_volumes(c, g, 1, 0.03);
    vflow_object_release(&c->base);
    vflow_object_release(&g->base);
}

Test(labelmap, lumen_voxels_lie_inside_the_analytic_cylinder)
{
    double sp[3] = {0.3, 0.3, 0.3}, centre[3] = {0, 0, 0};
    vflow_volume *g = oblique_grid(64, sp, centre);
    synth_path p = {{-6, 0, 0}, 12.0, 0, 0, 0};
    synth_shape sh = {2.0, 1.0, 0.6, 0, 0, 0};
    vflow_contours *c = synth_contours(&p, &sh, 0.5, 64, false);
    vflow_volume *l = vflow_labelmap_build(c, g, true, 1, NULL, NULL);
    cr_assert_not_null(l);
    const uint8_t *d = l->data;
    for (size_t k = 0; k < 64; k++)
        for (size_t j = 0; j < 64; j++)
            for (size_t i = 0; i < 64; i++) {
                double ijk[3] = {(double)i, (double)j, (double)k}, x[3];
                vflow_volume_index_to_world(g, ijk, x);
                double rho = hypot(x[1], x[2]);
                bool in_len = x[0] > -6 && x[0] < 6;
                uint8_t want = !in_len ? 0 : rho < 2.0 ? 1 : rho < 2.6 ? 2 : 0;
                /* Allow disagreement only within 1e-3 mm of a boundary. */
                bool near = fabs(rho - 2.0) < 0.01 || fabs(rho - 2.6) < 0.01 ||
                            fabs(fabs(x[0]) - 6) < 1e-3;
                if (!near)
                    cr_assert_eq(d[vflow_volume_index(l, i, j, k)], want,
                                 "voxel %zu %zu %zu rho %g x %g", i, j, k,
                                 rho, x[0]);
            }
    vflow_object_release(&l->base);
    vflow_object_release(&c->base);
    vflow_object_release(&g->base);
}

extern const vflow_stage_desc vflow_stage_labelmap;
static const vflow_stage_desc *const stages[] = {&vflow_stage_labelmap};
static const vflow_plugin_info info = {VFLOW_ABI_MAJOR, VFLOW_ABI_MINOR,
                                       "labelmap", 1, stages};

Test(labelmap_stage, labels_on_the_image_grid_and_vessel_outside_is_empty)
{
    vflow_error err = {0};
    vflow_runtime_options o = {.threads = 2, .log_level = VFLOW_LOG_WARN};
    vflow_runtime *rt = vflow_runtime_new(&o, &err);
    cr_assert_eq(vflow_runtime_add_plugin_info(rt, &info, "test", &err), 0);
    vflow_stage *st = vflow_stage_new(rt, &vflow_stage_labelmap, &err);
    double sp[3] = {0.4, 0.4, 0.4}, centre[3] = {0, 0, 0};
    vflow_volume *g = oblique_grid(48, sp, centre);
    /* Half of this vessel runs outside the grid: clipped, not an error. */
    synth_path p = {{0, 0, 0}, 30.0, 0, 0, 0};
    synth_shape sh = {1.5, 1.0, 0.5, 0, 0, 0};
    vflow_contours *c = synth_contours(&p, &sh, 0.5, 32, false);
    cr_assert_eq(vflow_stage_set_input(st, "contours", &c->base, &err), 0);
    cr_assert_eq(vflow_stage_set_input(st, "volume", &g->base, &err), 0);
    cr_assert_eq(vflow_stage_set_param(st, "supersample", "3", &err), 0);
    cr_assert_eq(vflow_stage_run(st, &err), 0, "%s", err.message);
    vflow_volume *l = VFLOW_VOLUME(vflow_stage_output(st, "labels"));
    cr_assert_not_null(l);
    size_t n[3];
    count_labels(l, n);
    cr_assert_gt(n[1], 0);
    cr_assert_gt(n[2], 0);
    cr_assert_lt(vflow_stage_set_param(st, "supersample", "9", &err), 0);
    cr_assert_eq(vflow_stage_set_param(st, "supersample", "2", &err), 0);
    cr_assert_eq(vflow_stage_run(st, &err), VFLOW_EINVAL);
    cr_assert(strstr(err.message, "supersample") != NULL, "%s", err.message);
    vflow_object_release(&c->base);
    vflow_object_release(&g->base);
    vflow_stage_free(st);
    vflow_runtime_free(rt);
}

Test(labelmap, refuses_contours_without_two_stations)
{
    double sp[3] = {1, 1, 1}, centre[3] = {0, 0, 0};
    vflow_volume *g = oblique_grid(8, sp, centre);
    vflow_contours *c = vflow_contours_create(1, 8, NULL);
    vflow_error err = {0};
    cr_assert_null(vflow_labelmap_build(c, g, true, 1, NULL, &err));
    cr_assert_eq(err.code, VFLOW_EINVAL);
    vflow_object_release(&c->base);
    vflow_object_release(&g->base);
}

/* Labels of the same contours with `threads` workers (transfer full). */
static vflow_volume *labels_with_threads(unsigned threads,
                                         const vflow_contours *c,
                                         const vflow_volume *g)
{
    vflow_error err = {0};
    vflow_runtime_options o = {.threads = threads, .log_level = VFLOW_LOG_WARN};
    vflow_runtime *rt = vflow_runtime_new(&o, &err);
    cr_assert_eq(vflow_runtime_add_plugin_info(rt, &info, "test", &err), 0);
    vflow_stage *st = vflow_stage_new(rt, &vflow_stage_labelmap, &err);
    cr_assert_eq(vflow_stage_set_input(st, "contours", (vflow_object *)&c->base, &err), 0);
    cr_assert_eq(vflow_stage_set_input(st, "volume", (vflow_object *)&g->base, &err), 0);
    cr_assert_eq(vflow_stage_set_param(st, "supersample", "3", &err), 0);
    cr_assert_eq(vflow_stage_run(st, &err), 0, "%s", err.message);
    vflow_object *l = vflow_object_retain(vflow_stage_output(st, "labels"));
    vflow_stage_free(st);
    vflow_runtime_free(rt);
    return VFLOW_VOLUME(l);
}

Test(labelmap_stage, labels_do_not_depend_on_the_thread_count)
{
    double sp[3] = {0.3, 0.3, 0.35}, centre[3] = {2, 2, 0};
    vflow_volume *g = oblique_grid(64, sp, centre);
    synth_path p = {{-6, 0, 0}, 6.0, 3.0, 1.5, 6.0};
    synth_shape sh = {1.5, 0.8, 0.5, 5.0, 3.0, 0.4};
    vflow_contours *c = synth_contours(&p, &sh, 0.3, 48, false);
    vflow_volume *a = labels_with_threads(1, c, g);
    vflow_volume *b = labels_with_threads(3, c, g);
    cr_assert_eq(memcmp(a->data, b->data, vflow_volume_voxel_count(a)), 0);
    vflow_object_release(&a->base);
    vflow_object_release(&b->base);
    vflow_object_release(&c->base);
    vflow_object_release(&g->base);
}

/* crop_mm: the labels of the padded wall box only, on the same voxels. */
Test(labelmap, box_labels_equal_the_full_grid_labels_at_the_same_voxels)
{
    vflow_error err = {0};
    double sp[3] = {0.2, 0.22, 0.25}, centre[3] = {10, -4, 30};
    vflow_volume *g = oblique_grid(96, sp, centre);
    synth_path p = {{centre[0] - 5, centre[1], centre[2]}, 10.0, 0, 0, 0};
    synth_shape sh = {1.5, 1.0, 0.5, 0, 0, 0};
    vflow_contours *c = synth_contours(&p, &sh, 0.5, 64, false);
    vflow_volume *full = vflow_labelmap_build(c, g, true, 1, NULL, &err);
    vflow_volume *box = vflow_labelmap_build_box(c, g, true, 1, 1.0, NULL,
                                                 &err);
    cr_assert_not_null(full, "%s", err.message);
    cr_assert_not_null(box, "%s", err.message);
    cr_assert_lt(vflow_volume_voxel_count(box),
                 vflow_volume_voxel_count(full) / 4);
    for (int a = 0; a < 3; a++)
        cr_assert_float_eq(box->spacing[a], g->spacing[a], 1e-12);
    size_t nf[3], nb[3];
    count_labels(full, nf);
    count_labels(box, nb);
    cr_assert_eq(nf[1], nb[1]);
    cr_assert_eq(nf[2], nb[2]);
    /* Each box voxel holds the label of the full-grid voxel at its world
     * position. */
    const uint8_t *fb = full->data, *bb = box->data;
    for (size_t k = 0; k < box->dims[2]; k++)
        for (size_t j = 0; j < box->dims[1]; j++)
            for (size_t i = 0; i < box->dims[0]; i++) {
                double ijk[3] = {(double)i, (double)j, (double)k}, x[3], f[3];
                vflow_volume_index_to_world(box, ijk, x);
                vflow_volume_world_to_index(full, x, f);
                size_t fi = vflow_volume_index(full, (size_t)lround(f[0]),
                                               (size_t)lround(f[1]),
                                               (size_t)lround(f[2]));
                cr_assert_eq(bb[vflow_volume_index(box, i, j, k)], fb[fi]);
            }
    vflow_object_release(&full->base);
    vflow_object_release(&box->base);
    vflow_object_release(&c->base);
    vflow_object_release(&g->base);
}

Test(labelmap_stage, crop_mm_gives_the_box_and_a_vessel_off_the_grid_one_voxel)
{
    vflow_error err = {0};
    vflow_runtime_options o = {.threads = 2, .log_level = VFLOW_LOG_WARN};
    vflow_runtime *rt = vflow_runtime_new(&o, &err);
    cr_assert_eq(vflow_runtime_add_plugin_info(rt, &info, "test", &err), 0);
    vflow_stage *st = vflow_stage_new(rt, &vflow_stage_labelmap, &err);
    double sp[3] = {0.4, 0.4, 0.4}, centre[3] = {0, 0, 0};
    vflow_volume *g = oblique_grid(48, sp, centre);
    synth_path p = {{-4, 0, 0}, 8.0, 0, 0, 0};
    synth_shape sh = {1.5, 1.0, 0.5, 0, 0, 0};
    vflow_contours *c = synth_contours(&p, &sh, 0.5, 32, false);
    cr_assert_eq(vflow_stage_set_input(st, "contours", &c->base, &err), 0);
    cr_assert_eq(vflow_stage_set_input(st, "volume", &g->base, &err), 0);
    cr_assert_eq(vflow_stage_set_param(st, "crop_mm", "2", &err), 0);
    cr_assert_eq(vflow_stage_run(st, &err), 0, "%s", err.message);
    vflow_volume *l = VFLOW_VOLUME(vflow_stage_output(st, "labels"));
    cr_assert_not_null(l);
    cr_assert_lt(vflow_volume_voxel_count(l), vflow_volume_voxel_count(g));
    size_t n[3];
    count_labels(l, n);
    cr_assert_gt(n[1], 0);
    cr_assert_gt(n[2], 0);
    cr_assert_gt(n[0], 0, "the 2 mm margin is background");
    vflow_object_release(&c->base);
    /* Far outside the grid: nothing to label, one zero voxel. */
    synth_path far = {{500, 500, 500}, 8.0, 0, 0, 0};
    c = synth_contours(&far, &sh, 0.5, 32, false);
    cr_assert_eq(vflow_stage_set_input(st, "contours", &c->base, &err), 0);
    cr_assert_eq(vflow_stage_run(st, &err), 0, "%s", err.message);
    l = VFLOW_VOLUME(vflow_stage_output(st, "labels"));
    cr_assert_eq(vflow_volume_voxel_count(l), 1);
    cr_assert_eq(((const uint8_t *)l->data)[0], 0);
    vflow_object_release(&c->base);
    vflow_object_release(&g->base);
    vflow_stage_free(st);
    vflow_runtime_free(rt);
}
