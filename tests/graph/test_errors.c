/* SPDX-License-Identifier: BSD-3-Clause */
/* Invalid pipelines: each failure kind is refused before anything runs,
 * with file:line:column and a precise message. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "fixtures.h"

/* One invalid pipeline: YAML text, --set overrides, expected fragments
 * of the message ("@L:C" stands for "<file>:L:C"). */
typedef struct bad_case {
    const char *yaml;
    const char *sets[3];
    const char *expect[4];
} bad_case;

/* The valid base the cases below break in one place each. */
#define HEAD "vflow: 1\nname: t\nstages:\n"
#define SRC "  src:\n    plugin: make_volume\n    params: {size: 4}\n"
#define INV "  inv:\n    plugin: invert\n    in: {volume: src.volume}\n"
#define OUT "outputs:\n  out.vol: inv.volume\n"

static void expect_failure(const bad_case *c)
{
    vflow_runtime *rt = fixture_runtime(1);
    cr_assert_not_null(rt);
    vflow_error err;
    vflow_error_clear(&err);
    size_t n_sets = 0;
    while (n_sets < 3 && c->sets[n_sets] != NULL)
        n_sets++;
    vflow_pipeline *p = fixture_load(rt, c->yaml, c->sets, n_sets, &err);
    cr_assert_null(p, "pipeline should have been refused:\n%s", c->yaml);
    cr_assert_lt(err.code, 0);
    for (size_t i = 0; i < 4 && c->expect[i] != NULL; i++) {
        char want[600];
        if (c->expect[i][0] == '@')
            snprintf(want, sizeof want, "%s/p.yaml:%s:", fixture_dir(),
                     c->expect[i] + 1);
        else
            snprintf(want, sizeof want, "%s", c->expect[i]);
        cr_expect(strstr(err.message, want) != NULL,
                  "message lacks \"%s\":\n  %s", want, err.message);
    }
    vflow_runtime_free(rt);
    fixture_cleanup();
}

Test(graph_errors, valid_base_pipeline_loads)
{
    vflow_runtime *rt = fixture_runtime(1);
    vflow_error err;
    vflow_pipeline *p = fixture_load(rt, HEAD SRC INV OUT, NULL, 0, &err);
    cr_assert_not_null(p, "%s", err.message);
    vflow_pipeline_free(p);
    vflow_runtime_free(rt);
    fixture_cleanup();
}

Test(graph_errors, bad_yaml_syntax_names_libyaml_mark)
{
    /* The flow mapping on line 5 is never closed. */
    bad_case c = {HEAD "  src:\n    params: {size: 4\n    plugin: x\n",
                  {NULL},
                  {"YAML syntax error", "@6:11", "flow mapping"}};
    expect_failure(&c);
}

Test(graph_errors, unknown_plugin_suggests_nearest)
{
    bad_case c = {HEAD SRC "  inv:\n    plugin: invrt\n"
                           "    in: {volume: src.volume}\n",
                  {NULL},
                  {"@8:13", "unknown plugin 'invrt'",
                   "did you mean 'invert'?"}};
    expect_failure(&c);
}

Test(graph_errors, unknown_input_port_suggests_nearest)
{
    bad_case c = {HEAD SRC "  inv:\n    plugin: invert\n"
                           "    in: {volum: src.volume}\n",
                  {NULL},
                  {"@9:10", "no input port 'volum'", "did you mean 'volume'"}};
    expect_failure(&c);
}

Test(graph_errors, unknown_output_port_suggests_nearest)
{
    bad_case c = {HEAD SRC "  inv:\n    plugin: invert\n"
                           "    in: {volume: src.volme}\n",
                  {NULL},
                  {"@9:18", "has no output 'volme'",
                   "did you mean 'volume'"}};
    expect_failure(&c);
}

Test(graph_errors, unknown_parameter_suggests_nearest)
{
    bad_case c = {HEAD "  src:\n    plugin: make_volume\n"
                       "    params: {sise: 4}\n" INV,
                  {NULL},
                  {"@6:14", "has no parameter 'sise'",
                   "did you mean 'size'"}};
    expect_failure(&c);
}

