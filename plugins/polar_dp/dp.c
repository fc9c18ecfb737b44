/* SPDX-License-Identifier: BSD-3-Clause */
/* Polar dynamic programming: closed minimum-cost lumen / outer contours. */
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "polar_dp.h"
#include "xsection.h"
#include "vflow/select.h"
#include "vflow/volume.h"

void vflow_pdp_params_default(vflow_pdp_params *p)
{
    p->max_step_mm = 0.25;
    p->min_wall_mm = 0.3;
    p->min_radius_mm = 0.2;
    p->smooth_mm = 0.5;
    p->outer_smooth_mm = 1.0;
    p->step_penalty = 0.5;
    p->calcium = VFLOW_PDP_CALCIUM_AUTO;
    p->calcium_hu = 500.0;
    p->calcium_margin_mm = 0.15;
    p->blur_correction = true;
    p->psf_sigma_mm = 0.0;
    p->lumen_only = false;
    p->wall_hu = 50.0;
    memset(p->psf_cov_mm2, 0, sizeof p->psf_cov_mm2);
    p->modality = VFLOW_MODALITY_UNKNOWN;
}

double vflow_pdp_plane_sigma(const double cov[3][3], const vflow_frame *frames,
                             size_t n)
{
    double tr = cov[0][0] + cov[1][1] + cov[2][2], sum = 0.0;
    if (!(tr > 0.0) || !isfinite(tr) || n == 0)
        return 0.0;
    for (size_t s = 0; s < n; s++) {
        const double *t = frames[s].tangent;
        double tct = 0.0, tt = 0.0;
        for (int a = 0; a < 3; a++) {
            tt += t[a] * t[a];
            for (int b = 0; b < 3; b++)
                tct += t[a] * cov[a][b] * t[b];
        }
        sum += 0.5 * (tr - (tt > 0.0 ? tct / tt : tr / 3.0));
    }
    double var = sum / (double)n;
    return var > 0.0 && isfinite(var) ? sqrt(var) : 0.0;
}

/* --------------------------------------------------- blurred disk model */

/* exp(-z) I0(z), z >= 0: Abramowitz & Stegun 9.8.1 / 9.8.2 (|err| < 2e-7). */
static double bessel_i0e(double z)
{
    if (z <= 3.75) {
        double t = z / 3.75;
        t *= t;
        double i0 = 1.0 + t * (3.5156229 + t * (3.0899424 + t * (1.2067492 +
                    t * (0.2659732 + t * (0.0360768 + t * 0.0045813)))));
        return i0 * exp(-z);
    }
    double t = 3.75 / z;
    return (0.39894228 + t * (0.01328592 + t * (0.00225319 +
            t * (-0.00157565 + t * (0.00916281 + t * (-0.02057706 +
            t * (0.02635537 + t * (-0.01647633 + t * 0.00392377)))))))) /
           sqrt(z);
}

/* The blurred unit disk (sigma units): D(x; X) = int_0^X rho exp(-(x^2 +
 * rho^2)/2) I0(x rho) d rho, the 2-D Gaussian blur of the indicator of a
 * disk of radius X at distance x from its centre (Rician / Marcum-Q form),
 * integrated by Simpson's rule over rho in [x - 8, x + 8] cut to [0, X]. */
double vflow_pdp_disk_profile(double x, double X)
{
    if (X <= 0.0)
        return 0.0;
    double a = fmax(0.0, x - 8.0), b = fmin(X, x + 8.0);
    if (b <= a)
        return x > X ? 0.0 : 1.0;
    int n = 64;
    double h = (b - a) / n, sum = 0.0;
    for (int i = 0; i <= n; i++) {
        double rho = a + h * i, d = x - rho;
        double f = rho * exp(-0.5 * d * d) * bessel_i0e(x * rho);
        sum += f * (i == 0 || i == n ? 1.0 : (i % 2 ? 4.0 : 2.0));
    }
    return sum * h / 3.0;
}

/* Tabulated D on x in [0, 24], X in [0, 12] at 0.1 sigma (bilinear); for
 * X > 12 the straight-edge limit Phi(X - x - 1/(2X)) is used, whose
 * curvature term puts the half level at R - sigma^2/(2R). */
#define TAB_H 0.1
#define TAB_NX 241
#define TAB_NR 121
typedef struct disk_table {
    const float *v; /* TAB_NR rows (X) of TAB_NX (x), shared read-only */
} disk_table;

/* The table is a pure function of nothing: built once per process
 * (pthread_once) and read-only afterwards, so sharing it is safe. */
static float disk_values[TAB_NR * TAB_NX];
static pthread_once_t disk_once = PTHREAD_ONCE_INIT;

static void disk_values_build(void)
{
    for (int r = 0; r < TAB_NR; r++)
        for (int i = 0; i < TAB_NX; i++)
            disk_values[r * TAB_NX + i] =
                (float)vflow_pdp_disk_profile(i * TAB_H, r * TAB_H);
}

static int disk_table_init(disk_table *t)
{
    pthread_once(&disk_once, disk_values_build);
    t->v = disk_values;
    return 0;
}

/* Where the radial positions x_j fall in the table: index and fraction,
 * or i < 0 beyond its range (D = 0 there). Computed once per table of
 * columns, not once per column. */
typedef struct disk_x {
    double x, tx;
    int i;
} disk_x;

static void disk_x_at(double x, disk_x *dx)
{
    dx->x = x;
    dx->i = -1;
    dx->tx = 0.0;
    if (x >= (TAB_NX - 1) * TAB_H)
        return;
    double fx = x / TAB_H;
    int i = (int)fx;
    if (i > TAB_NX - 2)
        i = TAB_NX - 2;
    dx->i = i;
    dx->tx = fx - i;
}

/* D(x_j; X) for the n positions of `dx` into out[j]: bilinear in the
 * table, or for X past it the straight-edge limit. */
static void disk_row(const disk_table *t, const disk_x *dx, size_t n, double X,
                     float *out)
{
    if (X >= (TAB_NR - 1) * TAB_H) {
        for (size_t j = 0; j < n; j++)
            out[j] = (float)(0.5 * erfc(-(X - dx[j].x - 0.5 / X) / M_SQRT2));
        return;
    }
    double fr = X / TAB_H;
    int r = (int)fr;
    double tr = fr - r;
    const float *row = t->v + r * TAB_NX;
    for (size_t j = 0; j < n; j++) {
        if (dx[j].i < 0) {
            out[j] = 0.0f;
            continue;
        }
        const float *p = row + dx[j].i;
        double tx = dx[j].tx;
        double lo = p[0] + tx * (p[1] - p[0]);
        double hi = p[TAB_NX] + tx * (p[TAB_NX + 1] - p[TAB_NX]);
        out[j] = (float)(lo + tr * (hi - lo));
    }
}

/* ---------------------------------------------------- closed-path DP */

/* Work space of the closed-path DP: two rows of accumulated costs with k
 * guard cells of +inf on either side (so the 2k+1 predecessors of every row
 * are read without bounds checks: a guard never wins a strict `<`), the
 * step penalties pen * |d| and the back pointers. */
typedef struct dp_work {
    double *acc, *nxt;  /* [-k, n_r + k) valid, guards stay +inf */
    double *pd;         /* pd[d + k] = pen * |d|, d in [-k, k] */
    double *best;       /* n_r: running minimum of one step */
    double *arg;        /* n_r: its d + k, -1: none finite yet */
    int *back;          /* n_a * n_r */
    int k;
} dp_work;

/* One DP step: nxt[j] = min_d acc[j + d] + pen |d| + c[j] over rows j in
 * [lo, hi] (first minimum in increasing d: the tie rule of a scalar loop),
 * +inf elsewhere; bk[j] = the argmin, or j where none is finite. The
 * minimum runs over d outside and j inside, branch-free, so the compiler
 * vectorises it; each row still sees its candidates in increasing d. */
static void dp_step(dp_work *w, const float *c, size_t n_r, int lo, int hi,
                    int *bk)
{
    const double *acc = w->acc, *pd = w->pd;
    double *nxt = w->nxt, *restrict best = w->best;
    double *restrict arg = w->arg;
    int k = w->k;
    lo = lo < 0 ? 0 : lo;
    hi = hi >= (int)n_r ? (int)n_r - 1 : hi;
    for (int j = lo; j <= hi; j++) {
        best[j] = INFINITY;
        arg[j] = -1.0;
    }
    for (int d = 0; d <= 2 * k; d++) {
        const double *restrict src = acc + d - k;
        double pen = pd[d], dd = (double)d;
        for (int j = lo; j <= hi; j++) {
            double v = src[j] + pen;
            arg[j] = v < best[j] ? dd : arg[j];
            best[j] = v < best[j] ? v : best[j];
        }
    }
    for (int j = 0; j < lo && j < (int)n_r; j++) {
        nxt[j] = INFINITY;
        bk[j] = j;
    }
    for (int j = lo; j <= hi; j++) {
        bool found = arg[j] >= 0.0;
        nxt[j] = found ? best[j] + c[j] : INFINITY;
        bk[j] = found ? j - k + (int)arg[j] : j;
    }
    for (int j = hi + 1 > lo ? hi + 1 : lo; j < (int)n_r; j++) {
        nxt[j] = INFINITY;
        bk[j] = j;
    }
    w->acc = nxt;
    w->nxt = (double *)acc;
}

/* DP from a fixed start row j0 at a = 0 back to j0 at a = n_a. */
static double dp_from(const float *cost, size_t n_a, size_t n_r,
                      const int *lo, const int *hi, int j0, dp_work *w,
                      int *path)
{
    int k = w->k;
    for (size_t j = 0; j < n_r; j++)
        w->acc[j] = INFINITY;
    w->acc[j0] = cost[j0];
    for (size_t a = 1; a < n_a; a++)
        dp_step(w, cost + a * n_r, n_r, lo[a], hi[a], w->back + a * n_r);
    /* Close: the step from a = n_a - 1 to a = n_a (== a = 0, row j0). */
    double best = INFINITY;
    int arg = -1;
    for (int d = -k; d <= k; d++) {
        double v = w->acc[j0 + d] + w->pd[d + k];
        if (v < best) {
            best = v;
            arg = j0 + d;
        }
    }
    if (arg < 0 || !isfinite(best))
        return INFINITY;
    if (path != NULL) {
        path[n_a - 1] = arg;
        for (size_t a = n_a - 1; a > 0; a--)
            path[a - 1] = w->back[a * n_r + path[a]];
    }
    return best;
}

/* Unconstrained (open) DP: best path with free start and end. */
static void dp_open(const float *cost, size_t n_a, size_t n_r, const int *lo,
                    const int *hi, dp_work *w, int *path)
{
    for (size_t j = 0; j < n_r; j++)
        w->acc[j] = (int)j >= lo[0] && (int)j <= hi[0] ? cost[j] : INFINITY;
    for (size_t a = 1; a < n_a; a++)
        dp_step(w, cost + a * n_r, n_r, lo[a], hi[a], w->back + a * n_r);
    int arg = lo[n_a - 1];
    for (size_t j = 0; j < n_r; j++)
        if (w->acc[j] < w->acc[arg])
            arg = (int)j;
    path[n_a - 1] = arg;
    for (size_t a = n_a - 1; a > 0; a--)
        path[a - 1] = w->back[a * n_r + path[a]];
}

double vflow_pdp_closed_path(const float *cost, size_t n_a, size_t n_r,
                             const int *lo, const int *hi, int k_max,
                             double penalty, long window, int *path)
{
    if (n_a == 0 || n_r == 0 || k_max < 0)
        return INFINITY;
    size_t span = n_r + 2 * (size_t)k_max;
    double *buf =
        malloc((2 * span + 2 * (size_t)k_max + 1 + 2 * n_r) * sizeof *buf);
    int *back = malloc(n_a * n_r * sizeof *back);
    int *tmp = malloc(n_a * sizeof *tmp);
    if (buf == NULL || back == NULL || tmp == NULL) {
        free(buf);
        free(back);
        free(tmp);
        return INFINITY;
    }
    for (size_t i = 0; i < 2 * span; i++)
        buf[i] = INFINITY;
    dp_work w = {buf + k_max, buf + span + k_max, buf + 2 * span,
                 buf + 2 * span + 2 * (size_t)k_max + 1,
                 buf + 2 * span + 2 * (size_t)k_max + 1 + n_r, back, k_max};
    for (int d = -k_max; d <= k_max; d++)
        w.pd[d + k_max] = penalty * abs(d);
    int first = lo[0], last = hi[0];
    if (window >= 0) {
        /* The open optimum's row at a = 0 centres the start window: a
         * closed optimum differs from it only near the seam. */
        dp_open(cost, n_a, n_r, lo, hi, &w, tmp);
        first = tmp[0] - (int)window > first ? tmp[0] - (int)window : first;
        last = tmp[0] + (int)window < last ? tmp[0] + (int)window : last;
    }
    double best = INFINITY;
    for (int j0 = first; j0 <= last; j0++) {
        double c = dp_from(cost, n_a, n_r, lo, hi, j0, &w, tmp);
        if (c < best) {
            best = c;
            memcpy(path, tmp, n_a * sizeof *path);
        }
    }
    free(buf);
    free(back);
    free(tmp);
    return best;
}

/* ------------------------------------------------------ segmentation */

double vflow_pdp_median(float *v, size_t n)
{
    if (n == 0)
        return 0.0;
    if (n % 2)
        return vflow_select_float(v, n, n / 2);
    double hi = vflow_select_float(v, n, n / 2);
    /* The selection leaves v[0 .. n/2-1] <= v[n/2]: the other middle
     * value is the largest of them (one scan, not a second selection). */
    float lo = v[0];
    for (size_t i = 1; i < n / 2; i++)
        lo = v[i] > lo ? v[i] : lo;
    return 0.5 * ((double)lo + hi);
}

/* Blurred-disk columns for one sigma on the polar radial grid:
 * v[k * nj + j] = D(j dr / sigma; k h / sigma), R = k h, h = dr / 10, so a
 * model evaluation is an interpolation in R only (no 2-D lookup). */
typedef struct col_table {
    double h;
    size_t nj, nk;
    float *v;
} col_table;

static int col_table_build(col_table *c, const disk_table *t, double sig,
                           double dr, size_t nj, double rmax)
{
    c->h = dr / 10.0;
    c->nj = nj;
    c->nk = (size_t)ceil(rmax / c->h) + 2;
    c->v = malloc(c->nk * nj * sizeof *c->v);
    disk_x *dx = malloc(nj * sizeof *dx);
    if (c->v == NULL || dx == NULL) {
        free(c->v);
        free(dx);
        c->v = NULL;
        return VFLOW_ENOMEM;
    }
    for (size_t j = 0; j < nj; j++)
        disk_x_at((double)j * dr / sig, &dx[j]);
    for (size_t k = 0; k < c->nk; k++)
        disk_row(t, dx, nj, (double)k * c->h / sig, c->v + k * nj);
    free(dx);
    return 0;
}

typedef struct fit_result {
    double rl, ro, a[3], sse; /* a: background, wall - bg, lumen - wall */
} fit_result;

/* Shared, read-only during the parallel passes (except per-station rows). */
typedef struct seg_state {
    const vflow_pdp_params *p;
    const vflow_sections *polar;
    const vflow_sections *deriv; /* optional dI/dr input */
    size_t n_s, n_a, n_r;
    double dr;
    float *edge;        /* n_s * n_a * n_r: -dI/dr, smoothed in angle */
    float *edge_s;      /* same, smoothed along the vessel */
    float *lum_level;   /* per station: intensity near the centre */
    float *bg_level;    /* per station: intensity far out */
    float *lum_sd;      /* per station: robust SD of the lumen core */
    double *ub_mm;      /* n_s * n_a: largest admissible lumen radius, mm
                           (the calcium bound where it binds, else the
                           last row before the dark surroundings) */
    int *by_ca;         /* n_s * n_a flags: that bound is a calcium one */
    bool calcium;
    bool wall_invisible; /* not CT: bright-blood MR angiography, where the
                            wall has the surroundings' signal (q = 0) */
    double ca_thr_abs;  /* absolute floor (HU) */
    double contrast;    /* vessel median lumen - background */
    float *lum_ref_at;  /* per station: the lumen level and core SD of the */
    float *lum_sd_at;   /* vessel around it (calcium_threshold) */
    double sigma;       /* PSF sigma (mm) for the correction, 0: off */
    double edge_sigma;  /* PSF sigma known before the fit (given, or from
                           the psf stage's covariance), 0: unknown */
    double wall_q;      /* (wall - surroundings) / (lumen - surroundings),
                           shared by the vessel; < 0: levels free */
    double wall_hu;     /* known wall level (CT), NAN: estimate wall_q */
    disk_table tab;
    col_table col;      /* columns for the chosen sigma */
    float *rl_raw;      /* n_s * n_a lumen radii before correction */
    double *prof;       /* n_s * n_r angular mean profiles (no calcium) */
    double *prof_s;     /* same, smoothed along the vessel */
    double *r_dp;       /* n_s mean radius of the DP lumen (rl_raw), mm:
                           aligns the profiles for smoothing */
    fit_result *fit;    /* n_s free blur-model fits (pass_fit) */
    fit_result *lum;    /* n_s final lumen fits (pass_radius); rl NAN: the
                           model does not apply */
    double *cpl_rl, *cpl_ro, *cpl_lev, *cpl_info; /* n_s each, during
                           couple_along_vessel: lumen radius, outer radius
                           (before pooling), level and its information */
    double *ro_smooth;  /* n_s outer radii of the fits smoothed along the
                           vessel (NAN: no fit) */
    double *shape_noise; /* n_s noise variance of the DP lumen shape, mm^2
                            (estimate_shape_noise) */
    double *lum_trend;  /* n_s lumen level (image units) from the robust
                           trend along s of the large stations' fits; NAN:
                           no large station near (lumen_level_trend) */
    vflow_contours *out;
    float *tail_mean;   /* n_s * n_a: each ray's mean past tail_start (NAN:
                           none); the profiles' surroundings rays */
} seg_state;

