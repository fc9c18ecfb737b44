/* SPDX-License-Identifier: BSD-3-Clause */
/* Measurements on analytic contours: areas, calipers, stenosis, plaque,
 * calcium, and the stage's centerline arrays and table. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "measure.h"
#include "synth_contours.h"
#include "vflow/runtime.h"
#include "vflow/volume.h"

static double polygon_factor(size_t n)
{
    return (double)n / (2.0 * M_PI) * sin(2.0 * M_PI / (double)n);
}

Test(measure, ring_area_is_the_shoelace_area_of_the_polygon)
{
    float r[128];
    for (int a = 0; a < 128; a++)
        r[a] = 2.0f;
    cr_assert_float_eq(vflow_ring_area(r, 128), M_PI * 4.0 * polygon_factor(128),
                       1e-9);
    synth_shape sh = {2.0, 0.5, 0.5, 0, 0, 0};
    for (int a = 0; a < 128; a++)
        r[a] = (float)synth_lumen_r(&sh, 0.0, 2.0 * M_PI * a / 128.0);
    double want = M_PI * 2.0 * 1.0;
    cr_assert_lt(fabs(vflow_ring_area(r, 128) - want) / want, 1e-3);
}

Test(measure, ellipse_calipers_are_the_axes)
{
    float r[128];
    synth_shape sh = {2.0, 0.5, 0.5, 0, 0, 0};
    for (int a = 0; a < 128; a++)
        r[a] = (float)synth_lumen_r(&sh, 0.0, 2.0 * M_PI * a / 128.0);
    double dmin, dmax;
    vflow_ring_calipers(r, 128, &dmin, &dmax);
    cr_assert_float_eq(dmax, 4.0, 1e-5);
    cr_assert_lt(fabs(dmin - 2.0) / 2.0, 0.01, "min caliper %g", dmin);
    /* A rotated ellipse: axes at 30 degrees in the frame. */
    for (int a = 0; a < 128; a++)
        r[a] = (float)synth_lumen_r(&sh, 0.0, 2.0 * M_PI * a / 128.0 - M_PI / 6);
    vflow_ring_calipers(r, 128, &dmin, &dmax);
    cr_assert_lt(fabs(dmax - 4.0) / 4.0, 0.01, "max caliper %g", dmax);
    cr_assert_lt(fabs(dmin - 2.0) / 2.0, 0.01, "min caliper %g", dmin);
}

static void measure_all(const vflow_contours *c, vflow_station_measures *m,
                        vflow_vessel_measures *v)
{
    vflow_error err = {0};
    cr_assert_eq(vflow_station_measures_compute(c, m, &err), 0);
    vflow_vessel_measures_compute(c, m, 1.0, -1.0, v);
}

Test(measure, stenosis_of_a_clean_stenosed_tube_is_exact)
{
    synth_path p = {{3, 4, 5}, 30.0, 0, 0, 0};
    synth_shape sh = {1.6, 1.0, 0.6, 15.0, 8.0, 0.5};
    vflow_contours *c = synth_contours(&p, &sh, 0.25, 128, false);
    vflow_station_measures m;
    vflow_vessel_measures v;
    measure_all(c, &m, &v);
    cr_assert_float_eq(v.mla_s_mm, 15.0, 1e-9);
    cr_assert_float_eq(v.mla_xyz[0], 18.0, 1e-9);
    cr_assert_lt(fabs(v.diameter_stenosis_pct - 50.0), 1.0, "DS %g",
                 v.diameter_stenosis_pct);
    cr_assert_lt(fabs(v.area_stenosis_pct - 75.0), 1.0, "AS %g",
                 v.area_stenosis_pct);
    double pf = polygon_factor(128);
    double ref = M_PI * 1.6 * 1.6 * pf, mla = M_PI * 0.8 * 0.8 * pf;
    cr_assert_lt(fabs(v.reference_area_mm2 - ref) / ref, 0.005, "ref %g vs %g",
                 v.reference_area_mm2, ref);
    cr_assert_lt(fabs(v.mla_mm2 - mla) / mla, 1e-5);
    cr_assert_lt(fabs(v.mld_mm - 1.6) / 1.6, 0.01);
    cr_assert_float_eq(v.length_mm, 30.0, 1e-9);
    /* Outer wall unchanged through the lesion: no remodeling. */
    cr_assert_lt(fabs(v.remodeling_index - 1.0), 1e-3);
    double lumen = 0.0, h = 1e-3;
    for (double s = 0.5 * h; s < 30.0; s += h)
        lumen += M_PI * pow(synth_lumen_r(&sh, s, 0.0), 2) * h * pf;
    double plaque = M_PI * 2.2 * 2.2 * pf * 30.0 - lumen;
    cr_assert_lt(fabs(v.plaque_volume_mm3 - plaque) / plaque, 0.01,
                 "plaque %g vs %g", v.plaque_volume_mm3, plaque);
    cr_assert_lt(fabs(m.plaque_burden[60] - (1.0 - 0.64 / (2.2 * 2.2))), 1e-3);
    vflow_station_measures_free(&m);
    vflow_object_release(&c->base);
}

