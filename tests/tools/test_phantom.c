/* SPDX-License-Identifier: BSD-3-Clause */
/* The phantom generator checked against analytic facts of its geometry. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eval.h"
#include "phantom.h"
#include "vflow/volume.h"

static vflow_phantom *make(const vflow_phantom_params *p)
{
    vflow_phantom *ph = NULL;
    vflow_error err;
    vflow_error_clear(&err);
    int rc = vflow_phantom_generate(p, NULL, &ph, &err);
    cr_assert_eq(rc, 0, "generate failed: %s", err.message);
    return ph;
}

static vflow_phantom_params preset(const char *name)
{
    vflow_phantom_params p;
    vflow_error err;
    cr_assert_eq(vflow_phantom_preset(name, &p, &err), 0);
    return p;
}

/* Numerical curvature |T'| from three truth points a step h apart. */
static double curvature_at(const vflow_phantom *ph, size_t i, size_t h)
{
    const double *a = ph->stations[i - h].center, *b = ph->stations[i].center,
                 *c = ph->stations[i + h].center;
    double ab = 0, bc = 0, ac = 0, cr[3], u[3], v[3];
    for (int k = 0; k < 3; k++) {
        u[k] = b[k] - a[k];
        v[k] = c[k] - b[k];
        ab += u[k] * u[k];
        bc += v[k] * v[k];
        ac += (c[k] - a[k]) * (c[k] - a[k]);
    }
    cr[0] = u[1] * v[2] - u[2] * v[1];
    cr[1] = u[2] * v[0] - u[0] * v[2];
    cr[2] = u[0] * v[1] - u[1] * v[0];
    double area2 = sqrt(cr[0] * cr[0] + cr[1] * cr[1] + cr[2] * cr[2]);
    /* Circumscribed circle: kappa = 4 * area / (|ab| |bc| |ac|). */
    return 2 * area2 / sqrt(ab * bc * ac);
}

Test(phantom, centerline_has_requested_length_and_curvature)
{
    vflow_phantom_params p = preset("easy");
    p.dims[0] = p.dims[1] = p.dims[2] = 32;
    p.spacing[0] = p.spacing[1] = p.spacing[2] = 1.5;
    p.length_mm = 40.0;
    vflow_curve_bend b[] = {{5, 20, 1.0 / 8, 0.05, 2},
                            {22, 35, -1.0 / 5, 0.0, 2}};
    memcpy(p.bends, b, sizeof b);
    p.n_bends = 2;
    vflow_phantom *ph = make(&p);
    double len = 0;
    for (size_t i = 1; i < ph->n_stations; i++)
        len += sqrt(pow(ph->stations[i].center[0] - ph->stations[i - 1].center[0], 2) +
                    pow(ph->stations[i].center[1] - ph->stations[i - 1].center[1], 2) +
                    pow(ph->stations[i].center[2] - ph->stations[i - 1].center[2], 2));
    cr_expect_float_eq(ph->stations[ph->n_stations - 1].s_mm, 40.0, 1e-9);
    /* The chord polyline of a 0.1 mm sampling is shorter by < 0.01 %. */
    cr_expect(fabs(len - 40.0) < 0.01, "polyline length %.4f mm", len);
    /* Middle of each bend (s = 12.5 and 28.5): radius of curvature 8, 5 mm. */
    double k1 = curvature_at(ph, 125, 10), k2 = curvature_at(ph, 285, 10);
    cr_expect(fabs(k1 - 1.0 / 8) < 0.002, "curvature %.4f, want 0.125", k1);
    cr_expect(fabs(k2 - 1.0 / 5) < 0.003, "curvature %.4f, want 0.2", k2);
    /* Straight before the first bend. */
    cr_expect(curvature_at(ph, 30, 10) < 1e-3);
    vflow_phantom_free(ph);
}