/* Mean arc length between stations, mm; `if_single` for one station. */
static double station_step_mm(const seg_state *st, double if_single)
{
    size_t n = st->n_s;
    return n > 1 ? fabs(st->polar->frames[n - 1].s_mm -
                        st->polar->frames[0].s_mm) /
                       (double)(n - 1)
                 : if_single;
}

/* The level below which a ray has left the lumen of station s: a quarter
 * of the way from the surroundings to the lumen level. */
static double dark_level(const seg_state *st, size_t s)
{
    double il = st->lum_level[s], ib = st->bg_level[s];
    return ib + 0.25 * (il - ib);
}

/* Robust SD (1.4826 MAD) of station s's lumen core: the polar pixels
 * within half the median radius at which the rays first turn dark
 * (dark_level). buf: n_a n_r floats. */
static double lumen_core_sd(const seg_state *st, size_t s, float *buf)
{
    size_t n_a = st->n_a, n_r = st->n_r, m = 0;
    const float *img = st->polar->pixels + s * n_a * n_r;
    double dark = dark_level(st, s);
    for (size_t a = 0; a < n_a; a++) {
        size_t j = 1;
        while (j < n_r && img[a * n_r + j] >= dark)
            j++;
        buf[a] = (float)j;
    }
    size_t core = (size_t)(0.5 * vflow_pdp_median(buf, n_a));
    core = core < 1 ? 1 : core;
    for (size_t a = 0; a < n_a; a++)
        for (size_t j = 0; j <= core && j < n_r; j++)
            buf[m++] = img[a * n_r + j];
    double med = vflow_pdp_median(buf, m);
    for (size_t i = 0; i < m; i++)
        buf[i] = (float)fabs(buf[i] - med);
    return 1.4826 * vflow_pdp_median(buf, m);
}

/* Pass 1 (per station): levels, edge image, lumen bounds. */
static void pass_levels(void *user, size_t begin, size_t end, unsigned w)
{
    (void)w;
    seg_state *st = user;
    size_t n_a = st->n_a, n_r = st->n_r;
    size_t jc = (size_t)fmax(1.0, round(0.3 / st->dr));
    jc = jc >= n_r ? n_r - 1 : jc;
    size_t jb = (size_t)(0.75 * (double)n_r);
    float *buf = malloc(n_a * n_r * sizeof *buf);
    if (buf == NULL)
        return; /* levels stay NaN: caught by the caller */
    for (size_t s = begin; s < end; s++) {
        const float *img = st->polar->pixels + s * n_a * n_r;
        size_t m = 0;
        for (size_t a = 0; a < n_a; a++)
            for (size_t j = 0; j <= jc; j++)
                buf[m++] = img[a * n_r + j];
        st->lum_level[s] = (float)vflow_pdp_median(buf, m);
        m = 0;
        for (size_t a = 0; a < n_a; a++)
            for (size_t j = jb; j < n_r; j++)
                buf[m++] = img[a * n_r + j];
        st->bg_level[s] = (float)vflow_pdp_median(buf, m);
        /* Only the calcium threshold uses it. */
        st->lum_sd[s] = st->calcium ? (float)lumen_core_sd(st, s, buf) : NAN;
    }
    free(buf);
}

/* Edge response -dI/dr, smoothed over angles with [1 2 1]/4 (circular). */
static void pass_edges(void *user, size_t begin, size_t end, unsigned w)
{
    (void)w;
    seg_state *st = user;
    size_t n_a = st->n_a, n_r = st->n_r;
    for (size_t s = begin; s < end; s++) {
        const float *img = st->polar->pixels + s * n_a * n_r;
        float *e = st->edge + s * n_a * n_r;
        if (st->deriv != NULL) {
            const float *d = st->deriv->pixels + s * n_a * n_r;
            for (size_t i = 0; i < n_a * n_r; i++)
                e[i] = -d[i];
        }
        for (size_t a = 0; st->deriv == NULL && a < n_a; a++)
            for (size_t j = 0; j < n_r; j++) {
                double lo = img[a * n_r + (j > 0 ? j - 1 : 0)];
                double hi = img[a * n_r + (j + 1 < n_r ? j + 1 : n_r - 1)];
                double span = (j > 0 && j + 1 < n_r) ? 2.0 : 1.0;
                e[a * n_r + j] = (float)(-(hi - lo) / (span * st->dr));
            }
        /* Angular smoothing through a small ring buffer of rows. */
        float *tmp = malloc(n_a * n_r * sizeof *tmp);
        if (tmp == NULL)
            continue;
        memcpy(tmp, e, n_a * n_r * sizeof *tmp);
        for (size_t a = 0; a < n_a; a++) {
            const float *pm = tmp + ((a + n_a - 1) % n_a) * n_r;
            const float *p0 = tmp + a * n_r;
            const float *pp = tmp + ((a + 1) % n_a) * n_r;
            for (size_t j = 0; j < n_r; j++)
                e[a * n_r + j] = 0.25f * (pm[j] + 2.0f * p0[j] + pp[j]);
        }
        free(tmp);
    }
}

/* Gaussian smoothing of the edge images along the vessel (coherence of
 * adjacent stations). Stations are equally spaced by the polar frames. */
static void pass_vessel_smooth(void *user, size_t begin, size_t end,
                               unsigned w)
{
    (void)w;
    seg_state *st = user;
    size_t n = st->n_a * st->n_r;
    double ds = station_step_mm(st, 0.0);
    double sig = ds > 0.0 ? st->p->smooth_mm / ds : 0.0; /* stations */
    long half = (long)ceil(2.5 * sig);
    for (size_t s = begin; s < end; s++) {
        float *dst = st->edge_s + s * n;
        if (half < 1) {
            memcpy(dst, st->edge + s * n, n * sizeof *dst);
            continue;
        }
        memset(dst, 0, n * sizeof *dst);
        double wsum = 0.0;
        for (long d = -half; d <= half; d++) {
            long t = (long)s + d;
            if (t < 0 || t >= (long)st->n_s)
                continue;
            float wt = (float)exp(-0.5 * (double)(d * d) / (sig * sig));
            const float *src = st->edge + (size_t)t * n;
            for (size_t i = 0; i < n; i++)
                dst[i] += wt * src[i];
            wsum += wt;
        }
        float inv = (float)(1.0 / wsum);
        for (size_t i = 0; i < n; i++)
            dst[i] *= inv;
    }
}

/* Parabolic sub-pixel offset of the maximum of e around index j, kept in
 * [-0.5, 0.5] and inside [lo, hi] (never past a hard bound). */
static double subpixel(const float *e, size_t n_r, int j, int lo, int hi)
{
    if (j <= 0 || j + 1 >= (int)n_r)
        return 0.0;
    double em = e[j - 1], e0 = e[j], ep = e[j + 1];
    double den = em - 2.0 * e0 + ep;
    if (!(den < 0.0))
        return 0.0;
    double d = 0.5 * (em - ep) / den;
    d = d > 0.5 ? 0.5 : (d < -0.5 ? -0.5 : d);
    if (j >= hi && d > 0.0)
        d = 0.0;
    if (j <= lo && d < 0.0)
        d = 0.0;
    return d;
}

/* Circular Gaussian smoothing (sigma in angle steps) of n radii: the DP
 * contour's angle-to-angle noise would otherwise inflate the area. */
static void smooth_circular(float *r, size_t n, double sig, float *tmp)
{
    /* The weights are the same for every angle: tabulated once (up to
     * MAX_TAPS; sig = n / 64 with n <= 4096 needs 385), not one exp()
     * per tap and angle. Same values, same summation order. */
    enum { MAX_TAPS = 512 };
    double wtab[MAX_TAPS];
    long half = (long)ceil(3.0 * sig);
    bool tab = 2 * half + 1 <= MAX_TAPS;
    for (long d = -half; tab && d <= half; d++)
        wtab[d + half] = exp(-0.5 * (double)(d * d) / (sig * sig));
    for (size_t a = 0; a < n; a++) {
        double acc = 0.0, ws = 0.0;
        for (long d = -half; d <= half; d++) {
            double w = tab ? wtab[d + half]
                           : exp(-0.5 * (double)(d * d) / (sig * sig));
            acc += w * r[((long)a + d + 4 * (long)n) % (long)n];
            ws += w;
        }
        tmp[a] = (float)(acc / ws);
    }
    memcpy(r, tmp, n * sizeof *r);
}

/* Largest B-Lipschitz circular function below r (only lowers values):
 * r'(a) = min_b r(b) + B * circular_distance(a, b), by one forward and one
 * backward sweep over two turns (a distance-transform recursion). */
static void lipschitz_lower(float *r, size_t n, double bound, float *tmp)
{
    (void)tmp;
    for (size_t i = 1; i < 2 * n; i++) {
        float v = r[(i - 1) % n] + (float)bound;
        if (v < r[i % n])
            r[i % n] = v;
    }
    for (size_t i = 2 * n - 1; i-- > 0;) {
        float v = r[(i + 1) % n] + (float)bound;
        if (v < r[i % n])
            r[i % n] = v;
    }
}

/* Smallest B-Lipschitz circular function above r (only raises values). */
static void lipschitz_upper(float *r, size_t n, double bound, float *tmp)
{
    (void)tmp;
    for (size_t i = 1; i < 2 * n; i++) {
        float v = r[(i - 1) % n] - (float)bound;
        if (v > r[i % n])
            r[i % n] = v;
    }
    for (size_t i = 2 * n - 1; i-- > 0;) {
        float v = r[(i + 1) % n] - (float)bound;
        if (v > r[i % n])
            r[i % n] = v;
    }
}

static int step_rows(const seg_state *st)
{
    int k = (int)floor(st->p->max_step_mm / st->dr + 1e-9);
    return k < 1 ? 1 : k;
}

/* Millimetres to add to a deposit's face found at radius obs (the
 * steepest rise of the ray into the deposit). A deposit curved around the
 * lumen is, seen from the centre, the outside of a circle of radius rho;
 * blur moves the steepest rise of such an edge towards the centre of
 * curvature by the curvature term sigma^2 / (2 rho) (as for the half level
 * of a blurred disk, disk_row). Without it the lumen stopped ~0.2 mm short
 * of the deposit at rho ~ 1 mm, PSF 0.5 mm (`calcified` phantom on its
 * true axis: steepest rise at 0.875 mm, face at 1.06 mm), before the
 * margin.
 * The exact 2-D figure for a whole ring is smaller below rho ~ 3 sigma
 * (0.19 sigma at 2 sigma, vflow_pdp_disk_profile), while the phantom's
 * deposit (100 deg arc, 5 mm long) measured more than either, so the
 * first-order term, capped at sigma / 2, is used. rho by fixed-point
 * iteration from the observed radius; 0 without a known PSF. */
static double deposit_curvature_mm(const seg_state *st, double obs)
{
    double sig = st->edge_sigma, rho = obs;
    if (!(sig > 0.0) || !(obs > 0.0))
        return 0.0;
    for (int it = 0; it < 4; it++)
        rho = obs + fmin(0.5 * sig, sig * sig / (2.0 * rho));
    return rho - obs;
}

/* Row of the largest value of `row` (n_r rows of dr mm) within
 * DEPOSIT_PEAK_MM past row j. */
#define DEPOSIT_PEAK_MM 1.5
static int peak_row(const float *row, size_t n_r, int j, double dr)
{
    int pk = j, span = (int)ceil(DEPOSIT_PEAK_MM / dr);
    for (int q = j; q < (int)n_r && q <= j + span; q++)
        if (row[q] > row[pk])
            pk = q;
    return pk;
}

/* The deposit face (mm) on a ray whose first pair of calcium pixels
 * starts at row j: where the blurred rise from the lumen to the deposit is
 * steepest (the inflection of a blurred step), searched from the
 * threshold crossing (about a third of the way up the rise for a deposit
 * well above it) to the peak, to a fraction of a row, then moved out by
 * the curvature term. Not the level half-way between the lumen and the
 * blurred peak: a deposit curved around the lumen blooms towards the
 * centre and its peak is lowered by the blur, so that level is reached up
 * to ~0.5 mm inside the lumen (`calcified` phantom: lumen cut to 0.25 mm
 * of a 0.9 mm radius). */
static double deposit_face_mm(const seg_state *st, const float *row, int j)
{
    int n_r = (int)st->n_r, pk = peak_row(row, st->n_r, j, st->dr);
    /* Central difference over +-0.2 mm: over +-1 row (0.1 mm) the noise
     * of two pixels decides where the steepest rise is. */
    int gk = (int)fmax(1.0, round(0.2 / st->dr));
    int e = j, q0 = j > gk ? j : gk;
    double gmax = -INFINITY;
    for (int q = q0; q <= pk && q + gk < n_r; q++) {
        double g = row[q + gk] - row[q - gk];
        if (g > gmax) {
            gmax = g;
            e = q;
        }
    }
    /* Sub-row: the vertex of the parabola through the slopes around it. */
    double f = 0.0;
    if (e > q0 && e - 1 - gk >= 0 && e + 1 + gk < n_r) {
        double gm = row[e - 1 + gk] - row[e - 1 - gk];
        double gp = row[e + 1 + gk] - row[e + 1 - gk];
        double den = gm - 2.0 * gmax + gp;
        if (den < 0.0)
            f = fmax(-0.5, fmin(0.5, 0.5 * (gm - gp) / den));
    }
    double obs = ((double)e + f) * st->dr;
    return obs + deposit_curvature_mm(st, obs);
}

/* Deposit bounds ca[0..n_a), mm (INFINITY: no calcium on the ray), replaced
 * by their median over the calcium rays within +-DEPOSIT_ARC_MM of arc.
 * The steepest rise of one noisy ray moves by +-0.25 mm at 20 HU, and the
 * tangential spreading and the neighbouring stations then take the
 * smallest bound near them, so the rays whose noise put the face too far
 * in cut the lumen. `calcified` segmented on its true axis, mean lumen
 * error on the deposit side (the lumen ends 0.1 mm before the deposit and
 * keeps the 0.15 mm margin, so -0.05 mm is exact): -0.39 mm at 4167a24,
 * -0.19 mm with this, the curvature term and the exact margin (noise-free
 * -0.20 -> -0.07 mm). */
#define DEPOSIT_ARC_MM 0.4
static void deposit_median_over_arc(const seg_state *st, double *ca,
                                    double *out, float *buf)
{
    size_t n_a = st->n_a;
    double da = 2.0 * M_PI / (double)n_a;
    for (size_t a = 0; a < n_a; a++) {
        out[a] = ca[a];
        if (!isfinite(ca[a]))
            continue;
        double rho = fmax(ca[a], st->dr);
        long hw = lround(DEPOSIT_ARC_MM / rho / da);
        hw = hw < (long)n_a / 4 ? hw : (long)n_a / 4;
        size_t m = 0;
        for (long d = -hw; d <= hw; d++) {
            size_t b = (size_t)(((long)a + d + (long)n_a) % (long)n_a);
            if (isfinite(ca[b]))
                buf[m++] = (float)ca[b];
        }
        out[a] = vflow_pdp_median(buf, m);
    }
    memcpy(ca, out, n_a * sizeof *ca);
}

/* Calcium bounds ca[0..n_a) (mm, INFINITY: none) spread tangentially.
 * Blur lowers thin calcium below the threshold near the ends of a
 * deposit: a hit at radius rho on ray b also bounds the rays that meet the
 * deposit's edge continued 0.8 mm tangentially (perpendicular to ray b),
 * at rho / cos(angle to b). Not the arc of radius rho: near the centre (a
 * station drifting onto a deposit) that arc spans every angle and
 * collapsed the whole contour to the minimum radius, so the centroid
 * could no longer move the station off the deposit. out: n_a scratch. */
