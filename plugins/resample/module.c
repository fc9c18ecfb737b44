/* SPDX-License-Identifier: BSD-3-Clause */
/* Plugin entry point of the resample module. */
#include "vflow/plugin.h"

extern const vflow_stage_desc vflow_stage_resample;

VFLOW_PLUGIN_DEFINE(resample, &vflow_stage_resample)
