/* SPDX-License-Identifier: BSD-3-Clause */
/* Benchmark and accuracy probe of the wall stages (issue 5): refine (polar
 * unwrap + polar DP + area-centroid refinement) and mpr on a phantom,
 * scored against the phantom's truth centerline and radii.
 * Environment switches for experiments: WALL_PSF=<mm> (fixed PSF sigma),
 * WALL_NOCORR=1 (no blur model), WALL_DEBUG=1 (per-station radii). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "refine.h"
#include "resample.h"
#include "vflow/runtime.h"
#include "vflow/volume.h"

extern const vflow_stage_desc vflow_stage_refine, vflow_stage_mpr;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* CPU time of the whole process (all threads): on a loaded machine the
 * wall time says more about the neighbours than about the code. */
static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct truth {
    size_t n;
    double *s, (*p)[3], *rl, *ro;
    int *valid;
} truth;

static int truth_read(const char *dir, truth *t)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/truth_centerline.csv", dir);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "cannot open %s\n", path);
        return -1;
    }
    char line[512];
    size_t cap = 1024;
    memset(t, 0, sizeof *t);
    t->s = malloc(cap * sizeof *t->s);
    t->p = malloc(cap * sizeof *t->p);
    t->rl = malloc(cap * sizeof *t->rl);
    t->ro = malloc(cap * sizeof *t->ro);
    t->valid = malloc(cap * sizeof *t->valid);
    if (fgets(line, sizeof line, f) == NULL) { /* header */
        fclose(f);
        return -1;
    }
    while (fgets(line, sizeof line, f) != NULL) {
        if (t->n == cap) {
            cap *= 2;
            t->s = realloc(t->s, cap * sizeof *t->s);
            t->p = realloc(t->p, cap * sizeof *t->p);
            t->rl = realloc(t->rl, cap * sizeof *t->rl);
            t->ro = realloc(t->ro, cap * sizeof *t->ro);
            t->valid = realloc(t->valid, cap * sizeof *t->valid);
        }
        size_t i = t->n;
        if (sscanf(line, "%lf,%lf,%lf,%lf,%lf,%lf,%d", &t->s[i], &t->p[i][0],
                   &t->p[i][1], &t->p[i][2], &t->rl[i], &t->ro[i],
                   &t->valid[i]) == 7)
            t->n++;
    }
    fclose(f);
    return t->n >= 2 ? 0 : -1;
}

/* Nearest truth sample (index) and distance to the truth polyline. */
static double truth_dist(const truth *t, const double q[3], size_t *near)
{
    double best = INFINITY;
    for (size_t i = 0; i + 1 < t->n; i++) {
        double ab[3], aq[3], l2 = 0, d = 0;
        for (int k = 0; k < 3; k++) {
            ab[k] = t->p[i + 1][k] - t->p[i][k];
            aq[k] = q[k] - t->p[i][k];
            l2 += ab[k] * ab[k];
            d += ab[k] * aq[k];
        }
        double u = l2 > 0 ? fmax(0, fmin(1, d / l2)) : 0, e = 0;
        for (int k = 0; k < 3; k++)
            e += (aq[k] - u * ab[k]) * (aq[k] - u * ab[k]);
        if (sqrt(e) < best) {
            best = sqrt(e);
            *near = u < 0.5 ? i : i + 1;
        }
    }
    return best;
}

static double json_number(const char *path, const char *key)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return NAN;
    char buf[8192];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strstr(buf, key);
    return p != NULL ? strtod(p + strlen(key) + 1, NULL) : NAN;
}

static vflow_volume *load_image(vflow_runtime *rt, const char *path)
{
    vflow_error err = {0};
    const vflow_stage_desc *d = vflow_runtime_find_stage(rt, "nifti_load");
    if (d == NULL) {
        fprintf(stderr, "nifti_load plugin not found (run from the build "
                        "tree or set VFLOW_PLUGIN_PATH)\n");
        return NULL;
    }
    vflow_stage *st = vflow_stage_new(rt, d, &err);
    if (st == NULL || vflow_stage_set_param(st, "path", path, &err) < 0 ||
        vflow_stage_run(st, &err) < 0) {
        fprintf(stderr, "%s\n", err.message);
        vflow_stage_free(st);
        return NULL;
    }
    vflow_volume *v = VFLOW_VOLUME(vflow_object_retain(
        vflow_stage_output(st, d->outputs[0].name)));
    vflow_stage_free(st);
    return v;
}

