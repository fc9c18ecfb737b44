/* SPDX-License-Identifier: BSD-3-Clause */
/* Stage polyline_read: a centreline from a CSV file (world mm, RAS+). */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "polyline_io.h"
#include "vflow/plugin.h"

#define READ_MAX_COLS 64

typedef struct polyline_reader_priv {
    char *path;
} polyline_reader_priv;

/* Splits `line` in place at commas (whitespace trimmed); returns the number
 * of fields, at most `max`, or max + 1 when there are more. */
static size_t split_fields(char *line, char **f, size_t max)
{
    size_t n = 0;
    char *p = line;
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (n == max)
            return max + 1;
        f[n++] = p;
        char *c = strchr(p, ',');
        char *end = c ? c : p + strlen(p);
        char *q = end;
        while (q > p && isspace((unsigned char)q[-1]))
            q--;
        *q = '\0';
        if (!c)
            return n;
        p = c + 1;
    }
}

/* A growable table of rows of `n_cols` doubles. */
typedef struct rows {
    double *v;
    size_t n, cap, n_cols;
} rows;

static int rows_push(rows *r, const double *row)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 256;
        double *v = realloc(r->v, cap * r->n_cols * sizeof *v);
        if (v == NULL)
            return VFLOW_ENOMEM;
        r->v = v;
        r->cap = cap;
    }
    memcpy(r->v + r->n * r->n_cols, row, r->n_cols * sizeof *row);
    r->n++;
    return 0;
}

/* Header: column indices of x, y, z; the other names are kept. */
static int parse_header(char *line, const char *path, char **names,
                        size_t *n_cols, int xyz[3], vflow_error *err)
{
    size_t n = split_fields(line, names, READ_MAX_COLS);
    if (n > READ_MAX_COLS)
        return vflow_error_set(err, VFLOW_EFORMAT,
                               "%s, line 1: more than %d columns", path,
                               READ_MAX_COLS);
    static const char *const want[3] = {"x", "y", "z"};
    for (int k = 0; k < 3; k++) {
        xyz[k] = -1;
        for (size_t i = 0; i < n; i++)
            if (strcmp(names[i], want[k]) == 0)
                xyz[k] = (int)i;
        if (xyz[k] < 0)
            return vflow_error_set(
                err, VFLOW_EFORMAT,
                "%s, line 1: no column \"%s\"; expected a header naming "
                "x,y,z (world mm, RAS+), e.g. s_mm,x,y,z,lumen_radius_mm",
                path, want[k]);
    }
    *n_cols = n;
    return 0;
}

static int parse_row(char *line, const char *path, size_t lineno,
                     char **names, size_t n_cols, double *row,
                     vflow_error *err)
{
    char *f[READ_MAX_COLS + 1];
    size_t n = split_fields(line, f, READ_MAX_COLS);
    if (n != n_cols)
        return vflow_error_set(err, VFLOW_EFORMAT,
                               "%s, line %zu: %zu fields, the header has %zu",
                               path, lineno, n,
                               n_cols);
    for (size_t i = 0; i < n; i++) {
        char *end;
        errno = 0;
        row[i] = strtod(f[i], &end);
        if (end == f[i] || *end != '\0' || errno == ERANGE ||
            !isfinite(row[i]))
            return vflow_error_set(err, VFLOW_EFORMAT,
                                   "%s, line %zu, column \"%s\": \"%s\" is "
                                   "not a finite number",
                                   path, lineno, names[i], f[i]);
    }
    return 0;
}

/* Reads every data row of `fp`; comment lines (#) and blank lines skipped. */
static int read_rows(FILE *fp, const char *path, char *header_copy,
                     char **names, size_t *n_cols, int xyz[3], rows *r,
                     vflow_error *err)
{
    char line[8192];
    size_t lineno = 0;
    bool have_header = false;
    double row[READ_MAX_COLS];
    while (fgets(line, sizeof line, fp)) {
        lineno++;
        size_t len = strlen(line);
        if (len == sizeof line - 1 && line[len - 1] != '\n')
            return vflow_error_set(err, VFLOW_EFORMAT,
                                   "%s, line %zu: longer than %zu characters",
                                   path, lineno, sizeof line - 2);
        line[strcspn(line, "\r\n")] = '\0';
        char *p = line;
        while (isspace((unsigned char)*p))
            p++;
        if (*p == '\0' || *p == '#')
            continue;
        int rc;
        if (!have_header) {
            strcpy(header_copy, p);
            if ((rc = parse_header(header_copy, path, names, n_cols, xyz,
                                   err)) < 0)
                return rc;
            r->n_cols = *n_cols;
            have_header = true;
            continue;
        }
        if ((rc = parse_row(p, path, lineno, names, *n_cols, row, err)) < 0)
            return rc;
        if ((rc = rows_push(r, row)) < 0)
            return vflow_error_set(err, rc, "out of memory reading %s", path);
    }
    if (ferror(fp))
        return vflow_error_set(err, VFLOW_EIO, "%s: read error", path);
    if (!have_header)
        return vflow_error_set(err, VFLOW_EFORMAT,
                               "%s: empty; expected a header x,y,z and rows",
                               path);
    if (r->n < 2)
        return vflow_error_set(err, VFLOW_EFORMAT,
                               "%s: %zu point(s); a centreline needs at "
                               "least 2",
                               path, r->n);
    return 0;
}

