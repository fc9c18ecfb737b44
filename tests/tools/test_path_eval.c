/* SPDX-License-Identifier: BSD-3-Clause */
/* The real-volume path scorer: exact on synthetic masks, references and
 * images, strict on bad input, honest exit codes. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nifti2_io.h>

#include "path_eval.h"

int vflow_eval_line_alloc(vflow_eval_line *l, size_t n);

/* A 40 x 20 x 20 grid of 0.5 mm voxels, origin (-5, -5, -5) mm: world
 * x = -5 + 0.5 i. The tube is the set |y|,|z| <= 1.5 mm along x. */
#define NX 40
#define NY 20
#define NZ 20
#define SP 0.5
#define ORIGIN -5.0

static char dir[] = "/tmp/vflow_test_path_XXXXXX";

static void setup(void)
{
    cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        cr_log_warn("cleanup failed");
}

static void path_in(char *out, size_t n, const char *name)
{
    snprintf(out, n, "%s/%s", dir, name);
}

/* Writes a float32 NIfTI-1 with the test grid's affine; value(i,j,k). */
static void write_volume(const char *name, float (*value)(int, int, int))
{
    nifti_1_header h;
    memset(&h, 0, sizeof h);
    h.sizeof_hdr = 348;
    h.dim[0] = 3;
    h.dim[1] = NX;
    h.dim[2] = NY;
    h.dim[3] = NZ;
    h.datatype = DT_FLOAT32;
    h.bitpix = 32;
    h.pixdim[0] = 1;
    h.pixdim[1] = h.pixdim[2] = h.pixdim[3] = (float)SP;
    h.vox_offset = 352;
    h.scl_slope = 1;
    h.sform_code = 1;
    h.srow_x[0] = (float)SP;
    h.srow_x[3] = (float)ORIGIN;
    h.srow_y[1] = (float)SP;
    h.srow_y[3] = (float)ORIGIN;
    h.srow_z[2] = (float)SP;
    h.srow_z[3] = (float)ORIGIN;
    memcpy(h.magic, "n+1", 4);
    char p[512];
    path_in(p, sizeof p, name);
    FILE *f = fopen(p, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(&h, sizeof h, 1, f), 1);
    char ext[4] = {0, 0, 0, 0};
    cr_assert_eq(fwrite(ext, 4, 1, f), 1);
    for (int k = 0; k < NZ; k++)
        for (int j = 0; j < NY; j++)
            for (int i = 0; i < NX; i++) {
                float v = value(i, j, k);
                cr_assert_eq(fwrite(&v, sizeof v, 1, f), 1);
            }
    cr_assert_eq(fclose(f), 0);
}

static double wx(int i) { return ORIGIN + SP * i; }

static float tube(int i, int j, int k)
{
    (void)i;
    return fabs(wx(j)) <= 1.5 && fabs(wx(k)) <= 1.5 ? 1.0f : 0.0f;
}

/* The part of the tube with x >= 5 mm: a "false lumen" for the test. */
static float tube_far_end(int i, int j, int k)
{
    return wx(i) >= 5.0 ? tube(i, j, k) : 0.0f;
}

/* An image: tube at 100 on a background of 10. */
static float bright_tube(int i, int j, int k)
{
    return 10.0f + 90.0f * tube(i, j, k);
}

/* A straight path along x at (y, z) from x0 to x1 with a 0.25 mm step; the
 * points with x in [ya, yb) are moved to y = ydetour. */
static void make_path(vflow_eval_line *l, double x0, double x1, double y,
                      double z, double xa, double xb, double ydetour)
{
    size_t n = (size_t)lround((x1 - x0) / 0.25) + 1;
    cr_assert_eq(vflow_eval_line_alloc(l, n), 0);
    for (size_t i = 0; i < n; i++) {
        double x = x0 + 0.25 * (double)i;
        l->p[i][0] = x;
        l->p[i][1] = x >= xa && x < xb ? ydetour : y;
        l->p[i][2] = z;
    }
}