Test(phantom, tortuous_preset_bends_down_to_5mm_radius)
{
    vflow_phantom_params p = preset("tortuous");
    p.dims[0] = p.dims[1] = p.dims[2] = 24;
    p.spacing[0] = p.spacing[1] = p.spacing[2] = 2.0;
    p.distractor = false;
    vflow_phantom *ph = make(&p);
    double kmax = 0;
    for (size_t i = 10; i + 10 < ph->n_stations; i++)
        kmax = fmax(kmax, curvature_at(ph, i, 10));
    cr_expect(kmax > 0.19 && kmax < 0.21, "max curvature %.4f /mm", kmax);
    vflow_phantom_free(ph);
}

/* Lumen volume of the truth tube: integral of pi r(s)^2 plus the distal
 * hemispherical cap. */
static double analytic_lumen_volume(const vflow_phantom *ph)
{
    double v = 0, ds = 0.01, L = ph->params.length_mm;
    for (double s = 0.5 * ds; s < L; s += ds) {
        double r = vflow_phantom_lumen_radius(ph, s);
        v += M_PI * r * r * ds;
    }
    double rl = vflow_phantom_lumen_radius(ph, L);
    return v + 2.0 / 3.0 * M_PI * rl * rl * rl;
}

static double label_volume(const vflow_phantom *ph, int which)
{
    const vflow_volume *l = ph->labels;
    size_t n = vflow_volume_voxel_count(l), cnt = 0;
    const unsigned char *d = l->data;
    for (size_t i = 0; i < n; i++)
        cnt += which == 1 ? d[i] == 1 : d[i] != 0;
    return (double)cnt * l->spacing[0] * l->spacing[1] * l->spacing[2];
}

Test(phantom, label_volume_matches_analytic_tube_within_2_percent)
{
    const char *names[] = {"easy", "stenosis"};
    for (int k = 0; k < 2; k++) {
        vflow_phantom_params p = preset(names[k]);
        p.noise_hu = 0;
        vflow_phantom *ph = make(&p);
        double want = analytic_lumen_volume(ph), got = label_volume(ph, 1);
        cr_expect(fabs(got - want) / want < 0.02,
                  "%s: lumen label volume %.2f mm3, analytic %.2f mm3",
                  names[k], got, want);
        vflow_phantom_free(ph);
    }
}

Test(phantom, wall_label_volume_matches_analytic_outer_tube)
{
    vflow_phantom_params p = preset("easy");
    p.noise_hu = 0;
    vflow_phantom *ph = make(&p);
    double v = 0, ds = 0.01, L = p.length_mm;
    for (double s = 0.5 * ds; s < L; s += ds) {
        double r = vflow_phantom_r0(&p, s) + p.wall_prox_mm +
                   (p.wall_dist_mm - p.wall_prox_mm) * s / L;
        v += M_PI * r * r * ds;
    }
    double ro = p.r_dist_mm + p.wall_dist_mm;
    v += 2.0 / 3.0 * M_PI * ro * ro * ro;
    double got = label_volume(ph, 2);
    cr_expect(fabs(got - v) / v < 0.02, "vessel label volume %.2f, analytic %.2f",
              got, v);
    vflow_phantom_free(ph);
}