Test(measure, reference_follows_a_tapering_vessel)
{
    /* Diameter tapers 1 % per mm; lesion off-centre at s = 10 of 40. */
    synth_path p = {{0, 0, 0}, 40.0, 0, 0, 0};
    synth_shape sh = {2.0, 1.0, 0.5, 10.0, 6.0, 0.4};
    vflow_contours *c = synth_contours(&p, &sh, 0.5, 64, false);
    for (size_t i = 0; i < c->count; i++) {
        float f = (float)(1.0 - 0.01 * c->frames[i].s_mm);
        for (size_t a = 0; a < 64; a++) {
            c->lumen_r[i * 64 + a] *= f;
            c->outer_r[i * 64 + a] *= f;
        }
    }
    vflow_station_measures m;
    vflow_vessel_measures v;
    measure_all(c, &m, &v);
    cr_assert_float_eq(v.mla_s_mm, 10.0, 1e-9);
    cr_assert_lt(fabs(v.diameter_stenosis_pct - 40.0), 1.0, "DS %g",
                 v.diameter_stenosis_pct);
    cr_assert_lt(fabs(v.area_stenosis_pct - 64.0), 1.0, "AS %g",
                 v.area_stenosis_pct);
    vflow_station_measures_free(&m);
    vflow_object_release(&c->base);
}

Test(measure, mild_lesion_is_found_although_the_distal_end_is_narrower)
{
    /* Diameter 4 -> 2 mm over 50 mm; a 20 % lesion at s = 12 mm. The
     * smallest area is the distal end, the lesion is not. */
    synth_path p = {{0, 0, 0}, 50.0, 0, 0, 0};
    synth_shape sh = {2.0, 1.0, 0.5, 12.0, 5.0, 0.2};
    vflow_contours *c = synth_contours(&p, &sh, 0.25, 64, false);
    for (size_t i = 0; i < c->count; i++) {
        float f = (float)(1.0 - 0.01 * c->frames[i].s_mm);
        for (size_t a = 0; a < 64; a++) {
            c->lumen_r[i * 64 + a] *= f;
            c->outer_r[i * 64 + a] *= f;
        }
    }
    vflow_station_measures m;
    vflow_vessel_measures v;
    measure_all(c, &m, &v);
    cr_assert_float_eq(v.mla_s_mm, 12.0, 1e-9, "lesion at %g", v.mla_s_mm);
    cr_assert_lt(fabs(v.diameter_stenosis_pct - 20.0), 1.0, "DS %g",
                 v.diameter_stenosis_pct);
    cr_assert_gt(v.min_area_s_mm, 45.0);
    cr_assert_lt(v.min_area_mm2, v.mla_mm2);
    vflow_station_measures_free(&m);
    vflow_object_release(&c->base);
}

Test(measure, healthy_tube_has_no_stenosis)
{
    synth_path p = {{0, 0, 0}, 8.0, 10.0, 1.0, 8.0};
    synth_shape sh = {1.5, 0.8, 0.5, 0, 0, 0};
    vflow_contours *c = synth_contours(&p, &sh, 0.5, 64, false);
    vflow_station_measures m;
    vflow_vessel_measures v;
    measure_all(c, &m, &v);
    cr_assert_lt(fabs(v.diameter_stenosis_pct), 0.1);
    cr_assert_lt(fabs(v.length_mm - synth_path_length(&p)) , 0.01);
    cr_assert_lt(fabs(m.max_diam[3] - 3.0) / 3.0, 0.01);
    cr_assert_lt(fabs(m.min_diam[3] - 2.4) / 2.4, 0.01);
    vflow_station_measures_free(&m);
    vflow_object_release(&c->base);
}

/* ------------------------------------------------------------ the stage */

extern const vflow_stage_desc vflow_stage_measure;
static const vflow_stage_desc *const stages[] = {&vflow_stage_measure};
static const vflow_plugin_info info = {VFLOW_ABI_MAJOR, VFLOW_ABI_MINOR,
                                       "measure", 1, stages};
static vflow_runtime *rt;
static vflow_stage *st;
static vflow_error err;

