/* SPDX-License-Identifier: BSD-3-Clause */
/* Writes a phantom's image, label map and truth files (NIfTI-1, CSV, JSON). */
#include "phantom.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "vflow/volume.h"

/* Truth contours are written every this many 0.1 mm stations (0.5 mm):
 * the dense centreline CSV carries the radii at 0.1 mm anyway. */
#define CONTOUR_STRIDE 5

/* ------------------------------------------------------------ NIfTI-1 */

static void put_i16(unsigned char *h, size_t off, int v)
{
    int16_t x = (int16_t)v;
    memcpy(h + off, &x, 2);
}

static void put_i32(unsigned char *h, size_t off, int v)
{
    int32_t x = v;
    memcpy(h + off, &x, 4);
}

static void put_f32(unsigned char *h, size_t off, double v)
{
    float x = (float)v;
    memcpy(h + off, &x, 4);
}

/* Quaternion of the rotation part of `a` (columns normalised), per the
 * NIfTI-1 qform convention (nifti1.h, method 2); qfac = -1 if improper. */
static void affine_to_quatern(const double a[4][4], const double sp[3],
                              double q[3], double *qfac)
{
    double r[3][3];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            r[i][j] = a[i][j] / sp[j];
    double det = r[0][0] * (r[1][1] * r[2][2] - r[1][2] * r[2][1]) -
                 r[0][1] * (r[1][0] * r[2][2] - r[1][2] * r[2][0]) +
                 r[0][2] * (r[1][0] * r[2][1] - r[1][1] * r[2][0]);
    *qfac = det < 0 ? -1.0 : 1.0;
    if (det < 0)
        for (int i = 0; i < 3; i++)
            r[i][2] = -r[i][2];
    double w = 1.0 + r[0][0] + r[1][1] + r[2][2], qa, qb, qc, qd;
    if (w > 0.5) {
        qa = 0.5 * sqrt(w);
        qb = 0.25 * (r[2][1] - r[1][2]) / qa;
        qc = 0.25 * (r[0][2] - r[2][0]) / qa;
        qd = 0.25 * (r[1][0] - r[0][1]) / qa;
    } else {
        double xd = 1.0 + r[0][0] - (r[1][1] + r[2][2]);
        double yd = 1.0 + r[1][1] - (r[0][0] + r[2][2]);
        double zd = 1.0 + r[2][2] - (r[0][0] + r[1][1]);
        if (xd > 1.0) {
            qb = 0.5 * sqrt(xd);
            qc = 0.25 * (r[0][1] + r[1][0]) / qb;
            qd = 0.25 * (r[0][2] + r[2][0]) / qb;
            qa = 0.25 * (r[2][1] - r[1][2]) / qb;
        } else if (yd > 1.0) {
            qc = 0.5 * sqrt(yd);
            qb = 0.25 * (r[0][1] + r[1][0]) / qc;
            qd = 0.25 * (r[1][2] + r[2][1]) / qc;
            qa = 0.25 * (r[0][2] - r[2][0]) / qc;
        } else {
            qd = 0.5 * sqrt(zd);
            qb = 0.25 * (r[0][2] + r[2][0]) / qd;
            qc = 0.25 * (r[1][2] + r[2][1]) / qd;
            qa = 0.25 * (r[1][0] - r[0][1]) / qd;
        }
        if (qa < 0) {
            qb = -qb;
            qc = -qc;
            qd = -qd;
        }
    }
    q[0] = qb;
    q[1] = qc;
    q[2] = qd;
}

static int nifti_code(vflow_dtype d, int *bitpix)
{
    switch (d) {
    case VFLOW_DTYPE_U8: *bitpix = 8; return 2;
    case VFLOW_DTYPE_I16: *bitpix = 16; return 4;
    case VFLOW_DTYPE_F32: *bitpix = 32; return 16;
    default: return 0;
    }
}

