/* SPDX-License-Identifier: BSD-3-Clause */
/* vflow-bench-vesselness: times the frangi stage on a synthetic helical
 * tube (or a NIfTI-free raw volume given with --image), whole volume and
 * ROI mode; prints medians and the peak RSS. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "vflow/runtime.h"
#include "vflow/volume.h"

extern const vflow_stage_desc vflow_stage_frangi;

typedef struct bench_opts {
    size_t dims[3];
    double spacing;
    unsigned threads;
    int runs;
    const char *scales;
    const char *image;    /* raw int16 file of dims, or NULL */
    const char *save;     /* write the generated volume as raw int16 */
} bench_opts;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Deterministic Gaussian noise (xorshift64* + Box-Muller). */
static double gauss_noise(uint64_t *s)
{
    double u[2];
    for (int i = 0; i < 2; i++) {
        *s ^= *s >> 12;
        *s ^= *s << 25;
        *s ^= *s >> 27;
        u[i] = ((double)((*s * 2685821657736338717ull) >> 11) + 0.5) *
               (1.0 / 9007199254740992.0);
    }
    return sqrt(-2.0 * log(u[0])) * cos(2.0 * M_PI * u[1]);
}

/* The helix axis at parameter t in [0, 1] (mm, voxel frame). */
static void helix_point(const bench_opts *o, double t, double p[3])
{
    double cx = 0.5 * (double)o->dims[0] * o->spacing;
    double cy = 0.5 * (double)o->dims[1] * o->spacing;
    double zlen = (double)o->dims[2] * o->spacing;
    double R = 0.3 * cx, turns = 2.0;
    p[0] = cx + R * cos(2.0 * M_PI * turns * t);
    p[1] = cy + R * sin(2.0 * M_PI * turns * t);
    p[2] = zlen * (0.1 + 0.8 * t);
}

/* PEERS.md phantom: tube radius 1.5 mm, 400 HU in 40 HU, noise 25 HU. */
static vflow_volume *make_helix(const bench_opts *o)
{
    double aff[4][4] = {{o->spacing, 0, 0, 0}, {0, o->spacing, 0, 0},
                        {0, 0, o->spacing, 0}, {0, 0, 0, 1}};
    vflow_error err;
    vflow_volume *v = vflow_volume_create(o->dims, VFLOW_DTYPE_I16, aff, &err);
    if (v == NULL)
        return NULL;
    v->modality = VFLOW_MODALITY_CT;
    int16_t *d = v->data;
    size_t nx = o->dims[0], ny = o->dims[1], nz = o->dims[2];
    float *dist = malloc(nx * ny * nz * sizeof *dist);
    if (dist == NULL) {
        vflow_object_release(&v->base);
        return NULL;
    }
    for (size_t i = 0; i < nx * ny * nz; i++)
        dist[i] = 1e9f;
    /* Splat the distance to the axis around densely sampled axis points. */
    size_t n_samples = 20000;
    double r = 1.5, reach = r + 2.0 * o->spacing;
    int rv = (int)ceil(reach / o->spacing);
    for (size_t s = 0; s <= n_samples; s++) {
        double p[3];
        helix_point(o, (double)s / (double)n_samples, p);
        long c[3];
        for (int a = 0; a < 3; a++)
            c[a] = lround(p[a] / o->spacing);
        for (long k = c[2] - rv; k <= c[2] + rv; k++)
            for (long j = c[1] - rv; j <= c[1] + rv; j++)
                for (long i = c[0] - rv; i <= c[0] + rv; i++) {
                    if (i < 0 || j < 0 || k < 0 || i >= (long)nx ||
                        j >= (long)ny || k >= (long)nz)
                        continue;
                    double dx = (double)i * o->spacing - p[0];
                    double dy = (double)j * o->spacing - p[1];
                    double dz = (double)k * o->spacing - p[2];
                    float dd = (float)sqrt(dx * dx + dy * dy + dz * dz);
                    size_t idx = (size_t)i + nx * ((size_t)j + ny * (size_t)k);
                    if (dd < dist[idx])
                        dist[idx] = dd;
                }
    }
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < nx * ny * nz; i++) {
        /* Partial-volume edge one voxel wide. */
        double f = (r - dist[i]) / o->spacing + 0.5;
        f = f < 0.0 ? 0.0 : (f > 1.0 ? 1.0 : f);
        double hu = 40.0 + 360.0 * f + 25.0 * gauss_noise(&seed);
        d[i] = (int16_t)lround(hu);
    }
    free(dist);
    return v;
}