static void setup(void)
{
    vflow_runtime_options o = {.threads = 2, .log_level = VFLOW_LOG_WARN};
    rt = vflow_runtime_new(&o, &err);
    cr_assert_eq(vflow_runtime_add_plugin_info(rt, &info, "test", &err), 0);
    st = vflow_stage_new(rt, &vflow_stage_measure, &err);
    cr_assert_not_null(st);
}

static void teardown(void)
{
    vflow_stage_free(st);
    vflow_runtime_free(rt);
}

TestSuite(measure_stage, .init = setup, .fini = teardown);

Test(measure_stage, appends_station_arrays_in_order_and_one_row_table)
{
    synth_path p = {{0, 0, 0}, 20.0, 0, 0, 0};
    synth_shape sh = {1.5, 1.0, 0.5, 10.0, 6.0, 0.3};
    vflow_contours *c = synth_contours(&p, &sh, 0.5, 64, false);
    vflow_polyline *cl = synth_centerline(c);
    cr_assert_eq(vflow_stage_set_input(st, "contours", &c->base, &err), 0);
    cr_assert_eq(vflow_stage_set_input(st, "centerline", &cl->base, &err), 0);
    cr_assert_eq(vflow_stage_run(st, &err), 0, "%s", err.message);
    vflow_polyline *out = VFLOW_POLYLINE(vflow_stage_output(st, "centerline"));
    cr_assert_not_null(out);
    cr_assert_eq(out->count, c->count);
    const char *names[] = {"s_mm", "lumen_area_mm2", "lumen_diam_mm",
                           "min_diam_mm", "max_diam_mm", "wall_area_mm2",
                           "plaque_burden", "outer_area_mm2", "radius"};
    cr_assert_eq(out->n_arrays, 9);
    for (size_t a = 0; a < 9; a++)
        cr_assert_str_eq(out->arrays[a].name, names[a]);
    double *area = vflow_polyline_array(out, "lumen_area_mm2");
    double *rad = vflow_polyline_array(out, "radius");
    cr_assert_float_eq(rad[0], sqrt(area[0] / M_PI), 1e-12);
    /* The input is untouched (immutable once published). */
    cr_assert_eq(cl->n_arrays, 1);
    vflow_table *t = VFLOW_TABLE(vflow_stage_output(st, "measures"));
    cr_assert_not_null(t);
    cr_assert_eq(t->n_rows, 1);
    const char *cols[] = {"length_mm", "mla_mm2", "mla_s_mm", "mla_x", "mla_y",
                          "mla_z", "reference_area_mm2", "area_stenosis_pct",
                          "diameter_stenosis_pct", "plaque_volume_mm3",
                          "remodeling_index", "calcium_volume_mm3",
                          "n_stations"};
    for (size_t i = 0; i < 13; i++)
        cr_assert_str_eq(t->cols[i].name, cols[i]);
    cr_assert_lt(fabs(vflow_table_column(t, "diameter_stenosis_pct")[0] - 30.0),
                 1.0);
    cr_assert(isnan(vflow_table_column(t, "calcium_volume_mm3")[0]));
    cr_assert_float_eq(vflow_table_column(t, "n_stations")[0], (double)c->count,
                       0);
    vflow_object_release(&cl->base);
    vflow_object_release(&c->base);
}

Test(measure_stage, csv_columns_come_first_whatever_the_input_carries)
{
    synth_path p = {{0, 0, 0}, 10.0, 0, 0, 0};
    synth_shape sh = {1.5, 1.0, 0.5, 0, 0, 0};
    vflow_contours *c = synth_contours(&p, &sh, 0.5, 32, false);
    vflow_polyline *cl = vflow_polyline_create(c->count, NULL);
    vflow_polyline_add_array(cl, "tangent_x");
    vflow_polyline_add_array(cl, "radius");
    vflow_polyline_add_array(cl, "s_mm");
    for (size_t i = 0; i < c->count; i++)
        cl->xyz[i][0] = c->frames[i].center[0];
    cr_assert_eq(vflow_stage_set_input(st, "contours", &c->base, &err), 0);
    cr_assert_eq(vflow_stage_set_input(st, "centerline", &cl->base, &err), 0);
    cr_assert_eq(vflow_stage_run(st, &err), 0, "%s", err.message);
    vflow_polyline *out = VFLOW_POLYLINE(vflow_stage_output(st, "centerline"));
    const char *names[] = {"s_mm", "lumen_area_mm2", "lumen_diam_mm",
                           "min_diam_mm", "max_diam_mm", "wall_area_mm2",
                           "plaque_burden", "tangent_x", "radius",
                           "outer_area_mm2"};
    cr_assert_eq(out->n_arrays, 10);
    for (size_t a = 0; a < 10; a++)
        cr_assert_str_eq(out->arrays[a].name, names[a]);
    /* radius was overwritten with the equivalent lumen radius */
    cr_assert_float_eq(vflow_polyline_array(out, "radius")[3],
                       0.5 * vflow_polyline_array(out, "lumen_diam_mm")[3], 1e-12);
    vflow_object_release(&cl->base);
    vflow_object_release(&c->base);
}

