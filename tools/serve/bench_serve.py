#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Interactive benchmark of `vflow serve` (issue 6): clicks -> complete
geometry back at the client, once the volume is loaded and preprocessed.

Starts the server on a phantom, waits for the warm-up, runs one segment
call with the true clicks (the first, which also fills the caches of the
click-dependent stages for nothing), then N click pairs with the end moved
along the true centerline, and reports per pair the client round trip of
POST /api/segment (JSON with centerline, contours, sections, measures) and
of the same plus fetching lumen.stl and wall.stl, with the server's own
time, its process CPU time for the request (timings.cpu_ms: on a loaded
machine the wall times stretch, the CPU time much less) and the cache hits.
Prints a Markdown table, the medians and the per-stage medians (wall and
CPU); --labels also times the first download of labels.nii.gz, which the
server writes on demand, and a deferred section stack (GET sections_url,
fetched after the meshes) is timed too.

usage: bench_serve.py VFLOW_EXE PHANTOM_DIR PIPELINE [--pairs N] [--threads T]
                      [--labels]
"""
import argparse
import http.client
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time


def request(port, method, path, body=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    conn.request(method, path, body=body, headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    raw = resp.read()
    conn.close()
    return resp.status, raw


def fetch(port, url):
    t0 = time.perf_counter()
    st, raw = request(port, "GET", url)
    assert st == 200, (url, st, raw[:200])
    return (time.perf_counter() - t0) * 1e3, len(raw)


def segment(port, start, end, fetch_meshes):
    t0 = time.perf_counter()
    st, raw = request(port, "POST", "/api/segment", json.dumps({"start": start, "end": end}))
    t_json = time.perf_counter() - t0
    if st != 200:
        raise RuntimeError(f"segment {start} -> {end}: HTTP {st}: {raw[:300]!r}")
    res = json.loads(raw)
    mesh_bytes = 0
    if fetch_meshes:
        for name in ("lumen.stl", "wall.stl"):
            url = res["files"].get(name)
            if url:
                mst, mraw = request(port, "GET", url)
                assert mst == 200
                mesh_bytes += len(mraw)
    t_all = time.perf_counter() - t0
    return res, t_json * 1e3, t_all * 1e3, len(raw), mesh_bytes


def truth_at(rows, s):
    r = min(rows, key=lambda r: abs(r["s_mm"] - s))
    return [r["x"], r["y"], r["z"]]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("vflow")
    ap.add_argument("phantom")
    ap.add_argument("pipeline")
    ap.add_argument("--pairs", type=int, default=9)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--labels", action="store_true",
                    help="also time the first GET of labels.nii.gz")
    a = ap.parse_args()
    with open(os.path.join(a.phantom, "clicks.json")) as f:
        clicks = json.load(f)
    with open(os.path.join(a.phantom, "truth_centerline.csv")) as f:
        head = f.readline().strip().split(",")
        rows = [dict(zip(head, map(float, l.split(",")))) for l in f if l.strip()]
    tmp = tempfile.mkdtemp(prefix="vflow-bench-serve-")
    t0 = time.perf_counter()
    proc = subprocess.Popen([a.vflow, "serve", os.path.join(a.phantom, "image.nii.gz"),
                             "--pipeline", a.pipeline, "--port", "0", "--threads", str(a.threads)],
                            stdout=subprocess.PIPE, stderr=open(os.path.join(tmp, "log"), "w"),
                            text=True, env=dict(os.environ, TMPDIR=tmp))
    try:
        port = int(re.search(r":(\d+)/", proc.stdout.readline()).group(1))
        # Preprocessing: the warm-up run started with the server.
        time.sleep(0.2)
        while json.loads(request(port, "GET", "/api/progress")[1])["busy"]:
            time.sleep(0.05)
        warm_s = time.perf_counter() - t0
        first, f_json, f_all, _, _ = segment(port, clicks["start"], clicks["end"], True)
        print(f"server start + load + warm-up preprocessing: {warm_s:.2f} s")
        print(f"first click pair: {f_json:.0f} ms JSON, {f_all:.0f} ms with meshes "
              f"(server {first['timings']['server_ms']:.0f} ms, cache {first['cache']})")
        print()
        print("| pair | end moved (mm) | JSON round trip (ms) | + meshes (ms) | server (ms) | "
              "server CPU (ms) | cache hits / misses | stations | JSON KB |"
              + (" labels.nii.gz GET (ms) |" if a.labels else ""))
        print("|---|---|---|---|---|---|---|---|---|" + ("---|" if a.labels else ""))
        t_json, t_all, t_srv, t_cpu, t_lab, t_sec = [], [], [], [], [], []
        per_stage = {}
        for i in range(a.pairs):
            back = 2.0 + 2.0 * i
            start = truth_at(rows, clicks["start_s_mm"] + 0.5 * (i % 3))
            end = truth_at(rows, clicks["end_s_mm"] - back)
            res, tj, ta, nbytes, mbytes = segment(port, start, end, True)
            srv = res["timings"]["server_ms"]
            cpu = res["timings"].get("cpu_ms", float("nan"))
            t_json.append(tj)
            t_all.append(ta)
            t_srv.append(srv)
            t_cpu.append(cpu)
            for k, v in res["timings"]["stages"].items():
                per_stage.setdefault(k, []).append((v["ms"], v.get("cpu_ms", 0.0), v["cached"]))
            lab = ""
            if a.labels and "labels.nii.gz" in res["files"]:
                ms, _ = fetch(port, res["files"]["labels.nii.gz"])
                t_lab.append(ms)
                lab = f" {ms:.0f} |"
            if "sections_url" in res:
                # the section stack the server deferred, as the web app
                # fetches it after drawing the geometry (not in the columns)
                t_sec.append(fetch(port, res["sections_url"])[0])
            n_st = len(res.get("contours", {}).get("stations", [])) or len(res["centerline"])
            print(f"| {i + 1} | {back:.0f} | {tj:.0f} | {ta:.0f} | {srv:.0f} | {cpu:.0f} | "
                  f"{res['cache']['hits']} / {res['cache']['misses']} | {n_st} | {nbytes / 1024:.0f} |"
                  + lab)
        print()
        print(f"median over {a.pairs} pairs: JSON {statistics.median(t_json):.0f} ms, "
              f"with meshes {statistics.median(t_all):.0f} ms, server {statistics.median(t_srv):.0f} ms, "
              f"server CPU {statistics.median(t_cpu):.0f} ms"
              + (f", labels.nii.gz first GET {statistics.median(t_lab):.0f} ms" if t_lab else "")
              + (f", deferred sections GET {statistics.median(t_sec):.0f} ms" if t_sec else ""))
        print("median per stage over the pairs (wall ms / CPU ms, * = from the cache): " +
              ", ".join(f"{k} {statistics.median(x[0] for x in v):.0f}/"
                        f"{statistics.median(x[1] for x in v):.0f}{'*' if all(x[2] for x in v) else ''}"
                        for k, v in per_stage.items()))
        stages = res["timings"]["stages"]
        print("last pair per stage (ms, * = from the cache): " +
              ", ".join(f"{k} {v['ms']:.0f}{'*' if v['cached'] else ''}" for k, v in stages.items()))
        outs = res["timings"].get("outputs", {})
        print("last pair per output file written with the run (ms): " +
              (", ".join(f"{k} {v:.0f}" for k, v in outs.items()) or "none") +
              "; deferred to their first download: " +
              (", ".join(res["timings"].get("deferred", [])) or "none"))
        print(f"last pair: pipeline {res['timings'].get('pipeline_ms', 0):.0f} ms, "
              f"server {res['timings']['server_ms']:.0f} ms")
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    return 0


if __name__ == "__main__":
    sys.exit(main())
