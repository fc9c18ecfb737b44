/* SPDX-License-Identifier: BSD-3-Clause */
/* Reads truth and result files for the scorer: CSV, a small JSON DOM, NIfTI labels. */
#include "eval.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "nifti_read.h"

/* ---------------------------------------------------------------- CSV */

static char *read_file(const char *path, size_t *len, vflow_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        vflow_error_set(err, errno == ENOENT ? VFLOW_ENOENT : VFLOW_EIO,
                        "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (n < cap)
            break;
        cap *= 2;
        char *nb = realloc(buf, cap + 1);
        if (!nb) {
            free(buf);
            buf = NULL;
        } else {
            buf = nb;
        }
    }
    bool bad = ferror(f);
    fclose(f);
    if (!buf || bad) {
        free(buf);
        vflow_error_set(err, buf ? VFLOW_EIO : VFLOW_ENOMEM,
                        "cannot read %s", path);
        return NULL;
    }
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

void vflow_csv_free(vflow_csv *csv)
{
    if (!csv)
        return;
    for (size_t c = 0; c < csv->n_cols; c++) {
        if (csv->names)
            free(csv->names[c]);
        if (csv->cols)
            free(csv->cols[c]);
    }
    free(csv->names);
    free(csv->cols);
    memset(csv, 0, sizeof *csv);
}

const double *vflow_csv_col(const vflow_csv *csv, const char *name)
{
    for (size_t c = 0; c < csv->n_cols; c++)
        if (strcmp(csv->names[c], name) == 0)
            return csv->cols[c];
    return NULL;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

static int csv_header(vflow_csv *csv, char *line, const char *path,
                      vflow_error *err)
{
    size_t n = 1;
    for (char *c = line; *c; c++)
        n += *c == ',';
    csv->names = calloc(n, sizeof *csv->names);
    csv->cols = calloc(n, sizeof *csv->cols);
    if (!csv->names || !csv->cols)
        return vflow_error_set(err, VFLOW_ENOMEM, "out of memory (%s)", path);
    csv->n_cols = n;
    char *save = NULL, *tok = strtok_r(line, ",", &save);
    for (size_t c = 0; c < n; c++) {
        csv->names[c] = strdup(tok ? trim(tok) : "");
        if (!csv->names[c])
            return vflow_error_set(err, VFLOW_ENOMEM, "out of memory");
        tok = strtok_r(NULL, ",", &save);
    }
    return 0;
}

int vflow_csv_read(const char *path, vflow_csv *csv, vflow_error *err)
{
    memset(csv, 0, sizeof *csv);
    char *text = read_file(path, NULL, err);
    if (!text)
        return err->code;
    size_t rows = 0;
    for (char *c = text; *c; c++)
        rows += *c == '\n';
    /* Lines starting with '#' are comments (VMTK/Slicer exports carry
     * provenance lines above the header). */
    char *save = NULL, *line = strtok_r(text, "\r\n", &save);
    while (line && *line == '#')
        line = strtok_r(NULL, "\r\n", &save);
    int rc = 0;
    if (!line)
        rc = vflow_error_set(err, VFLOW_EFORMAT, "%s: empty file", path);
    if (!rc)
        rc = csv_header(csv, line, path, err);
    for (size_t c = 0; !rc && c < csv->n_cols; c++)
        if (!(csv->cols[c] = calloc(rows + 1, sizeof(double))))
            rc = vflow_error_set(err, VFLOW_ENOMEM, "out of memory (%s)", path);
    size_t lineno = 1;
    while (!rc && (line = strtok_r(NULL, "\r\n", &save)) != NULL) {
        lineno++;
        if (*trim(line) == '\0' || *line == '#')
            continue;
        char *p = line;
        for (size_t c = 0; c < csv->n_cols && !rc; c++) {
            char *end;
            double v = strtod(p, &end);
            while (isspace((unsigned char)*end))
                end++;
            if (end == p || (*end != ',' && *end != '\0') ||
                (c + 1 < csv->n_cols && *end != ',') ||
                (c + 1 == csv->n_cols && *end != '\0'))
                rc = vflow_error_set(err, VFLOW_EFORMAT,
                                     "%s:%zu: column '%s' is not a number or "
                                     "the row has %s than %zu columns",
                                     path, lineno, csv->names[c],
                                     *end == ',' ? "more" : "fewer",
                                     csv->n_cols);
            csv->cols[c][csv->n_rows] = v;
            p = end + (*end == ',');
        }
        csv->n_rows++;
    }
    free(text);
    if (rc)
        vflow_csv_free(csv);
    return rc;
}

/* --------------------------------------------------------------- JSON */

typedef enum { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ } jtype;

typedef struct jv {
    jtype t;
    double num;
    char *str;
    size_t n;
    struct jv *items;
    char **keys;
} jv;

typedef struct jparser {
    const char *p, *start;
    int depth;
    bool fail;
} jparser;

static void jv_free(jv *v)
{
    if (!v)
        return;
    for (size_t i = 0; i < v->n; i++) {
        jv_free(&v->items[i]);
        if (v->keys)
            free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->str);
}

static void jskip(jparser *ps)
{
    while (isspace((unsigned char)*ps->p))
        ps->p++;
}

static bool jparse(jparser *ps, jv *out);

static char *jstring(jparser *ps)
{
    if (*ps->p != '"')
        return NULL;
    const char *b = ++ps->p;
    while (*ps->p && *ps->p != '"')
        ps->p += (*ps->p == '\\' && ps->p[1]) ? 2 : 1;
    if (*ps->p != '"')
        return NULL;
    size_t n = (size_t)(ps->p - b);
    char *s = malloc(n + 1);
    if (s) {
        memcpy(s, b, n);
        s[n] = '\0';
    }
    ps->p++;
    return s;
}

static bool jpush(jv *out, size_t *cap, jv *item, char *key)
{
    if (out->n == *cap) {
        size_t nc = *cap ? 2 * *cap : 8;
        jv *ni = realloc(out->items, nc * sizeof *ni);
        if (!ni)
            return false;
        out->items = ni;
        if (out->t == J_OBJ) {
            char **nk = realloc(out->keys, nc * sizeof *nk);
            if (!nk)
                return false;
            out->keys = nk;
        }
        *cap = nc;
    }
    out->items[out->n] = *item;
    if (out->t == J_OBJ)
        out->keys[out->n] = key;
    out->n++;
    return true;
}

static bool jcontainer(jparser *ps, jv *out, char close)
{
    size_t cap = 0;
    ps->p++;
    jskip(ps);
    if (*ps->p == close) {
        ps->p++;
        return true;
    }
    for (;;) {
        char *key = NULL;
        jskip(ps);
        if (out->t == J_OBJ) {
            key = jstring(ps);
            jskip(ps);
            if (!key || *ps->p != ':') {
                free(key);
                return false;
            }
            ps->p++;
        }
        jv item;
        if (!jparse(ps, &item) || !jpush(out, &cap, &item, key)) {
            free(key);
            return false;
        }
        jskip(ps);
        if (*ps->p == ',') {
            ps->p++;
            continue;
        }
        if (*ps->p == close) {
            ps->p++;
            return true;
        }
        return false;
    }
}

static bool jparse(jparser *ps, jv *out)
{
    memset(out, 0, sizeof *out);
    jskip(ps);
    if (++ps->depth > 64)
        return false;
    bool ok = true;
    char c = *ps->p;
    if (c == '{' || c == '[') {
        out->t = c == '{' ? J_OBJ : J_ARR;
        ok = jcontainer(ps, out, c == '{' ? '}' : ']');
    } else if (c == '"') {
        out->t = J_STR;
        ok = (out->str = jstring(ps)) != NULL;
    } else if (!strncmp(ps->p, "true", 4) || !strncmp(ps->p, "false", 5)) {
        out->t = J_BOOL;
        out->num = c == 't';
        ps->p += c == 't' ? 4 : 5;
    } else if (!strncmp(ps->p, "null", 4)) {
        ps->p += 4;
    } else {
        char *end;
        out->t = J_NUM;
        out->num = strtod(ps->p, &end);
        ok = end != ps->p;
        ps->p = end;
    }
    ps->depth--;
    return ok;
}

static int json_load(const char *path, jv *root, vflow_error *err)
{
    char *text = read_file(path, NULL, err);
    if (!text)
        return err->code;
    jparser ps = {text, text, 0, false};
    bool ok = jparse(&ps, root);
    jskip(&ps);
    ok = ok && *ps.p == '\0';
    size_t off = (size_t)(ps.p - text);
    free(text);
    if (!ok) {
        jv_free(root);
        memset(root, 0, sizeof *root);
        return vflow_error_set(err, VFLOW_EFORMAT,
                               "%s: malformed JSON near byte %zu", path, off);
    }
    return 0;
}

static const jv *jget(const jv *o, const char *key)
{
    if (!o || o->t != J_OBJ)
        return NULL;
    for (size_t i = 0; i < o->n; i++)
        if (strcmp(o->keys[i], key) == 0)
            return &o->items[i];
    return NULL;
}

/* A numeric array of exactly n entries into out. */
static bool jnums(const jv *a, size_t n, double *out)
{
    if (!a || a->t != J_ARR || a->n != n)
        return false;
    /* null stands for a value the writer could not compute (NaN). */
    for (size_t i = 0; i < n; i++) {
        if (a->items[i].t == J_NULL)
            out[i] = NAN;
        else if (a->items[i].t == J_NUM)
            out[i] = a->items[i].num;
        else
            return false;
    }
    return true;
}

/* ----------------------------------------------------------- contours */

void vflow_eval_contours_free(vflow_eval_contours *c)
{
    if (!c)
        return;
    free(c->s);
    free(c->c);
    free(c->t);
    free(c->u);
    free(c->v);
    free(c->lumen_r);
    free(c->outer_r);
    free(c->valid);
    memset(c, 0, sizeof *c);
}

static int contours_alloc(vflow_eval_contours *c, size_t n, size_t na,
                          bool outer)
{
    c->n = n;
    c->n_angles = na;
    c->s = calloc(n, sizeof *c->s);
    c->c = calloc(n, sizeof *c->c);
    c->t = calloc(n, sizeof *c->t);
    c->u = calloc(n, sizeof *c->u);
    c->v = calloc(n, sizeof *c->v);
    c->lumen_r = calloc(n * na, sizeof *c->lumen_r);
    c->outer_r = outer ? calloc(n * na, sizeof *c->outer_r) : NULL;
    c->valid = calloc(n, 1);
    return (c->s && c->c && c->t && c->u && c->v && c->lumen_r &&
            (!outer || c->outer_r) && c->valid)
               ? 0
               : VFLOW_ENOMEM;
}

static int station_read(const jv *st, size_t i, vflow_eval_contours *c,
                        const char *path, vflow_error *err)
{
    size_t na = c->n_angles;
    const jv *s = jget(st, "s_mm"), *val = jget(st, "valid");
    if (!jnums(jget(st, "center"), 3, c->c[i]) ||
        !jnums(jget(st, "normal"), 3, c->u[i]) ||
        !jnums(jget(st, "binormal"), 3, c->v[i]) ||
        !jnums(jget(st, "lumen_r"), na, c->lumen_r + i * na))
        return vflow_error_set(err, VFLOW_EFORMAT,
                               "%s: station %zu needs \"center\", \"normal\", "
                               "\"binormal\" (3 numbers each) and \"lumen_r\" "
                               "(%zu numbers)", path, i, na);
    if (!jnums(jget(st, "tangent"), 3, c->t[i])) {
        const double *a = c->u[i], *b = c->v[i];
        c->t[i][0] = a[1] * b[2] - a[2] * b[1];
        c->t[i][1] = a[2] * b[0] - a[0] * b[2];
        c->t[i][2] = a[0] * b[1] - a[1] * b[0];
    }
    if (c->outer_r && !jnums(jget(st, "outer_r"), na, c->outer_r + i * na))
        return vflow_error_set(err, VFLOW_EFORMAT,
                               "%s: station %zu: \"outer_r\" must have %zu "
                               "numbers like the first station", path, i, na);
    c->s[i] = s && s->t == J_NUM ? s->num : NAN;
    c->valid[i] = !(val && val->t == J_BOOL && val->num == 0);
    return 0;
}

int vflow_eval_contours_read(const char *path, vflow_eval_contours *c,
                             vflow_error *err)
{
    memset(c, 0, sizeof *c);
    jv root;
    int rc = json_load(path, &root, err);
    if (rc)
        return rc;
    const jv *na = jget(&root, "n_angles"), *sts = jget(&root, "stations");
    if (!na || na->t != J_NUM || na->num < 3 || !sts || sts->t != J_ARR ||
        sts->n < 1) {
        jv_free(&root);
        return vflow_error_set(err, VFLOW_EFORMAT,
                               "%s: expected {\"n_angles\": N >= 3, "
                               "\"stations\": [...]} with at least one station",
                               path);
    }
    bool outer = jget(&sts->items[0], "outer_r") != NULL;
    if (contours_alloc(c, sts->n, (size_t)na->num, outer))
        rc = vflow_error_set(err, VFLOW_ENOMEM, "out of memory (%s)", path);
    for (size_t i = 0; !rc && i < sts->n; i++)
        rc = station_read(&sts->items[i], i, c, path, err);
    jv_free(&root);
    if (rc)
        vflow_eval_contours_free(c);
    return rc;
}

/* ------------------------------------------------------------- labels */

void vflow_eval_labels_free(vflow_eval_labels *l)
{
    if (!l)
        return;
    free(l->data);
    memset(l, 0, sizeof *l);
}

int vflow_eval_nifti_open(const char *path, size_t dims[3],
                          double affine[4][4], nifti_image **out,
                          vflow_error *err)
{
    *out = NULL;
    struct stat sb;
    if (stat(path, &sb) != 0)
        return vflow_error_set(err, VFLOW_ENOENT, "%s: not found", path);
    nifti_set_debug_level(0);
    nifti_image *nim = nifti_image_read(path, 1);
    if (!nim || !nim->data) {
        nifti_image_free(nim);
        return vflow_error_set(err, VFLOW_EFORMAT,
                               "%s: not a readable NIfTI volume", path);
    }
    if (nim->nx < 1 || nim->ny < 1 || nim->nz < 1 || nim->nt > 1 ||
        nim->nu > 1) {
        nifti_image_free(nim);
        return vflow_error_set(err, VFLOW_EFORMAT,
                               "%s: expected one 3-D volume", path);
    }
    dims[0] = (size_t)nim->nx;
    dims[1] = (size_t)nim->ny;
    dims[2] = (size_t)nim->nz;
    const nifti_dmat44 *m = nim->sform_code > 0   ? &nim->sto_xyz
                            : nim->qform_code > 0 ? &nim->qto_xyz
                                                  : NULL;
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 4; c++)
            affine[r][c] = m ? m->m[r][c]
                             : (r == c ? (r < 3 ? nim->pixdim[r + 1] : 1) : 0);
    *out = nim;
    return 0;
}

double vflow_eval_nifti_value(const nifti_image *nim, size_t i, bool *ok)
{
    double v;
    switch (nim->datatype) {
    case DT_UINT8: v = ((const unsigned char *)nim->data)[i]; break;
    case DT_INT8: v = ((const signed char *)nim->data)[i]; break;
    case DT_INT16: v = ((const short *)nim->data)[i]; break;
    case DT_UINT16: v = ((const unsigned short *)nim->data)[i]; break;
    case DT_INT32: v = ((const int *)nim->data)[i]; break;
    case DT_UINT32: v = ((const unsigned int *)nim->data)[i]; break;
    case DT_FLOAT32: v = ((const float *)nim->data)[i]; break;
    case DT_FLOAT64: v = ((const double *)nim->data)[i]; break;
    default: *ok = false; return 0.0;
    }
    double slope = nim->scl_slope != 0 && isfinite(nim->scl_slope)
                       ? nim->scl_slope : 1.0;
    double inter = isfinite(nim->scl_inter) ? nim->scl_inter : 0.0;
    return v * slope + inter;
}

int vflow_eval_labels_read(const char *path, vflow_eval_labels *l,
                           vflow_error *err)
{
    memset(l, 0, sizeof *l);
    nifti_image *nim;
    int rc = vflow_eval_nifti_open(path, l->dims, l->affine, &nim, err);
    if (rc != 0)
        return rc;
    size_t n = l->dims[0] * l->dims[1] * l->dims[2];
    l->data = malloc(n);
    if (l->data == NULL)
        rc = vflow_error_set(err, VFLOW_ENOMEM, "out of memory");
    bool ok = true;
    for (size_t i = 0; !rc && ok && i < n; i++) {
        double v = vflow_eval_nifti_value(nim, i, &ok);
        l->data[i] = (unsigned char)(v >= 0.5 && v < 255.5 ? lround(v) : 0);
    }
    if (!rc && !ok)
        rc = vflow_error_set(err, VFLOW_EFORMAT,
                             "%s: unsupported NIfTI datatype %d for labels",
                             path, nim->datatype);
    nifti_image_free(nim);
    if (rc)
        vflow_eval_labels_free(l);
    return rc;
}

/* --------------------------------------------------------- centerlines */

void vflow_eval_line_free(vflow_eval_line *l)
{
    if (!l)
        return;
    free(l->p);
    free(l->s);
    free(l->r);
    free(l->ro);
    free(l->valid);
    memset(l, 0, sizeof *l);
}

int vflow_eval_line_alloc(vflow_eval_line *l, size_t n);
int vflow_eval_line_alloc(vflow_eval_line *l, size_t n)
{
    memset(l, 0, sizeof *l);
    l->n = n;
    l->p = calloc(n ? n : 1, sizeof *l->p);
    l->s = calloc(n ? n : 1, sizeof *l->s);
    l->r = calloc(n ? n : 1, sizeof *l->r);
    l->ro = calloc(n ? n : 1, sizeof *l->ro);
    l->valid = calloc(n ? n : 1, 1);
    if (!l->p || !l->s || !l->r || !l->ro || !l->valid) {
        vflow_eval_line_free(l);
        return VFLOW_ENOMEM;
    }
    return 0;
}

/* A centreline from a CSV: x,y,z required; s_mm, radii optional. */
static int line_from_csv(const vflow_csv *csv, const char *path,
                         vflow_eval_line *l, vflow_error *err)
{
    const double *x = vflow_csv_col(csv, "x"), *y = vflow_csv_col(csv, "y"),
                 *z = vflow_csv_col(csv, "z");
    if (!x || !y || !z || csv->n_rows < 2)
        return vflow_error_set(err, VFLOW_EFORMAT,
                               "%s: needs columns x,y,z (world mm) and at least "
                               "two rows", path);
    const double *s = vflow_csv_col(csv, "s_mm");
    const double *r = vflow_csv_col(csv, "lumen_radius_mm");
    const double *ro = vflow_csv_col(csv, "outer_radius_mm");
    const double *va = vflow_csv_col(csv, "valid");
    const double *d = vflow_csv_col(csv, "lumen_diam_mm");
    if (vflow_eval_line_alloc(l, csv->n_rows))
        return vflow_error_set(err, VFLOW_ENOMEM, "out of memory (%s)", path);
    for (size_t i = 0; i < csv->n_rows; i++) {
        if (!isfinite(x[i]) || !isfinite(y[i]) || !isfinite(z[i])) {
            vflow_eval_line_free(l);
            return vflow_error_set(err, VFLOW_EFORMAT,
                                   "%s: row %zu has a non-finite coordinate",
                                   path, i + 2);
        }
        l->p[i][0] = x[i];
        l->p[i][1] = y[i];
        l->p[i][2] = z[i];
        if (s)
            l->s[i] = s[i];
        else if (i > 0) {
            double dx = x[i] - x[i - 1], dy = y[i] - y[i - 1],
                   dz = z[i] - z[i - 1];
            l->s[i] = l->s[i - 1] + sqrt(dx * dx + dy * dy + dz * dz);
        }
        l->r[i] = r ? r[i] : (d ? 0.5 * d[i] : 0.0);
        l->ro[i] = ro ? ro[i] : 0.0;
        l->valid[i] = va ? va[i] != 0 : 1;
    }
    return 0;
}

static int line_read(const char *path, vflow_eval_line *l, vflow_csv *keep,
                     vflow_error *err)
{
    vflow_csv csv;
    int rc = vflow_csv_read(path, &csv, err);
    if (rc)
        return rc;
    rc = line_from_csv(&csv, path, l, err);
    if (keep && !rc)
        *keep = csv;
    else
        vflow_csv_free(&csv);
    return rc;
}

static bool file_exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

/* ------------------------------------------------------------- truth */

void vflow_eval_truth_free(vflow_eval_truth *t)
{
    if (!t)
        return;
    vflow_eval_line_free(&t->centerline);
    vflow_eval_contours_free(&t->contours);
    vflow_eval_line_free(&t->distractor);
    vflow_eval_line_free(&t->branch);
    vflow_eval_labels_free(&t->labels);
    memset(t, 0, sizeof *t);
}

static int truth_clicks(const char *dir, vflow_eval_truth *t, vflow_error *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/clicks.json", dir);
    jv root;
    int rc = json_load(path, &root, err);
    if (rc)
        return rc;
    const jv *ss = jget(&root, "start_s_mm"), *es = jget(&root, "end_s_mm");
    if (!jnums(jget(&root, "start"), 3, t->start) ||
        !jnums(jget(&root, "end"), 3, t->end))
        rc = vflow_error_set(err, VFLOW_EFORMAT,
                             "%s: needs \"start\" and \"end\" (3 numbers, "
                             "world mm)", path);
    t->s_start = ss && ss->t == J_NUM ? ss->num : NAN;
    t->s_end = es && es->t == J_NUM ? es->num : NAN;
    jv_free(&root);
    return rc;
}

static void truth_profile(const char *dir, vflow_eval_truth *t)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/phantom.json", dir);
    jv root;
    vflow_error e;
    if (json_load(path, &root, &e))
        return;
    const jv *v = jget(&root, "vessel");
    const jv *a = jget(v, "lumen_radius_proximal_mm"),
             *b = jget(v, "lumen_radius_distal_mm"), *l = jget(v, "length_mm");
    if (a && b && l && a->t == J_NUM && b->t == J_NUM && l->t == J_NUM) {
        t->r_prox = a->num;
        t->r_dist = b->num;
        t->length = l->num;
        t->has_profile = l->num > 0;
    }
    const jv *ca = jget(&root, "calcium");
    const jv *pr = jget(ca, "present");
    const char *keys[6] = {"s_mm", "length_mm", "angle_deg", "arc_deg",
                           "gap_to_lumen_mm", "thickness_mm"};
    double *dst[6] = {&t->ca_s, &t->ca_len, &t->ca_angle_deg, &t->ca_arc_deg,
                      &t->ca_gap, &t->ca_thick};
    bool ok = pr && pr->t == J_BOOL && pr->num != 0;
    for (int k = 0; ok && k < 6; k++) {
        const jv *v = jget(ca, keys[k]);
        ok = v && v->t == J_NUM;
        if (ok)
            *dst[k] = v->num;
    }
    t->has_calcium = ok;
    jv_free(&root);
}

