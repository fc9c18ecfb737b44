/* SPDX-License-Identifier: BSD-3-Clause */
/* Measures table writers: flat JSON object and CSV. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "contours_io.h"

static void put_value(FILE *f, double v, bool json)
{
    if (isfinite(v))
        fprintf(f, "%.10g", v);
    else if (json)
        fputs("null", f);
    else
        fputs(isnan(v) ? "nan" : v > 0 ? "inf" : "-inf", f);
}

/* Column names are identifiers; escape anyway for quotes/backslashes. */
static void put_key(FILE *f, const char *s)
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

static int finish(FILE *f, const char *path, vflow_error *err)
{
    bool ok = !ferror(f);
    if (fclose(f) != 0 || !ok)
        return vflow_error_set(err, VFLOW_EIO, "writing '%s' failed: %s",
                               path, strerror(errno));
    return 0;
}

int vflow_table_write_json(const vflow_table *t, const char *path,
                           vflow_error *err)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return vflow_error_set(err, VFLOW_EIO, "cannot open '%s' for "
                               "writing: %s", path, strerror(errno));
    fputs("{", f);
    for (size_t c = 0; c < t->n_cols; c++) {
        fputs(c ? ",\n  " : "\n  ", f);
        put_key(f, t->cols[c].name);
        fputs(": ", f);
        if (t->n_rows == 1) {
            put_value(f, t->cols[c].values[0], true);
            continue;
        }
        fputc('[', f);
        for (size_t r = 0; r < t->n_rows; r++) {
            if (r)
                fputs(", ", f);
            put_value(f, t->cols[c].values[r], true);
        }
        fputc(']', f);
    }
    fputs("\n}\n", f);
    return finish(f, path, err);
}

int vflow_table_write_csv(const vflow_table *t, const char *path,
                          vflow_error *err)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return vflow_error_set(err, VFLOW_EIO, "cannot open '%s' for "
                               "writing: %s", path, strerror(errno));
    for (size_t c = 0; c < t->n_cols; c++)
        fprintf(f, "%s%s", c ? "," : "", t->cols[c].name);
    fputc('\n', f);
    for (size_t r = 0; r < t->n_rows; r++) {
        for (size_t c = 0; c < t->n_cols; c++) {
            if (c)
                fputc(',', f);
            put_value(f, t->cols[c].values[r], false);
        }
        fputc('\n', f);
    }
    return finish(f, path, err);
}
