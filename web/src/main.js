// SPDX-License-Identifier: BSD-3-Clause
// vflow serve web app: NiiVue viewer, two clicks -> POST /api/segment ->
// centerline, meshes, label overlay, cross-sections, CPR and measurements.
import { Niivue, NVImage, NVMesh, SHOW_RENDER, SLICE_TYPE } from '@niivue/niivue'
import { SectionViews } from './sections.js'

const $ = (id) => document.getElementById(id)

const state = {
  volume: null, // GET /api/volume
  start: null, // [x, y, z] world mm
  end: null,
  mode: 'start', // which marker the next click places
  history: [], // previous {start, end} for undo
  result: null, // last POST /api/segment answer
  inflight: false,
  pending: false,
  requests: 0, // segmentations answered (for tests)
  lastError: null,
  lastClick: null // what the last click on the viewer did (for tests)
}

const nv = new Niivue({
  backColor: [0.08, 0.08, 0.1, 1],
  show3Dcrosshair: true,
  multiplanarShowRender: SHOW_RENDER.ALWAYS,
  dragAndDropEnabled: false,
  crosshairWidth: 0.5,
  meshThicknessOn2D: 1.5,
  meshXRay: 0.6, // meshes stay visible through the volume rendering
  isColorbar: false
})

const views = new SectionViews($('xsection'), $('cpr'), $('station'), $('xs-label'), followStation)

// ------------------------------------------------------------------ api

async function api (path, options = {}) {
  const resp = await fetch(path, options)
  let body = null
  try { body = await resp.json() } catch (e) { body = null }
  if (!resp.ok) {
    const err = new Error(body && body.error ? body.error : `${path}: HTTP ${resp.status}`)
    err.status = resp.status
    throw err
  }
  return body
}

function showError (msg) {
  state.lastError = msg
  const box = $('error')
  box.textContent = msg || ''
  box.hidden = !msg
}

function setStatus (text, fraction = null) {
  $('status-text').textContent = text
  const bar = $('progress')
  bar.hidden = fraction === null
  if (fraction !== null) bar.value = fraction
}

const fmt = (p) => p ? p.map(v => v.toFixed(1)).join(', ') : '—'

// ------------------------------------------------------------- progress

let progressTimer = null

async function pollProgress () {
  try {
    const p = await api('/api/progress')
    if (p.busy) {
      const what = p.phase === 'preprocessing' ? 'Preprocessing the volume' : 'Segmenting'
      setStatus(`${what}: ${p.stage || '…'} (${p.stages_done} stages done)`, p.fraction)
    } else if (!state.inflight) {
      setStatus(state.result ? 'Ready' : readyText())
      stopProgress()
    }
  } catch (e) { /* the next tick retries */ }
}

function startProgress () {
  if (!progressTimer) progressTimer = setInterval(pollProgress, 200)
  pollProgress()
}

function stopProgress () {
  clearInterval(progressTimer)
  progressTimer = null
}

function readyText () {
  if (!state.start) return 'Click the ostium (start) on a slice'
  if (!state.end) return 'Click a distal point (end) on a slice'
  return 'Ready'
}

// --------------------------------------------------------------- volume

async function loadVolume () {
  try {
    state.volume = await api('/api/volume')
  } catch (e) {
    state.volume = null
    setStatus('No volume loaded: open a .nii / .nii.gz file')
    return
  }
  $('volume-name').textContent = state.volume.name
  await nv.loadVolumes([{ url: state.volume.url, name: state.volume.name }])
  nv.setSliceType(SLICE_TYPE.MULTIPLANAR)
  startProgress()
}

async function uploadVolume (file) {
  showError(null)
  setStatus(`Uploading ${file.name}…`, 0)
  try {
    await api(`/api/volume?name=${encodeURIComponent(file.name)}`, {
      method: 'POST', body: file, headers: { 'Content-Type': 'application/octet-stream' }
    })
  } catch (e) {
    showError(`Upload failed: ${e.message}`)
    setStatus(readyText())
    return
  }
  state.start = state.end = state.result = null
  state.history = []
  resetResultViews()
  await loadVolume()
  drawMarkers()
}

// -------------------------------------------------------------- markers

function setMode (mode) {
  state.mode = mode
  $('mode-start').classList.toggle('active', mode === 'start')
  $('mode-end').classList.toggle('active', mode === 'end')
}