/* The input path: truth between the clicks, smoothed with a 2.5 mm spline
 * (bends shrink by (l/R)^4, the corner cutting of a minimal path). */
static vflow_polyline *input_path(const truth *t, double s0, double s1,
                                  double smooth)
{
    size_t a = 0, b = t->n - 1;
    while (a < t->n && t->s[a] < s0)
        a++;
    while (b > a && t->s[b] > s1)
        b--;
    vflow_polyline *pl = vflow_polyline_create(b - a + 1, NULL);
    for (size_t i = a; i <= b; i++)
        memcpy(pl->xyz[i - a], t->p[i], sizeof pl->xyz[0]);
    vflow_polyline *out = vflow_centerline_resample(pl, 0.3, smooth, NULL);
    vflow_object_release(&pl->base);
    return out;
}

/* A centerline CSV with a header and x,y,z in columns 2-4 (s_mm,x,y,z,...),
 * e.g. the centerline.csv of pipelines/centerline.yaml. */
static vflow_polyline *read_csv_path(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "cannot open %s\n", path);
        return NULL;
    }
    char line[4096];
    size_t cap = 256, n = 0;
    double(*p)[3] = malloc(cap * sizeof *p);
    if (fgets(line, sizeof line, f) == NULL)
        n = 0;
    while (p != NULL && fgets(line, sizeof line, f) != NULL) {
        double s, x, y, z;
        if (sscanf(line, "%lf,%lf,%lf,%lf", &s, &x, &y, &z) != 4)
            continue;
        if (n == cap)
            p = realloc(p, (cap *= 2) * sizeof *p);
        if (p == NULL)
            break;
        p[n][0] = x;
        p[n][1] = y;
        p[n][2] = z;
        n++;
    }
    fclose(f);
    vflow_polyline *pl = n >= 2 ? vflow_polyline_create(n, NULL) : NULL;
    if (pl != NULL)
        memcpy(pl->xyz, p, n * sizeof *p);
    free(p);
    return pl;
}

/* Runs a registered stage by name on (port, object) inputs and (name,
 * value) parameters; returns the stage (caller frees) or NULL. */
static vflow_stage *run_named(vflow_runtime *rt, const char *name,
                              const char *const *ports, vflow_object **objs,
                              size_t n_in, const char *const *pnames,
                              const char *const *pvals, size_t n_p)
{
    vflow_error err = {0};
    const vflow_stage_desc *d = vflow_runtime_find_stage(rt, name);
    vflow_stage *st = d != NULL ? vflow_stage_new(rt, d, &err) : NULL;
    if (st == NULL) {
        fprintf(stderr, "stage %s unavailable %s\n", name, err.message);
        return NULL;
    }
    for (size_t i = 0; i < n_in; i++)
        vflow_stage_set_input(st, ports[i] != NULL ? ports[i]
                                                   : d->inputs[0].name,
                              objs[i], &err);
    for (size_t i = 0; i < n_p; i++)
        vflow_stage_set_param(st, pnames[i], pvals[i], &err);
    if (vflow_stage_run(st, &err) < 0) {
        fprintf(stderr, "%s: %s\n", name, err.message);
        vflow_stage_free(st);
        return NULL;
    }
    return st;
}

/* Writes centerline.csv, contours.json and labels.nii.gz into `dir`, the
 * files `vflow eval` scores, through the registered stages. */
static void write_outputs(vflow_runtime *rt, const char *dir,
                          vflow_volume *vol, vflow_polyline *cl,
                          vflow_contours *c)
{
    char path[1024];
    snprintf(path, sizeof path, "mkdir -p '%s'", dir);
    if (system(path) != 0)
        return;
    const char *pn[] = {"path"};
    const char *mp[] = {"contours", "centerline", "volume"};
    vflow_object *mo[] = {&c->base, &cl->base, &vol->base};
    vflow_stage *meas = run_named(rt, "measure", mp, mo, 3, NULL, NULL, 0);
    if (meas != NULL) {
        vflow_object *o[] = {vflow_stage_output(meas, "centerline")};
        const char *pv[] = {path};
        snprintf(path, sizeof path, "%s/centerline.csv", dir);
        vflow_stage_free(run_named(rt, "polyline_csv", (const char *[]){NULL},
                                   o, 1, pn, pv, 1));
        vflow_stage_free(meas);
    }
    {
        vflow_object *o[] = {&c->base};
        const char *pv[] = {path};
        snprintf(path, sizeof path, "%s/contours.json", dir);
        vflow_stage_free(run_named(rt, "contours_json", (const char *[]){NULL},
                                   o, 1, pn, pv, 1));
    }
    const char *lp[] = {"contours", "volume"};
    vflow_object *lo[] = {&c->base, &vol->base};
    vflow_stage *lab = run_named(rt, "labelmap", lp, lo, 2, NULL, NULL, 0);
    if (lab != NULL) {
        vflow_object *o[] = {vflow_stage_output(lab, "labels")};
        const char *pv[] = {path};
        snprintf(path, sizeof path, "%s/labels.nii.gz", dir);
        vflow_stage_free(run_named(rt, "nifti_save", (const char *[]){NULL},
                                   o, 1, pn, pv, 1));
        vflow_stage_free(lab);
    }
    printf("wrote centerline.csv, contours.json, labels.nii.gz to %s\n", dir);
}