static void spread_calcium(const seg_state *st, double *ca, double *out)
{
    size_t n_a = st->n_a;
    for (size_t a = 0; a < n_a; a++) {
        double m = ca[a];
        for (size_t b = 0; b < n_a; b++) {
            if (!isfinite(ca[b]))
                continue;
            size_t d = a > b ? a - b : b - a;
            d = d < n_a - d ? d : n_a - d;
            double dth = (double)d * 2.0 * M_PI / (double)n_a;
            double rho = fmax(ca[b], 0.5 * st->dr);
            if (b == a || dth >= 0.5 * M_PI || rho * tan(dth) > 0.8)
                continue;
            m = fmin(m, ca[b] > 0.0 ? ca[b] / cos(dth) : ca[b]);
        }
        out[a] = m;
    }
    memcpy(ca, out, n_a * sizeof *ca);
}

/* Calcium level at station s (HU): the absolute floor, or the lumen
 * level of the vessel around the station (lum_ref_at) plus 0.2 of the
 * contrast or CALCIUM_LUMEN_SDS robust SDs of its lumen core (lum_sd_at),
 * whichever is higher.
 * The SDs: on a real thoracic CTA (1.5 mm voxels, lumen SD 20-80 HU) 0.2
 * of the contrast is ~3 SD, and a bright voxel of plain lumen (a ray's
 * "two consecutive pixels" are one voxel when the polar rows are much
 * finer than the voxels) marked 25-59 of 128 rays per station as calcium,
 * collapsing contours to 0.2-1 mm.
 * Around the station: not the station's own level (a station drifting
 * onto a deposit would raise its own threshold above it), nor the whole
 * vessel's median (a path from a 600 HU aorta into a 450 HU branch put the
 * threshold under the aorta's lumen). RESULTS.md round 14. */
#define CALCIUM_LUMEN_SDS 5.0
static double calcium_threshold(const seg_state *st, size_t s)
{
    double margin = fmax(0.2 * st->contrast,
                         CALCIUM_LUMEN_SDS * st->lum_sd_at[s]);
    return fmax(st->ca_thr_abs, st->lum_ref_at[s] + margin);
}

/* out: running median of the stations' values `in` (NAN: none) over
 * +-LUMEN_REF_MM of arc (long against a deposit, a few mm, short against
 * the change from an aorta to its branch); `fallback` where none. */
#define LUMEN_REF_MM 10.0
static void running_median_along(const seg_state *st, const float *in,
                                 float *out, double fallback, float *buf)
{
    const vflow_frame *f = st->polar->frames;
    for (size_t s = 0; s < st->n_s; s++) {
        size_t m = 0;
        for (size_t t = 0; t < st->n_s; t++)
            if (fabs(f[t].s_mm - f[s].s_mm) <= LUMEN_REF_MM &&
                isfinite(in[t]))
                buf[m++] = in[t];
        out[s] = m > 0 ? (float)vflow_pdp_median(buf, m) : (float)fallback;
    }
}

/* Lumen row bounds of station s: at least min_radius, at most the first
 * clearly dark pixel (the lumen region is connected to the centre) and
 * short of any calcium by the margin. ub_mm (n_a) gets the largest
 * admissible radius in mm, by_calcium whether a calcium bound sets it (the
 * row bound hi is then the last row at or inside it). Scratch: ca and
 * tmp, n_a each; fbuf, n_a. */
static void lumen_bounds(const seg_state *st, size_t s, int *lo, int *hi,
                         int *by_calcium, double *ub_mm, double *ca,
                         double *tmp, float *fbuf)
{
    size_t n_a = st->n_a, n_r = st->n_r;
    const float *img = st->polar->pixels + s * n_a * n_r;
    double dark = dark_level(st, s);
    double thr = calcium_threshold(st, s);
    int jmin = (int)ceil(st->p->min_radius_mm / st->dr);
    int wall = (int)ceil(st->p->min_wall_mm / st->dr);
    jmin = jmin < 1 ? 1 : jmin;
    int jmax_all = (int)n_r - 2 - wall;
    if (jmax_all < jmin)
        jmax_all = jmin;
    bool any_ca = false;
    for (size_t a = 0; a < n_a; a++) {
        const float *row = img + a * n_r;
        int h = jmax_all;
        for (int j = jmin; j <= jmax_all; j++)
            if (row[j] < dark) {
                h = j;
                break;
            }
        lo[a] = h; /* dark bound, kept in lo until the calcium pass */
        ca[a] = INFINITY;
        for (int j = 0; st->calcium && j + 1 < (int)n_r; j++)
            if (row[j] > thr && row[j + 1] > thr) {
                if (j == 0 && peak_row(row, n_r, 0, st->dr) <= 1) {
                    /* Bright at the centre and falling: the station
                     * sits in the bloom of a deposit behind it, and
                     * this ray leads away from it into the lumen. Left
                     * free, so the contour (and the centroid that
                     * moves the station) goes towards the lumen; rays
                     * into the deposit rise and are bounded. */
                    while (j + 1 < (int)n_r && row[j + 1] > thr)
                        j++;
                    continue;
                }
                ca[a] = deposit_face_mm(st, row, j) -
                        st->p->calcium_margin_mm;
                any_ca = true;
                break;
            }
    }
    if (any_ca) { /* most stations have no calcium ray */
        deposit_median_over_arc(st, ca, tmp, fbuf);
        spread_calcium(st, ca, tmp);
    }
    for (size_t a = 0; a < n_a; a++) {
        int h = lo[a];
        /* The last row at or inside the bound (floor, not round: the
         * margin is a distance to keep). */
        int cr = isfinite(ca[a]) ? (int)floor(ca[a] / st->dr + 1e-9)
                                 : INT_MAX;
        by_calcium[a] = cr <= h;
        h = cr < h ? cr : h;
        lo[a] = jmin;
        hi[a] = h < jmin ? jmin : h;
        ub_mm[a] = by_calcium[a] ? fmax(ca[a], jmin * st->dr)
                                 : hi[a] * st->dr;
    }
}

/* A ray bounded by calcium has no lumen edge of its own before the
 * deposit (the intensity rises towards it), so its DP row would be
 * arbitrary (the `calcified` phantom: 0.25 mm where the deposit starts at
 * 0.8 mm). The lumen rides the calcium edge instead: the bound row gets
 * the cost of the strongest edge of the station. */
static void ride_calcium(float *cost, size_t n_a, size_t n_r, const int *hi,
                         const int *by_calcium)
{
    float best = 0.0f;
    for (size_t i = 0; i < n_a * n_r; i++) /* fminf without a libm call */
        best = cost[i] < best ? cost[i] : best;
    for (size_t a = 0; a < n_a; a++)
        if (by_calcium[a] && hi[a] >= 0 && hi[a] < (int)n_r)
            cost[a * n_r + (size_t)hi[a]] = best;
}

/* Pass 2 (per station): lumen by closed DP on the normalised edge cost. */
static void pass_lumen(void *user, size_t begin, size_t end, unsigned w)
{
    (void)w;
    seg_state *st = user;
    size_t n_a = st->n_a, n_r = st->n_r;
    float *cost = malloc((n_a * n_r + n_a) * sizeof *cost);
    int *lo = malloc(3 * n_a * sizeof *lo);
    double *ca = malloc(2 * n_a * sizeof *ca);
    if (cost == NULL || lo == NULL || ca == NULL) {
        free(cost);
        free(lo);
        free(ca);
        return; /* rl_raw stays NaN: reported by the caller */
    }
    int *hi = lo + n_a, *path = lo + 2 * n_a;
    float *fbuf = cost + n_a * n_r;
    int k = step_rows(st);
    double pen = st->p->step_penalty * st->dr;
    for (size_t s = begin; s < end; s++) {
        const float *e = st->edge_s + s * n_a * n_r;
        for (size_t i = 0; i < n_a * n_r; i++)
            cost[i] = (float)(-e[i] / st->contrast);
        int *by_ca = st->by_ca + s * n_a;
        lumen_bounds(st, s, lo, hi, by_ca, st->ub_mm + s * n_a, ca, ca + n_a,
                     fbuf);
        ride_calcium(cost, n_a, n_r, hi, by_ca);
        double c = vflow_pdp_closed_path(cost, n_a, n_r, lo, hi, k, pen, 1,
                                         path);
        float *r = st->rl_raw + s * n_a;
        for (size_t a = 0; a < n_a; a++) {
            double j = isfinite(c) ? path[a] : lo[a];
            if (isfinite(c))
                j += subpixel(e + a * n_r, n_r, path[a], lo[a], hi[a]);
            r[a] = (float)(j * st->dr);
        }
    }
    free(cost);
    free(lo);
    free(ca);
}

/* ------------------------------------------------- blur model fitting */

/* Column of radius R: base row and interpolation weight. */
static inline const float *col_at(const col_table *c, double R, float *w)
{
    double f = R > 0.0 ? R / c->h : 0.0;
    size_t k = (size_t)f;
    if (k > c->nk - 2) {
        k = c->nk - 2;
        f = (double)k + 1.0;
    }
    *w = (float)(f - (double)k);
    return c->v + k * c->nj;
}

static inline double col_value(const float *p, size_t nj, float w, size_t j)
{
    return p[j] + w * (p[j + nj] - p[j]);
}

/* Linear least squares of the levels for fixed radii (variable
 * projection): model a0 + a1 D(r; ro) + a2 D(r; rl). */
static double fit_levels(const col_table *c, const double *prof, size_t n,
                         double rl, double ro, double a[3])
{
    float wl, wo;
    const float *pl = col_at(c, rl, &wl), *po = col_at(c, ro, &wo);
    double m[3][3] = {{0}}, b[3] = {0};
    for (size_t j = 0; j < n; j++) {
        double cc[3] = {1.0, col_value(po, c->nj, wo, j),
                        col_value(pl, c->nj, wl, j)};
        for (int p = 0; p < 3; p++) {
            b[p] += cc[p] * prof[j];
            for (int q = p; q < 3; q++)
                m[p][q] += cc[p] * cc[q];
        }
    }
    m[1][0] = m[0][1];
    m[2][0] = m[0][2];
    m[2][1] = m[1][2];
    double b2[3] = {b[0], b[1], b[2]}, m2[3][3];
    memcpy(m2, m, sizeof m2);
    for (int p = 0; p < 3; p++)
        m[p][p] += 1e-9 * (m[0][0] + 1.0);
    /* Gaussian elimination (3x3, symmetric positive definite). */
    for (int p = 0; p < 3; p++)
        for (int q = p + 1; q < 3; q++) {
            double f = m[q][p] / m[p][p];
            for (int r = p; r < 3; r++)
                m[q][r] -= f * m[p][r];
            b[q] -= f * b[p];
        }
    for (int p = 2; p >= 0; p--) {
        double v = b[p];
        for (int q = p + 1; q < 3; q++)
            v -= m[p][q] * a[q];
        a[p] = v / m[p][p];
    }
    if (a[1] < 0.0) {
        /* Wall darker than the surroundings is not this model: refit with
         * no wall step (a1 = 0), the 2x2 system of columns 1 and D(rl). */
        double det = m2[0][0] * m2[2][2] - m2[0][2] * m2[0][2];
        if (!(fabs(det) > 1e-12))
            return INFINITY;
        a[0] = (b2[0] * m2[2][2] - m2[0][2] * b2[2]) / det;
        a[1] = 0.0;
        a[2] = (m2[0][0] * b2[2] - m2[0][2] * b2[0]) / det;
    }
    /* The lumen must be brighter than its wall (bright-lumen angiography). */
    if (!(a[2] > 0.0))
        return INFINITY;
    double sse = 0.0;
    for (size_t j = 0; j < n; j++) {
        double v = a[0] + a[1] * col_value(po, c->nj, wo, j) +
                   a[2] * col_value(pl, c->nj, wl, j) - prof[j];
        sse += v * v;
    }
    return sse;
}

/* Residual sum of squares with the levels fixed. */
static double fixed_sse(const col_table *c, const double *prof, size_t n,
                        double rl, double ro, const double a[3])
{
    float wl, wo;
    const float *pl = col_at(c, rl, &wl), *po = col_at(c, ro, &wo);
    double sse = 0.0;
    for (size_t j = 0; j < n; j++) {
        double v = a[0] + a[1] * col_value(po, c->nj, wo, j) +
                   a[2] * col_value(pl, c->nj, wl, j) - prof[j];
        sse += v * v;
    }
    return sse;
}

/* Levels for fixed radii with the wall's fractional level q fixed:
 * model a0 + A (q D(r; ro) + (1 - q) D(r; rl)), i.e. a1 = q A, a2 =
 * (1 - q) A. q = (wall - surroundings) / (lumen - surroundings) is a tissue
 * ratio shared by the whole vessel (see estimate_blur); with it fixed the
 * per-station fit no longer slides along the wall-level / lumen-radius
 * valley that a thin wall (~ sigma) opens. */
static double fit_levels_q(const col_table *c, const double *prof, size_t n,
                           double rl, double ro, double q, double a[3])
{
    float wl, wo;
    const float *pl = col_at(c, rl, &wl), *po = col_at(c, ro, &wo);
    double s1 = 0.0, sm = 0.0, smm = 0.0, sp = 0.0, smp = 0.0;
    for (size_t j = 0; j < n; j++) {
        double m = q * col_value(po, c->nj, wo, j) +
                   (1.0 - q) * col_value(pl, c->nj, wl, j);
        s1 += 1.0;
        sm += m;
        smm += m * m;
        sp += prof[j];
        smp += m * prof[j];
    }
    double det = s1 * smm - sm * sm;
    if (!(det > 1e-12 * (s1 * smm + 1e-30)))
        return INFINITY;
    double amp = (s1 * smp - sm * sp) / det;
    double a0 = (sp - amp * sm) / s1;
    if (!(amp > 0.0))
        return INFINITY;
    a[0] = a0;
    a[1] = q * amp;
    a[2] = (1.0 - q) * amp;
    return fixed_sse(c, prof, n, rl, ro, a);
}

/* Levels for fixed radii with the wall level W known (image units):
 * model a0 + (W - a0) D(r; ro) + a2 D(r; rl), i.e. the data minus
 * W D(r; ro) is linear in the surroundings level a0 and the lumen step a2.
 * Under blur a wall thinner than ~2 sigma is seen only through its
 * integral: a ring of contrast (W - a0) and thickness w at rl is, to first
 * order, the lumen edge moved out by (W - a0) w / (lumen - a0), so the
 * data alone cannot tell a bright thin wall from a larger lumen (see
 * README); in CT the soft-tissue level of the wall removes that freedom. */
static bool solve_levels_w(const col_table *c, const double *prof, size_t n,
                           double rl, double ro, double wall, double a[3],
                           double *info)
{
    float wl, wo;
    const float *pl = col_at(c, rl, &wl), *po = col_at(c, ro, &wo);
    double m00 = 0.0, m01 = 0.0, m11 = 0.0, b0 = 0.0, b1 = 0.0;
    for (size_t j = 0; j < n; j++) {
        double dout = col_value(po, c->nj, wo, j);
        double u = 1.0 - dout, v = col_value(pl, c->nj, wl, j);
        double y = prof[j] - wall * dout;
        m00 += u * u;
        m01 += u * v;
        m11 += v * v;
        b0 += u * y;
        b1 += v * y;
    }
    double det = m00 * m11 - m01 * m01;
    if (!(det > 1e-12 * (m00 * m11 + 1e-30)))
        return false;
    a[0] = (b0 * m11 - m01 * b1) / det;
    a[2] = (m00 * b1 - m01 * b0) / det;
    a[1] = wall - a[0];
    *info = det / m00; /* 1 / var(a2) per unit noise variance */
    return true;
}

/* The levels of solve_levels_w and their residual sum of squares;
 * INFINITY when singular or the lumen is not brighter than its wall. */
static double fit_levels_w(const col_table *c, const double *prof, size_t n,
                           double rl, double ro, double wall, double a[3])
{
    double info;
    if (!solve_levels_w(c, prof, n, rl, ro, wall, a, &info) ||
        !(a[2] > 0.0))
        return INFINITY;
    return fixed_sse(c, prof, n, rl, ro, a);
}

/* Coarse 2-D grid over (lumen radius, wall thickness), then finer grids
 * around the best; levels fitted, or fixed to `lev` when not NULL. */
/* One model evaluation: levels fitted (lev NULL) or fixed. */
static double fit_eval(const col_table *c, const double *prof, size_t n,
                       double rl, double th, const double *lev, double q,
                       double wall, double a[3])
{
    if (lev == NULL && isfinite(wall))
        return fit_levels_w(c, prof, n, rl, rl + th, wall, a);
    if (lev == NULL && q >= 0.0)
        return fit_levels_q(c, prof, n, rl, rl + th, q, a);
    if (lev != NULL) {
        memcpy(a, lev, 3 * sizeof *a);
        return fixed_sse(c, prof, n, rl, rl + th, a);
    }
    return fit_levels(c, prof, n, rl, rl + th, a);
}