static vflow_volume *load_raw(const bench_opts *o)
{
    double aff[4][4] = {{o->spacing, 0, 0, 0}, {0, o->spacing, 0, 0},
                        {0, 0, o->spacing, 0}, {0, 0, 0, 1}};
    vflow_error err;
    vflow_volume *v = vflow_volume_create(o->dims, VFLOW_DTYPE_I16, aff, &err);
    FILE *f = v != NULL ? fopen(o->image, "rb") : NULL;
    size_t n = o->dims[0] * o->dims[1] * o->dims[2];
    if (f == NULL || fread(v->data, 2, n, f) != n) {
        fprintf(stderr, "cannot read %zu int16 voxels from %s\n", n, o->image);
        if (f != NULL)
            fclose(f);
        vflow_object_release(v != NULL ? &v->base : NULL);
        return NULL;
    }
    fclose(f);
    v->modality = VFLOW_MODALITY_CT;
    return v;
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec +
           (double)ru.ru_stime.tv_sec + 1e-6 * (double)ru.ru_stime.tv_usec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Runs frangi `runs` times; returns the median wall time, or -1. */
static double time_frangi(vflow_runtime *rt, const bench_opts *o,
                          vflow_volume *vol, vflow_points *roi, double *vmax,
                          double *cpu_median)
{
    double t[64], c[64];
    vflow_error err;
    for (int r = 0; r < o->runs; r++) {
        vflow_stage *st = vflow_stage_new(rt, &vflow_stage_frangi, &err);
        if (st == NULL ||
            vflow_stage_set_param(st, "scales_mm", o->scales, &err) < 0 ||
            vflow_stage_set_input(st, "volume", &vol->base, &err) < 0 ||
            (roi != NULL &&
             vflow_stage_set_input(st, "roi", &roi->base, &err) < 0)) {
            fprintf(stderr, "setup failed: %s\n", err.message);
            vflow_stage_free(st);
            return -1.0;
        }
        double t0 = now_s(), c0 = cpu_s();
        int rc = vflow_stage_run(st, &err);
        t[r] = now_s() - t0;
        double cpu = cpu_s() - c0;
        c[r] = cpu;
        if (rc < 0) {
            fprintf(stderr, "frangi failed: %s\n", err.message);
            vflow_stage_free(st);
            return -1.0;
        }
        double lo, hi;
        vflow_volume_min_max(VFLOW_VOLUME(vflow_stage_output(st, "vesselness")),
                             &lo, &hi);
        *vmax = hi;
        vflow_stage_free(st);
        fprintf(stderr, "  run %d: %.3f s wall, %.3f s CPU\n", r + 1, t[r],
                cpu);
    }
    qsort(t, (size_t)o->runs, sizeof t[0], cmp_double);
    qsort(c, (size_t)o->runs, sizeof c[0], cmp_double);
    *cpu_median = c[o->runs / 2];
    return t[o->runs / 2];
}

static int parse_args(int argc, char **argv, bench_opts *o)
{
    *o = (bench_opts){.dims = {512, 512, 256}, .spacing = 0.4, .threads = 2,
                      .runs = 5, .scales = "[0.5, 1.0, 1.5]"};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--dims") == 0 && v != NULL &&
            sscanf(v, "%zux%zux%zu", &o->dims[0], &o->dims[1], &o->dims[2]) == 3)
            i++;
        else if (strcmp(a, "--threads") == 0 && v != NULL)
            o->threads = (unsigned)atoi(argv[++i]);
        else if (strcmp(a, "--runs") == 0 && v != NULL)
            o->runs = atoi(argv[++i]);
        else if (strcmp(a, "--scales") == 0 && v != NULL)
            o->scales = argv[++i];
        else if (strcmp(a, "--spacing") == 0 && v != NULL)
            o->spacing = atof(argv[++i]);
        else if (strcmp(a, "--image") == 0 && v != NULL)
            o->image = argv[++i];
        else if (strcmp(a, "--save-raw") == 0 && v != NULL)
            o->save = argv[++i];
        else {
            fprintf(stderr,
                    "usage: %s [--dims 512x512x256] [--spacing 0.4] "
                    "[--threads 2] [--runs 5] [--scales '[0.5,1,1.5]'] "
                    "[--image raw_int16_file] [--save-raw file]\n",
                    argv[0]);
            return -1;
        }
    }
    if (o->runs < 1 || o->runs > 64)
        o->runs = 5;
    return 0;
}

