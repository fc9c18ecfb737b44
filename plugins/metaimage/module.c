/* SPDX-License-Identifier: BSD-3-Clause */
/* Plugin entry point of the metaimage module. */
#include "vflow/plugin.h"

extern const vflow_stage_desc vflow_stage_metaimage_load;

VFLOW_PLUGIN_DEFINE(metaimage, &vflow_stage_metaimage_load)
