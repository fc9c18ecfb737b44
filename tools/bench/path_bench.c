/* SPDX-License-Identifier: BSD-3-Clause */
/* vflow-bench-path: times fmm, dijkstra and backtrack from click to target on
 * a 512x512x256 helical tube (speed = 0.01 + V/max V from frangi, as in
 * PEERS.md), median of N runs; optionally saves the cost for skimage. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "vflow/runtime.h"
#include "vflow/volume.h"

extern const vflow_stage_desc vflow_stage_nifti_load;
extern const vflow_stage_desc vflow_stage_frangi;
extern const vflow_stage_desc vflow_stage_fmm;
extern const vflow_stage_desc vflow_stage_dijkstra;
extern const vflow_stage_desc vflow_stage_backtrack;

typedef struct pb_opts {
    size_t dims[3];
    double spacing;
    unsigned threads;
    int runs;
    bool analytic;          /* speed from the distance, no frangi */
    const char *save_cost;  /* .npy of 1/F (float32, C order z,y,x) */
    const char *image;      /* NIfTI instead of the helix (with clicks) */
    double start[3], end[3];/* world mm clicks for --image */
    const char *scales;     /* frangi scales_mm */
} pb_opts;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static uint64_t pb_rng = 0x9e3779b97f4a7c15ull;
static double pb_gauss(void)
{
    double u[2];
    for (int i = 0; i < 2; i++) {
        pb_rng ^= pb_rng >> 12;
        pb_rng ^= pb_rng << 25;
        pb_rng ^= pb_rng >> 27;
        u[i] = ((double)((pb_rng * 2685821657736338717ull) >> 11) + 0.5) /
               9007199254740992.0;
    }
    return sqrt(-2.0 * log(u[0])) * cos(2.0 * M_PI * u[1]);
}

/* Helix axis (world mm, origin at voxel 0): 2 turns of radius 0.3 * half
 * width from 10 % to 90 % of the height — the tools/bench vesselness tube. */
static void pb_helix(const pb_opts *o, double t, double p[3])
{
    double cx = 0.5 * (double)o->dims[0] * o->spacing;
    double cy = 0.5 * (double)o->dims[1] * o->spacing;
    double zl = (double)o->dims[2] * o->spacing, R = 0.3 * cx;
    p[0] = cx + R * cos(4.0 * M_PI * t);
    p[1] = cy + R * sin(4.0 * M_PI * t);
    p[2] = zl * (0.1 + 0.8 * t);
}

/* Distance to the helix axis, splatted around dense axis samples. */
static float *pb_distance(const pb_opts *o)
{
    size_t nx = o->dims[0], ny = o->dims[1], nz = o->dims[2];
    float *d = malloc(nx * ny * nz * sizeof *d);
    if (d == NULL)
        return NULL;
    for (size_t i = 0; i < nx * ny * nz; i++)
        d[i] = 1e9f;
    int rv = (int)ceil((1.5 + 2.0 * o->spacing) / o->spacing);
    for (size_t s = 0; s <= 20000; s++) {
        double p[3];
        pb_helix(o, (double)s / 20000.0, p);
        long c[3] = {lround(p[0] / o->spacing), lround(p[1] / o->spacing),
                     lround(p[2] / o->spacing)};
        for (long k = c[2] - rv; k <= c[2] + rv; k++)
            for (long j = c[1] - rv; j <= c[1] + rv; j++)
                for (long i = c[0] - rv; i <= c[0] + rv; i++) {
                    if (i < 0 || j < 0 || k < 0 || i >= (long)nx ||
                        j >= (long)ny || k >= (long)nz)
                        continue;
                    double q[3] = {(double)i * o->spacing - p[0],
                                   (double)j * o->spacing - p[1],
                                   (double)k * o->spacing - p[2]};
                    float dd = (float)sqrt(q[0] * q[0] + q[1] * q[1] +
                                           q[2] * q[2]);
                    size_t idx = (size_t)i + nx * ((size_t)j + ny * (size_t)k);
                    if (dd < d[idx])
                        d[idx] = dd;
                }
    }
    return d;
}