static int cmp_d(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

static void score(const truth *t, const vflow_polyline *in,
                  const vflow_polyline *cl, const vflow_contours *c)
{
    double in_mean = 0, in_max = 0, mean = 0, max = 0;
    size_t near;
    for (size_t i = 0; i < in->count; i++) {
        double d = truth_dist(t, in->xyz[i], &near);
        in_mean += d / (double)in->count;
        in_max = fmax(in_max, d);
    }
    double area_err = 0, outer_err = 0;
    size_t n_area = 0, n_outer = 0;
    for (size_t i = 0; i < cl->count; i++) {
        double d = truth_dist(t, cl->xyz[i], &near);
        mean += d / (double)cl->count;
        max = fmax(max, d);
        const float *rl = c->lumen_r + i * c->n_angles;
        const float *ro = c->outer_r + i * c->n_angles;
        double cu, cv, area = vflow_refine_contour_centroid(rl, c->n_angles,
                                                             &cu, &cv);
        if (getenv("WALL_DEBUG") && i % 8 == 0) {
            double ml = 0, mo = 0;
            for (size_t a = 0; a < c->n_angles; a++) {
                ml += rl[a] / (double)c->n_angles;
                mo += ro[a] / (double)c->n_angles;
            }
            printf("  s %6.2f truth rl %.3f ro %.3f | mean rl %.3f ro %.3f | "
                   "eq %.3f\n", t->s[near], t->rl[near], t->ro[near], ml, mo,
                   sqrt(area / M_PI));
        }
        if (t->valid[near] && t->rl[near] >= 1.0) {
            double ta = M_PI * t->rl[near] * t->rl[near];
            area_err += fabs(area - ta) / ta;
            n_area++;
        }
        if (t->valid[near]) {
            double m = 0;
            for (size_t a = 0; a < c->n_angles; a++)
                m += ro[a] / (double)c->n_angles;
            outer_err += fabs(m - t->ro[near]);
            n_outer++;
        }
    }
    printf("input path      : mean %.3f mm, max %.3f mm to the true axis\n",
           in_mean, in_max);
    printf("refined path    : mean %.3f mm, max %.3f mm (%zu stations)\n",
           mean, max, cl->count);
    printf("lumen area error: mean |dA|/A %.2f %% (%zu stations, r >= 1 mm; "
           "circular truth radius)\n", 100 * area_err / (double)n_area, n_area);
    printf("outer radius    : mean |mean r_out - truth| %.3f mm\n",
           outer_err / (double)n_outer);
}

int main(int argc, char **argv)
{
    const char *image = NULL, *tdir = NULL, *out = NULL, *incsv = NULL;
    const char *spacing = "0.3";
    unsigned threads = 2;
    int repeat = 5;
    double smooth = 2.5;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--image"))
            image = argv[i + 1];
        else if (!strcmp(argv[i], "--truth"))
            tdir = argv[i + 1];
        else if (!strcmp(argv[i], "--threads"))
            threads = (unsigned)atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--repeat"))
            repeat = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--spacing"))
            spacing = argv[i + 1];
        else if (!strcmp(argv[i], "--out"))
            out = argv[i + 1];
        else if (!strcmp(argv[i], "--input-csv"))
            incsv = argv[i + 1];
        else if (!strcmp(argv[i], "--input-smoothing"))
            smooth = atof(argv[i + 1]);
    }
    if (tdir == NULL) {
        fprintf(stderr, "usage: vflow-bench-wall --truth PHANTOM_DIR [--image "
                        "IMG] [--threads 2] [--repeat 5] "
                        "[--input-smoothing 2.5 | --input-csv FILE] "
                        "[--spacing MM] [--out DIR]\n");
        return 2;
    }
    char ipath[1024], cpath[1024];
    if (image == NULL) {
        snprintf(ipath, sizeof ipath, "%s/image.nii.gz", tdir);
        image = ipath;
    }
    snprintf(cpath, sizeof cpath, "%s/clicks.json", tdir);
    truth t;
    if (truth_read(tdir, &t) < 0)
        return 3;
    double s0 = json_number(cpath, "\"start_s_mm\""),
           s1 = json_number(cpath, "\"end_s_mm\"");
    vflow_runtime_options opts = {.threads = threads,
                                  .log_level = VFLOW_LOG_WARN};
    vflow_error err = {0};
    vflow_runtime *rt = vflow_runtime_new(&opts, &err);
    if (rt == NULL || vflow_runtime_add_default_plugins(rt, &err) < 0) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    double t0 = now_s();
    vflow_volume *vol = load_image(rt, image);
    if (vol == NULL)
        return 3;
    printf("image %zux%zux%zu loaded in %.2f s; clicks at s = %.1f .. %.1f mm\n",
           vol->dims[0], vol->dims[1], vol->dims[2], now_s() - t0, s0, s1);
    vflow_polyline *in = incsv != NULL ? read_csv_path(incsv)
                                       : input_path(&t, s0, s1, smooth);
    if (in == NULL)
        return 3;
    if (incsv != NULL)
        printf("input: %s, %.1f mm long\n", incsv, vflow_polyline_length(in));
    else
        printf("input: truth smoothed with l = %.1f mm, %.1f mm long\n",
               smooth, vflow_polyline_length(in));
    double times[3][64];
    repeat = repeat < 1 ? 1 : (repeat > 64 ? 64 : repeat);
    vflow_stage *ref = NULL, *mpr = NULL;
    for (int r = 0; r < repeat; r++) {
        vflow_stage_free(ref);
        vflow_stage_free(mpr);
        ref = vflow_stage_new(rt, &vflow_stage_refine, &err);
        mpr = vflow_stage_new(rt, &vflow_stage_mpr, &err);
        vflow_stage_set_param(ref, "spacing_mm", spacing, &err);
        if (getenv("WALL_NOCORR"))
            vflow_stage_set_param(ref, "blur_correction", "false", &err);
        if (getenv("WALL_PSF"))
            vflow_stage_set_param(ref, "psf_sigma_mm", getenv("WALL_PSF"),
                                  &err);
        vflow_stage_set_input(ref, "volume", &vol->base, &err);
        vflow_stage_set_input(ref, "centerline", &in->base, &err);
        double a = now_s(), ca = cpu_s();
        if (vflow_stage_run(ref, &err) < 0) {
            fprintf(stderr, "refine: %s\n", err.message);
            return 1;
        }
        double b = now_s();
        times[2][r] = cpu_s() - ca;
        vflow_stage_set_input(mpr, "volume", &vol->base, &err);
        vflow_stage_set_input(mpr, "centerline",
                              vflow_stage_output(ref, "centerline"), &err);
        if (vflow_stage_run(mpr, &err) < 0) {
            fprintf(stderr, "mpr: %s\n", err.message);
            return 1;
        }
        times[0][r] = b - a;
        times[1][r] = now_s() - b;
    }
    qsort(times[0], (size_t)repeat, sizeof(double), cmp_d);
    qsort(times[1], (size_t)repeat, sizeof(double), cmp_d);
    qsort(times[2], (size_t)repeat, sizeof(double), cmp_d);
    vflow_polyline *cl = VFLOW_POLYLINE(vflow_stage_output(ref, "centerline"));
    vflow_contours *c = VFLOW_CONTOURS(vflow_stage_output(ref, "contours"));
    vflow_sections *sec = VFLOW_SECTIONS(vflow_stage_output(mpr, "sections"));
    printf("refine (polar + DP + refinement): median %.3f s, min %.3f s "
           "(%d runs, %u threads, %zu stations x %zu angles)\n",
           times[0][repeat / 2], times[0][0], repeat, threads, c->count,
           c->n_angles);
    printf("refine CPU time (all threads): median %.3f s\n",
           times[2][repeat / 2]);
    printf("mpr sections (%zux%zu px): median %.3f s\n", sec->width,
           sec->height, times[1][repeat / 2]);
    score(&t, in, cl, c);
    if (out != NULL)
        write_outputs(rt, out, vol, cl, c);
    vflow_stage_free(ref);
    vflow_stage_free(mpr);
    vflow_object_release(&in->base);
    vflow_object_release(&vol->base);
    vflow_runtime_free(rt);
    return 0;
}
