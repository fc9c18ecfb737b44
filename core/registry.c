/* SPDX-License-Identifier: BSD-3-Clause */
/* Plugin registry: discovery, dlopen, ABI checks, lookups and help text. */
#include <dirent.h>
#include <dlfcn.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#ifndef VFLOW_BUILD_ROOT
#define VFLOW_BUILD_ROOT ""
#endif
#ifndef VFLOW_INSTALL_PLUGIN_DIR
#define VFLOW_INSTALL_PLUGIN_DIR "/usr/local/lib/vflow/plugins"
#endif

/* Defined by the vflow binary of a static build (tools/gen_builtin.py). */
extern const vflow_plugin_entry_fn vflow_builtin_plugin_entries[]
    __attribute__((weak));

static long find_entry(const vflow_runtime *rt, const char *name)
{
    for (size_t i = 0; i < rt->n_entries; i++)
        if (strcmp(rt->entries[i].desc->name, name) == 0)
            return (long)i;
    return -1;
}

/* Checks a whole module before registering any of its stages, so a bad
 * module leaves the registry unchanged. */
static int check_info(const vflow_runtime *rt, const vflow_plugin_info *info,
                      const char *origin, vflow_error *err)
{
    if (info == NULL)
        return vflow_error_set(err, VFLOW_EABI, "%s: the plugin entry point "
                               "returned NULL", origin);
    if (info->abi_major != VFLOW_ABI_MAJOR || info->abi_minor > VFLOW_ABI_MINOR)
        return vflow_error_set(err, VFLOW_EABI, "%s: plugin '%s' was built for "
                               "vflow ABI %u.%u, this runtime provides ABI "
                               "%d.%d; rebuild the plugin against this vflow",
                               origin, info->module_name ? info->module_name
                                                         : "?",
                               info->abi_major, info->abi_minor,
                               VFLOW_ABI_MAJOR, VFLOW_ABI_MINOR);
    if (info->n_stages > 0 && info->stages == NULL)
        return vflow_error_set(err, VFLOW_EABI, "%s: plugin declares %zu "
                               "stages but no table", origin, info->n_stages);
    for (size_t i = 0; i < info->n_stages; i++) {
        const vflow_stage_desc *d = info->stages[i];
        int rc = vflow_desc_validate(d, origin, err);
        if (rc != 0)
            return rc;
        long other = find_entry(rt, d->name);
        if (other >= 0)
            return vflow_error_set(err, VFLOW_EINVAL, "two plugins provide a "
                                   "stage named '%s': %s and %s; remove one "
                                   "or change VFLOW_PLUGIN_PATH", d->name,
                                   rt->entries[other].origin, origin);
        for (size_t j = 0; j < i; j++)
            if (strcmp(info->stages[j]->name, d->name) == 0)
                return vflow_error_set(err, VFLOW_EINVAL, "%s: stage '%s' is "
                                       "listed twice", origin, d->name);
    }
    return 0;
}

int vflow_runtime_add_plugin_info(vflow_runtime *rt,
                                  const vflow_plugin_info *info,
                                  const char *origin, vflow_error *err)
{
    int rc = check_info(rt, info, origin, err);
    if (rc != 0)
        return rc;
    vflow_registry_entry *grown = realloc(
        rt->entries, (rt->n_entries + info->n_stages) * sizeof *grown);
    if (grown == NULL && rt->n_entries + info->n_stages > 0)
        return vflow_error_set(err, VFLOW_ENOMEM, "out of memory registering "
                               "%s", origin);
    rt->entries = grown;
    for (size_t i = 0; i < info->n_stages; i++) {
        char *copy = strdup(origin);
        if (copy == NULL)
            return vflow_error_set(err, VFLOW_ENOMEM, "out of memory");
        rt->entries[rt->n_entries].desc = info->stages[i];
        rt->entries[rt->n_entries].origin = copy;
        rt->n_entries++;
    }
    return 0;
}

static int keep_handle(vflow_runtime *rt, void *handle, vflow_error *err)
{
    void **grown = realloc(rt->dl_handles,
                           (rt->n_handles + 1) * sizeof *grown);
    if (grown == NULL)
        return vflow_error_set(err, VFLOW_ENOMEM, "out of memory");
    rt->dl_handles = grown;
    rt->dl_handles[rt->n_handles++] = handle;
    return 0;
}

int vflow_runtime_add_plugin_file(vflow_runtime *rt, const char *path,
                                  vflow_error *err)
{
    void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (handle == NULL)
        return vflow_error_set(err, VFLOW_EIO, "cannot load plugin %s: %s",
                               path, dlerror());
    dlerror();
    vflow_plugin_entry_fn entry;
    *(void **)&entry = dlsym(handle, VFLOW_PLUGIN_ENTRY_SYMBOL);
    if (entry == NULL) {
        dlclose(handle);
        return vflow_error_set(err, VFLOW_EABI, "%s is not a vflow plugin: it "
                               "does not export %s() (define it with "
                               "VFLOW_PLUGIN_DEFINE in module.c)", path,
                               VFLOW_PLUGIN_ENTRY_SYMBOL);
    }
    int rc = vflow_runtime_add_plugin_info(rt, entry(), path, err);
    if (rc == 0)
        rc = keep_handle(rt, handle, err);
    if (rc != 0)
        dlclose(handle);
    return rc;
}