function placePoint (which, mm) {
  state.history.push({ start: state.start, end: state.end })
  state[which] = mm.slice(0, 3)
  if (which === 'start' && !state.end) setMode('end')
  drawMarkers()
  scheduleSegment()
}

function undo () {
  const prev = state.history.pop()
  if (!prev) return
  state.start = prev.start
  state.end = prev.end
  drawMarkers()
  scheduleSegment()
}

function clearPoints () {
  if (state.start || state.end) state.history.push({ start: state.start, end: state.end })
  state.start = state.end = null
  setMode('start')
  drawMarkers()
}

// NiiVue's addMesh, removeMesh, addVolume and removeVolume each refresh
// every layer and redraw at once, waiting for the GPU (gl.finish): with
// software GL (headless Chromium, a weak GPU) a second or more per call, and
// a result adds or replaces half a dozen meshes. So the scene is changed on
// nv.meshes / nv.volumes (as NiiVue's own setMesh / setVolume do) and
// drawn with one update.

// Replaces the meshes whose name starts with `prefix` by `meshes`; redraws.
function setMeshes (prefix, meshes) {
  const keep = []
  for (const m of nv.meshes) {
    if ((m.name || '').startsWith(prefix)) m.unloadMesh(nv.gl)
    else keep.push(m)
  }
  nv.meshes = keep.concat(meshes)
  nv.updateGLVolume()
}

// Sets the label overlay (an NVImage, or null for none) above the CTA;
// drawn by the next update.
function setOverlay (image) {
  nv.volumes = image ? [nv.volumes[0], image] : nv.volumes.slice(0, 1)
  nv.back = nv.volumes[0] || null
  nv.overlays = nv.volumes.slice(1)
}

function clearResultScene () {
  setOverlay(null)
  setMeshes('result-', [])
}

// A connectome mesh (spheres + cylinders) named `name`, not yet shown.
function connectome (name, colormap, nodes, edges, nodeScale, edgeScale) {
  const mesh = nv.loadConnectomeAsMesh({
    name,
    nodeColormap: colormap,
    nodeColormapNegative: colormap,
    nodeMinColor: 0,
    nodeMaxColor: 1,
    nodeScale,
    edgeColormap: colormap,
    edgeColormapNegative: colormap,
    edgeMin: 0,
    edgeMax: 1,
    edgeScale,
    showLegend: false,
    nodes,
    edges
  })
  mesh.name = name
  return mesh
}

function drawMarkers () {
  $('start-xyz').textContent = fmt(state.start)
  $('end-xyz').textContent = fmt(state.end)
  const markers = []
  for (const [which, cmap] of [['start', 'green'], ['end', 'red']]) {
    const p = state[which]
    if (!p) continue
    markers.push(connectome(`marker-${which}`, cmap,
      [{ name: which, x: p[0], y: p[1], z: p[2], colorValue: 1, sizeValue: 1 }], [], 1.6, 1))
  }
  setMeshes('marker-', markers)
  if (!state.inflight) setStatus(readyText())
}

// ---------------------------------------------------------- segmenting

function scheduleSegment () {
  if (!state.start || !state.end) return
  if (state.inflight) {
    state.pending = true
    return
  }
  runSegment()
}

async function runSegment () {
  state.inflight = true
  state.pending = false
  showError(null)
  setStatus('Segmenting…', 0)
  startProgress()
  const t0 = performance.now()
  const clicks = { start: state.start, end: state.end }
  try {
    const res = await api('/api/segment', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(clicks)
    })
    res.clientMs = performance.now() - t0
    res.clicks = clicks
    state.result = res
    await showResult(res)
    loadDeferredSections(res)
    state.requests++
  } catch (e) {
    state.requests++
    showError(segmentErrorText(e))
    clearResultScene()
  } finally {
    state.inflight = false
    setStatus(readyText())
    if (state.pending) scheduleSegment()
  }
}

function segmentErrorText (e) {
  if (e.status === 422) return `The clicks could not be segmented: ${e.message}`
  if (e.status === 400) return `Bad request: ${e.message}`
  return `Segmentation failed: ${e.message}`
}

// ------------------------------------------------------------- results

// Scrubbing the cross-section (slider or CPR click) moves the slices to
// that point of the vessel, so the slices show where the section lies.
function followStation (centerMm, byUser) {
  if (!byUser || !centerMm || nv.volumes.length === 0) return
  nv.scene.crosshairPos = nv.mm2frac(centerMm)
  nv.drawScene()
}

