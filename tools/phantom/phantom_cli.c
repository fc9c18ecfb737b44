/* SPDX-License-Identifier: BSD-3-Clause */
/* `vflow phantom`: command-line front end of the phantom generator. */
#include "phantom.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vflow/runtime.h"

/* ------------------------------------------- threaded generation */

/* The request of the calling thread: the render stage runs on the thread
 * that calls vflow_stage_run, so a thread-local hand-over is safe. */
typedef struct render_request {
    const vflow_phantom_params *params;
    vflow_phantom *result;
} render_request;

static _Thread_local render_request *tl_request;

typedef struct render_priv {
    int64_t unused;
} render_priv;

static int render_stage_run(void *priv, vflow_ctx *ctx, vflow_io *io,
                            vflow_error *err)
{
    (void)priv;
    (void)io;
    if (!tl_request)
        return vflow_error_set(err, VFLOW_EINTERNAL, "no phantom request");
    return vflow_phantom_generate(tl_request->params, ctx,
                                  &tl_request->result, err);
}

/* A port-less stage: only a way to borrow the runtime's pool (its
 * vflow_parallel_for) for a generator that is not part of a pipeline. */
static const vflow_stage_desc render_stage = {
    VFLOW_STAGE_HEADER,
    .flags = VFLOW_STAGE_DETERMINISTIC,
    .name = "phantom_render",
    .version = "1.0.0",
    .summary = "renders a phantom (internal to vflow phantom)",
    .license = "BSD-3-Clause",
    .priv_size = sizeof(render_priv),
    .run = render_stage_run,
};

int vflow_phantom_generate_mt(const vflow_phantom_params *params,
                              unsigned threads, vflow_phantom **out,
                              vflow_error *err)
{
    *out = NULL;
    vflow_runtime_options opts = {.threads = threads,
                                  .log_level = VFLOW_LOG_WARN};
    vflow_runtime *rt = vflow_runtime_new(&opts, err);
    if (!rt)
        return err && err->code ? err->code : VFLOW_ENOMEM;
    const vflow_stage_desc *stages[] = {&render_stage};
    vflow_plugin_info info = {VFLOW_ABI_MAJOR, VFLOW_ABI_MINOR, "phantom", 1,
                              stages};
    vflow_stage *st = NULL;
    int rc = vflow_runtime_add_plugin_info(rt, &info, "vflow phantom", err);
    if (!rc) {
        st = vflow_stage_new(rt, &render_stage, err);
        rc = st ? 0 : (err && err->code ? err->code : VFLOW_ENOMEM);
    }
    render_request req = {params, NULL};
    if (!rc) {
        tl_request = &req;
        rc = vflow_stage_run(st, err);
        tl_request = NULL;
    }
    vflow_stage_free(st);
    vflow_runtime_free(rt);
    if (rc) {
        vflow_phantom_free(req.result);
        return rc;
    }
    *out = req.result;
    return 0;
}

/* ------------------------------------------------------------- CLI */

static void usage(FILE *f)
{
    fprintf(f,
        "usage: vflow phantom [options]\n"
        "Writes a synthetic coronary CTA volume and its exact truth.\n\n"
        "  --preset NAME      easy|lad|stenosis|calcified|kissing|tortuous "
        "(default lad)\n"
        "  --size SIZE        ci (48 mm cube, 96^3 at 0.5 mm) | bench "
        "(512x512x256,\n"
        "                     0.4x0.4x0.5 mm) | NxNxN | N   (default ci)\n"
        "  --spacing S|SX,SY,SZ  voxel size in mm (anisotropic allowed)\n"
        "  --oblique DEG      rotate the grid by Rx(DEG)*Rz(DEG) (oblique "
        "affine)\n"
        "  --noise HU         noise standard deviation (preset: 10-25)\n"
        "  --noise-corr MM    spatially correlated noise (Gaussian sigma, "
        "mm; 0 white)\n"
        "  --psf MM           Gaussian PSF sigma in mm (preset: 0.4-0.6)\n"
        "  --stenosis PCT     %% diameter of the first lesion (adds a "
        "concentric one\n"
        "                     at mid-length if the preset has none)\n"
        "  --gap MM           distractor gap, outer wall to outer wall\n"
        "  --seed N           noise seed (output is identical for equal "
        "seeds)\n"
        "  --supersample N    sub-samples per axis at boundaries (odd, "
        "default 5)\n"
        "  --threads N        worker threads (0 = all cores; output does not "
        "depend on it)\n"
        "  --out DIR          output directory (default phantom_<preset>)\n"
        "  -q, --quiet        print nothing on success\n\n"
        "Writes image.nii.gz (int16 HU), labels.nii.gz (u8), "
        "truth_centerline.csv,\ntruth_contours.json, truth_distractor.csv, "
        "truth_branch.csv, clicks.json,\nphantom.json into DIR.\n");
}