static bool has_suffix(const char *s, const char *suffix)
{
    size_t ls = strlen(s), lx = strlen(suffix);
    return ls >= lx && strcasecmp(s + ls - lx, suffix) == 0;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Collects *.so paths in dir (and one level down when depth > 0). */
static int collect_modules(const char *dir, int depth, char ***paths,
                           size_t *n)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return 0;
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat sb;
        if (stat(path, &sb) != 0)
            continue;
        if (S_ISDIR(sb.st_mode) && depth > 0) {
            rc = collect_modules(path, depth - 1, paths, n);
        } else if (S_ISREG(sb.st_mode) && has_suffix(e->d_name, ".so")) {
            char **grown = realloc(*paths, (*n + 1) * sizeof *grown);
            char *copy = strdup(path);
            if (grown == NULL || copy == NULL) {
                free(copy);
                if (grown != NULL)
                    *paths = grown;
                rc = VFLOW_ENOMEM;
                break;
            }
            *paths = grown;
            (*paths)[(*n)++] = copy;
        }
    }
    closedir(d);
    return rc;
}

int vflow_runtime_add_plugin_dir(vflow_runtime *rt, const char *dir,
                                 vflow_error *err)
{
    char **paths = NULL;
    size_t n = 0;
    int first = collect_modules(dir, 1, &paths, &n);
    if (first != 0)
        vflow_error_set(err, first, "out of memory scanning %s", dir);
    /* Sorted, so the order (and which duplicate is reported) is stable. */
    if (n > 1)
        qsort(paths, n, sizeof *paths, compare_names);
    for (size_t i = 0; i < n; i++) {
        vflow_error local;
        vflow_error_clear(&local);
        int rc = vflow_runtime_add_plugin_file(rt, paths[i], &local);
        if (rc != 0) {
            vflow_runtime_log(rt, VFLOW_LOG_WARN, NULL, "%s", local.message);
            if (first == 0) {
                first = rc;
                if (err != NULL)
                    *err = local;
            }
        }
        free(paths[i]);
    }
    free(paths);
    return first;
}

/* True when the running program lives inside the build tree. */
static bool running_from_build_tree(void)
{
    if (VFLOW_BUILD_ROOT[0] == '\0')
        return false;
    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len <= 0)
        return false;
    exe[len] = '\0';
    size_t root = strlen(VFLOW_BUILD_ROOT);
    return strncmp(exe, VFLOW_BUILD_ROOT, root) == 0 && exe[root] == '/';
}

static int add_path_list(vflow_runtime *rt, const char *list, vflow_error *err)
{
    char *copy = strdup(list);
    if (copy == NULL)
        return vflow_error_set(err, VFLOW_ENOMEM, "out of memory");
    int first = 0;
    char *save = NULL;
    for (char *dir = strtok_r(copy, ":", &save); dir != NULL;
         dir = strtok_r(NULL, ":", &save)) {
        vflow_error local;
        vflow_error_clear(&local);
        int rc = vflow_runtime_add_plugin_dir(rt, dir, &local);
        if (rc != 0 && first == 0) {
            first = rc;
            if (err != NULL)
                *err = local;
        }
    }
    free(copy);
    return first;
}

int vflow_runtime_add_default_plugins(vflow_runtime *rt, vflow_error *err)
{
    int first = 0;
    vflow_error local;
    vflow_error_clear(&local);
    if (vflow_builtin_plugin_entries != NULL) {
        for (size_t i = 0; vflow_builtin_plugin_entries[i] != NULL; i++) {
            int rc = vflow_runtime_add_plugin_info(
                rt, vflow_builtin_plugin_entries[i](), "built-in", &local);
            if (rc != 0 && first == 0) {
                first = rc;
                if (err != NULL)
                    *err = local;
            }
        }
    } else {
        const char *dir = running_from_build_tree()
                              ? VFLOW_BUILD_ROOT "/plugins"
                              : VFLOW_INSTALL_PLUGIN_DIR;
        int rc = vflow_runtime_add_plugin_dir(rt, dir, &local);
        if (rc != 0 && first == 0) {
            first = rc;
            if (err != NULL)
                *err = local;
        }
    }
    const char *env = getenv("VFLOW_PLUGIN_PATH");
    if (env != NULL && *env != '\0') {
        vflow_error_clear(&local);
        int rc = add_path_list(rt, env, &local);
        if (rc != 0 && first == 0) {
            first = rc;
            if (err != NULL)
                *err = local;
        }
    }
    return first;
}

size_t vflow_runtime_stage_count(const vflow_runtime *rt)
{
    return rt->n_entries;
}

