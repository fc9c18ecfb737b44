/* SPDX-License-Identifier: BSD-3-Clause */
/* vflow run / check / graph: load a pipeline, then run, validate or draw it. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"

typedef enum pipeline_cmd { CMD_RUN, CMD_CHECK, CMD_GRAPH } pipeline_cmd;

typedef struct run_args {
    const char *pipeline;
    const char **sets;
    size_t n_sets;
    const char *out_dir;
    bool profile;
    bool help;
    vflow_cli_options cli;
} run_args;

static const char *const cmd_names[] = {"run", "check", "graph"};

static void print_help(pipeline_cmd cmd, FILE *out)
{
    static const char *const what[] = {
        "Runs PIPELINE: validates the whole graph, runs the stages in\n"
        "dependency order, writes each output atomically (temporary file +\n"
        "rename) into the output directory together with report.json, and\n"
        "prints where the outputs went and the measures of the run.",
        "Validates PIPELINE without running it: YAML syntax, plugins,\n"
        "ports, parameters and their ranges, wire types, cycles, required\n"
        "inputs, output writers. Errors name file:line:column; the\n"
        "stages' and outputs' errors are listed all at once, one a line.",
        "Prints the wiring of PIPELINE as Graphviz DOT (stage boxes, port\n"
        "names on the edges, output files as notes). Inputs need no value\n"
        "here; everything else is checked as by 'vflow check':\n"
        "  vflow graph pipelines/lad.yaml | dot -Tsvg > lad.svg"};
    fprintf(out, "usage: vflow %s PIPELINE [--set NAME=VALUE]...%s\n\n%s\n\n",
            cmd_names[cmd],
            cmd == CMD_RUN ? " [--out DIR] [--profile] [--quiet] "
                             "[--threads N]"
                           : "",
            what[cmd]);
    fputs("options:\n"
          "  --set NAME=VALUE        set a pipeline input "
          "(--set image=ct.nii.gz,\n"
          "                          --set start=12.5,-30,80.2, "
          "--set end=vox:120,88,40)\n"
          "  --set STAGE.params.P=V  set a stage parameter "
          "(--set arrival.params.order=1)\n"
          "  --set STAGE.plugin=NAME swap a stage's plugin "
          "(--set arrival.plugin=dijkstra)\n"
          "  --set STAGE.in.PORT=S.P rewire an input port\n",
          out);
    if (cmd == CMD_RUN)
        fputs("  -o, --out DIR           output directory (default: the "
              "pipeline's out_dir)\n"
              "  --profile               print per-stage wall time and "
              "memory\n"
              "  -q, --quiet             no progress, warnings and errors "
              "only\n"
              "  -v, --verbose           debug logging\n"
              "  -j, --threads N         worker threads (default: all "
              "cores)\n",
              out);
    fputs("  -h, --help              this help\n\n"
          "exit codes: 0 success, 1 a stage or writer failed while running,\n"
          "2 usage error or invalid pipeline, 3 pipeline or input file "
          "missing or unreadable\n",
          out);
}

/* Value of an option given as "--opt VALUE" or "--opt=VALUE". */
static const char *option_value(int argc, char **argv, int *i,
                                const char *lng, const char *shrt)
{
    const char *a = argv[*i];
    size_t n = strlen(lng);
    if (strncmp(a, lng, n) == 0 && a[n] == '=')
        return a + n + 1;
    if (strcmp(a, lng) != 0 && (shrt == NULL || strcmp(a, shrt) != 0))
        return NULL;
    if (*i + 1 >= argc) {
        vflow_cli_error("%s needs a value", lng);
        return "";
    }
    return argv[++*i];
}

