/* SPDX-License-Identifier: BSD-3-Clause */
/* What a pipeline run leaves behind: report.json, summary, profile, DOT. */
#ifndef VFLOW_CORE_REPORT_H
#define VFLOW_CORE_REPORT_H

#include <stdio.h>

#include "graph.h"

/*
 * Writes `out_dir`/report.json atomically (temporary + rename): versions,
 * inputs, per-stage parameters and measurements, outputs, measures.
 * `failure` (NULL on success) is recorded as the run's error.
 */
int vflow_report_write(const vflow_pipeline *p, const char *out_dir,
                       const vflow_error *failure, vflow_error *err);
/* Prints where each output went and the measures of the run. */
void vflow_report_print_summary(const vflow_pipeline *p, FILE *out);
/* Prints the per-stage wall time / memory table (--profile). */
void vflow_report_print_profile(const vflow_pipeline *p, FILE *out);

#endif
