/* SPDX-License-Identifier: BSD-3-Clause */
/* Plugin entry point of the fmm module. */
#include "vflow/plugin.h"

extern const vflow_stage_desc vflow_stage_fmm;

VFLOW_PLUGIN_DEFINE(fmm, &vflow_stage_fmm)
