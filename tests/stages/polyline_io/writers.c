/* SPDX-License-Identifier: BSD-3-Clause */
/* Polyline writers: CSV columns, well-formed VTP with the VMTK array, valid
 * Slicer markups JSON in RAS. */
#include <criterion/criterion.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "polyline_io.h"
#include "vflow/runtime.h"

extern const vflow_stage_desc vflow_stage_polyline_csv;
extern const vflow_stage_desc vflow_stage_polyline_vtp;
extern const vflow_stage_desc vflow_stage_polyline_mrk_json;

static vflow_polyline *sample_line(void)
{
    vflow_polyline *pl = vflow_polyline_create(5, NULL);
    double *s = vflow_polyline_add_array(pl, "s_mm");
    double *r = vflow_polyline_add_array(pl, "radius");
    double *t = vflow_polyline_add_array(pl, "tangent_x");
    for (size_t i = 0; i < 5; i++) {
        pl->xyz[i][0] = 10.0 + 0.5 * (double)i;
        pl->xyz[i][1] = -20.25;
        pl->xyz[i][2] = 3.0 + 1e-7;
        s[i] = 0.5 * (double)i;
        r[i] = 1.5 - 0.1 * (double)i;
        t[i] = 1.0;
    }
    return pl;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot read %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* Runs writer `desc` through the harness into a fresh temp file. */
static char *run_writer(const vflow_stage_desc *desc, const char *ext,
                        char *path, size_t size)
{
    snprintf(path, size, "/tmp/vflow-pio-%ld-%s%s", (long)getpid(),
             desc->name, ext);
    vflow_error err = {0};
    vflow_runtime_options o = {.threads = 1, .log_level = VFLOW_LOG_ERROR};
    vflow_runtime *rt = vflow_runtime_new(&o, &err);
    const vflow_stage_desc *stages[] = {desc};
    vflow_plugin_info info = {VFLOW_ABI_MAJOR, VFLOW_ABI_MINOR, "pio", 1,
                              stages};
    cr_assert_eq(vflow_runtime_add_plugin_info(rt, &info, "test", &err), 0,
                 "%s", err.message);
    vflow_stage *st = vflow_stage_new(rt, desc, &err);
    vflow_polyline *pl = sample_line();
    cr_assert_eq(vflow_stage_set_param(st, "path", path, &err), 0);
    cr_assert_eq(vflow_stage_set_input(st, "centerline", &pl->base, &err), 0);
    cr_assert_eq(vflow_stage_run(st, &err), 0, "%s", err.message);
    vflow_stage_free(st);
    vflow_runtime_free(rt);
    vflow_object_release(&pl->base);
    return slurp(path);
}

Test(polyline_io, csv_has_header_and_columns)
{
    char path[256];
    char *txt = run_writer(&vflow_stage_polyline_csv, ".csv", path,
                           sizeof path);
    cr_expect(strncmp(txt, "s_mm,x,y,z,radius,tangent_x\n", 28) == 0, "%s",
              txt);
    size_t lines = 0;
    for (char *p = txt; *p; p++)
        if (*p == '\n')
            lines++;
    cr_expect_eq(lines, 6);
    char *row2 = strchr(txt, '\n') + 1;
    row2 = strchr(row2, '\n') + 1;
    cr_expect(strncmp(row2, "0.500000,10.500000,-20.250000,3.000000,1.400000,"
                            "1.000000\n", 57) == 0, "%s", row2);
    free(txt);
    unlink(path);
}

/* Minimal well-formedness check: every <tag> closed in order. */
static bool xml_balanced(const char *s)
{
    char stack[32][64];
    int depth = 0;
    for (const char *p = strchr(s, '<'); p != NULL; p = strchr(p + 1, '<')) {
        if (p[1] == '?' || p[1] == '!')
            continue;
        const char *e = strchr(p, '>');
        if (e == NULL)
            return false;
        bool closing = p[1] == '/', self = e[-1] == '/';
        const char *n = p + (closing ? 2 : 1);
        size_t len = strcspn(n, " />");
        if (len == 0 || len >= 64)
            return false;
        if (closing) {
            if (depth == 0 || strncmp(stack[depth - 1], n, len) != 0)
                return false;
            depth--;
        } else if (!self) {
            if (depth == 32)
                return false;
            memcpy(stack[depth], n, len);
            stack[depth++][len] = '\0';
        }
    }
    return depth == 0;
}

Test(polyline_io, vtp_is_well_formed_with_vmtk_radius)
{
    char path[256];
    char *txt = run_writer(&vflow_stage_polyline_vtp, ".vtp", path,
                           sizeof path);
    cr_expect(xml_balanced(txt), "unbalanced XML");
    cr_expect(strstr(txt, "<VTKFile type=\"PolyData\"") != NULL);
    cr_expect(strstr(txt, "NumberOfPoints=\"5\"") != NULL);
    cr_expect(strstr(txt, "Name=\"MaximumInscribedSphereRadius\"") != NULL);
    cr_expect(strstr(txt, "Name=\"radius\"") != NULL);
    cr_expect(strstr(txt, "Name=\"s_mm\"") != NULL);
    cr_expect(strstr(txt, "0 1 2 3 4") != NULL, "one line cell");
    if (system("command -v python3 >/dev/null 2>&1") == 0) {
        char cmd[512];
        snprintf(cmd, sizeof cmd, "python3 -c \"import xml.etree.ElementTree "
                 "as E,sys; r=E.parse(sys.argv[1]).getroot(); "
                 "a=[d.get('Name') for d in r.iter('DataArray')]; "
                 "assert 'MaximumInscribedSphereRadius' in a\" %s", path);
        cr_expect_eq(system(cmd), 0, "python's XML parser rejects %s", path);
    }
    free(txt);
    unlink(path);
}

/* Minimal JSON validator (RFC 8259 grammar, no unicode escapes checks). */
static const char *js_value(const char *p);
static const char *js_ws(const char *p)
{
    while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')
        p++;
    return p;
}
static const char *js_string(const char *p)
{
    if (*p++ != '"')
        return NULL;
    while (*p && *p != '"')
        p += *p == '\\' ? 2 : 1;
    return *p == '"' ? p + 1 : NULL;
}
static const char *js_seq(const char *p, char close, bool object)
{
    p = js_ws(p + 1);
    if (*p == close)
        return p + 1;
    for (;;) {
        if (object) {
            p = js_string(js_ws(p));
            if (p == NULL || *(p = js_ws(p)) != ':')
                return NULL;
            p++;
        }
        p = js_value(p);
        if (p == NULL)
            return NULL;
        p = js_ws(p);
        if (*p == close)
            return p + 1;
        if (*p++ != ',')
            return NULL;
    }
}
static const char *js_value(const char *p)
{
    p = js_ws(p);
    if (*p == '{')
        return js_seq(p, '}', true);
    if (*p == '[')
        return js_seq(p, ']', false);
    if (*p == '"')
        return js_string(p);
    if (strncmp(p, "true", 4) == 0 || strncmp(p, "null", 4) == 0)
        return p + 4;
    if (strncmp(p, "false", 5) == 0)
        return p + 5;
    char *end;
    strtod(p, &end);
    return end > p ? end : NULL;
}

Test(polyline_io, mrk_json_is_valid_slicer_curve_in_ras)
{
    char path[256];
    char *txt = run_writer(&vflow_stage_polyline_mrk_json, ".mrk.json", path,
                           sizeof path);
    const char *end = js_value(txt);
    cr_expect(end != NULL && *js_ws(end) == '\0', "invalid JSON");
    cr_expect(strstr(txt, "\"coordinateSystem\": \"RAS\"") != NULL);
    cr_expect(strstr(txt, "\"type\": \"Curve\"") != NULL);
    cr_expect(strstr(txt, "markups-schema-v1.0.3.json") != NULL);
    cr_expect(strstr(txt, "[12.000000, -20.250000, 3.000000]") != NULL);
    if (system("command -v python3 >/dev/null 2>&1") == 0) {
        char cmd[512];
        snprintf(cmd, sizeof cmd, "python3 -c \"import json,sys; "
                 "m=json.load(open(sys.argv[1]))['markups'][0]; "
                 "assert m['coordinateSystem']=='RAS' and "
                 "len(m['controlPoints'])==5\" %s", path);
        cr_expect_eq(system(cmd), 0, "python's JSON parser rejects %s", path);
    }
    free(txt);
    unlink(path);
}

Test(polyline_io, unwritable_path_is_a_clear_error)
{
    vflow_polyline *pl = sample_line();
    vflow_error err = {0};
    int rc = vflow_polyline_write_file(pl, "/nonexistent-dir/x.csv",
                                       vflow_polyline_write_csv, &err);
    cr_expect_eq(rc, VFLOW_EIO);
    cr_expect(strstr(err.message, "/nonexistent-dir/x.csv") != NULL, "%s",
              err.message);
    vflow_object_release(&pl->base);
}

Test(polyline_io, csv_computes_arc_length_without_s_mm)
{
    vflow_polyline *pl = vflow_polyline_create(3, NULL);
    double p[3][3] = {{0, 0, 0}, {3, 4, 0}, {3, 4, 2}};
    memcpy(pl->xyz, p, sizeof p);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cr_assert_eq(vflow_polyline_write_csv(pl, f), 0);
    fclose(f);
    cr_expect_str_eq(buf, "s_mm,x,y,z\n0.000000,0.000000,0.000000,0.000000\n"
                          "5.000000,3.000000,4.000000,0.000000\n"
                          "7.000000,3.000000,4.000000,2.000000\n");
    free(buf);
    vflow_object_release(&pl->base);
}
