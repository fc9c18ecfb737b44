/* SPDX-License-Identifier: BSD-3-Clause */
/* Run report (report.json), console summary, profile table and DOT graph. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "report.h"

/* ----------------------------------------------------------------- JSON */

static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *c = (const unsigned char *)(s ? s : ""); *c;
         c++) {
        switch (*c) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        default:
            if (*c < 0x20)
                fprintf(f, "\\u%04x", *c);
            else
                fputc(*c, f);
        }
    }
    fputc('"', f);
}

static void json_number(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, "%.17g", v);
    else
        fputs("null", f);
}

/* ------------------------------------------------------------- measures */

/* A table worth reporting: port "measures", or any one-row table. */
typedef struct measure_table {
    const vflow_gnode *node;
    size_t port;
    const vflow_table *table;
} measure_table;

/* Kinds of kept tables: on a port named "measures", or other one-row. */
static bool is_measures_port(const vflow_gnode *g, size_t port)
{
    return strcmp(g->desc->outputs[port].name, "measures") == 0;
}

static size_t collect_tables(const vflow_pipeline *p, bool measures_ports,
                             measure_table *out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < p->n_stages; i++) {
        const vflow_gnode *g = &p->nodes[i];
        if (g->results == NULL)
            continue;
        for (size_t k = 0; k < g->desc->n_outputs && n < max; k++) {
            const vflow_table *t = VFLOW_TABLE(g->results[k]);
            if (t == NULL || is_measures_port(g, k) != measures_ports)
                continue;
            if (measures_ports || t->n_rows == 1)
                out[n++] = (measure_table){g, k, t};
        }
    }
    return n;
}

/*
 * The run's measures: the tables on ports named "measures" (the vessel-level
 * results) or, when no stage has one, every one-row table.
 */
static size_t collect_measures(const vflow_pipeline *p, measure_table *out,
                               size_t max)
{
    size_t n = collect_tables(p, true, out, max);
    return n > 0 ? n : collect_tables(p, false, out, max);
}

/* Is column `name` unique among all measure tables? */
static bool column_unique(const measure_table *m, size_t n, const char *name)
{
    size_t seen = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t c = 0; c < m[i].table->n_cols; c++)
            seen += strcmp(m[i].table->cols[c].name, name) == 0;
    return seen <= 1;
}

static void measure_key(const measure_table *m, size_t n, size_t i, size_t c,
                        char *buf, size_t size)
{
    const char *col = m[i].table->cols[c].name;
    if (column_unique(m, n, col))
        snprintf(buf, size, "%s", col);
    else
        snprintf(buf, size, "%s.%s.%s", m[i].node->name,
                 m[i].node->desc->outputs[m[i].port].name, col);
}

static void json_measures(FILE *f, const vflow_pipeline *p)
{
    measure_table m[64];
    size_t n = collect_measures(p, m, 64);
    fputs("  \"measures\": {", f);
    bool first = true;
    for (size_t i = 0; i < n; i++) {
        const vflow_table *t = m[i].table;
        for (size_t c = 0; c < t->n_cols; c++) {
            char key[200];
            measure_key(m, n, i, c, key, sizeof key);
            fputs(first ? "\n    " : ",\n    ", f);
            first = false;
            json_string(f, key);
            fputs(": ", f);
            if (t->n_rows == 1) {
                json_number(f, t->cols[c].values[0]);
                continue;
            }
            fputc('[', f);
            for (size_t r = 0; r < t->n_rows; r++) {
                if (r > 0)
                    fputs(", ", f);
                json_number(f, t->cols[c].values[r]);
            }
            fputc(']', f);
        }
    }
    fputs(first ? "}" : "\n  }", f);
}

/* One-row tables besides the measures (stage statistics), by stage.port. */
static void json_other_tables(FILE *f, const vflow_pipeline *p)
{
    measure_table m[64];
    if (collect_tables(p, true, m, 64) == 0)
        return; /* the one-row tables are the measures already */
    size_t n = collect_tables(p, false, m, 64);
    fputs(",\n  \"tables\": {", f);
    for (size_t i = 0; i < n; i++) {
        fprintf(f, "%s\n    \"%s.%s\": {", i ? "," : "", m[i].node->name,
                m[i].node->desc->outputs[m[i].port].name);
        for (size_t c = 0; c < m[i].table->n_cols; c++) {
            fputs(c ? ", " : "", f);
            json_string(f, m[i].table->cols[c].name);
            fputs(": ", f);
            json_number(f, m[i].table->cols[c].values[0]);
        }
        fputs("}", f);
    }
    fputs(n ? "\n  }" : "}", f);
}

