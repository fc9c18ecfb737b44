/* SPDX-License-Identifier: BSD-3-Clause */
/* Parameter parsing and range checks against a stage descriptor, plus
 * descriptor validation and name suggestions. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

const char *vflow_param_kind_name(vflow_param_kind kind)
{
    static const char *names[VFLOW_PARAM_KIND_COUNT] = {
        "int", "float", "bool", "string", "enum", "float list", "point"};
    return (unsigned)kind < VFLOW_PARAM_KIND_COUNT ? names[kind] : "invalid";
}

static const char *skip_space(const char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    return s;
}

static bool only_space(const char *s)
{
    return *skip_space(s) == '\0';
}

static bool bounded(const vflow_param_desc *pd)
{
    return pd->min <= pd->max;
}

static int check_range(const vflow_param_desc *pd, double v, vflow_error *err)
{
    if (!isfinite(v))
        return vflow_error_set(err, VFLOW_ERANGE, "parameter '%s': value %g is "
                               "not a finite number", pd->name, v);
    if (bounded(pd) && (v < pd->min || v > pd->max))
        return vflow_error_set(err, VFLOW_ERANGE, "parameter '%s': value %g is "
                               "out of range [%g, %g]", pd->name, v, pd->min,
                               pd->max);
    return 0;
}

/* Parses a comma/space separated list of numbers, optionally in [ ]. */
static int parse_number_list(const char *text, double *out, size_t max,
                             size_t *count)
{
    const char *s = skip_space(text);
    bool bracket = *s == '[';
    if (bracket)
        s++;
    size_t n = 0;
    for (;;) {
        s = skip_space(s);
        if (*s == ']' || *s == '\0')
            break;
        if (n == max)
            return VFLOW_ERANGE;
        char *end;
        errno = 0;
        double v = strtod(s, &end);
        if (end == s || errno == ERANGE)
            return VFLOW_EINVAL;
        out[n++] = v;
        s = skip_space(end);
        if (*s == ',')
            s++;
    }
    if (bracket) {
        if (*s != ']')
            return VFLOW_EINVAL;
        s++;
    }
    if (!only_space(s))
        return VFLOW_EINVAL;
    *count = n;
    return 0;
}

static int parse_int(const vflow_param_desc *pd, const char *text, void *dst,
                     vflow_error *err)
{
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (end == text || !only_space(end) || errno == ERANGE)
        return vflow_error_set(err, VFLOW_EINVAL, "parameter '%s': '%s' is not "
                               "an integer", pd->name, text);
    int rc = check_range(pd, (double)v, err);
    if (rc == 0)
        *(int64_t *)dst = (int64_t)v;
    return rc;
}

static int parse_float(const vflow_param_desc *pd, const char *text, void *dst,
                       vflow_error *err)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || !only_space(end) || errno == ERANGE)
        return vflow_error_set(err, VFLOW_EINVAL, "parameter '%s': '%s' is not "
                               "a number", pd->name, text);
    int rc = check_range(pd, v, err);
    if (rc == 0)
        *(double *)dst = v;
    return rc;
}

static int parse_bool(const vflow_param_desc *pd, const char *text, void *dst,
                      vflow_error *err)
{
    static const char *yes[] = {"true", "yes", "on", "1"};
    static const char *no[] = {"false", "no", "off", "0"};
    const char *s = skip_space(text);
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *(bool *)dst = true;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *(bool *)dst = false;
            return 0;
        }
    }
    return vflow_error_set(err, VFLOW_EINVAL, "parameter '%s': '%s' is not a "
                           "boolean (expected true or false)", pd->name, text);
}

static int parse_string(const vflow_param_desc *pd, const char *text,
                        void *dst, vflow_error *err)
{
    char *copy = strdup(text);
    if (copy == NULL)
        return vflow_error_set(err, VFLOW_ENOMEM, "parameter '%s': out of "
                               "memory", pd->name);
    free(*(char **)dst);
    *(char **)dst = copy;
    return 0;
}

