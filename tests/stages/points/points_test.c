/* SPDX-License-Identifier: BSD-3-Clause */
/* points: vox -> world conversion, bounds, waypoints, error messages. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "vflow/runtime.h"
#include "vflow/volume.h"

extern const vflow_stage_desc vflow_stage_points;

/* An oblique anisotropic 20 x 30 x 10 volume. */
static vflow_volume *test_volume(void)
{
    const double c = cos(0.3), s = sin(0.3);
    double a[4][4] = {{0.5 * c, -0.8 * s, 0, -10},
                      {0.5 * s, 0.8 * c, 0, 20},
                      {0, 0, 2.0, 30},
                      {0, 0, 0, 1}};
    size_t dims[3] = {20, 30, 10};
    vflow_error err;
    vflow_volume *v = vflow_volume_create(dims, VFLOW_DTYPE_I16, a, &err);
    cr_assert_not_null(v, "%s", err.message);
    snprintf(v->source, sizeof v->source, "phantom.nii.gz");
    return v;
}

/* Runs the stage; returns its rc, *out a retained points object. */
static int run_points(vflow_volume *vol, const char *start, const char *end,
                      const char *waypoints, vflow_points **out,
                      vflow_error *err)
{
    static const vflow_stage_desc *const stages[] = {&vflow_stage_points};
    static const vflow_plugin_info info = {VFLOW_ABI_MAJOR, VFLOW_ABI_MINOR,
                                           "points", 1, stages};
    vflow_runtime_options opts = {.threads = 1, .log_level = VFLOW_LOG_WARN};
    vflow_runtime *rt = vflow_runtime_new(&opts, err);
    cr_assert_not_null(rt);
    cr_assert_eq(vflow_runtime_add_plugin_info(rt, &info, "test", err), 0);
    vflow_stage *st = vflow_stage_new(rt, &vflow_stage_points, err);
    cr_assert_not_null(st);
    int rc = vflow_stage_set_param(st, "start", start, err);
    if (rc == 0)
        rc = vflow_stage_set_param(st, "end", end, err);
    if (rc == 0 && waypoints != NULL)
        rc = vflow_stage_set_param(st, "waypoints", waypoints, err);
    if (rc == 0 && vol != NULL)
        rc = vflow_stage_set_input(st, "volume", &vol->base, err);
    if (rc == 0)
        rc = vflow_stage_run(st, err);
    *out = NULL;
    if (rc == 0) {
        *out = VFLOW_POINTS(vflow_stage_output(st, "points"));
        cr_assert_not_null(*out);
        vflow_object_retain(&(*out)->base);
    }
    vflow_stage_free(st);
    vflow_runtime_free(rt);
    return rc;
}

Test(points, converts_voxel_points_with_the_affine)
{
    vflow_volume *v = test_volume();
    vflow_points *p;
    vflow_error err;
    cr_assert_eq(run_points(v, "vox:3,4.5,2", "vox:19,29,9", NULL, &p, &err),
                 0, "%s", err.message);
    cr_assert_eq(p->count, 2);
    cr_assert_str_eq(p->items[0].name, "start");
    cr_assert_str_eq(p->items[1].name, "end");
    double ijk[3] = {3, 4.5, 2}, want[3];
    vflow_volume_index_to_world(v, ijk, want);
    for (int a = 0; a < 3; a++)
        cr_assert_float_eq(p->items[0].xyz[a], want[a], 1e-12);
    /* Round trip back to the voxel. */
    double back[3];
    vflow_volume_world_to_index(v, p->items[1].xyz, back);
    cr_assert_float_eq(back[0], 19, 1e-9);
    cr_assert_float_eq(back[1], 29, 1e-9);
    cr_assert_float_eq(back[2], 9, 1e-9);
    vflow_object_release(&p->base);
    vflow_object_release(&v->base);
}

