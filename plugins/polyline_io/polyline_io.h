/* SPDX-License-Identifier: BSD-3-Clause */
/* Polyline writers: CSV, VTK XML PolyData (.vtp), 3D Slicer markups curve. */
#ifndef VFLOW_POLYLINE_IO_H
#define VFLOW_POLYLINE_IO_H

#include <stdio.h>

#include "vflow/types.h"

/* Each writes `pl` to the open stream; returns 0 or VFLOW_EIO. */
int vflow_polyline_write_csv(const vflow_polyline *pl, FILE *f);
int vflow_polyline_write_vtp(const vflow_polyline *pl, FILE *f);
int vflow_polyline_write_mrk_json(const vflow_polyline *pl, FILE *f);

/* Opens `path`, writes with `fn`, closes; errors name the path. */
int vflow_polyline_write_file(const vflow_polyline *pl, const char *path,
                              int (*fn)(const vflow_polyline *, FILE *),
                              vflow_error *err);

#endif