int vflow_eval_truth_load(const char *dir, vflow_eval_truth *t,
                          vflow_error *err)
{
    memset(t, 0, sizeof *t);
    char path[4096];
    snprintf(path, sizeof path, "%s/truth_centerline.csv", dir);
    int rc = line_read(path, &t->centerline, NULL, err);
    if (!rc) {
        snprintf(path, sizeof path, "%s/truth_contours.json", dir);
        rc = vflow_eval_contours_read(path, &t->contours, err);
    }
    if (!rc)
        rc = truth_clicks(dir, t, err);
    snprintf(path, sizeof path, "%s/truth_distractor.csv", dir);
    if (!rc && file_exists(path))
        rc = line_read(path, &t->distractor, NULL, err);
    snprintf(path, sizeof path, "%s/truth_branch.csv", dir);
    if (!rc && file_exists(path))
        rc = line_read(path, &t->branch, NULL, err);
    snprintf(path, sizeof path, "%s/labels.nii.gz", dir);
    if (!rc && file_exists(path))
        rc = vflow_eval_labels_read(path, &t->labels, err);
    if (!rc)
        truth_profile(dir, t);
    if (rc) {
        vflow_error_prefix(err, "truth: ");
        vflow_eval_truth_free(t);
    }
    return rc;
}