static vflow_volume *pb_volume(const pb_opts *o, vflow_dtype dt)
{
    double aff[4][4] = {{o->spacing, 0, 0, 0}, {0, o->spacing, 0, 0},
                        {0, 0, o->spacing, 0}, {0, 0, 0, 1}};
    return vflow_volume_create(o->dims, dt, aff, NULL);
}

/* PEERS.md image: 400 HU tube of radius 1.5 mm in 40 HU, noise 25 HU. */
static vflow_volume *pb_image(const pb_opts *o, const float *dist)
{
    vflow_volume *v = pb_volume(o, VFLOW_DTYPE_I16);
    if (v == NULL)
        return NULL;
    v->modality = VFLOW_MODALITY_CT;
    int16_t *d = v->data;
    for (size_t i = 0; i < vflow_volume_voxel_count(v); i++) {
        double f = (1.5 - dist[i]) / o->spacing + 0.5;
        f = f < 0.0 ? 0.0 : (f > 1.0 ? 1.0 : f);
        d[i] = (int16_t)lround(40.0 + 360.0 * f + 25.0 * pb_gauss());
    }
    return v;
}

/* Loads --image through the nifti_load stage (transfer full). */
static vflow_volume *pb_load(vflow_runtime *rt, const char *path)
{
    vflow_error err = {0};
    vflow_stage *st = vflow_stage_new(rt, &vflow_stage_nifti_load, &err);
    vflow_volume *v = NULL;
    if (st != NULL && vflow_stage_set_param(st, "path", path, &err) == 0 &&
        vflow_stage_run(st, &err) == 0) {
        v = VFLOW_VOLUME(vflow_stage_output(st, "volume"));
        vflow_object_retain(&v->base);
    } else {
        fprintf(stderr, "cannot load %s: %s\n", path, err.message);
    }
    vflow_stage_free(st);
    return v;
}

/* speed = 0.01 + V / max V from the frangi vesselness of `img`. */
static int pb_speed_from_frangi(vflow_runtime *rt, const pb_opts *o,
                                vflow_volume *img, vflow_volume *sp)
{
    vflow_error err = {0};
    vflow_stage *st = vflow_stage_new(rt, &vflow_stage_frangi, &err);
    double t0 = now_s();
    if (st == NULL ||
        vflow_stage_set_param(st, "scales_mm", o->scales, &err) != 0 ||
        vflow_stage_set_input(st, "volume", &img->base, &err) != 0 ||
        vflow_stage_run(st, &err) != 0) {
        fprintf(stderr, "frangi failed: %s\n", err.message);
        vflow_stage_free(st);
        return -1;
    }
    vflow_volume *V = vflow_volume_to_f32(
        VFLOW_VOLUME(vflow_stage_output(st, "vesselness")), &err);
    double lo, hi;
    vflow_volume_min_max(V, &lo, &hi);
    const float *v = V->data;
    float *F = sp->data;
    for (size_t i = 0; i < vflow_volume_voxel_count(sp); i++)
        F[i] = (float)(0.01 + (hi > 0 ? v[i] / hi : 0.0));
    fprintf(stderr, "speed from frangi in %.2f s (max V %.3g)\n",
            now_s() - t0, hi);
    vflow_object_release(&V->base);
    vflow_stage_free(st);
    return 0;
}

/* speed = 0.01 + V / max V with V the vesselness (or a parabolic profile
 * of the distance with --analytic). */