Test(measure_stage, interpolates_onto_a_denser_centerline)
{
    synth_path p = {{0, 0, 0}, 20.0, 0, 0, 0};
    synth_shape sh = {1.5, 1.0, 0.5, 10.0, 6.0, 0.3};
    vflow_contours *c = synth_contours(&p, &sh, 0.5, 64, false);
    vflow_polyline *cl = vflow_polyline_create(81, NULL);
    for (size_t i = 0; i < 81; i++)
        cl->xyz[i][0] = 0.25 * (double)i;
    cr_assert_eq(vflow_stage_set_input(st, "contours", &c->base, &err), 0);
    cr_assert_eq(vflow_stage_set_input(st, "centerline", &cl->base, &err), 0);
    cr_assert_eq(vflow_stage_run(st, &err), 0, "%s", err.message);
    vflow_polyline *out = VFLOW_POLYLINE(vflow_stage_output(st, "centerline"));
    cr_assert_eq(out->count, 81);
    double *d = vflow_polyline_array(out, "lumen_diam_mm");
    double *s = vflow_polyline_array(out, "s_mm");
    cr_assert_float_eq(s[40], 10.0, 1e-9);
    cr_assert_lt(fabs(d[40] - 0.7 * 3.0 * sqrt(polygon_factor(64))), 1e-3);
    vflow_object_release(&cl->base);
    vflow_object_release(&c->base);
}

Test(measure_stage, counts_calcium_in_the_wall_but_not_in_the_lumen)
{
    /* Tube along x, lumen r 2, wall to 3 mm; a bright plaque arc (y > 0,
     * 2.3 < rho < 2.7, 4 < x < 8), bright contrast in the lumen and a
     * 250 HU contrast halo in the first 0.2 mm of the wall. */
    size_t dims[3] = {64, 40, 40};
    double aff[4][4] = {{0.25, 0, 0, -2}, {0, 0.25, 0, -5}, {0, 0, 0.25, -5},
                        {0, 0, 0, 1}};
    vflow_volume *img = vflow_volume_create(dims, VFLOW_DTYPE_I16, aff, NULL);
    img->modality = VFLOW_MODALITY_CT;
    size_t want = 0;
    for (size_t k = 0; k < 40; k++)
        for (size_t j = 0; j < 40; j++)
            for (size_t i = 0; i < 64; i++) {
                double ijk[3] = {(double)i, (double)j, (double)k}, x[3];
                vflow_volume_index_to_world(img, ijk, x);
                double rho = hypot(x[1], x[2]), v = 40;
                if (rho < 2.0)
                    v = 450;
                else if (rho < 2.2)
                    v = 250;
                if (x[1] > 0 && rho > 2.3 && rho < 2.7 && x[0] > 4 && x[0] < 8) {
                    v = 900;
                    want++;
                }
                vflow_volume_set(img, i, j, k, v);
            }
    synth_path p = {{0, 0, 0}, 12.0, 0, 0, 0};
    synth_shape sh = {2.0, 1.0, 1.0, 0, 0, 0};
    vflow_contours *c = synth_contours(&p, &sh, 0.5, 128, false);
    cr_assert_eq(vflow_stage_set_input(st, "contours", &c->base, &err), 0);
    cr_assert_eq(vflow_stage_set_input(st, "volume", &img->base, &err), 0);
    cr_assert_eq(vflow_stage_run(st, &err), 0, "%s", err.message);
    vflow_table *t = VFLOW_TABLE(vflow_stage_output(st, "measures"));
    double got = vflow_table_column(t, "calcium_volume_mm3")[0];
    cr_assert_float_eq(got, (double)want * 0.25 * 0.25 * 0.25, 1e-9,
                       "calcium %g mm3, want %g", got, want * 0.015625);
    /* Voxel centres exactly on the lumen circle (rho = 2) may be lumen. */
    cr_assert_float_eq(vflow_table_column(t, "calcium_threshold_hu")[0],
                       1.1 * 450, 5.0, "threshold %g",
                       vflow_table_column(t, "calcium_threshold_hu")[0]);
    /* Without a centerline the output polyline runs through the centres. */
    vflow_polyline *out = VFLOW_POLYLINE(vflow_stage_output(st, "centerline"));
    cr_assert_eq(out->count, c->count);
    cr_assert_float_eq(out->xyz[4][0], 2.0, 1e-12);
    /* The fixed 130 HU threshold alone also counts the halo. */
    cr_assert_eq(vflow_stage_set_param(st, "calcium_lumen_factor", "0", &err), 0);
    cr_assert_eq(vflow_stage_run(st, &err), 0, "%s", err.message);
    t = VFLOW_TABLE(vflow_stage_output(st, "measures"));
    cr_assert_gt(vflow_table_column(t, "calcium_volume_mm3")[0], got * 1.5);
    vflow_object_release(&img->base);
    vflow_object_release(&c->base);
}

