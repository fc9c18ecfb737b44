/* SPDX-License-Identifier: BSD-3-Clause */
/* Module entry point of the mpr plugin (stages mpr, cpr, sections_volume). */
#include "vflow/plugin.h"

extern const vflow_stage_desc vflow_stage_mpr;
extern const vflow_stage_desc vflow_stage_cpr;
extern const vflow_stage_desc vflow_stage_sections_volume;

VFLOW_PLUGIN_DEFINE(mpr, &vflow_stage_mpr, &vflow_stage_cpr,
                    &vflow_stage_sections_volume)
