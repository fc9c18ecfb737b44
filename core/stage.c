/* SPDX-License-Identifier: BSD-3-Clause */
/* A stage instance: private state, parameters, ports, init/run/finalize.
 * Used by pipelines and directly as a test/server harness. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

vflow_stage *vflow_stage_new(vflow_runtime *rt, const vflow_stage_desc *desc,
                             vflow_error *err)
{
    vflow_stage *st = calloc(1, sizeof *st);
    if (st == NULL)
        goto oom;
    st->rt = rt;
    st->desc = desc;
    st->priv = calloc(1, desc->priv_size ? desc->priv_size : 1);
    st->param_given = calloc(desc->n_params + 1, sizeof *st->param_given);
    st->io.desc = desc;
    st->io.inputs = calloc(desc->n_inputs + 1, sizeof *st->io.inputs);
    st->io.outputs = calloc(desc->n_outputs + 1, sizeof *st->io.outputs);
    st->io.wanted = calloc(desc->n_outputs + 1, sizeof *st->io.wanted);
    if (st->priv == NULL || st->param_given == NULL || st->io.inputs == NULL ||
        st->io.outputs == NULL || st->io.wanted == NULL) {
        vflow_stage_free(st);
        goto oom;
    }
    for (size_t i = 0; i < desc->n_outputs; i++)
        st->io.wanted[i] = true;
    vflow_stage_set_name(st, desc->name);
    st->ctx.rt = rt;
    st->ctx.stage_name = st->name;
    return st;
oom:
    vflow_error_set(err, VFLOW_ENOMEM, "out of memory creating stage '%s'",
                    desc->name);
    return NULL;
}

void vflow_stage_set_name(vflow_stage *st, const char *name)
{
    snprintf(st->name, sizeof st->name, "%s", name);
}

static const char *param_name_at(const void *table, size_t i)
{
    return ((const vflow_param_desc *)table)[i].name;
}

static const char *port_name_at(const void *table, size_t i)
{
    return ((const vflow_port_desc *)table)[i].name;
}

/* Formats " (did you mean 'x'?)" for the closest name in a table. */
static void hint_for(const char *name, const void *table, size_t n,
                     const char *(*name_at)(const void *, size_t), char *buf,
                     size_t size)
{
    buf[0] = '\0';
    const char *names[64];
    size_t m = n < 64 ? n : 64;
    for (size_t i = 0; i < m; i++)
        names[i] = name_at(table, i);
    const char *best = vflow_suggest(name, names, m);
    if (best != NULL)
        snprintf(buf, size, " (did you mean '%s'?)", best);
}

int vflow_stage_set_param(vflow_stage *st, const char *name,
                          const char *value, vflow_error *err)
{
    long i = vflow_desc_find_param(st->desc, name);
    if (i < 0) {
        char hint[96];
        hint_for(name, st->desc->params, st->desc->n_params, param_name_at,
                 hint, sizeof hint);
        return vflow_error_set(err, VFLOW_ENOENT, "stage '%s' has no parameter "
                               "'%s'%s", st->desc->name, name, hint);
    }
    int rc = vflow_param_parse(&st->desc->params[i], value, st->priv, err);
    if (rc == 0)
        st->param_given[i] = true;
    return rc;
}

int vflow_stage_set_input(vflow_stage *st, const char *name,
                          vflow_object *obj, vflow_error *err)
{
    long i = vflow_desc_find_input(st->desc, name);
    if (i < 0) {
        char hint[96];
        hint_for(name, st->desc->inputs, st->desc->n_inputs, port_name_at,
                 hint, sizeof hint);
        return vflow_error_set(err, VFLOW_ENOENT, "stage '%s' has no input "
                               "'%s'%s", st->desc->name, name, hint);
    }
    vflow_type_id want = st->desc->inputs[i].type;
    if (obj != NULL && obj->type->id != want)
        return vflow_error_set(err, VFLOW_ETYPE, "input '%s' of stage '%s' "
                               "expects %s, got %s", name, st->desc->name,
                               vflow_type_name(want), obj->type->name);
    vflow_object_retain(obj);
    vflow_object_release(st->io.inputs[i]);
    st->io.inputs[i] = obj;
    return 0;
}

int vflow_stage_prepare(vflow_stage *st, vflow_error *err)
{
    if (st->defaults_applied)
        return 0;
    for (size_t i = 0; i < st->desc->n_params; i++) {
        const vflow_param_desc *pd = &st->desc->params[i];
        if (st->param_given[i])
            continue;
        if (pd->required)
            return vflow_error_set(err, VFLOW_EINVAL, "stage '%s': required "
                                   "parameter '%s' is not set (%s)",
                                   st->desc->name, pd->name,
                                   pd->doc ? pd->doc : "no description");
        if (pd->default_value == NULL)
            continue;
        int rc = vflow_param_parse(pd, pd->default_value, st->priv, err);
        if (rc != 0)
            return vflow_error_prefix(err, "stage '%s': default of ",
                                      st->desc->name);
    }
    st->defaults_applied = true;
    return 0;
}

