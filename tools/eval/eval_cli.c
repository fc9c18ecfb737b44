/* SPDX-License-Identifier: BSD-3-Clause */
/* `vflow eval`: scores a run directory against a phantom truth directory. */
#include "eval.h"
#include "path_eval.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void row(FILE *f, const char *name, double v, const char *unit,
                const char *note)
{
    if (isnan(v))
        fprintf(f, "  %-30s %12s %-6s %s\n", name, "-", "", note ? note : "");
    else
        fprintf(f, "  %-30s %12.4f %-6s %s\n", name, v, unit, note ? note : "");
}

void vflow_eval_print(const vflow_eval_scores *sc, const vflow_eval_result *r,
                      FILE *f)
{
    fprintf(f, "centerline (CAT08, Schaap et al. 2009)%s\n",
            sc->centerline_scored ? "" : ": not scored (no centerline.csv)");
    if (sc->centerline_scored) {
        row(f, "OV overlap", sc->ov, "", NULL);
        row(f, "OF overlap until first error", sc->of, "", NULL);
        row(f, "OT overlap, radius >= 0.75 mm", sc->ot, "", NULL);
        row(f, "AI accuracy inside vessel", sc->ai_mm, "mm", NULL);
        row(f, "mean distance to true axis", sc->mean_mm, "mm", NULL);
        row(f, "p95 distance to true axis", sc->p95_mm, "mm", NULL);
        row(f, "max distance to true axis", sc->max_mm, "mm", NULL);
        fprintf(f, "  %-30s %12s        (%zu points)\n", "enters distractor",
                sc->enters_distractor ? "YES" : "no", sc->n_in_distractor);
        fprintf(f, "  %-30s %12s\n", "enters side branch",
                sc->enters_branch ? "yes" : "no");
    }
    fprintf(f, "lumen%s\n", sc->lumen_scored || sc->dice_scored || sc->mla_scored
                                ? "" : ": not scored");
    if (sc->lumen_scored) {
        char note[64];
        snprintf(note, sizeof note, "(%zu stations, r >= 1 mm)", sc->n_stations);
        row(f, "area error, mean |%|", sc->area_err_pct, "%", note);
        row(f, "area error, mean signed", sc->area_bias_pct, "%", NULL);
        row(f, "area error, max |%|", sc->area_err_max_pct, "%", NULL);
        row(f, "surface distance, mean", sc->surf_mean_mm, "mm", NULL);
        row(f, "surface distance, max", sc->surf_max_mm, "mm", NULL);
    }
    if (sc->dice_scored) {
        row(f, "Dice lumen (label 1)", sc->dice_lumen, "", NULL);
        row(f, "Dice vessel (labels 1+2)", sc->dice_vessel, "", NULL);
        row(f, "Dice wall (label 2)", sc->dice_wall, "", NULL);
        if (sc->calcium_in_lumen >= 0)
            fprintf(f, "  %-30s %12ld        (result lumen voxels in the "
                       "true calcium)\n", "calcium voxels in lumen",
                    sc->calcium_in_lumen);
    } else if (r->has_labels) {
        fprintf(f, "  Dice: not scored: %s\n", sc->dice_note);
    }
    if (sc->mla_scored || !isnan(sc->ds_result_pct)) {
        row(f, "MLA truth", sc->mla_truth, "mm2", NULL);
        row(f, "MLA result", sc->mla_result, "mm2", NULL);
        row(f, "MLA error", sc->mla_err_pct, "%", NULL);
        row(f, "diameter stenosis truth", sc->ds_truth_pct, "%", NULL);
        row(f, "diameter stenosis result", sc->ds_result_pct, "%",
            sc->ds_from_measures ? "(the run's measures.json)"
                                 : "(reference: robust line fit)");
        if (sc->ds_from_measures)
            row(f, "  same, vflow eval's reference", sc->ds_result_method_pct,
                "%", "(robust line fit on its diameters)");
        row(f, "diameter stenosis error", sc->ds_err_pp, "pp", NULL);
    }
    fprintf(f, "outer wall%s\n", sc->wall_scored ? "" : ": not scored");
    if (sc->wall_scored) {
        row(f, "radial error, mean |.|", sc->wall_radial_err_mm, "mm", NULL);
        row(f, "radial error, mean signed", sc->wall_radial_bias_mm, "mm", NULL);
        row(f, "plaque volume truth", sc->plaque_truth_mm3, "mm3", NULL);
        row(f, "plaque volume result", sc->plaque_result_mm3, "mm3", NULL);
        row(f, "plaque volume error", sc->plaque_err_pct, "%", NULL);
    }
    if (r->missing[0])
        fprintf(f, "missing in result: %s\n", r->missing);
}

