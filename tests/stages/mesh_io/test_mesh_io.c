/* SPDX-License-Identifier: BSD-3-Clause */
/* Mesh writers: STL size and content, VTP structure, OBJ round trip. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mesh_io.h"
#include "synth_contours.h"
#include "vessel_geom.h"
#include "vflow/runtime.h"

static vflow_mesh *tube_mesh(void)
{
    synth_path p = {{1, 2, 3}, 6.0, 4.0, 1.0, 3.0};
    synth_shape sh = {1.5, 0.8, 0.5, 0, 0, 0};
    vflow_contours *c = synth_contours(&p, &sh, 0.5, 24, false);
    size_t kept[64], n = 0;
    cr_assert_leq(c->count, 64);
    cr_assert_eq(vflow_loft_select_stations(c, true, kept, &n, NULL), 0);
    vflow_mesh *m = vflow_loft_mesh(c, VFLOW_LOFT_OUTER, kept, n, NULL);
    vflow_object_release(&c->base);
    cr_assert_not_null(m);
    return m;
}

static char *tmp_path(const char *name)
{
    static char buf[256];
    snprintf(buf, sizeof buf, "/tmp/vflow_mesh_io_%d_%s", (int)getpid(), name);
    return buf;
}

static unsigned char *slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    *size = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(*size + 1);
    cr_assert_eq(fread(b, 1, *size, f), *size);
    b[*size] = 0;
    fclose(f);
    return b;
}

static float get_f32(const unsigned char *p)
{
    uint32_t v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                 (uint32_t)p[3] << 24;
    float f;
    memcpy(&f, &v, sizeof f);
    return f;
}

Test(mesh_io, binary_stl_has_exact_size_and_rereads_equal)
{
    vflow_mesh *m = tube_mesh();
    char *path = tmp_path("a.stl");
    vflow_error err = {0};
    cr_assert_eq(vflow_mesh_write_stl(m, path, &err), 0, "%s", err.message);
    size_t size;
    unsigned char *b = slurp(path, &size);
    cr_assert_eq(size, 84 + 50 * m->n_triangles);
    uint32_t n = (uint32_t)b[80] | (uint32_t)b[81] << 8 |
                 (uint32_t)b[82] << 16 | (uint32_t)b[83] << 24;
    cr_assert_eq(n, m->n_triangles);
    cr_assert_neq(memcmp(b, "solid", 5), 0, "binary STL must not start with 'solid'");
    for (size_t t = 0; t < m->n_triangles; t++) {
        const unsigned char *rec = b + 84 + 50 * t;
        float nrm[3], v[3][3];
        for (int k = 0; k < 3; k++)
            nrm[k] = get_f32(rec + 4 * k);
        for (int i = 0; i < 3; i++)
            for (int k = 0; k < 3; k++) {
                v[i][k] = get_f32(rec + 12 + 12 * i + 4 * k);
                cr_assert_eq(v[i][k], m->vertices[m->triangles[t][i]][k]);
            }
        double e1[3], e2[3], x[3];
        for (int k = 0; k < 3; k++)
            e1[k] = v[1][k] - v[0][k], e2[k] = v[2][k] - v[0][k];
        x[0] = e1[1] * e2[2] - e1[2] * e2[1];
        x[1] = e1[2] * e2[0] - e1[0] * e2[2];
        x[2] = e1[0] * e2[1] - e1[1] * e2[0];
        double len = sqrt(x[0] * x[0] + x[1] * x[1] + x[2] * x[2]);
        double dot = (nrm[0] * x[0] + nrm[1] * x[1] + nrm[2] * x[2]) / len;
        cr_assert_float_eq(dot, 1.0, 1e-5, "facet %zu normal not the winding's", t);
        cr_assert_eq(rec[48] | rec[49], 0);
    }
    free(b);
    unlink(path);
    vflow_object_release(&m->base);
}

static size_t count_substr(const char *s, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(s, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* The text of the DataArray named `name`, parsed as doubles. */
static size_t read_data_array(const char *xml, const char *name, double *out,
                              size_t max)
{
    char tag[64];
    snprintf(tag, sizeof tag, "Name=\"%s\"", name);
    const char *p = strstr(xml, tag);
    cr_assert_not_null(p, "no DataArray %s", name);
    p = strchr(p, '>') + 1;
    const char *end = strstr(p, "</DataArray>");
    size_t n = 0;
    while (p < end) {
        char *e;
        double v = strtod(p, &e);
        if (e == p || e > end)
            break;
        cr_assert_lt(n, max);
        out[n++] = v;
        p = e;
    }
    return n;
}

