/* SPDX-License-Identifier: BSD-3-Clause */
/* Plugin entry point of the backtrack module. */
#include "vflow/plugin.h"

extern const vflow_stage_desc vflow_stage_backtrack;

VFLOW_PLUGIN_DEFINE(backtrack, &vflow_stage_backtrack)