Test(phantom, stenosis_has_requested_percent_diameter)
{
    vflow_phantom_params p = preset("stenosis");
    p.dims[0] = p.dims[1] = p.dims[2] = 32;
    p.spacing[0] = p.spacing[1] = p.spacing[2] = 1.5;
    vflow_phantom *ph = make(&p);
    for (size_t l = 0; l < p.n_lesions; l++) {
        const vflow_phantom_lesion *les = &p.lesions[l];
        double rmin = 1e9, s_at = 0;
        for (size_t i = 0; i < ph->n_stations; i++) {
            double s = ph->stations[i].s_mm;
            if (fabs(s - les->s_mm) > les->length_mm)
                continue;
            if (ph->stations[i].lumen_r_mm < rmin) {
                rmin = ph->stations[i].lumen_r_mm;
                s_at = s;
            }
        }
        double ds = 100.0 * (1.0 - rmin / vflow_phantom_r0(&p, s_at));
        cr_expect(fabs(ds - les->stenosis_pct) < 0.05,
                  "lesion %zu: %.2f %% diameter, requested %.2f %%", l, ds,
                  les->stenosis_pct);
        cr_expect(fabs(s_at - les->s_mm) < 0.11);
        /* The per-angle truth radii agree: the lumen stays a circle. */
        size_t i = (size_t)llround(s_at / 0.1);
        for (size_t a = 0; a < ph->n_angles; a++)
            cr_expect_float_eq(ph->lumen_r[i * ph->n_angles + a], rmin, 1e-12);
    }
    /* Eccentric lesion: the outer wall is off-centre, thick on one side. */
    size_t i = (size_t)llround(p.lesions[1].s_mm / 0.1);
    double omin = 1e9, omax = 0;
    for (size_t a = 0; a < ph->n_angles; a++) {
        omin = fmin(omin, ph->outer_r[i * ph->n_angles + a]);
        omax = fmax(omax, ph->outer_r[i * ph->n_angles + a]);
    }
    cr_expect(omax - omin > 1.0, "outer radii %.2f..%.2f mm", omin, omax);
    vflow_phantom_free(ph);
}

Test(phantom, distractor_passes_within_1_to_2_mm)
{
    const char *names[] = {"lad", "kissing", "tortuous"};
    for (int k = 0; k < 3; k++) {
        vflow_phantom_params p = preset(names[k]);
        p.dims[0] = p.dims[1] = p.dims[2] = 24;
        p.spacing[0] = p.spacing[1] = p.spacing[2] = 2.0;
        vflow_phantom *ph = make(&p);
        cr_expect(ph->measured_gap_mm >= 0.95 && ph->measured_gap_mm <= 2.0,
                  "%s: gap %.3f mm", names[k], ph->measured_gap_mm);
        cr_expect(fabs(ph->measured_gap_mm - p.distractor_gap_mm) < 0.05);
        vflow_phantom_free(ph);
    }
}

/* Trilinear sample of an i16 image at world x through the affine `A` read
 * back from the file (its inverse computed here). */
static double sample_world(const vflow_volume *im, double A[4][4],
                           const double x[3])
{
    double m[3][3], inv[3][3], b[3];
    for (int r = 0; r < 3; r++) {
        for (int c = 0; c < 3; c++)
            m[r][c] = A[r][c];
        b[r] = x[r] - A[r][3];
    }
    double det = m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) -
                 m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
                 m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 3; c++) {
            int r1 = (c + 1) % 3, r2 = (c + 2) % 3, c1 = (r + 1) % 3,
                c2 = (r + 2) % 3;
            inv[r][c] = (m[r1][c1] * m[r2][c2] - m[r1][c2] * m[r2][c1]) / det;
        }
    double ijk[3];
    for (int r = 0; r < 3; r++)
        ijk[r] = inv[r][0] * b[0] + inv[r][1] * b[1] + inv[r][2] * b[2];
    return vflow_volume_sample_linear(im, ijk);
}

/* World coordinates of the truth agree with the image under an oblique,
 * anisotropic grid, read back from the written NIfTI file: the brightest
 * voxels lie on the true centreline, and in every cross-section the
 * intensity peaks at the true centre. */
