#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""API tests of `vflow serve`: starts the server on a free loopback port
against a CI-sized phantom and checks health, volume, segmentation, the
cache, downloads and every bad request (malformed JSON, points outside the
image, path traversal, oversized upload, failing runs), with the server
still healthy after each."""
import http.client
import json
import math
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

SRC = os.environ.get("VFLOW_SOURCE_ROOT",
                     os.path.abspath(os.path.join(os.path.dirname(__file__), "../..")))
BUILD = os.environ.get("VFLOW_BUILD_ROOT", os.path.join(SRC, "build"))
VFLOW = os.environ.get("VFLOW_EXE", os.path.join(BUILD, "tools", "vflow"))
PIPELINE = os.environ.get("VFLOW_SERVE_PIPELINE",
                          os.path.join(SRC, "tests", "serve", "centerline_small.yaml"))


class Server:
    """A `vflow serve` process on a free port with a 1 MB upload limit."""

    def __init__(self, image, tmp):
        env = dict(os.environ, TMPDIR=tmp)
        self.proc = subprocess.Popen(
            [VFLOW, "serve", image, "--pipeline", PIPELINE, "--port", "0",
             "--threads", "2", "--max-upload-mb", "1"],
            stdout=subprocess.PIPE, stderr=open(os.path.join(tmp, "server.log"), "w"),
            env=env, text=True)
        line = self.proc.stdout.readline()
        m = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        if not m:
            raise RuntimeError(f"vflow serve did not start: {line!r}")
        self.port = int(m.group(1))

    def request(self, method, path, body=None, headers=None, timeout=120):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        data = body.encode() if isinstance(body, str) else body
        conn.request(method, path, body=data, headers=headers or {})
        resp = conn.getresponse()
        raw = resp.read()
        conn.close()
        try:
            payload = json.loads(raw) if raw else None
        except ValueError:
            payload = raw
        return resp.status, payload, raw

    def json(self, method, path, obj=None):
        body = json.dumps(obj) if obj is not None else None
        return self.request(method, path, body, {"Content-Type": "application/json"})

    def stop(self):
        """SIGTERM; returns the exit status (0: clean shutdown, and under
        ASan no leak report)."""
        self.proc.terminate()
        try:
            return self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return -9


def read_truth(path):
    with open(path) as f:
        head = f.readline().strip().split(",")
        rows = [dict(zip(head, map(float, line.split(",")))) for line in f if line.strip()]
    return rows


def dist_to_polyline(p, pts):
    best = math.inf
    for a, b in zip(pts, pts[1:]):
        ab = [b[i] - a[i] for i in range(3)]
        ap = [p[i] - a[i] for i in range(3)]
        l2 = sum(v * v for v in ab)
        t = max(0.0, min(1.0, sum(ap[i] * ab[i] for i in range(3)) / l2)) if l2 > 0 else 0.0
        best = min(best, math.dist(p, [a[i] + t * ab[i] for i in range(3)]))
    return best


# ------------------------------------------------------------------ tests

def check_healthy(s):
    st, body, _ = s.request("GET", "/api/health")
    assert st == 200 and body["status"] == "ok", (st, body)
    return body


def test_health_reports_ok_and_cache(s, ctx):
    body = check_healthy(s)
    assert body["volume_loaded"] is True
    assert body["cache"]["enabled"] is True


def test_volume_geometry_and_file(s, ctx):
    st, vol, _ = s.request("GET", "/api/volume")
    assert st == 200, st
    assert vol["dims"] == [96, 96, 96], vol["dims"]
    assert all(abs(v - 0.5) < 1e-9 for v in vol["spacing"]), vol["spacing"]
    assert len(vol["affine"]) == 4 and len(vol["affine"][0]) == 4
    st, _, raw = s.request("GET", vol["url"])
    assert st == 200 and len(raw) == os.path.getsize(ctx["image"]), (st, len(raw))
    st, _, _ = s.request("GET", "/api/volume/999/other.nii.gz")
    assert st == 404, st


def test_malformed_json_is_400_with_message(s, ctx):
    for body in ['{"start":[1,2,3],"end":[1,2', 'not json', '{"start":[1,2,3]} trailing', '',
                 '{"start":[1,2,3],"end":[4,5,6],}', '\x00\xff{']:
        st, res, _ = s.request("POST", "/api/segment", body)
        assert st == 400, (body, st, res)
        assert "JSON" in res["error"] or "empty" in res["error"], res
    check_healthy(s)


def test_wrong_shapes_are_400_naming_the_field(s, ctx):
    cases = [({"start": [1, 2], "end": [1, 2, 3]}, "start"),
             ({"start": [1, 2, 3]}, "end"),
             ({"start": [1, "a", 3], "end": [1, 2, 3]}, "start"),
             ({"start": [1, 2, 3], "end": None}, "end"),
             ([1, 2, 3], "object")]
    for obj, word in cases:
        st, res, _ = s.json("POST", "/api/segment", obj)
        assert st == 400 and word in res["error"], (obj, st, res)
    check_healthy(s)


def test_points_outside_the_image_are_422(s, ctx):
    hi = ctx["bounds"]["max"]
    cases = [({"start": ctx["start"], "end": [400.0, 12.0, 2.7]}, "end"),
             ({"start": [ctx["start"][0], ctx["start"][1], -400.0], "end": ctx["end"]}, "start"),
             ({"start": [hi[0] + 1.0, hi[1], hi[2]], "end": [1e300, 0, 0]}, "start")]
    for obj, which in cases:
        st, res, _ = s.json("POST", "/api/segment", obj)
        assert st == 422, (obj, st, res)
        assert "outside the image" in res["error"] and which in res["error"], (obj, res)
    # Overflowing numbers are not points at all.
    st, res, _ = s.request("POST", "/api/segment", '{"start":[1e999,0,0],"end":[0,0,0]}')
    assert st == 400 and "start" in res["error"], (st, res)
    check_healthy(s)


def test_path_traversal_is_refused(s, ctx):
    st, res, _ = s.json("POST", "/api/segment", {"start": ctx["start"], "end": ctx["end"]})
    assert st == 200, (st, res)
    run = res["run"]
    bad = [f"/api/files/{run}/../../../../etc/passwd",
           f"/api/files/{run}/..%2f..%2f..%2fetc%2fpasswd",
           f"/api/files/{run}/%2e%2e/%2e%2e/etc/passwd",
           f"/api/files/{run}/%2e%2e",
           f"/api/files/{run}//etc/passwd",
           "/api/files//etc/passwd",
           "/api/files/%2fetc%2fpasswd",
           f"/api/files/{run + 1000}/centerline.csv",
           f"/api/files/{run}/server.log",
           "/../../etc/passwd",
           "/%2e%2e/%2e%2e/etc/passwd",
           "/assets/../../../etc/passwd",
           "/api/volume/1/../../../etc/passwd",
           f"/api/files/{run}/..%5c..%5cetc%5cpasswd",
           "/" + "a/" * 3000 + "index.html"]
    for path in bad:
        st, body, raw = s.request("GET", path)
        assert st in (400, 404, 414), (path, st)
        assert b"root:" not in raw, path
    st, _, raw = s.request("GET", res["files"]["centerline.csv"])
    assert st == 200 and raw.startswith(b"s_mm,"), (st, raw[:40])
    check_healthy(s)


def raw_upload(port, length, chunks, expect):
    """Sends an upload by hand; returns the status line's code."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=60)
    head = "POST /api/volume?name=big.nii HTTP/1.1\r\nHost: x\r\n"
    head += "Content-Type: application/octet-stream\r\n"
    if length is not None:
        head += f"Content-Length: {length}\r\n"
    else:
        head += "Transfer-Encoding: chunked\r\n"
    if expect:
        head += "Expect: 100-continue\r\n"
    sock.sendall((head + "\r\n").encode())
    try:
        for c in chunks:
            sock.sendall(f"{len(c):x}\r\n".encode() + c + b"\r\n" if length is None else c)
        if length is None:
            sock.sendall(b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass
    data = b""
    while b"\r\n" not in data:
        part = sock.recv(4096)
        if not part:
            break
        data += part
    sock.close()
    codes = re.findall(rb"HTTP/1\.1 (\d+)", data)
    codes = [int(c) for c in codes if int(c) != 100]
    return codes[0] if codes else None


def test_oversized_upload_is_413(s, ctx):
    two_mb = 2 * 1024 * 1024
    # Declared too large: answered before the body is sent (as curl does it).
    assert raw_upload(s.port, two_mb, [], expect=True) == 413
    # Declared, no Expect: the body is read and dropped, then 413.
    st, res, _ = s.request("POST", "/api/volume?name=big.nii", b"\0" * two_mb,
                           {"Content-Type": "application/octet-stream"})
    assert st == 413 and "limit" in res["error"], (st, res)
    # Chunked, no length: the limit is found while reading, answered after.
    assert raw_upload(s.port, None, [b"\0" * 65536] * 20, expect=False) == 413
    # Over the limit for a JSON body as well.
    st, res, _ = s.request("POST", "/api/segment", "[" + "1," * 600000 + "1]")
    assert st == 413 and "limit" in res["error"], (st, res)
    # Healthy after: same volume, and a segmentation still runs.
    check_healthy(s)
    st, vol, _ = s.request("GET", "/api/volume")
    assert st == 200 and vol["name"] != "big.nii", (st, vol)
    st, res, _ = s.json("POST", "/api/segment", {"start": ctx["start"], "end": ctx["end"]})
    assert st == 200 and len(res["centerline"]) > 20, (st, res)


def test_bad_uploads_are_refused_and_volume_kept(s, ctx):
    st, vol0, _ = s.request("GET", "/api/volume")
    st, res, _ = s.request("POST", "/api/volume?name=notes.txt", b"hello")
    assert st == 415, (st, res)
    st, res, _ = s.request("POST", "/api/volume?name=..%2fx.nii", b"hello")
    assert st == 400, (st, res)
    st, res, _ = s.request("POST", "/api/volume?name=broken.nii", b"\0" * 1000)
    assert st == 422 and "broken.nii" in res["error"], (st, res)
    st, vol1, _ = s.request("GET", "/api/volume")
    assert vol1["id"] == vol0["id"]
    check_healthy(s)


def test_segment_returns_a_centerline_near_the_truth(s, ctx):
    st, res, _ = s.json("POST", "/api/segment", {"start": ctx["start"], "end": ctx["end"]})
    assert st == 200, (st, res)
    cl = res["centerline"]
    assert len(cl) > 20, len(cl)
    d = sorted(dist_to_polyline(p, ctx["truth"]) for p in cl)
    mean = sum(d) / len(d)
    assert mean < 0.3 and d[int(0.95 * (len(d) - 1))] < 0.5, (mean, d[-1])
    assert math.dist(cl[0], ctx["start"]) < 1.0 and math.dist(cl[-1], ctx["end"]) < 1.0
    for key in ("measures", "files", "timings", "cache", "run"):
        assert key in res, key
    assert "centerline.csv" in res["files"] and "report.json" in res["files"]


def test_moved_click_reuses_click_independent_stages(s, ctx):
    first = s.json("POST", "/api/segment", {"start": ctx["start"], "end": ctx["end"]})[1]
    st, res, _ = s.json("POST", "/api/segment", {"start": ctx["start"], "end": ctx["end2"]})
    assert st == 200, (st, res)
    stages = res["timings"]["stages"]
    # The loader and the vesselness do not depend on the clicks: reused;
    # every stage from the clicks on runs again (report.json "cached").
    cached = sorted(k for k, v in stages.items() if v["cached"])
    assert cached == ["load", "vessel"], stages
    assert res["cache"]["hits"] == 2, res["cache"]
    assert all(v["cpu_ms"] >= 0 for v in stages.values()), stages
    assert res["timings"]["cpu_ms"] > 0, res["timings"]
    assert math.dist(res["centerline"][-1], ctx["end2"]) < 1.0
    assert len(res["centerline"]) < len(first["centerline"])


def test_files_are_written_when_first_downloaded_and_expire_unwritten(s, ctx):
    st, res, _ = s.json("POST", "/api/segment", {"start": ctx["start"], "end": ctx["end"]})
    assert st == 200, (st, res)
    # The run writes no output file; each is written on its first GET.
    assert "centerline.csv" in res["timings"]["deferred"], res["timings"]
    assert res["timings"]["outputs"] == {}, res["timings"]
    url = res["files"]["centerline.csv"]
    st, _, first = s.request("GET", url)
    assert st == 200 and first.startswith(b"s_mm,"), (st, first[:40])
    assert s.request("GET", url)[2] == first
    # The server keeps the results of its last few runs: after more runs,
    # a file fetched before is still there, one never fetched is gone (410).
    for _ in range(5):
        assert s.json("POST", "/api/segment",
                      {"start": ctx["start"], "end": ctx["end2"]})[0] == 200
    st, _, again = s.request("GET", url)
    assert st == 200 and again == first, st
    st, body, _ = s.request("GET", url.replace("centerline.csv", "centerline.vtp"))
    assert st == 410 and "segment again" in body["error"], (st, body)
    check_healthy(s)


def test_deferred_section_stack_is_computed_on_request(s, ctx):
    st, res, _ = s.json("POST", "/api/segment", {"start": ctx["start"], "end": ctx["end"]})
    assert st == 200, (st, res)
    # mpr and the stack feed only sections.nii.gz: the run leaves them to
    # the first request, and the answer points there instead.
    assert "sections" not in res and res["sections_url"] == f"/api/sections/{res['run']}", res
    st, sec, _ = s.request("GET", res["sections_url"])
    assert st == 200 and sec["count"] > 10, (st, sec)
    assert sec["width"] > 0 and sec["height"] > 0 and sec["pixel_spacing"] > 0, sec
    st, _, raw = s.request("GET", sec["url"])
    assert st == 200 and len(raw) == 4 * sec["count"] * sec["width"] * sec["height"], st
    st, again, _ = s.request("GET", res["sections_url"])  # computed once
    assert st == 200 and again == sec, (st, again)
    st, _, nii = s.request("GET", res["files"]["sections.nii.gz"])
    assert st == 200 and nii[:2] == b"\x1f\x8b", st
    for bad in (f"/api/sections/{res['run'] + 1000}", "/api/sections/x",
                f"/api/sections/{res['run']}/../1"):
        st, body, _ = s.request("GET", bad)
        assert st == 404 and body["error"], (bad, st, body)
    check_healthy(s)


def test_downloads_during_segmentations_stay_consistent(s, ctx):
    st, res, _ = s.json("POST", "/api/segment", {"start": ctx["start"], "end": ctx["end"]})
    assert st == 200, (st, res)
    urls = [u for n, u in res["files"].items() if n.endswith((".csv", ".vtp", ".json"))]
    out = {}

    def seg(i):
        out[("seg", i)] = s.json("POST", "/api/segment",
                                 {"start": ctx["start"], "end": [ctx["end2"], ctx["end3"]][i % 2]})

    def get(i, u):
        out[("get", i)] = s.request("GET", u)

    threads = [threading.Thread(target=seg, args=(i,)) for i in range(2)]
    threads += [threading.Thread(target=get, args=(i, u)) for i, u in enumerate(urls * 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    bodies = {}
    for key, (st, body, raw) in out.items():
        assert st == 200, (key, st, body)
        if key[0] == "get":
            u = (urls * 2)[key[1]]
            assert bodies.setdefault(u, raw) == raw, u  # one file, one content
    check_healthy(s)


def test_failing_run_answers_an_error_and_server_keeps_serving(s, ctx):
    # A point far from any vessel (background): the march refuses it.
    far = [ctx["bounds"]["min"][i] + 2.0 for i in range(3)]
    st, res, _ = s.json("POST", "/api/segment", {"start": ctx["start"], "end": far})
    assert st in (422, 500) and res["error"], (st, res)
    check_healthy(s)
    st, res, _ = s.json("POST", "/api/segment", {"start": ctx["start"], "end": ctx["end"]})
    assert st == 200 and len(res["centerline"]) > 20, (st, res)


def test_concurrent_requests_stay_consistent(s, ctx):
    ends = [ctx["end"], ctx["end2"], ctx["end3"], ctx["end"]]
    results = [None] * len(ends)

    def one(i):
        results[i] = s.json("POST", "/api/segment", {"start": ctx["start"], "end": ends[i]})

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(ends))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for (st, res, _), end in zip(results, ends):
        assert st == 200, (st, res)
        assert math.dist(res["centerline"][-1], end) < 1.0
    assert results[0][1]["centerline"] == results[3][1]["centerline"]
    check_healthy(s)


def test_progress_and_unknown_routes(s, ctx):
    st, p, _ = s.request("GET", "/api/progress")
    assert st == 200 and p["busy"] is False and "phase" in p, p
    assert s.request("GET", "/api/segment")[0] == 405
    assert s.request("GET", "/api/nothing")[0] == 404
    assert s.request("DELETE", "/index.html")[0] == 405
    # The web app, or the page saying how to build it.
    st, _, raw = s.request("GET", "/")
    assert st == 200 and b"<html" in raw.lower(), (st, raw[:80])


def test_upload_replaces_the_volume(s, ctx):
    with open(ctx["image"], "rb") as f:
        data = f.read()
    if len(data) > 1024 * 1024:
        return  # larger than this server's 1 MB limit: covered by 413
    st, vol, _ = s.request("POST", "/api/volume?name=again.nii.gz", data,
                           {"Content-Type": "application/octet-stream"})
    assert st == 200 and vol["name"] == "again.nii.gz", (st, vol)
    st, res, _ = s.json("POST", "/api/segment", {"start": ctx["start"], "end": ctx["end"]})
    assert st == 200 and res["volume_id"] == vol["id"], (st, res)
    # The same bytes under a new name: the file is read again, but a
    # reader's output is identified by its content, so the vesselness
    # computed for the first volume is reused (by this call, or by the
    # upload's warm-up if it took the run slot first and then this call;
    # tests/core/test_cache.c checks the content identity itself).
    assert res["timings"]["stages"]["vessel"]["cached"], res["timings"]


TESTS = [test_health_reports_ok_and_cache, test_volume_geometry_and_file,
         test_malformed_json_is_400_with_message, test_wrong_shapes_are_400_naming_the_field,
         test_points_outside_the_image_are_422, test_path_traversal_is_refused,
         test_oversized_upload_is_413, test_bad_uploads_are_refused_and_volume_kept,
         test_segment_returns_a_centerline_near_the_truth,
         test_moved_click_reuses_click_independent_stages,
         test_files_are_written_when_first_downloaded_and_expire_unwritten,
         test_deferred_section_stack_is_computed_on_request,
         test_downloads_during_segmentations_stay_consistent,
         test_failing_run_answers_an_error_and_server_keeps_serving,
         test_concurrent_requests_stay_consistent, test_progress_and_unknown_routes,
         test_upload_replaces_the_volume]


def main():
    if not os.path.exists(VFLOW):
        print(f"SKIP: {VFLOW} not built")
        return 77
    tmp = tempfile.mkdtemp(prefix="vflow-serve-test-")
    server = None
    passed = failed = 0
    try:
        ph = os.path.join(tmp, "phantom")
        subprocess.run([VFLOW, "phantom", "--preset", "lad", "--size", "ci", "--out", ph, "-q"],
                       check=True)
        with open(os.path.join(ph, "clicks.json")) as f:
            clicks = json.load(f)
        rows = read_truth(os.path.join(ph, "truth_centerline.csv"))

        def truth_at(s_mm):
            r = min(rows, key=lambda r: abs(r["s_mm"] - s_mm))
            return [r["x"], r["y"], r["z"]]

        ctx = {"image": os.path.join(ph, "image.nii.gz"), "start": clicks["start"],
               "end": clicks["end"], "end2": truth_at(clicks["end_s_mm"] - 10),
               "end3": truth_at(clicks["end_s_mm"] - 20),
               "truth": [[r["x"], r["y"], r["z"]] for r in rows]}
        server = Server(ctx["image"], tmp)
        ctx["bounds"] = server.request("GET", "/api/volume")[1]["bounds"]
        for t in TESTS:
            t0 = time.time()
            try:
                t(server, ctx)
                passed += 1
                print(f"PASS {t.__name__} ({time.time() - t0:.2f} s)")
            except Exception:
                failed += 1
                print(f"FAIL {t.__name__}")
                traceback.print_exc(file=sys.stdout)
        if server.proc.poll() is not None:
            failed += 1
            print("FAIL the server exited during the tests")
    finally:
        if server is not None:
            code = server.stop()
            if code == 0:
                passed += 1
                print("PASS clean shutdown on SIGTERM (exit 0)")
            else:
                failed += 1
                print(f"FAIL the server exited with {code} on SIGTERM")
            log = os.path.join(tmp, "server.log")
            if failed and os.path.exists(log):
                print("---- server log ----")
                print(open(log).read()[-4000:])
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