void vflow_stage_set_wanted(vflow_stage *st, size_t index, bool wanted)
{
    if (index < st->desc->n_outputs)
        st->io.wanted[index] = wanted;
}

void vflow_stage_clear_outputs(vflow_stage *st)
{
    for (size_t i = 0; i < st->desc->n_outputs; i++) {
        vflow_object_release(st->io.outputs[i]);
        st->io.outputs[i] = NULL;
    }
}

int vflow_stage_run(vflow_stage *st, vflow_error *err)
{
    int rc = vflow_stage_prepare(st, err);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < st->desc->n_inputs; i++)
        if (st->io.inputs[i] == NULL && !st->desc->inputs[i].optional)
            return vflow_error_set(err, VFLOW_EINVAL, "stage '%s': required "
                                   "input '%s' (%s) is not connected",
                                   st->desc->name, st->desc->inputs[i].name,
                                   vflow_type_name(st->desc->inputs[i].type));
    /* Deterministic stages: reuse a cached result when the runtime has a
     * cache (cache.c); on a miss the key is kept to store the outputs. */
    vflow_cache_key key;
    int cached = vflow_cache_lookup(st, &key);
    st->last_cached = cached == 1;
    if (cached == 1) {
        vflow_error_clear(err);
        return 0;
    }
    if (!st->initialized) {
        if (st->desc->init != NULL &&
            (rc = st->desc->init(st->priv, &st->ctx, err)) != 0)
            return rc < 0 ? rc : VFLOW_EINTERNAL;
        st->initialized = true;
    }
    vflow_stage_clear_outputs(st);
    st->ctx.last_progress = 0.0;
    vflow_error_clear(err);
    rc = st->desc->run(st->priv, &st->ctx, &st->io, err);
    if (rc > 0)
        rc = VFLOW_EINTERNAL; /* plugins must return 0 or a negative code */
    if (rc != 0) {
        if (err != NULL && err->code == 0)
            vflow_error_set(err, rc, "stage '%s' failed (%s) without a "
                            "message", st->desc->name,
                            vflow_error_code_name(rc));
        vflow_stage_clear_outputs(st);
        return rc;
    }
    if (cached == 0)
        vflow_cache_store(st, &key);
    return 0;
}

vflow_object *vflow_stage_output(vflow_stage *st, const char *name)
{
    long i = vflow_desc_find_output(st->desc, name);
    return i >= 0 ? st->io.outputs[i] : NULL;
}

void vflow_stage_free(vflow_stage *st)
{
    if (st == NULL)
        return;
    if (st->io.inputs != NULL)
        for (size_t i = 0; i < st->desc->n_inputs; i++)
            vflow_object_release(st->io.inputs[i]);
    if (st->io.outputs != NULL)
        vflow_stage_clear_outputs(st);
    if (st->priv != NULL) {
        if (st->desc->finalize != NULL)
            st->desc->finalize(st->priv);
        vflow_params_free_strings(st->desc, st->priv);
    }
    free(st->priv);
    free(st->param_given);
    free(st->io.inputs);
    free(st->io.outputs);
    free(st->io.wanted);
    free(st);
}

/* ------------------------------------------------------------ vflow_io */

vflow_object *vflow_io_input(vflow_io *io, const char *name)
{
    long i = vflow_desc_find_input(io->desc, name);
    return i >= 0 ? io->inputs[i] : NULL;
}

#define IO_TYPED(fn, ctype, macro)                                            \
    ctype *fn(vflow_io *io, const char *name)                                 \
    {                                                                         \
        return macro(vflow_io_input(io, name));                               \
    }
IO_TYPED(vflow_io_volume, vflow_volume, VFLOW_VOLUME)
IO_TYPED(vflow_io_points, vflow_points, VFLOW_POINTS)
IO_TYPED(vflow_io_polyline, vflow_polyline, VFLOW_POLYLINE)
IO_TYPED(vflow_io_sections, vflow_sections, VFLOW_SECTIONS)
IO_TYPED(vflow_io_contours, vflow_contours, VFLOW_CONTOURS)
IO_TYPED(vflow_io_mesh, vflow_mesh, VFLOW_MESH)
IO_TYPED(vflow_io_table, vflow_table, VFLOW_TABLE)

int vflow_io_set_output(vflow_io *io, const char *name, vflow_object *obj)
{
    long i = vflow_desc_find_output(io->desc, name);
    if (i < 0) {
        vflow_object_release(obj);
        return VFLOW_ENOENT;
    }
    if (obj != NULL && obj->type->id != io->desc->outputs[i].type) {
        vflow_object_release(obj);
        return VFLOW_ETYPE;
    }
    vflow_object_release(io->outputs[i]);
    io->outputs[i] = obj;
    return 0;
}

bool vflow_io_output_wanted(vflow_io *io, const char *name)
{
    long i = vflow_desc_find_output(io->desc, name);
    return i >= 0 && io->wanted[i];
}