const vflow_stage_desc *vflow_runtime_stage_at(const vflow_runtime *rt,
                                               size_t index)
{
    return index < rt->n_entries ? rt->entries[index].desc : NULL;
}

const char *vflow_runtime_stage_origin(const vflow_runtime *rt, size_t index)
{
    return index < rt->n_entries ? rt->entries[index].origin : NULL;
}

const vflow_stage_desc *vflow_runtime_find_stage(const vflow_runtime *rt,
                                                 const char *name)
{
    long i = find_entry(rt, name);
    return i >= 0 ? rt->entries[i].desc : NULL;
}

const char *vflow_runtime_suggest_stage(const vflow_runtime *rt,
                                        const char *name)
{
    const char **names = malloc((rt->n_entries + 1) * sizeof *names);
    if (names == NULL)
        return NULL; /* a hint is optional */
    for (size_t i = 0; i < rt->n_entries; i++)
        names[i] = rt->entries[i].desc->name;
    const char *best = vflow_suggest(name, names, rt->n_entries);
    free(names);
    return best;
}

/* Length of the longest extension of `d` matching `path`, 0 if none. */
static size_t extension_match(const vflow_stage_desc *d, const char *path)
{
    size_t best = 0;
    for (size_t i = 0; d->extensions != NULL && d->extensions[i] != NULL; i++)
        if (has_suffix(path, d->extensions[i]) &&
            strlen(d->extensions[i]) > best)
            best = strlen(d->extensions[i]);
    return best;
}

static const vflow_stage_desc *find_io_stage(const vflow_runtime *rt,
                                             const char *path, unsigned flag,
                                             vflow_type_id type)
{
    const vflow_stage_desc *best = NULL;
    size_t best_len = 0;
    for (size_t i = 0; i < rt->n_entries; i++) {
        const vflow_stage_desc *d = rt->entries[i].desc;
        if (!(d->flags & flag))
            continue;
        if (flag == VFLOW_STAGE_WRITER && type != VFLOW_TYPE_NONE &&
            d->inputs[0].type != type)
            continue;
        size_t len = extension_match(d, path);
        if (len > best_len) {
            best_len = len;
            best = d;
        }
    }
    return best;
}

const vflow_stage_desc *vflow_runtime_find_writer(const vflow_runtime *rt,
                                                  const char *path,
                                                  vflow_type_id type)
{
    return find_io_stage(rt, path, VFLOW_STAGE_WRITER, type);
}

const vflow_stage_desc *vflow_runtime_find_reader(const vflow_runtime *rt,
                                                  const char *path)
{
    return find_io_stage(rt, path, VFLOW_STAGE_READER, VFLOW_TYPE_NONE);
}

/* ---------------------------------------------------------------- help */

static void print_ports(const vflow_port_desc *ports, size_t n,
                        const char *title, FILE *out)
{
    fprintf(out, "\n%s:\n", title);
    if (n == 0)
        fprintf(out, "  (none)\n");
    for (size_t i = 0; i < n; i++)
        fprintf(out, "  %-16s %-9s%s %s\n", ports[i].name,
                vflow_type_name(ports[i].type),
                ports[i].optional ? " (optional)" : "",
                ports[i].doc ? ports[i].doc : "");
}

void vflow_stage_print_help(const vflow_stage_desc *d, FILE *out)
{
    fprintf(out, "%s %s — %s\n", d->name, d->version ? d->version : "",
            d->summary ? d->summary : "");
    if (d->license)
        fprintf(out, "license: %s\n", d->license);
    if (d->extensions != NULL) {
        fprintf(out, "%s for:", (d->flags & VFLOW_STAGE_WRITER) ? "writer"
                                                                 : "reader");
        for (size_t i = 0; d->extensions[i] != NULL; i++)
            fprintf(out, " %s", d->extensions[i]);
        fprintf(out, "\n");
    }
    print_ports(d->inputs, d->n_inputs, "inputs", out);
    print_ports(d->outputs, d->n_outputs, "outputs", out);
    fprintf(out, "\nparameters:\n");
    if (d->n_params == 0)
        fprintf(out, "  (none)\n");
    for (size_t i = 0; i < d->n_params; i++) {
        const vflow_param_desc *p = &d->params[i];
        fprintf(out, "  %-16s %-10s", p->name, vflow_param_kind_name(p->kind));
        if (p->required)
            fprintf(out, " required");
        else if (p->default_value != NULL)
            fprintf(out, " default %s", p->default_value);
        if (p->min <= p->max)
            fprintf(out, " range [%g, %g]", p->min, p->max);
        if (p->kind == VFLOW_PARAM_ENUM && p->choices != NULL) {
            fprintf(out, " one of");
            for (size_t c = 0; p->choices[c] != NULL; c++)
                fprintf(out, "%s%s", c ? "|" : " ", p->choices[c]);
        }
        fprintf(out, "\n      %s\n", p->doc ? p->doc : "");
    }
}