/* The polyline of the rows: x,y,z as points, other columns as arrays
 * (except s_mm, which the arc length of the points defines). */
static vflow_polyline *rows_to_polyline(const rows *r, char **names,
                                        const int xyz[3], vflow_error *err)
{
    vflow_polyline *pl = vflow_polyline_create(r->n, err);
    if (pl == NULL)
        return NULL;
    for (size_t i = 0; i < r->n; i++)
        for (int k = 0; k < 3; k++)
            pl->xyz[i][k] = r->v[i * r->n_cols + (size_t)xyz[k]];
    for (size_t c = 0; c < r->n_cols; c++) {
        if ((int)c == xyz[0] || (int)c == xyz[1] || (int)c == xyz[2] ||
            strcmp(names[c], "s_mm") == 0 || names[c][0] == '\0')
            continue;
        double *a = vflow_polyline_add_array(pl, names[c]);
        if (a == NULL) {
            vflow_object_release(&pl->base);
            vflow_error_set(err, VFLOW_ENOMEM, "out of memory (polyline)");
            return NULL;
        }
        for (size_t i = 0; i < r->n; i++)
            a[i] = r->v[i * r->n_cols + c];
    }
    return pl;
}

static int read_run(void *priv, vflow_ctx *ctx, vflow_io *io,
                    vflow_error *err)
{
    (void)ctx;
    const char *path = ((polyline_reader_priv *)priv)->path;
    FILE *fp = fopen(path, "r");
    if (fp == NULL)
        return vflow_error_set(err, errno == ENOENT ? VFLOW_ENOENT : VFLOW_EIO,
                               "cannot open centreline %s: %s", path,
                               strerror(errno));
    char header[8192];
    char *names[READ_MAX_COLS + 1];
    size_t n_cols = 0;
    int xyz[3];
    rows r = {0};
    int rc = read_rows(fp, path, header, names, &n_cols, xyz, &r, err);
    fclose(fp);
    vflow_polyline *pl = NULL;
    if (rc == 0 && (pl = rows_to_polyline(&r, names, xyz, err)) == NULL)
        rc = err->code ? err->code : VFLOW_ENOMEM;
    free(r.v);
    if (rc < 0)
        return rc;
    return vflow_io_set_output(io, "centerline", &pl->base);
}

static const vflow_port_desc read_outputs[] = {
    {"centerline", VFLOW_TYPE_POLYLINE, false,
     "the file's points, world mm (RAS+), with its other columns as arrays"},
};

static const vflow_param_desc read_params[] = {
    {.name = "path", .kind = VFLOW_PARAM_STRING,
     .offset = offsetof(polyline_reader_priv, path), .default_value = NULL,
     VFLOW_UNBOUNDED, .choices = NULL,
     .doc = "CSV with a header naming x,y,z (world mm, NIfTI RAS+), as "
            "vflow's centerline.csv; # comment lines allowed",
     .required = true},
};

const vflow_stage_desc vflow_stage_polyline_read = {
    VFLOW_STAGE_HEADER,
    .flags = VFLOW_STAGE_DETERMINISTIC | VFLOW_STAGE_THREAD_SAFE,
    .name = "polyline_read", .version = "1.0.0",
    .summary = "Read a centreline (x,y,z world mm) from CSV: refine or "
               "measure a path made by another tool",
    .license = "BSD-3-Clause",
    .inputs = NULL, .n_inputs = 0,
    .outputs = read_outputs, .n_outputs = VFLOW_COUNT(read_outputs),
    .params = read_params, .n_params = VFLOW_COUNT(read_params),
    .extensions = NULL, .priv_size = sizeof(polyline_reader_priv),
    .init = NULL, .run = read_run, .finalize = NULL,
};
