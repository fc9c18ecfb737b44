/* SPDX-License-Identifier: BSD-3-Clause */
/* contours.json writer and reader (the scorer reads this exact shape). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "contours_io.h"
#include "json_mini.h"

static void put_number(FILE *f, double v, int digits)
{
    if (isfinite(v))
        fprintf(f, "%.*g", digits, v);
    else
        fputs("null", f);
}

static void put_vec3(FILE *f, const char *key, const double v[3])
{
    fprintf(f, ",\"%s\":[", key);
    for (int k = 0; k < 3; k++) {
        if (k)
            fputc(',', f);
        put_number(f, v[k], 17);
    }
    fputc(']', f);
}

static void put_radii(FILE *f, const char *key, const float *r, size_t n)
{
    fprintf(f, ",\"%s\":[", key);
    for (size_t a = 0; a < n; a++) {
        if (a)
            fputc(',', f);
        put_number(f, r[a], 9);
    }
    fputc(']', f);
}

int vflow_contours_write_json(const vflow_contours *c, const char *path,
                              vflow_error *err)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return vflow_error_set(err, VFLOW_EIO, "cannot open '%s' for "
                               "writing: %s", path, strerror(errno));
    fprintf(f, "{\"n_angles\":%zu,\"coordinate_system\":\"RAS\","
               "\"units\":\"mm\",\"stations\":[", c->n_angles);
    for (size_t s = 0; s < c->count; s++) {
        const vflow_frame *fr = &c->frames[s];
        fputs(s ? ",\n{\"s_mm\":" : "\n{\"s_mm\":", f);
        put_number(f, fr->s_mm, 17);
        put_vec3(f, "center", fr->center);
        put_vec3(f, "tangent", fr->tangent);
        put_vec3(f, "normal", fr->normal);
        put_vec3(f, "binormal", fr->binormal);
        put_radii(f, "lumen_r", c->lumen_r + s * c->n_angles, c->n_angles);
        put_radii(f, "outer_r", c->outer_r + s * c->n_angles, c->n_angles);
        fputc('}', f);
    }
    fputs("\n]}\n", f);
    bool ok = !ferror(f);
    if (fclose(f) != 0 || !ok)
        return vflow_error_set(err, VFLOW_EIO, "writing '%s' failed: %s",
                               path, strerror(errno));
    return 0;
}

/* ------------------------------------------------------------- reading */

static char *read_text(const char *path, vflow_error *err)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        vflow_error_set(err, VFLOW_ENOENT, "cannot open '%s': %s", path,
                        strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf != NULL) {
        n += fread(buf + n, 1, cap - n - 1, f);
        if (n < cap - 1)
            break;
        char *b = realloc(buf, 2 * cap);
        if (b == NULL) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = b, cap *= 2;
    }
    bool bad = ferror(f);
    fclose(f);
    if (buf == NULL || bad) {
        free(buf);
        vflow_error_set(err, buf == NULL ? VFLOW_ENOMEM : VFLOW_EIO,
                        "cannot read '%s'", path);
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

/* Copies a numeric array member of exactly n values (null -> NaN). */
static int get_numbers(const json_value *st, const char *key, size_t n,
                       double *out, const char *path, size_t s,
                       vflow_error *err)
{
    const json_value *a = json_get(st, key);
    if (a == NULL || a->kind != JSON_ARRAY || a->count != n)
        return vflow_error_set(err, VFLOW_EFORMAT, "'%s': station %zu: '%s' "
                               "must be an array of %zu numbers", path, s,
                               key, n);
    for (size_t i = 0; i < n; i++) {
        if (a->items[i].kind != JSON_NUMBER && a->items[i].kind != JSON_NULL)
            return vflow_error_set(err, VFLOW_EFORMAT, "'%s': station %zu: "
                                   "'%s'[%zu] is not a number", path, s, key,
                                   i);
        out[i] = a->items[i].number;
    }
    return 0;
}

static int read_station(const json_value *st, vflow_contours *c, size_t s,
                        double *scratch, const char *path, vflow_error *err)
{
    vflow_frame *f = &c->frames[s];
    size_t na = c->n_angles;
    int rc;
    if ((rc = get_numbers(st, "center", 3, f->center, path, s, err)) ||
        (rc = get_numbers(st, "tangent", 3, f->tangent, path, s, err)) ||
        (rc = get_numbers(st, "normal", 3, f->normal, path, s, err)) ||
        (rc = get_numbers(st, "binormal", 3, f->binormal, path, s, err)))
        return rc;
    const json_value *sm = json_get(st, "s_mm");
    if (sm == NULL || (sm->kind != JSON_NUMBER && sm->kind != JSON_NULL))
        return vflow_error_set(err, VFLOW_EFORMAT, "'%s': station %zu: "
                               "'s_mm' must be a number", path, s);
    f->s_mm = sm->number;
    if ((rc = get_numbers(st, "lumen_r", na, scratch, path, s, err)))
        return rc;
    for (size_t a = 0; a < na; a++)
        c->lumen_r[s * na + a] = (float)scratch[a];
    if ((rc = get_numbers(st, "outer_r", na, scratch, path, s, err)))
        return rc;
    for (size_t a = 0; a < na; a++)
        c->outer_r[s * na + a] = (float)scratch[a];
    return 0;
}

static vflow_contours *contours_from_json(const json_value *root,
                                          const char *path, vflow_error *err)
{
    const json_value *na = json_get(root, "n_angles");
    const json_value *st = json_get(root, "stations");
    const json_value *cs = json_get(root, "coordinate_system");
    if (na == NULL || na->kind != JSON_NUMBER || na->number < 3 ||
        na->number != floor(na->number) || na->number > 1e6 || st == NULL ||
        st->kind != JSON_ARRAY) {
        vflow_error_set(err, VFLOW_EFORMAT, "'%s' is not a contours file: "
                        "expected an object with integer 'n_angles' >= 3 and "
                        "a 'stations' array", path);
        return NULL;
    }
    if (cs != NULL && (cs->kind != JSON_STRING || strcmp(cs->string, "RAS"))) {
        vflow_error_set(err, VFLOW_EFORMAT, "'%s': coordinate_system must be "
                        "\"RAS\"", path);
        return NULL;
    }
    size_t n = (size_t)na->number;
    vflow_contours *c = vflow_contours_create(st->count, n, err);
    double *scratch = malloc(n * sizeof *scratch);
    if (c == NULL || scratch == NULL) {
        free(scratch);
        if (c != NULL)
            vflow_object_release(&c->base);
        vflow_error_set(err, VFLOW_ENOMEM, "out of memory reading '%s'", path);
        return NULL;
    }
    for (size_t s = 0; s < st->count; s++) {
        if (read_station(&st->items[s], c, s, scratch, path, err) != 0) {
            vflow_object_release(&c->base);
            c = NULL;
            break;
        }
    }
    free(scratch);
    return c;
}

vflow_contours *vflow_contours_read_json(const char *path, vflow_error *err)
{
    char *text = read_text(path, err);
    if (text == NULL)
        return NULL;
    json_value *root = json_parse(text, err);
    free(text);
    if (root == NULL) {
        vflow_error_prefix(err, "'%s': ", path);
        return NULL;
    }
    vflow_contours *c = contours_from_json(root, path, err);
    json_free(root);
    return c;
}