static int parse_enum(const vflow_param_desc *pd, const char *text, void *dst,
                      vflow_error *err)
{
    const char *s = skip_space(text);
    size_t n = 0;
    for (; pd->choices != NULL && pd->choices[n] != NULL; n++) {
        if (strcmp(s, pd->choices[n]) == 0) {
            *(int *)dst = (int)n;
            return 0;
        }
    }
    char list[512] = "";
    for (size_t i = 0; i < n; i++) {
        size_t used = strlen(list);
        snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "",
                 pd->choices[i]);
    }
    const char *hint = vflow_suggest(s, pd->choices, n);
    if (hint != NULL)
        return vflow_error_set(err, VFLOW_EINVAL, "parameter '%s': '%s' is not "
                               "one of: %s (did you mean '%s'?)", pd->name, s,
                               list, hint);
    return vflow_error_set(err, VFLOW_EINVAL, "parameter '%s': '%s' is not one "
                           "of: %s", pd->name, s, list);
}

static int parse_float_list(const vflow_param_desc *pd, const char *text,
                            void *dst, vflow_error *err)
{
    vflow_float_list list = {0};
    int rc = parse_number_list(text, list.values, VFLOW_FLOAT_LIST_MAX,
                               &list.count);
    if (rc == VFLOW_ERANGE)
        return vflow_error_set(err, VFLOW_ERANGE, "parameter '%s': more than "
                               "%d values", pd->name, VFLOW_FLOAT_LIST_MAX);
    if (rc != 0)
        return vflow_error_set(err, VFLOW_EINVAL, "parameter '%s': '%s' is not "
                               "a list of numbers (expected e.g. [0.5, 1, 2])",
                               pd->name, text);
    for (size_t i = 0; i < list.count; i++)
        if ((rc = check_range(pd, list.values[i], err)) != 0)
            return rc;
    *(vflow_float_list *)dst = list;
    return 0;
}

static int parse_point(const vflow_param_desc *pd, const char *text, void *dst,
                       vflow_error *err)
{
    vflow_point_param p = {.set = true};
    const char *s = skip_space(text);
    if (strncasecmp(s, "vox:", 4) == 0) {
        p.is_voxel = true;
        s += 4;
    }
    size_t n = 0;
    int rc = parse_number_list(s, p.v, 3, &n);
    if (rc != 0 || n != 3)
        return vflow_error_set(err, VFLOW_EINVAL, "parameter '%s': '%s' is not "
                               "a point (expected x,y,z in world mm, or "
                               "vox:i,j,k)", pd->name, text);
    for (int a = 0; a < 3; a++)
        if (!isfinite(p.v[a]))
            return vflow_error_set(err, VFLOW_EINVAL, "parameter '%s': '%s' "
                                   "has a non-finite coordinate", pd->name,
                                   text);
    *(vflow_point_param *)dst = p;
    return 0;
}

int vflow_param_parse(const vflow_param_desc *pd, const char *text,
                      void *priv, vflow_error *err)
{
    if (text == NULL)
        return vflow_error_set(err, VFLOW_EINVAL, "parameter '%s': no value",
                               pd->name);
    void *dst = (char *)priv + pd->offset;
    switch (pd->kind) {
    case VFLOW_PARAM_INT: return parse_int(pd, text, dst, err);
    case VFLOW_PARAM_FLOAT: return parse_float(pd, text, dst, err);
    case VFLOW_PARAM_BOOL: return parse_bool(pd, text, dst, err);
    case VFLOW_PARAM_STRING: return parse_string(pd, text, dst, err);
    case VFLOW_PARAM_ENUM: return parse_enum(pd, text, dst, err);
    case VFLOW_PARAM_FLOAT_LIST: return parse_float_list(pd, text, dst, err);
    case VFLOW_PARAM_POINT: return parse_point(pd, text, dst, err);
    default:
        return vflow_error_set(err, VFLOW_EINTERNAL, "parameter '%s': invalid "
                               "kind %d", pd->name, (int)pd->kind);
    }
}