Test(points, keeps_world_points_and_orders_waypoints)
{
    vflow_volume *v = test_volume();
    double w[3][3];
    const double ijk[3][3] = {{5, 5, 5}, {10, 12, 3}, {15, 20, 7}};
    for (int n = 0; n < 3; n++)
        vflow_volume_index_to_world(v, ijk[n], w[n]);
    char start[128], end[128], way[256];
    snprintf(start, sizeof start, "%.17g,%.17g,%.17g", w[0][0], w[0][1],
             w[0][2]);
    snprintf(end, sizeof end, "vox:15,20,7");
    snprintf(way, sizeof way, "[%.17g, %.17g, %.17g, %.17g, %.17g, %.17g]",
             w[1][0], w[1][1], w[1][2], w[0][0] + 0.1, w[0][1], w[0][2]);
    vflow_points *p;
    vflow_error err;
    cr_assert_eq(run_points(v, start, end, way, &p, &err), 0, "%s",
                 err.message);
    cr_assert_eq(p->count, 4);
    const char *names[] = {"start", "waypoint1", "waypoint2", "end"};
    for (size_t i = 0; i < 4; i++)
        cr_assert_str_eq(p->items[i].name, names[i]);
    for (int a = 0; a < 3; a++) {
        cr_assert_eq(p->items[0].xyz[a], w[0][a]);
        cr_assert_eq(p->items[1].xyz[a], w[1][a]);
        cr_assert_float_eq(p->items[3].xyz[a], w[2][a], 1e-9);
    }
    vflow_object_release(&p->base);
    vflow_object_release(&v->base);
}

Test(points, works_without_a_volume_for_world_points)
{
    vflow_points *p;
    vflow_error err;
    cr_assert_eq(run_points(NULL, "1,2,3", "[4, 5, 6]", NULL, &p, &err), 0,
                 "%s", err.message);
    cr_assert_eq(p->items[1].xyz[2], 6);
    vflow_object_release(&p->base);
    cr_assert_eq(run_points(NULL, "vox:1,2,3", "4,5,6", NULL, &p, &err),
                 VFLOW_EINVAL);
    cr_assert(strstr(err.message, "'start'") != NULL, "%s", err.message);
    cr_assert(strstr(err.message, "no volume") != NULL, "%s", err.message);
}

Test(points, outside_point_names_itself_and_the_bounding_box)
{
    vflow_volume *v = test_volume();
    vflow_points *p;
    vflow_error err;
    cr_assert_eq(run_points(v, "vox:1,1,1", "vox:20,5,5", NULL, &p, &err),
                 VFLOW_ERANGE);
    cr_assert_null(p);
    cr_assert(strstr(err.message, "point 'end'") != NULL, "%s", err.message);
    cr_assert(strstr(err.message, "vox:20,5,5") != NULL, "%s", err.message);
    cr_assert(strstr(err.message, "phantom.nii.gz") != NULL, "%s",
              err.message);
    /* z spans 30..48 mm (10 slices of 2 mm). */
    cr_assert(strstr(err.message, "z 30.00..48.00 mm") != NULL, "%s",
              err.message);
    cr_assert_eq(run_points(v, "0,0,-100", "vox:2,2,2", NULL, &p, &err),
                 VFLOW_ERANGE);
    cr_assert(strstr(err.message, "point 'start' (0.00, 0.00, -100.00)") !=
                  NULL, "%s", err.message);
    cr_assert_eq(run_points(v, "vox:1,1,1", "vox:2,2,2", "[0, 0, 0]", &p,
                            &err), VFLOW_ERANGE);
    cr_assert(strstr(err.message, "'waypoint1'") != NULL, "%s", err.message);
    vflow_object_release(&v->base);
}

Test(points, refuses_equal_points_and_partial_waypoints)
{
    vflow_volume *v = test_volume();
    vflow_points *p;
    vflow_error err;
    double ijk[3] = {4, 4, 4}, xyz[3];
    vflow_volume_index_to_world(v, ijk, xyz);
    char start[128];
    snprintf(start, sizeof start, "%.17g,%.17g,%.17g", xyz[0], xyz[1], xyz[2]);
    cr_assert_eq(run_points(v, start, "vox:4,4,4", NULL, &p, &err),
                 VFLOW_EINVAL);
    cr_assert(strstr(err.message, "same point") != NULL, "%s", err.message);
    cr_assert_eq(run_points(v, "vox:1,1,1", "vox:2,2,2", "[1, 2]", &p, &err),
                 VFLOW_EINVAL);
    cr_assert(strstr(err.message, "triples") != NULL, "%s", err.message);
    cr_assert_neq(run_points(v, "vox:1,1", "vox:2,2,2", NULL, &p, &err), 0);
    vflow_object_release(&v->base);
}