static vflow_volume *pb_speed(vflow_runtime *rt, const pb_opts *o)
{
    if (o->image != NULL) {
        vflow_volume *img = pb_load(rt, o->image);
        vflow_volume *sp = img ? vflow_volume_create_like(img, VFLOW_DTYPE_F32,
                                                         NULL) : NULL;
        if (sp == NULL || pb_speed_from_frangi(rt, o, img, sp) != 0) {
            vflow_object_release(sp ? &sp->base : NULL);
            sp = NULL;
        }
        vflow_object_release(img ? &img->base : NULL);
        return sp;
    }
    float *dist = pb_distance(o);
    vflow_volume *sp = pb_volume(o, VFLOW_DTYPE_F32);
    if (dist == NULL || sp == NULL)
        goto fail;
    float *F = sp->data;
    size_t n = vflow_volume_voxel_count(sp);
    if (o->analytic) {
        for (size_t i = 0; i < n; i++) {
            double r = dist[i] / 1.5;
            F[i] = (float)(0.01 + (r < 1.0 ? 1.0 - r * r : 0.0));
        }
        free(dist);
        return sp;
    }
    vflow_volume *img = pb_image(o, dist);
    if (img == NULL || pb_speed_from_frangi(rt, o, img, sp) != 0) {
        vflow_object_release(img ? &img->base : NULL);
        goto fail;
    }
    vflow_object_release(&img->base);
    free(dist);
    return sp;
fail:
    free(dist);
    vflow_object_release(sp ? &sp->base : NULL);
    return NULL;
}

/* Cost 1/F as a NumPy .npy (float32, shape (nz, ny, nx), C order). */
static int pb_save_npy(const vflow_volume *sp, const char *path)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return -1;
    char hdr[128];
    int len = snprintf(hdr, sizeof hdr, "{'descr': '<f4', 'fortran_order': "
                       "False, 'shape': (%zu, %zu, %zu), }", sp->dims[2],
                       sp->dims[1], sp->dims[0]);
    int total = 10 + len + 1, pad = (64 - total % 64) % 64;
    uint16_t hl = (uint16_t)(len + pad + 1);
    fwrite("\x93NUMPY\x01\x00", 1, 8, f);
    fwrite(&hl, 2, 1, f);
    fwrite(hdr, 1, (size_t)len, f);
    for (int i = 0; i < pad; i++)
        fputc(' ', f);
    fputc('\n', f);
    const float *F = sp->data;
    for (size_t i = 0; i < vflow_volume_voxel_count(sp); i++) {
        float c = 1.0f / F[i];
        fwrite(&c, 4, 1, f);
    }
    return fclose(f);
}

/* CPU seconds of the whole process (all threads): robust to other load on
 * the machine, unlike wall time. */
static double pb_cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec +
           (double)ru.ru_stime.tv_sec + 1e-6 * (double)ru.ru_stime.tv_usec;
}

static int pb_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double pb_median(double *t, int n)
{
    qsort(t, (size_t)n, sizeof *t, pb_cmp);
    return t[n / 2];
}

/* Mean and max distance (mm) of the path's points to the helix axis. */
static void pb_path_error(const pb_opts *o, const vflow_polyline *pl,
                          double *mean, double *max)
{
    enum { N = 40000 };
    static double ax[N + 1][3];
    for (int s = 0; s <= N; s++)
        pb_helix(o, (double)s / N, ax[s]);
    *mean = *max = 0.0;
    int last = 0;
    for (size_t i = 0; i < pl->count; i++) {
        double best = INFINITY;
        int lo = last > 400 ? last - 400 : 0, hi = last + 400 < N ? last + 400 : N;
        if (i == 0)
            lo = 0, hi = N;
        for (int s = lo; s <= hi; s++) {
            double d0 = pl->xyz[i][0] - ax[s][0], d1 = pl->xyz[i][1] - ax[s][1],
                   d2 = pl->xyz[i][2] - ax[s][2];
            double d = d0 * d0 + d1 * d1 + d2 * d2;
            if (d < best)
                best = d, last = s;
        }
        best = sqrt(best);
        *mean += best;
        *max = fmax(*max, best);
    }
    *mean /= (double)pl->count;
}

typedef struct pb_result {
    double march_s, back_s, march_cpu, back_cpu, length, mean, max, visited, frozen;
} pb_result;

