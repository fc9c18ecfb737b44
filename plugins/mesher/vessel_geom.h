/* SPDX-License-Identifier: BSD-3-Clause */
/* Vessel geometry shared by mesher, labelmap and measure: lofting contours
 * into closed surfaces, voxelising surfaces, mesh sanity checks. */
#ifndef VFLOW_VESSEL_GEOM_H
#define VFLOW_VESSEL_GEOM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vflow/plugin.h"
#include "vflow/types.h"

/* Which boundary of a contour set to loft. */
typedef enum vflow_loft_surface {
    VFLOW_LOFT_LUMEN = 0,
    VFLOW_LOFT_OUTER = 1
} vflow_loft_surface;

/* Smallest radius used for a ring vertex (mm): keeps triangles non-degenerate
 * where a segmentation collapsed to the centre. */
#define VFLOW_LOFT_MIN_RADIUS_MM 1e-3

/*
 * Chooses the stations to loft so that consecutive kept section rings do not
 * cross (tight bends: two section planes meet inside the ring when the radius
 * of curvature is smaller than the vessel radius): the longest chain of
 * stations in which station j follows kept station k only if every vertex
 * of ring j lies strictly in front of plane k and every vertex of ring k
 * strictly behind plane j (dynamic programming; stations are dropped at
 * the ends or inside as needed); the ring is the larger of lumen and outer
 * radius per angle, so both surfaces use the same stations. Stations with a non-finite frame or
 * radius (failed sections) are skipped. With `fix_bends` false every other
 * station is kept. `kept` must hold c->count entries; *n_kept receives the count.
 * Returns 0, or VFLOW_EINVAL when fewer than two stations remain.
 */
int vflow_loft_select_stations(const vflow_contours *c, bool fix_bends,
                               size_t *kept, size_t *n_kept,
                               vflow_error *err);

/*
 * Lofts one surface through the kept stations: ring vertex
 * center + r(theta)*(cos(theta)*normal + sin(theta)*binormal), quads split in
 * two triangles, planar fan caps around the end centres. The result is
 * watertight, oriented with outward normals (checked by the signed volume
 * and flipped if needed). Transfer full; NULL on failure (err set).
 */
vflow_mesh *vflow_loft_mesh(const vflow_contours *c, vflow_loft_surface which,
                            const size_t *kept, size_t n_kept,
                            vflow_error *err);

/*
 * Moves the end rings and cap centres of a mesh made by vflow_loft_mesh
 * (same c, kept, n_kept) outwards along the end tangents by `d` mm. The
 * rasterisers lengthen the lumen by a hair so that a voxel centre lying
 * exactly on the shared cap plane of lumen and wall is lumen, not wall.
 */
void vflow_loft_extend_ends(vflow_mesh *m, const vflow_contours *c,
                            const size_t *kept, size_t n_kept, double d);

/* Signed enclosed volume (mm^3) by the divergence theorem; positive for a
 * closed surface with outward normals. */
double vflow_mesh_signed_volume(const vflow_mesh *m);

/* Reverses the orientation of every triangle (in place: unpublished meshes
 * only). */
void vflow_mesh_flip(vflow_mesh *m);

/*
 * Number of undirected edges not shared by exactly two triangles traversing
 * it in opposite directions (0 for a closed, consistently oriented
 * manifold). Returns SIZE_MAX on allocation failure.
 */
size_t vflow_mesh_count_bad_edges(const vflow_mesh *m);

/*
 * Number of pairs of triangles without a common vertex that intersect
 * (segment/triangle tests of the three edges of each against the other,
 * Moeller & Trumbore, J. Graphics Tools 1997), found with a uniform
 * bounding-box grid. For tests and diagnostics. SIZE_MAX on allocation
 * failure.
 */
size_t vflow_mesh_count_self_intersections(const vflow_mesh *m);

/*
 * The closed surface of {lo_label <= labels <= hi_label} by marching
 * tetrahedra
 * (Freudenthal split of the lattice of voxel centres, level 0.5 of the
 * indicator) after `smooth_passes` separable [1 2 1]/4 passes (each about a
 * 0.7-voxel Gaussian; 0 = the staircase through edge midpoints). World mm,
 * outward, watertight. Transfer full; NULL (err set) when no voxel
 * qualifies, for non-u8 labels, or out of memory.
 */
vflow_mesh *vflow_label_surface(const vflow_volume *labels, uint8_t lo_label,
                                uint8_t hi_label, unsigned smooth_passes,
                                vflow_error *err);

/* ---------------------------------------------------------- voxelising */

/* A box of voxels [lo, hi) of a volume grid with a local u8 buffer. */
typedef struct vflow_voxel_box {
    size_t lo[3], hi[3];
    size_t dims[3];      /* hi - lo */
    uint8_t *mask;       /* dims[0]*dims[1]*dims[2], x fastest */
} vflow_voxel_box;

/*
 * The voxels of `grid` whose cubes (index +- 0.5) meet the bounding box of
 * `m`, with a zeroed mask. Returns 0 (box may be empty: dims 0) or
 * VFLOW_ENOMEM.
 */
int vflow_voxel_box_init(vflow_voxel_box *box, const vflow_mesh *m,
                         const vflow_volume *grid, vflow_error *err);
void vflow_voxel_box_free(vflow_voxel_box *box);

/*
 * Writes `value` into box->mask for every voxel inside the closed surface
 * `m`. A voxel is inside when more than half of its ss^3 sub-samples (at
 * offsets (q + 0.5)/ss - 0.5 of the voxel centre, ss = `supersample`, odd:
 * 1, 3 or 5) are inside; ss = 1 is the voxel-centre rule. (A majority vote
 * is not a partial-volume estimate: it mostly agrees with the centre rule
 * on smooth boundaries and helps only for sub-voxel structures.) Inside means a nonzero winding
 * number along a ray in +i through the sample (scanline crossing of every
 * triangle, edge ties broken by a top-left rule so that a ray through a
 * shared edge counts once). Rays run in parallel through `ctx` (NULL:
 * serial). Returns 0, VFLOW_ENOMEM or VFLOW_ECANCELED.
 */
int vflow_voxelize_mesh(const vflow_mesh *m, const vflow_volume *grid,
                        unsigned supersample, uint8_t value,
                        vflow_voxel_box *box, vflow_ctx *ctx,
                        vflow_error *err);

#endif
