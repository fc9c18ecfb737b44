/* SPDX-License-Identifier: BSD-3-Clause */
/* NRRD (.nrrd/.nhdr) reading into a RAS+ volume. */
#ifndef VFLOW_PLUGIN_NRRD_READ_H
#define VFLOW_PLUGIN_NRRD_READ_H

#include "vflow/types.h"

/*
 * Reads a 3-D scalar NRRD (magic NRRD0001..NRRD0005): `.nrrd` with the data
 * after the blank line ending the header, or `.nhdr` with a detached
 * `data file` (relative to the header's folder). Encodings raw and gzip;
 * `endian` little/big; types int8..uint32, float, double under any of the
 * NRRD spellings. Geometry: `space` right-anterior-superior (RAS),
 * left-posterior-superior (LPS) or left-anterior-superior (LAS) with
 * `space directions` (column c = world step of voxel axis c) and
 * `space origin`, converted to RAS+; without `space`, `spacings` (default 1)
 * give a diagonal affine at the origin. 4-D files are accepted when the
 * extra axis has size 1.
 * Returns 0 or VFLOW_ENOENT / VFLOW_EFORMAT / VFLOW_ENOMEM; errors name the
 * file. *out is transfer full.
 */
int vflow_nrrd_read(const char *path, vflow_volume **out, vflow_error *err);

#endif
