/* SPDX-License-Identifier: BSD-3-Clause */
/* Plugin entry point of the points module. */
#include "vflow/plugin.h"

extern const vflow_stage_desc vflow_stage_points;

VFLOW_PLUGIN_DEFINE(points, &vflow_stage_points)