static void fit_radii_lev(const col_table *c, double dr, double wmin,
                          const double *prof, size_t n, double rbar,
                          const double *lev, double q, double wall,
                          fit_result *best)
{
    double r0 = fmax(dr, 0.5 * rbar), r1 = 1.5 * rbar + 0.3;
    double t0 = wmin, t1 = fmax(wmin + 0.2, fmin(2.5, 0.5 * rbar + 1.5));
    double hr = (r1 - r0) / 9.0, ht = (t1 - t0) / 7.0, a[3];
    best->sse = INFINITY;
    best->rl = rbar;
    best->ro = rbar + wmin;
    double cr = rbar, ct = wmin;
    for (int i = 0; i < 10; i++) /* coarse grid */
        for (int k = 0; k < 8; k++) {
            double rl = r0 + hr * i, th = t0 + ht * k;
            double e = fit_eval(c, prof, n, rl, th, lev, q, wall, a);
            if (e < best->sse) {
                best->sse = e;
                cr = rl;
                ct = th;
                memcpy(best->a, a, sizeof a);
            }
        }
    /* Pattern (compass) search: move while a neighbour improves, else halve
     * the steps. Unlike shrinking grids it follows the long, narrow valley
     * of the SSE (blur, wall level and radius trade against each other). */
    hr *= 0.5;
    ht *= 0.5;
    for (int it = 0; it < 200 && (hr > 0.002 || ht > 0.002); it++) {
        double br = cr, bt = ct, be = best->sse;
        for (int di = -1; di <= 1; di++)
            for (int dk = -1; dk <= 1; dk++) {
                double rl = cr + di * hr, th = ct + dk * ht;
                if ((di == 0 && dk == 0) || rl < 0.5 * dr || th < 0.5 * wmin)
                    continue;
                double e = fit_eval(c, prof, n, rl, th, lev, q, wall, a);
                if (e < be) {
                    be = e;
                    br = rl;
                    bt = th;
                    memcpy(best->a, a, sizeof a);
                }
            }
        if (be < best->sse) {
            best->sse = be;
            cr = br;
            ct = bt;
        } else {
            hr *= 0.5;
            ht *= 0.5;
        }
    }
    best->rl = cr;
    best->ro = cr + ct;
}

/* The surroundings part of the angular profiles (RESULTS.md round 13).
 * Past the wall the profile is the surroundings' level, which the blur
 * model fits as one value; where the lumen is ~1.5 sigma the lumen area
 * moves ~0.8 % per HU of it. A neighbour on one side (myocardium past the
 * fat, another vessel) raises the far part of some rays: the median over
 * the angles ignores them noise-free, but under noise (20 HU per sample,
 * as large as such a tail) it drifts towards their mean (+2.5 .. +11 HU at
 * 3-4 mm on `lad --psf 0.7`), the fit reads a brighter surroundings and
 * widens the lumen (+7 % there). So from TAIL_GAP_MM past the DP lumen's
 * largest radius on (the wall stays in the median part) the profile is
 * the mean over the rays that do not see such a structure: linear, so
 * noise cannot move it. Which rays: each ray's mean past that radius,
 * averaged over +-TAIL_SMOOTH_MM of vessel and +-TAIL_SMOOTH_DEG of angle
 * (the noise falls well below a neighbour's tail), is compared with the
 * median ray; rays further than TAIL_KEEP_SD robust standard deviations
 * (1.4826 x the median absolute deviation over the angles) on either side
 * are left out (about 13 % of the rays where nothing is there: a little
 * more noise, no bias). */
#define TAIL_GAP_MM 1.0
#define TAIL_SMOOTH_MM 2.0
#define TAIL_SMOOTH_DEG 15.0
#define TAIL_KEEP_SD 1.5

/* First radius index of station s's surroundings part. */
static size_t tail_start(const seg_state *st, size_t s)
{
    const float *r = st->rl_raw + s * st->n_a;
    double rmax = 0.0;
    for (size_t a = 0; a < st->n_a; a++)
        rmax = fmax(rmax, r[a]);
    return (size_t)ceil((rmax + TAIL_GAP_MM) / st->dr);
}

/* Pass (per station): each ray's mean past tail_start, averaged over
 * +-TAIL_SMOOTH_DEG of angle, into tail_mean (NAN: the polar range ends
 * before). */
static void pass_tail_means(void *user, size_t begin, size_t end, unsigned w)
{
    (void)w;
    seg_state *st = user;
    size_t n_a = st->n_a, n_r = st->n_r;
    long qa = lround(TAIL_SMOOTH_DEG / 360.0 * (double)n_a);
    double *ray = malloc(n_a * sizeof *ray);
    for (size_t s = begin; s < end; s++) {
        size_t j0 = tail_start(st, s);
        float *out = st->tail_mean + s * n_a;
        if (ray == NULL || j0 >= n_r) {
            for (size_t a = 0; a < n_a; a++)
                out[a] = NAN; /* no tail: every ray kept */
            continue;
        }
        const float *img = st->polar->pixels + s * n_a * n_r;
        for (size_t a = 0; a < n_a; a++) {
            double acc = 0.0;
            for (size_t j = j0; j < n_r; j++)
                acc += img[a * n_r + j];
            ray[a] = acc / (double)(n_r - j0);
        }
        for (size_t a = 0; a < n_a; a++) {
            double acc = 0.0;
            for (long e = -qa; e <= qa; e++) {
                long b = ((long)a + e) % (long)n_a;
                acc += ray[b < 0 ? b + (long)n_a : b];
            }
            out[a] = (float)(acc / (double)(2 * qa + 1));
        }
    }
    free(ray);
}

/* keep[a]: ray a of station s shows the common surroundings (see above).
 * sm: n_a doubles, fz: n_a floats of scratch. */
static void tail_rays(const seg_state *st, size_t s, bool *keep, double *sm,
                      float *fz)
{
    size_t n_a = st->n_a, m = 0;
    double ds = station_step_mm(st, 0.0);
    long ks = ds > 0.0 ? lround(TAIL_SMOOTH_MM / ds) : 0;
    for (size_t a = 0; a < n_a; a++) {
        double acc = 0.0;
        size_t c = 0;
        for (long d = -ks; d <= ks; d++) {
            long t = (long)s + d;
            float v = t >= 0 && t < (long)st->n_s
                          ? st->tail_mean[(size_t)t * n_a + a]
                          : NAN;
            if (isfinite(v)) {
                acc += v;
                c++;
            }
        }
        sm[a] = c > 0 ? acc / (double)c : NAN;
        if (c > 0)
            fz[m++] = (float)sm[a];
    }
    double med = m > 0 ? vflow_pdp_median(fz, m) : NAN;
    size_t k = 0;
    for (size_t a = 0; a < n_a; a++)
        if (isfinite(sm[a]))
            fz[k++] = (float)fabs(sm[a] - med);
    double lim = k > 0 ? TAIL_KEEP_SD * 1.4826 * vflow_pdp_median(fz, k)
                       : INFINITY;
    for (size_t a = 0; a < n_a; a++)
        keep[a] = !isfinite(sm[a]) || !(fabs(sm[a] - med) > lim);
}

/* Angular profile of station s: per radius the median over the angles
 * free of calcium (robust to a neighbour, branch or chamber that fills a
 * minority of the angles; equal to the mean for a centred round lumen);
 * the surroundings part the mean over the rays tail_rays keeps. */
static void mean_profile(const seg_state *st, size_t s, double *prof)
{
    size_t n_a = st->n_a, n_r = st->n_r;
    const float *img = st->polar->pixels + s * n_a * n_r;
    double thr = calcium_threshold(st, s);
    float *col = malloc(2 * n_a * sizeof *col);
    bool *use = malloc(2 * n_a * sizeof *use);
    double *sm = malloc(n_a * sizeof *sm);
    if (col == NULL || use == NULL || sm == NULL) {
        free(col);
        free(use);
        free(sm);
        for (size_t j = 0; j < n_r; j++)
            prof[j] = NAN;
        return;
    }
    bool *keep = use + n_a;
    size_t used = 0;
    for (size_t a = 0; a < n_a; a++) {
        const float *row = img + a * n_r;
        bool ca = false;
        for (size_t j = 0; st->calcium && j < n_r; j++)
            ca = ca || row[j] > thr;
        use[a] = !ca;
        used += !ca;
    }
    tail_rays(st, s, keep, sm, col + n_a);
    size_t jt = tail_start(st, s);
    for (size_t j = 0; j < n_r; j++) {
        size_t m = 0;
        double acc = 0.0;
        for (size_t a = 0; j >= jt && a < n_a; a++)
            if ((use[a] || used == 0) && keep[a]) {
                acc += img[a * n_r + j];
                m++;
            }
        if (m > 0) {
            prof[j] = acc / (double)m;
            continue;
        }
        for (size_t a = 0; a < n_a; a++)
            if (use[a] || used == 0)
                col[m++] = img[a * n_r + j];
        prof[j] = vflow_pdp_median(col, m);
    }
    free(col);
    free(use);
    free(sm);
}

/* Rise of the profile beyond its trough that marks the next structure
 * out, as a fraction of the lumen contrast: well above the noise of an
 * angular median smoothed along the vessel (~1-2 % of the contrast at
 * 20 HU in 450), well below a myocardium-fat step (~40 %). */
#define NEXT_STRUCTURE_RISE 0.01

/* Fit length for a station of mean lumen radius rbar and angular profile
 * prof (n_r samples). */
static size_t fit_length(const seg_state *st, double rbar, const double *prof)
{
    /* Lumen, a wall of up to ~1 mm and the blur tail; not the next
     * structure out (myocardium beyond the fat, a neighbour). */
    size_t n = (size_t)ceil(fmax(rbar + 2.0, 3.5) / st->dr);
    if (n > st->n_r)
        n = st->n_r;
    /* The fixed length can still reach a structure that lies closer: a
     * vessel buried in myocardium under a thin fat sleeve (2-3 mm past
     * its wall) has the myocardium's blurred edge rising inside it. The
     * model (lumen disk, wall ring, one surroundings level) then reads
     * that rise as a thicker wall and a higher surroundings level and
     * widens the lumen (+10-25 % of area at r ~ 1.1 mm, PSF 0.6 mm, on
     * the tortuous phantom's distal third). Under blur the profile past
     * the wall falls monotonically to the surroundings level unless
     * something brighter lies beyond, so a rise after the trough is that
     * structure: end the fit at the trough, where its edge adds least.
     * Never inside the wall: at least the lumen, the minimal wall and
     * two blur sigmas. */
    size_t j0 = (size_t)ceil(rbar / st->dr), jt = j0;
    if (prof == NULL || j0 + 1 >= n)
        return n;
    for (size_t j = j0; j < n; j++)
        if (prof[j] < prof[jt])
            jt = j;
    if (!(prof[n - 1] - prof[jt] > NEXT_STRUCTURE_RISE * st->contrast))
        return n;
    size_t n_min = (size_t)ceil(
        (rbar + st->p->min_wall_mm + 2.0 * fmax(st->sigma, 0.0)) / st->dr);
    size_t cut = jt + 1 > n_min ? jt + 1 : n_min;
    return cut < n ? cut : n;
}

static void pass_profiles(void *user, size_t begin, size_t end, unsigned w)
{
    (void)w;
    seg_state *st = user;
    for (size_t s = begin; s < end; s++)
        mean_profile(st, s, st->prof + s * st->n_r);
}

/* Mean DP lumen radius of station s; NAN when a ray is bounded by
 * calcium: such a ray rides the deposit's edge (ride_calcium), which is
 * not the lumen edge the profile's fit sees, so the station cannot align
 * its neighbours' profiles. */
static double dp_mean_radius(const seg_state *st, size_t s)
{
    const int *by_ca = st->by_ca + s * st->n_a;
    for (size_t a = 0; a < st->n_a; a++)
        if (by_ca[a])
            return NAN;
    const float *r = st->rl_raw + s * st->n_a;
    double sum = 0.0;
    for (size_t a = 0; a < st->n_a; a++)
        sum += r[a];
    return sum / (double)st->n_a;
}

/* Solves the 3x3 system m[.][0..2] c = m[.][3] (Gaussian elimination
 * with partial pivoting; m is overwritten). False when singular. */
static bool solve3(double m[3][4], double c[3])
{
    for (int i = 0; i < 3; i++) {
        int piv = i;
        for (int k = i + 1; k < 3; k++)
            if (fabs(m[k][i]) > fabs(m[piv][i]))
                piv = k;
        if (!(fabs(m[piv][i]) > 1e-12))
            return false;
        for (int k = 0; k < 4; k++) {
            double tmp = m[i][k];
            m[i][k] = m[piv][k];
            m[piv][k] = tmp;
        }
        for (int k = i + 1; k < 3; k++) {
            double f = m[k][i] / m[i][i];
            for (int q = i; q < 4; q++)
                m[k][q] -= f * m[i][q];
        }
    }
    for (int i = 2; i >= 0; i--) {
        double v = m[i][3];
        for (int k = i + 1; k < 3; k++)
            v -= m[i][k] * c[k];
        c[i] = v / m[i][i];
    }
    return true;
}

/* Adds the point (d, y) with weight wt to the normal equations of the
 * quadratic y ~ c0 + c1 d + c2 d^2. */
static void quadratic_accumulate(double m[3][4], double d, double y,
                                 double wt)
{
    double b[3] = {1.0, d, d * d};
    for (int i = 0; i < 3; i++) {
        for (int k = 0; k < 3; k++)
            m[i][k] += wt * b[i] * b[k];
        m[i][3] += wt * b[i] * y;
    }
}

/* Local quadratic trend r(s + d) ~ c0 + c1 d + c2 d^2 of the DP lumen's
 * mean radii in the window, by weighted least squares. Returns false when
 * a radius of the window is unknown, the window holds fewer than five or
 * the system is singular. */
static bool radius_trend(const seg_state *st, size_t s, long half, double sig,
                         double c[3])
{
    double m[3][4] = {{0}};
    int used = 0;
    for (long d = -half; d <= half; d++) {
        long t = (long)s + d;
        if (t < 0 || t >= (long)st->n_s)
            continue;
        if (!isfinite(st->r_dp[t]))
            return false; /* plain smoothing next to a deposit */
        quadratic_accumulate(m, (double)d, st->r_dp[t],
                             exp(-0.5 * (double)(d * d) / (sig * sig)));
        used++;
    }
    return used >= 5 && solve3(m, c);
}

/* Profiles smoothed along the vessel like the edge images: the blur model
 * is fitted to many more samples than one station holds (noise). A plain
 * average of the neighbours' profiles puts the edge at their mean radius,
 * which at a lesion's minimum is too large by ~ sig^2 r''(s) / 2 (the
 * noise-free `stenosis` phantom: MLA +17 %, RESULTS.md round 8). Each
 * neighbour's profile is therefore first shifted radially by the local
 * quadratic trend of the DP lumen's mean radii (the edge of the blurred
 * step; the profile's half-level radius does not follow a lumen narrower
 * than the blur: 1.25 mm at the 0.6 mm `stenosis` minimum), q(s) - q(t),
 * so the weighted mean
 * of the shifted edges is then the weighted local quadratic regression
 * (LOESS of degree 2, Cleveland 1979) of the radii at s, which follows a
 * curved minimum, while the noise is still averaged. */
static void pass_profiles_smooth(void *user, size_t begin, size_t end,
                                 unsigned w)
{
    (void)w;
    seg_state *st = user;
    size_t n = st->n_r;
    double ds = station_step_mm(st, 0.0);
    double sig = ds > 0.0 ? st->p->smooth_mm / ds : 0.0;
    long half = (long)ceil(2.5 * sig);
    for (size_t s = begin; s < end; s++) {
        double *dst = st->prof_s + s * n, wsum = 0.0, c[3] = {0};
        bool align = half > 0 && radius_trend(st, s, half, sig, c);
        memset(dst, 0, n * sizeof *dst);
        for (long d = -half; d <= half; d++) {
            long t = (long)s + d;
            if (t < 0 || t >= (long)st->n_s)
                continue;
            double wt = half > 0 ? exp(-0.5 * (double)(d * d) / (sig * sig))
                                 : 1.0;
            /* Shift (rows) moving t's edge to where the trend puts s's. */
            double sh = align ? -(c[1] * (double)d +
                                  c[2] * (double)(d * d)) / st->dr
                              : 0.0;
            const double *src = st->prof + (size_t)t * n;
            for (size_t j = 0; j < n; j++) {
                double x = fmin(fmax((double)j - sh, 0.0), (double)(n - 1));
                size_t j0 = (size_t)x;
                j0 = j0 + 1 < n ? j0 : n - 2;
                double f = x - (double)j0;
                dst[j] += wt * ((1.0 - f) * src[j0] + f * src[j0 + 1]);
            }
            wsum += wt;
        }
        for (size_t j = 0; j < n; j++)
            dst[j] /= wsum;
    }
}