Test(phantom, truth_agrees_with_image_under_oblique_anisotropic_affine)
{
    vflow_phantom_params p = preset("easy");
    p.spacing[0] = 0.35;
    p.spacing[1] = 0.45;
    p.spacing[2] = 0.6;
    p.dims[0] = 120;
    p.dims[1] = 100;
    p.dims[2] = 80;
    p.oblique_deg = 30.0;
    p.noise_hu = 0;
    /* A thin vessel: its blurred profile peaks on the axis. */
    p.r_prox_mm = p.r_dist_mm = 0.8;
    p.psf_sigma_mm = 0.6;
    vflow_phantom *ph = make(&p);
    char dir[] = "/tmp/vflow_test_phantom_XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    vflow_error err;
    cr_assert_eq(vflow_phantom_write(ph, dir, &err), 0, "%s", err.message);
    char path[512];
    snprintf(path, sizeof path, "%s/image.nii.gz", dir);
    vflow_eval_labels hdr;
    cr_assert_eq(vflow_eval_labels_read(path, &hdr, &err), 0, "%s", err.message);
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 4; c++)
            cr_expect(fabs(hdr.affine[r][c] - ph->image->affine[r][c]) < 1e-4,
                      "affine[%d][%d] file %.6f memory %.6f", r, c,
                      hdr.affine[r][c], ph->image->affine[r][c]);
    /* The 30 brightest voxels outside the chamber. */
    const vflow_volume *im = ph->image;
    const int16_t *d = im->data;
    size_t n = vflow_volume_voxel_count(im);
    double top_x[30][3];
    int top_v[30], n_top = 0;
    for (size_t i = 0; i < n; i++) {
        double ijk[3] = {(double)(i % im->dims[0]),
                         (double)((i / im->dims[0]) % im->dims[1]),
                         (double)(i / (im->dims[0] * im->dims[1]))}, x[3];
        for (int a = 0; a < 3; a++)
            x[a] = hdr.affine[a][0] * ijk[0] + hdr.affine[a][1] * ijk[1] +
                   hdr.affine[a][2] * ijk[2] + hdr.affine[a][3];
        double dc = sqrt(pow(x[0] - ph->chamber_center[0], 2) +
                         pow(x[1] - ph->chamber_center[1], 2) +
                         pow(x[2] - ph->chamber_center[2], 2));
        if (dc < p.chamber_radius_mm + 4.0)
            continue;
        int slot = n_top < 30 ? n_top++ : -1;
        if (slot < 0) {
            slot = 0;
            for (int k = 1; k < 30; k++)
                if (top_v[k] < top_v[slot])
                    slot = k;
            if (d[i] <= top_v[slot])
                continue;
        }
        top_v[slot] = d[i];
        memcpy(top_x[slot], x, sizeof x);
    }
    double half_diag = 0.5 * sqrt(0.35 * 0.35 + 0.45 * 0.45 + 0.6 * 0.6);
    for (int k = 0; k < n_top; k++) {
        vflow_curve_hit h;
        vflow_curve_nearest_brute(&ph->target, top_x[k], &h);
        cr_expect(h.dist <= half_diag, "bright voxel (%d HU) %.3f mm off axis",
                  top_v[k], h.dist);
    }
    /* Cross-sections every 2 mm: the centroid of the contrast above 150 HU
     * (trilinear samples, 0.05 mm grid, 1.5 mm disc) lies within 0.1 mm of
     * the true centre. (The maximum of a trilinear interpolant sits on a
     * grid node, so the peak itself is not a sub-voxel measure.) */
    for (size_t i = 40; i + 40 < ph->n_stations; i += 20) {
        const vflow_phantom_station *st = &ph->stations[i];
        double sw = 0, su = 0, sv = 0;
        for (double u = -1.5; u <= 1.5; u += 0.05)
            for (double v = -1.5; v <= 1.5; v += 0.05) {
                if (u * u + v * v > 1.5 * 1.5)
                    continue;
                double x[3];
                for (int a = 0; a < 3; a++)
                    x[a] = st->center[a] + u * st->normal[a] + v * st->binormal[a];
                double w = sample_world(im, hdr.affine, x) - 150.0;
                if (w > 0) {
                    sw += w;
                    su += w * u;
                    sv += w * v;
                }
            }
        cr_assert(sw > 0, "no contrast at s = %.1f mm", st->s_mm);
        double off = sqrt(su * su + sv * sv) / sw;
        cr_expect(off <= 0.1, "s = %.1f mm: centroid %.3f mm off the true "
                  "centre", st->s_mm, off);
    }
    vflow_eval_labels_free(&hdr);
    vflow_phantom_free(ph);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_expect_eq(system(cmd), 0);
}