// The minimal lumen area's position: a cyan sphere on the centerline, seen
// in 3-D and on the slices through it (also marked in the CPR view).
function mlaMarker () {
  if (views.mla < 0) return null
  const p = views.stationCenter(views.mla)
  // 'cool' at its top: cyan, the MLA colour of the legend
  return connectome('result-mla', 'cool', [{ name: 'MLA', x: p[0], y: p[1], z: p[2], colorValue: 1, sizeValue: 1 }], [], 1.8, 1)
}

function measure (measures, name) {
  if (!measures) return undefined
  if (name in measures) return measures[name]
  const key = Object.keys(measures).find(k => k.endsWith('.' + name))
  return key ? measures[key] : undefined
}

function num (v, digits, unit) {
  return Number.isFinite(v) ? `${v.toFixed(digits)} ${unit}` : '—'
}

function showMeasures (res) {
  const m = res.measures || {}
  let length = measure(m, 'length_mm')
  if (!Number.isFinite(length) && res.centerline_arrays && res.centerline_arrays.s_mm) {
    const s = res.centerline_arrays.s_mm
    length = s[s.length - 1]
  }
  $('m-length').textContent = num(length, 1, 'mm')
  const mla = measure(m, 'mla_mm2'); const mlaS = measure(m, 'mla_s_mm')
  $('m-mla').textContent = Number.isFinite(mla)
    ? `${mla.toFixed(2)} mm² at s = ${Number.isFinite(mlaS) ? mlaS.toFixed(1) : '?'} mm` : '—'
  const as = measure(m, 'area_stenosis_pct'); const ds = measure(m, 'diameter_stenosis_pct')
  $('m-stenosis').textContent = Number.isFinite(as) || Number.isFinite(ds)
    ? `${num(as, 0, '%')} / ${num(ds, 0, '%')}` : '—'
  $('m-plaque').textContent = num(measure(m, 'plaque_volume_mm3'), 1, 'mm³')
  const t = res.timings || {}
  const c = res.cache || {}
  $('timing').textContent = `geometry in ${res.clientMs.toFixed(0)} ms ` +
    `(server ${Number(t.server_ms || 0).toFixed(0)} ms; cache: ${c.hits || 0} stages reused, ` +
    `${c.misses || 0} ran)`
}

function showFiles (res) {
  const ul = $('files')
  ul.textContent = ''
  for (const [name, url] of Object.entries(res.files || {})) {
    if (name.endsWith('.f32')) continue
    const li = document.createElement('li')
    const a = document.createElement('a')
    a.href = url; a.download = name; a.textContent = name
    li.appendChild(a)
    ul.appendChild(li)
  }
}

function centerlineMesh (res) {
  const pts = res.centerline || []
  if (pts.length < 2) return null
  const nodes = pts.map((p, i) => ({ name: `c${i}`, x: p[0], y: p[1], z: p[2], colorValue: 1, sizeValue: 0.2 }))
  const edges = []
  for (let i = 0; i + 1 < pts.length; i++) edges.push({ first: i, second: i + 1, colorValue: 1 })
  return connectome('result-centerline', 'blue', nodes, edges, 1, 0.5)
}

// The lumen and outer-wall meshes of a result (STL), loaded, not yet shown.
async function loadResultMeshes (res) {
  const list = []
  const files = res.files || {}
  if (files['lumen.stl']) list.push({ url: files['lumen.stl'], name: 'result-mesh-lumen.stl', rgba255: [230, 70, 70, 255] })
  if (files['wall.stl']) list.push({ url: files['wall.stl'], name: 'result-mesh-wall.stl', rgba255: [240, 200, 80, 90] })
  const meshes = await Promise.all(list.map(m => NVMesh.loadFromUrl({ ...m, gl: nv.gl })
    .catch(e => { console.warn('mesh', m.url, e); return null })))
  return meshes.filter(Boolean)
}

// The label map of a result as an overlay image, loaded, not yet shown.
async function loadLabelOverlay (res) {
  const url = (res.files || {})['labels.nii.gz']
  if (!url) return null
  try {
    return await NVImage.loadFromUrl({ url, name: 'labels.nii.gz', colormap: 'warm', opacity: 0.35, cal_min: 0.5, cal_max: 2 })
  } catch (e) {
    console.warn('labels', e)
    return null
  }
}