Test(measure_stage, calcium_threshold_follows_the_lumen_plateau_not_its_rim)
{
    /* A 1 mm lumen blurred by a 0.5 mm Gaussian edge (450 HU plateau, 40 HU
     * outside): most lumen voxels are rim, so their mean (~350 HU) is far
     * below the plateau, and 1.1 x mean would let the blurred halo plus
     * noise in the wall pass as calcium. No calcium here at all. */
    size_t dims[3] = {64, 24, 24};
    double aff[4][4] = {{0.25, 0, 0, -2}, {0, 0.25, 0, -3}, {0, 0, 0.25, -3},
                        {0, 0, 0, 1}};
    vflow_volume *img = vflow_volume_create(dims, VFLOW_DTYPE_I16, aff, NULL);
    img->modality = VFLOW_MODALITY_CT;
    for (size_t k = 0; k < dims[2]; k++)
        for (size_t j = 0; j < dims[1]; j++)
            for (size_t i = 0; i < dims[0]; i++) {
                double ijk[3] = {(double)i, (double)j, (double)k}, x[3];
                vflow_volume_index_to_world(img, ijk, x);
                double rho = hypot(x[1], x[2]);
                double edge = 0.5 * erfc((rho - 1.0) / (0.5 * sqrt(2.0)));
                /* +-60 HU checkerboard "noise" in the wall only */
                double noise = rho > 1.0 && rho < 1.8
                                   ? ((i + j + k) % 2 ? 60.0 : -60.0)
                                   : 0.0;
                vflow_volume_set(img, i, j, k, 40.0 + 410.0 * edge + noise);
            }
    synth_path p = {{0, 0, 0}, 12.0, 0, 0, 0};
    synth_shape sh = {1.0, 1.0, 0.8, 0, 0, 0};
    vflow_contours *c = synth_contours(&p, &sh, 0.5, 128, false);
    cr_assert_eq(vflow_stage_set_input(st, "contours", &c->base, &err), 0);
    cr_assert_eq(vflow_stage_set_input(st, "volume", &img->base, &err), 0);
    cr_assert_eq(vflow_stage_run(st, &err), 0, "%s", err.message);
    vflow_table *t = VFLOW_TABLE(vflow_stage_output(st, "measures"));
    double thr = vflow_table_column(t, "calcium_threshold_hu")[0];
    cr_assert_gt(thr, 1.1 * 0.9 * 450.0, "threshold %g HU", thr);
    cr_assert_float_eq(vflow_table_column(t, "calcium_volume_mm3")[0], 0.0,
                       1e-12);
    vflow_object_release(&img->base);
    vflow_object_release(&c->base);
}

Test(measure_stage, rejects_a_single_station)
{
    vflow_contours *c = vflow_contours_create(1, 16, NULL);
    cr_assert_eq(vflow_stage_set_input(st, "contours", &c->base, &err), 0);
    cr_assert_eq(vflow_stage_run(st, &err), VFLOW_EINVAL);
    cr_assert(strstr(err.message, "stations") != NULL);
    vflow_object_release(&c->base);
}

Test(measure, failed_sections_do_not_poison_the_vessel_figures)
{
    synth_path p = {{0, 0, 0}, 30.0, 0, 0, 0};
    synth_shape sh = {1.6, 1.0, 0.6, 15.0, 8.0, 0.5};
    vflow_contours *c = synth_contours(&p, &sh, 0.25, 64, false);
    for (size_t a = 0; a < 64; a++)
        c->lumen_r[20 * 64 + a] = NAN;
    vflow_station_measures m;
    vflow_vessel_measures v;
    measure_all(c, &m, &v);
    cr_assert(isnan(m.lumen_area[20]));
    cr_assert_lt(fabs(v.diameter_stenosis_pct - 50.0), 1.0);
    cr_assert(isfinite(v.plaque_volume_mm3));
    vflow_station_measures_free(&m);
    vflow_object_release(&c->base);
}
