/* SPDX-License-Identifier: BSD-3-Clause */
/* The scorer: perfect on the truth, exact on known errors, strict on bad input. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eval.h"
#include "phantom.h"
#include "vflow/volume.h"

static char truth_dir[] = "/tmp/vflow_test_truth_XXXXXX";
static char result_dir[] = "/tmp/vflow_test_result_XXXXXX";
static vflow_phantom *ph;

static void setup(void)
{
    vflow_phantom_params p;
    vflow_error err;
    cr_assert_eq(vflow_phantom_preset("stenosis", &p, &err), 0);
    p.dims[0] = p.dims[1] = p.dims[2] = 64;
    p.spacing[0] = p.spacing[1] = p.spacing[2] = 0.75;
    p.supersample = 3;
    cr_assert_eq(vflow_phantom_generate(&p, NULL, &ph, &err), 0, "%s",
                 err.message);
    cr_assert_not_null(mkdtemp(truth_dir));
    cr_assert_not_null(mkdtemp(result_dir));
    cr_assert_eq(vflow_phantom_write(ph, truth_dir, &err), 0, "%s", err.message);
}

static void teardown(void)
{
    vflow_phantom_free(ph);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", truth_dir, result_dir);
    if (system(cmd) != 0)
        cr_log_warn("cleanup failed");
}

static void copy(const char *from_dir, const char *name, const char *to_name)
{
    char a[512], b[512], cmd[1100];
    snprintf(a, sizeof a, "%s/%s", from_dir, name);
    snprintf(b, sizeof b, "%s/%s", result_dir, to_name);
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", a, b);
    cr_assert_eq(system(cmd), 0);
}

/* Writes centerline.csv from points (s from the truth). */
static void write_line(double (*pts)[3], size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/centerline.csv", result_dir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fprintf(f, "s_mm,x,y,z\n");
    double s = 0;
    for (size_t i = 0; i < n; i++) {
        if (i)
            s += sqrt(pow(pts[i][0] - pts[i - 1][0], 2) +
                      pow(pts[i][1] - pts[i - 1][1], 2) +
                      pow(pts[i][2] - pts[i - 1][2], 2));
        fprintf(f, "%.4f,%.6f,%.6f,%.6f\n", s, pts[i][0], pts[i][1], pts[i][2]);
    }
    fclose(f);
}

static void load_both(vflow_eval_truth *t, vflow_eval_result *r)
{
    vflow_error err;
    cr_assert_eq(vflow_eval_truth_load(truth_dir, t, &err), 0, "%s",
                 err.message);
    cr_assert_eq(vflow_eval_result_load(result_dir, r, &err), 0, "%s",
                 err.message);
}

static void score(vflow_eval_scores *sc)
{
    vflow_eval_truth t;
    vflow_eval_result r;
    vflow_error err;
    load_both(&t, &r);
    cr_assert_eq(vflow_eval_score(&t, &r, sc, &err), 0, "%s", err.message);
    vflow_eval_result_free(&r);
    vflow_eval_truth_free(&t);
}

TestSuite(eval, .init = setup, .fini = teardown, .timeout = 240);

Test(eval, truth_against_itself_scores_perfectly)
{
    copy(truth_dir, "truth_centerline.csv", "centerline.csv");
    copy(truth_dir, "truth_contours.json", "contours.json");
    copy(truth_dir, "labels.nii.gz", "labels.nii.gz");
    vflow_eval_scores sc;
    score(&sc);
    cr_expect_float_eq(sc.ov, 1.0, 1e-12);
    cr_expect_float_eq(sc.of, 1.0, 1e-12);
    cr_expect_float_eq(sc.ot, 1.0, 1e-12);
    cr_expect(sc.ai_mm < 1e-3 && sc.max_mm < 1e-3, "AI %g max %g", sc.ai_mm,
              sc.max_mm);
    cr_expect(!sc.enters_distractor && !sc.enters_branch);
    cr_expect(sc.n_stations > 20);
    cr_expect(sc.area_err_pct < 0.1, "area error %g %%", sc.area_err_pct);
    cr_expect(sc.surf_max_mm < 0.01, "surface max %g mm", sc.surf_max_mm);
    cr_expect_float_eq(sc.dice_lumen, 1.0, 1e-12);
    cr_expect_float_eq(sc.dice_vessel, 1.0, 1e-12);
    cr_expect(fabs(sc.ds_err_pp) < 0.5, "DS error %g pp", sc.ds_err_pp);
    cr_expect(fabs(sc.ds_truth_pct - 60.0) < 1e-6, "DS truth %g", sc.ds_truth_pct);
    cr_expect(fabs(sc.mla_err_pct) < 0.5, "MLA error %g %%", sc.mla_err_pct);
    cr_expect(sc.wall_radial_err_mm < 0.005, "wall %g mm", sc.wall_radial_err_mm);
    cr_expect(fabs(sc.plaque_err_pct) < 0.1, "plaque %g %%", sc.plaque_err_pct);
}

