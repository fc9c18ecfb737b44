/* SPDX-License-Identifier: BSD-3-Clause */
/* The vflow command line: dispatches subcommands, owns the console sinks. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"

/* ------------------------------------------------------------- console */

typedef struct console {
    bool tty;                /* stderr is a terminal: draw a bar */
    bool quiet;
    bool bar_open;           /* a bar line is on screen without newline */
    char last_stage[64];
    int last_step;           /* plain mode: last quarter printed */
} console;

static console con;

void vflow_cli_progress_end(void)
{
    if (con.bar_open) {
        fputs("\r\033[K", stderr);
        con.bar_open = false;
    }
}

static void log_sink(void *user, vflow_log_level level, const char *stage,
                     const char *text)
{
    (void)user;
    static const char *names[] = {"error", "warning", "info", "debug"};
    vflow_cli_progress_end();
    if (stage != NULL)
        fprintf(stderr, "vflow: %s: [%s] %s\n", names[level], stage, text);
    else
        fprintf(stderr, "vflow: %s: %s\n", names[level], text);
}

/* Draws "stage [######....]  45%" on a terminal, plain lines elsewhere. */
static void progress_sink(void *user, const char *stage, double f)
{
    (void)user;
    if (con.quiet)
        return;
    const char *name = stage != NULL ? stage : "?";
    bool same = strcmp(con.last_stage, name) == 0;
    /* The stage and the scheduler may both report the end. */
    if (same && con.last_step >= 4 && f >= 1.0)
        return;
    con.last_step = f >= 1.0 ? 4 : same ? con.last_step : -1;
    if (con.tty) {
        enum { WIDTH = 30 };
        int fill = (int)(f * WIDTH + 0.5);
        fprintf(stderr, "\r\033[K%-24.24s [", name);
        for (int i = 0; i < WIDTH; i++)
            fputc(i < fill ? '#' : '.', stderr);
        fprintf(stderr, "] %3d%%", (int)(f * 100 + 0.5));
        con.bar_open = true;
        if (f >= 1.0) {
            fputc('\n', stderr);
            con.bar_open = false;
        }
        fflush(stderr);
    } else {
        int step = (int)(f * 4); /* start, 25/50/75 %, done */
        if (f < 1.0 && step <= con.last_step)
            return;
        if (f >= 1.0)
            fprintf(stderr, "vflow: %s: done\n", name);
        else if (f <= 0.0)
            fprintf(stderr, "vflow: %s: started\n", name);
        else
            fprintf(stderr, "vflow: %s: %d%%\n", name, step * 25);
        con.last_step = step;
    }
    snprintf(con.last_stage, sizeof con.last_stage, "%s", name);
}

