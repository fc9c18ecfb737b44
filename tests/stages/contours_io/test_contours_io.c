/* SPDX-License-Identifier: BSD-3-Clause */
/* contours.json shape and round trip; measures table JSON and CSV. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "contours_io.h"
#include "json_mini.h"
#include "synth_contours.h"
#include "vflow/runtime.h"

static char *tmp_path(const char *name)
{
    static char buf[4][256];
    static int slot;
    slot = (slot + 1) % 4;
    snprintf(buf[slot], sizeof buf[slot], "/tmp/vflow_contours_io_%d_%s",
             (int)getpid(), name);
    return buf[slot];
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f);
    fseek(f, 0, SEEK_END);
    size_t n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc(n + 1);
    cr_assert_eq(fread(b, 1, n, f), n);
    b[n] = 0;
    fclose(f);
    return b;
}

static void spit(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

static vflow_contours *sample_contours(void)
{
    synth_path p = {{-12.25, 7.5, 103.125}, 5.0, 3.0, 0.8, 2.0};
    synth_shape sh = {1.3, 0.7, 0.45, 4.0, 3.0, 0.3};
    vflow_contours *c = synth_contours(&p, &sh, 0.37, 48, false);
    cr_assert_not_null(c);
    return c;
}

Test(contours_io, json_has_the_exact_shape_the_scorer_reads)
{
    vflow_contours *c = sample_contours();
    char *path = tmp_path("shape.json");
    vflow_error err = {0};
    cr_assert_eq(vflow_contours_write_json(c, path, &err), 0, "%s", err.message);
    char *text = slurp(path);
    json_value *root = json_parse(text, &err);
    cr_assert_not_null(root, "%s", err.message);
    const char *top[] = {"n_angles", "coordinate_system", "units", "stations"};
    cr_assert_eq(root->count, 4);
    for (size_t i = 0; i < 4; i++)
        cr_assert_str_eq(root->keys[i], top[i]);
    cr_assert_eq(json_get(root, "n_angles")->number, 48.0);
    cr_assert_str_eq(json_get(root, "coordinate_system")->string, "RAS");
    cr_assert_str_eq(json_get(root, "units")->string, "mm");
    const json_value *st = json_get(root, "stations");
    cr_assert_eq(st->count, c->count);
    const char *keys[] = {"s_mm", "center", "tangent", "normal", "binormal",
                          "lumen_r", "outer_r"};
    for (size_t i = 0; i < 7; i++)
        cr_assert_str_eq(st->items[2].keys[i], keys[i]);
    cr_assert_eq(json_get(&st->items[2], "lumen_r")->count, 48);
    cr_assert_eq(json_get(&st->items[2], "center")->count, 3);
    json_free(root);
    free(text);
    unlink(path);
    vflow_object_release(&c->base);
}

Test(contours_io, json_round_trip_is_bit_exact)
{
    vflow_contours *c = sample_contours();
    c->lumen_r[5] = 1.0f / 3.0f;
    c->frames[1].s_mm = 0.1 + 0.2;
    char *path = tmp_path("rt.json");
    vflow_error err = {0};
    cr_assert_eq(vflow_contours_write_json(c, path, &err), 0);
    vflow_contours *r = vflow_contours_read_json(path, &err);
    cr_assert_not_null(r, "%s", err.message);
    cr_assert_eq(r->count, c->count);
    cr_assert_eq(r->n_angles, c->n_angles);
    cr_assert_eq(memcmp(r->frames, c->frames, c->count * sizeof *c->frames), 0);
    size_t n = c->count * c->n_angles * sizeof(float);
    cr_assert_eq(memcmp(r->lumen_r, c->lumen_r, n), 0);
    cr_assert_eq(memcmp(r->outer_r, c->outer_r, n), 0);
    cr_assert_eq(vflow_object_hash(&r->base), vflow_object_hash(&c->base));
    vflow_object_release(&r->base);
    unlink(path);
    vflow_object_release(&c->base);
}

Test(contours_io, reader_names_file_and_problem)
{
    vflow_error err = {0};
    char *path = tmp_path("bad.json");
    spit(path, "{\"n_angles\": 4,\n \"stations\": [ {\"s_mm\": 0,, } ]}");
    cr_assert_null(vflow_contours_read_json(path, &err));
    cr_assert_eq(err.code, VFLOW_EFORMAT);
    cr_assert_not_null(strstr(err.message, "line 2"), "%s", err.message);
    cr_assert_not_null(strstr(err.message, path), "%s", err.message);

    spit(path, "{\"n_angles\":4,\"stations\":[{\"s_mm\":0,\"center\":[0,0,0],"
               "\"tangent\":[1,0,0],\"normal\":[0,1,0],\"binormal\":[0,0,1],"
               "\"lumen_r\":[1,1,1],\"outer_r\":[2,2,2,2]}]}");
    cr_assert_null(vflow_contours_read_json(path, &err));
    cr_assert_eq(err.code, VFLOW_EFORMAT);
    cr_assert_not_null(strstr(err.message, "station 0: 'lumen_r'"), "%s",
                       err.message);

    spit(path, "[1, 2]");
    cr_assert_null(vflow_contours_read_json(path, &err));
    cr_assert_not_null(strstr(err.message, "not a contours file"));
    unlink(path);

    cr_assert_null(vflow_contours_read_json("/nonexistent/c.json", &err));
    cr_assert_eq(err.code, VFLOW_ENOENT);
}

static vflow_table *sample_table(void)
{
    vflow_table *t = vflow_table_create(1, NULL);
    vflow_table_add_column(t, "length_mm")[0] = 61.25;
    vflow_table_add_column(t, "calcium_volume_mm3")[0] = NAN;
    vflow_table_add_column(t, "n_stations")[0] = 201;
    return t;
}

Test(contours_io, one_row_table_json_is_a_flat_object)
{
    vflow_table *t = sample_table();
    char *path = tmp_path("m.json");
    cr_assert_eq(vflow_table_write_json(t, path, NULL), 0);
    char *text = slurp(path);
    vflow_error err = {0};
    json_value *root = json_parse(text, &err);
    cr_assert_not_null(root, "%s: %s", err.message, text);
    cr_assert_eq(root->count, 3);
    cr_assert_float_eq(json_get(root, "length_mm")->number, 61.25, 0);
    cr_assert_eq(json_get(root, "calcium_volume_mm3")->kind, JSON_NULL);
    cr_assert_float_eq(json_get(root, "n_stations")->number, 201, 0);
    json_free(root);
    free(text);
    unlink(path);
    vflow_object_release(&t->base);
}

Test(contours_io, table_csv_has_header_and_row)
{
    vflow_table *t = sample_table();
    char *path = tmp_path("m.csv");
    cr_assert_eq(vflow_table_write_csv(t, path, NULL), 0);
    char *text = slurp(path);
    cr_assert_str_eq(text, "length_mm,calcium_volume_mm3,n_stations\n"
                           "61.25,nan,201\n");
    free(text);
    unlink(path);
    vflow_object_release(&t->base);
}

extern const vflow_stage_desc vflow_stage_contours_json;
extern const vflow_stage_desc vflow_stage_contours_load;
extern const vflow_stage_desc vflow_stage_table_json;
extern const vflow_stage_desc vflow_stage_table_csv;
static const vflow_stage_desc *const stages[] = {
    &vflow_stage_contours_json, &vflow_stage_contours_load,
    &vflow_stage_table_json, &vflow_stage_table_csv};
static const vflow_plugin_info info = {VFLOW_ABI_MAJOR, VFLOW_ABI_MINOR,
                                       "contours_io", 4, stages};

Test(contours_io_stage, writer_and_reader_stages_round_trip)
{
    vflow_error err = {0};
    vflow_runtime_options o = {.threads = 1, .log_level = VFLOW_LOG_WARN};
    vflow_runtime *rt = vflow_runtime_new(&o, &err);
    cr_assert_eq(vflow_runtime_add_plugin_info(rt, &info, "test", &err), 0,
                 "%s", err.message);
    cr_assert_eq(vflow_runtime_find_writer(rt, "o/contours.json",
                                           VFLOW_TYPE_CONTOURS),
                 &vflow_stage_contours_json);
    cr_assert_eq(vflow_runtime_find_writer(rt, "o/measures.json",
                                           VFLOW_TYPE_TABLE),
                 &vflow_stage_table_json);
    cr_assert_eq(vflow_runtime_find_writer(rt, "o/measures.csv",
                                           VFLOW_TYPE_TABLE),
                 &vflow_stage_table_csv);
    cr_assert_eq(vflow_runtime_find_reader(rt, "o/contours.json"),
                 &vflow_stage_contours_load);
    vflow_contours *c = sample_contours();
    char *path = tmp_path("contours.json");
    vflow_stage *w = vflow_stage_new(rt, &vflow_stage_contours_json, &err);
    cr_assert_eq(vflow_stage_set_param(w, "path", path, &err), 0);
    cr_assert_eq(vflow_stage_set_input(w, "contours", &c->base, &err), 0);
    cr_assert_eq(vflow_stage_run(w, &err), 0, "%s", err.message);
    vflow_stage *r = vflow_stage_new(rt, &vflow_stage_contours_load, &err);
    cr_assert_eq(vflow_stage_set_param(r, "path", path, &err), 0);
    cr_assert_eq(vflow_stage_run(r, &err), 0, "%s", err.message);
    vflow_object *back = vflow_stage_output(r, "contours");
    cr_assert_eq(vflow_object_hash(back), vflow_object_hash(&c->base));
    unlink(path);
    vflow_stage_free(w);
    vflow_stage_free(r);
    vflow_object_release(&c->base);
    vflow_runtime_free(rt);
}
