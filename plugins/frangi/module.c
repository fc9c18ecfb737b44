/* SPDX-License-Identifier: BSD-3-Clause */
/* Plugin entry point of the frangi module. */
#include "vflow/plugin.h"

extern const vflow_stage_desc vflow_stage_frangi;

VFLOW_PLUGIN_DEFINE(frangi, &vflow_stage_frangi)
