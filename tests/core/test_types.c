/* SPDX-License-Identifier: BSD-3-Clause */
/* Port object types: refcounting, clone, hash, named arrays. */
#include <criterion/criterion.h>
#include <string.h>

#include "vflow/types.h"

Test(types, clone_is_deep_and_hash_follows_content)
{
    vflow_polyline *pl = vflow_polyline_create(3, NULL);
    cr_assert_not_null(pl);
    double *r = vflow_polyline_add_array(pl, "radius");
    cr_assert_not_null(r);
    cr_assert_eq(vflow_polyline_add_array(pl, "radius"), r,
                 "adding an existing array returns it");
    for (int i = 0; i < 3; i++) {
        pl->xyz[i][0] = i;
        r[i] = 1.0 + i;
    }
    cr_assert_float_eq(vflow_polyline_length(pl), 2.0, 1e-12);
    vflow_polyline *copy = (vflow_polyline *)vflow_object_clone(&pl->base);
    cr_assert_not_null(copy);
    cr_assert_eq(vflow_object_hash(&pl->base), vflow_object_hash(&copy->base));
    vflow_polyline_array(copy, "radius")[1] = 9;
    cr_assert_float_eq(r[1], 2.0, 0, "the clone must not share arrays");
    cr_assert_neq(vflow_object_hash(&pl->base), vflow_object_hash(&copy->base));
    vflow_object_release(&copy->base);
    vflow_object_release(&pl->base);
}

Test(types, retain_release_counts_references)
{
    vflow_table *t = vflow_table_create(1, NULL);
    vflow_object_retain(&t->base);
    cr_assert_eq(atomic_load(&t->base.refcount), 2);
    vflow_object_release(&t->base);
    cr_assert_eq(atomic_load(&t->base.refcount), 1);
    double *c = vflow_table_add_column(t, "mla_mm2");
    c[0] = 1.5;
    cr_assert_eq(vflow_table_column(t, "mla_mm2"), c);
    cr_assert_null(vflow_table_column(t, "nope"));
    vflow_object_release(&t->base);
    vflow_object_release(NULL); /* NULL-safe */
}

Test(types, names_and_casts)
{
    cr_assert_eq(vflow_type_from_name("volume"), VFLOW_TYPE_VOLUME);
    cr_assert_eq(vflow_type_from_name("contours"), VFLOW_TYPE_CONTOURS);
    cr_assert_eq(vflow_type_from_name("banana"), VFLOW_TYPE_NONE);
    cr_assert_str_eq(vflow_type_name(VFLOW_TYPE_MESH), "mesh");
    vflow_mesh *m = vflow_mesh_create(3, 1, NULL);
    cr_assert_not_null(VFLOW_MESH(&m->base));
    cr_assert_null(VFLOW_VOLUME(&m->base));
    char buf[128];
    m->base.type->describe(&m->base, buf, sizeof buf);
    cr_assert(strstr(buf, "3 vertices") != NULL);
    vflow_object_release(&m->base);
}

Test(types, zero_dimension_volume_is_an_error)
{
    size_t dims[3] = {4, 0, 4};
    vflow_error err;
    cr_assert_null(vflow_volume_create(dims, VFLOW_DTYPE_F32, NULL, &err));
    cr_assert_eq(err.code, VFLOW_EINVAL);
}
