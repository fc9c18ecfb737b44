/* SPDX-License-Identifier: BSD-3-Clause */
/* Benchmark of the geometry outputs (issue 5): mesher, labelmap, measure and
 * the STL / contours.json / measures.json writers on 200 stations x 128
 * angles over a 512x512x256 grid (0.4 x 0.4 x 0.5 mm, the `bench` phantom
 * size), through the single-stage harness with the runtime's thread pool. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vflow/runtime.h"
#include "vflow/volume.h"

extern const vflow_stage_desc vflow_stage_mesher, vflow_stage_labelmap,
    vflow_stage_measure, vflow_stage_mesh_stl, vflow_stage_contours_json,
    vflow_stage_table_json;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* LAD-like 3-D course through the grid centre; radius 2 -> 1 mm with a 40 %
 * stenosis at 24 mm, wall 0.8 -> 0.5 mm. Frames by the double-reflection
 * rotation-minimising method (Wang et al., ACM TOG 2008). */
static void course(double s, double p[3])
{
    p[0] = 0.75 * s - 22.0;
    p[1] = 8.0 * sin(s / 9.0);
    p[2] = 0.5 * s - 15.0 + 3.0 * cos(s / 7.0);
}

static vflow_contours *bench_contours(size_t n, size_t na, double len)
{
    vflow_contours *c = vflow_contours_create(n, na, NULL);
    if (c == NULL)
        return NULL;
    double s = 0.0, prev[3];
    course(0.0, prev);
    for (size_t i = 0; i < n; i++) {
        double target = len * (double)i / (double)(n - 1), p[3], q[3];
        while (s < target) /* arc length by fine stepping */
            s += 0.001, course(s, p);
        vflow_frame *f = &c->frames[i];
        course(target, f->center);
        course(target - 0.01, p), course(target + 0.01, q);
        double t[3] = {q[0] - p[0], q[1] - p[1], q[2] - p[2]};
        double tl = sqrt(t[0] * t[0] + t[1] * t[1] + t[2] * t[2]);
        for (int k = 0; k < 3; k++)
            f->tangent[k] = t[k] / tl;
        f->s_mm = target;
        if (i == 0) {
            double up[3] = {0, 0, 1}, d = f->tangent[2];
            for (int k = 0; k < 3; k++)
                f->normal[k] = up[k] - d * f->tangent[k];
        } else { /* double reflection */
            const vflow_frame *g = &c->frames[i - 1];
            double v1[3], c1 = 0, rl[3], tl2[3], v2[3], c2 = 0, dr = 0, dt = 0;
            for (int k = 0; k < 3; k++)
                v1[k] = f->center[k] - g->center[k], c1 += v1[k] * v1[k];
            for (int k = 0; k < 3; k++) {
                dr += v1[k] * g->normal[k], dt += v1[k] * g->tangent[k];
            }
            for (int k = 0; k < 3; k++) {
                rl[k] = g->normal[k] - 2.0 / c1 * dr * v1[k];
                tl2[k] = g->tangent[k] - 2.0 / c1 * dt * v1[k];
                v2[k] = f->tangent[k] - tl2[k];
                c2 += v2[k] * v2[k];
            }
            double d2 = 0;
            for (int k = 0; k < 3; k++)
                d2 += v2[k] * rl[k];
            for (int k = 0; k < 3; k++)
                f->normal[k] = c2 > 0 ? rl[k] - 2.0 / c2 * d2 * v2[k] : rl[k];
        }
        double nl = sqrt(f->normal[0] * f->normal[0] + f->normal[1] * f->normal[1] +
                         f->normal[2] * f->normal[2]);
        for (int k = 0; k < 3; k++)
            f->normal[k] /= nl;
        f->binormal[0] = f->tangent[1] * f->normal[2] - f->tangent[2] * f->normal[1];
        f->binormal[1] = f->tangent[2] * f->normal[0] - f->tangent[0] * f->normal[2];
        f->binormal[2] = f->tangent[0] * f->normal[1] - f->tangent[1] * f->normal[0];
        double r = 2.0 - target / len, w = 0.8 - 0.3 * target / len;
        double u = fabs(target - 24.0) < 3.0 ? 0.5 * (1 + cos(M_PI * (target - 24.0) / 3.0)) : 0.0;
        for (size_t a = 0; a < na; a++) {
            double th = 2.0 * M_PI * (double)a / (double)na;
            double rl = r * (1.0 - 0.4 * u) * (1.0 + 0.05 * cos(2 * th));
            c->lumen_r[i * na + a] = (float)rl;
            c->outer_r[i * na + a] = (float)(r + w);
        }
    }
    return c;
}

static vflow_volume *bench_grid(void)
{
    size_t dims[3] = {512, 512, 256};
    double aff[4][4] = {{0.4, 0, 0, -102.2}, {0, 0.4, 0, -102.2},
                        {0, 0, 0.5, -63.75}, {0, 0, 0, 1}};
    vflow_volume *v = vflow_volume_create(dims, VFLOW_DTYPE_I16, aff, NULL);
    if (v == NULL)
        return NULL;
    v->modality = VFLOW_MODALITY_CT;
    int16_t *d = v->data;
    size_t n = vflow_volume_voxel_count(v);
    for (size_t i = 0; i < n; i++)
        d[i] = (int16_t)(i % 7 == 0 ? 200 : 40);
    return v;
}

typedef struct timing {
    const char *name;
    double best, sum;
} timing;

