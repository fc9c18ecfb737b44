/* SPDX-License-Identifier: BSD-3-Clause */
/* Pins the layout of the plugin ABI structs: a change here breaks every
 * plugin built before it, so it must come with an ABI version bump. */
#include <criterion/criterion.h>
#include <stddef.h>

#include "vflow/plugin.h"

#define PIN_OFFSET(type, field, value)                                        \
    cr_expect_eq(offsetof(type, field), (size_t)(value),                      \
                 #type "." #field " moved: %zu", offsetof(type, field))
#define PIN_SIZE(type, value)                                                 \
    cr_expect_eq(sizeof(type), (size_t)(value), "sizeof " #type " is %zu",    \
                 sizeof(type))

#if __SIZEOF_POINTER__ == 8 && __SIZEOF_LONG__ == 8
#define LP64 1
#else
#define LP64 0
#endif

Test(abi, version_header_fields_come_first)
{
    /* Every ABI version must be able to read these four fields. */
    PIN_OFFSET(vflow_stage_desc, abi_major, 0);
    PIN_OFFSET(vflow_stage_desc, abi_minor, 4);
    PIN_OFFSET(vflow_stage_desc, struct_size, 8);
    PIN_OFFSET(vflow_stage_desc, flags, 12);
    PIN_OFFSET(vflow_plugin_info, abi_major, 0);
    PIN_OFFSET(vflow_plugin_info, abi_minor, 4);
}

Test(abi, stage_desc_layout_lp64)
{
    if (!LP64)
        cr_skip_test("layout pinned for LP64 targets");
    PIN_OFFSET(vflow_stage_desc, name, 16);
    PIN_OFFSET(vflow_stage_desc, version, 24);
    PIN_OFFSET(vflow_stage_desc, summary, 32);
    PIN_OFFSET(vflow_stage_desc, license, 40);
    PIN_OFFSET(vflow_stage_desc, inputs, 48);
    PIN_OFFSET(vflow_stage_desc, n_inputs, 56);
    PIN_OFFSET(vflow_stage_desc, outputs, 64);
    PIN_OFFSET(vflow_stage_desc, n_outputs, 72);
    PIN_OFFSET(vflow_stage_desc, params, 80);
    PIN_OFFSET(vflow_stage_desc, n_params, 88);
    PIN_OFFSET(vflow_stage_desc, extensions, 96);
    PIN_OFFSET(vflow_stage_desc, priv_size, 104);
    PIN_OFFSET(vflow_stage_desc, init, 112);
    PIN_OFFSET(vflow_stage_desc, run, 120);
    PIN_OFFSET(vflow_stage_desc, finalize, 128);
    PIN_OFFSET(vflow_stage_desc, reserved, 136);
    PIN_SIZE(vflow_stage_desc, 200);
}

Test(abi, port_desc_layout_lp64)
{
    if (!LP64)
        cr_skip_test("layout pinned for LP64 targets");
    PIN_OFFSET(vflow_port_desc, name, 0);
    PIN_OFFSET(vflow_port_desc, type, 8);
    PIN_OFFSET(vflow_port_desc, optional, 12);
    PIN_OFFSET(vflow_port_desc, doc, 16);
    PIN_SIZE(vflow_port_desc, 24);
}

Test(abi, param_desc_layout_lp64)
{
    if (!LP64)
        cr_skip_test("layout pinned for LP64 targets");
    PIN_OFFSET(vflow_param_desc, name, 0);
    PIN_OFFSET(vflow_param_desc, kind, 8);
    PIN_OFFSET(vflow_param_desc, offset, 16);
    PIN_OFFSET(vflow_param_desc, default_value, 24);
    PIN_OFFSET(vflow_param_desc, min, 32);
    PIN_OFFSET(vflow_param_desc, max, 40);
    PIN_OFFSET(vflow_param_desc, choices, 48);
    PIN_OFFSET(vflow_param_desc, doc, 56);
    PIN_OFFSET(vflow_param_desc, required, 64);
    PIN_SIZE(vflow_param_desc, 72);
}

Test(abi, plugin_info_layout_lp64)
{
    if (!LP64)
        cr_skip_test("layout pinned for LP64 targets");
    PIN_OFFSET(vflow_plugin_info, module_name, 8);
    PIN_OFFSET(vflow_plugin_info, n_stages, 16);
    PIN_OFFSET(vflow_plugin_info, stages, 24);
    PIN_SIZE(vflow_plugin_info, 32);
}

Test(abi, parameter_value_types_lp64)
{
    if (!LP64)
        cr_skip_test("layout pinned for LP64 targets");
    /* Plugins read these at their param offsets. */
    PIN_SIZE(vflow_float_list, 8 + 8 * VFLOW_FLOAT_LIST_MAX);
    PIN_OFFSET(vflow_float_list, values, 8);
    PIN_OFFSET(vflow_point_param, is_voxel, 24);
    PIN_OFFSET(vflow_point_param, set, 25);
    PIN_SIZE(vflow_point_param, 32);
    PIN_OFFSET(vflow_error, message, 4);
    PIN_OFFSET(vflow_error, detail, 1028);
    PIN_SIZE(vflow_error, 1540);
}

Test(abi, enum_values_are_stable)
{
    cr_expect_eq(VFLOW_TYPE_VOLUME, 1);
    cr_expect_eq(VFLOW_TYPE_TABLE, 7);
    cr_expect_eq(VFLOW_PARAM_INT, 0);
    cr_expect_eq(VFLOW_PARAM_POINT, 6);
    cr_expect_eq(VFLOW_STAGE_THREAD_SAFE, 1u);
    cr_expect_eq(VFLOW_STAGE_READER, 8u);
    cr_expect_eq(VFLOW_EINVAL, -22);
    cr_expect_eq(VFLOW_EABI, -1002);
}