static void write_text(const char *name, const char *text)
{
    char p[512];
    path_in(p, sizeof p, name);
    FILE *f = fopen(p, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    cr_assert_eq(fclose(f), 0);
}

TestSuite(path_eval, .init = setup, .fini = teardown);

Test(path_eval, axis_path_is_fully_inside_and_passes)
{
    write_volume("tube.nii", tube);
    char m[512];
    path_in(m, sizeof m, "tube.nii");
    vflow_eval_line l;
    make_path(&l, -4, 14, 0, 0, 0, 0, 0);
    vflow_eval_path_opts o;
    vflow_eval_path_opts_init(&o);
    o.inside[o.n_inside++] = m;
    o.min_inside_frac = 1.0;
    vflow_eval_path_scores sc;
    vflow_error err;
    cr_assert_eq(vflow_eval_path_score(&l, &o, &sc, &err), 0, "%s",
                 err.message);
    cr_assert(sc.inside_scored);
    cr_assert_float_eq(sc.inside_frac, 1.0, 1e-12);
    cr_assert_eq(sc.n_outside, 0);
    cr_assert_float_eq(sc.longest_outside_mm, 0.0, 1e-12);
    cr_assert_float_eq(sc.length_mm, 18.0, 1e-9);
    cr_assert(sc.pass, "%s", sc.why);
    vflow_eval_line_free(&l);
}

Test(path_eval, detour_gives_its_length_as_the_longest_outside_run)
{
    write_volume("tube.nii", tube);
    char m[512];
    path_in(m, sizeof m, "tube.nii");
    vflow_eval_line l;
    /* 4 mm (16 points) at y = 4 mm, far outside the 1.5 mm tube. */
    make_path(&l, -4, 14, 0, 0, 2, 6, 4.0);
    vflow_eval_path_opts o;
    vflow_eval_path_opts_init(&o);
    o.inside[o.n_inside++] = m;
    o.min_inside_frac = 1.0;
    vflow_eval_path_scores sc;
    vflow_error err;
    cr_assert_eq(vflow_eval_path_score(&l, &o, &sc, &err), 0, "%s",
                 err.message);
    cr_assert_eq(sc.n_outside, 16);
    cr_assert_float_eq(sc.inside_frac, 1.0 - 16.0 / (double)l.n, 1e-12);
    /* 15 inner steps of 0.25 mm plus half of each 4 mm jump at its ends. */
    double expect = 15 * 0.25 + 0.5 * hypot(0.25, 4.0) * 2;
    cr_assert_float_eq(sc.longest_outside_mm, expect, 1e-9);
    cr_assert_not(sc.pass);
    cr_assert_not_null(strstr(sc.why, "inside"));
    vflow_eval_line_free(&l);
}

Test(path_eval, dilation_accepts_one_voxel_off_but_not_two)
{
    write_volume("tube.nii", tube);
    char m[512];
    path_in(m, sizeof m, "tube.nii");
    vflow_eval_path_opts o;
    vflow_eval_path_opts_init(&o);
    o.inside[o.n_inside++] = m;
    vflow_eval_path_scores sc;
    vflow_error err;
    /* Tube voxels reach y = 1.5 mm; y = 2.0 is one voxel beyond. */
    vflow_eval_line l;
    make_path(&l, 0, 4, 2.0, 0, 0, 0, 0);
    cr_assert_eq(vflow_eval_path_score(&l, &o, &sc, &err), 0);
    cr_assert_float_eq(sc.inside_frac, 0.0, 1e-12);
    o.dilate_vox = 1;
    cr_assert_eq(vflow_eval_path_score(&l, &o, &sc, &err), 0);
    cr_assert_float_eq(sc.inside_frac, 1.0, 1e-12);
    vflow_eval_line_free(&l);
    /* y = 2.5 mm is two voxels beyond: still outside with one voxel. */
    make_path(&l, 0, 4, 2.5, 0, 0, 0, 0);
    cr_assert_eq(vflow_eval_path_score(&l, &o, &sc, &err), 0);
    cr_assert_float_eq(sc.inside_frac, 0.0, 1e-12);
    /* Diagonal neighbours are not one voxel away (6-neighbour ball). */
    vflow_eval_line_free(&l);
    make_path(&l, 0, 4, 2.0, 2.0, 0, 0, 0);
    cr_assert_eq(vflow_eval_path_score(&l, &o, &sc, &err), 0);
    cr_assert_float_eq(sc.inside_frac, 0.0, 1e-12);
    vflow_eval_line_free(&l);
}

Test(path_eval, union_of_masks_and_forbidden_points_are_counted)
{
    write_volume("tube.nii", tube);
    write_volume("far.nii", tube_far_end);
    char m[512], f[512];
    path_in(m, sizeof m, "tube.nii");
    path_in(f, sizeof f, "far.nii");
    vflow_eval_line l;
    /* x 0.1..8.1: voxels i >= 20 (x >= 4.75 mm, their lower faces) hold the
     * 14 points from x = 4.85 on. */
    make_path(&l, 0.1, 8.1, 0, 0, 0, 0, 0);
    vflow_eval_path_opts o;
    vflow_eval_path_opts_init(&o);
    o.inside[o.n_inside++] = f;           /* covers only x >= 5 ... */
    o.inside[o.n_inside++] = m;           /* ... the union covers all */
    o.forbid[o.n_forbid++] = f;
    o.max_forbidden = 0;
    vflow_eval_path_scores sc;
    vflow_error err;
    cr_assert_eq(vflow_eval_path_score(&l, &o, &sc, &err), 0, "%s",
                 err.message);
    cr_assert_float_eq(sc.inside_frac, 1.0, 1e-12);
    cr_assert(sc.forbid_scored);
    cr_assert_eq(sc.n_forbidden, 14, "forbidden %zu of %zu", sc.n_forbidden,
                 l.n);
    cr_assert_float_eq(sc.longest_forbidden_mm, 13 * 0.25 + 0.125, 1e-9);
    cr_assert_not(sc.pass);
    cr_assert_not_null(strstr(sc.why, "forbidden"));
    vflow_eval_line_free(&l);
}

Test(path_eval, reference_distance_over_the_covered_part_only)
{
    /* Reference along x from 0 to 10 mm at y = 0; the path runs at y = 1 mm
     * from -5 to 15: only x in (0, 10) is covered. Comment lines and the
     * VMTK column names are accepted. */
    write_text("ref.csv", "# a reference\n# second comment\n"
                          "x_mm,y_mm,z_mm,radius_mm\n"
                          "0,0,0,1\n5,0,0,1\n10,0,0,1\n");
    char r[512];
    path_in(r, sizeof r, "ref.csv");
    vflow_eval_line l;
    make_path(&l, -5, 15, 1.0, 0, 0, 0, 0);
    vflow_eval_path_opts o;
    vflow_eval_path_opts_init(&o);
    o.reference = r;
    o.max_mean_mm = 1.5;
    vflow_eval_path_scores sc;
    vflow_error err;
    cr_assert_eq(vflow_eval_path_score(&l, &o, &sc, &err), 0, "%s",
                 err.message);
    cr_assert(sc.reference_scored);
    cr_assert_eq(sc.n_covered, 39, "covered %zu", sc.n_covered);
    cr_assert_float_eq(sc.mean_mm, 1.0, 1e-9);
    cr_assert_float_eq(sc.max_mm, 1.0, 1e-9);
    cr_assert(sc.pass, "%s", sc.why);
    o.max_mean_mm = 0.5;
    cr_assert_eq(vflow_eval_path_score(&l, &o, &sc, &err), 0);
    cr_assert_not(sc.pass);
    vflow_eval_line_free(&l);
}

Test(path_eval, reference_file_with_two_polylines_is_split_at_the_jump)
{
    /* Two branches sampled every 1 mm, stored one after the other (as VMTK
     * writes them): a path along the second branch, 0.5 mm off, must not be
     * measured against the jump joining the last point of the first branch
     * to the first point of the second. */
    char text[4096] = "x,y,z\n";
    for (int i = 0; i <= 20; i++)
        snprintf(text + strlen(text), sizeof text - strlen(text), "%d,0,0\n", i);
    for (int i = 0; i <= 20; i++)
        snprintf(text + strlen(text), sizeof text - strlen(text), "%d,30,0\n",
                 20 - i);
    write_text("two.csv", text);
    vflow_eval_reference ref;
    vflow_error err;
    char r[512];
    path_in(r, sizeof r, "two.csv");
    cr_assert_eq(vflow_eval_reference_read(r, &ref, &err), 0, "%s",
                 err.message);
    cr_assert_eq(ref.n_lines, 2);
    cr_assert_eq(ref.first[1], 21);
    vflow_eval_reference_free(&ref);
    vflow_eval_line l;
    make_path(&l, 2, 18, 15.0, 0, 0, 0, 0);   /* midway: 15 mm from both */
    vflow_eval_path_opts o;
    vflow_eval_path_opts_init(&o);
    o.reference = r;
    vflow_eval_path_scores sc;
    cr_assert_eq(vflow_eval_path_score(&l, &o, &sc, &err), 0);
    /* The joining segment (20,0)-(20,30) would be 2 mm from x = 18. */
    cr_assert_float_eq(sc.mean_mm, 15.0, 1e-9);
    vflow_eval_line_free(&l);
}

Test(path_eval, intensity_threshold_is_half_way_between_click_and_background)
{
    write_volume("img.nii", bright_tube);
    char im[512];
    path_in(im, sizeof im, "img.nii");
    vflow_eval_line l;
    /* 2 mm of the path at y = 4 mm (background). */
    make_path(&l, -3, 13, 0, 0, 4, 6, 4.0);
    vflow_eval_path_opts o;
    vflow_eval_path_opts_init(&o);
    o.image = im;
    o.min_above_frac = 0.95;
    vflow_eval_path_scores sc;
    vflow_error err;
    cr_assert_eq(vflow_eval_path_score(&l, &o, &sc, &err), 0, "%s",
                 err.message);
    cr_assert(sc.intensity_scored);
    cr_assert_float_eq(sc.click_level, 100.0, 1e-6);
    /* The box around the path is mostly background. */
    cr_assert_float_eq(sc.background, 10.0, 1e-6);
    cr_assert_float_eq(sc.threshold, 55.0, 1e-6);
    cr_assert_float_eq(sc.above_frac, 1.0 - 8.0 / (double)l.n, 1e-12);
    cr_assert_float_eq(sc.min_value, 10.0, 1e-6);
    cr_assert_float_eq(sc.median_value, 100.0, 1e-6);
    double expect = 7 * 0.25 + 0.5 * hypot(0.25, 4.0) * 2;
    cr_assert_float_eq(sc.longest_below_mm, expect, 1e-9);
    cr_assert_not(sc.pass);   /* 8 of 65 below: 0.877 < 0.95 */
    cr_assert_not_null(strstr(sc.why, "intensity"));
    vflow_eval_line_free(&l);
}

Test(path_eval, image_is_sampled_trilinearly_in_world_mm)
{
    write_volume("img.nii", bright_tube);
    char im[512];
    path_in(im, sizeof im, "img.nii");
    vflow_eval_image img;
    vflow_error err;
    cr_assert_eq(vflow_eval_image_read(im, &img, &err), 0, "%s", err.message);
    /* Voxel centres at y = 1.5 (tube, 100) and y = 2.0 (background, 10). */
    double x[3] = {0, 1.75, 0};
    cr_assert_float_eq(vflow_eval_image_sample(&img, x), 55.0, 1e-4);
    double out[3] = {100, 0, 0};
    cr_assert(isnan(vflow_eval_image_sample(&img, out)));
    vflow_eval_image_free(&img);
}

Test(path_eval, missing_or_malformed_inputs_are_errors_naming_the_file)
{
    vflow_eval_line l;
    make_path(&l, 0, 4, 0, 0, 0, 0, 0);
    vflow_eval_path_opts o;
    vflow_eval_path_opts_init(&o);
    char m[512];
    path_in(m, sizeof m, "absent.nii");
    o.inside[o.n_inside++] = m;
    vflow_eval_path_scores sc;
    vflow_error err;
    cr_assert_eq(vflow_eval_path_score(&l, &o, &sc, &err), VFLOW_ENOENT);
    cr_assert_not_null(strstr(err.message, "absent.nii"));
    vflow_eval_path_opts_init(&o);
    write_text("bad.csv", "a,b\n1,2\n3,4\n");
    char r[512];
    path_in(r, sizeof r, "bad.csv");
    o.reference = r;
    cr_assert_eq(vflow_eval_path_score(&l, &o, &sc, &err), VFLOW_EFORMAT);
    cr_assert_not_null(strstr(err.message, "bad.csv"));
    vflow_eval_path_opts_init(&o);
    path_in(r, sizeof r, "absent_image.nii");
    o.image = r;
    cr_assert_eq(vflow_eval_path_score(&l, &o, &sc, &err), VFLOW_ENOENT);
    vflow_eval_line_free(&l);
    vflow_eval_line one;
    cr_assert_eq(vflow_eval_line_alloc(&one, 1), 0);
    vflow_eval_path_opts_init(&o);
    cr_assert_eq(vflow_eval_path_score(&one, &o, &sc, &err), VFLOW_EINVAL);
    vflow_eval_line_free(&one);
}

static int run_cli(const char *const *args)
{
    char *argv[32];
    int argc = 0;
    for (; args[argc]; argc++)
        argv[argc] = strdup(args[argc]);
    argv[argc] = NULL;
    int rc = vflow_cmd_eval_path(argc, argv);
    for (int i = 0; i < argc; i++)
        free(argv[i]);
    return rc;
}

Test(path_eval, command_exit_codes_pass_fail_usage_and_input)
{
    write_volume("tube.nii", tube);
    char m[512], c[512], js[512], bad[512];
    path_in(m, sizeof m, "tube.nii");
    path_in(c, sizeof c, "centerline.csv");
    path_in(js, sizeof js, "eval.json");
    path_in(bad, sizeof bad, "absent.csv");
    write_text("centerline.csv", "s_mm,x,y,z\n0,0,0,0\n1,1,0,0\n2,2,0,0\n");
    const char *pass[] = {"eval", "--centerline", dir, "--inside", m,
                          "--min-inside", "1", "--json", js, "-q", NULL};
    cr_assert_eq(run_cli(pass), 0);
    FILE *f = fopen(js, "r");
    cr_assert_not_null(f);
    char buf[2048] = "";
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    cr_assert_not_null(strstr(buf, "\"inside_frac\":1,"));
    cr_assert_not_null(strstr(buf, "\"points_forbidden\":null"));
    cr_assert_not_null(strstr(buf, "\"pass\":true"));
    write_text("centerline.csv", "s_mm,x,y,z\n0,0,3,0\n1,1,3,0\n");
    cr_assert_eq(run_cli(pass), 1);
    const char *missing[] = {"eval", "--centerline", bad, "-q", NULL};
    cr_assert_eq(run_cli(missing), 3);
    const char *unknown[] = {"eval", "--centerline", c, "--bogus", "1", NULL};
    cr_assert_eq(run_cli(unknown), 2);
    const char *bad_point[] = {"eval", "--centerline", c, "--image", m,
                               "--start", "1,2", "--end", "1,2,3", NULL};
    cr_assert_eq(run_cli(bad_point), 2);
    const char *no_image[] = {"eval", "--centerline", c, "--min-above",
                              "0.9", NULL};
    cr_assert_eq(run_cli(no_image), 2);
}