/* vflow eval --stations: one row per contour station between the clicks,
 * whose scored rows
 * average to the table's area error (here the truth against itself: 0,
 * and the rows' true radii follow the stenosis). */
Test(eval, station_rows_match_the_summary)
{
    copy(truth_dir, "truth_contours.json", "contours.json");
    vflow_eval_truth t;
    vflow_eval_result r;
    vflow_eval_scores sc;
    vflow_error err;
    load_both(&t, &r);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cr_assert_eq(vflow_eval_score_stations(&t, &r, &sc, f, &err), 0, "%s",
                 err.message);
    fclose(f);
    cr_assert(strncmp(buf, "station,s_true_mm,r_true_mm,area_scored,", 40) == 0,
              "header: %.80s", buf);
    size_t rows = 0, scored = 0;
    double sum = 0.0, r_min = INFINITY, r_max = 0.0;
    for (char *line = strchr(buf, '\n'); line && line[1]; line = strchr(line + 1, '\n')) {
        size_t k;
        int used;
        double s_mm, r_true, area, area_t, e;
        cr_assert_eq(sscanf(line + 1, "%zu,%lf,%lf,%d,%lf,%lf,%lf", &k, &s_mm,
                            &r_true, &used, &area, &area_t, &e), 7,
                     "row: %.80s", line + 1);
        rows++;
        if (used) {
            scored++;
            sum += fabs(e);
        }
        r_min = fmin(r_min, r_true);
        r_max = fmax(r_max, r_true);
    }
    cr_expect(rows >= scored && rows <= r.contours.n, "%zu rows", rows);
    cr_expect_eq(scored, sc.n_stations);
    cr_expect(sum / (double)scored < 0.1, "mean |error| %g %%",
              sum / (double)scored);
    cr_expect(r_max > 1.5 * r_min, "true radii %g..%g mm: the stenosis",
              r_min, r_max);
    free(buf);
    vflow_eval_result_free(&r);
    vflow_eval_truth_free(&t);
}

Test(eval, centerline_shifted_by_0p3mm_scores_ai_0p3)
{
    size_t n = ph->n_stations;
    double(*pts)[3] = malloc(n * sizeof *pts);
    cr_assert_not_null(pts);
    /* Offset along the frame's normal: every point exactly 0.3 mm off. */
    for (size_t i = 0; i < n; i++)
        for (int a = 0; a < 3; a++)
            pts[i][a] = ph->stations[i].center[a] + 0.3 * ph->stations[i].normal[a];
    write_line(pts, n);
    free(pts);
    vflow_eval_scores sc;
    score(&sc);
    cr_expect(fabs(sc.ai_mm - 0.3) < 0.005, "AI %.4f mm", sc.ai_mm);
    /* The same path stored end -> start scores the same. */
    vflow_eval_scores rs;
    pts = malloc(n * sizeof *pts);
    for (size_t i = 0; i < n; i++)
        for (int a = 0; a < 3; a++)
            pts[n - 1 - i][a] = ph->stations[i].center[a] +
                                0.3 * ph->stations[i].normal[a];
    write_line(pts, n);
    free(pts);
    score(&rs);
    cr_expect(fabs(rs.ai_mm - sc.ai_mm) < 1e-9 && fabs(rs.ov - sc.ov) < 1e-9,
              "reversed: AI %.4f OV %.4f", rs.ai_mm, rs.ov);
    cr_expect(fabs(sc.mean_mm - 0.3) < 0.005, "mean %.4f mm", sc.mean_mm);
    cr_expect(fabs(sc.max_mm - 0.3) < 0.01, "max %.4f mm", sc.max_mm);
    /* 0.3 mm is inside every true radius here: full overlap. */
    cr_expect(sc.ov > 0.99, "OV %.4f", sc.ov);
    cr_expect(!sc.lumen_scored, "no contours given");
}

