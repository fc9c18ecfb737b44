/* SPDX-License-Identifier: BSD-3-Clause */
/* NIfTI-1/NIfTI-2 volume reading and writing on top of nifti_clib. */
#ifndef VFLOW_PLUGIN_NIFTI_IO_H
#define VFLOW_PLUGIN_NIFTI_IO_H

#include "vflow/plugin.h"
#include "vflow/types.h"

/* NIfTI header flavour written by vflow_nifti_write(). */
typedef enum vflow_nifti_version {
    VFLOW_NIFTI_1 = 0,
    VFLOW_NIFTI_2 = 1
} vflow_nifti_version;

/*
 * Reads a NIfTI-1, NIfTI-2 or ANALYZE-7.5 file (.nii, .nii.gz, .hdr/.img,
 * .hdr.gz/.img.gz) into a new volume (transfer full, in *out).
 *
 * Element types u8, i8, i16, u16, i32, u32, f32, f64 are kept as stored
 * when the file has no scaling (scl_slope 0 or 1 with scl_inter 0, or a
 * non-finite slope); otherwise value*scl_slope + scl_inter is stored as f32
 * (f64 when the file holds f64). Affine: sform when sform_code > 0, else
 * qform when qform_code > 0, else NIfTI "method 1" (diag(pixdim)).
 * Modality: CT when the data look like Hounsfield units (signed or scaled
 * data with min <= -500 and max > 300), else UNKNOWN.
 *
 * Returns 0, or VFLOW_ENOENT (missing file), VFLOW_EFORMAT (not NIfTI,
 * truncated, corrupt, unsupported type, several volumes), VFLOW_EIO,
 * VFLOW_ENOMEM; `err` names the file. Never prints. Thread-safe (calls
 * into nifti_clib are serialised).
 */
int vflow_nifti_read(const char *path, vflow_volume **out, vflow_error *err);

/*
 * Writes `vol` to exactly `path` with its element type and bit-exact data.
 * The affine goes into the sform (sform_code 2, "aligned anat": the world
 * space the volume came in, which vflow does not track further) and, when
 * it is a rotation times positive scales (no shear), also into the qform
 * (qform_code 1, "scanner anat"); with shear qform_code is 0.
 * Compression follows the NIfTI name inside `path`: gzip when the file
 * name contains ".nii.gz" (also for temporary names like
 * ".out.nii.gz.tmp-12"), plain when it contains ".nii" only.
 * NIfTI-1 limits each dimension to 32767 voxels. On failure the partial
 * file is removed. Returns 0 or a negative VFLOW_E* code.
 */
int vflow_nifti_write(const vflow_volume *vol, const char *path,
                      vflow_nifti_version version, vflow_error *err);
/* Same with an explicit gzip level (1 fastest .. 9 smallest); the plain
 * call uses VFLOW_NIFTI_GZIP_LEVEL. */
int vflow_nifti_write_level(const vflow_volume *vol, const char *path,
                            vflow_nifti_version version, int gzip_level,
                            vflow_error *err);
/* Same, deflating .nii.gz in parallel on the pool of `ctx` (NULL: on the
 * calling thread): one standard gzip member, the same bytes for every
 * thread count (see gzip_write.h). */
int vflow_nifti_write_ctx(const vflow_volume *vol, const char *path,
                          vflow_nifti_version version, int gzip_level,
                          vflow_ctx *ctx, vflow_error *err);
/* Level 1: on CT and label maps its output exceeds the zlib default's (6)
 * by under 1 % of the raw size, and it writes about twice as fast. */
#define VFLOW_NIFTI_GZIP_LEVEL 1

#endif