/* --------------------------------------------------------------- report */

static const vflow_gparam *given_param(const vflow_gnode *g, const char *name)
{
    for (size_t i = 0; i < g->n_params; i++)
        if (strcmp(g->params[i].name, name) == 0 && g->params[i].text != NULL)
            return &g->params[i];
    return NULL;
}

static void json_params(FILE *f, const vflow_gnode *g)
{
    fputs("{", f);
    bool first = true;
    for (size_t i = 0; i < g->desc->n_params; i++) {
        const vflow_param_desc *pd = &g->desc->params[i];
        if (g->is_output && strcmp(pd->name, "path") == 0)
            continue;
        const vflow_gparam *gp = given_param(g, pd->name);
        fputs(first ? "\n        " : ",\n        ", f);
        first = false;
        json_string(f, pd->name);
        fputs(": {\"value\": ", f);
        if (gp != NULL)
            json_string(f, gp->text);
        else if (pd->default_value != NULL)
            json_string(f, pd->default_value);
        else
            fputs("null", f);
        fprintf(f, ", \"given\": %s", gp != NULL ? "true" : "false");
        if (gp != NULL && gp->from_cli)
            fputs(", \"from\": \"--set\"", f);
        fputs("}", f);
    }
    fputs(first ? "}" : "\n      }", f);
}

static void json_stats(FILE *f, const vflow_gstats *st)
{
    fprintf(f, "\"ran\": %s, \"cached\": %s, ", st->ran ? "true" : "false",
            st->cached ? "true" : "false");
    if (st->deferred)
        fputs("\"deferred\": true, ", f);
    fprintf(f, "\"wall_ms\": %.3f, \"cpu_ms\": %.3f", st->wall_ms,
            st->cpu_ms);
    fprintf(f, ", \"out_bytes\": %zu, \"live_bytes\": %zu, "
               "\"peak_rss_bytes\": %lld",
            st->out_bytes, st->live_bytes, st->rss_bytes);
}

static void json_inputs(FILE *f, const vflow_pipeline *p)
{
    fputs("  \"inputs\": {", f);
    for (size_t i = 0; i < p->n_inputs; i++) {
        const vflow_gin *in = &p->inputs[i];
        fputs(i ? ",\n    " : "\n    ", f);
        json_string(f, in->name);
        fputs(": {\"type\": ", f);
        json_string(f, vflow_input_kind_name(in->kind));
        fputs(", \"value\": ", f);
        json_string(f, in->value);
        fprintf(f, ", \"from\": \"%s\"}", in->from_cli ? "--set" : "default");
    }
    fputs(p->n_inputs ? "\n  },\n" : "},\n", f);
}

/* The module file (or "built-in") a stage was registered from. */
static const char *stage_origin(const vflow_runtime *rt,
                                const vflow_stage_desc *d)
{
    for (size_t i = 0; i < vflow_runtime_stage_count(rt); i++)
        if (vflow_runtime_stage_at(rt, i) == d)
            return vflow_runtime_stage_origin(rt, i);
    return "?";
}

static void json_nodes(FILE *f, const vflow_pipeline *p, bool outputs)
{
    fprintf(f, "  \"%s\": [", outputs ? "outputs" : "stages");
    size_t from = outputs ? p->n_stages : 0;
    size_t to = outputs ? p->n_nodes : p->n_stages;
    for (size_t k = 0, first = 1; k < p->n_nodes; k++) {
        const vflow_gnode *g = &p->nodes[p->order[k]];
        if (p->order[k] < from || p->order[k] >= to)
            continue;
        fputs(first ? "\n    {" : ",\n    {", f);
        first = 0;
        fputs(outputs ? "\"file\": " : "\"name\": ", f);
        json_string(f, g->name);
        if (outputs) {
            fputs(", \"path\": ", f);
            json_string(f, g->final_path);
            fputs(", \"from\": ", f);
            json_string(f, g->wires[0].ref);
            fputs(", \"writer\": ", f);
        } else {
            fputs(", \"plugin\": ", f);
        }
        json_string(f, g->desc->name);
        fputs(", \"plugin_version\": ", f);
        json_string(f, g->desc->version);
        fputs(", \"plugin_file\": ", f);
        json_string(f, stage_origin(p->rt, g->desc));
        fputs(",\n      ", f);
        json_stats(f, &g->stats);
        fputs(",\n      \"params\": ", f);
        json_params(f, g);
        fputs("}", f);
    }
    fputs(to > from ? "\n  ],\n" : "],\n", f);
}