static void slurp(const char *path, unsigned char **buf, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    *buf = malloc(*len ? *len : 1);
    cr_assert_eq(fread(*buf, 1, *len, f), *len);
    fclose(f);
}

static void expect_same_file(const char *a, const char *b)
{
    unsigned char *x, *y;
    size_t nx, ny;
    slurp(a, &x, &nx);
    slurp(b, &y, &ny);
    cr_expect(nx == ny && memcmp(x, y, nx) == 0, "%s and %s differ", a, b);
    free(x);
    free(y);
}

Test(phantom, same_seed_gives_identical_bytes_for_any_thread_count)
{
    vflow_phantom_params p = preset("kissing");
    p.dims[0] = p.dims[1] = p.dims[2] = 64;
    p.spacing[0] = p.spacing[1] = p.spacing[2] = 0.75;
    p.noise_corr_mm = 0.4;
    p.seed = 42;
    vflow_phantom *a = make(&p), *b = NULL, *c = NULL;
    vflow_error err;
    cr_assert_eq(vflow_phantom_generate_mt(&p, 2, &b, &err), 0, "%s",
                 err.message);
    size_t n = vflow_volume_voxel_count(a->image);
    cr_expect(memcmp(a->image->data, b->image->data, 2 * n) == 0,
              "serial and 2-thread images differ");
    cr_expect(memcmp(a->labels->data, b->labels->data, n) == 0);
    char d1[] = "/tmp/vflow_test_det1_XXXXXX", d2[] = "/tmp/vflow_test_det2_XXXXXX";
    cr_assert_not_null(mkdtemp(d1));
    cr_assert_not_null(mkdtemp(d2));
    cr_assert_eq(vflow_phantom_write(a, d1, &err), 0, "%s", err.message);
    cr_assert_eq(vflow_phantom_write(b, d2, &err), 0, "%s", err.message);
    const char *files[] = {"image.nii.gz", "labels.nii.gz", "truth_centerline.csv",
                           "truth_contours.json", "phantom.json", "clicks.json",
                           "truth_distractor.csv"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        char pa[512], pb[512];
        snprintf(pa, sizeof pa, "%s/%s", d1, files[i]);
        snprintf(pb, sizeof pb, "%s/%s", d2, files[i]);
        expect_same_file(pa, pb);
    }
    /* Another seed changes the noise only. */
    p.seed = 43;
    c = make(&p);
    cr_expect(memcmp(a->image->data, c->image->data, 2 * n) != 0);
    cr_expect(memcmp(a->labels->data, c->labels->data, n) == 0);
    vflow_phantom_free(a);
    vflow_phantom_free(b);
    vflow_phantom_free(c);
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", d1, d2);
    cr_expect_eq(system(cmd), 0);
}

Test(phantom, noise_has_requested_sigma)
{
    vflow_phantom_params p = preset("easy");
    p.dims[0] = p.dims[1] = p.dims[2] = 48;
    p.spacing[0] = p.spacing[1] = p.spacing[2] = 1.0;
    p.noise_hu = 30;
    vflow_phantom *ph = make(&p);
    p.noise_hu = 0;
    vflow_phantom *clean = make(&p);
    const int16_t *a = ph->image->data, *b = clean->image->data;
    size_t n = vflow_volume_voxel_count(ph->image);
    double s = 0, s2 = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)a[i] - (double)b[i];
        s += d;
        s2 += d * d;
    }
    double sd = sqrt(s2 / (double)n - pow(s / (double)n, 2));
    cr_expect(fabs(sd - 30.0) < 0.6, "noise sigma %.2f HU", sd);
    cr_expect(fabs(s / (double)n) < 0.3);
    vflow_phantom_free(ph);
    vflow_phantom_free(clean);
}