static void nifti_header(const vflow_volume *vol, const char *descrip,
                         int code, int bitpix, unsigned char h[352])
{
    memset(h, 0, 352);
    put_i32(h, 0, 348);
    h[38] = 'r';
    put_i16(h, 40, 3);
    for (int a = 0; a < 3; a++)
        put_i16(h, 42 + 2 * a, (int)vol->dims[a]);
    for (int a = 3; a < 7; a++)
        put_i16(h, 42 + 2 * a, 1);
    put_i16(h, 70, code);
    put_i16(h, 72, bitpix);
    double q[3], qfac;
    affine_to_quatern(vol->affine, vol->spacing, q, &qfac);
    put_f32(h, 76, qfac);
    for (int a = 0; a < 3; a++)
        put_f32(h, 80 + 4 * a, vol->spacing[a]);
    put_f32(h, 108, 352.0);          /* vox_offset */
    put_f32(h, 112, 1.0);            /* scl_slope: identity scaling */
    h[123] = 2;                      /* NIFTI_UNITS_MM */
    snprintf((char *)h + 148, 80, "%s", descrip ? descrip : "");
    put_i16(h, 252, 1);              /* qform_code: scanner anat */
    put_i16(h, 254, 1);              /* sform_code: scanner anat */
    for (int a = 0; a < 3; a++) {
        put_f32(h, 256 + 4 * a, q[a]);
        put_f32(h, 268 + 4 * a, vol->affine[a][3]);
    }
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 4; c++)
            put_f32(h, 280 + 16 * r + 4 * c, vol->affine[r][c]);
    memcpy(h + 344, "n+1", 4);
}

int vflow_phantom_write_nifti(const vflow_volume *vol, const char *path,
                              const char *descrip, vflow_error *err)
{
    int bitpix = 0;
    int code = nifti_code(vol->dtype, &bitpix);
    if (!code)
        return vflow_error_set(err, VFLOW_EINVAL,
                               "%s: cannot write dtype %s (u8, i16, f32 only)",
                               path, vflow_dtype_name(vol->dtype));
    unsigned char h[352];
    nifti_header(vol, descrip, code, bitpix, h);
    size_t len = strlen(path);
    bool gz = len > 3 && strcmp(path + len - 3, ".gz") == 0;
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return vflow_error_set(err, VFLOW_EINVAL, "path too long: %s", path);
    /* gzip header with mtime 0 (zlib's gzopen): identical bytes per run.
     * Level 1 above 8 M voxels: deflate dominates the time of benchmark
     * sized volumes, and level 6 gains only a few % on noisy data. */
    size_t nvox = vflow_volume_voxel_count(vol);
    gzFile g = gzopen(tmp, !gz ? "wbT" : (nvox > (8u << 20) ? "wb1" : "wb6"));
    if (!g)
        return vflow_error_set(err, VFLOW_EIO, "cannot create %s: %s", path,
                               strerror(errno));
    size_t nbytes = vflow_volume_voxel_count(vol) * vflow_dtype_size(vol->dtype);
    int ok = gzwrite(g, h, 352) == 352;
    const unsigned char *d = vol->data;
    for (size_t off = 0; ok && off < nbytes; off += 1u << 26) {
        unsigned n = (unsigned)(nbytes - off < (1u << 26) ? nbytes - off
                                                           : (1u << 26));
        ok = gzwrite(g, d + off, n) == (int)n;
    }
    ok = (gzclose(g) == Z_OK) && ok;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return vflow_error_set(err, VFLOW_EIO, "writing %s failed", path);
    }
    return 0;
}

/* --------------------------------------------------------- phantom.json */

static void json_vec(FILE *f, const char *key, const double v[3])
{
    fprintf(f, "\"%s\":[%.5f,%.5f,%.5f]", key, v[0], v[1], v[2]);
}

static void json_radii(FILE *f, const char *key, const double *r, size_t n)
{
    fprintf(f, "\"%s\":[", key);
    for (size_t a = 0; a < n; a++)
        fprintf(f, "%s%.4f", a ? "," : "", r[a]);
    fputc(']', f);
}


static void jkv(FILE *f, const char *k, double v, bool comma)
{
    fprintf(f, "\"%s\":%.6g%s", k, v, comma ? "," : "");
}

static void json_lesions(const vflow_phantom *ph, FILE *f)
{
    const vflow_phantom_params *p = &ph->params;
    fprintf(f, " \"lesions\":[");
    for (size_t i = 0; i < p->n_lesions; i++) {
        const vflow_phantom_lesion *l = &p->lesions[i];
        double r0 = vflow_phantom_r0(p, l->s_mm);
        double rl = vflow_phantom_lumen_radius(ph, l->s_mm);
        fprintf(f, "%s{\"kind\":\"%s\",", i ? "," : "",
                l->kind == VFLOW_LESION_ECCENTRIC ? "eccentric" : "concentric");
        jkv(f, "s_mm", l->s_mm, true);
        jkv(f, "length_mm", l->length_mm, true);
        jkv(f, "stenosis_pct_diameter", l->stenosis_pct, true);
        jkv(f, "angle_deg", l->angle_deg, true);
        jkv(f, "reference_radius_mm", r0, true);
        jkv(f, "min_lumen_radius_mm", rl, true);
        jkv(f, "min_lumen_area_mm2", M_PI * rl * rl, false);
        fputc('}', f);
    }
    fprintf(f, "],\n");
}

