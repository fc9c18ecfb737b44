/* SPDX-License-Identifier: BSD-3-Clause */
/* Umbrella header: everything a plugin or host program needs. */
#ifndef VFLOW_VFLOW_H
#define VFLOW_VFLOW_H

#include "vflow/error.h"
#include "vflow/types.h"
#include "vflow/volume.h"
#include "vflow/plugin.h"
#include "vflow/runtime.h"
#include "vflow/select.h"

#endif