void vflow_eval_json_number(FILE *f, const char *k, double v, bool comma)
{
    if (isnan(v) || isinf(v))
        fprintf(f, "\"%s\":null%s", k, comma ? "," : "");
    else
        fprintf(f, "\"%s\":%.6g%s", k, v, comma ? "," : "");
}

void vflow_eval_json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', f);
        if ((unsigned char)*s >= 0x20)
            fputc(*s, f);
    }
    fputc('"', f);
}

void vflow_eval_write_json(const vflow_eval_scores *sc,
                           const vflow_eval_result *r, const char *truth_dir,
                           const char *result_dir, FILE *f)
{
    fprintf(f, "{\"truth\":");
    vflow_eval_json_string(f, truth_dir);
    fprintf(f, ",\"result\":");
    vflow_eval_json_string(f, result_dir);
    fprintf(f, ",\"missing\":");
    vflow_eval_json_string(f, r->missing);
    fprintf(f, ",\n \"centerline\":{\"scored\":%s,",
            sc->centerline_scored ? "true" : "false");
    vflow_eval_json_number(f, "ov", sc->ov, true);
    vflow_eval_json_number(f, "of", sc->of, true);
    vflow_eval_json_number(f, "ot", sc->ot, true);
    vflow_eval_json_number(f, "ai_mm", sc->ai_mm, true);
    vflow_eval_json_number(f, "mean_mm", sc->mean_mm, true);
    vflow_eval_json_number(f, "p95_mm", sc->p95_mm, true);
    vflow_eval_json_number(f, "max_mm", sc->max_mm, true);
    fprintf(f, "\"enters_distractor\":%s,\"points_in_distractor\":%zu,"
               "\"enters_branch\":%s},\n",
            sc->enters_distractor ? "true" : "false", sc->n_in_distractor,
            sc->enters_branch ? "true" : "false");
    fprintf(f, " \"lumen\":{\"scored\":%s,\"stations\":%zu,",
            sc->lumen_scored ? "true" : "false", sc->n_stations);
    vflow_eval_json_number(f, "area_err_pct", sc->area_err_pct, true);
    vflow_eval_json_number(f, "area_bias_pct", sc->area_bias_pct, true);
    vflow_eval_json_number(f, "area_err_max_pct", sc->area_err_max_pct, true);
    vflow_eval_json_number(f, "surface_mean_mm", sc->surf_mean_mm, true);
    vflow_eval_json_number(f, "surface_max_mm", sc->surf_max_mm, true);
    vflow_eval_json_number(f, "dice_lumen", sc->dice_lumen, true);
    vflow_eval_json_number(f, "dice_vessel", sc->dice_vessel, true);
    vflow_eval_json_number(f, "dice_wall", sc->dice_wall, true);
    fprintf(f, "\"calcium_voxels_in_lumen\":%ld,", sc->calcium_in_lumen);
    fprintf(f, "\"dice_note\":");
    vflow_eval_json_string(f, sc->dice_note);
    fputc(',', f);
    vflow_eval_json_number(f, "mla_truth_mm2", sc->mla_truth, true);
    vflow_eval_json_number(f, "mla_result_mm2", sc->mla_result, true);
    vflow_eval_json_number(f, "mla_err_pct", sc->mla_err_pct, true);
    vflow_eval_json_number(f, "ds_truth_pct", sc->ds_truth_pct, true);
    vflow_eval_json_number(f, "ds_truth_method_pct", sc->ds_truth_method_pct, true);
    vflow_eval_json_number(f, "ds_result_pct", sc->ds_result_pct, true);
    fprintf(f, "\"ds_result_source\":\"%s\",",
            sc->ds_from_measures ? "measures.json" : "vflow eval reference fit");
    vflow_eval_json_number(f, "ds_result_method_pct", sc->ds_result_method_pct, true);
    vflow_eval_json_number(f, "ds_err_pp", sc->ds_err_pp, false);
    fprintf(f, "},\n \"wall\":{\"scored\":%s,", sc->wall_scored ? "true" : "false");
    vflow_eval_json_number(f, "radial_err_mm", sc->wall_radial_err_mm, true);
    vflow_eval_json_number(f, "radial_bias_mm", sc->wall_radial_bias_mm, true);
    vflow_eval_json_number(f, "plaque_truth_mm3", sc->plaque_truth_mm3, true);
    vflow_eval_json_number(f, "plaque_result_mm3", sc->plaque_result_mm3, true);
    vflow_eval_json_number(f, "plaque_err_pct", sc->plaque_err_pct, false);
    fprintf(f, "}}\n");
}

