/* SPDX-License-Identifier: BSD-3-Clause */
/* Binary min-heap of voxels keyed by arrival time, with decrease-key. */
#ifndef VFLOW_FMM_HEAP_H
#define VFLOW_FMM_HEAP_H

#include <stddef.h>
#include <stdint.h>

/*
 * Per-voxel state lives in one int32 array `pos` shared with the caller
 * (the narrow-band bookkeeping of Sethian's Fast Marching):
 *   pos[v] == VFLOW_HEAP_FAR     never reached (calloc'd memory reads as FAR)
 *   pos[v] == VFLOW_HEAP_FROZEN  arrival time final
 *   pos[v] >  0                  in the heap at slot pos[v] - 1 (trial)
 * Folding the state into the heap index keeps the march at 8 bytes per
 * voxel (f32 time + this int32) and lets untouched pages stay unmapped.
 */
#define VFLOW_HEAP_FAR 0
#define VFLOW_HEAP_FROZEN (-1)

typedef struct vflow_heap_item {
    float key;
    uint32_t voxel;
} vflow_heap_item;

typedef struct vflow_heap {
    vflow_heap_item *items;
    size_t count;
    size_t capacity;
    int32_t *pos;          /* borrowed, one entry per voxel */
} vflow_heap;

/* Initialises an empty heap over the caller's `pos` array. */
void vflow_heap_init(vflow_heap *h, int32_t *pos);
/* Frees the item storage (not `pos`). */
void vflow_heap_free(vflow_heap *h);

/*
 * Inserts `voxel` with `key`, or lowers its key if it is already in the
 * heap with a larger one. Returns 0, or VFLOW_ENOMEM (heap unchanged).
 * The voxel must not be frozen.
 */
int vflow_heap_push_or_decrease(vflow_heap *h, uint32_t voxel, float key);

/*
 * Sets the key of `voxel` whatever its previous key (inserting it if
 * needed): the second-order FMM update may raise a tentative time once a
 * better-informed stencil becomes available. Returns 0 or VFLOW_ENOMEM.
 */
int vflow_heap_set(vflow_heap *h, uint32_t voxel, float key);

/* Removes the minimum; marks it FROZEN in pos. Heap must be non-empty. */
vflow_heap_item vflow_heap_pop(vflow_heap *h);

#endif
