/* SPDX-License-Identifier: BSD-3-Clause */
/* Serialisers of a world-mm polyline with its per-point arrays. */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "polyline_io.h"

/* Arc length at point i: the "s_mm" array when present, else computed. */
static double pio_arc(const vflow_polyline *pl, const double *s, size_t i,
                      double *acc)
{
    if (s != NULL)
        return s[i];
    if (i > 0) {
        double d2 = 0.0;
        for (int c = 0; c < 3; c++)
            d2 += (pl->xyz[i][c] - pl->xyz[i - 1][c]) *
                  (pl->xyz[i][c] - pl->xyz[i - 1][c]);
        *acc += sqrt(d2);
    }
    return *acc;
}

/* Numbers the way every reader accepts: finite, or 0 with NaN/inf mapped
 * to "nan" for CSV only (JSON and VTK ASCII have no portable spelling). */
static void pio_num(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, "%.6f", v);
    else
        fputs("nan", f);
}

int vflow_polyline_write_csv(const vflow_polyline *pl, FILE *f)
{
    const double *s = vflow_polyline_array(pl, "s_mm");
    fputs("s_mm,x,y,z", f);
    for (size_t a = 0; a < pl->n_arrays; a++)
        if (strcmp(pl->arrays[a].name, "s_mm") != 0)
            fprintf(f, ",%s", pl->arrays[a].name);
    fputc('\n', f);
    double acc = 0.0;
    for (size_t i = 0; i < pl->count; i++) {
        pio_num(f, pio_arc(pl, s, i, &acc));
        for (int c = 0; c < 3; c++) {
            fputc(',', f);
            pio_num(f, pl->xyz[i][c]);
        }
        for (size_t a = 0; a < pl->n_arrays; a++) {
            if (strcmp(pl->arrays[a].name, "s_mm") == 0)
                continue;
            fputc(',', f);
            pio_num(f, pl->arrays[a].values[i]);
        }
        fputc('\n', f);
    }
    return ferror(f) ? VFLOW_EIO : 0;
}

static void vtp_scalar_array(FILE *f, const char *name, const double *v,
                             size_t n)
{
    fprintf(f, "        <DataArray type=\"Float64\" Name=\"%s\" "
               "NumberOfComponents=\"1\" format=\"ascii\">\n", name);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s%.9g", i % 8 == 0 ? "          " : " ",
                isfinite(v[i]) ? v[i] : 0.0);
    fputs("\n        </DataArray>\n", f);
}

/* VTK XML PolyData, ASCII: one polyline cell through all points, every
 * array as PointData; "radius" is also written under VMTK's name. */
int vflow_polyline_write_vtp(const vflow_polyline *pl, FILE *f)
{
    fputs("<?xml version=\"1.0\"?>\n"
          "<VTKFile type=\"PolyData\" version=\"0.1\" "
          "byte_order=\"LittleEndian\">\n  <PolyData>\n", f);
    fprintf(f, "    <Piece NumberOfPoints=\"%zu\" NumberOfVerts=\"0\" "
               "NumberOfLines=\"%d\" NumberOfStrips=\"0\" "
               "NumberOfPolys=\"0\">\n      <PointData>\n",
            pl->count, pl->count > 0 ? 1 : 0);
    for (size_t a = 0; a < pl->n_arrays; a++)
        vtp_scalar_array(f, pl->arrays[a].name, pl->arrays[a].values,
                         pl->count);
    const double *r = vflow_polyline_array(pl, "radius");
    if (r != NULL)
        vtp_scalar_array(f, "MaximumInscribedSphereRadius", r, pl->count);
    fputs("      </PointData>\n      <Points>\n        <DataArray "
          "type=\"Float64\" NumberOfComponents=\"3\" format=\"ascii\">\n", f);
    for (size_t i = 0; i < pl->count; i++)
        fprintf(f, "          %.9g %.9g %.9g\n", pl->xyz[i][0],
                pl->xyz[i][1], pl->xyz[i][2]);
    fputs("        </DataArray>\n      </Points>\n      <Lines>\n"
          "        <DataArray type=\"Int64\" Name=\"connectivity\" "
          "format=\"ascii\">\n", f);
    for (size_t i = 0; i < pl->count; i++)
        fprintf(f, "%s%zu", i % 16 == 0 ? "          " : " ", i);
    fputs("\n        </DataArray>\n        <DataArray type=\"Int64\" "
          "Name=\"offsets\" format=\"ascii\">\n", f);
    if (pl->count > 0)
        fprintf(f, "          %zu\n", pl->count);
    fputs("        </DataArray>\n      </Lines>\n    </Piece>\n"
          "  </PolyData>\n</VTKFile>\n", f);
    return ferror(f) ? VFLOW_EIO : 0;
}

/* 3D Slicer markups curve (schema v1.0.3), RAS world mm like every vflow
 * point, one control point per polyline point. */
int vflow_polyline_write_mrk_json(const vflow_polyline *pl, FILE *f)
{
    fputs("{\n  \"@schema\": \"https://raw.githubusercontent.com/slicer/"
          "slicer/master/Modules/Loadable/Markups/Resources/Schema/"
          "markups-schema-v1.0.3.json#\",\n  \"markups\": [\n    {\n"
          "      \"type\": \"Curve\",\n"
          "      \"coordinateSystem\": \"RAS\",\n"
          "      \"coordinateUnits\": \"mm\",\n"
          "      \"locked\": true,\n"
          "      \"labelFormat\": \"%N-%d\",\n"
          "      \"controlPoints\": [\n", f);
    for (size_t i = 0; i < pl->count; i++) {
        double p[3];
        for (int c = 0; c < 3; c++)
            p[c] = isfinite(pl->xyz[i][c]) ? pl->xyz[i][c] : 0.0;
        fprintf(f, "        {\"id\": \"%zu\", \"label\": \"CL-%zu\", "
                   "\"position\": [%.6f, %.6f, %.6f], "
                   "\"positionStatus\": \"defined\"}%s\n",
                i + 1, i + 1, p[0], p[1], p[2],
                i + 1 < pl->count ? "," : "");
    }
    fputs("      ]\n    }\n  ]\n}\n", f);
    return ferror(f) ? VFLOW_EIO : 0;
}

int vflow_polyline_write_file(const vflow_polyline *pl, const char *path,
                              int (*fn)(const vflow_polyline *, FILE *),
                              vflow_error *err)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return vflow_error_set(err, VFLOW_EIO, "cannot open '%s' for "
                               "writing: %s", path, strerror(errno));
    int rc = fn(pl, f);
    if (fclose(f) != 0 || rc != 0)
        return vflow_error_set(err, VFLOW_EIO, "writing '%s' failed: %s",
                               path, strerror(errno));
    return 0;
}
