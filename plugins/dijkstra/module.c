/* SPDX-License-Identifier: BSD-3-Clause */
/* Plugin entry point of the dijkstra module. */
#include "vflow/plugin.h"

extern const vflow_stage_desc vflow_stage_dijkstra;

VFLOW_PLUGIN_DEFINE(dijkstra, &vflow_stage_dijkstra)
