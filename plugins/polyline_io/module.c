/* SPDX-License-Identifier: BSD-3-Clause */
/* Plugin entry point of the polyline_io module (three writers, one reader). */
#include "vflow/plugin.h"

extern const vflow_stage_desc vflow_stage_polyline_csv;
extern const vflow_stage_desc vflow_stage_polyline_vtp;
extern const vflow_stage_desc vflow_stage_polyline_mrk_json;
extern const vflow_stage_desc vflow_stage_polyline_read;

VFLOW_PLUGIN_DEFINE(polyline_io, &vflow_stage_polyline_csv,
                    &vflow_stage_polyline_vtp, &vflow_stage_polyline_mrk_json,
                    &vflow_stage_polyline_read)
