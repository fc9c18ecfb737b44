/* SPDX-License-Identifier: BSD-3-Clause */
/* Tiny test-only stages and helpers for the pipeline tests. */
#ifndef VFLOW_TESTS_GRAPH_FIXTURES_H
#define VFLOW_TESTS_GRAPH_FIXTURES_H

#include <stdbool.h>
#include <stddef.h>

#include "vflow/runtime.h"

/*
 * Registers the fixture stages on a fresh runtime (threads = 1 unless
 * `threads` says otherwise):
 *   make_volume  -> volume        params size (int 1..64, default 4), value
 *   make_line    -> polyline      (a source of the wrong type)
 *   invert       volume -> volume (negates; thread-safe)
 *   scale        volume -> volume param factor (swap target for invert)
 *   count        volume -> table `measures` (one row: voxels, sum)
 *   vol_writer   writer for .vol (text: voxel count and sum);
 *                param fail_midway writes half a file, then fails
 *   probe        volume -> copy, extra (volumes, set only when wanted),
 *                flags (one-row table: copy_wanted, extra_wanted)
 */
vflow_runtime *fixture_runtime(unsigned threads);

/* Writes `yaml` to a fresh file in a fresh temp dir; returns its path
 * (static buffer, valid until the next call). */
const char *fixture_write_yaml(const char *yaml);
/* The temp dir of the last fixture_write_yaml. */
const char *fixture_dir(void);

/* Loads `yaml` with overrides; returns the pipeline or NULL with `err`. */
vflow_pipeline *fixture_load(vflow_runtime *rt, const char *yaml,
                             const char *const *sets, size_t n_sets,
                             vflow_error *err);

/* Removes the temp dir of fixture_write_yaml and everything in it. */
void fixture_cleanup(void);

/* Whole file into a malloc'd string (NULL if unreadable). */
char *fixture_read_file(const char *path);
/* Number of directory entries (excluding . and ..), -1 if missing. */
int fixture_count_entries(const char *dir);

#endif
