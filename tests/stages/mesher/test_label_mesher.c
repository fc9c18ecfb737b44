/* SPDX-License-Identifier: BSD-3-Clause */
/* Meshes from label maps (marching tetrahedra): closed, outward, volume. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>

#include "synth_contours.h"
#include "vessel_geom.h"
#include "vflow/runtime.h"
#include "vflow/volume.h"

/* Labels of the synthetic vessel on an oblique 0.2 mm grid (transfer full). */
static vflow_volume *vessel_labels(const vflow_contours *c)
{
    size_t dims[3] = {90, 60, 60};
    double a = 0.3;
    double aff[4][4] = {{0.2 * cos(a), -0.2 * sin(a), 0, -3},
                        {0.2 * sin(a), 0.2 * cos(a), 0, -8},
                        {0, 0, -0.22, 6.5},
                        {0, 0, 0, 1}};
    vflow_volume *g = vflow_volume_create(dims, VFLOW_DTYPE_U8, aff, NULL);
    cr_assert_not_null(g);
    size_t *kept = malloc(c->count * sizeof *kept), n = 0;
    cr_assert_eq(vflow_loft_select_stations(c, true, kept, &n, NULL), 0);
    for (int which = 1; which >= 0; which--) {
        vflow_mesh *m = vflow_loft_mesh(c, (vflow_loft_surface)which, kept, n, NULL);
        vflow_voxel_box box;
        cr_assert_eq(vflow_voxel_box_init(&box, m, g, NULL), 0);
        cr_assert_eq(vflow_voxelize_mesh(m, g, 1, 1, &box, NULL, NULL), 0);
        uint8_t *d = g->data;
        for (size_t k = 0; k < box.dims[2]; k++)
            for (size_t j = 0; j < box.dims[1]; j++)
                for (size_t i = 0; i < box.dims[0]; i++)
                    if (box.mask[i + box.dims[0] * (j + box.dims[1] * k)])
                        d[vflow_volume_index(g, box.lo[0] + i, box.lo[1] + j,
                                             box.lo[2] + k)] = which ? 2 : 1;
        vflow_voxel_box_free(&box);
        vflow_object_release(&m->base);
    }
    free(kept);
    return g;
}

static size_t count_at_least(const vflow_volume *l, uint8_t lo, uint8_t hi)
{
    const uint8_t *d = l->data;
    size_t n = 0;
    for (size_t i = 0; i < vflow_volume_voxel_count(l); i++)
        n += d[i] >= lo && d[i] <= hi;
    return n;
}

Test(label_mesher, surfaces_are_closed_outward_and_match_the_label_volume)
{
    synth_path p = {{0, 0, 0}, 6.0, 4.0, 1.0, 5.0};
    synth_shape sh = {1.6, 0.8, 0.6, 0, 0, 0};
    vflow_contours *c = synth_contours(&p, &sh, 0.3, 64, false);
    vflow_volume *l = vessel_labels(c);
    double vv = 0.2 * 0.2 * 0.22;
    for (unsigned smooth = 0; smooth <= 1; smooth++) {
        for (int which = 0; which < 2; which++) {
            vflow_error err = {0};
            vflow_mesh *m = vflow_label_surface(l, 1, which ? 255 : 1, smooth,
                                                &err);
            cr_assert_not_null(m, "%s", err.message);
            cr_assert_eq(vflow_mesh_count_bad_edges(m), 0, "smooth %u surface %d",
                         smooth, which);
            cr_assert_eq(vflow_mesh_count_self_intersections(m), 0);
            double vol = vflow_mesh_signed_volume(m);
            double want = (double)count_at_least(l, 1, which ? 255 : 1) * vv;
            cr_assert_gt(vol, 0.0);
            cr_assert_lt(fabs(vol - want) / want, 0.03,
                         "smooth %u surface %d: mesh %g mm3, labels %g mm3",
                         smooth, which, vol, want);
            vflow_object_release(&m->base);
        }
    }
    vflow_object_release(&l->base);
    vflow_object_release(&c->base);
}

Test(label_mesher, refuses_empty_and_non_u8_labels)
{
    size_t dims[3] = {8, 8, 8};
    vflow_volume *l = vflow_volume_create(dims, VFLOW_DTYPE_U8, NULL, NULL);
    vflow_error err = {0};
    cr_assert_null(vflow_label_surface(l, 1, 1, 1, &err));
    cr_assert_eq(err.code, VFLOW_EINVAL);
    vflow_volume *f = vflow_volume_create(dims, VFLOW_DTYPE_F32, NULL, NULL);
    cr_assert_null(vflow_label_surface(f, 1, 1, 1, &err));
    cr_assert_eq(err.code, VFLOW_ETYPE);
    vflow_object_release(&l->base);
    vflow_object_release(&f->base);
}

extern const vflow_stage_desc vflow_stage_label_mesher;
static const vflow_stage_desc *const stages[] = {&vflow_stage_label_mesher};
static const vflow_plugin_info info = {VFLOW_ABI_MAJOR, VFLOW_ABI_MINOR,
                                       "mesher", 1, stages};

Test(label_mesher_stage, outputs_lumen_inside_wall)
{
    vflow_error err = {0};
    vflow_runtime_options o = {.threads = 1, .log_level = VFLOW_LOG_WARN};
    vflow_runtime *rt = vflow_runtime_new(&o, &err);
    cr_assert_eq(vflow_runtime_add_plugin_info(rt, &info, "test", &err), 0);
    vflow_stage *st = vflow_stage_new(rt, &vflow_stage_label_mesher, &err);
    synth_path p = {{0, 0, 0}, 12.0, 0, 0, 0};
    synth_shape sh = {1.5, 1.0, 0.7, 6.0, 4.0, 0.4};
    vflow_contours *c = synth_contours(&p, &sh, 0.5, 32, false);
    vflow_volume *l = vessel_labels(c);
    cr_assert_eq(vflow_stage_set_input(st, "labels", &l->base, &err), 0);
    cr_assert_eq(vflow_stage_run(st, &err), 0, "%s", err.message);
    vflow_mesh *lumen = VFLOW_MESH(vflow_stage_output(st, "lumen"));
    vflow_mesh *wall = VFLOW_MESH(vflow_stage_output(st, "wall"));
    cr_assert_eq(vflow_mesh_count_bad_edges(lumen), 0);
    cr_assert_eq(vflow_mesh_count_bad_edges(wall), 0);
    cr_assert_lt(vflow_mesh_signed_volume(lumen), vflow_mesh_signed_volume(wall));
    vflow_object_release(&l->base);
    vflow_object_release(&c->base);
    vflow_stage_free(st);
    vflow_runtime_free(rt);
}
