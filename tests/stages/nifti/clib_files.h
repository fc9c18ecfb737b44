/* SPDX-License-Identifier: BSD-3-Clause */
/* Test files written with nifti_clib directly (codes, scaling, odd types). */
#ifndef VFLOW_TEST_NIFTI_CLIB_FILES_H
#define VFLOW_TEST_NIFTI_CLIB_FILES_H

#include <nifti2_io.h>

#include "harness.h"

/* A nifti_image of dims (nx,ny,nz,nt) and `datatype`, data zero-filled,
 * to be adjusted by the caller and then written with clib_write(). */
static inline nifti_image *clib_image(int64_t nx, int64_t ny, int64_t nz,
                                      int64_t nt, int datatype)
{
    int64_t dims[8] = {nt > 1 ? 4 : 3, nx, ny, nz, nt, 1, 1, 1};
    nifti_set_debug_level(0);
    nifti_image *nim = nifti_make_new_nim(dims, datatype, 1);
    cr_assert_not_null(nim);
    return nim;
}

/* Writes `nim` to `path` (.nii, .nii.gz, .hdr) and frees it. */
static inline void clib_write(nifti_image *nim, const char *path)
{
    cr_assert_eq(nifti_set_filenames(nim, path, 0, 1), 0, "%s", path);
    if (strstr(path, ".hdr") != NULL)
        nim->nifti_type = NIFTI_FTYPE_NIFTI1_2;
    nifti_image_write(nim);
    nifti_image_free(nim);
    cr_assert_eq(access(path, F_OK), 0, "nifti_clib did not write %s", path);
}

#endif
