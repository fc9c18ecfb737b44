/* SPDX-License-Identifier: BSD-3-Clause */
/* Plugin entry point of the nrrd module. */
#include "vflow/plugin.h"

extern const vflow_stage_desc vflow_stage_nrrd_load;

VFLOW_PLUGIN_DEFINE(nrrd, &vflow_stage_nrrd_load)