static double mean_f(const float *v, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += v[i];
    return s / (double)n;
}

/* Blur sigma and wall fraction q, jointly, by profile likelihood: for
 * each sigma on a 0.05 mm grid (or the given sigma) and each q on a 0.05
 * grid, every sampled station's profile (averaged over SIG_SMOOTH_MM of
 * arc) is fitted with its own radii and levels a0, A; the residuals are
 * SUMMED over the stations and the (sigma, q) of least total residual is
 * kept (parabola through the grid minimum in each direction). Summing
 * before minimising is what makes this work: per station the wall level
 * and the lumen radius trade against each other along a flat, skewed
 * valley (thin wall ~ sigma), so per-station optima scatter and their
 * median is biased towards a bright wall and a small lumen (the previous
 * estimator's -13 % area on the `lad` phantom); the pooled criterion is
 * the maximum-likelihood estimate of two numbers the whole vessel shares
 * (the scanner blur and the wall's tissue contrast ratio). */
enum { SIG_N = 23, SIG_PICK = 32, Q_N = 17 };
#define SIG_AT(k) (0.1 + 0.05 * (double)(k))
#define Q_AT(k) (0.05 * (double)(k))
#define SIG_SMOOTH_MM 1.0

static double col_rmax(const seg_state *st)
{
    return 2.0 * (double)st->n_r * st->dr + 3.0;
}

typedef struct sigma_job {
    seg_state *st;
    const col_table *col;
    size_t n_pick;
    double (*sse)[Q_N]; /* n_pick rows for the current sigma */
} sigma_job;

static size_t picked_station(const seg_state *st, size_t i, size_t n_pick)
{
    return n_pick > 1 ? i * (st->n_s - 1) / (n_pick - 1) : 0;
}

/* Profile of station s averaged along the vessel with a Gaussian of
 * `sig_mm` of arc (averaging over millimetres removes the noise that
 * biases a per-station fit towards a sharper edge). */
static void long_profile(const seg_state *st, size_t s, double sig_mm,
                         double *out)
{
    size_t n = st->n_r;
    double ds = station_step_mm(st, 0.0);
    double sig = ds > 0.0 ? sig_mm / ds : 0.0, wsum = 0.0;
    long half = (long)ceil(2.5 * sig);
    memset(out, 0, n * sizeof *out);
    for (long d = -half; d <= half; d++) {
        long t = (long)s + d;
        if (t < 0 || t >= (long)st->n_s)
            continue;
        double wt = half > 0 ? exp(-0.5 * (double)(d * d) / (sig * sig)) : 1.0;
        for (size_t j = 0; j < n; j++)
            out[j] += wt * st->prof[(size_t)t * n + j];
        wsum += wt;
    }
    for (size_t j = 0; j < n; j++)
        out[j] /= wsum;
}

static void sigma_fit_job(void *user, size_t begin, size_t end, unsigned w)
{
    (void)w;
    sigma_job *job = user;
    seg_state *st = job->st;
    double *prof = malloc(st->n_r * sizeof *prof);
    for (size_t i = begin; i < end; i++) {
        size_t s = picked_station(st, i, job->n_pick);
        double rbar = mean_f(st->rl_raw + s * st->n_a, st->n_a);
        if (prof != NULL)
            long_profile(st, s, SIG_SMOOTH_MM, prof);
        for (int q = 0; q < Q_N; q++) {
            fit_result fr = {.sse = INFINITY};
            if (isfinite(st->wall_hu) && q > 0) {
                job->sse[i][q] = job->sse[i][0];
                continue;
            }
            if (prof != NULL)
                fit_radii_lev(job->col, st->dr, st->p->min_wall_mm, prof,
                              fit_length(st, rbar, prof), rbar, NULL,
                              isfinite(st->wall_hu) ? -1.0 : Q_AT(q),
                              st->wall_hu, &fr);
            job->sse[i][q] = fr.sse;
        }
    }
    free(prof);
}

/* Offset in [-0.5, 0.5] of the parabola minimum through (m, 0, p). */
static double parabola_min(double em, double e0, double ep)
{
    double den = em - 2.0 * e0 + ep;
    if (!(den > 0.0))
        return 0.0;
    return fmax(-0.5, fmin(0.5, 0.5 * (em - ep) / den));
}

/* Sets st->sigma (when `free_sigma`) and st->wall_q (-1 with a wall
 * level in HU; 0 for MR angiography; else estimated with sigma). */
static int estimate_blur(vflow_ctx *ctx, seg_state *st, bool free_sigma)
{
    size_t n_pick = st->n_s < SIG_PICK ? st->n_s : SIG_PICK;
    int n_sig = free_sigma ? SIG_N : 1;
    double (*sse)[SIG_PICK][Q_N] = malloc((size_t)n_sig * sizeof *sse);
    double (*tot)[Q_N] = malloc((size_t)n_sig * sizeof *tot);
    if (sse == NULL || tot == NULL) {
        free(sse);
        free(tot);
        return VFLOW_ENOMEM;
    }
    int rc = 0;
    for (int k = 0; k < n_sig && rc == 0; k++) {
        col_table c;
        double sig = free_sigma ? SIG_AT(k) : st->sigma;
        if (col_table_build(&c, &st->tab, sig, st->dr, st->n_r,
                            col_rmax(st)) < 0) {
            rc = VFLOW_ENOMEM;
            break;
        }
        sigma_job job = {st, &c, n_pick, sse[k]};
        rc = vflow_xs_parallel(ctx, n_pick, sigma_fit_job, &job);
        free(c.v);
    }
    if (rc < 0) {
        free(sse);
        free(tot);
        return rc;
    }
    /* Profile likelihood with an unknown noise level per station: the
     * criterion is sum_i log SSE_i(sigma, q) (a station's scale, e.g. its
     * contrast or noise, then does not weight it). Stations the model does
     * not describe (ostium, branch origin, neighbour, eccentric plaque:
     * best residual > 3x the median best residual) are left out, as are
     * stations some grid point cannot fit; every grid point is judged on
     * the same stations. */
    double best_i[SIG_PICK];
    float tmp_b[SIG_PICK];
    size_t n_ok = 0;
    for (size_t i = 0; i < n_pick; i++) {
        bool ok = true;
        double mn = INFINITY;
        for (int k = 0; k < n_sig && ok; k++)
            for (int q = 0; q < Q_N && ok; q++) {
                ok = isfinite(sse[k][i][q]) && sse[k][i][q] > 0.0;
                mn = fmin(mn, sse[k][i][q]);
            }
        best_i[i] = ok ? mn : NAN;
        if (ok)
            tmp_b[n_ok++] = (float)mn;
    }
    double med = n_ok > 0 ? vflow_pdp_median(tmp_b, n_ok) : 0.0;
    for (int k = 0; k < n_sig; k++)
        for (int q = 0; q < Q_N; q++)
            tot[k][q] = 0.0;
    size_t used = 0;
    for (size_t i = 0; i < n_pick; i++) {
        if (!isfinite(best_i[i]) || best_i[i] > 9.0 * med)
            continue;
        used++;
        for (int k = 0; k < n_sig; k++)
            for (int q = 0; q < Q_N; q++)
                tot[k][q] += log(sse[k][i][q]);
    }
    /* MR angiography: q = 0 (Q_AT(0)), only sigma is searched. */
    int bk = 0, bq = 0, n_q = st->wall_invisible ? 1 : Q_N;
    for (int k = 0; k < n_sig; k++)
        for (int q = 0; q < n_q; q++)
            if (tot[k][q] < tot[bk][bq])
                bk = k, bq = q;
    double dk = 0.0, dq = 0.0;
    if (bk > 0 && bk + 1 < n_sig)
        dk = parabola_min(tot[bk - 1][bq], tot[bk][bq], tot[bk + 1][bq]);
    if (bq > 0 && bq + 1 < n_q)
        dq = parabola_min(tot[bk][bq - 1], tot[bk][bq], tot[bk][bq + 1]);
    if (used == 0) {
        if (free_sigma)
            st->sigma = 0.0;
        st->wall_q = -1.0;
    } else {
        if (free_sigma)
            st->sigma = SIG_AT((double)bk + dk);
        st->wall_q = isfinite(st->wall_hu) ? -1.0 : Q_AT((double)bq + dq);
    }
    free(sse);
    free(tot);
    return 0;
}

/* Outer wall of station s given its final lumen rl: closed DP on the edge
 * of the profile with the fitted lumen component removed (so the strong
 * lumen edge does not capture it), then the model bias shift. */
static void outer_station(seg_state *st, size_t s, const fit_result *fr,
                          bool use_model, const float *rl, float *ro,
                          float *work, int *ibuf)
{
    size_t n_a = st->n_a, n_r = st->n_r;
    double dr = st->dr;
    const float *img = st->polar->pixels + s * n_a * n_r;
    float *res = work, *cost = work + n_a * n_r;
    int *lo = ibuf, *hi = ibuf + n_a, *path = ibuf + 2 * n_a;
    for (size_t a = 0; a < n_a; a++) {
        float wl = 0.0f;
        const float *pl = use_model ? col_at(&st->col, rl[a], &wl) : NULL;
        for (size_t j = 0; j < n_r; j++) {
            double v = img[a * n_r + j];
            if (use_model)
                v -= fr->a[2] * col_value(pl, st->col.nj, wl, j);
            res[a * n_r + j] = (float)v;
        }
    }
    for (size_t a = 0; a < n_a; a++)
        for (size_t j = 0; j < n_r; j++) {
            size_t jm = j > 0 ? j - 1 : 0, jp = j + 1 < n_r ? j + 1 : j;
            double g = (res[a * n_r + jp] - res[a * n_r + jm]) /
                       ((double)(jp - jm) * dr);
            cost[a * n_r + j] = (float)g; /* -(-dI/dr) */
        }
    /* Angular [1 2 1]/4 smoothing of the cost, in res (no longer needed). */
    for (size_t a = 0; a < n_a; a++) {
        const float *pm = cost + ((a + n_a - 1) % n_a) * n_r;
        const float *p0 = cost + a * n_r, *pp = cost + ((a + 1) % n_a) * n_r;
        for (size_t j = 0; j < n_r; j++)
            res[a * n_r + j] =
                (float)(0.25 * (pm[j] + 2.0 * p0[j] + pp[j]) / st->contrast);
    }
    int wall = (int)ceil(st->p->min_wall_mm / dr);
    for (size_t a = 0; a < n_a; a++) {
        int l = (int)ceil(rl[a] / dr) + wall;
        lo[a] = l > (int)n_r - 2 ? (int)n_r - 2 : l;
        hi[a] = (int)n_r - 2;
    }
    int k = step_rows(st);
    double c = vflow_pdp_closed_path(res, n_a, n_r, lo, hi, k,
                                     st->p->step_penalty * dr, 1, path);
    for (size_t a = 0; a < n_a; a++) {
        double j = isfinite(c) ? path[a] : lo[a];
        if (isfinite(c)) {
            /* Sub-pixel on the (negated) cost = edge response. */
            float e3[3];
            for (int q = -1; q <= 1; q++) {
                int jj = path[a] + q;
                jj = jj < 0 ? 0 : (jj >= (int)n_r ? (int)n_r - 1 : jj);
                e3[q + 1] = -res[a * n_r + (size_t)jj];
            }
            double den = e3[0] - 2.0 * e3[1] + e3[2];
            if (den < 0.0)
                j += fmax(-0.5, fmin(0.5, 0.5 * (e3[0] - e3[2]) / den));
        }
        ro[a] = (float)(j * dr);
    }
    if (use_model) {
        /* As for the lumen: DP shape, model mean radius. */
        float *tmp = work;
        smooth_circular(ro, n_a, (double)n_a / 64.0, tmp);
        double m = mean_f(ro, n_a);
        for (size_t a = 0; a < n_a; a++)
            ro[a] += (float)(fr->ro - m);
    }
}

/* Calcium bounds of the stations within 0.8 mm of arc, carried into
 * station s: out[a] = the smallest radius (mm) at which ray a of station s
 * meets a calcium bound point of a neighbouring station (INFINITY: none).
 * A deposit is 3-D; blur lowers its ends along the vessel below the
 * threshold just as along the arc (lumen_bounds spreads a hit
 * tangentially in-plane), so a station next to a detected deposit is
 * bounded too. Each neighbour's bound is carried as the 3-D point it
 * marks (centre + radius along its ray), projected into this station's
 * plane: the station centres move by tenths of a millimetre between
 * stations next to a deposit, so "the same ray index" of a neighbour is a
 * different line in space (it cut this station's lumen to 0.25 mm on the
 * `calcified` phantom). */
static void calcium_bounds_along(const seg_state *st, size_t s, double *out)
{
    size_t n = st->n_s, n_a = st->n_a;
    for (size_t a = 0; a < n_a; a++)
        out[a] = INFINITY;
    if (!st->calcium)
        return;
    double ds = station_step_mm(st, 1.0);
    long half = ds > 0.0 ? (long)floor(0.8 / ds) : 0;
    const vflow_frame *fs = &st->polar->frames[s];
    for (long d = -half; d <= half; d++) {
        long t = (long)s + d;
        if (d == 0 || t < 0 || t >= (long)n)
            continue;
        const vflow_frame *ft = &st->polar->frames[t];
        for (size_t a = 0; a < n_a; a++) {
            size_t i = (size_t)t * n_a + a;
            if (!st->by_ca[i])
                continue;
            double th = 2.0 * M_PI * (double)a / (double)n_a;
            double rho = st->ub_mm[i], u = 0.0, v = 0.0;
            for (int k = 0; k < 3; k++) {
                double p = ft->center[k] + rho * (cos(th) * ft->normal[k] +
                                                  sin(th) * ft->binormal[k]);
                u += (p - fs->center[k]) * fs->normal[k];
                v += (p - fs->center[k]) * fs->binormal[k];
            }
            double r = hypot(u, v), phi = atan2(v, u);
            long ai = lround(phi / (2.0 * M_PI) * (double)n_a);
            /* The ray through the point and its two neighbours (the
             * projected points of one neighbour are not evenly spread). */
            for (long e = -1; e <= 1; e++) {
                size_t b = (size_t)(((ai + e) % (long)n_a + (long)n_a) %
                                    (long)n_a);
                out[b] = fmin(out[b], r);
            }
        }
    }
}

/* Levels for fixed radii with the wall level W and the lumen level L both
 * known: model a0 + (W - a0) D(r; ro) + (L - W) D(r; rl); only the
 * surroundings a0 is fitted (linear). With a2 = L - W fixed, a small lumen
 * (R ~ 2 sigma, whose profile fixes little more than the "mass" a2 R^2)
 * can no longer trade its radius against its step. */
static double fit_levels_wl(const col_table *c, const double *prof, size_t n,
                            double rl, double ro, double wall, double lumen,
                            double a[3])
{
    float wl, wo;
    const float *pl = col_at(c, rl, &wl), *po = col_at(c, ro, &wo);
    double uu = 0.0, uy = 0.0;
    for (size_t j = 0; j < n; j++) {
        double dout = col_value(po, c->nj, wo, j);
        double u = 1.0 - dout;
        double y = prof[j] - wall * dout -
                   (lumen - wall) * col_value(pl, c->nj, wl, j);
        uu += u * u;
        uy += u * y;
    }
    if (!(uu > 1e-12))
        return INFINITY;
    a[0] = uy / uu;
    a[1] = wall - a[0];
    a[2] = lumen - wall;
    return fixed_sse(c, prof, n, rl, ro, a);
}

/* What a one-radius search evaluates at each trial radius: the lumen
 * radius with the outer one fixed at `ro`, or (vary_outer) the outer
 * radius with the lumen one fixed at `rl`. Levels as fit_eval (wall level
 * prior or wall/lumen ratio q), or, with `level_fixed`, only the
 * surroundings with the wall and lumen levels given (fit_levels_wl). */
typedef struct radius_search {
    const col_table *c;
    const double *prof;
    size_t n;
    double rl, ro, q, wall, lumen;
    bool level_fixed, vary_outer;
} radius_search;

static double radius_search_sse(const radius_search *rs, double r, double *a)
{
    double rl = rs->vary_outer ? rs->rl : r, ro = rs->vary_outer ? r : rs->ro;
    if (rs->level_fixed)
        return fit_levels_wl(rs->c, rs->prof, rs->n, rl, ro, rs->wall,
                             rs->lumen, a);
    return fit_eval(rs->c, rs->prof, rs->n, rl, ro - rl, NULL, rs->q,
                    rs->wall, a);
}

/* The searched radius in [r0, r1] (a grid of 16, then halving pattern
 * steps down to 1 um); best->sse and best->a at it, `start` when no trial
 * is finite. */
