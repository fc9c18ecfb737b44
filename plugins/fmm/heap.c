/* SPDX-License-Identifier: BSD-3-Clause */
/* Binary min-heap with a per-voxel position index (decrease-key in O(log n)). */
#include <stdlib.h>

#include "heap.h"
#include "vflow/error.h"

void vflow_heap_init(vflow_heap *h, int32_t *pos)
{
    h->items = NULL;
    h->count = 0;
    h->capacity = 0;
    h->pos = pos;
}

void vflow_heap_free(vflow_heap *h)
{
    free(h->items);
    h->items = NULL;
    h->count = h->capacity = 0;
}

/* Places `it` at slot `i` and records the slot (1-based) in pos. */
static inline void heap_place(vflow_heap *h, size_t i, vflow_heap_item it)
{
    h->items[i] = it;
    h->pos[it.voxel] = (int32_t)(i + 1);
}

static void heap_sift_up(vflow_heap *h, size_t i)
{
    vflow_heap_item it = h->items[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (h->items[parent].key <= it.key)
            break;
        heap_place(h, i, h->items[parent]);
        i = parent;
    }
    heap_place(h, i, it);
}

static void heap_sift_down(vflow_heap *h, size_t i)
{
    vflow_heap_item it = h->items[i];
    size_t n = h->count;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && h->items[c + 1].key < h->items[c].key)
            c++;
        if (it.key <= h->items[c].key)
            break;
        heap_place(h, i, h->items[c]);
        i = c;
    }
    heap_place(h, i, it);
}

int vflow_heap_push_or_decrease(vflow_heap *h, uint32_t voxel, float key)
{
    int32_t p = h->pos[voxel];
    if (p > 0) {
        size_t i = (size_t)p - 1;
        if (key < h->items[i].key) {
            h->items[i].key = key;
            heap_sift_up(h, i);
        }
        return 0;
    }
    if (h->count == h->capacity) {
        size_t cap = h->capacity ? 2 * h->capacity : 4096;
        vflow_heap_item *grown = realloc(h->items, cap * sizeof *grown);
        if (grown == NULL)
            return VFLOW_ENOMEM;
        h->items = grown;
        h->capacity = cap;
    }
    h->items[h->count] = (vflow_heap_item){key, voxel};
    h->count++;
    heap_sift_up(h, h->count - 1);
    return 0;
}

vflow_heap_item vflow_heap_pop(vflow_heap *h)
{
    vflow_heap_item top = h->items[0];
    h->pos[top.voxel] = VFLOW_HEAP_FROZEN;
    h->count--;
    if (h->count > 0) {
        h->items[0] = h->items[h->count];
        heap_sift_down(h, 0);
    }
    return top;
}

int vflow_heap_set(vflow_heap *h, uint32_t voxel, float key)
{
    int32_t p = h->pos[voxel];
    if (p > 0) {
        size_t i = (size_t)p - 1;
        float old = h->items[i].key;
        h->items[i].key = key;
        if (key < old)
            heap_sift_up(h, i);
        else
            heap_sift_down(h, i);
        return 0;
    }
    return vflow_heap_push_or_decrease(h, voxel, key);
}
