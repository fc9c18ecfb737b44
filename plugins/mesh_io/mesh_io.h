/* SPDX-License-Identifier: BSD-3-Clause */
/* Mesh writers: binary STL, VTK XML PolyData, Wavefront OBJ. */
#ifndef VFLOW_MESH_IO_H
#define VFLOW_MESH_IO_H

#include "vflow/types.h"

/* Each writes `m` (world mm, RAS) to exactly `path`; 0 or VFLOW_EIO with a
 * message naming the file. */
int vflow_mesh_write_stl(const vflow_mesh *m, const char *path,
                         vflow_error *err);
int vflow_mesh_write_vtp(const vflow_mesh *m, const char *path,
                         vflow_error *err);
int vflow_mesh_write_obj(const vflow_mesh *m, const char *path,
                         vflow_error *err);

#endif