int main(int argc, char **argv)
{
    bench_opts o;
    if (parse_args(argc, argv, &o) < 0)
        return 2;
    double t0 = now_s();
    vflow_volume *vol = o.image ? load_raw(&o) : make_helix(&o);
    if (vol == NULL)
        return 1;
    fprintf(stderr, "volume %zux%zux%zu ready in %.1f s\n", o.dims[0],
            o.dims[1], o.dims[2], now_s() - t0);
    if (o.save != NULL) {
        FILE *f = fopen(o.save, "wb");
        size_t n = vflow_volume_voxel_count(vol);
        if (f == NULL || fwrite(vol->data, 2, n, f) != n)
            fprintf(stderr, "cannot write %s\n", o.save);
        if (f != NULL)
            fclose(f);
    }
    vflow_error err;
    vflow_runtime_options ro = {.threads = o.threads,
                                .log_level = VFLOW_LOG_WARN};
    vflow_runtime *rt = vflow_runtime_new(&ro, &err);
    static const vflow_stage_desc *const stages[] = {&vflow_stage_frangi};
    vflow_plugin_info info = {VFLOW_ABI_MAJOR, VFLOW_ABI_MINOR, "bench", 1,
                              stages};
    if (rt == NULL || vflow_runtime_add_plugin_info(rt, &info, "bench", &err) < 0) {
        fprintf(stderr, "runtime: %s\n", err.message);
        return 1;
    }
    /* The clicks: both ends of the helix. */
    vflow_points *roi = vflow_points_create(2, &err);
    if (roi == NULL)
        return 1;
    for (int e = 0; e < 2; e++) {
        double p[3];
        helix_point(&o, (double)e, p);
        snprintf(roi->items[e].name, sizeof roi->items[e].name, "%s",
                 e ? "end" : "start");
        memcpy(roi->items[e].xyz, p, sizeof p);
    }
    double vmax_full = 0.0, vmax_roi = 0.0, cpu_full = 0.0, cpu_roi = 0.0;
    double full = time_frangi(rt, &o, vol, NULL, &vmax_full, &cpu_full);
    double part = time_frangi(rt, &o, vol, roi, &vmax_roi, &cpu_roi);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("frangi %zux%zux%zu spacing %.2f mm, scales %s, %u threads, "
           "median of %d\n",
           o.dims[0], o.dims[1], o.dims[2], o.spacing, o.scales,
           vflow_runtime_threads(rt), o.runs);
    printf("  whole volume: %.3f s wall, %.3f s CPU (max V %.3f)\n", full,
           cpu_full, vmax_full);
    printf("  ROI (2 clicks, 20 mm pad): %.3f s wall, %.3f s CPU "
           "(max V %.3f)\n",
           part, cpu_roi, vmax_roi);
    printf("  peak RSS: %.0f MB (volume as f32: %.0f MB)\n",
           (double)ru.ru_maxrss / 1024.0,
           (double)vflow_volume_voxel_count(vol) * 4.0 / 1048576.0);
    vflow_object_release(&roi->base);
    vflow_object_release(&vol->base);
    vflow_runtime_free(rt);
    return full < 0.0 || part < 0.0;
}
