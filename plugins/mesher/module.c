/* SPDX-License-Identifier: BSD-3-Clause */
/* Entry point of the mesher module. */
#include "vflow/plugin.h"

extern const vflow_stage_desc vflow_stage_mesher;
extern const vflow_stage_desc vflow_stage_label_mesher;

VFLOW_PLUGIN_DEFINE(mesher, &vflow_stage_mesher, &vflow_stage_label_mesher)
