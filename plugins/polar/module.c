/* SPDX-License-Identifier: BSD-3-Clause */
/* Module entry point of the polar plugin. */
#include "vflow/plugin.h"

extern const vflow_stage_desc vflow_stage_polar;

VFLOW_PLUGIN_DEFINE(polar, &vflow_stage_polar)
