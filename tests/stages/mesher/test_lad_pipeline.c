/* SPDX-License-Identifier: BSD-3-Clause */
/* End to end: pipelines/lad.yaml on the bundled phantom writes every output,
 * and the files are consistent: closed outward meshes whose volumes agree
 * with labels.nii.gz within 3 %, contours.json and measures.json readable.
 * Skips when the plugins are not built as modules or the data is absent. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "contours_io.h"
#include "json_mini.h"
#include "nifti_io.h"
#include "vessel_geom.h"
#include "vflow/runtime.h"
#include "vflow/volume.h"

static char out_dir[] = "/tmp/vflow_lad_pipeline_XXXXXX";

static char *out_path(const char *name)
{
    static char buf[4][512];
    static int slot;
    slot = (slot + 1) % 4;
    snprintf(buf[slot], sizeof buf[slot], "%s/%s", out_dir, name);
    return buf[slot];
}

static unsigned char *slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "missing output %s", path);
    fseek(f, 0, SEEK_END);
    *size = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(*size + 1);
    cr_assert_eq(fread(b, 1, *size, f), *size);
    b[*size] = 0;
    fclose(f);
    return b;
}

typedef struct keyed_vertex {
    float xyz[3];
    uint32_t corner;  /* 3 * triangle + k */
} keyed_vertex;

static int kv_cmp(const void *pa, const void *pb)
{
    const keyed_vertex *a = pa, *b = pb;
    return memcmp(a->xyz, b->xyz, sizeof a->xyz);
}

/* Reads a binary STL and welds bit-identical vertices (transfer full). */
static vflow_mesh *read_stl(const char *path)
{
    size_t size;
    unsigned char *b = slurp(path, &size);
    cr_assert_geq(size, 84);
    uint32_t n;
    memcpy(&n, b + 80, 4);
    cr_assert_eq(size, 84 + 50 * (size_t)n, "%s: size %zu for %u triangles",
                 path, size, n);
    keyed_vertex *kv = malloc(3 * (size_t)n * sizeof *kv);
    for (size_t t = 0; t < n; t++)
        for (int k = 0; k < 3; k++) {
            memcpy(kv[3 * t + k].xyz, b + 84 + 50 * t + 12 + 12 * k, 12);
            kv[3 * t + k].corner = (uint32_t)(3 * t + k);
        }
    qsort(kv, 3 * (size_t)n, sizeof *kv, kv_cmp);
    size_t nv = 0;
    uint32_t *id = malloc(3 * (size_t)n * sizeof *id);
    for (size_t i = 0; i < 3 * (size_t)n; i++) {
        if (i == 0 || kv_cmp(&kv[i], &kv[i - 1]) != 0)
            nv++;
        id[kv[i].corner] = (uint32_t)(nv - 1);
    }
    vflow_mesh *m = vflow_mesh_create(nv, n, NULL);
    for (size_t i = 0; i < 3 * (size_t)n; i++)
        memcpy(m->vertices[id[kv[i].corner]], kv[i].xyz, 12);
    for (size_t t = 0; t < n; t++)
        for (int k = 0; k < 3; k++)
            m->triangles[t][k] = id[3 * t + k];
    free(id);
    free(kv);
    free(b);
    return m;
}

static double voxel_volume(const vflow_volume *v)
{
    const double (*a)[4] = v->affine;
    return fabs(a[0][0] * (a[1][1] * a[2][2] - a[1][2] * a[2][1]) -
                a[0][1] * (a[1][0] * a[2][2] - a[1][2] * a[2][0]) +
                a[0][2] * (a[1][0] * a[2][1] - a[1][1] * a[2][0]));
}