async function showResult (res) {
  showMeasures(res)
  showFiles(res)
  const [meshes, overlay] = await Promise.all([loadResultMeshes(res), loadLabelOverlay(res),
    views.show(res, measure(res.measures, 'mla_s_mm'))])
  setOverlay(overlay)
  setMeshes('result-', [centerlineMesh(res), ...meshes, mlaMarker()].filter(Boolean))
}

// The section stack when the server deferred it (GET /api/sections/<run>,
// computed on that request): fetched after the geometry is drawn, shown
// if this is still the current result. A stack read from a volume has no
// frames: those of the contours serve when the counts agree.
async function loadDeferredSections (res) {
  if (res.sections || !res.sections_url) return
  try {
    const sec = await api(res.sections_url)
    if (state.result !== res) return
    const st = res.contours && res.contours.stations
    if (!sec.frames && st && st.length === sec.count) sec.frames = st
    if (!sec.frames) return
    res.sections = sec
    await views.show(res, measure(res.measures, 'mla_s_mm'))
  } catch (e) {
    console.warn('sections', e)
  }
}

function resetResultViews () {
  clearResultScene()
  views.clear()
  $('files').innerHTML = '<li class="muted">after a segmentation</li>'
  for (const id of ['m-length', 'm-mla', 'm-stenosis', 'm-plaque']) $(id).textContent = '—'
  $('timing').textContent = ''
}

// --------------------------------------------------------------- clicks

// A click on a 2-D slice places the active marker at the clicked world
// point (a press that moved more than a few pixels is a drag, not a click).
// The position comes from the click itself, not from NiiVue's location
// event, which does not fire when the click lands on the crosshair.
let press = null

function worldAtClient (canvas, clientX, clientY) {
  const rect = canvas.getBoundingClientRect()
  const scale = canvas.width / rect.width
  const frac = nv.canvasPos2frac([(clientX - rect.left) * scale, (clientY - rect.top) * scale])
  if (!frac || frac[0] < 0) return null // not on a 2-D slice
  return Array.from(nv.frac2mm(frac)).slice(0, 3)
}

function wireCanvas (canvas) {
  canvas.addEventListener('pointerdown', (e) => {
    press = { x: e.clientX, y: e.clientY, button: e.button }
  })
  canvas.addEventListener('pointerup', (e) => {
    const p = press
    press = null
    if (!p || p.button !== 0 || Math.hypot(e.clientX - p.x, e.clientY - p.y) > 4) {
      state.lastClick = { ignored: 'drag' }
      return
    }
    if (!state.volume || nv.volumes.length === 0) {
      state.lastClick = { ignored: 'no volume' }
      return
    }
    const mm = worldAtClient(canvas, e.clientX, e.clientY)
    state.lastClick = { x: e.clientX, y: e.clientY, mm }
    if (mm && mm.every(Number.isFinite)) placePoint(state.mode, mm)
    else if (!state.inflight) setStatus('Points are placed on the axial, coronal or sagittal slice, not in the 3-D view')
  })
}

// Test hook: canvas (CSS) position of a world point in a 2-D tile after
// moving the slices through it, so tests can click like a user.
function clientPointOf (mm, sliceType = SLICE_TYPE.AXIAL) {
  const frac = nv.mm2frac(mm)
  nv.scene.crosshairPos = frac
  nv.drawScene()
  const hit = nv.frac2canvasPosWithTile(frac, sliceType)
  if (!hit) return null
  const canvas = $('gl')
  const rect = canvas.getBoundingClientRect()
  const scale = canvas.width / rect.width
  return { x: rect.left + hit.pos[0] / scale, y: rect.top + hit.pos[1] / scale }
}

// ----------------------------------------------------------------- init

async function init () {
  const canvas = $('gl')
  await nv.attachToCanvas(canvas)
  wireCanvas(canvas)
  $('mode-start').onclick = () => setMode('start')
  $('mode-end').onclick = () => setMode('end')
  $('undo').onclick = undo
  $('clear').onclick = clearPoints
  $('upload').onchange = (e) => { if (e.target.files[0]) uploadVolume(e.target.files[0]) }
  document.addEventListener('keydown', (e) => {
    if ((e.ctrlKey || e.metaKey) && e.key === 'z') { e.preventDefault(); undo() }
  })
  try {
    await api('/api/health')
  } catch (e) {
    showError(`The vflow server does not answer: ${e.message}`)
    return
  }
  await loadVolume()
  setStatus(readyText())
}

window.vflowApp = { nv, state, views, clientPointOf, placePoint, setMode, undo, ready: init() }
