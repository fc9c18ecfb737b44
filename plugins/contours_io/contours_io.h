/* SPDX-License-Identifier: BSD-3-Clause */
/* contours.json and measures table files. */
#ifndef VFLOW_CONTOURS_IO_H
#define VFLOW_CONTOURS_IO_H

#include "vflow/types.h"

/*
 * Writes `c` as
 * {"n_angles":N,"coordinate_system":"RAS","units":"mm","stations":[
 *   {"s_mm":..,"center":[x,y,z],"tangent":[..],"normal":[..],"binormal":[..],
 *    "lumen_r":[N values],"outer_r":[N values]}, ...]}
 * Doubles with 17 significant digits and radii with 9, so a read gives back
 * the same bits; non-finite values as null.
 */
int vflow_contours_write_json(const vflow_contours *c, const char *path,
                              vflow_error *err);
/* Reads that shape back (transfer full); NULL with a message naming the
 * file and the offending station/key. */
vflow_contours *vflow_contours_read_json(const char *path, vflow_error *err);

/* A one-row table as a flat JSON object {"name": value, ...}; several rows
 * as {"name": [values...], ...}. Non-finite values as null. */
int vflow_table_write_json(const vflow_table *t, const char *path,
                           vflow_error *err);
/* A header line with the column names, then one line per row. */
int vflow_table_write_csv(const vflow_table *t, const char *path,
                          vflow_error *err);

#endif