/* Runs lad.yaml into out_dir; false when it cannot run here. */
static bool run_lad(void)
{
    const char *root = getenv("VFLOW_SOURCE_ROOT");
    char yaml[1024], image[1024];
    snprintf(yaml, sizeof yaml, "%s/pipelines/lad.yaml", root ? root : ".");
    snprintf(image, sizeof image, "%s/data/lad_phantom/image.nii.gz",
             root ? root : ".");
    if (access(image, R_OK) != 0)
        return false;
    vflow_error err = {0};
    vflow_runtime_options o = {.threads = 2, .log_level = VFLOW_LOG_ERROR};
    vflow_runtime *rt = vflow_runtime_new(&o, &err);
    cr_assert_not_null(rt, "%s", err.message);
    cr_assert_eq(vflow_runtime_add_default_plugins(rt, &err), 0, "%s",
                 err.message);
    const char *needed[] = {"nifti_load", "frangi", "cost_map", "fmm", "refine",
                            "measure", "mesher", "labelmap", "mesh_stl",
                            "contours_json", "polyline_csv", "cpr"};
    for (size_t i = 0; i < sizeof needed / sizeof needed[0]; i++)
        if (vflow_runtime_find_stage(rt, needed[i]) == NULL) {
            vflow_runtime_free(rt);
            return false;
        }
    vflow_pipeline *p = vflow_pipeline_load(rt, yaml, NULL, 0, &err);
    cr_assert_not_null(p, "%s", err.message);
    cr_assert_not_null(mkdtemp(out_dir));
    vflow_run_options ro = {.out_dir = out_dir};
    cr_assert_eq(vflow_pipeline_run(p, &ro, &err), 0, "%s", err.message);
    vflow_pipeline_free(p);
    vflow_runtime_free(rt);
    return true;
}

Test(lad_pipeline, writes_consistent_geometry_outputs, .timeout = 300)
{
    if (!run_lad())
        cr_skip_test("plugin modules or data/lad_phantom not available");
    const char *files[] = {"centerline.csv", "centerline.vtp",
                           "centerline.mrk.json", "lumen.stl", "wall.stl",
                           "labels.nii.gz", "contours.json", "cpr.nii.gz",
                           "sections.nii.gz", "measures.json", "report.json"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        cr_assert_eq(access(out_path(files[i]), R_OK), 0, "no %s", files[i]);

    vflow_error err = {0};
    vflow_volume *labels = NULL;
    cr_assert_eq(vflow_nifti_read(out_path("labels.nii.gz"), &labels, &err), 0,
                 "%s", err.message);
    size_t count[3] = {0};
    const uint8_t *d = labels->data;
    for (size_t i = 0; i < vflow_volume_voxel_count(labels); i++) {
        cr_assert_leq(d[i], 2);
        count[d[i]]++;
    }
    double vv = voxel_volume(labels);
    double lab[2] = {(double)count[1] * vv, (double)(count[1] + count[2]) * vv};
    const char *stl[2] = {"lumen.stl", "wall.stl"};
    for (int w = 0; w < 2; w++) {
        vflow_mesh *m = read_stl(out_path(stl[w]));
        cr_assert_eq(vflow_mesh_count_bad_edges(m), 0, "%s not closed", stl[w]);
        cr_assert_eq(vflow_mesh_count_self_intersections(m), 0, "%s", stl[w]);
        double vol = vflow_mesh_signed_volume(m);
        cr_assert_gt(vol, 0.0, "%s not outward", stl[w]);
        cr_assert_lt(fabs(vol - lab[w]) / vol, 0.03,
                     "%s: mesh %g mm3, labels %g mm3", stl[w], vol, lab[w]);
        vflow_object_release(&m->base);
    }
    vflow_object_release(&labels->base);

    vflow_contours *c = vflow_contours_read_json(out_path("contours.json"), &err);
    cr_assert_not_null(c, "%s", err.message);
    cr_assert_geq(c->count, 50);
    size_t size;
    char *text = (char *)slurp(out_path("measures.json"), &size);
    json_value *mj = json_parse(text, &err);
    cr_assert_not_null(mj, "%s", err.message);
    const char *keys[] = {"length_mm", "mla_mm2", "mla_s_mm", "mla_x", "mla_y",
                          "mla_z", "reference_area_mm2", "area_stenosis_pct",
                          "diameter_stenosis_pct", "plaque_volume_mm3",
                          "remodeling_index", "calcium_volume_mm3",
                          "n_stations"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        cr_assert_not_null(json_get(mj, keys[i]), "measures.json lacks %s",
                           keys[i]);
    cr_assert_float_eq(json_get(mj, "n_stations")->number, (double)c->count, 0);
    json_free(mj);
    free(text);
    text = (char *)slurp(out_path("centerline.csv"), &size);
    const char *header = "s_mm,x,y,z,lumen_area_mm2,lumen_diam_mm,min_diam_mm,"
                         "max_diam_mm,wall_area_mm2,plaque_burden";
    cr_assert_eq(strncmp(text, header, strlen(header)), 0, "header: %.120s",
                 text);
    free(text);
    vflow_object_release(&c->base);
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        unlink(out_path(files[i]));
    rmdir(out_dir);
}