void vflow_cli_error(const char *fmt, ...)
{
    vflow_cli_progress_end();
    va_list ap;
    va_start(ap, fmt);
    fputs("vflow: error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

vflow_runtime *vflow_cli_runtime(const vflow_cli_options *o, int *exit_code)
{
    con.tty = isatty(STDERR_FILENO) != 0 && getenv("TERM") != NULL &&
              strcmp(getenv("TERM"), "dumb") != 0;
    con.quiet = o->quiet;
    vflow_runtime_options ro = {
        .threads = o->threads,
        .log_level = o->verbose ? VFLOW_LOG_DEBUG
                     : o->quiet ? VFLOW_LOG_WARN
                                : VFLOW_LOG_INFO,
        .log_sink = log_sink,
        .progress_sink = o->quiet ? NULL : progress_sink,
        .sink_user = NULL,
    };
    vflow_error err;
    vflow_error_clear(&err);
    vflow_runtime *rt = vflow_runtime_new(&ro, &err);
    if (rt == NULL) {
        vflow_cli_error("%s", err.message);
        *exit_code = VFLOW_EXIT_RUNTIME;
        return NULL;
    }
    if (vflow_runtime_add_default_plugins(rt, &err) < 0) {
        if (o->plugins_lenient) {
            fprintf(stderr, "vflow: warning: %s\n", err.message);
        } else {
            vflow_cli_error("%s", err.message);
            vflow_runtime_free(rt);
            *exit_code = VFLOW_EXIT_USAGE;
            return NULL;
        }
    }
    *exit_code = VFLOW_EXIT_OK;
    return rt;
}

/* ---------------------------------------------------------------- help */

static void print_usage(FILE *out)
{
    fputs(
        "usage: vflow COMMAND [ARGS]\n"
        "\n"
        "Vessel-geometry pipelines from YAML graphs of plugin stages.\n"
        "\n"
        "commands:\n"
        "  run PIPELINE      run a pipeline, write its outputs and "
        "report.json\n"
        "  check PIPELINE    validate a pipeline without running it\n"
        "  graph PIPELINE    print the wiring as Graphviz DOT\n"
        "  plugins [NAME]    list stages, or one stage's ports and "
        "parameters\n"
        "  phantom ...       generate synthetic test volumes\n"
        "  eval ...          compare results with a ground truth\n"
        "  serve ...         run pipelines behind a local server\n"
        "  help [COMMAND]    this text, or a command's help\n"
        "  --version         print the version\n"
        "\n"
        "Run 'vflow COMMAND --help' for a command's options.\n"
        "\n"
        "exit codes:\n"
        "  0  success\n"
        "  1  runtime failure: a stage or an output writer failed\n"
        "  2  usage error or invalid pipeline (what 'vflow check' "
        "reports)\n"
        "  3  input file problem: the pipeline file or an input file is\n"
        "     missing or unreadable\n"
        "\n"
        "environment:\n"
        "  VFLOW_PLUGIN_PATH  colon-separated extra plugin directories\n",
        out);
}

static int dispatch_external(const char *name,
                             int (*fn)(int, char **), int argc, char **argv)
{
    if (fn == NULL) {
        vflow_cli_error("'%s' is not built into this vflow", name);
        return VFLOW_EXIT_USAGE;
    }
    return fn(argc, argv);
}

/* Runs subcommand `cmd` with argv[0] = cmd; -1 if there is none. */
static int run_command(const char *cmd, int argc, char **argv)
{
    if (strcmp(cmd, "run") == 0)
        return vflow_cmd_run(argc, argv);
    if (strcmp(cmd, "check") == 0)
        return vflow_cmd_check(argc, argv);
    if (strcmp(cmd, "graph") == 0)
        return vflow_cmd_graph(argc, argv);
    if (strcmp(cmd, "plugins") == 0)
        return vflow_cmd_plugins(argc, argv);
    if (strcmp(cmd, "phantom") == 0)
        return dispatch_external(cmd, vflow_cmd_phantom, argc, argv);
    if (strcmp(cmd, "eval") == 0)
        return dispatch_external(cmd, vflow_cmd_eval, argc, argv);
    if (strcmp(cmd, "serve") == 0)
        return dispatch_external(cmd, vflow_cmd_serve, argc, argv);
    return -1;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_usage(stderr);
        return VFLOW_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        printf("vflow %s (plugin ABI %d.%d)\n", vflow_version(),
               VFLOW_ABI_MAJOR, VFLOW_ABI_MINOR);
        return VFLOW_EXIT_OK;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 ||
        strcmp(cmd, "-h") == 0) {
        if (argc >= 3 && strcmp(cmd, "help") == 0) {
            char *help_argv[] = {argv[2], (char *)"--help", NULL};
            int rc = run_command(argv[2], 2, help_argv);
            if (rc >= 0)
                return rc;
            vflow_cli_error("unknown command '%s'", argv[2]);
            return VFLOW_EXIT_USAGE;
        }
        print_usage(stdout);
        return VFLOW_EXIT_OK;
    }
    int rc = run_command(cmd, argc - 1, argv + 1);
    if (rc >= 0)
        return rc;
    vflow_cli_error("unknown command '%s' (try 'vflow help')", cmd);
    return VFLOW_EXIT_USAGE;
}
