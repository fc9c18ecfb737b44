/* SPDX-License-Identifier: BSD-3-Clause */
/* vflow plugins [NAME]: lists registered stages or describes one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"

static void print_help(FILE *out)
{
    fputs("usage: vflow plugins [NAME] [--verbose]\n\n"
          "Without NAME, lists every registered stage with its version and\n"
          "one-line summary (--verbose adds the file it came from). With\n"
          "NAME, prints the stage's input and output ports and its\n"
          "parameters (kind, default, range, units), from its descriptor.\n\n"
          "Plugins are found in the install dir (or the build tree when vflow\n"
          "runs from it), then in each dir of VFLOW_PLUGIN_PATH.\n\n"
          "exit codes: 0 success, 2 unknown stage or usage error\n",
          out);
}

static int compare_desc(const void *a, const void *b)
{
    const vflow_stage_desc *const *x = a, *const *y = b;
    return strcmp((*x)->name, (*y)->name);
}

static void list_stages(vflow_runtime *rt, bool verbose)
{
    size_t n = vflow_runtime_stage_count(rt);
    const vflow_stage_desc **sorted = calloc(n + 1, sizeof *sorted);
    if (sorted == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        sorted[i] = vflow_runtime_stage_at(rt, i);
    qsort(sorted, n, sizeof *sorted, compare_desc);
    for (size_t i = 0; i < n; i++) {
        const vflow_stage_desc *d = sorted[i];
        const char *kind = (d->flags & VFLOW_STAGE_READER)   ? " [reader]"
                           : (d->flags & VFLOW_STAGE_WRITER) ? " [writer]"
                                                             : "";
        printf("%-22s %-8s %s%s\n", d->name, d->version ? d->version : "",
               d->summary ? d->summary : "", kind);
        if (verbose)
            for (size_t j = 0; j < n; j++)
                if (vflow_runtime_stage_at(rt, j) == d)
                    printf("%-22s from %s\n", "",
                           vflow_runtime_stage_origin(rt, j));
    }
    if (n == 0)
        fputs("no plugins found (set VFLOW_PLUGIN_PATH?)\n", stderr);
    free(sorted);
}

int vflow_cmd_plugins(int argc, char **argv)
{
    const char *name = NULL;
    vflow_cli_options o = {.plugins_lenient = true, .quiet = true};
    bool verbose = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            print_help(stdout);
            return VFLOW_EXIT_OK;
        }
        if (strcmp(argv[i], "-v") == 0 || strcmp(argv[i], "--verbose") == 0) {
            verbose = true;
        } else if (argv[i][0] == '-' || name != NULL) {
            vflow_cli_error("unexpected argument '%s' (usage: vflow plugins "
                            "[NAME])", argv[i]);
            return VFLOW_EXIT_USAGE;
        } else {
            name = argv[i];
        }
    }
    int code;
    vflow_runtime *rt = vflow_cli_runtime(&o, &code);
    if (rt == NULL)
        return code;
    if (name == NULL) {
        list_stages(rt, verbose);
    } else {
        const vflow_stage_desc *d = vflow_runtime_find_stage(rt, name);
        if (d != NULL) {
            vflow_stage_print_help(d, stdout);
        } else {
            const char *best = vflow_runtime_suggest_stage(rt, name);
            if (best != NULL)
                vflow_cli_error("no stage named '%s'; did you mean '%s'?",
                                name, best);
            else
                vflow_cli_error("no stage named '%s' (see 'vflow plugins')",
                                name);
            code = VFLOW_EXIT_USAGE;
        }
    }
    vflow_runtime_free(rt);
    return code;
}