bool vflow_phantom_vessel_inside(const vflow_phantom *ph)
{
    for (size_t i = 0; i < ph->n_stations; i++)
        if (!vflow_volume_contains_world(ph->image, ph->stations[i].center))
            return false;
    return true;
}

int vflow_phantom_write_json(const vflow_phantom *ph, FILE *f)
{
    const vflow_phantom_params *p = &ph->params;
    const vflow_volume *im = ph->image;
    fprintf(f, "{\"generator\":\"vflow phantom\",\"preset\":\"%s\","
               "\"seed\":%llu,\n", p->preset, (unsigned long long)p->seed);
    fprintf(f, " \"grid\":{\"dims\":[%zu,%zu,%zu],", im->dims[0], im->dims[1],
            im->dims[2]);
    fprintf(f, "\"spacing_mm\":[%.6g,%.6g,%.6g],", p->spacing[0],
            p->spacing[1], p->spacing[2]);
    jkv(f, "oblique_deg", p->oblique_deg, false);
    fprintf(f, ",\"rotation\":\"R = Rx(oblique) * Rz(oblique)\",\"affine\":[");
    for (int r = 0; r < 4; r++)
        fprintf(f, "%s[%.9g,%.9g,%.9g,%.9g]", r ? "," : "", im->affine[r][0],
                im->affine[r][1], im->affine[r][2], im->affine[r][3]);
    fprintf(f, "],\"vessel_inside_image\":%s},\n",
            vflow_phantom_vessel_inside(ph) ? "true" : "false");
    fprintf(f, " \"scanner\":{");
    jkv(f, "psf_sigma_mm", p->psf_sigma_mm, true);
    jkv(f, "noise_hu", p->noise_hu, true);
    jkv(f, "noise_correlation_mm", p->noise_corr_mm, true);
    jkv(f, "supersample", p->supersample, false);
    fprintf(f, ",\"partial_volume\":\"boundary voxels averaged over "
               "supersample^3 sub-samples\"},\n");
    fprintf(f, " \"vessel\":{");
    jkv(f, "length_mm", p->length_mm, true);
    jkv(f, "lumen_radius_proximal_mm", p->r_prox_mm, true);
    jkv(f, "lumen_radius_distal_mm", p->r_dist_mm, true);
    jkv(f, "wall_proximal_mm", p->wall_prox_mm, true);
    jkv(f, "wall_distal_mm", p->wall_dist_mm, true);
    fprintf(f, "\"bends\":[");
    for (size_t i = 0; i < p->n_bends; i++)
        fprintf(f, "%s{\"s0\":%g,\"s1\":%g,\"curvature_per_mm\":%.6g,"
                   "\"torsion_per_mm\":%.6g,\"ramp_mm\":%g}",
                i ? "," : "", p->bends[i].s0, p->bends[i].s1,
                p->bends[i].kappa, p->bends[i].tau, p->bends[i].ramp);
    fprintf(f, "]},\n");
    json_lesions(ph, f);
    fprintf(f, " \"calcium\":{\"present\":%s,", p->calcium ? "true" : "false");
    jkv(f, "s_mm", p->calcium_s_mm, true);
    jkv(f, "length_mm", p->calcium_length_mm, true);
    jkv(f, "angle_deg", p->calcium_angle_deg, true);
    jkv(f, "arc_deg", p->calcium_arc_deg, true);
    jkv(f, "gap_to_lumen_mm", p->calcium_gap_mm, true);
    jkv(f, "thickness_mm", p->calcium_thickness_mm, true);
    jkv(f, "volume_mm3_estimate", ph->calcium_volume_mm3, true);
    jkv(f, "hu", p->calcium_hu, false);
    fprintf(f, "},\n \"branch\":{\"present\":%s,", p->branch ? "true" : "false");
    jkv(f, "s_mm", p->branch_s_mm, true);
    jkv(f, "takeoff_deg", p->branch_takeoff_deg, true);
    jkv(f, "azimuth_deg", p->branch_azimuth_deg, true);
    jkv(f, "radius_mm", p->branch_radius_mm, true);
    jkv(f, "length_mm", p->branch_length_mm, false);
    fprintf(f, "},\n \"distractor\":{\"present\":%s,",
            p->distractor ? "true" : "false");
    fprintf(f, "\"gap_definition\":\"outer wall to outer wall, mm\",");
    jkv(f, "s_mm", p->distractor_s_mm, true);
    jkv(f, "gap_requested_mm", p->distractor_gap_mm, true);
    jkv(f, "gap_measured_mm", ph->measured_gap_mm, true);
    jkv(f, "radius_mm", ph->distractor_r_mm, true);
    jkv(f, "wall_mm", ph->distractor_wall_mm, false);
    fprintf(f, "},\n \"surroundings\":{");
    json_vec(f, "chamber_center", ph->chamber_center);
    fputc(',', f);
    jkv(f, "chamber_radius_mm", p->chamber_radius_mm, true);
    jkv(f, "fat_sleeve_mm", p->fat_sleeve_mm, true);
    json_vec(f, "myocardium_plane_point", ph->myo_point);
    fputc(',', f);
    json_vec(f, "myocardium_plane_normal", ph->myo_normal);
    fprintf(f, "},\n \"hu\":{");
    jkv(f, "lumen_proximal", p->lumen_hu, true);
    jkv(f, "lumen_distal", p->lumen_hu_distal, true);
    jkv(f, "chamber", p->chamber_hu, true);
    jkv(f, "wall", p->wall_hu, true);
    jkv(f, "soft_plaque", p->plaque_hu, true);
    jkv(f, "calcium", p->calcium_hu, true);
    jkv(f, "fat", p->fat_hu, true);
    jkv(f, "myocardium", p->myocardium_hu, false);
    fprintf(f, "},\n \"labels\":\"0 background, 1 target lumen, 2 target "
               "wall/plaque/calcium; target only (not chamber, branch, "
               "distractor); class at the voxel centre (point sampling: unbiased "
               "volume; the image itself is supersampled)\",\n");
    fprintf(f, " \"clicks\":{");
    jkv(f, "start_s_mm", ph->start_s, true);
    jkv(f, "end_s_mm", ph->end_s, false);
    fprintf(f, "}}\n");
    return 0;
}

