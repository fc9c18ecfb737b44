/* SPDX-License-Identifier: BSD-3-Clause */
/* Analytic contour sets for the geometry tests. */
#include <math.h>
#include <stddef.h>

#include "synth_contours.h"

double synth_path_length(const synth_path *p)
{
    return p->len1 + p->bend_radius * p->bend_angle + p->len2;
}

void synth_path_eval(const synth_path *p, double s, double pos[3],
                     double tan[3])
{
    double x, y, tx, ty, arc = p->bend_radius * p->bend_angle;
    if (s <= p->len1) {
        x = s, y = 0.0, tx = 1.0, ty = 0.0;
    } else if (s <= p->len1 + arc && arc > 0.0) {
        double phi = (s - p->len1) / p->bend_radius;
        x = p->len1 + p->bend_radius * sin(phi);
        y = p->bend_radius * (1.0 - cos(phi));
        tx = cos(phi), ty = sin(phi);
    } else {
        double phi = p->bend_angle, u = s - p->len1 - arc;
        tx = cos(phi), ty = sin(phi);
        x = p->len1 + p->bend_radius * sin(phi) + u * tx;
        y = p->bend_radius * (1.0 - cos(phi)) + u * ty;
    }
    pos[0] = p->origin[0] + x, pos[1] = p->origin[1] + y, pos[2] = p->origin[2];
    tan[0] = tx, tan[1] = ty, tan[2] = 0.0;
}

static double ellipse_r(double a, double b, double theta)
{
    double c = cos(theta), s = sin(theta);
    return a * b / sqrt(b * b * c * c + a * a * s * s);
}

static double stenosis_factor(const synth_shape *sh, double s)
{
    if (sh->sten_len <= 0.0 || fabs(s - sh->sten_s) >= 0.5 * sh->sten_len)
        return 1.0;
    double w = 0.5 * (1.0 + cos(2.0 * M_PI * (s - sh->sten_s) / sh->sten_len));
    return 1.0 - sh->sten_frac * w;
}

double synth_lumen_r(const synth_shape *sh, double s, double theta)
{
    double ratio = sh->ellipse_ratio > 0.0 ? sh->ellipse_ratio : 1.0;
    return stenosis_factor(sh, s) *
           ellipse_r(sh->r_lumen, sh->r_lumen * ratio, theta);
}

double synth_outer_r(const synth_shape *sh, double s, double theta)
{
    (void)s;
    double ratio = sh->ellipse_ratio > 0.0 ? sh->ellipse_ratio : 1.0;
    return ellipse_r(sh->r_lumen + sh->wall, sh->r_lumen * ratio + sh->wall,
                     theta);
}

vflow_contours *synth_contours(const synth_path *p, const synth_shape *sh,
                               double ds, size_t n_angles, bool left_handed)
{
    double len = synth_path_length(p);
    size_t count = (size_t)floor(len / ds + 1e-9) + 1;
    if ((double)(count - 1) * ds < len - 1e-9)
        count++;
    vflow_contours *c = vflow_contours_create(count, n_angles, NULL);
    if (c == NULL)
        return NULL;
    for (size_t i = 0; i < count; i++) {
        double s = fmin((double)i * ds, len);
        vflow_frame *f = &c->frames[i];
        synth_path_eval(p, s, f->center, f->tangent);
        double b[3] = {0.0, 0.0, left_handed ? -1.0 : 1.0};
        /* n = b x t gives t x n = b (right-handed) for b = +z. */
        double bz = 1.0;
        f->normal[0] = -bz * f->tangent[1];
        f->normal[1] = bz * f->tangent[0];
        f->normal[2] = 0.0;
        for (int k = 0; k < 3; k++)
            f->binormal[k] = b[k];
        f->s_mm = s;
        for (size_t a = 0; a < n_angles; a++) {
            double th = 2.0 * M_PI * (double)a / (double)n_angles;
            /* The shape is defined in the right-handed frame; a left-handed
             * frame sees the same point at -theta. */
            double tq = left_handed ? -th : th;
            c->lumen_r[i * n_angles + a] = (float)synth_lumen_r(sh, s, tq);
            c->outer_r[i * n_angles + a] = (float)synth_outer_r(sh, s, tq);
        }
    }
    return c;
}

vflow_polyline *synth_centerline(const vflow_contours *c)
{
    vflow_polyline *pl = vflow_polyline_create(c->count, NULL);
    if (pl == NULL)
        return NULL;
    double *s = vflow_polyline_add_array(pl, "s_mm");
    if (s == NULL) {
        vflow_object_release(&pl->base);
        return NULL;
    }
    for (size_t i = 0; i < c->count; i++) {
        for (int k = 0; k < 3; k++)
            pl->xyz[i][k] = c->frames[i].center[k];
        s[i] = c->frames[i].s_mm;
    }
    return pl;
}
