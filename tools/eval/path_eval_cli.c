/* SPDX-License-Identifier: BSD-3-Clause */
/* `vflow eval --centerline ...`: a path on a real volume against masks, a
 * reference centreline and the image intensity. */
#include "path_eval.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int vflow_eval_line_alloc(vflow_eval_line *l, size_t n);

static void prow(FILE *f, const char *name, double v, const char *unit)
{
    if (isnan(v))
        fprintf(f, "  %-34s %12s\n", name, "-");
    else
        fprintf(f, "  %-34s %12.4f %s\n", name, v, unit);
}

void vflow_eval_path_print(const vflow_eval_path_scores *sc, FILE *f)
{
    fprintf(f, "path: %zu points, %.1f mm\n", sc->n_points, sc->length_mm);
    if (sc->inside_scored) {
        prow(f, "fraction inside vessel masks", sc->inside_frac, "");
        fprintf(f, "  %-34s %12zu\n", "points outside", sc->n_outside);
        prow(f, "longest run outside", sc->longest_outside_mm, "mm");
    }
    if (sc->forbid_scored) {
        fprintf(f, "  %-34s %12zu\n", "points in forbidden masks",
                sc->n_forbidden);
        prow(f, "longest run in forbidden masks", sc->longest_forbidden_mm,
             "mm");
    }
    if (sc->reference_scored) {
        prow(f, "fraction covered by reference", sc->covered_frac, "");
        prow(f, "mean distance to reference", sc->mean_mm, "mm");
        prow(f, "p95 distance to reference", sc->p95_mm, "mm");
        prow(f, "max distance to reference", sc->max_mm, "mm");
    }
    if (sc->intensity_scored) {
        prow(f, "click level (dimmer click)", sc->click_level, "");
        prow(f, "background (local median)", sc->background, "");
        prow(f, "threshold (half-way)", sc->threshold, "");
        prow(f, "fraction above threshold", sc->above_frac, "");
        prow(f, "longest run below threshold", sc->longest_below_mm, "mm");
        prow(f, "min value along path", sc->min_value, "");
        prow(f, "median value along path", sc->median_value, "");
    }
    fprintf(f, "verdict: %s%s%s\n", sc->pass ? "PASS" : "FAIL",
            sc->pass ? "" : ": ", sc->pass ? "" : sc->why);
}

/* One "key":value, field of the object (every one is followed by more). */
static void field(FILE *f, const char *k, double v)
{
    vflow_eval_json_number(f, k, v, true);
}

void vflow_eval_path_write_json(const vflow_eval_path_scores *sc,
                                const char *centerline, FILE *f)
{
    fprintf(f, "{\"centerline\":");
    vflow_eval_json_string(f, centerline);
    fprintf(f, ",\"points\":%zu,", sc->n_points);
    field(f, "length_mm", sc->length_mm);
    field(f, "inside_frac", sc->inside_frac);
    field(f, "points_outside",
          sc->inside_scored ? (double)sc->n_outside : NAN);
    field(f, "longest_outside_mm", sc->longest_outside_mm);
    field(f, "points_forbidden",
          sc->forbid_scored ? (double)sc->n_forbidden : NAN);
    field(f, "longest_forbidden_mm",
          sc->forbid_scored ? sc->longest_forbidden_mm : NAN);
    field(f, "reference_covered_frac", sc->covered_frac);
    field(f, "reference_mean_mm", sc->mean_mm);
    field(f, "reference_p95_mm", sc->p95_mm);
    field(f, "reference_max_mm", sc->max_mm);
    field(f, "click_level", sc->click_level);
    field(f, "background", sc->background);
    field(f, "threshold", sc->threshold);
    field(f, "above_frac", sc->above_frac);
    field(f, "longest_below_mm", sc->longest_below_mm);
    field(f, "min_value", sc->min_value);
    field(f, "median_value", sc->median_value);
    fprintf(f, "\"pass\":%s,\"why\":", sc->pass ? "true" : "false");
    vflow_eval_json_string(f, sc->why);
    fprintf(f, "}\n");
}

static void usage(FILE *f)
{
    fprintf(f,
        "usage: vflow eval --centerline FILE|DIR [--inside M1[,M2...]]\n"
        "         [--dilate VOX] [--forbid M1[,M2...]] [--reference REF.csv]\n"
        "         [--image IMG --start X,Y,Z --end X,Y,Z]\n"
        "         [--min-inside F] [--max-forbidden N] [--max-mean-mm D]\n"
        "         [--min-above F] [--json FILE] [-q]\n"
        "Scores a centreline (centerline.csv, columns x,y,z world mm; a DIR\n"
        "means DIR/centerline.csv) on a real volume: fraction of points in\n"
        "the union of the NIfTI masks --inside (dilated by --dilate voxels),\n"
        "points in the --forbid masks, distance to a reference centreline\n"
        "(CSV x,y,z or x_mm,y_mm,z_mm) where it covers the path, and the\n"
        "image intensity along the path against the half-way level between\n"
        "the dimmer click and the local background. The --min/--max options\n"
        "are pass criteria. Exit 0 pass, 1 fail, 2 bad usage, 3 unreadable\n"
        "input.\n");
}