static double search_radius(const radius_search *rs, double r0, double r1,
                            double start, fit_result *best)
{
    double a[3], h = (r1 - r0) / 15.0, cr = start;
    best->sse = INFINITY;
    if (!(r1 > r0))
        return cr;
    for (int i = 0; i <= 15; i++) {
        double r = r0 + h * i;
        double e = radius_search_sse(rs, r, a);
        if (e < best->sse) {
            best->sse = e;
            cr = r;
            memcpy(best->a, a, sizeof a);
        }
    }
    for (h *= 0.5; h > 0.001; h *= 0.5)
        for (int d = -1; d <= 1; d += 2) {
            double r = cr + d * h;
            if (r < r0 || r > r1)
                continue;
            double e = radius_search_sse(rs, r, a);
            if (e < best->sse) {
                best->sse = e;
                cr = r;
                memcpy(best->a, a, sizeof a);
            }
        }
    return cr;
}

/* Lumen radius in [max(dr, rbar / 2), ro - wmin / 2], outer fixed; with
 * the lumen level fixed from dr on: at a tight stenosis the DP path can
 * take the plaque-to-fat edge (rbar ~ the outer radius), and only the
 * level-fixed fit, which reads the radius from the lumen's blurred mass,
 * can still find a lumen of a few tenths of a millimetre. */
static void search_lumen_radius(const radius_search *rs, double dr,
                                double wmin, double rbar, fit_result *best)
{
    double lo = rs->level_fixed ? dr : fmax(dr, 0.5 * rbar);
    best->rl = search_radius(rs, lo, rs->ro - 0.5 * wmin, rbar, best);
    best->ro = rs->ro;
}

/* Lumen radius of a profile with the outer radius fixed at `ro`; levels as
 * fit_eval. */
static void fit_lumen_given_outer(const col_table *c, double dr, double wmin,
                                  const double *prof, size_t n, double rbar,
                                  double ro, double q, double wall,
                                  fit_result *best)
{
    radius_search rs = {c, prof, n, NAN, ro, q, wall, 0.0, false, false};
    search_lumen_radius(&rs, dr, wmin, rbar, best);
}

/* As fit_lumen_given_outer, with the lumen level fixed (fit_levels_wl). */
static void fit_lumen_given_level(const col_table *c, double dr, double wmin,
                                  const double *prof, size_t n, double rbar,
                                  double ro, double wall, double lumen,
                                  fit_result *best)
{
    radius_search rs = {c, prof, n, NAN, ro, 0.0, wall, lumen, true, false};
    if (!(lumen > wall)) {
        best->sse = INFINITY;
        best->rl = rbar;
        best->ro = ro;
        return;
    }
    search_lumen_radius(&rs, dr, wmin, rbar, best);
}

/* A fit the model can be trusted with: a visible lumen step. */
static bool fit_usable(const seg_state *st, const fit_result *fr)
{
    return isfinite(fr->sse) && fr->a[2] > 0.2 * st->contrast;
}

/* Profile of station s smoothed along the vessel, its fit length and mean
 * DP radius (the inputs of every per-station fit). */
static const double *station_profile(const seg_state *st, size_t s,
                                     size_t *n, double *rbar)
{
    *rbar = mean_f(st->rl_raw + s * st->n_a, st->n_a);
    const double *prof = st->prof_s + s * st->n_r;
    *n = fit_length(st, *rbar, prof);
    return prof;
}

/* Pass 3 (per station): free blur-model fit of the station's profile
 * (lumen radius, outer radius, levels). */
static void pass_fit(void *user, size_t begin, size_t end, unsigned w)
{
    (void)w;
    seg_state *st = user;
    for (size_t s = begin; s < end; s++) {
        fit_result *fr = st->fit + s;
        memset(fr, 0, sizeof *fr);
        fr->sse = INFINITY;
        if (!(st->sigma > 0.0))
            continue;
        size_t n;
        double rbar;
        const double *prof = station_profile(st, s, &n, &rbar);
        fit_radii_lev(&st->col, st->dr, st->p->min_wall_mm, prof, n, rbar,
                      NULL, st->wall_q, st->wall_hu, fr);
    }
}

/* Outer radii ro_in (per station, NAN: none; the free fits', then the
 * coupled ones of couple_along_vessel) smoothed along the vessel into
 * st->ro_smooth: running median over +-OUTER_MEDIAN_MM of arc, then a
 * running mean over +-OUTER_MEAN_MM.
 * Why: when the wall is about as thin as the blur, a station's profile
 * fixes the lumen/wall "mass" well but trades the two radii against each
 * other (a larger outer radius and a smaller lumen fit about as well), so
 * per-station radii scatter by +-5-10 % of the lumen area. The outer wall
 * varies slowly along an artery (a lesion narrows the lumen while the
 * outer wall stays or remodels outwards over millimetres), so pooling its
 * radius over a few stations removes that freedom; the lumen radius is
 * then fitted per station with the outer one fixed. */
#define OUTER_MEDIAN_MM 1.0
#define OUTER_MEAN_MM 0.5

/* Gaps of ro_smooth no longer than OUTER_GAP_MM of arc, with a pooled
 * outer radius on both sides, filled by linear interpolation in s. A
 * station has no outer radius of its own when its free fit shows no lumen
 * step: at the throat of a 90 % stenosis (lumen ~0.2 mm, below the blur)
 * over 1-1.5 mm. Without one it had no blur model at all and kept the DP
 * path, which there follows the plaque-to-fat edge: the throat came out
 * at the outer radius (2.2 mm instead of 0.2). The outer wall changes
 * over millimetres, so its neighbours' radii stand in; a longer gap (a
 * run of stations that see no vessel) stays NAN. */
#define OUTER_GAP_MM 3.0
static void fill_outer_gaps(seg_state *st)
{
    size_t n = st->n_s, s = 0;
    while (s < n) {
        if (isfinite(st->ro_smooth[s])) {
            s++;
            continue;
        }
        size_t e = s; /* the gap is [s, e) */
        while (e < n && !isfinite(st->ro_smooth[e]))
            e++;
        if (s > 0 && e < n) {
            double s0 = st->polar->frames[s - 1].s_mm,
                   s1 = st->polar->frames[e].s_mm;
            double r0 = st->ro_smooth[s - 1], r1 = st->ro_smooth[e];
            for (size_t t = s; fabs(s1 - s0) <= OUTER_GAP_MM && t < e; t++) {
                double f = (st->polar->frames[t].s_mm - s0) / (s1 - s0);
                st->ro_smooth[t] = r0 + f * (r1 - r0);
            }
        }
        s = e;
    }
}

static int smooth_outer(seg_state *st, const double *ro_in)
{
    size_t n = st->n_s;
    double ds = station_step_mm(st, 1.0);
    long hm = ds > 0.0 ? (long)floor(OUTER_MEDIAN_MM / ds + 0.5) : 0;
    long ha = ds > 0.0 ? (long)floor(OUTER_MEAN_MM / ds + 0.5) : 0;
    float *buf = malloc((size_t)(2 * hm + 1) * sizeof *buf);
    double *med = malloc(n * sizeof *med);
    if (buf == NULL || med == NULL) {
        free(buf);
        free(med);
        return VFLOW_ENOMEM;
    }
    for (size_t s = 0; s < n; s++) {
        size_t m = 0;
        for (long d = -hm; d <= hm; d++) {
            long t = (long)s + d;
            if (t >= 0 && t < (long)n && isfinite(ro_in[t]))
                buf[m++] = (float)ro_in[t];
        }
        med[s] = m > 0 ? vflow_pdp_median(buf, m) : NAN;
    }
    for (size_t s = 0; s < n; s++) {
        double sum = 0.0;
        size_t m = 0;
        for (long d = -ha; d <= ha; d++) {
            long t = (long)s + d;
            if (t >= 0 && t < (long)n && isfinite(med[t])) {
                sum += med[t];
                m++;
            }
        }
        st->ro_smooth[s] = isfinite(ro_in[s]) && m > 0 ? sum / (double)m
                                                       : NAN;
    }
    fill_outer_gaps(st);
    free(buf);
    free(med);
    return 0;
}

/* Noise variance (mm^2) of the DP lumen shapes, per station. The shape
 * x_s(a) = r_s(a) - mean_a r_s (smoothed over angles as in pass_final) of
 * two stations `lag` apart: the lumen's real shape changes over
 * millimetres, while the path's noise decorrelates once the stations are a
 * few `smooth_mm` apart (the edge cost is smoothed along the vessel by a
 * Gaussian of smooth_mm, so its noise correlates as exp(-d^2 / (4
 * smooth_mm^2)): 0.1 at 3 smooth_mm). Then mean_a (x_s - x_t)^2 / 2 =
 * var_noise + half the real change (and a little less for the residual
 * correlation). Per station the median over the pairs within
 * +-SHAPE_NOISE_WIN_MM, so a lesion whose shape does change fast is one
 * pair among many. Without pairs (a vessel shorter than the lag) the
 * variance is 0: no correction. */
#define SHAPE_NOISE_WIN_MM 3.0
static int estimate_shape_noise(seg_state *st)
{
    size_t n = st->n_s, n_a = st->n_a;
    double ds = station_step_mm(st, 0.0);
    double lag_mm = fmax(3.0 * st->p->smooth_mm, 1.0);
    long lag = ds > 0.0 ? lround(lag_mm / ds) : 0;
    long win = ds > 0.0 ? lround(SHAPE_NOISE_WIN_MM / ds) : 0;
    for (size_t s = 0; s < n; s++)
        st->shape_noise[s] = 0.0;
    if (lag < 1 || (size_t)lag >= n)
        return 0;
    float *x = malloc((n + 1) * n_a * sizeof *x);
    double *d2 = malloc(n * sizeof *d2);
    float *buf = malloc((size_t)(2 * win + 1) * sizeof *buf);
    if (x == NULL || d2 == NULL || buf == NULL) {
        free(x);
        free(d2);
        free(buf);
        return VFLOW_ENOMEM;
    }
    float *tmp = x + n * n_a;
    for (size_t s = 0; s < n; s++) {
        float *xs = x + s * n_a;
        memcpy(xs, st->rl_raw + s * n_a, n_a * sizeof *xs);
        smooth_circular(xs, n_a, (double)n_a / 64.0, tmp);
        float m = (float)mean_f(xs, n_a);
        for (size_t a = 0; a < n_a; a++)
            xs[a] -= m;
    }
    for (size_t s = 0; s + (size_t)lag < n; s++) {
        const float *xs = x + s * n_a, *xt = x + (s + (size_t)lag) * n_a;
        double acc = 0.0;
        for (size_t a = 0; a < n_a; a++)
            acc += ((double)xs[a] - xt[a]) * ((double)xs[a] - xt[a]);
        d2[s] = 0.5 * acc / (double)n_a;
    }
    for (size_t s = 0; s < n; s++) {
        /* Pairs (t, t + lag) with both stations in [s - win, s + win]. */
        size_t m = 0;
        for (long t = (long)s - win; t + lag <= (long)s + win; t++)
            if (t >= 0 && t + lag < (long)n)
                buf[m++] = (float)d2[t];
        st->shape_noise[s] = m > 0 ? vflow_pdp_median(buf, m) : 0.0;
    }
    free(x);
    free(d2);
    free(buf);
    return 0;
}

/* Shift that moves the smoothed DP lumen shape sm (n radii) to the blur
 * model's radius r_fit, with the shape's noise variance taken out of the
 * area. A polar contour m + x(a) encloses pi (m^2 + var x) (area =
 * 1/2 closed-integral r^2 dtheta); var x holds the lumen's real
 * eccentricity and the DP path's noise. Shifting the mean to r_fit let the
 * noise add pi var_noise: +1.0 % of lumen area on the `lad` phantom (PSF
 * 0.52 mm, 20 HU), +1.8 % at PSF 0.7 mm (RESULTS.md, round 4). With m^2 =
 * r_fit^2 - min(var x, var_noise) the area is pi (r_fit^2 + var x -
 * var_noise): the real eccentricity stays, a noise-free shape is unchanged
 * (var_noise ~ 0), and the shape itself is not smoothed (smoothing it by
 * the PSF arc also flattened small eccentric lumens). The shift is at most
 * LUMEN_SHIFT_MAX_MM outwards. A DP shape more than that outside the
 * model's lumen followed another edge (the plaque's outer one at a tight
 * stenosis, where the lumen's own edge is too faint): it is scaled to the
 * model radius instead (*scale; shift 0), keeping a closed, proportionate
 * outline instead of a ring 0.5 mm inside the wrong edge. */
#define LUMEN_SHIFT_MAX_MM 0.5
static double lumen_shift(const float *sm, size_t n, double r_fit,
                          double noise_var, double *scale)
{
    double m = mean_f(sm, n), v = 0.0;
    for (size_t a = 0; a < n; a++)
        v += ((double)sm[a] - m) * ((double)sm[a] - m);
    v /= (double)n;
    double r2 = r_fit * r_fit - fmin(v, noise_var);
    double target = r2 > 0.0 ? sqrt(r2) : r_fit;
    *scale = 1.0;
    if (target < m - LUMEN_SHIFT_MAX_MM) {
        *scale = target / m;
        return 0.0;
    }
    return fmin(LUMEN_SHIFT_MAX_MM, target - m);
}

/* Lumen level along the vessel (round 10). The lumen level is a property
 * of the contrast bolus: it varies slowly along a vessel (a gentle
 * proximal-to-distal fall) and does not change at a stenosis. Where the
 * lumen is large against the blur (fitted R > LEVEL_MIN_R_SIGMA sigma) the
 * profile's plateau fixes it directly; on smaller lumens the fit trades R
 * against the lumen step (it fixes little more than a2 R^2, README "Known
 * weaknesses"). So: the levels W + a2 of the large stations' free fits
 * (noise-free they match the phantom's bolus to ~2 HU down to 2 sigma),
 * a robust straight line in s through them (Theil-Sen: median of the
 * pairwise slopes, then median intercept), evaluated at every station
 * with a large station within LEVEL_NEAR_MM of arc; NAN elsewhere (the
 * small stations there keep their free levels). CT only (needs the wall
 * level W: the model's a1 = W - a0, so the plateau is W + a2). */
#define LEVEL_MIN_R_SIGMA 2.0
#define LEVEL_NEAR_MM 15.0
#define LEVEL_MIN_STATIONS 8
static int lumen_level_trend(seg_state *st)
{
    size_t n = st->n_s, m = 0;
    for (size_t s = 0; s < n; s++)
        st->lum_trend[s] = NAN;
    if (!(st->sigma > 0.0) || !isfinite(st->wall_hu))
        return 0;
    double *ss = malloc(n * sizeof *ss), *lv = malloc(n * sizeof *lv);
    if (ss == NULL || lv == NULL) {
        free(ss);
        free(lv);
        return VFLOW_ENOMEM;
    }
    for (size_t s = 0; s < n; s++) {
        const fit_result *fr = st->fit + s;
        if (fit_usable(st, fr) && fr->rl > LEVEL_MIN_R_SIGMA * st->sigma) {
            ss[m] = st->polar->frames[s].s_mm;
            lv[m] = st->wall_hu + fr->a[2];
            m++;
        }
    }
    int rc = 0;
    if (m >= LEVEL_MIN_STATIONS) {
        /* Pairs at least 1 mm apart (closer ones give noise-dominated
         * slopes); at most m (m - 1) / 2 of them. */
        float *sl = malloc((m * (m - 1) / 2 + m) * sizeof *sl);
        if (sl == NULL) {
            rc = VFLOW_ENOMEM;
        } else {
            size_t k = 0;
            for (size_t i = 0; i < m; i++)
                for (size_t j = i + 1; j < m; j++)
                    if (fabs(ss[j] - ss[i]) >= 1.0)
                        sl[k++] = (float)((lv[j] - lv[i]) / (ss[j] - ss[i]));
            double slope = k > 0 ? vflow_pdp_median(sl, k) : 0.0;
            for (size_t i = 0; i < m; i++)
                sl[i] = (float)(lv[i] - slope * ss[i]);
            double icpt = vflow_pdp_median(sl, m);
            free(sl);
            for (size_t s = 0; s < n; s++) {
                double sm = st->polar->frames[s].s_mm, near = INFINITY;
                for (size_t i = 0; i < m; i++)
                    near = fmin(near, fabs(ss[i] - sm));
                if (near <= LEVEL_NEAR_MM)
                    st->lum_trend[s] = icpt + slope * sm;
            }
        }
    }
    free(ss);
    free(lv);
    return rc;
}

/* Outer radius of a profile with the lumen radius `rl` and the wall and
 * lumen levels given (only the surroundings level fitted): the wall
 * thickness searched over the range of fit_radii_lev. */
static void fit_outer_given_lumen(const col_table *c, double wmin,
                                  const double *prof, size_t n, double rl,
                                  double wall, double lumen, fit_result *best)
{
    radius_search rs = {c, prof, n, rl, NAN, 0.0, wall, lumen, true, true};
    double th1 = fmax(wmin + 0.2, fmin(2.5, 0.5 * rl + 1.5));
    best->rl = rl;
    best->ro = search_radius(&rs, rl + 0.5 * wmin, rl + th1, rl + wmin, best);
}

