/* SPDX-License-Identifier: BSD-3-Clause */
/* Module entry point of the refine plugin. */
#include "vflow/plugin.h"

extern const vflow_stage_desc vflow_stage_refine;

VFLOW_PLUGIN_DEFINE(refine, &vflow_stage_refine)