static int parse_args(pipeline_cmd cmd, int argc, char **argv, run_args *a)
{
    memset(a, 0, sizeof *a);
    a->sets = calloc((size_t)argc, sizeof *a->sets);
    if (a->sets == NULL)
        return VFLOW_EXIT_RUNTIME;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *v;
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            a->help = true;
        } else if ((v = option_value(argc, argv, &i, "--set", NULL))) {
            if (*v == '\0')
                return VFLOW_EXIT_USAGE;
            a->sets[a->n_sets++] = v;
        } else if (cmd == CMD_RUN &&
                   (v = option_value(argc, argv, &i, "--out", "-o"))) {
            if (*v == '\0')
                return VFLOW_EXIT_USAGE;
            a->out_dir = v;
        } else if (cmd == CMD_RUN &&
                   (v = option_value(argc, argv, &i, "--threads", "-j"))) {
            char *end;
            errno = 0;
            long n = strtol(v, &end, 10);
            if (*v == '\0' || *end != '\0' || n < 0 || n > 1024 || errno) {
                vflow_cli_error("--threads expects a number 0..1024, got "
                                "'%s'", v);
                return VFLOW_EXIT_USAGE;
            }
            a->cli.threads = (unsigned)n;
        } else if (cmd == CMD_RUN && strcmp(arg, "--profile") == 0) {
            a->profile = true;
        } else if (strcmp(arg, "-q") == 0 || strcmp(arg, "--quiet") == 0) {
            a->cli.quiet = true;
        } else if (strcmp(arg, "-v") == 0 || strcmp(arg, "--verbose") == 0) {
            a->cli.verbose = true;
        } else if (arg[0] == '-' && arg[1] != '\0') {
            vflow_cli_error("unknown option '%s' for 'vflow %s' (see "
                            "'vflow %s --help')", arg, cmd_names[cmd],
                            cmd_names[cmd]);
            return VFLOW_EXIT_USAGE;
        } else if (a->pipeline == NULL) {
            a->pipeline = arg;
        } else {
            vflow_cli_error("more than one pipeline given ('%s' and '%s')",
                            a->pipeline, arg);
            return VFLOW_EXIT_USAGE;
        }
    }
    if (!a->help && a->pipeline == NULL) {
        vflow_cli_error("no pipeline given (usage: vflow %s PIPELINE ...)",
                        cmd_names[cmd]);
        return VFLOW_EXIT_USAGE;
    }
    return VFLOW_EXIT_OK;
}

/* Load failures: unreadable files are input problems, the rest usage. */
static int load_exit_code(const vflow_error *err)
{
    return err->code == VFLOW_EIO ? VFLOW_EXIT_INPUT : VFLOW_EXIT_USAGE;
}

static vflow_runtime *volatile interrupt_rt;

static void on_interrupt(int sig)
{
    (void)sig;
    if (interrupt_rt != NULL)
        vflow_runtime_cancel(interrupt_rt);
}

static int run_loaded(vflow_pipeline *p, const run_args *a)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_interrupt;
    sa.sa_flags = (int)SA_RESETHAND; /* a second Ctrl-C kills */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    vflow_run_options ro = {.out_dir = a->out_dir, .profile = a->profile,
                            .report = stdout};
    vflow_error err;
    vflow_error_clear(&err);
    int rc = vflow_pipeline_run(p, &ro, &err);
    vflow_cli_progress_end();
    if (rc < 0) {
        vflow_cli_error("%s", err.message);
        return VFLOW_EXIT_RUNTIME;
    }
    return VFLOW_EXIT_OK;
}

static int pipeline_command(pipeline_cmd cmd, int argc, char **argv)
{
    run_args a;
    int code = parse_args(cmd, argc, argv, &a);
    if (code != VFLOW_EXIT_OK || a.help) {
        if (a.help)
            print_help(cmd, stdout);
        free(a.sets);
        return code;
    }
    vflow_runtime *rt = vflow_cli_runtime(&a.cli, &code);
    if (rt == NULL) {
        free(a.sets);
        return code;
    }
    interrupt_rt = rt;
    vflow_error err;
    vflow_error_clear(&err);
    /* Drawing needs the wiring, not the input values. */
    vflow_pipeline *p =
        cmd == CMD_GRAPH
            ? vflow_pipeline_load_wiring(rt, a.pipeline, a.sets, a.n_sets,
                                         &err)
            : vflow_pipeline_load(rt, a.pipeline, a.sets, a.n_sets, &err);
    if (p == NULL) {
        vflow_cli_error("%s", err.message);
        code = load_exit_code(&err);
    } else if (cmd == CMD_CHECK) {
        if (!a.cli.quiet)
            printf("%s: OK\n", a.pipeline);
    } else if (cmd == CMD_GRAPH) {
        if (vflow_pipeline_write_dot(p, stdout, &err) < 0) {
            vflow_cli_error("%s", err.message);
            code = VFLOW_EXIT_RUNTIME;
        }
    } else {
        code = run_loaded(p, &a);
    }
    vflow_pipeline_free(p);
    interrupt_rt = NULL;
    vflow_runtime_free(rt);
    free(a.sets);
    return code;
}

int vflow_cmd_run(int argc, char **argv)
{
    return pipeline_command(CMD_RUN, argc, argv);
}

int vflow_cmd_check(int argc, char **argv)
{
    return pipeline_command(CMD_CHECK, argc, argv);
}

int vflow_cmd_graph(int argc, char **argv)
{
    return pipeline_command(CMD_GRAPH, argc, argv);
}