static int run_stage(vflow_runtime *rt, const vflow_stage_desc *d,
                     const char *in1, vflow_object *o1, const char *in2,
                     vflow_object *o2, const char *path, vflow_object **out,
                     const char *out_name, double *dt)
{
    vflow_error err = {0};
    vflow_stage *st = vflow_stage_new(rt, d, &err);
    if (st == NULL || vflow_stage_set_input(st, in1, o1, &err) != 0 ||
        (in2 && vflow_stage_set_input(st, in2, o2, &err) != 0) ||
        (path && vflow_stage_set_param(st, "path", path, &err) != 0)) {
        fprintf(stderr, "%s: %s\n", d->name, err.message);
        vflow_stage_free(st);
        return -1;
    }
    double t0 = now_s();
    int rc = vflow_stage_run(st, &err);
    *dt = now_s() - t0;
    if (rc != 0)
        fprintf(stderr, "%s: %s\n", d->name, err.message);
    if (out)
        *out = vflow_object_retain(vflow_stage_output(st, out_name));
    vflow_stage_free(st);
    return rc;
}

int main(int argc, char **argv)
{
    unsigned threads = argc > 1 ? (unsigned)atoi(argv[1]) : 2;
    int reps = argc > 2 ? atoi(argv[2]) : 5;
    const vflow_stage_desc *all[] = {&vflow_stage_mesher, &vflow_stage_labelmap,
                                     &vflow_stage_measure, &vflow_stage_mesh_stl,
                                     &vflow_stage_contours_json,
                                     &vflow_stage_table_json};
    vflow_plugin_info info = {VFLOW_ABI_MAJOR, VFLOW_ABI_MINOR, "bench", 6, all};
    vflow_error err = {0};
    vflow_runtime_options o = {.threads = threads, .log_level = VFLOW_LOG_ERROR};
    vflow_runtime *rt = vflow_runtime_new(&o, &err);
    if (rt == NULL || vflow_runtime_add_plugin_info(rt, &info, "bench", &err)) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    vflow_contours *c = bench_contours(200, 128, 60.0);
    vflow_volume *img = bench_grid();
    if (c == NULL || img == NULL)
        return 1;
    char dir[] = "/tmp/vflow_geom_bench_XXXXXX", p_stl[96], p_stl2[96],
         p_json[96], p_meas[96];
    if (mkdtemp(dir) == NULL)
        return 1;
    snprintf(p_stl, sizeof p_stl, "%s/lumen.stl", dir);
    snprintf(p_stl2, sizeof p_stl2, "%s/wall.stl", dir);
    snprintf(p_json, sizeof p_json, "%s/contours.json", dir);
    snprintf(p_meas, sizeof p_meas, "%s/measures.json", dir);
    timing t[7] = {{"mesher (lumen + wall)", 1e9, 0}, {"labelmap", 1e9, 0},
                   {"measure (with calcium)", 1e9, 0}, {"lumen.stl + wall.stl", 1e9, 0},
                   {"contours.json", 1e9, 0}, {"measures.json", 1e9, 0},
                   {"total", 1e9, 0}};
    for (int r = 0; r < reps; r++) {
        vflow_object *lumen = NULL, *wall = NULL, *labels = NULL, *table = NULL;
        double dt[7] = {0}, x;
        int rc = run_stage(rt, &vflow_stage_mesher, "contours", &c->base, NULL,
                           NULL, NULL, &lumen, "lumen", &dt[0]);
        /* The wall mesh of the same run (the harness keeps one output). */
        rc |= run_stage(rt, &vflow_stage_mesher, "contours", &c->base, NULL,
                        NULL, NULL, &wall, "wall", &x);
        rc |= run_stage(rt, &vflow_stage_labelmap, "contours", &c->base, "volume",
                        &img->base, NULL, &labels, "labels", &dt[1]);
        rc |= run_stage(rt, &vflow_stage_measure, "contours", &c->base, "volume",
                        &img->base, NULL, &table, "measures", &dt[2]);
        double a, b;
        rc |= run_stage(rt, &vflow_stage_mesh_stl, "mesh", lumen, NULL, NULL,
                        p_stl, NULL, NULL, &a);
        rc |= run_stage(rt, &vflow_stage_mesh_stl, "mesh", wall, NULL, NULL,
                        p_stl2, NULL, NULL, &b);
        dt[3] = a + b;
        rc |= run_stage(rt, &vflow_stage_contours_json, "contours", &c->base,
                        NULL, NULL, p_json, NULL, NULL, &dt[4]);
        rc |= run_stage(rt, &vflow_stage_table_json, "table", table, NULL, NULL,
                        p_meas, NULL, NULL, &dt[5]);
        if (rc != 0)
            return 1;
        for (int k = 0; k < 6; k++)
            dt[6] += dt[k];
        for (int k = 0; k < 7; k++) {
            t[k].best = fmin(t[k].best, dt[k]);
            t[k].sum += dt[k];
        }
        vflow_object_release(lumen);
        vflow_object_release(wall);
        vflow_object_release(labels);
        vflow_object_release(table);
    }
    printf("geometry outputs: 200 stations x 128 angles, 512x512x256 grid, "
           "%u threads, %d runs\n", threads, reps);
    printf("%-26s %10s %10s\n", "stage", "best ms", "mean ms");
    for (int k = 0; k < 7; k++)
        printf("%-26s %10.1f %10.1f\n", t[k].name, 1e3 * t[k].best,
               1e3 * t[k].sum / reps);
    unlink(p_stl), unlink(p_stl2), unlink(p_json), unlink(p_meas), rmdir(dir);
    vflow_object_release(&c->base);
    vflow_object_release(&img->base);
    vflow_runtime_free(rt);
    return 0;
}