/* Lumen level W + a2 of a profile for fixed radii and wall level W (a0
 * and a2 linear, as fit_levels_w), NAN when singular; *info = 1 / var(a2)
 * per unit profile noise variance (the (a2, a2) element of the inverse
 * normal matrix), how much the station says about the level. */
static double level_given_radii(const col_table *c, const double *prof,
                                size_t n, double rl, double ro, double wall,
                                double *info)
{
    double a[3];
    if (!solve_levels_w(c, prof, n, rl, ro, wall, a, info)) {
        *info = 0.0;
        return NAN;
    }
    return wall + a[2];
}

/* Robust weighted straight line y ~ c[0] + c[1] x through m points of
 * weights w (inverse variances up to a common factor), starting from the
 * residuals r0: iteratively reweighted least squares with Tukey's
 * biweight at 4.685 robust standard deviations (Holland & Welsch 1977),
 * the scale from the median absolute standardized residual. scratch: 2 m
 * doubles; fz: m floats. False when the system is singular. */
#define ROBUST_LINE_ITERATIONS 10
static bool robust_line(const double *x, const double *y, const double *w,
                        const double *r0, size_t m, double *scratch,
                        float *fz, double c[2])
{
    double *rw = scratch, *z = scratch + m;
    for (size_t i = 0; i < m; i++)
        z[i] = fabs(r0[i]) * sqrt(w[i]);
    for (int it = 0; it < ROBUST_LINE_ITERATIONS; it++) {
        for (size_t i = 0; i < m; i++)
            fz[i] = (float)z[i];
        double scale = 1.4826 * vflow_pdp_median(fz, m);
        for (size_t i = 0; i < m; i++) {
            double u = scale > 0.0 ? z[i] / (4.685 * scale) : 0.0;
            rw[i] = u < 1.0 ? w[i] * (1.0 - u * u) * (1.0 - u * u) : 0.0;
        }
        double sw = 0.0, sx = 0.0, sy = 0.0, sxx = 0.0, sxy = 0.0;
        for (size_t i = 0; i < m; i++) {
            sw += rw[i];
            sx += rw[i] * x[i];
            sy += rw[i] * y[i];
            sxx += rw[i] * x[i] * x[i];
            sxy += rw[i] * x[i] * y[i];
        }
        double det = sw * sxx - sx * sx;
        if (!(sw > 0.0) || !(det > 1e-12 * sw * sxx))
            return false;
        c[1] = (sw * sxy - sx * sy) / det;
        c[0] = (sy - c[1] * sx) / sw;
        for (size_t i = 0; i < m; i++)
            z[i] = fabs(y[i] - c[0] - c[1] * x[i]) * sqrt(w[i]);
    }
    return true;
}

/* Coupling steps (a) and (b) for stations [begin, end): (a) the lumen
 * radius with the vessel's level and the pooled outer radius fixed (NAN
 * where either is unknown); (b) the outer radius with that lumen radius
 * and the level fixed, over-relaxed (COUPLE_RELAXATION) into cpl_ro (kept
 * where it cannot be fitted). */
#define COUPLE_RELAXATION 1.8
static void pass_couple_radii(void *user, size_t begin, size_t end,
                              unsigned w)
{
    (void)w;
    seg_state *st = user;
    for (size_t s = begin; s < end; s++) {
        st->cpl_rl[s] = NAN;
        if (!fit_usable(st, st->fit + s) || !isfinite(st->ro_smooth[s]) ||
            !isfinite(st->lum_trend[s]))
            continue;
        size_t n;
        double rbar;
        const double *prof = station_profile(st, s, &n, &rbar);
        fit_result fl, fo;
        fit_lumen_given_level(&st->col, st->dr, st->p->min_wall_mm, prof, n,
                              rbar, st->ro_smooth[s], st->wall_hu,
                              st->lum_trend[s], &fl);
        if (!isfinite(fl.sse))
            continue;
        st->cpl_rl[s] = fl.rl;
        fit_outer_given_lumen(&st->col, st->p->min_wall_mm, prof, n, fl.rl,
                              st->wall_hu, st->lum_trend[s], &fo);
        double *ro = st->cpl_ro + s;
        if (isfinite(fo.sse))
            *ro = isfinite(*ro) ? *ro + COUPLE_RELAXATION * (fo.ro - *ro)
                                : fo.ro;
    }
}

/* Coupling step (c), per station: the lumen level with both radii fixed
 * (linear) and its information; NAN / 0 where unknown. */
static void pass_couple_levels(void *user, size_t begin, size_t end,
                               unsigned w)
{
    (void)w;
    seg_state *st = user;
    for (size_t s = begin; s < end; s++) {
        st->cpl_lev[s] = NAN;
        st->cpl_info[s] = 0.0;
        if (!isfinite(st->cpl_rl[s]) || !isfinite(st->ro_smooth[s]))
            continue;
        size_t n;
        double rbar, info;
        const double *prof = station_profile(st, s, &n, &rbar);
        double lev = level_given_radii(&st->col, prof, n, st->cpl_rl[s],
                                       st->ro_smooth[s], st->wall_hu, &info);
        if (isfinite(lev) && info > 0.0) {
            st->cpl_lev[s] = lev;
            st->cpl_info[s] = info;
        }
    }
}

/* Coupling step (c), the vessel: one robust weighted line in s through
 * the stations' levels (weights: their information), over-relaxed into
 * lum_trend at every station (a straight line in s from then on). False,
 * lum_trend unchanged, with fewer than LEVEL_MIN_STATIONS levels. buf:
 * 6 n_s doubles, fz: n_s floats. */
static bool couple_level_line(seg_state *st, double *buf, float *fz)
{
    size_t n = st->n_s, m = 0;
    double *x = buf, *y = buf + n, *w = buf + 2 * n, *r0 = buf + 3 * n;
    for (size_t s = 0; s < n; s++) {
        if (!isfinite(st->cpl_lev[s]))
            continue;
        x[m] = st->polar->frames[s].s_mm;
        y[m] = st->cpl_lev[s];
        w[m] = st->cpl_info[s];
        r0[m] = y[m] - st->lum_trend[s]; /* the previous line's residual */
        m++;
    }
    double c[2];
    if (m < LEVEL_MIN_STATIONS ||
        !robust_line(x, y, w, r0, m, buf + 4 * n, fz, c))
        return false;
    for (size_t s = 0; s < n; s++) {
        double *lt = st->lum_trend + s;
        double line = c[0] + c[1] * st->polar->frames[s].s_mm;
        *lt = isfinite(*lt) ? *lt + COUPLE_RELAXATION * (line - *lt) : line;
    }
    return true;
}

/* Lumen level and outer radius coupled along the vessel (the issue's
 * "adjacent stations coherent"; in the spirit of solving neighbouring
 * stations jointly, Li, Wu, Chen & Sonka, IEEE TPAMI 2006). Per station
 * the blurred profile of a lumen not much larger than the PSF fixes little
 * more than its "mass" (lumen step x R^2) and the outer edge: the free
 * four-parameter fit slides along that valley, and under noise its lumen
 * radius, wall thickness and level err together (tortuous phantom, R
 * 1.1-1.6 mm, PSF 0.6 mm, 20 HU: free level -2..-14 HU and outer radius
 * -0.02..-0.08 mm over 5 mm stretches, RESULTS.md round 12). Two of those
 * quantities belong to the vessel, not the station: the contrast level (a
 * straight line in s: the bolus dilutes slowly along an artery, and a
 * lesion does not change it) and the outer wall (smooth over
 * millimetres). Block-coordinate descent on the stations' summed residual
 * under those two constraints: start from the free fits (outer radii
 * pooled by smooth_outer, level line of the large stations:
 * lumen_level_trend); then per round (a) the lumen radius per station given
 * the level and outer radius, (b) the outer radius given the lumen radius
 * and level, pooled again, (c) the level line through every station's
 * level given its two radii. The descent creeps along the same valley
 * (3 rounds: tortuous, 9 noise seeds, 5.8 % area; 25: 5.1 %; 100: 5.0 %),
 * so (b) and (c) are over-relaxed (successive over-relaxation, Young 1954;
 * factor 2 gives 25 rounds' result in 10, 3 diverges). The rounds stop
 * when the line has moved less than COUPLE_TOL_HU per round over the last
 * COUPLE_WINDOW rounds, at most COUPLE_MAX_ROUNDS. Not on one round's
 * move: the discrete radius searches make the line jitter by ~0.1-0.4 HU
 * a round while it still creeps 0.2-0.3 HU a round along the valley, so
 * a single small step stopped the descent after 3-14 rounds several HU
 * short of its end (tortuous through lad.yaml, 27 noise seeds: 4.22 %
 * area; always 30 rounds 3.95 %, 60 rounds 3.93 %, this rule 3.98 %,
 * RESULTS.md round 15). CT only (the wall level W is the prior;
 * without it the level has no absolute meaning). */
#define COUPLE_MAX_ROUNDS 30
#define COUPLE_WINDOW 5
#define COUPLE_TOL_HU 0.03

/* The line's largest move between two rounds, from its values at the
 * vessel's ends (it is straight in s). */
static double line_move(const double a[2], const double b[2])
{
    return fmax(fabs(a[0] - b[0]), fabs(a[1] - b[1]));
}

static int couple_along_vessel(vflow_ctx *ctx, seg_state *st)
{
    size_t n = st->n_s;
    double *cpl = malloc(4 * n * sizeof *cpl);
    double *buf = malloc(6 * n * sizeof *buf);
    float *fz = malloc(n * sizeof *fz);
    int rc = VFLOW_ENOMEM;
    if (cpl == NULL || buf == NULL || fz == NULL)
        goto done;
    st->cpl_rl = cpl;
    st->cpl_ro = cpl + n;
    st->cpl_lev = cpl + 2 * n;
    st->cpl_info = cpl + 3 * n;
    for (size_t s = 0; s < n; s++)
        st->cpl_ro[s] = fit_usable(st, st->fit + s) ? st->fit[s].ro : NAN;
    if ((rc = smooth_outer(st, st->cpl_ro)) < 0 ||
        (rc = lumen_level_trend(st)) < 0)
        goto done;
    bool coupled = st->sigma > 0.0 && isfinite(st->wall_hu);
    double ends[COUPLE_MAX_ROUNDS][2];
    for (int it = 0; coupled && it < COUPLE_MAX_ROUNDS; it++) {
        if ((rc = vflow_xs_parallel(ctx, n, pass_couple_radii, st)) < 0 ||
            (rc = smooth_outer(st, st->cpl_ro)) < 0 ||
            (rc = vflow_xs_parallel(ctx, n, pass_couple_levels, st)) < 0)
            goto done;
        if (!couple_level_line(st, buf, fz))
            break;
        ends[it][0] = st->lum_trend[0];
        ends[it][1] = st->lum_trend[n - 1];
        if (it >= COUPLE_WINDOW &&
            line_move(ends[it], ends[it - COUPLE_WINDOW]) <
                COUPLE_WINDOW * COUPLE_TOL_HU)
            break;
    }
    rc = 0;
done:
    st->cpl_rl = st->cpl_ro = st->cpl_lev = st->cpl_info = NULL;
    free(cpl);
    free(buf);
    free(fz);
    return rc;
}

/* The lumen fit of station s, refitted with the pooled outer radius; a
 * small lumen next to large ones takes the bolus level of the vessel
 * (couple_along_vessel) instead of its own: weight 1 at R = 1.5 sigma,
 * falling linearly to 0 at LEVEL_MIN_R_SIGMA + 0.5 sigma (so the switch
 * leaves no step along the vessel); the radius is blended. R is the
 * smaller of the free-level and level-fixed radii: a free level that slid
 * to a dim lumen (step below DIM_LUMEN_FRACTION of the vessel's) can put
 * its own R above 2.5 sigma. A tight stenosis
 * (lumen below the blur) keeps the vessel's level all the way down: its
 * blurred profile is the PSF's, so a free level slides along the
 * level x R^2 valley to a dim, wide "lumen" that fills the plaque (the
 * 85 % `stenosis` variant, noise-free: 150 HU at R 1.0-1.4 mm against 380
 * HU at R 0.25-0.36 mm; % DS 61 instead of 85), while the bolus level does
 * not change at a stenosis and the fixed-level fit reads R from the
 * lumen's blurred mass. Also where the free fit sees no lumen step at all
 * (fit_usable false) but the vessel's level is known: that is the lumen
 * closing, not the model failing. NAN rl: no model. */
#define DIM_LUMEN_FRACTION 0.7
#define NO_MODEL_FIT {.rl = NAN, .ro = NAN, .sse = INFINITY}
static fit_result station_lumen_fit(const seg_state *st, size_t s)
{
    fit_result fr = st->fit[s], none = NO_MODEL_FIT;
    bool free_ok = fit_usable(st, &fr);
    if (!isfinite(st->ro_smooth[s]))
        return free_ok ? fr : none;
    size_t n;
    double rbar;
    const double *prof = station_profile(st, s, &n, &rbar);
    fit_result fo;
    fit_lumen_given_outer(&st->col, st->dr, st->p->min_wall_mm, prof, n,
                          rbar, st->ro_smooth[s], st->wall_q, st->wall_hu,
                          &fo);
    bool fo_ok = free_ok && fit_usable(st, &fo);
    if (fo_ok)
        fr = fo;
    double lt = st->lum_trend[s],
           hi_r = (LEVEL_MIN_R_SIGMA + 0.5) * st->sigma;
    bool dim = fo_ok && fo.a[2] < DIM_LUMEN_FRACTION * (lt - st->wall_hu);
    if (!isfinite(lt) || (fo_ok && !(fo.rl < hi_r) && !dim))
        return free_ok ? fr : none;
    /* The station's own profile, not the one smoothed along the vessel:
     * that smoothing mixes in the neighbours' radii, which a free level
     * absorbed and a fixed one turns into radius (+20 % minimal area in
     * the polar_dp-lesion test; +0.6 % unsmoothed). */
    fit_result fl;
    fit_lumen_given_level(&st->col, st->dr, st->p->min_wall_mm,
                          st->prof + s * st->n_r, n, rbar, st->ro_smooth[s],
                          st->wall_hu, lt, &fl);
    if (!fit_usable(st, &fl))
        return free_ok ? fr : none;
    double r_own = fo_ok ? fo.rl : fl.rl;
    double wt = fmin(1.0, (hi_r - fmin(r_own, fl.rl)) / st->sigma);
    if (!(wt > 0.0))
        return free_ok ? fr : none;
    if (wt >= 0.5 || !fo_ok)
        fr = fl;
    fr.rl = wt * fl.rl + (1.0 - wt) * r_own;
    return fr;
}

/* Pass 4 (per station): the lumen's model radius and levels into
 * st->lum[s] (station_lumen_fit; rl NAN where the blur model does not
 * apply). */
static void pass_radius(void *user, size_t begin, size_t end, unsigned w)
{
    (void)w;
    seg_state *st = user;
    for (size_t s = begin; s < end; s++) {
        st->lum[s] = st->sigma > 0.0 ? station_lumen_fit(st, s)
                                     : (fit_result)NO_MODEL_FIT;
    }
}

/* Pass 5 (per station): the DP shapes moved to the model radii, outer
 * wall, nesting and the |dr| bound; writes the contours. */
static void pass_final(void *user, size_t begin, size_t end, unsigned w)
{
    (void)w;
    seg_state *st = user;
    size_t n_a = st->n_a, n_r = st->n_r;
    float *work = malloc((2 * n_a * n_r + n_a) * sizeof *work);
    int *ibuf = malloc(3 * n_a * sizeof *ibuf);
    double *along = malloc(n_a * sizeof *along);
    if (work == NULL || ibuf == NULL || along == NULL) {
        free(work);
        free(ibuf);
        free(along);
        return; /* contours stay NaN: reported by the caller */
    }
    float *tmp = work + 2 * n_a * n_r;
    double bound = st->p->max_step_mm, wall = st->p->min_wall_mm;
    for (size_t s = begin; s < end; s++) {
        calcium_bounds_along(st, s, along);
        float *rl = st->out->lumen_r + s * n_a, *ro = st->out->outer_r + s * n_a;
        const float *raw = st->rl_raw + s * n_a;
        const double *ub = st->ub_mm + s * n_a;
        fit_result fr = st->lum[s];
        bool model = isfinite(fr.rl);
        double shift = 0.0, scale = 1.0;
        float *sm = work; /* scratch row, reused below */
        memcpy(sm, raw, n_a * sizeof *sm);
        smooth_circular(sm, n_a, (double)n_a / 64.0, tmp);
        /* The DP gives the shape; the fit (many stations and angles, blur
         * modelled) gives the radius. */
        if (model)
            shift = lumen_shift(sm, n_a, fr.rl, st->shape_noise[s], &scale);
        for (size_t a = 0; a < n_a; a++) {
            double r = sm[a] * scale + shift;
            r = fmin(r, ub[a]);
            r = fmin(r, along[a]);
            rl[a] = (float)fmax(r, st->p->min_radius_mm);
        }
        lipschitz_lower(rl, n_a, bound, tmp);
        bool wall_seen = model && fr.a[1] > 0.08 * st->contrast;
        if (!st->p->lumen_only && (!model || wall_seen))
            outer_station(st, s, &fr, model, rl, ro, work, ibuf);
        else
            for (size_t a = 0; a < n_a; a++)
                ro[a] = rl[a] + (float)wall;
        for (size_t a = 0; a < n_a; a++)
            ro[a] = fmaxf(ro[a], rl[a] + (float)wall);
        lipschitz_upper(ro, n_a, bound, tmp);
    }
    free(work);
    free(ibuf);
    free(along);
}