static void json_report(FILE *f, const vflow_pipeline *p, const char *out_dir,
                        const vflow_error *failure)
{
    char when[64] = "";
    time_t t = time(NULL);
    struct tm tm;
    if (gmtime_r(&t, &tm) != NULL)
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    char real[PATH_MAX];
    const char *file = realpath(p->path, real) != NULL ? real : p->path;
    fputs("{\n  \"vflow_version\": ", f);
    json_string(f, vflow_version());
    fputs(",\n  \"pipeline\": ", f);
    json_string(f, file);
    fputs(",\n  \"name\": ", f);
    json_string(f, p->name);
    fputs(",\n  \"finished\": ", f);
    json_string(f, when);
    fprintf(f, ",\n  \"status\": \"%s\"", failure ? "failed" : "ok");
    if (failure != NULL) {
        fputs(",\n  \"error\": ", f);
        json_string(f, failure->message);
    }
    fputs(",\n  \"out_dir\": ", f);
    json_string(f, out_dir);
    fprintf(f, ",\n  \"threads\": %u,\n", vflow_runtime_threads(p->rt));
    json_inputs(f, p);
    json_nodes(f, p, false);
    json_nodes(f, p, true);
    fprintf(f, "  \"total_ms\": %.3f", p->total_ms);
    long long rss = 0;
    for (size_t i = 0; i < p->n_nodes; i++)
        if (p->nodes[i].stats.rss_bytes > rss)
            rss = p->nodes[i].stats.rss_bytes;
    fprintf(f, ",\n  \"peak_live_bytes\": %zu,\n  \"peak_rss_bytes\": %lld,\n",
            p->peak_live_bytes, rss);
    json_measures(f, p);
    json_other_tables(f, p);
    fputs("\n}\n", f);
}

int vflow_report_write(const vflow_pipeline *p, const char *out_dir,
                       const vflow_error *failure, vflow_error *err)
{
    char *final = NULL, *tmp = NULL;
    if (asprintf(&final, "%s/report.json", out_dir) < 0)
        return vflow_error_set(err, VFLOW_ENOMEM, "out of memory");
    if (asprintf(&tmp, "%s/.vflow-tmp-%ld.report.json", out_dir,
                 (long)getpid()) < 0) {
        free(final);
        return vflow_error_set(err, VFLOW_ENOMEM, "out of memory");
    }
    int rc = 0;
    FILE *f = fopen(tmp, "w");
    if (f == NULL) {
        rc = vflow_error_set(err, VFLOW_EIO, "cannot write '%s': %s", tmp,
                             strerror(errno));
    } else {
        json_report(f, p, out_dir, failure);
        bool bad = ferror(f) != 0;
        if (fclose(f) != 0 || bad)
            rc = vflow_error_set(err, VFLOW_EIO, "cannot write '%s'", tmp);
        else if (rename(tmp, final) != 0)
            rc = vflow_error_set(err, VFLOW_EIO, "cannot rename '%s' to "
                                 "'%s': %s", tmp, final, strerror(errno));
        if (rc < 0)
            unlink(tmp);
    }
    free(final);
    free(tmp);
    return rc;
}

/* -------------------------------------------------------------- console */

void vflow_report_print_summary(const vflow_pipeline *p, FILE *out)
{
    for (size_t i = p->n_stages; i < p->n_nodes; i++)
        fprintf(out, "wrote %s  (%s via %s)\n", p->nodes[i].final_path,
                p->nodes[i].wires[0].ref, p->nodes[i].desc->name);
    fprintf(out, "report: %s/report.json\n", p->last_out_dir);
    measure_table m[64];
    size_t n = collect_measures(p, m, 64);
    bool header = false;
    for (size_t i = 0; i < n; i++) {
        const vflow_table *t = m[i].table;
        if (!header)
            fputs("measures:\n", out);
        header = true;
        if (t->n_rows != 1) {
            fprintf(out, "  %s.%s: %zu rows (see report.json)\n",
                    m[i].node->name, m[i].node->desc->outputs[m[i].port].name,
                    t->n_rows);
            continue;
        }
        for (size_t c = 0; c < t->n_cols; c++) {
            char key[200];
            measure_key(m, n, i, c, key, sizeof key);
            fprintf(out, "  %-28s %.6g\n", key, t->cols[c].values[0]);
        }
    }
}

