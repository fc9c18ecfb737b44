# SPDX-License-Identifier: BSD-3-Clause
"""Counts calcium voxels a result labels lumen (labels.nii.gz == 1): voxels whose CENTRE lies in the
truth calcium block (phantom.json + truth_contours.json), the definition of the label maps ("class at
the voxel centre") and of `vflow eval`. Also prints the looser count of voxels NEAREST to a point of
the block, whose centres may lie in the lumen next to it (the truth's own labels score ~12 there).
Pure Python, no numpy."""
import array, gzip, json, math, struct, sys
def load(p):
    b = gzip.open(p).read()
    dims = struct.unpack('<8h', b[40:56]); dt = struct.unpack('<h', b[70:72])[0]
    off = int(struct.unpack('<f', b[108:112])[0]); slope = struct.unpack('<f', b[112:116])[0]
    code = {2:'B',4:'h',16:'f',512:'H'}[dt]
    a = array.array(code); a.frombytes(b[off:off+dims[1]*dims[2]*dims[3]*a.itemsize])
    return dims[1:4], a
truth, res = sys.argv[1], sys.argv[2]
ph = json.load(open(truth + '/phantom.json')); ca = ph['calcium']
tc = json.load(open(truth + '/truth_contours.json'))
aff = ph['grid']['affine']
d, rl = load(res + '/labels.nii.gz')
s0, s1 = ca['s_mm'] - ca['length_mm'] / 2, ca['s_mm'] + ca['length_mm'] / 2
half = math.radians(ca['arc_deg']) / 2; ang0 = math.radians(ca['angle_deg'])
# invert affine (diagonal/rotation with spacing): solve 3x3
A = [r[:3] for r in aff[:3]]; t = [r[3] for r in aff[:3]]
det = (A[0][0]*(A[1][1]*A[2][2]-A[1][2]*A[2][1]) - A[0][1]*(A[1][0]*A[2][2]-A[1][2]*A[2][0]) + A[0][2]*(A[1][0]*A[2][1]-A[1][1]*A[2][0]))
def inv3(A):
    a,b,c=A[0];d_,e,f=A[1];g,h,i=A[2]
    return [[(e*i-f*h)/det,(c*h-b*i)/det,(b*f-c*e)/det],[(f*g-d_*i)/det,(a*i-c*g)/det,(c*d_-a*f)/det],[(d_*h-e*g)/det,(b*g-a*h)/det,(a*e-b*d_)/det]]
Ai = inv3(A)
def aff_apply(ijk):
    return [sum(A[i][j] * ijk[j] for j in range(3)) + t[i] for i in range(3)]
stations = [st for st in tc['stations'] if s0 - 1.0 <= st['s_mm'] <= s1 + 1.0]
def in_block(x):
    """x (world mm) inside the calcium block of its nearest truth station."""
    st = min(stations, key=lambda q: sum((x[i] - q['center'][i]) ** 2 for i in range(3)))
    if not (s0 <= st['s_mm'] <= s1): return False
    d = [x[i] - st['center'][i] for i in range(3)]
    u = sum(d[i] * st['normal'][i] for i in range(3)); v = sum(d[i] * st['binormal'][i] for i in range(3))
    th = math.atan2(v, u); dth = math.remainder(th - ang0, 2 * math.pi)
    if abs(dth) > half: return False
    na = tc['n_angles']; a = int(round(th / (2 * math.pi) * na)) % na
    r, r0 = math.hypot(u, v), st['lumen_r'][a] + ca['gap_to_lumen_mm']
    return r0 <= r <= r0 + ca['thickness_mm']
n_in = n_ca = n_exact = 0
seen = set()
for st in tc['stations']:
    if not (s0 <= st['s_mm'] <= s1): continue
    c, nrm, bn = st['center'], st['normal'], st['binormal']; na = tc['n_angles']
    for k in range(60):
        th = ang0 - half + 2 * half * k / 59
        a = int(round(th / (2*math.pi) * na)) % na
        r0 = st['lumen_r'][a] + ca['gap_to_lumen_mm']
        for q in range(7):
            r = r0 + ca['thickness_mm'] * (q + 0.5) / 7
            p = [c[i] + r * (math.cos(th) * nrm[i] + math.sin(th) * bn[i]) for i in range(3)]
            ijk = [round(sum(Ai[i][j] * (p[j] - t[j]) for j in range(3))) for i in range(3)]
            key = tuple(ijk)
            if key in seen: continue
            seen.add(key)
            idx = ijk[0] + d[0] * (ijk[1] + d[1] * ijk[2])
            n_ca += 1
            n_in += rl[idx] == 1
            n_exact += rl[idx] == 1 and in_block(aff_apply(ijk))
print(f"calcium voxels (centre in the truth block) labelled lumen: {n_exact} "
      f"(looser: {n_in} of the {n_ca} voxels nearest to points of the block)")