/* Splits a comma-separated list in place into at most 8 paths. */
static int split_list(char *s, const char **out, size_t *n)
{
    for (char *save = NULL, *tok = strtok_r(s, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        if (*n >= 8)
            return -1;
        out[(*n)++] = tok;
    }
    return 0;
}

static int parse_point(const char *s, double p[3])
{
    char *end;
    for (int a = 0; a < 3; a++) {
        p[a] = strtod(s, &end);
        if (end == s || !isfinite(p[a]) || (a < 2 && *end != ','))
            return -1;
        s = end + (a < 2);
    }
    return *end == '\0' ? 0 : -1;
}

static int parse_number(const char *s, double *v)
{
    char *end;
    *v = strtod(s, &end);
    return end != s && *end == '\0' && isfinite(*v) ? 0 : -1;
}

typedef struct cli {
    vflow_eval_path_opts o;
    const char *centerline, *json;
    bool quiet, has_start, has_end;
} cli;

/* One option with its value; returns 0, or -1 for a bad value. */
static int parse_option(cli *c, const char *a, char *v)
{
    double x;
    if (!strcmp(a, "--centerline"))
        c->centerline = v;
    else if (!strcmp(a, "--inside"))
        return split_list(v, c->o.inside, &c->o.n_inside);
    else if (!strcmp(a, "--forbid"))
        return split_list(v, c->o.forbid, &c->o.n_forbid);
    else if (!strcmp(a, "--dilate")) {
        if (parse_number(v, &x) || x < 0 || x > 5 || x != floor(x))
            return -1;
        c->o.dilate_vox = (int)x;
    } else if (!strcmp(a, "--reference"))
        c->o.reference = v;
    else if (!strcmp(a, "--image"))
        c->o.image = v;
    else if (!strcmp(a, "--start")) {
        c->has_start = true;
        return parse_point(v, c->o.start);
    } else if (!strcmp(a, "--end")) {
        c->has_end = true;
        return parse_point(v, c->o.end);
    } else if (!strcmp(a, "--min-inside"))
        return parse_number(v, &c->o.min_inside_frac);
    else if (!strcmp(a, "--max-forbidden"))
        return parse_number(v, &c->o.max_forbidden);
    else if (!strcmp(a, "--max-mean-mm"))
        return parse_number(v, &c->o.max_mean_mm);
    else if (!strcmp(a, "--min-above"))
        return parse_number(v, &c->o.min_above_frac);
    else if (!strcmp(a, "--json"))
        c->json = v;
    else
        return -2;
    return 0;
}

/* Reads x,y,z of FILE or DIR/centerline.csv into `l`. */
static int read_path(const char *arg, vflow_eval_line *l, vflow_error *err)
{
    char path[4096];
    struct stat sb;
    if (stat(arg, &sb) == 0 && S_ISDIR(sb.st_mode))
        snprintf(path, sizeof path, "%s/centerline.csv", arg);
    else
        snprintf(path, sizeof path, "%s", arg);
    vflow_csv csv;
    int rc = vflow_csv_read(path, &csv, err);
    if (rc)
        return rc;
    const double *x = vflow_csv_col(&csv, "x"), *y = vflow_csv_col(&csv, "y"),
                 *z = vflow_csv_col(&csv, "z");
    if (!x || !y || !z || csv.n_rows < 2)
        rc = vflow_error_set(err, VFLOW_EFORMAT, "%s: needs columns x,y,z "
                             "(world mm) and at least two rows", path);
    else if (vflow_eval_line_alloc(l, csv.n_rows))
        rc = vflow_error_set(err, VFLOW_ENOMEM, "out of memory (%s)", path);
    for (size_t i = 0; !rc && i < csv.n_rows; i++) {
        l->p[i][0] = x[i];
        l->p[i][1] = y[i];
        l->p[i][2] = z[i];
    }
    vflow_csv_free(&csv);
    return rc;
}

static int write_json(const vflow_eval_path_scores *sc, const cli *c)
{
    FILE *f = fopen(c->json, "w");
    if (!f) {
        fprintf(stderr, "vflow eval: cannot create %s: %s\n", c->json,
                strerror(errno));
        return 3;
    }
    vflow_eval_path_write_json(sc, c->centerline, f);
    if (fclose(f) != 0) {
        fprintf(stderr, "vflow eval: writing %s failed\n", c->json);
        return 3;
    }
    return 0;
}

int vflow_cmd_eval_path(int argc, char **argv)
{
    cli c;
    memset(&c, 0, sizeof c);
    vflow_eval_path_opts_init(&c.o);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
            c.quiet = true;
            continue;
        }
        int r = i + 1 < argc ? parse_option(&c, a, argv[i + 1]) : -2;
        if (r) {
            fprintf(stderr, "vflow eval: %s option '%s'%s%s\n",
                    r == -2 ? "unknown or incomplete" : "bad value for", a,
                    r == -2 ? "" : ": ", r == -2 ? "" : argv[i + 1]);
            usage(stderr);
            return 2;
        }
        i++;
    }
    if (!c.centerline || c.has_start != c.has_end ||
        ((c.has_start || !isnan(c.o.min_above_frac)) && !c.o.image)) {
        fprintf(stderr, "vflow eval: --centerline is required; --start and "
                        "--end go together; --min-above and the clicks need "
                        "--image\n");
        usage(stderr);
        return 2;
    }
    c.o.has_clicks = c.has_start;
    vflow_error err;
    vflow_error_clear(&err);
    vflow_eval_line line;
    memset(&line, 0, sizeof line);
    vflow_eval_path_scores sc;
    int rc = read_path(c.centerline, &line, &err);
    if (!rc)
        rc = vflow_eval_path_score(&line, &c.o, &sc, &err);
    vflow_eval_line_free(&line);
    if (rc) {
        fprintf(stderr, "vflow eval: %s\n", err.message);
        return 3;
    }
    if (!c.quiet)
        vflow_eval_path_print(&sc, stdout);
    if (c.json && write_json(&sc, &c))
        return 3;
    return sc.pass ? 0 : 1;
}