Test(graph_errors, wrong_type_on_a_wire)
{
    bad_case c = {HEAD "  src:\n    plugin: make_line\n" INV,
                  {NULL},
                  {"@8:18", "port 'volume' of stage 'inv' (invert) expects "
                            "volume, but 'src.polyline' is a polyline"}};
    c.yaml = HEAD "  src:\n    plugin: make_line\n"
                  "  inv:\n    plugin: invert\n"
                  "    in: {volume: src.polyline}\n";
    expect_failure(&c);
}

Test(graph_errors, cycle_names_its_stages)
{
    bad_case c = {HEAD "  a:\n    plugin: invert\n    in: {volume: b.volume}\n"
                       "  b:\n    plugin: invert\n    in: {volume: a.volume}\n",
                  {NULL},
                  {"cycle in the graph", "b -> a -> b", "@7:3"}};
    expect_failure(&c);
}

Test(graph_errors, self_loop_is_a_cycle)
{
    bad_case c = {HEAD "  a:\n    plugin: invert\n    in: {volume: a.volume}\n",
                  {NULL},
                  {"cycle in the graph: a -> a", "@4:3"}};
    expect_failure(&c);
}

Test(graph_errors, unconnected_required_port)
{
    bad_case c = {HEAD SRC "  inv:\n    plugin: invert\n",
                  {NULL},
                  {"@7:3", "stage 'inv' (invert): required input 'volume'",
                   "not connected"}};
    expect_failure(&c);
}

Test(graph_errors, pipeline_input_without_default_or_set)
{
    bad_case c = {"vflow: 1\ninputs:\n  end: {type: point, doc: distal}\n"
                  "stages:\n" SRC,
                  {NULL},
                  {"@3:3", "required input 'end' (point) has no value",
                   "--set end="}};
    expect_failure(&c);
}

Test(graph_errors, value_out_of_range)
{
    bad_case c = {HEAD "  src:\n    plugin: make_volume\n"
                       "    params: {size: 1000}\n",
                  {NULL},
                  {"@6:20", "stage 'src' (make_volume)", "'size'",
                   "out of range [1, 64]"}};
    expect_failure(&c);
}

Test(graph_errors, unparsable_value)
{
    bad_case c = {HEAD "  src:\n    plugin: make_volume\n"
                       "    params: {size: big}\n",
                  {NULL},
                  {"@6:20", "'big' is not an integer"}};
    expect_failure(&c);
}

Test(graph_errors, unknown_output_extension)
{
    bad_case c = {HEAD SRC INV "outputs:\n  out.xyz: inv.volume\n",
                  {NULL},
                  {"@11:3", "output 'out.xyz': no writer",
                   "extensions for volume: .vol"}};
    expect_failure(&c);
}

Test(graph_errors, unknown_stage_reference)
{
    bad_case c = {HEAD SRC "  inv:\n    plugin: invert\n"
                           "    in: {volume: foo.bar}\n",
                  {NULL},
                  {"@9:18", "unknown stage reference 'foo.bar'"}};
    expect_failure(&c);
}

Test(graph_errors, unknown_top_level_key_suggests)
{
    bad_case c = {"vflow: 1\nstage:\n" SRC,
                  {NULL},
                  {"@2:1", "unknown key 'stage'", "did you mean 'stages'"}};
    expect_failure(&c);
}

Test(graph_errors, bad_set_unknown_input)
{
    bad_case c = {HEAD SRC INV OUT,
                  {"bogus=1", NULL},
                  {"--set 'bogus=1'", "no input 'bogus'"}};
    expect_failure(&c);
}

Test(graph_errors, bad_set_without_equals)
{
    bad_case c = {HEAD SRC INV OUT,
                  {"size", NULL},
                  {"--set 'size'", "expected NAME=VALUE"}};
    expect_failure(&c);
}

Test(graph_errors, bad_set_param_value_out_of_range)
{
    bad_case c = {HEAD SRC INV OUT,
                  {"src.params.size=0", NULL},
                  {"--set 'src.params.size=0'", "out of range"}};
    expect_failure(&c);
}

Test(graph_errors, bad_set_unknown_stage)
{
    bad_case c = {HEAD SRC INV OUT,
                  {"sorc.params.size=3", NULL},
                  {"no stage 'sorc'", "did you mean 'src'"}};
    expect_failure(&c);
}