Test(eval, path_through_distractor_is_flagged)
{
    /* Truth up to the distractor's closest approach, a detour along the
     * distractor, back to the truth and on to the end. */
    size_t nd = 0;
    vflow_curve *dc = &ph->distractor;
    double sd = ph->params.distractor_s_mm;
    size_t id = (size_t)llround(sd / 0.1), n = ph->n_stations;
    double(*pts)[3] = malloc((n + dc->n) * sizeof *pts);
    cr_assert_not_null(pts);
    size_t k = 0;
    for (size_t i = 15; i < id; i++)
        memcpy(pts[k++], ph->stations[i].center, sizeof pts[0]);
    size_t jc = 0;
    double best = 1e9;
    for (size_t j = 0; j < dc->n; j++) {
        double d = sqrt(pow(dc->p[j][0] - ph->stations[id].center[0], 2) +
                        pow(dc->p[j][1] - ph->stations[id].center[1], 2) +
                        pow(dc->p[j][2] - ph->stations[id].center[2], 2));
        if (d < best) {
            best = d;
            jc = j;
        }
    }
    for (size_t j = jc; j < jc + 100 && j < dc->n; j++, nd++)
        memcpy(pts[k++], dc->p[j], sizeof pts[0]);
    for (size_t i = id; i < n - 20; i++)
        memcpy(pts[k++], ph->stations[i].center, sizeof pts[0]);
    write_line(pts, k);
    free(pts);
    vflow_eval_scores sc;
    score(&sc);
    cr_expect(sc.enters_distractor, "detour of %zu points not flagged", nd);
    cr_expect(sc.n_in_distractor > 0);
    cr_expect(sc.ov < 0.98, "OV %.4f should drop", sc.ov);
    cr_expect(sc.max_mm > 2.0);
}

Test(eval, partial_path_scores_partial_overlap)
{
    /* Only the first half of the vessel: OF and OV about one half. */
    size_t n = ph->n_stations / 2;
    double(*pts)[3] = malloc(n * sizeof *pts);
    for (size_t i = 0; i < n; i++)
        memcpy(pts[i], ph->stations[i].center, sizeof pts[0]);
    write_line(pts, n);
    free(pts);
    vflow_eval_scores sc;
    score(&sc);
    cr_expect(sc.of > 0.4 && sc.of < 0.6, "OF %.3f", sc.of);
    cr_expect(sc.ov > 0.55 && sc.ov < 0.8, "OV %.3f", sc.ov);
    /* Reference points just past the end connect to the last result point
     * within their radius: CAT08 counts them, so AI is small, not zero. */
    cr_expect(sc.ai_mm < 0.1, "AI %.4f", sc.ai_mm);
}

Test(eval, missing_outputs_are_reported_not_fatal)
{
    copy(truth_dir, "truth_centerline.csv", "centerline.csv");
    vflow_eval_truth t;
    vflow_eval_result r;
    vflow_error err;
    cr_assert_eq(vflow_eval_truth_load(truth_dir, &t, &err), 0);
    cr_assert_eq(vflow_eval_result_load(result_dir, &r, &err), 0);
    cr_expect(strstr(r.missing, "contours.json") != NULL, "%s", r.missing);
    cr_expect(strstr(r.missing, "labels.nii.gz") != NULL, "%s", r.missing);
    vflow_eval_result_free(&r);
    vflow_eval_truth_free(&t);
    char json[600];
    snprintf(json, sizeof json, "%s/eval.json", result_dir);
    char *argv[] = {"eval", "--truth", truth_dir, "--result", result_dir,
                    "--json", json, "-q", NULL};
    cr_expect_eq(vflow_cmd_eval(8, argv), 0);
    cr_expect_eq(access(json, R_OK), 0);
}