static int parse_double(const char *opt, const char *s, double lo, double hi,
                        double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi)) {
        fprintf(stderr, "vflow phantom: %s expects a number in [%g, %g], "
                        "got '%s'\n", opt, lo, hi, s);
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_triple(const char *opt, const char *s, char sep, double lo,
                        double hi, double v[3])
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s", s);
    char *parts[3] = {buf, NULL, NULL};
    int n = 1;
    for (char *c = buf; *c && n <= 3; c++)
        if (*c == sep) {
            *c = '\0';
            if (n < 3)
                parts[n] = c + 1;
            n++;
        }
    if (n != 1 && n != 3) {
        fprintf(stderr, "vflow phantom: %s expects one value or three "
                        "separated by '%c', got '%s'\n", opt, sep, s);
        return -1;
    }
    for (int a = 0; a < 3; a++)
        if (parse_double(opt, parts[n == 1 ? 0 : a], lo, hi, &v[a]))
            return -1;
    return 0;
}

typedef struct cli {
    const char *preset, *size, *spacing, *out;
    double oblique, noise, noise_corr, psf, stenosis, gap;
    bool has_oblique, has_noise, has_corr, has_psf, has_sten, has_gap;
    unsigned long long seed;
    bool has_seed;
    int supersample;
    unsigned threads;
    bool quiet;
} cli;

static int parse_args(int argc, char **argv, cli *c)
{
    memset(c, 0, sizeof *c);
    c->preset = "lad";
    c->size = "ci";
    c->supersample = 5;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 1;
        }
        if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
            c->quiet = true;
            continue;
        }
        if (i + 1 >= argc || strncmp(a, "--", 2) != 0) {
            fprintf(stderr, "vflow phantom: unknown or incomplete option '%s' "
                            "(see vflow phantom --help)\n", a);
            return -1;
        }
        const char *v = argv[++i];
        double d;
        if (!strcmp(a, "--preset")) c->preset = v;
        else if (!strcmp(a, "--size")) c->size = v;
        else if (!strcmp(a, "--spacing")) c->spacing = v;
        else if (!strcmp(a, "--out")) c->out = v;
        else if (!strcmp(a, "--oblique")) {
            if (parse_double(a, v, -180, 180, &c->oblique)) return -1;
            c->has_oblique = true;
        } else if (!strcmp(a, "--noise")) {
            if (parse_double(a, v, 0, 500, &c->noise)) return -1;
            c->has_noise = true;
        } else if (!strcmp(a, "--noise-corr")) {
            if (parse_double(a, v, 0, 5, &c->noise_corr)) return -1;
            c->has_corr = true;
        } else if (!strcmp(a, "--psf")) {
            if (parse_double(a, v, 0, 5, &c->psf)) return -1;
            c->has_psf = true;
        } else if (!strcmp(a, "--stenosis")) {
            if (parse_double(a, v, 0, 94, &c->stenosis)) return -1;
            c->has_sten = true;
        } else if (!strcmp(a, "--gap")) {
            if (parse_double(a, v, 0, 20, &c->gap)) return -1;
            c->has_gap = true;
        } else if (!strcmp(a, "--seed")) {
            if (parse_double(a, v, 0, 9.0e15, &d)) return -1;
            c->seed = (unsigned long long)d;
            c->has_seed = true;
        } else if (!strcmp(a, "--supersample")) {
            if (parse_double(a, v, 1, 15, &d)) return -1;
            c->supersample = (int)d;
        } else if (!strcmp(a, "--threads")) {
            if (parse_double(a, v, 0, 1024, &d)) return -1;
            c->threads = (unsigned)d;
        } else {
            fprintf(stderr, "vflow phantom: unknown option '%s' (see vflow "
                            "phantom --help)\n", a);
            return -1;
        }
    }
    return 0;
}

/* Grid from --size and --spacing: "ci" keeps a 48 mm field of view whatever
 * the spacing; "bench" and NxNxN fix the voxel counts. */
static int apply_size(const cli *c, vflow_phantom_params *p)
{
    double sp[3] = {0.5, 0.5, 0.5};
    bool bench = !strcmp(c->size, "bench");
    if (bench) {
        sp[0] = sp[1] = 0.4;
        sp[2] = 0.5;
    }
    if (c->spacing && parse_triple("--spacing", c->spacing, ',', 0.05, 5, sp))
        return -1;
    memcpy(p->spacing, sp, sizeof sp);
    if (!strcmp(c->size, "ci")) {
        for (int a = 0; a < 3; a++)
            p->dims[a] = (size_t)llround(48.0 / sp[a]);
    } else if (bench) {
        p->dims[0] = p->dims[1] = 512;
        p->dims[2] = 256;
    } else {
        double d[3];
        if (parse_triple("--size", c->size, 'x', 8, 4096, d))
            return -1;
        for (int a = 0; a < 3; a++)
            p->dims[a] = (size_t)d[a];
    }
    return 0;
}

