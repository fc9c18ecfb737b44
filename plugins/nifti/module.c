/* SPDX-License-Identifier: BSD-3-Clause */
/* Plugin entry point of the nifti module (nifti_load, nifti_save). */
#include "vflow/plugin.h"

extern const vflow_stage_desc vflow_stage_nifti_load;
extern const vflow_stage_desc vflow_stage_nifti_save;

VFLOW_PLUGIN_DEFINE(nifti, &vflow_stage_nifti_load, &vflow_stage_nifti_save)