static void usage(FILE *f)
{
    fprintf(f,
        "usage: vflow eval --truth DIR --result DIR [--json FILE]\n"
        "                  [--stations FILE.csv] [-q]\n"
        "Scores a run's outputs (centerline.csv, contours.json, labels.nii.gz)\n"
        "against a phantom truth directory (vflow phantom). Exit 0 whatever\n"
        "the scores; 3 when an input is missing or malformed, 2 on bad usage.\n"
        "--stations writes one CSV row per contour station between the\n"
        "clicks (true arc length and radius, result and true area, area\n"
        "error, outer-wall error).\n"
        "Real volumes: vflow eval --centerline FILE ... (see --centerline -h).\n");
}

int vflow_cmd_eval(int argc, char **argv)
{
    const char *truth = NULL, *result = NULL, *json = NULL, *stations = NULL;
    bool quiet = false;
    /* Real volumes have no phantom truth: --centerline scores one path
     * against masks, a reference centreline and the intensity. */
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--centerline"))
            return vflow_cmd_eval_path(argc, argv);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
            quiet = true;
            continue;
        }
        if (i + 1 < argc && !strcmp(a, "--truth"))
            truth = argv[++i];
        else if (i + 1 < argc && !strcmp(a, "--result"))
            result = argv[++i];
        else if (i + 1 < argc && !strcmp(a, "--json"))
            json = argv[++i];
        else if (i + 1 < argc && !strcmp(a, "--stations"))
            stations = argv[++i];
        else {
            fprintf(stderr, "vflow eval: unknown or incomplete option '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (!truth || !result) {
        fprintf(stderr, "vflow eval: --truth DIR and --result DIR are both "
                        "required\n");
        usage(stderr);
        return 2;
    }
    vflow_error err;
    vflow_error_clear(&err);
    vflow_eval_truth t;
    vflow_eval_result r;
    if (vflow_eval_truth_load(truth, &t, &err)) {
        fprintf(stderr, "vflow eval: %s\n", err.message);
        return 3;
    }
    if (vflow_eval_result_load(result, &r, &err)) {
        fprintf(stderr, "vflow eval: %s\n", err.message);
        vflow_eval_truth_free(&t);
        return 3;
    }
    vflow_eval_scores sc;
    FILE *csv = NULL;
    if (stations && !(csv = fopen(stations, "w"))) {
        fprintf(stderr, "vflow eval: cannot create %s: %s\n", stations,
                strerror(errno));
        vflow_eval_result_free(&r);
        vflow_eval_truth_free(&t);
        return 3;
    }
    int rc = vflow_eval_score_stations(&t, &r, &sc, csv, &err);
    if (csv && fclose(csv) != 0 && !rc) {
        fprintf(stderr, "vflow eval: writing %s failed\n", stations);
        rc = 3;
    }
    if (!rc && !quiet) {
        printf("vflow eval: %s against truth %s\n", result, truth);
        vflow_eval_print(&sc, &r, stdout);
    }
    if (!rc && json) {
        FILE *f = fopen(json, "w");
        if (!f) {
            fprintf(stderr, "vflow eval: cannot create %s: %s\n", json,
                    strerror(errno));
            rc = 3;
        } else {
            vflow_eval_write_json(&sc, &r, truth, result, f);
            if (fclose(f) != 0) {
                fprintf(stderr, "vflow eval: writing %s failed\n", json);
                rc = 3;
            }
        }
    } else if (rc) {
        fprintf(stderr, "vflow eval: %s\n", err.message);
        rc = 1;
    }
    vflow_eval_result_free(&r);
    vflow_eval_truth_free(&t);
    return rc;
}