/* The outer contours' shapes (radius minus the station's mean) averaged
 * along the vessel, Gaussian of outer_smooth_mm of arc cut at 2.5 sigma;
 * each station keeps its mean (the blur model's pooled outer radius), then
 * nesting and the |dr| bound are restored. The outer path is found on the
 * weak wall-to-fat edge of one station's image and its shape scatters
 * with the noise (mean radial error 0.16 mm on `lad` at 20 HU, 0.03 mm
 * noise-free, RESULTS.md round 12), while the outer wall changes over
 * millimetres (a lesion narrows the lumen under it; eccentric plaque
 * builds up over its length). The frames are rotation-minimising, so angle
 * a of neighbouring stations points the same way. */
static int smooth_outer_shapes(seg_state *st)
{
    size_t n = st->n_s, n_a = st->n_a;
    double sig = st->p->outer_smooth_mm;
    if (!(sig > 0.0) || n < 2)
        return 0;
    float *shape = malloc(n * n_a * sizeof *shape);
    float *tmp = malloc(n_a * sizeof *tmp);
    double *mean = malloc(n * sizeof *mean), *wt = malloc(n * sizeof *wt);
    if (shape == NULL || tmp == NULL || mean == NULL || wt == NULL) {
        free(shape);
        free(tmp);
        free(mean);
        free(wt);
        return VFLOW_ENOMEM;
    }
    for (size_t s = 0; s < n; s++) {
        const float *ro = st->out->outer_r + s * n_a;
        mean[s] = mean_f(ro, n_a);
        for (size_t a = 0; a < n_a; a++)
            shape[s * n_a + a] = (float)(ro[a] - mean[s]);
    }
    for (size_t s = 0; s < n; s++) {
        double s0 = st->polar->frames[s].s_mm, wsum = 0.0;
        size_t t0 = s, t1 = s;
        while (t0 > 0 && fabs(st->polar->frames[t0 - 1].s_mm - s0) <= 2.5 * sig)
            t0--;
        while (t1 + 1 < n &&
               fabs(st->polar->frames[t1 + 1].s_mm - s0) <= 2.5 * sig)
            t1++;
        for (size_t t = t0; t <= t1; t++) {
            double d = st->polar->frames[t].s_mm - s0;
            wt[t] = exp(-0.5 * d * d / (sig * sig));
            wsum += wt[t];
        }
        float *ro = st->out->outer_r + s * n_a;
        const float *rl = st->out->lumen_r + s * n_a;
        for (size_t a = 0; a < n_a; a++) {
            double acc = 0.0;
            for (size_t t = t0; t <= t1; t++)
                acc += wt[t] * shape[t * n_a + a];
            ro[a] = fmaxf((float)(mean[s] + acc / wsum),
                          rl[a] + (float)st->p->min_wall_mm);
        }
        lipschitz_upper(ro, n_a, st->p->max_step_mm, tmp);
    }
    free(shape);
    free(tmp);
    free(mean);
    free(wt);
    return 0;
}

/* Calcium handling only where intensities are Hounsfield units. A volume
 * of unknown modality counts as HU when it holds values below -50: fat
 * (about -100 HU) and air are negative in CT, while MR magnitude images are
 * not (a phantom or a cropped CTA may hold no air at all). */
static bool looks_like_ct(const vflow_volume *vol, const vflow_sections *pol)
{
    if (vol != NULL && vol->modality != VFLOW_MODALITY_UNKNOWN)
        return vol->modality == VFLOW_MODALITY_CT;
    double mn = INFINITY;
    if (vol != NULL) {
        /* Sparse scan (<= ~64K voxels). */
        size_t n = vflow_volume_voxel_count(vol), step = n / 65536 + 1;
        for (size_t i = 0; i < n; i += step) {
            size_t x = i % vol->dims[0], y = (i / vol->dims[0]) % vol->dims[1];
            size_t z = i / (vol->dims[0] * vol->dims[1]);
            mn = fmin(mn, vflow_volume_get(vol, x, y, z));
        }
    } else {
        for (size_t i = 0; i < pol->count * pol->width * pol->height; i++)
            mn = fmin(mn, pol->pixels[i]);
    }
    return mn < -50.0;
}

bool vflow_pdp_volume_is_ct(const vflow_volume *vol)
{
    return vol != NULL && looks_like_ct(vol, NULL);
}

static int check_inputs(const vflow_sections *polar, const vflow_sections *dr,
                        const vflow_pdp_params *p, vflow_error *err)
{
    if (polar == NULL || polar->count == 0)
        return vflow_error_set(err, VFLOW_EINVAL, "no polar images given");
    if (polar->width < 8 || polar->height < 8)
        return vflow_error_set(err, VFLOW_EINVAL,
                               "polar images of %zu radii x %zu angles are "
                               "too small (need >= 8 x 8)",
                               polar->width, polar->height);
    if (!(polar->pixel_spacing > 0.0))
        return vflow_error_set(err, VFLOW_EINVAL,
                               "polar radial step %g mm must be > 0",
                               polar->pixel_spacing);
    if (dr != NULL && (dr->count != polar->count || dr->width != polar->width ||
                       dr->height != polar->height))
        return vflow_error_set(err, VFLOW_EINVAL,
                               "radial derivative stack %zux%zux%zu does not "
                               "match the polar stack %zux%zux%zu",
                               dr->count, dr->height, dr->width, polar->count,
                               polar->height, polar->width);
    if (!(p->max_step_mm > 0.0) || !(p->min_wall_mm >= 0.0))
        return vflow_error_set(err, VFLOW_EINVAL,
                               "max_step_mm must be > 0 and min_wall_mm >= 0");
    return 0;
}

static void seg_free(seg_state *st)
{
    free(st->prof);
    free(st->edge);
    free(st->edge_s);
    free(st->lum_level);
    free(st->ub_mm);
    free(st->by_ca);
    free(st->rl_raw);
    free(st->fit);
    free(st->ro_smooth);
    free(st->shape_noise);
    free(st->r_dp);
    free(st->lum_trend);
    free(st->tail_mean);
    free(st->col.v);
}

int vflow_pdp_segment(vflow_ctx *ctx, const vflow_sections *polar,
                      const vflow_sections *dr, const vflow_volume *vol,
                      const vflow_pdp_params *p, vflow_contours **out,
                      vflow_pdp_info *info, vflow_error *err)
{
    *out = NULL;
    bool from_edges = false;
    int rc = check_inputs(polar, dr, p, err);
    if (rc < 0)
        return rc;
    seg_state st = {.p = p, .polar = polar, .deriv = dr, .n_s = polar->count,
                    .n_a = polar->height, .n_r = polar->width,
                    .dr = polar->pixel_spacing};
    size_t n = st.n_s * st.n_a * st.n_r;
    st.edge = malloc(n * sizeof *st.edge);
    st.edge_s = malloc(n * sizeof *st.edge_s);
    st.lum_level = malloc(5 * st.n_s * sizeof *st.lum_level);
    st.ub_mm = malloc(st.n_s * st.n_a * sizeof *st.ub_mm);
    st.by_ca = malloc(st.n_s * st.n_a * sizeof *st.by_ca);
    st.rl_raw = malloc(st.n_s * st.n_a * sizeof *st.rl_raw);
    st.out = vflow_contours_create(st.n_s, st.n_a, err);
    st.prof = malloc(2 * st.n_s * st.n_r * sizeof *st.prof);
    st.prof_s = st.prof != NULL ? st.prof + st.n_s * st.n_r : NULL;
    st.fit = malloc(2 * st.n_s * sizeof *st.fit);
    st.lum = st.fit != NULL ? st.fit + st.n_s : NULL;
    st.ro_smooth = malloc(st.n_s * sizeof *st.ro_smooth);
    st.shape_noise = malloc(st.n_s * sizeof *st.shape_noise);
    st.r_dp = malloc(st.n_s * sizeof *st.r_dp);
    st.lum_trend = malloc(st.n_s * sizeof *st.lum_trend);
    st.tail_mean = malloc(st.n_s * st.n_a * sizeof *st.tail_mean);
    if (st.fit == NULL || st.r_dp == NULL || st.ro_smooth == NULL ||
        st.lum_trend == NULL || st.tail_mean == NULL ||
        st.shape_noise == NULL ||
        st.edge == NULL || st.edge_s == NULL || st.lum_level == NULL ||
        st.ub_mm == NULL || st.by_ca == NULL || st.rl_raw == NULL ||
        st.out == NULL ||
        st.prof == NULL ||
        disk_table_init(&st.tab) < 0) {
        rc = vflow_error_set(err, VFLOW_ENOMEM,
                             "out of memory (polar DP, %zu stations)", st.n_s);
        goto fail;
    }
    st.edge_sigma = p->psf_sigma_mm > 0.0
                        ? p->psf_sigma_mm
                        : vflow_pdp_plane_sigma(p->psf_cov_mm2,
                                                polar->frames, st.n_s);
    st.bg_level = st.lum_level + st.n_s;
    st.lum_ref_at = st.lum_level + 2 * st.n_s;
    st.lum_sd = st.lum_level + 3 * st.n_s;
    st.lum_sd_at = st.lum_level + 4 * st.n_s;
    for (size_t i = 0; i < st.n_s; i++)
        st.lum_level[i] = st.bg_level[i] = NAN;
    for (size_t i = 0; i < st.n_s * st.n_a; i++)
        st.rl_raw[i] = st.out->lumen_r[i] = st.out->outer_r[i] = NAN;
    memcpy(st.out->frames, polar->frames, st.n_s * sizeof *polar->frames);
    bool ct = p->modality != VFLOW_MODALITY_UNKNOWN
                  ? p->modality == VFLOW_MODALITY_CT
                  : looks_like_ct(vol, polar);
    st.calcium = p->calcium == VFLOW_PDP_CALCIUM_ON ||
                 (p->calcium == VFLOW_PDP_CALCIUM_AUTO && ct);
    st.ca_thr_abs = st.calcium ? p->calcium_hu : INFINITY;
    /* The wall's level is a tissue constant only in Hounsfield units. */
    st.wall_hu = (p->wall_hu > -1000.0 && ct) ? p->wall_hu : NAN;
    /* Outside CT the images are bright-blood MR angiograms (TOF, contrast
     * MRA): the wall does not enhance and has the surroundings' signal, so
     * the model has no wall ring (q = 0). Estimating q from the vessel's
     * own profile (the thin-wall valley, README step 5) put a bright wall
     * (q 0.66) into the partial-volume edge of the VMTK aorta MRA and took
     * the lumen 23-37 % in area inside the VMTK level-set lumen; with q = 0
     * the area agrees within +0.2 % on average (RESULTS.md round 14). */
    st.wall_invisible = !ct;
    if ((rc = vflow_xs_parallel(ctx, st.n_s, pass_levels, &st)) < 0 ||
        (rc = vflow_xs_parallel(ctx, st.n_s, pass_edges, &st)) < 0)
        goto cancelled;
    float *c = malloc(st.n_s * sizeof *c);
    if (c == NULL) {
        rc = vflow_error_set(err, VFLOW_ENOMEM, "out of memory (polar DP)");
        goto fail;
    }
    for (size_t i = 0; i < st.n_s; i++)
        c[i] = st.lum_level[i] - st.bg_level[i];
    st.contrast = vflow_pdp_median(c, st.n_s);
    for (size_t i = 0; i < st.n_s; i++)
        c[i] = st.lum_level[i];
    double lum_median = vflow_pdp_median(c, st.n_s);
    running_median_along(&st, st.lum_level, st.lum_ref_at, lum_median, c);
    running_median_along(&st, st.lum_sd, st.lum_sd_at, 0.0, c);
    free(c);
    if (!(st.contrast > 0.0)) {
        rc = vflow_error_set(err, VFLOW_EINVAL,
                             "no bright lumen at the centerline: median "
                             "centre - surroundings contrast is %g (image "
                             "units); is the centerline inside the vessel?",
                             st.contrast);
        goto fail;
    }
    /* The angular profiles feed only the blur model: a pass without it
     * (refine's intermediate passes) skips their medians. */
    size_t n_prof = p->blur_correction ? st.n_s : 0;
    if ((rc = vflow_xs_parallel(ctx, st.n_s, pass_vessel_smooth, &st)) < 0 ||
        (rc = vflow_xs_parallel(ctx, st.n_s, pass_lumen, &st)) < 0 ||
        (rc = vflow_xs_parallel(ctx, n_prof, pass_tail_means, &st)) < 0 ||
        (rc = vflow_xs_parallel(ctx, n_prof, pass_profiles, &st)) < 0)
        goto cancelled;
    for (size_t s = 0; n_prof > 0 && s < st.n_s; s++)
        st.r_dp[s] = dp_mean_radius(&st, s);
    if ((rc = vflow_xs_parallel(ctx, n_prof, pass_profiles_smooth, &st)) < 0)
        goto cancelled;
    for (size_t i = 0; i < st.n_s * st.n_a; i++)
        if (!isfinite(st.rl_raw[i])) {
            rc = vflow_error_set(err, VFLOW_ENOMEM, "out of memory (lumen DP)");
            goto fail;
        }
    if (p->blur_correction) {
        /* sigma: given, else measured on the volume's large edges (the
         * vessel's own thin-walled profile cannot separate it from the
         * wall level and thickness: README step 5), else estimated from
         * the profile. */
        st.sigma = p->psf_sigma_mm;
        if (!(st.sigma > 0.0)) {
            st.sigma = vflow_pdp_plane_sigma(p->psf_cov_mm2,
                                             st.polar->frames, st.n_s);
            from_edges = st.sigma > 0.0;
        }
        bool free_sigma = !(st.sigma > 0.0);
        if ((rc = estimate_blur(ctx, &st, free_sigma)) < 0) {
            if (rc == VFLOW_ECANCELED)
                goto cancelled;
            rc = vflow_error_set(err, rc, "out of memory (PSF estimate)");
            goto fail;
        }
        if (st.sigma > 0.0 &&
            col_table_build(&st.col, &st.tab, st.sigma, st.dr, st.n_r,
                            col_rmax(&st)) < 0) {
            rc = vflow_error_set(err, VFLOW_ENOMEM, "out of memory (model)");
            goto fail;
        }
    }
    if ((rc = vflow_xs_parallel(ctx, st.n_s, pass_fit, &st)) < 0)
        goto cancelled;
    if ((rc = couple_along_vessel(ctx, &st)) < 0) {
        if (rc == VFLOW_ECANCELED)
            goto cancelled;
        rc = vflow_error_set(err, VFLOW_ENOMEM,
                             "out of memory (lumen level, outer wall)");
        goto fail;
    }
    if (estimate_shape_noise(&st) < 0) {
        rc = vflow_error_set(err, VFLOW_ENOMEM, "out of memory (lumen shape)");
        goto fail;
    }
    if ((rc = vflow_xs_parallel(ctx, st.n_s, pass_radius, &st)) < 0)
        goto cancelled;
    if ((rc = vflow_xs_parallel(ctx, st.n_s, pass_final, &st)) < 0)
        goto cancelled;
    if (!p->lumen_only && smooth_outer_shapes(&st) < 0) {
        rc = vflow_error_set(err, VFLOW_ENOMEM, "out of memory (outer wall)");
        goto fail;
    }
    for (size_t i = 0; i < st.n_s * st.n_a; i++)
        if (!isfinite(st.out->lumen_r[i]) || !isfinite(st.out->outer_r[i])) {
            rc = vflow_error_set(err, VFLOW_ENOMEM, "out of memory (contours)");
            goto fail;
        }
    if (info != NULL) {
        info->contrast = st.contrast;
        info->psf_sigma_mm = st.sigma;
        info->psf_from_edges = from_edges;
        info->calcium = st.calcium;
        info->calcium_level = st.ca_thr_abs;
    }
    *out = st.out;
    st.out = NULL;
    seg_free(&st);
    return 0;
cancelled:
    vflow_error_set(err, rc, "polar DP cancelled");
fail:
    vflow_object_release(st.out != NULL ? &st.out->base : NULL);
    seg_free(&st);
    return rc;
}
