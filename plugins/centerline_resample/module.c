/* SPDX-License-Identifier: BSD-3-Clause */
/* Plugin entry point of the centerline_resample module. */
#include "vflow/plugin.h"

extern const vflow_stage_desc vflow_stage_centerline_resample;

VFLOW_PLUGIN_DEFINE(centerline_resample, &vflow_stage_centerline_resample)
