/* SPDX-License-Identifier: BSD-3-Clause */
/* polyline_read: a centreline CSV (vflow's own or another tool's) back into
 * a polyline; malformed files are clear errors naming the line. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "polyline_io.h"
#include "vflow/runtime.h"

extern const vflow_stage_desc vflow_stage_polyline_read;

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

/* Runs the reader on `text` (NULL: on a missing file). Returns the
 * polyline (new reference) or NULL with *rc and err set. */
static vflow_polyline *read_text(const char *text, int *rc, vflow_error *err)
{
    char path[128];
    snprintf(path, sizeof path, "/tmp/vflow-pread-%ld.csv", (long)getpid());
    if (text != NULL)
        write_text(path, text);
    else
        unlink(path);
    vflow_runtime_options o = {.threads = 1, .log_level = VFLOW_LOG_ERROR};
    vflow_runtime *rt = vflow_runtime_new(&o, err);
    const vflow_stage_desc *stages[] = {&vflow_stage_polyline_read};
    vflow_plugin_info info = {VFLOW_ABI_MAJOR, VFLOW_ABI_MINOR, "pread", 1,
                              stages};
    cr_assert_eq(vflow_runtime_add_plugin_info(rt, &info, "test", err), 0);
    vflow_stage *st = vflow_stage_new(rt, &vflow_stage_polyline_read, err);
    cr_assert_eq(vflow_stage_set_param(st, "path", path, err), 0);
    *rc = vflow_stage_run(st, err);
    vflow_polyline *pl = NULL;
    if (*rc == 0) {
        vflow_object *o2 = vflow_stage_output(st, "centerline");
        cr_assert_not_null(o2);
        /* The cast evaluates its argument once (else this leaks under
         * ASan: one retain per evaluation). */
        pl = VFLOW_POLYLINE(vflow_object_retain(o2));
    }
    vflow_stage_free(st);
    vflow_runtime_free(rt);
    unlink(path);
    return pl;
}

Test(polyline_read, reads_points_and_keeps_other_columns)
{
    int rc;
    vflow_error err = {0};
    vflow_polyline *pl = read_text(
        "# from another tool\n"
        "s_mm,x,y,z,lumen_radius_mm\n"
        "0.0, 1.5, -2.25, 10, 2.0\n"
        "1.0,2.5,-2.25,10.0,1.75\n"
        "\n"
        "2.0,3.5,-2.25,10.0,1.5\r\n",
        &rc, &err);
    cr_assert_eq(rc, 0, "%s", err.message);
    cr_assert_eq(pl->count, 3);
    cr_expect_float_eq(pl->xyz[0][0], 1.5, 1e-12);
    cr_expect_float_eq(pl->xyz[2][1], -2.25, 1e-12);
    cr_expect_float_eq(pl->xyz[2][2], 10.0, 1e-12);
    const double *r = vflow_polyline_array(pl, "lumen_radius_mm");
    cr_assert_not_null(r, "extra column kept as an array");
    cr_expect_float_eq(r[1], 1.75, 1e-12);
    cr_expect_null(vflow_polyline_array(pl, "s_mm"),
                   "arc length comes from the points, not the file");
    vflow_object_release(&pl->base);
}

Test(polyline_read, round_trips_the_csv_writer)
{
    vflow_polyline *a = vflow_polyline_create(4, NULL);
    double *rad = vflow_polyline_add_array(a, "radius");
    for (size_t i = 0; i < 4; i++) {
        a->xyz[i][0] = 0.1 * (double)i;
        a->xyz[i][1] = 1.0 / 3.0;
        a->xyz[i][2] = -7.0 + (double)i;
        rad[i] = 1.25;
    }
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cr_assert_eq(vflow_polyline_write_csv(a, f), 0);
    fclose(f);
    int rc;
    vflow_error err = {0};
    vflow_polyline *b = read_text(buf, &rc, &err);
    cr_assert_eq(rc, 0, "%s", err.message);
    cr_assert_eq(b->count, 4);
    for (size_t i = 0; i < 4; i++)
        for (int k = 0; k < 3; k++)
            cr_expect_float_eq(b->xyz[i][k], a->xyz[i][k], 1e-6);
    cr_expect_float_eq(vflow_polyline_array(b, "radius")[3], 1.25, 1e-9);
    free(buf);
    vflow_object_release(&a->base);
    vflow_object_release(&b->base);
}

/* Each malformed file: the expected code and a message naming what is
 * wrong and where. */
static void expect_error(const char *text, int code, const char *needle)
{
    int rc;
    vflow_error err = {0};
    vflow_polyline *pl = read_text(text, &rc, &err);
    cr_expect_null(pl);
    cr_expect_eq(rc, code, "rc %d for %s", rc, needle);
    cr_expect(strstr(err.message, needle) != NULL, "'%s' lacks '%s'",
              err.message, needle);
}

Test(polyline_read, malformed_files_are_clear_errors)
{
    expect_error("s_mm,x,y\n0,1,2\n1,2,3\n", VFLOW_EFORMAT, "no column \"z\"");
    expect_error("x,y,z\n0,0,0\n1,abc,0\n", VFLOW_EFORMAT,
                 "line 3, column \"y\": \"abc\"");
    expect_error("x,y,z\n0,0,0\n1,0\n", VFLOW_EFORMAT, "line 3: 2 fields");
    expect_error("x,y,z\n0,0,0\n", VFLOW_EFORMAT, "at least 2");
    expect_error("# nothing\n", VFLOW_EFORMAT, "empty");
    expect_error("x,y,z\n0,0,0\n1,nan,0\n", VFLOW_EFORMAT, "finite");
    expect_error(NULL, VFLOW_ENOENT, "cannot open centreline");
}