Test(eval, malformed_or_missing_inputs_fail_with_a_message)
{
    vflow_eval_result r;
    vflow_eval_truth t;
    vflow_error err;
    /* Empty result directory: nothing to score. */
    cr_expect_eq(vflow_eval_result_load(result_dir, &r, &err), VFLOW_ENOENT);
    cr_expect(strstr(err.message, "nothing to score") != NULL, "%s", err.message);
    cr_expect_eq(vflow_eval_result_load("/nonexistent/dir", &r, &err),
                 VFLOW_ENOENT);
    /* A non-numeric cell names file, line and column. */
    char path[512];
    snprintf(path, sizeof path, "%s/centerline.csv", result_dir);
    FILE *f = fopen(path, "w");
    fprintf(f, "s_mm,x,y,z\n0,1,2,3\n0.5,1,two,3\n");
    fclose(f);
    cr_expect_eq(vflow_eval_result_load(result_dir, &r, &err), VFLOW_EFORMAT);
    cr_expect(strstr(err.message, ":3:") != NULL &&
                  strstr(err.message, "'y'") != NULL, "%s", err.message);
    /* Truth without its centreline. */
    cr_expect_eq(vflow_eval_truth_load(result_dir, &t, &err), VFLOW_ENOENT);
    cr_expect(strstr(err.message, "truth_centerline.csv") != NULL, "%s",
              err.message);
    cr_expect_eq(vflow_eval_truth_load("/nonexistent", &t, &err), VFLOW_ENOENT);
    char *argv[] = {"eval", "--truth", "/nonexistent", "--result", result_dir,
                    NULL};
    cr_expect_eq(vflow_cmd_eval(5, argv), 3);
    char *usage[] = {"eval", "--truth", truth_dir, NULL};
    cr_expect_eq(vflow_cmd_eval(3, usage), 2);
    /* Malformed contours.json. */
    remove(path);
    snprintf(path, sizeof path, "%s/contours.json", result_dir);
    f = fopen(path, "w");
    fprintf(f, "{\"n_angles\": 4, \"stations\": [{\"center\": [1,2]}]}");
    fclose(f);
    cr_expect_eq(vflow_eval_result_load(result_dir, &r, &err), VFLOW_EFORMAT);
    cr_expect(strstr(err.message, "station 0") != NULL, "%s", err.message);
}

/* Own fixture: a calcified phantom at CI size. */
Test(eval, lumen_over_calcium_is_counted, .init = NULL, .fini = NULL)
{
    vflow_phantom_params p;
    vflow_error err;
    cr_assert_eq(vflow_phantom_preset("calcified", &p, &err), 0);
    p.noise_hu = 0;
    p.supersample = 3;
    vflow_phantom *cph = NULL;
    cr_assert_eq(vflow_phantom_generate(&p, NULL, &cph, &err), 0, "%s",
                 err.message);
    char tdir[] = "/tmp/vflow_test_calc_XXXXXX", rdir[] = "/tmp/vflow_test_calr_XXXXXX";
    cr_assert_not_null(mkdtemp(tdir));
    cr_assert_not_null(mkdtemp(rdir));
    cr_assert_eq(vflow_phantom_write(cph, tdir, &err), 0, "%s", err.message);
    /* Result 1: the true labels -> no calcium in the lumen. */
    char path[600];
    snprintf(path, sizeof path, "%s/labels.nii.gz", rdir);
    cr_assert_eq(vflow_phantom_write_nifti(cph->labels, path, "", &err), 0);
    vflow_eval_truth t;
    vflow_eval_result r;
    vflow_eval_scores sc;
    cr_assert_eq(vflow_eval_truth_load(tdir, &t, &err), 0, "%s", err.message);
    cr_assert(t.has_calcium);
    cr_assert_eq(vflow_eval_result_load(rdir, &r, &err), 0, "%s", err.message);
    cr_assert_eq(vflow_eval_score(&t, &r, &sc, &err), 0);
    cr_expect_eq(sc.calcium_in_lumen, 0);
    vflow_eval_result_free(&r);
    /* Result 2: the brightest wall voxels (the calcium) called lumen. */
    const int16_t *im = cph->image->data;
    unsigned char *lab = cph->labels->data;
    size_t n = vflow_volume_voxel_count(cph->image), changed = 0;
    int16_t mx = 0;
    for (size_t i = 0; i < n; i++)
        mx = im[i] > mx ? im[i] : mx;
    for (size_t i = 0; i < n; i++)
        if (im[i] >= mx - 60 && lab[i] == 2) {
            lab[i] = 1;
            changed++;
        }
    cr_assert(changed > 0);
    cr_assert_eq(vflow_phantom_write_nifti(cph->labels, path, "", &err), 0);
    cr_assert_eq(vflow_eval_result_load(rdir, &r, &err), 0, "%s", err.message);
    cr_assert_eq(vflow_eval_score(&t, &r, &sc, &err), 0);
    cr_expect(sc.calcium_in_lumen > 0, "%zu calcium voxels relabelled, %ld "
              "counted", changed, sc.calcium_in_lumen);
    vflow_eval_result_free(&r);
    vflow_eval_truth_free(&t);
    vflow_phantom_free(cph);
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", tdir, rdir);
    cr_expect_eq(system(cmd), 0);
}
