/* SPDX-License-Identifier: BSD-3-Clause */
/* Closed-form 3x3 symmetric eigenvalues against a brute-force Jacobi
 * reference on random matrices and degenerate cases. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>

#include "hessian.h"

/* Cyclic Jacobi rotations until the off-diagonal vanishes; sorted desc. */
static void jacobi_eigenvalues(const double A[3][3], double e[3])
{
    double a[3][3];
    memcpy(a, A, sizeof a);
    for (int sweep = 0; sweep < 100; sweep++) {
        double off = a[0][1] * a[0][1] + a[0][2] * a[0][2] + a[1][2] * a[1][2];
        if (off < 1e-30)
            break;
        for (int p = 0; p < 2; p++)
            for (int q = p + 1; q < 3; q++) {
                if (fabs(a[p][q]) < 1e-300)
                    continue;
                double th = 0.5 * atan2(2 * a[p][q], a[q][q] - a[p][p]);
                double c = cos(th), s = sin(th);
                for (int k = 0; k < 3; k++) {
                    double akp = a[k][p], akq = a[k][q];
                    a[k][p] = c * akp - s * akq;
                    a[k][q] = s * akp + c * akq;
                }
                for (int k = 0; k < 3; k++) {
                    double apk = a[p][k], aqk = a[q][k];
                    a[p][k] = c * apk - s * aqk;
                    a[q][k] = s * apk + c * aqk;
                }
            }
    }
    for (int i = 0; i < 3; i++)
        e[i] = a[i][i];
    for (int i = 0; i < 3; i++)
        for (int j = i + 1; j < 3; j++)
            if (e[j] > e[i]) {
                double t = e[i];
                e[i] = e[j];
                e[j] = t;
            }
}

static double rnd(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(*s >> 11) / 9007199254740992.0 * 2.0 - 1.0;
}

static void check(const double A[3][3])
{
    double ref[3], dbl[3];
    float fl[3];
    jacobi_eigenvalues(A, ref);
    vflow_eig3_sym_ref(A, dbl);
    vflow_eig3_sym((float)A[0][0], (float)A[0][1], (float)A[0][2],
                   (float)A[1][1], (float)A[1][2], (float)A[2][2], fl);
    double norm = 0.0;
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            norm += A[i][j] * A[i][j];
    norm = sqrt(norm) + 1e-30;
    for (int i = 0; i < 3; i++) {
        cr_assert(fabs(dbl[i] - ref[i]) < 1e-9 * norm,
                  "double eig %d: %.12g vs Jacobi %.12g", i, dbl[i], ref[i]);
        cr_assert(fabs(fl[i] - ref[i]) < 2e-5 * norm,
                  "float eig %d: %.9g vs Jacobi %.9g (norm %g)", i, fl[i],
                  ref[i], norm);
    }
}

Test(eigen, random_symmetric_matrices_match_jacobi)
{
    uint64_t s = 42;
    for (int n = 0; n < 20000; n++) {
        double scale = pow(10.0, 4.0 * rnd(&s));
        double A[3][3];
        for (int i = 0; i < 3; i++)
            for (int j = i; j < 3; j++)
                A[i][j] = A[j][i] = scale * rnd(&s);
        check(A);
    }
}

Test(eigen, degenerate_matrices)
{
    const double cases[][3][3] = {
        {{0, 0, 0}, {0, 0, 0}, {0, 0, 0}},
        {{2, 0, 0}, {0, 2, 0}, {0, 0, 2}},
        {{-3, 0, 0}, {0, 1, 0}, {0, 0, 5}},
        {{-4, 0, 0}, {0, -4, 0}, {0, 0, 0.1}},  /* ideal bright line */
        {{1, 1, 1}, {1, 1, 1}, {1, 1, 1}},      /* rank one */
        {{1e-3, 2, 0}, {2, 1e-3, 0}, {0, 0, 1e-3}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
        check(cases[c]);
}

Test(eigen, rotated_line_hessian_keeps_its_eigenvalues)
{
    /* R diag(-5, -5, 0.2) R^T for a rotation about (1,2,3). */
    double ax[3] = {1 / sqrt(14), 2 / sqrt(14), 3 / sqrt(14)}, th = 0.7;
    double c = cos(th), s = sin(th), R[3][3], A[3][3] = {{0}};
    double K[3][3] = {{0, -ax[2], ax[1]}, {ax[2], 0, -ax[0]},
                      {-ax[1], ax[0], 0}};
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            double kk = 0;
            for (int m = 0; m < 3; m++)
                kk += K[i][m] * K[m][j];
            R[i][j] = (i == j) + s * K[i][j] + (1 - c) * kk;
        }
    double d[3] = {-5, -5, 0.2};
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            for (int m = 0; m < 3; m++)
                A[i][j] += R[i][m] * d[m] * R[j][m];
    float e[3];
    vflow_eig3_sym((float)A[0][0], (float)A[0][1], (float)A[0][2],
                   (float)A[1][1], (float)A[1][2], (float)A[2][2], e);
    cr_expect_float_eq(e[0], 0.2f, 1e-4);
    cr_expect_float_eq(e[1], -5.0f, 1e-4);
    cr_expect_float_eq(e[2], -5.0f, 1e-4);
}