static void human_bytes(double b, char *buf, size_t size)
{
    const char *unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (b >= 1024.0 && u < 4) {
        b /= 1024.0;
        u++;
    }
    snprintf(buf, size, u ? "%.1f %s" : "%.0f %s", b, unit[u]);
}

void vflow_report_print_profile(const vflow_pipeline *p, FILE *out)
{
    fprintf(out, "%-24s %-20s %10s %10s %11s %11s %11s\n", "stage",
            "plugin", "wall ms", "cpu ms", "out", "live", "peak RSS");
    for (size_t k = 0; k < p->n_nodes; k++) {
        const vflow_gnode *g = &p->nodes[p->order[k]];
        char o[32], l[32], r[32];
        human_bytes((double)g->stats.out_bytes, o, sizeof o);
        human_bytes((double)g->stats.live_bytes, l, sizeof l);
        human_bytes((double)g->stats.rss_bytes, r, sizeof r);
        char name[64];
        snprintf(name, sizeof name, "%s%s%s", g->is_output ? "> " : "",
                 g->name, g->stats.cached ? " *" : "");
        fprintf(out, "%-24s %-20s %10.1f %10.1f %11s %11s %11s\n", name,
                g->desc->name, g->stats.wall_ms, g->stats.cpu_ms, o, l, r);
    }
    char peak[32];
    human_bytes((double)p->peak_live_bytes, peak, sizeof peak);
    fprintf(out, "total %.1f ms, peak live port data %s (* = outputs "
                 "reused from the cache)\n", p->total_ms, peak);
}

/* ------------------------------------------------------------------ DOT */

static void dot_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '\n') {
            fputs("\\n", f);
            continue;
        }
        if (*s == '"' || *s == '\\')
            fputc('\\', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

int vflow_pipeline_write_dot(const vflow_pipeline *p, FILE *out,
                             vflow_error *err)
{
    fputs("digraph ", out);
    dot_string(out, p->name != NULL ? p->name : "pipeline");
    fputs(" {\n  rankdir=LR;\n  node [shape=box, style=rounded, "
          "fontname=\"Helvetica\"];\n  edge [fontname=\"Helvetica\", "
          "fontsize=10];\n",
          out);
    for (size_t i = 0; i < p->n_inputs; i++) {
        fprintf(out, "  \"in:%s\" [shape=ellipse, style=dashed, label=",
                p->inputs[i].name);
        char label[600];
        snprintf(label, sizeof label, "%s (%s)", p->inputs[i].name,
                 vflow_input_kind_name(p->inputs[i].kind));
        dot_string(out, label);
        fputs("];\n", out);
    }
    for (size_t i = 0; i < p->n_nodes; i++) {
        const vflow_gnode *g = &p->nodes[i];
        char label[300];
        fprintf(out, "  \"n%zu\" [", i);
        if (g->is_output) {
            snprintf(label, sizeof label, "%s\n(%s)", g->name, g->desc->name);
            fputs("shape=note, style=\"\", label=", out);
        } else {
            snprintf(label, sizeof label, "%s\n%s", g->name, g->desc->name);
            fputs("label=", out);
        }
        dot_string(out, label);
        fputs("];\n", out);
    }
    for (size_t i = 0; i < p->n_nodes; i++) {
        const vflow_gnode *g = &p->nodes[i];
        for (size_t k = 0; g->uses_input != NULL && k < p->n_inputs; k++)
            if (g->uses_input[k])
                fprintf(out, "  \"in:%s\" -> \"n%zu\" [style=dashed];\n",
                        p->inputs[k].name, i);
        for (size_t w = 0; w < g->n_wires; w++) {
            const vflow_gwire *wire = &g->wires[w];
            const char *src_port =
                p->nodes[wire->src].desc->outputs[wire->src_port].name;
            char label[200];
            if (g->is_output || strcmp(src_port, wire->port) == 0)
                snprintf(label, sizeof label, "%s", src_port);
            else
                snprintf(label, sizeof label, "%s -> %s", src_port,
                         wire->port);
            fprintf(out, "  \"n%zu\" -> \"n%zu\" [label=", wire->src, i);
            dot_string(out, label);
            fputs("];\n", out);
        }
    }
    fputs("}\n", out);
    if (ferror(out))
        return vflow_error_set(err, VFLOW_EIO, "cannot write the DOT graph");
    return 0;
}