/* Runs `desc` (fmm or dijkstra) then backtrack `runs` times each. */
static int pb_time(vflow_runtime *rt, const pb_opts *o,
                   const vflow_stage_desc *desc, const char *order,
                   vflow_volume *speed, vflow_points *pts, pb_result *res)
{
    double tm[64], tb[64], cm[64], cb[64];
    vflow_error err = {0};
    vflow_stage *march = NULL;
    for (int r = 0; r < o->runs; r++) {
        vflow_stage_free(march);
        march = vflow_stage_new(rt, desc, &err);
        if (march == NULL ||
            vflow_stage_set_param(march, "order", order, &err) != 0 ||
            vflow_stage_set_input(march, "speed", &speed->base, &err) != 0 ||
            vflow_stage_set_input(march, "seeds", &pts->base, &err) != 0)
            goto fail;
        double t0 = now_s(), c0 = pb_cpu();
        if (vflow_stage_run(march, &err) != 0)
            goto fail;
        tm[r] = now_s() - t0;
        cm[r] = pb_cpu() - c0;
        fprintf(stderr, "  %s run %d: %.3f s wall, %.3f s CPU\n", desc->name,
                r + 1, tm[r], cm[r]);
    }
    vflow_table *vis = VFLOW_TABLE(vflow_stage_output(march, "visited"));
    res->visited = vflow_table_column(vis, "visited")[0];
    res->frozen = vflow_table_column(vis, "frozen")[0];
    vflow_object *arr = vflow_stage_output(march, "arrival");
    vflow_object *used = vflow_stage_output(march, "points");
    for (int r = 0; r < o->runs; r++) {
        vflow_stage *bt = vflow_stage_new(rt, &vflow_stage_backtrack, &err);
        if (bt == NULL || vflow_stage_set_input(bt, "arrival", arr, &err) != 0 ||
            vflow_stage_set_input(bt, "seeds", used, &err) != 0) {
            vflow_stage_free(bt);
            goto fail;
        }
        double t0 = now_s(), c0 = pb_cpu();
        if (vflow_stage_run(bt, &err) != 0) {
            vflow_stage_free(bt);
            goto fail;
        }
        tb[r] = now_s() - t0;
        cb[r] = pb_cpu() - c0;
        vflow_polyline *pl = VFLOW_POLYLINE(vflow_stage_output(bt, "centerline"));
        res->length = vflow_polyline_length(pl);
        if (o->image == NULL)
            pb_path_error(o, pl, &res->mean, &res->max);
        else
            res->mean = res->max = NAN;
        vflow_stage_free(bt);
    }
    res->march_s = pb_median(tm, o->runs);
    res->back_s = pb_median(tb, o->runs);
    res->march_cpu = pb_median(cm, o->runs);
    res->back_cpu = pb_median(cb, o->runs);
    vflow_stage_free(march);
    return 0;
fail:
    fprintf(stderr, "%s failed: %s\n", desc->name, err.message);
    vflow_stage_free(march);
    return -1;
}

static int pb_args(int argc, char **argv, pb_opts *o)
{
    *o = (pb_opts){.dims = {512, 512, 256}, .spacing = 0.4, .threads = 2,
                   .runs = 5, .scales = "[0.5, 1.0, 1.5]"};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--dims") == 0 && v != NULL &&
            sscanf(v, "%zux%zux%zu", &o->dims[0], &o->dims[1], &o->dims[2]) == 3)
            i++;
        else if (strcmp(a, "--spacing") == 0 && v != NULL)
            o->spacing = atof(argv[++i]);
        else if (strcmp(a, "--threads") == 0 && v != NULL)
            o->threads = (unsigned)atoi(argv[++i]);
        else if (strcmp(a, "--runs") == 0 && v != NULL)
            o->runs = atoi(argv[++i]);
        else if (strcmp(a, "--save-cost") == 0 && v != NULL)
            o->save_cost = argv[++i];
        else if (strcmp(a, "--image") == 0 && v != NULL)
            o->image = argv[++i];
        else if (strcmp(a, "--scales") == 0 && v != NULL)
            o->scales = argv[++i];
        else if (strcmp(a, "--start") == 0 && v != NULL &&
                 sscanf(v, "%lf,%lf,%lf", &o->start[0], &o->start[1],
                        &o->start[2]) == 3)
            i++;
        else if (strcmp(a, "--end") == 0 && v != NULL &&
                 sscanf(v, "%lf,%lf,%lf", &o->end[0], &o->end[1],
                        &o->end[2]) == 3)
            i++;
        else if (strcmp(a, "--analytic") == 0)
            o->analytic = true;
        else {
            fprintf(stderr, "usage: %s [--dims 512x512x256] [--spacing 0.4] "
                    "[--threads 2] [--runs 5] [--analytic] "
                    "[--save-cost cost.npy] [--image ct.nii.gz --start x,y,z "
                    "--end x,y,z] [--scales \"[0.5, 1.0, 1.5]\"]\n", argv[0]);
            return -1;
        }
    }
    if (o->runs < 1 || o->runs > 64)
        o->runs = 5;
    return 0;
}

