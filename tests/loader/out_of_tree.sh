#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Installs the project into a temporary DESTDIR, builds the out-of-tree
# example plugin (tools/examples/out_of_tree_plugin) against the INSTALLED
# headers and vflow.pc, and runs it inside a pipeline with the installed
# vflow through VFLOW_PLUGIN_PATH. Exit 77 (skip) when a tool is missing.
# usage: out_of_tree.sh SOURCE_ROOT BUILD_ROOT
set -eu
src=$1
build=$2
for tool in meson pkg-config make cc python3; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "skip: $tool not found"
        exit 77
    fi
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vflow-oot-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
stage=$tmp/stage

# 1. Install (nothing is rebuilt: the test runs after the build).
if ! meson install -C "$build" --no-rebuild --destdir "$stage" \
        >"$tmp/install.log" 2>&1; then
    cat "$tmp/install.log"
    echo "FAIL: meson install"
    exit 1
fi
pc=$(find "$stage" -name vflow.pc | head -n 1)
bin=$(find "$stage" -path '*/bin/vflow' -type f | head -n 1)
plugins=$(find "$stage" -type d -path '*/vflow/plugins' | head -n 1)
lib=$(dirname "$(find "$stage" -name 'libvflow.*' | head -n 1)")
if [ -z "$pc" ] || [ -z "$bin" ]; then
    echo "FAIL: install lacks vflow.pc or bin/vflow"
    find "$stage" -maxdepth 6 | head -n 50
    exit 1
fi
# No plugin dir: a static build (-Dstatic_plugins=true), plugins built in.
if [ -n "$plugins" ]; then
    # A real install at the compiled-in location would register the same
    # stages twice (default dir + VFLOW_PLUGIN_PATH).
    real_plugins=${plugins#"$stage"}
    if [ -d "$real_plugins" ]; then
        echo "skip: vflow is already installed in $real_plugins"
        exit 77
    fi
fi

# 2. Build the example with pkg-config only: headers come from the stage.
cp -R "$src/tools/examples/out_of_tree_plugin" "$tmp/example"
export PKG_CONFIG_PATH="$(dirname "$pc")"
export PKG_CONFIG_SYSROOT_DIR="$stage"
case "$(pkg-config --cflags vflow)" in
    *"$stage"*) ;;
    *) echo "FAIL: pkg-config --cflags vflow does not point into the install: $(pkg-config --cflags vflow)"; exit 1 ;;
esac
make -C "$tmp/example" >"$tmp/make.log" 2>&1 || {
    cat "$tmp/make.log"
    echo "FAIL: building the example plugin"
    exit 1
}

# 3. An 8^3 float ramp i+j+k: exactly the voxels with i+j+k > 10 are set.
python3 - "$tmp/ramp.nii" <<'PY'
import struct, sys
n = 8
hdr = bytearray(352)
struct.pack_into('<i', hdr, 0, 348)
struct.pack_into('<8h', hdr, 40, 3, n, n, n, 1, 1, 1, 1)
struct.pack_into('<hh', hdr, 70, 16, 32)            # float32
struct.pack_into('<8f', hdr, 76, 1, 1, 1, 1, 1, 1, 1, 1)
struct.pack_into('<fff', hdr, 108, 352, 1, 0)       # vox_offset, scl
struct.pack_into('<hh', hdr, 252, 0, 1)             # qform 0, sform 1
struct.pack_into('<4f', hdr, 280, 1, 0, 0, 0)
struct.pack_into('<4f', hdr, 296, 0, 1, 0, 0)
struct.pack_into('<4f', hdr, 312, 0, 0, 1, 0)
hdr[344:348] = b'n+1\0'
data = b''.join(struct.pack('<f', i + j + k)
                for k in range(n) for j in range(n) for i in range(n))
open(sys.argv[1], 'wb').write(bytes(hdr) + data)
PY

# 4. Run it with the installed vflow.
export LD_LIBRARY_PATH="$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export VFLOW_PLUGIN_PATH="$tmp/example${plugins:+:$plugins}"
"$bin" plugins threshold >"$tmp/help.txt"
grep -q "level" "$tmp/help.txt" || { cat "$tmp/help.txt"; echo "FAIL: plugins threshold"; exit 1; }
"$bin" run "$tmp/example/threshold.yaml" --set "image=$tmp/ramp.nii" \
    --set level=10 --out "$tmp/out" --quiet
python3 - "$tmp/out/mask.nii.gz" <<'PY'
import gzip, struct, sys
raw = gzip.open(sys.argv[1]).read()
assert struct.unpack_from('<i', raw, 0)[0] == 348, 'expected NIfTI-1'
dtype = struct.unpack_from('<h', raw, 70)[0]
assert dtype == 2, 'mask should be u8, got datatype %d' % dtype
off = int(struct.unpack_from('<f', raw, 108)[0])
mask = raw[off:off + 512]
n = 8
want = sum(1 for k in range(n) for j in range(n) for i in range(n)
           if i + j + k > 10)
got = sum(mask)
assert got == want, 'mask has %d voxels, expected %d' % (got, want)
print('mask voxels:', got)
PY
grep -q '"plugin": "threshold"' "$tmp/out/report.json"
echo "out-of-tree plugin: OK"
