/* SPDX-License-Identifier: BSD-3-Clause */
/* Entry point of the labelmap module. */
#include "vflow/plugin.h"

extern const vflow_stage_desc vflow_stage_labelmap;

VFLOW_PLUGIN_DEFINE(labelmap, &vflow_stage_labelmap)
