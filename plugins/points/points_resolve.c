/* SPDX-License-Identifier: BSD-3-Clause */
/* Resolves start/waypoint/end parameters into named world-mm points. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "points_resolve.h"
#include "vflow/volume.h"

void vflow_points_volume_bounds(const vflow_volume *vol, double lo[3],
                                double hi[3])
{
    for (int a = 0; a < 3; a++) {
        lo[a] = INFINITY;
        hi[a] = -INFINITY;
    }
    for (int corner = 0; corner < 8; corner++) {
        double ijk[3], xyz[3];
        for (int a = 0; a < 3; a++)
            ijk[a] = (corner >> a) & 1 ? (double)vol->dims[a] - 1 : 0.0;
        vflow_volume_index_to_world(vol, ijk, xyz);
        for (int a = 0; a < 3; a++) {
            lo[a] = fmin(lo[a], xyz[a]);
            hi[a] = fmax(hi[a], xyz[a]);
        }
    }
}

static int outside_error(const vflow_volume *vol, const char *name,
                         const vflow_point_param *given, const double xyz[3],
                         vflow_error *err)
{
    double lo[3], hi[3];
    vflow_points_volume_bounds(vol, lo, hi);
    char as_given[96] = "";
    if (given != NULL && given->is_voxel)
        snprintf(as_given, sizeof as_given, " (given as vox:%g,%g,%g)",
                 given->v[0], given->v[1], given->v[2]);
    return vflow_error_set(
        err, VFLOW_ERANGE,
        "point '%s' (%.2f, %.2f, %.2f) mm%s lies outside the image%s%s%s: "
        "its voxel centres span x %.2f..%.2f, y %.2f..%.2f, z %.2f..%.2f mm "
        "(%zu x %zu x %zu voxels)", name, xyz[0], xyz[1], xyz[2], as_given,
        vol->source[0] ? " '" : "", vol->source, vol->source[0] ? "'" : "",
        lo[0], hi[0], lo[1], hi[1], lo[2], hi[2], vol->dims[0], vol->dims[1],
        vol->dims[2]);
}

/* One point to world mm, checked against the volume when there is one.
 * `given` is NULL for waypoints (always world mm). */
static int point_resolve(const vflow_volume *vol, const char *name,
                         const vflow_point_param *given, const double v[3],
                         double xyz[3], vflow_error *err)
{
    for (int a = 0; a < 3; a++)
        if (!isfinite(v[a]))
            return vflow_error_set(err, VFLOW_EINVAL,
                                   "point '%s' has a non-finite coordinate",
                                   name);
    if (given != NULL && given->is_voxel) {
        if (vol == NULL)
            return vflow_error_set(
                err, VFLOW_EINVAL,
                "point '%s' is given in voxels (vox:%g,%g,%g) but no volume "
                "is connected to convert it to world mm", name, v[0], v[1],
                v[2]);
        vflow_volume_index_to_world(vol, v, xyz);
    } else {
        memcpy(xyz, v, 3 * sizeof(double));
    }
    if (vol != NULL && !vflow_volume_contains_world(vol, xyz))
        return outside_error(vol, name, given, xyz, err);
    return 0;
}

int vflow_points_resolve(const vflow_volume *vol,
                         const vflow_point_param *start,
                         const vflow_point_param *end,
                         const double *waypoints, size_t n_values,
                         vflow_points **out, vflow_error *err)
{
    *out = NULL;
    if (!start->set || !end->set)
        return vflow_error_set(err, VFLOW_EINVAL, "both 'start' and 'end' "
                               "points are required");
    if (n_values % 3 != 0)
        return vflow_error_set(err, VFLOW_EINVAL,
                               "waypoints needs x,y,z triples in world mm; "
                               "got %zu numbers", n_values);
    size_t n_way = n_values / 3;
    vflow_points *pts = vflow_points_create(n_way + 2, err);
    if (pts == NULL)
        return err != NULL ? err->code : VFLOW_ENOMEM;
    vflow_point *items = pts->items;
    int rc = 0;
    snprintf(items[0].name, sizeof items[0].name, "start");
    rc = point_resolve(vol, "start", start, start->v, items[0].xyz, err);
    for (size_t w = 0; w < n_way && rc == 0; w++) {
        vflow_point *p = &items[w + 1];
        snprintf(p->name, sizeof p->name, "waypoint%zu", w + 1);
        rc = point_resolve(vol, p->name, NULL, waypoints + 3 * w, p->xyz, err);
    }
    vflow_point *last = &items[n_way + 1];
    snprintf(last->name, sizeof last->name, "end");
    if (rc == 0)
        rc = point_resolve(vol, "end", end, end->v, last->xyz, err);
    if (rc == 0) {
        double d = 0;
        for (int a = 0; a < 3; a++)
            d += (items[0].xyz[a] - last->xyz[a]) *
                 (items[0].xyz[a] - last->xyz[a]);
        if (sqrt(d) < 1e-6)
            rc = vflow_error_set(err, VFLOW_EINVAL,
                                 "start and end are the same point (%.2f, "
                                 "%.2f, %.2f) mm; give two different points",
                                 last->xyz[0], last->xyz[1], last->xyz[2]);
    }
    if (rc != 0) {
        vflow_object_release(&pts->base);
        return rc;
    }
    *out = pts;
    return 0;
}