Test(mesh_io, vtp_is_well_formed_polydata_with_the_mesh)
{
    vflow_mesh *m = tube_mesh();
    char *path = tmp_path("a.vtp");
    cr_assert_eq(vflow_mesh_write_vtp(m, path, NULL), 0);
    size_t size;
    char *x = (char *)slurp(path, &size);
    cr_assert_eq(strncmp(x, "<?xml", 5), 0);
    cr_assert_not_null(strstr(x, "<VTKFile type=\"PolyData\""));
    char want[128];
    snprintf(want, sizeof want, "NumberOfPoints=\"%zu\"", m->n_vertices);
    cr_assert_not_null(strstr(x, want));
    snprintf(want, sizeof want, "NumberOfPolys=\"%zu\"", m->n_triangles);
    cr_assert_not_null(strstr(x, want));
    const char *tags[] = {"VTKFile", "PolyData", "Piece", "Points", "Polys",
                          "DataArray"};
    for (size_t i = 0; i < 6; i++) {
        char open[32], close[32];
        snprintf(open, sizeof open, "<%s ", tags[i]);
        snprintf(close, sizeof close, "</%s>", tags[i]);
        size_t no = count_substr(x, open) +
                    count_substr(x, (snprintf(open, sizeof open, "<%s>", tags[i]), open));
        cr_assert_eq(no, count_substr(x, close), "unbalanced <%s>", tags[i]);
    }
    size_t cap = 3 * m->n_triangles + 3 * m->n_vertices;
    double *v = malloc(cap * sizeof *v);
    cr_assert_eq(read_data_array(x, "Points", v, cap), 3 * m->n_vertices);
    for (size_t i = 0; i < m->n_vertices; i++)
        for (int k = 0; k < 3; k++)
            cr_assert_eq((float)v[3 * i + k], m->vertices[i][k]);
    cr_assert_eq(read_data_array(x, "connectivity", v, cap), 3 * m->n_triangles);
    for (size_t t = 0; t < m->n_triangles; t++)
        for (int k = 0; k < 3; k++)
            cr_assert_eq((uint32_t)v[3 * t + k], m->triangles[t][k]);
    cr_assert_eq(read_data_array(x, "offsets", v, cap), m->n_triangles);
    cr_assert_eq(v[m->n_triangles - 1], 3.0 * (double)m->n_triangles);
    free(v);
    free(x);
    unlink(path);
    vflow_object_release(&m->base);
}

Test(mesh_io, obj_lists_vertices_and_one_based_faces)
{
    vflow_mesh *m = tube_mesh();
    char *path = tmp_path("a.obj");
    cr_assert_eq(vflow_mesh_write_obj(m, path, NULL), 0);
    FILE *f = fopen(path, "r");
    char line[256];
    size_t nv = 0, nf = 0;
    while (fgets(line, sizeof line, f)) {
        float a, b, c;
        unsigned i, j, k;
        if (sscanf(line, "v %f %f %f", &a, &b, &c) == 3) {
            cr_assert_eq(a, m->vertices[nv][0]);
            cr_assert_eq(c, m->vertices[nv][2]);
            nv++;
        } else if (sscanf(line, "f %u %u %u", &i, &j, &k) == 3) {
            cr_assert_eq(i, m->triangles[nf][0] + 1);
            cr_assert_eq(k, m->triangles[nf][2] + 1);
            nf++;
        }
    }
    fclose(f);
    cr_assert_eq(nv, m->n_vertices);
    cr_assert_eq(nf, m->n_triangles);
    unlink(path);
    vflow_object_release(&m->base);
}

extern const vflow_stage_desc vflow_stage_mesh_stl;
extern const vflow_stage_desc vflow_stage_mesh_vtp;
extern const vflow_stage_desc vflow_stage_mesh_obj;
static const vflow_stage_desc *const stages[] = {
    &vflow_stage_mesh_stl, &vflow_stage_mesh_vtp, &vflow_stage_mesh_obj};
static const vflow_plugin_info info = {VFLOW_ABI_MAJOR, VFLOW_ABI_MINOR,
                                       "mesh_io", 3, stages};

Test(mesh_io_stage, writers_are_chosen_by_extension_and_write_the_path)
{
    vflow_error err = {0};
    vflow_runtime_options o = {.threads = 1, .log_level = VFLOW_LOG_WARN};
    vflow_runtime *rt = vflow_runtime_new(&o, &err);
    cr_assert_eq(vflow_runtime_add_plugin_info(rt, &info, "test", &err), 0,
                 "%s", err.message);
    cr_assert_eq(vflow_runtime_find_writer(rt, "out/lumen.stl", VFLOW_TYPE_MESH),
                 &vflow_stage_mesh_stl);
    cr_assert_eq(vflow_runtime_find_writer(rt, "w.vtp", VFLOW_TYPE_MESH),
                 &vflow_stage_mesh_vtp);
    cr_assert_eq(vflow_runtime_find_writer(rt, "w.obj", VFLOW_TYPE_MESH),
                 &vflow_stage_mesh_obj);
    vflow_mesh *m = tube_mesh();
    vflow_stage *st = vflow_stage_new(rt, &vflow_stage_mesh_stl, &err);
    char *path = tmp_path("stage.stl");
    cr_assert_eq(vflow_stage_set_param(st, "path", path, &err), 0);
    cr_assert_eq(vflow_stage_set_input(st, "mesh", &m->base, &err), 0);
    cr_assert_eq(vflow_stage_run(st, &err), 0, "%s", err.message);
    cr_assert_eq(access(path, F_OK), 0);
    unlink(path);
    vflow_stage_free(st);
    st = vflow_stage_new(rt, &vflow_stage_mesh_stl, &err);
    cr_assert_eq(vflow_stage_set_param(st, "path", "/nonexistent-dir/x.stl",
                                       &err), 0);
    cr_assert_eq(vflow_stage_set_input(st, "mesh", &m->base, &err), 0);
    cr_assert_eq(vflow_stage_run(st, &err), VFLOW_EIO);
    cr_assert_not_null(strstr(err.message, "/nonexistent-dir/x.stl"), "%s",
                       err.message);
    vflow_stage_free(st);
    vflow_object_release(&m->base);
    vflow_runtime_free(rt);
}
