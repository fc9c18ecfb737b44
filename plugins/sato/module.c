/* SPDX-License-Identifier: BSD-3-Clause */
/* Plugin entry point of the sato module (sato, jerman). */
#include "vflow/plugin.h"

extern const vflow_stage_desc vflow_stage_sato;
extern const vflow_stage_desc vflow_stage_jerman;

VFLOW_PLUGIN_DEFINE(sato, &vflow_stage_sato, &vflow_stage_jerman)