void vflow_params_free_strings(const vflow_stage_desc *desc, void *priv)
{
    if (priv == NULL)
        return;
    for (size_t i = 0; i < desc->n_params; i++) {
        const vflow_param_desc *pd = &desc->params[i];
        if (pd->kind == VFLOW_PARAM_STRING) {
            char **slot = (char **)((char *)priv + pd->offset);
            free(*slot);
            *slot = NULL;
        }
    }
}

long vflow_desc_find_param(const vflow_stage_desc *desc, const char *name)
{
    for (size_t i = 0; i < desc->n_params; i++)
        if (strcmp(desc->params[i].name, name) == 0)
            return (long)i;
    return -1;
}

static long find_port(const vflow_port_desc *ports, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(ports[i].name, name) == 0)
            return (long)i;
    return -1;
}

long vflow_desc_find_input(const vflow_stage_desc *desc, const char *name)
{
    return find_port(desc->inputs, desc->n_inputs, name);
}

long vflow_desc_find_output(const vflow_stage_desc *desc, const char *name)
{
    return find_port(desc->outputs, desc->n_outputs, name);
}

/* ------------------------------------------------- descriptor checks */

static bool valid_identifier(const char *s)
{
    if (s == NULL || !(islower((unsigned char)*s)))
        return false;
    for (s++; *s; s++)
        if (!(islower((unsigned char)*s) || isdigit((unsigned char)*s) ||
              *s == '_'))
            return false;
    return true;
}

static size_t param_size(vflow_param_kind kind)
{
    switch (kind) {
    case VFLOW_PARAM_INT: return sizeof(int64_t);
    case VFLOW_PARAM_FLOAT: return sizeof(double);
    case VFLOW_PARAM_BOOL: return sizeof(bool);
    case VFLOW_PARAM_STRING: return sizeof(char *);
    case VFLOW_PARAM_ENUM: return sizeof(int);
    case VFLOW_PARAM_FLOAT_LIST: return sizeof(vflow_float_list);
    case VFLOW_PARAM_POINT: return sizeof(vflow_point_param);
    default: return 0;
    }
}

static int validate_ports(const vflow_port_desc *ports, size_t n,
                          const char *what, const char *origin,
                          const char *stage, vflow_error *err)
{
    if (n > 0 && ports == NULL)
        return vflow_error_set(err, VFLOW_EABI, "%s: stage '%s': %zu %s ports "
                               "but no table", origin, stage, n, what);
    for (size_t i = 0; i < n; i++) {
        if (!valid_identifier(ports[i].name))
            return vflow_error_set(err, VFLOW_EABI, "%s: stage '%s': %s port %zu "
                                   "has an invalid name", origin, stage, what,
                                   i);
        if (vflow_type_lookup(ports[i].type) == NULL &&
            ports[i].type < VFLOW_TYPE_EXT_FIRST)
            return vflow_error_set(err, VFLOW_EABI, "%s: stage '%s': %s port "
                                   "'%s' has unknown type id %d", origin, stage,
                                   what, ports[i].name, (int)ports[i].type);
        if (find_port(ports, i, ports[i].name) >= 0)
            return vflow_error_set(err, VFLOW_EABI, "%s: stage '%s': duplicate "
                                   "%s port '%s'", origin, stage, what,
                                   ports[i].name);
    }
    return 0;
}

