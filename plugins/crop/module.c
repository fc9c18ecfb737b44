/* SPDX-License-Identifier: BSD-3-Clause */
/* Entry point of the crop module. */
#include "vflow/plugin.h"

extern const vflow_stage_desc vflow_stage_crop;

VFLOW_PLUGIN_DEFINE(crop, &vflow_stage_crop)
