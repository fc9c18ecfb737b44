/* SPDX-License-Identifier: BSD-3-Clause */
/* Plugin entry point of the cost_map module. */
#include "vflow/plugin.h"

extern const vflow_stage_desc vflow_stage_cost_map;

VFLOW_PLUGIN_DEFINE(cost_map, &vflow_stage_cost_map)
