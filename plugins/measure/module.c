/* SPDX-License-Identifier: BSD-3-Clause */
/* Entry point of the measure module. */
#include "vflow/plugin.h"

extern const vflow_stage_desc vflow_stage_measure;

VFLOW_PLUGIN_DEFINE(measure, &vflow_stage_measure)