static int validate_param(const vflow_stage_desc *d, size_t i,
                          const char *origin, vflow_error *err)
{
    const vflow_param_desc *pd = &d->params[i];
    if (!valid_identifier(pd->name))
        return vflow_error_set(err, VFLOW_EABI, "%s: stage '%s': parameter %zu "
                               "has an invalid name", origin, d->name, i);
    size_t size = param_size(pd->kind);
    if (size == 0 || pd->offset + size > d->priv_size)
        return vflow_error_set(err, VFLOW_EABI, "%s: stage '%s': parameter '%s' "
                               "(%s) does not fit in priv_size %zu", origin,
                               d->name, pd->name,
                               vflow_param_kind_name(pd->kind), d->priv_size);
    if (pd->kind == VFLOW_PARAM_ENUM && pd->choices == NULL)
        return vflow_error_set(err, VFLOW_EABI, "%s: stage '%s': enum parameter "
                               "'%s' has no choices", origin, d->name, pd->name);
    if (vflow_desc_find_param(d, pd->name) != (long)i)
        return vflow_error_set(err, VFLOW_EABI, "%s: stage '%s': duplicate "
                               "parameter '%s'", origin, d->name, pd->name);
    return 0;
}

int vflow_desc_validate(const vflow_stage_desc *d, const char *origin,
                        vflow_error *err)
{
    if (d == NULL)
        return vflow_error_set(err, VFLOW_EABI, "%s: NULL stage descriptor",
                               origin);
    if (d->abi_major != VFLOW_ABI_MAJOR || d->abi_minor > VFLOW_ABI_MINOR)
        return vflow_error_set(err, VFLOW_EABI, "%s: stage '%s' was built for "
                               "vflow ABI %u.%u, this runtime provides ABI %d.%d;"
                               " rebuild the plugin against this vflow",
                               origin, d->name ? d->name : "?", d->abi_major,
                               d->abi_minor, VFLOW_ABI_MAJOR, VFLOW_ABI_MINOR);
    if (d->struct_size < offsetof(vflow_stage_desc, reserved))
        return vflow_error_set(err, VFLOW_EABI, "%s: descriptor struct_size %u "
                               "is too small", origin, d->struct_size);
    if (!valid_identifier(d->name))
        return vflow_error_set(err, VFLOW_EABI, "%s: stage name '%s' is not a "
                               "valid identifier ([a-z][a-z0-9_]*)", origin,
                               d->name ? d->name : "(null)");
    if (d->run == NULL)
        return vflow_error_set(err, VFLOW_EABI, "%s: stage '%s' has no run "
                               "callback", origin, d->name);
    int rc = validate_ports(d->inputs, d->n_inputs, "input", origin, d->name,
                            err);
    if (rc == 0)
        rc = validate_ports(d->outputs, d->n_outputs, "output", origin,
                            d->name, err);
    if (rc != 0)
        return rc;
    if (d->n_params > 0 && d->params == NULL)
        return vflow_error_set(err, VFLOW_EABI, "%s: stage '%s': parameters "
                               "declared without a table", origin, d->name);
    for (size_t i = 0; i < d->n_params; i++)
        if ((rc = validate_param(d, i, origin, err)) != 0)
            return rc;
    if ((d->flags & (VFLOW_STAGE_WRITER | VFLOW_STAGE_READER)) &&
        (d->extensions == NULL || vflow_desc_find_param(d, "path") < 0))
        return vflow_error_set(err, VFLOW_EABI, "%s: reader/writer stage '%s' "
                               "needs extensions and a 'path' parameter",
                               origin, d->name);
    if ((d->flags & VFLOW_STAGE_WRITER) && d->n_inputs != 1)
        return vflow_error_set(err, VFLOW_EABI, "%s: writer stage '%s' must "
                               "have exactly one input", origin, d->name);
    return 0;
}

/* --------------------------------------------------------- suggestions */

size_t vflow_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return la > lb ? la : lb;
    size_t row[65];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t best = diag + cost;
            if (row[j] + 1 < best)
                best = row[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

const char *vflow_suggest(const char *name, const char *const *candidates,
                          size_t n)
{
    size_t limit = strlen(name) / 3;
    if (limit < 2)
        limit = 2;
    const char *best = NULL;
    size_t best_d = limit + 1;
    for (size_t i = 0; i < n; i++) {
        size_t d = vflow_edit_distance(name, candidates[i]);
        if (d < best_d) {
            best_d = d;
            best = candidates[i];
        }
    }
    return best;
}
