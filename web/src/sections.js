// SPDX-License-Identifier: BSD-3-Clause
// Cross-section and straightened (CPR) views drawn on 2-D canvases from the
// section stack and contours that POST /api/segment returns.

const dot = (a, b) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2]

// World point of contour station `st` at angle index a with radius r.
function contourPoint (st, a, nAngles, r) {
  const t = (2 * Math.PI * a) / nAngles
  const c = Math.cos(t); const s = Math.sin(t)
  return [0, 1, 2].map(k => st.center[k] + r * (c * st.normal[k] + s * st.binormal[k]))
}

// Lumen area of a contour station (polygon of the radii), mm^2.
export function stationArea (st, key = 'lumen') {
  const r = st[key]; const n = r.length
  let area = 0
  for (let a = 0; a < n; a++) area += 0.5 * r[a] * r[(a + 1) % n] * Math.sin((2 * Math.PI) / n)
  return area
}

// Index of the station nearest to arc length s.
export function nearestStation (stations, s) {
  let best = 0
  for (let i = 1; i < stations.length; i++) {
    if (Math.abs(stations[i].s - s) < Math.abs(stations[best].s - s)) best = i
  }
  return best
}

// Window for display: CT-like when the data look like HU, else percentiles.
function displayWindow (pixels) {
  const sample = []
  const step = Math.max(1, Math.floor(pixels.length / 20000))
  for (let i = 0; i < pixels.length; i += step) if (Number.isFinite(pixels[i])) sample.push(pixels[i])
  sample.sort((a, b) => a - b)
  if (sample.length === 0) return [0, 1]
  const lo = sample[Math.floor(sample.length * 0.02)]
  const hi = sample[Math.floor(sample.length * 0.995)]
  if (lo < -300 && hi > 200) return [-200, 700]
  return [lo, hi > lo ? hi : lo + 1]
}

function grey (v, win) {
  const g = Math.round(255 * (v - win[0]) / (win[1] - win[0]))
  return g < 0 ? 0 : g > 255 ? 255 : g
}

export class SectionViews {
  constructor (xsCanvas, cprCanvas, slider, label, onStation) {
    this.xs = xsCanvas; this.cpr = cprCanvas; this.slider = slider; this.label = label
    this.onStation = onStation
    this.clear()
    slider.addEventListener('input', () => this.setStation(+slider.value, true))
    cprCanvas.addEventListener('click', (e) => {
      if (!this.count()) return
      const r = cprCanvas.getBoundingClientRect()
      const y = (e.clientY - r.top) / r.height
      this.setStation(Math.round(y * (this.count() - 1)), true)
    })
  }

  clear () {
    this.sections = null; this.pixels = null; this.contours = null
    this.station = 0; this.mla = -1; this.win = [0, 1]
    this.slider.disabled = true; this.slider.max = 0
    this.label.textContent = ''
    for (const c of [this.xs, this.cpr]) c.getContext('2d').clearRect(0, 0, c.width, c.height)
  }

  count () {
    if (this.sections) return this.sections.count
    return this.contours ? this.contours.stations.length : 0
  }

  // s of the view's station `i` (sections if present, else contours).
  stationS (i) {
    if (this.sections) return this.sections.frames[i].s
    return this.contours.stations[i].s
  }

  // World point (mm) on the centerline at the view's station `i`.
  stationCenter (i) {
    if (this.sections) return this.sections.frames[i].center
    return this.contours.stations[i].center
  }

  async show (result, mlaS) {
    this.sections = result.sections || null
    this.contours = result.contours && result.contours.stations.length ? result.contours : null
    this.pixels = null
    if (this.sections) {
      const resp = await fetch(this.sections.url)
      if (resp.ok) {
        this.pixels = new Float32Array(await resp.arrayBuffer())
        this.win = displayWindow(this.pixels)
      }
    }
    const n = this.count()
    this.slider.max = Math.max(0, n - 1)
    this.slider.disabled = n === 0
    this.mla = -1
    if (n > 0 && Number.isFinite(mlaS)) this.mla = this.nearestViewStation(mlaS)
    else if (this.contours) {
      const areas = this.contours.stations.map(st => stationArea(st))
      const k = areas.indexOf(Math.min(...areas))
      this.mla = this.nearestViewStation(this.contours.stations[k].s)
    }
    this.drawCpr()
    this.setStation(this.mla >= 0 ? this.mla : Math.floor(n / 2))
  }

  nearestViewStation (s) {
    if (this.sections) return nearestStation(this.sections.frames, s)
    return nearestStation(this.contours.stations, s)
  }

  // Shows station i; `byUser` when the person scrubbed to it (the
  // onStation callback then moves the slices there).
  setStation (i, byUser = false) {
    const n = this.count()
    if (!n) return
    this.station = Math.max(0, Math.min(n - 1, i))
    this.slider.value = this.station
    this.label.textContent = `s = ${this.stationS(this.station).toFixed(1)} mm` +
      (this.station === this.mla ? ' (MLA)' : '')
    this.drawSection()
    this.drawCpr()
    if (this.onStation) this.onStation(this.stationCenter(this.station), byUser)
  }