int main(int argc, char **argv)
{
    pb_opts o;
    if (pb_args(argc, argv, &o) != 0)
        return 2;
    vflow_error err = {0};
    vflow_runtime_options ro = {.threads = o.threads,
                                .log_level = VFLOW_LOG_WARN};
    vflow_runtime *rt = vflow_runtime_new(&ro, &err);
    const vflow_stage_desc *stages[] = {&vflow_stage_nifti_load,
                                        &vflow_stage_frangi, &vflow_stage_fmm,
                                        &vflow_stage_dijkstra,
                                        &vflow_stage_backtrack};
    vflow_plugin_info info = {VFLOW_ABI_MAJOR, VFLOW_ABI_MINOR, "bench", 5,
                              stages};
    if (rt == NULL || vflow_runtime_add_plugin_info(rt, &info, "bench", &err))
        return fprintf(stderr, "%s\n", err.message), 1;
    vflow_volume *speed = pb_speed(rt, &o);
    if (speed == NULL)
        return 1;
    if (o.save_cost != NULL && pb_save_npy(speed, o.save_cost) != 0)
        return fprintf(stderr, "cannot write %s\n", o.save_cost), 1;
    vflow_points *pts = vflow_points_create(2, NULL);
    strcpy(pts->items[0].name, "start");
    strcpy(pts->items[1].name, "end");
    if (o.image != NULL) {
        memcpy(pts->items[0].xyz, o.start, sizeof o.start);
        memcpy(pts->items[1].xyz, o.end, sizeof o.end);
    } else {
        pb_helix(&o, 0.0, pts->items[0].xyz);
        pb_helix(&o, 1.0, pts->items[1].xyz);
    }
    double si[3], ei[3];
    vflow_volume_world_to_index(speed, pts->items[0].xyz, si);
    vflow_volume_world_to_index(speed, pts->items[1].xyz, ei);
    printf("%s %zux%zux%zu at %.2fx%.2fx%.2f mm, %u threads, median of %d; "
           "start voxel (%ld,%ld,%ld), end voxel (%ld,%ld,%ld)\n",
           o.image ? o.image : "helix", speed->dims[0], speed->dims[1],
           speed->dims[2], speed->spacing[0], speed->spacing[1],
           speed->spacing[2], o.threads, o.runs, lround(si[0]), lround(si[1]),
           lround(si[2]), lround(ei[0]), lround(ei[1]), lround(ei[2]));
    const struct { const vflow_stage_desc *d; const char *order; } cases[] = {
        {&vflow_stage_fmm, "2"}, {&vflow_stage_fmm, "1"},
        {&vflow_stage_dijkstra, "2"}};
    int rc = 0;
    for (size_t c = 0; c < 3 && rc == 0; c++) {
        pb_result r = {0};
        rc = pb_time(rt, &o, cases[c].d, cases[c].order, speed, pts, &r);
        if (rc == 0)
            printf("%-8s order %s: march %.3f s wall / %.3f s CPU (visited "
                   "%.0f, frozen %.0f of %zu), backtrack %.4f s wall / %.4f s "
                   "CPU, path %.1f mm, axis distance mean %.3f / max %.3f mm\n",
                   cases[c].d->name, cases[c].order, r.march_s, r.march_cpu,
                   r.visited, r.frozen, vflow_volume_voxel_count(speed),
                   r.back_s, r.back_cpu, r.length, r.mean, r.max);
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("peak RSS %.0f MB\n", (double)ru.ru_maxrss / 1024.0);
    vflow_object_release(&pts->base);
    vflow_object_release(&speed->base);
    vflow_runtime_free(rt);
    return rc == 0 ? 0 : 1;
}
