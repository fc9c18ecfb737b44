/* SPDX-License-Identifier: BSD-3-Clause */
/* Entry point of the estimate module (parameters estimated from the data). */
#include "vflow/plugin.h"

extern const vflow_stage_desc vflow_stage_vessel_scales;
extern const vflow_stage_desc vflow_stage_psf;

VFLOW_PLUGIN_DEFINE(estimate, &vflow_stage_vessel_scales, &vflow_stage_psf)
