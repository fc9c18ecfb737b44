/* SPDX-License-Identifier: BSD-3-Clause */
/* Entry point of the contours_io module. */
#include "vflow/plugin.h"

extern const vflow_stage_desc vflow_stage_contours_json;
extern const vflow_stage_desc vflow_stage_contours_load;
extern const vflow_stage_desc vflow_stage_table_json;
extern const vflow_stage_desc vflow_stage_table_csv;

VFLOW_PLUGIN_DEFINE(contours_io, &vflow_stage_contours_json,
                    &vflow_stage_contours_load, &vflow_stage_table_json,
                    &vflow_stage_table_csv)