static int apply_overrides(const cli *c, vflow_phantom_params *p)
{
    if (apply_size(c, p))
        return -1;
    if (c->has_oblique) p->oblique_deg = c->oblique;
    if (c->has_noise) p->noise_hu = c->noise;
    if (c->has_corr) p->noise_corr_mm = c->noise_corr;
    if (c->has_psf) p->psf_sigma_mm = c->psf;
    if (c->has_seed) p->seed = c->seed;
    if (c->has_gap) p->distractor_gap_mm = c->gap;
    p->supersample = c->supersample;
    if (c->has_sten) {
        if (p->n_lesions == 0) {
            p->lesions[0] = (vflow_phantom_lesion){
                VFLOW_LESION_CONCENTRIC, 0.5 * p->length_mm, 6.0, 0, 0};
            p->n_lesions = 1;
        }
        p->lesions[0].stenosis_pct = c->stenosis;
    }
    return 0;
}

static double seconds(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) +
           1e-9 * (double)(b->tv_nsec - a->tv_nsec);
}

static void print_summary(const vflow_phantom *ph, const char *dir,
                          double gen, double write)
{
    const vflow_phantom_params *p = &ph->params;
    const vflow_volume *im = ph->image;
    printf("phantom '%s' -> %s/ (generate %.2f s, write %.2f s)\n", p->preset,
           dir, gen, write);
    printf("  grid        %zu x %zu x %zu, spacing %g x %g x %g mm, "
           "oblique %g deg\n", im->dims[0], im->dims[1], im->dims[2],
           p->spacing[0], p->spacing[1], p->spacing[2], p->oblique_deg);
    printf("  vessel      %.1f mm, lumen radius %.2f -> %.2f mm, PSF %.2f mm, "
           "noise %.0f HU\n", p->length_mm, p->r_prox_mm, p->r_dist_mm,
           p->psf_sigma_mm, p->noise_hu);
    for (size_t i = 0; i < p->n_lesions; i++)
        printf("  lesion      %s %.0f %% diameter at s = %.1f mm (%.1f mm "
               "long)\n",
               p->lesions[i].kind == VFLOW_LESION_ECCENTRIC ? "eccentric"
                                                           : "concentric",
               p->lesions[i].stenosis_pct, p->lesions[i].s_mm,
               p->lesions[i].length_mm);
    if (p->distractor)
        printf("  distractor  at s = %.1f mm, gap %.2f mm (outer wall to outer "
               "wall)\n", p->distractor_s_mm, ph->measured_gap_mm);
    printf("  clicks      start (%.2f, %.2f, %.2f)  end (%.2f, %.2f, %.2f) "
           "world mm\n", ph->start[0], ph->start[1], ph->start[2], ph->end[0],
           ph->end[1], ph->end[2]);
    printf("  run it      vflow run pipelines/lad.yaml --set image=%s/image.nii.gz "
           "--set start=%.5f,%.5f,%.5f --set end=%.5f,%.5f,%.5f --out %s/run\n",
           dir, ph->start[0], ph->start[1], ph->start[2], ph->end[0],
           ph->end[1], ph->end[2], dir);
    printf("  score it    vflow eval --truth %s --result %s/run\n", dir, dir);
}

int vflow_cmd_phantom(int argc, char **argv)
{
    cli c;
    int prc = parse_args(argc, argv, &c);
    if (prc)
        return prc > 0 ? 0 : 2;
    vflow_phantom_params p;
    vflow_error err;
    vflow_error_clear(&err);
    if (vflow_phantom_preset(c.preset, &p, &err)) {
        fprintf(stderr, "vflow phantom: %s\n", err.message);
        return 2;
    }
    if (apply_overrides(&c, &p))
        return 2;
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", c.out ? c.out : "");
    if (!c.out)
        snprintf(dir, sizeof dir, "phantom_%s", p.preset);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    vflow_phantom *ph = NULL;
    int rc = vflow_phantom_generate_mt(&p, c.threads, &ph, &err);
    struct timespec tg;
    clock_gettime(CLOCK_MONOTONIC, &tg);
    if (!rc)
        rc = vflow_phantom_write(ph, dir, &err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (rc) {
        fprintf(stderr, "vflow phantom: %s\n", err.message);
        vflow_phantom_free(ph);
        return 1;
    }
    if (!vflow_phantom_vessel_inside(ph))
        fprintf(stderr, "vflow phantom: warning: part of the vessel lies "
                        "outside the %zux%zux%zu grid (field of view %.1f x "
                        "%.1f x %.1f mm); use a larger --size or a smaller "
                        "--oblique\n", ph->image->dims[0], ph->image->dims[1],
                ph->image->dims[2], ph->image->dims[0] * p.spacing[0],
                ph->image->dims[1] * p.spacing[1],
                ph->image->dims[2] * p.spacing[2]);
    if (!c.quiet)
        print_summary(ph, dir, seconds(&t0, &tg), seconds(&tg, &t1));
    vflow_phantom_free(ph);
    return 0;
}