Test(phantom, bad_parameters_are_refused_with_a_message)
{
    vflow_phantom_params p;
    vflow_error err;
    cr_expect_eq(vflow_phantom_preset("coronary", &p, &err), VFLOW_EINVAL);
    cr_expect(strstr(err.message, "tortuous") != NULL, "%s", err.message);
    p = preset("lad");
    p.spacing[1] = 0;
    vflow_phantom *ph = NULL;
    cr_expect_eq(vflow_phantom_generate(&p, NULL, &ph, &err), VFLOW_ERANGE);
    cr_expect(strstr(err.message, "spacing") != NULL, "%s", err.message);
    cr_expect_null(ph);
    p = preset("lad");
    p.lesions[0].stenosis_pct = 120;
    cr_expect_eq(vflow_phantom_generate(&p, NULL, &ph, &err), VFLOW_ERANGE);
    p = preset("lad");
    p.dims[2] = 2;
    cr_expect_eq(vflow_phantom_generate(&p, NULL, &ph, &err), VFLOW_ERANGE);
}

Test(phantom, cli_writes_every_truth_file)
{
    char dir[] = "/tmp/vflow_test_cli_XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char *argv[] = {"phantom", "--preset", "calcified", "--size", "40x40x40",
                    "--spacing", "1.2", "--seed", "7", "--out", dir, "-q", NULL};
    cr_assert_eq(vflow_cmd_phantom(12, argv), 0);
    const char *files[] = {"image.nii.gz", "labels.nii.gz", "truth_centerline.csv",
                           "truth_contours.json", "clicks.json", "phantom.json",
                           "truth_distractor.csv", "truth_branch.csv"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        char p[512];
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        cr_expect_eq(access(p, R_OK), 0, "missing %s", p);
    }
    char *bad[] = {"phantom", "--noise", "lots", NULL};
    cr_expect_eq(vflow_cmd_phantom(3, bad), 2);
    char *badp[] = {"phantom", "--preset", "nope", NULL};
    cr_expect_eq(vflow_cmd_phantom(3, badp), 2);
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_expect_eq(system(cmd), 0);
}

Test(phantom, calcium_is_a_bright_eccentric_block_in_the_wall)
{
    vflow_phantom_params p = preset("calcified");
    p.noise_hu = 0;
    vflow_phantom *ph = make(&p);
    const vflow_volume *im = ph->image;
    const int16_t *d = im->data;
    const unsigned char *lab = ph->labels->data;
    size_t n = vflow_volume_voxel_count(im), imax = 0;
    for (size_t i = 0; i < n; i++)
        if (d[i] > d[imax])
            imax = i;
    cr_expect(d[imax] >= 650 && d[imax] <= 950, "brightest voxel %d HU", d[imax]);
    cr_expect_eq(lab[imax], 2, "brightest voxel labelled %d, want wall", lab[imax]);
    /* It lies on the plaque side (angle 0 of the frame) at the lesion. */
    double ijk[3] = {(double)(imax % im->dims[0]),
                     (double)((imax / im->dims[0]) % im->dims[1]),
                     (double)(imax / (im->dims[0] * im->dims[1]))}, x[3];
    vflow_volume_index_to_world(im, ijk, x);
    vflow_curve_hit h;
    vflow_curve_nearest_brute(&ph->target, x, &h);
    cr_expect(fabs(h.s - p.calcium_s_mm) <= 0.5 * p.calcium_length_mm + 0.5,
              "at s = %.2f mm", h.s);
    size_t st = (size_t)llround(h.s / 0.1);
    double w[3], wu = 0, wv = 0;
    for (int a = 0; a < 3; a++) {
        w[a] = x[a] - h.q[a];
        wu += w[a] * ph->stations[st].normal[a];
        wv += w[a] * ph->stations[st].binormal[a];
    }
    cr_expect(fabs(atan2(wv, wu)) < 0.5 * p.calcium_arc_deg * M_PI / 180 + 0.2,
              "angle %.1f deg", atan2(wv, wu) * 180 / M_PI);
    cr_expect(h.dist > vflow_phantom_lumen_radius(ph, h.s), "inside the lumen");
    vflow_phantom_free(ph);
}