  // Geometry of the cross-section image: frame, pixel spacing and size.
  xsGeometry () {
    if (this.sections) {
      const s = this.sections
      return { frame: s.frames[this.station], ps: s.pixel_spacing, w: s.width, h: s.height }
    }
    const st = this.contours.stations[this.station]
    let rmax = 1
    for (const r of st.outer) rmax = Math.max(rmax, r)
    return { frame: st, ps: (2.6 * rmax) / 64, w: 64, h: 64 }
  }

  drawSection () {
    const g = this.xsGeometry()
    const ctx = this.xs.getContext('2d')
    this.xs.width = 256; this.xs.height = 256
    ctx.fillStyle = '#000'; ctx.fillRect(0, 0, 256, 256)
    if (this.pixels) {
      const img = ctx.createImageData(g.w, g.h)
      const off = this.station * g.w * g.h
      for (let p = 0; p < g.w * g.h; p++) {
        const v = grey(this.pixels[off + p], this.win)
        img.data[4 * p] = img.data[4 * p + 1] = img.data[4 * p + 2] = v
        img.data[4 * p + 3] = 255
      }
      const tmp = new OffscreenCanvas(g.w, g.h)
      tmp.getContext('2d').putImageData(img, 0, 0)
      ctx.imageSmoothingEnabled = true
      ctx.drawImage(tmp, 0, 0, 256, 256)
    }
    if (!this.contours) return
    const st = this.contours.stations[nearestStation(this.contours.stations, this.stationS(this.station))]
    // pixel (x, y) <-> u = (x - (w-1)/2) ps, v = (y - (h-1)/2) ps (types.h)
    const toCanvas = (p) => {
      const d = [0, 1, 2].map(k => p[k] - g.frame.center[k])
      const x = dot(d, g.frame.normal) / g.ps + (g.w - 1) / 2
      const y = dot(d, g.frame.binormal) / g.ps + (g.h - 1) / 2
      return [(x + 0.5) * 256 / g.w, (y + 0.5) * 256 / g.h]
    }
    for (const [key, colour] of [['outer', '#ffd24d'], ['lumen', '#ff5a5a']]) {
      const n = st[key].length
      ctx.beginPath()
      for (let a = 0; a <= n; a++) {
        const [x, y] = toCanvas(contourPoint(st, a % n, n, st[key][a % n]))
        if (a === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y)
      }
      ctx.strokeStyle = colour; ctx.lineWidth = 1.5; ctx.stroke()
    }
  }

  // Straightened view: row i = the middle row (v = 0, along the normal) of
  // section i; the lumen and wall edges at theta = 0 and pi as lines.
  drawCpr () {
    const n = this.count()
    const ctx = this.cpr.getContext('2d')
    ctx.fillStyle = '#000'; ctx.fillRect(0, 0, this.cpr.width, this.cpr.height)
    if (!n) return
    const W = this.cpr.width; const H = this.cpr.height
    const rowY = (i) => (n > 1 ? (i / (n - 1)) * (H - 1) : H / 2)
    let ps = 0.1; let w = 64
    if (this.pixels) {
      const s = this.sections; ps = s.pixel_spacing; w = s.width
      const img = ctx.createImageData(w, n)
      const mid = Math.floor(s.height / 2)
      for (let i = 0; i < n; i++) {
        const off = (i * s.height + mid) * w
        for (let x = 0; x < w; x++) {
          const v = grey(this.pixels[off + x], this.win); const p = 4 * (i * w + x)
          img.data[p] = img.data[p + 1] = img.data[p + 2] = v; img.data[p + 3] = 255
        }
      }
      const tmp = new OffscreenCanvas(w, n)
      tmp.getContext('2d').putImageData(img, 0, 0)
      ctx.drawImage(tmp, 0, 0, W, H)
    } else if (this.contours) {
      let rmax = 1
      for (const st of this.contours.stations) for (const r of st.outer) rmax = Math.max(rmax, r)
      ps = (2.6 * rmax) / 64
    }
    if (this.contours) {
      const sts = this.contours.stations
      const nA = this.contours.n_angles
      for (const [key, colour] of [['outer', '#ffd24d'], ['lumen', '#ff5a5a']]) {
        for (const a of [0, Math.round(nA / 2)]) {
          ctx.beginPath()
          for (let i = 0; i < n; i++) {
            const st = sts[nearestStation(sts, this.stationS(i))]
            const u = (a === 0 ? 1 : -1) * st[key][a % nA]
            const x = (u / ps + w / 2) * W / w
            if (i === 0) ctx.moveTo(x, rowY(i)); else ctx.lineTo(x, rowY(i))
          }
          ctx.strokeStyle = colour; ctx.lineWidth = 1; ctx.stroke()
        }
      }
    }
    if (this.mla >= 0) {
      ctx.strokeStyle = '#4dd0ff'; ctx.setLineDash([4, 3]); ctx.lineWidth = 1.5
      ctx.beginPath(); ctx.moveTo(0, rowY(this.mla)); ctx.lineTo(W, rowY(this.mla)); ctx.stroke()
      ctx.setLineDash([])
    }
    ctx.strokeStyle = 'rgba(255,255,255,0.8)'; ctx.lineWidth = 1
    ctx.beginPath(); ctx.moveTo(0, rowY(this.station)); ctx.lineTo(W, rowY(this.station)); ctx.stroke()
  }
}
