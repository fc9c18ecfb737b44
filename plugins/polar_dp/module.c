/* SPDX-License-Identifier: BSD-3-Clause */
/* Module entry point of the polar_dp plugin. */
#include "vflow/plugin.h"

extern const vflow_stage_desc vflow_stage_polar_dp;

VFLOW_PLUGIN_DEFINE(polar_dp, &vflow_stage_polar_dp)
