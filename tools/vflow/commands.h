/* SPDX-License-Identifier: BSD-3-Clause */
/* The vflow subcommands and the helpers they share. */
#ifndef VFLOW_TOOLS_COMMANDS_H
#define VFLOW_TOOLS_COMMANDS_H

#include <stdbool.h>

#include "vflow/runtime.h"

/*
 * Exit codes of every vflow command (documented in `vflow help`).
 */
enum vflow_exit {
    VFLOW_EXIT_OK = 0,       /* success */
    VFLOW_EXIT_RUNTIME = 1,  /* a stage or a writer failed while running */
    VFLOW_EXIT_USAGE = 2,    /* bad command line or invalid pipeline */
    VFLOW_EXIT_INPUT = 3     /* pipeline or input file missing/unreadable */
};

/*
 * Subcommands built in other tools/ folders. Each receives argv with
 * argv[0] = the subcommand name ("phantom") and returns an exit code.
 * Weak: a vflow built without them says "not built".
 */
int vflow_cmd_phantom(int argc, char **argv) __attribute__((weak));
int vflow_cmd_eval(int argc, char **argv) __attribute__((weak));
int vflow_cmd_serve(int argc, char **argv) __attribute__((weak));

/*
 * Defined in libvflow (core/graph.c), not part of the public API: loads a
 * pipeline for drawing, allowing inputs without a value.
 */
vflow_pipeline *vflow_pipeline_load_wiring(vflow_runtime *rt,
                                           const char *path,
                                           const char *const *overrides,
                                           size_t n_overrides,
                                           vflow_error *err);

/* cmd_run.c: run, check, graph. */
int vflow_cmd_run(int argc, char **argv);
int vflow_cmd_check(int argc, char **argv);
int vflow_cmd_graph(int argc, char **argv);
/* cmd_plugins.c */
int vflow_cmd_plugins(int argc, char **argv);

/* main.c: shared by the commands. */
typedef struct vflow_cli_options {
    unsigned threads;        /* 0: all cores */
    bool quiet;              /* no progress, warnings and errors only */
    bool verbose;            /* debug logs */
    bool plugins_lenient;    /* registry errors are warnings (plugins) */
} vflow_cli_options;

/*
 * A runtime with the CLI's log and progress sinks and the default plugins.
 * NULL after printing the error; *exit_code says which.
 */
vflow_runtime *vflow_cli_runtime(const vflow_cli_options *o, int *exit_code);
/* Prints "vflow: error: <message>" to stderr. */
void vflow_cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Ends a progress bar line on stderr, if one is drawn. */
void vflow_cli_progress_end(void);

#endif