/* ------------------------------------------------------ truth files */

static FILE *open_out(const char *dir, const char *name, char *path,
                      size_t size, vflow_error *err)
{
    snprintf(path, size, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        vflow_error_set(err, VFLOW_EIO, "cannot create %s: %s", path,
                        strerror(errno));
    return f;
}

static int close_out(FILE *f, const char *path, vflow_error *err)
{
    int bad = ferror(f);
    if (fclose(f) != 0 || bad)
        return vflow_error_set(err, VFLOW_EIO, "writing %s failed", path);
    return 0;
}

static int write_centerline(const vflow_phantom *ph, const char *dir,
                            vflow_error *err)
{
    char path[4096];
    FILE *f = open_out(dir, "truth_centerline.csv", path, sizeof path, err);
    if (!f)
        return err->code;
    fprintf(f, "s_mm,x,y,z,lumen_radius_mm,outer_radius_mm,valid\n");
    for (size_t i = 0; i < ph->n_stations; i++) {
        const vflow_phantom_station *st = &ph->stations[i];
        fprintf(f, "%.3f,%.5f,%.5f,%.5f,%.5f,%.5f,%d\n", st->s_mm,
                st->center[0], st->center[1], st->center[2], st->lumen_r_mm,
                st->outer_r_mm, st->valid ? 1 : 0);
    }
    return close_out(f, path, err);
}

static int write_side_curve(const vflow_curve *c, double r, double wall,
                            const char *dir, const char *name,
                            vflow_error *err)
{
    char path[4096];
    FILE *f = open_out(dir, name, path, sizeof path, err);
    if (!f)
        return err->code;
    fprintf(f, "s_mm,x,y,z,lumen_radius_mm,outer_radius_mm\n");
    for (size_t i = 0; i < c->n; i += 2)
        fprintf(f, "%.3f,%.5f,%.5f,%.5f,%.4f,%.4f\n", c->s[i], c->p[i][0],
                c->p[i][1], c->p[i][2], r, r + wall);
    return close_out(f, path, err);
}

static int write_contours(const vflow_phantom *ph, const char *dir,
                          vflow_error *err)
{
    char path[4096];
    FILE *f = open_out(dir, "truth_contours.json", path, sizeof path, err);
    if (!f)
        return err->code;
    fprintf(f, "{\"n_angles\":%zu,\"frame\":\"rotation-minimising; angle a "
               "at 2*pi*a/n_angles from normal towards binormal; radii from "
               "center, mm\",\"stations\":[\n",
            ph->n_angles);
    bool first = true;
    for (size_t i = 0; i < ph->n_stations; i++) {
        if (i % CONTOUR_STRIDE != 0 && i + 1 != ph->n_stations)
            continue;
        const vflow_phantom_station *st = &ph->stations[i];
        fprintf(f, "%s{\"s_mm\":%.3f,", first ? "" : ",\n", st->s_mm);
        first = false;
        json_vec(f, "center", st->center);
        fputc(',', f);
        json_vec(f, "tangent", st->tangent);
        fputc(',', f);
        json_vec(f, "normal", st->normal);
        fputc(',', f);
        json_vec(f, "binormal", st->binormal);
        fprintf(f, ",\"valid\":%s,", st->valid ? "true" : "false");
        json_radii(f, "lumen_r", ph->lumen_r + i * ph->n_angles, ph->n_angles);
        fputc(',', f);
        json_radii(f, "outer_r", ph->outer_r + i * ph->n_angles, ph->n_angles);
        fputc('}', f);
    }
    fprintf(f, "\n]}\n");
    return close_out(f, path, err);
}

static int write_clicks(const vflow_phantom *ph, const char *dir,
                        vflow_error *err)
{
    char path[4096];
    FILE *f = open_out(dir, "clicks.json", path, sizeof path, err);
    if (!f)
        return err->code;
    double si[3], ei[3];
    vflow_volume_world_to_index(ph->image, ph->start, si);
    vflow_volume_world_to_index(ph->image, ph->end, ei);
    fprintf(f, "{\"space\":\"world mm, NIfTI RAS+\",\n ");
    json_vec(f, "start", ph->start);
    fprintf(f, ",\n ");
    json_vec(f, "end", ph->end);
    fprintf(f, ",\n \"start_s_mm\":%.3f,\"end_s_mm\":%.3f,\n ", ph->start_s,
            ph->end_s);
    json_vec(f, "start_voxel", si);
    fprintf(f, ",\n ");
    json_vec(f, "end_voxel", ei);
    fprintf(f, "\n}\n");
    return close_out(f, path, err);
}

/* mkdir -p: creates `dir` and its missing parents. */
static int mkdir_parents(const char *dir)
{
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", dir) >= (int)sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir(buf, 0777) != 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    return mkdir(buf, 0777) != 0 && errno != EEXIST ? -1 : 0;
}

int vflow_phantom_write(const vflow_phantom *ph, const char *dir,
                        vflow_error *err)
{
    if (mkdir_parents(dir) != 0)
        return vflow_error_set(err, VFLOW_EIO, "cannot create directory %s: %s",
                               dir, strerror(errno));
    char path[4096];
    snprintf(path, sizeof path, "%s/image.nii.gz", dir);
    int rc = vflow_phantom_write_nifti(ph->image, path,
                                       "vflow phantom (HU)", err);
    snprintf(path, sizeof path, "%s/labels.nii.gz", dir);
    if (!rc)
        rc = vflow_phantom_write_nifti(ph->labels, path,
                                       "1 lumen, 2 wall/plaque", err);
    if (!rc)
        rc = write_centerline(ph, dir, err);
    if (!rc)
        rc = write_contours(ph, dir, err);
    if (!rc)
        rc = write_clicks(ph, dir, err);
    if (!rc && ph->params.distractor)
        rc = write_side_curve(&ph->distractor, ph->distractor_r_mm,
                              ph->distractor_wall_mm, dir,
                              "truth_distractor.csv", err);
    if (!rc && ph->params.branch)
        rc = write_side_curve(&ph->branch, ph->branch_r_mm,
                              ph->branch_wall_mm, dir, "truth_branch.csv", err);
    if (rc)
        return rc;
    FILE *f = open_out(dir, "phantom.json", path, sizeof path, err);
    if (!f)
        return err->code;
    vflow_phantom_write_json(ph, f);
    return close_out(f, path, err);
}
