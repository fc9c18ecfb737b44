/* SPDX-License-Identifier: BSD-3-Clause */
/* The mesher stage through the single-stage harness. */
#include <criterion/criterion.h>

#include "synth_contours.h"
#include "vessel_geom.h"
#include "vflow/runtime.h"

extern const vflow_stage_desc vflow_stage_mesher;
static const vflow_stage_desc *const stages[] = {&vflow_stage_mesher};
static const vflow_plugin_info info = {VFLOW_ABI_MAJOR, VFLOW_ABI_MINOR,
                                       "mesher", 1, stages};

Test(mesher_stage, outputs_nested_lumen_and_wall)
{
    vflow_error err = {0};
    vflow_runtime_options o = {.threads = 2, .log_level = VFLOW_LOG_WARN};
    vflow_runtime *rt = vflow_runtime_new(&o, &err);
    cr_assert_not_null(rt);
    cr_assert_eq(vflow_runtime_add_plugin_info(rt, &info, "test", &err), 0,
                 "%s", err.message);
    vflow_stage *st = vflow_stage_new(rt, &vflow_stage_mesher, &err);
    cr_assert_not_null(st, "%s", err.message);
    synth_path p = {{0, 0, 0}, 6.0, 4.0, 1.2, 6.0};
    synth_shape sh = {1.5, 1.0, 0.6, 0, 0, 0};
    vflow_contours *c = synth_contours(&p, &sh, 0.5, 32, false);
    cr_assert_eq(vflow_stage_set_input(st, "contours", &c->base, &err), 0);
    cr_assert_eq(vflow_stage_run(st, &err), 0, "%s", err.message);
    vflow_mesh *lumen = VFLOW_MESH(vflow_stage_output(st, "lumen"));
    vflow_mesh *wall = VFLOW_MESH(vflow_stage_output(st, "wall"));
    cr_assert_not_null(lumen);
    cr_assert_not_null(wall);
    cr_assert_eq(vflow_mesh_count_bad_edges(lumen), 0);
    cr_assert_eq(vflow_mesh_count_bad_edges(wall), 0);
    cr_assert_lt(vflow_mesh_signed_volume(lumen), vflow_mesh_signed_volume(wall));
    vflow_object_release(&c->base);
    vflow_stage_free(st);
    vflow_runtime_free(rt);
}

Test(mesher_stage, rejects_contours_with_one_station)
{
    vflow_error err = {0};
    vflow_runtime_options o = {.threads = 1, .log_level = VFLOW_LOG_ERROR};
    vflow_runtime *rt = vflow_runtime_new(&o, &err);
    cr_assert_eq(vflow_runtime_add_plugin_info(rt, &info, "test", &err), 0);
    vflow_stage *st = vflow_stage_new(rt, &vflow_stage_mesher, &err);
    vflow_contours *c = vflow_contours_create(1, 8, NULL);
    cr_assert_eq(vflow_stage_set_input(st, "contours", &c->base, &err), 0);
    cr_assert_eq(vflow_stage_run(st, &err), VFLOW_EINVAL);
    cr_assert(strstr(err.message, "stations") != NULL, "%s", err.message);
    vflow_object_release(&c->base);
    vflow_stage_free(st);
    vflow_runtime_free(rt);
}