/* ------------------------------------------------------------- result */

void vflow_eval_result_free(vflow_eval_result *r)
{
    if (!r)
        return;
    vflow_eval_line_free(&r->centerline);
    vflow_csv_free(&r->csv);
    vflow_eval_contours_free(&r->contours);
    vflow_eval_labels_free(&r->labels);
    memset(r, 0, sizeof *r);
}

static void note_missing(vflow_eval_result *r, const char *what)
{
    size_t n = strlen(r->missing);
    snprintf(r->missing + n, sizeof r->missing - n, "%s%s", n ? ", " : "",
             what);
}

int vflow_eval_result_load(const char *dir, vflow_eval_result *r,
                           vflow_error *err)
{
    memset(r, 0, sizeof *r);
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return vflow_error_set(err, VFLOW_ENOENT,
                               "result directory %s not found", dir);
    char path[4096];
    int rc = 0;
    snprintf(path, sizeof path, "%s/centerline.csv", dir);
    if (file_exists(path)) {
        rc = line_read(path, &r->centerline, &r->csv, err);
        r->has_centerline = rc == 0;
        if (!rc) {
            r->lumen_area = vflow_csv_col(&r->csv, "lumen_area_mm2");
            r->lumen_diam = vflow_csv_col(&r->csv, "lumen_diam_mm");
            r->wall_area = vflow_csv_col(&r->csv, "wall_area_mm2");
        }
    } else {
        note_missing(r, "centerline.csv");
    }
    snprintf(path, sizeof path, "%s/contours.json", dir);
    if (!rc && file_exists(path)) {
        rc = vflow_eval_contours_read(path, &r->contours, err);
        r->has_contours = rc == 0;
    } else if (!rc) {
        note_missing(r, "contours.json");
    }
    snprintf(path, sizeof path, "%s/labels.nii.gz", dir);
    if (!rc && file_exists(path)) {
        rc = vflow_eval_labels_read(path, &r->labels, err);
        r->has_labels = rc == 0;
    } else if (!rc) {
        note_missing(r, "labels.nii.gz");
    }
    snprintf(path, sizeof path, "%s/measures.json", dir);
    if (!rc && file_exists(path)) {
        jv root;
        rc = json_load(path, &root, err);
        const jv *ds = rc ? NULL : jget(&root, "diameter_stenosis_pct");
        if (ds && ds->t == J_NUM) {
            r->has_measured_ds = true;
            r->measured_ds_pct = ds->num;
        }
        if (!rc)
            jv_free(&root);
    }
    if (!rc && !r->has_centerline && !r->has_contours && !r->has_labels)
        rc = vflow_error_set(err, VFLOW_ENOENT,
                             "%s holds none of centerline.csv, contours.json, "
                             "labels.nii.gz: nothing to score", dir);
    if (rc) {
        vflow_error_prefix(err, "result: ");
        vflow_eval_result_free(r);
    }
    return rc;
}