Test(graph_errors, bad_set_unknown_plugin)
{
    bad_case c = {HEAD SRC INV OUT,
                  {"inv.plugin=scal", NULL},
                  {"--set 'inv.plugin=scal'", "unknown plugin 'scal'",
                   "did you mean 'scale'"}};
    expect_failure(&c);
}

Test(graph_errors, missing_format_version)
{
    bad_case c = {"name: t\nstages:\n" SRC, {NULL},
                  {"@1:1", "missing 'vflow: 1'"}};
    expect_failure(&c);
}

Test(graph_errors, duplicate_key)
{
    bad_case c = {HEAD SRC SRC, {NULL}, {"@7:3", "duplicate key 'src'"}};
    expect_failure(&c);
}

Test(graph_errors, point_input_must_parse)
{
    bad_case c = {"vflow: 1\ninputs:\n  start: {type: point, default: "
                  "\"1,2\"}\nstages:\n" SRC,
                  {NULL},
                  {"@3:3", "'1,2' is not a point"}};
    expect_failure(&c);
}

Test(graph_errors, unknown_placeholder_suggests_input)
{
    bad_case c = {"vflow: 1\ninputs:\n  edge: 4\nstages:\n"
                  "  src:\n    plugin: make_volume\n"
                  "    params: {size: ${edeg}}\n",
                  {NULL},
                  {"@7:20", "unknown input '${edeg}'", "did you mean 'edge'"}};
    expect_failure(&c);
}

Test(graph_errors, writer_of_wrong_type_chosen_explicitly)
{
    bad_case c = {HEAD "  src:\n    plugin: make_line\n"
                  "outputs:\n  x.vol: {from: src.polyline, writer: vol_writer}\n",
                  {NULL},
                  {"@7:17", "writer 'vol_writer' expects volume, but "
                   "'src.polyline' is a polyline"}};
    expect_failure(&c);
}

Test(graph_errors, missing_pipeline_file_is_an_io_error)
{
    vflow_runtime *rt = fixture_runtime(1);
    vflow_error err;
    vflow_pipeline *p =
        vflow_pipeline_load(rt, "/nonexistent/p.yaml", NULL, 0, &err);
    cr_assert_null(p);
    cr_expect_eq(err.code, VFLOW_EIO);
    cr_expect(strstr(err.message, "/nonexistent/p.yaml") != NULL, "%s",
              err.message);
    vflow_runtime_free(rt);
}

Test(graph_errors, load_without_a_reader_for_the_extension_lists_readers)
{
    bad_case c = {HEAD "  src:\n    plugin: load\n    params: {path: x.vtk}\n",
                  {NULL},
                  {"@6:20", "no reader for 'x.vtk'", "extensions: .vol"}};
    expect_failure(&c);
}

Test(graph_errors, load_without_a_path_says_so)
{
    bad_case c = {HEAD "  src:\n    plugin: load\n",
                  {NULL},
                  {"@5:13", "chooses a reader by the extension of "
                            "params.path"}};
    expect_failure(&c);
}

Test(graph_errors, independent_errors_are_all_reported)
{
    /* Three stages broken in three ways, and an output of a stage whose
     * plugin is unknown: one message line each for the three (as a
     * compiler lists its errors), nothing for the output that cannot be
     * typed, and the first error's code. */
    bad_case c = {HEAD "  src:\n    plugin: make_volum\n"
                       "  inv:\n    plugin: invert\n"
                       "    in: {volume: nowhere.volume}\n"
                       "  neg:\n    plugin: make_volume\n"
                       "    params: {sise: 4}\n"
                       "outputs:\n  out.vol: src.volume\n",
                  {NULL},
                  {"@5:13", "unknown plugin 'make_volum'", "@8:18",
                   "@11:14"}};
    expect_failure(&c);
    vflow_runtime *rt = fixture_runtime(1);
    vflow_error err;
    vflow_error_clear(&err);
    cr_assert_null(fixture_load(rt, c.yaml, NULL, 0, &err));
    cr_expect_eq(err.code, VFLOW_ENOENT, "code %d", err.code);
    size_t lines = 1;
    for (const char *q = err.message; *q != '\0'; q++)
        lines += *q == '\n';
    cr_expect_eq(lines, 3, "expected 3 lines:\n%s", err.message);
    vflow_runtime_free(rt);
    fixture_cleanup();
}
