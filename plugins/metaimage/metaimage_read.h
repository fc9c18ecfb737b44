/* SPDX-License-Identifier: BSD-3-Clause */
/* MetaImage (.mha/.mhd) reading into a RAS+ volume. */
#ifndef VFLOW_PLUGIN_METAIMAGE_READ_H
#define VFLOW_PLUGIN_METAIMAGE_READ_H

#include "vflow/types.h"

/*
 * Reads a 3-D (or 2-D, loaded as nz = 1) single-channel MetaImage: `.mha`
 * (data after the header, ElementDataFile = LOCAL) or `.mhd` (data in the
 * file named by ElementDataFile, relative to the header's folder), raw or
 * zlib-compressed (CompressedData = True), either byte order.
 * Element types MET_UCHAR, MET_CHAR, MET_SHORT, MET_USHORT, MET_INT,
 * MET_UINT, MET_FLOAT, MET_DOUBLE (kept as stored).
 * Geometry: MetaImage world is LPS; with spacing s, Offset o and direction
 * columns d_c (TransformMatrix, else Rotation/Orientation, read as ITK does:
 * consecutive triples are the directions of the i, j, k axes),
 *   x_LPS = o + sum_c d_c * s_c * ijk_c,
 * and the volume affine is RAS+: x and y negated.
 * Returns 0 or VFLOW_ENOENT / VFLOW_EFORMAT / VFLOW_ENOMEM; errors name the
 * file. *out is transfer full.
 */
int vflow_metaimage_read(const char *path, vflow_volume **out,
                         vflow_error *err);

#endif
