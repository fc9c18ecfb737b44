/* SPDX-License-Identifier: BSD-3-Clause */
/* Helpers for the nifti stage tests: temp dirs, harness runs, test files. */
#ifndef VFLOW_TEST_NIFTI_HARNESS_H
#define VFLOW_TEST_NIFTI_HARNESS_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vflow/runtime.h"
#include "vflow/volume.h"

extern const vflow_stage_desc vflow_stage_nifti_load;
extern const vflow_stage_desc vflow_stage_nifti_save;

/* A fresh directory under $TMPDIR (or /tmp); caller frees the string. */
static inline char *tmpdir_new(void)
{
    const char *base = getenv("TMPDIR");
    char *tmpl = malloc(512);
    cr_assert_not_null(tmpl);
    snprintf(tmpl, 512, "%s/vflow-nifti-XXXXXX", base ? base : "/tmp");
    cr_assert_not_null(mkdtemp(tmpl));
    return tmpl;
}

static inline void tmpdir_free(char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
    free(dir);
}

static inline vflow_runtime *runtime_with_nifti(void)
{
    static const vflow_stage_desc *const stages[] = {&vflow_stage_nifti_load,
                                                     &vflow_stage_nifti_save};
    static const vflow_plugin_info info = {VFLOW_ABI_MAJOR, VFLOW_ABI_MINOR,
                                           "nifti", 2, stages};
    vflow_error err;
    vflow_runtime_options opts = {.threads = 2,
                                  .log_level = VFLOW_LOG_WARN};
    vflow_runtime *rt = vflow_runtime_new(&opts, &err);
    cr_assert_not_null(rt, "%s", err.message);
    cr_assert_eq(vflow_runtime_add_plugin_info(rt, &info, "test", &err), 0,
                 "%s", err.message);
    return rt;
}

/* Writes `vol` to `path` through the nifti_save stage. */
static inline int save_via_stage(vflow_runtime *rt, vflow_volume *vol,
                                 const char *path, const char *version,
                                 vflow_error *err)
{
    vflow_stage *st = vflow_stage_new(rt, &vflow_stage_nifti_save, err);
    cr_assert_not_null(st, "%s", err->message);
    int rc = vflow_stage_set_param(st, "path", path, err);
    if (rc == 0 && version != NULL)
        rc = vflow_stage_set_param(st, "version", version, err);
    if (rc == 0)
        rc = vflow_stage_set_input(st, "volume", &vol->base, err);
    if (rc == 0)
        rc = vflow_stage_run(st, err);
    vflow_stage_free(st);
    return rc;
}

/* Reads `path` through the nifti_load stage; *out is transfer full. */
static inline int load_via_stage(vflow_runtime *rt, const char *path,
                                 vflow_volume **out, vflow_error *err)
{
    *out = NULL;
    vflow_stage *st = vflow_stage_new(rt, &vflow_stage_nifti_load, err);
    cr_assert_not_null(st, "%s", err->message);
    int rc = vflow_stage_set_param(st, "path", path, err);
    if (rc == 0)
        rc = vflow_stage_run(st, err);
    if (rc == 0) {
        vflow_volume *v = VFLOW_VOLUME(vflow_stage_output(st, "volume"));
        cr_assert_not_null(v);
        *out = (vflow_volume *)vflow_object_retain(&v->base);
    }
    vflow_stage_free(st);
    return rc;
}

/* Reads a whole file into memory; *len gets its size. */
static inline unsigned char *file_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc(n > 0 ? (size_t)n : 1);
    cr_assert_not_null(buf);
    cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static inline void file_spit(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "cannot create %s", path);
    cr_assert_eq(fwrite(data, 1, len, f), len);
    cr_assert_eq(fclose(f), 0);
}

#endif
