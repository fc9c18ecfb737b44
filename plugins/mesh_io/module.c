/* SPDX-License-Identifier: BSD-3-Clause */
/* Entry point of the mesh_io module. */
#include "vflow/plugin.h"

extern const vflow_stage_desc vflow_stage_mesh_stl;
extern const vflow_stage_desc vflow_stage_mesh_vtp;
extern const vflow_stage_desc vflow_stage_mesh_obj;

VFLOW_PLUGIN_DEFINE(mesh_io, &vflow_stage_mesh_stl, &vflow_stage_mesh_vtp,
                    &vflow_stage_mesh_obj)
