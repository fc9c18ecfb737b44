/* SPDX-License-Identifier: BSD-3-Clause */
/* Mesh file formats: binary STL, VTK XML PolyData (.vtp), Wavefront OBJ. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mesh_io.h"

static FILE *open_for_writing(const char *path, const char *mode,
                              vflow_error *err)
{
    FILE *f = fopen(path, mode);
    if (f == NULL)
        vflow_error_set(err, VFLOW_EIO, "cannot open '%s' for writing: %s",
                        path, strerror(errno));
    return f;
}

/* Closes f and reports a write error (disk full...) seen by any call. */
static int close_checked(FILE *f, const char *path, bool ok, vflow_error *err)
{
    ok = !ferror(f) && ok;
    if (fclose(f) != 0)
        ok = false;
    return ok ? 0 : vflow_error_set(err, VFLOW_EIO, "writing '%s' failed: %s",
                                    path, strerror(errno));
}

/* ---------------------------------------------------------------- STL */

static unsigned char *put_le32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v, p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16), p[3] = (unsigned char)(v >> 24);
    return p + 4;
}

static unsigned char *put_f32(unsigned char *p, float x)
{
    uint32_t v;
    memcpy(&v, &x, sizeof v);
    return put_le32(p, v);
}

/* Unit facet normal (right-hand rule), zero for a degenerate facet. */
static void facet_normal(const vflow_mesh *m, size_t t, float n[3])
{
    const float *a = m->vertices[m->triangles[t][0]];
    const float *b = m->vertices[m->triangles[t][1]];
    const float *c = m->vertices[m->triangles[t][2]];
    double u[3] = {b[0] - a[0], b[1] - a[1], b[2] - a[2]};
    double v[3] = {c[0] - a[0], c[1] - a[1], c[2] - a[2]};
    double x[3] = {u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2],
                   u[0] * v[1] - u[1] * v[0]};
    double len = sqrt(x[0] * x[0] + x[1] * x[1] + x[2] * x[2]);
    for (int k = 0; k < 3; k++)
        n[k] = len > 0.0 ? (float)(x[k] / len) : 0.0f;
}

int vflow_mesh_write_stl(const vflow_mesh *m, const char *path,
                         vflow_error *err)
{
    if (m->n_triangles > UINT32_MAX)
        return vflow_error_set(err, VFLOW_ERANGE, "%zu triangles do not fit "
                               "a binary STL", m->n_triangles);
    size_t size = 84 + 50 * m->n_triangles;
    unsigned char *buf = calloc(size, 1);
    if (buf == NULL)
        return vflow_error_set(err, VFLOW_ENOMEM, "out of memory for a "
                               "%zu-byte STL", size);
    snprintf((char *)buf, 80, "vflow binary STL, world mm (NIfTI RAS+)");
    unsigned char *p = put_le32(buf + 80, (uint32_t)m->n_triangles);
    for (size_t t = 0; t < m->n_triangles; t++) {
        float n[3];
        facet_normal(m, t, n);
        for (int k = 0; k < 3; k++)
            p = put_f32(p, n[k]);
        for (int v = 0; v < 3; v++)
            for (int k = 0; k < 3; k++)
                p = put_f32(p, m->vertices[m->triangles[t][v]][k]);
        p += 2; /* attribute byte count: 0 */
    }
    FILE *f = open_for_writing(path, "wb", err);
    if (f == NULL) {
        free(buf);
        return VFLOW_EIO;
    }
    bool ok = fwrite(buf, 1, size, f) == size;
    free(buf);
    return close_checked(f, path, ok, err);
}

/* ---------------------------------------------------------------- VTP */

int vflow_mesh_write_vtp(const vflow_mesh *m, const char *path,
                         vflow_error *err)
{
    FILE *f = open_for_writing(path, "w", err);
    if (f == NULL)
        return VFLOW_EIO;
    fprintf(f, "<?xml version=\"1.0\"?>\n"
               "<!-- vflow mesh: world mm, NIfTI RAS+ -->\n"
               "<VTKFile type=\"PolyData\" version=\"1.0\" "
               "byte_order=\"LittleEndian\" header_type=\"UInt64\">\n"
               "  <PolyData>\n"
               "    <Piece NumberOfPoints=\"%zu\" NumberOfVerts=\"0\" "
               "NumberOfLines=\"0\" NumberOfStrips=\"0\" NumberOfPolys=\"%zu\">\n"
               "      <Points>\n"
               "        <DataArray type=\"Float32\" Name=\"Points\" "
               "NumberOfComponents=\"3\" format=\"ascii\">\n",
            m->n_vertices, m->n_triangles);
    for (size_t v = 0; v < m->n_vertices; v++)
        fprintf(f, "          %.9g %.9g %.9g\n", m->vertices[v][0],
                m->vertices[v][1], m->vertices[v][2]);
    fprintf(f, "        </DataArray>\n      </Points>\n      <Polys>\n"
               "        <DataArray type=\"Int64\" Name=\"connectivity\" "
               "format=\"ascii\">\n");
    for (size_t t = 0; t < m->n_triangles; t++)
        fprintf(f, "          %u %u %u\n", m->triangles[t][0],
                m->triangles[t][1], m->triangles[t][2]);
    fprintf(f, "        </DataArray>\n        <DataArray type=\"Int64\" "
               "Name=\"offsets\" format=\"ascii\">\n");
    for (size_t t = 0; t < m->n_triangles; t++)
        fprintf(f, "%s%zu%s", t % 16 == 0 ? "          " : " ", 3 * (t + 1),
                t % 16 == 15 || t + 1 == m->n_triangles ? "\n" : "");
    fprintf(f, "        </DataArray>\n      </Polys>\n    </Piece>\n"
               "  </PolyData>\n</VTKFile>\n");
    return close_checked(f, path, true, err);
}

/* ---------------------------------------------------------------- OBJ */

int vflow_mesh_write_obj(const vflow_mesh *m, const char *path,
                         vflow_error *err)
{
    FILE *f = open_for_writing(path, "w", err);
    if (f == NULL)
        return VFLOW_EIO;
    fprintf(f, "# vflow mesh: %zu vertices, %zu triangles, world mm "
               "(NIfTI RAS+), counter-clockwise seen from outside\n",
            m->n_vertices, m->n_triangles);
    for (size_t v = 0; v < m->n_vertices; v++)
        fprintf(f, "v %.9g %.9g %.9g\n", m->vertices[v][0], m->vertices[v][1],
                m->vertices[v][2]);
    for (size_t t = 0; t < m->n_triangles; t++)
        fprintf(f, "f %u %u %u\n", m->triangles[t][0] + 1,
                m->triangles[t][1] + 1, m->triangles[t][2] + 1);
    return close_checked(f, path, true, err);
}
