// SPDX-License-Identifier: BSD-3-Clause
// Browser end-to-end test of `vflow serve`: Debian's Chromium driven by
// playwright-core clicks the phantom's true start and end on the slices,
// waits for the segmentation, checks the centerline against the truth and
// what the page shows, moves the end click and checks the update, clicks in
// air and checks the message, undoes, scrubs the cross-section, and saves a
// screenshot (printed path; in the meson test's build dir).
// Exit 77 (meson: skipped) when Chromium, node_modules or the built web app
// are missing, unless VFLOW_E2E_REQUIRED=1 (CI), when that is a failure.
import { spawn, execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'

const SKIP = 77
const src = process.env.VFLOW_SOURCE_ROOT || path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..')
const build = process.env.VFLOW_BUILD_ROOT || path.join(src, 'build')
const vflow = process.env.VFLOW_EXE || path.join(build, 'tools', 'vflow')
const chromiumPath = process.env.VFLOW_CHROMIUM || '/usr/bin/chromium'
const pwEntry = path.join(src, 'web', 'node_modules', 'playwright-core', 'index.mjs')
const webDist = process.env.VFLOW_WEB_DIST || path.join(src, 'web', 'dist')
const required = process.env.VFLOW_E2E_REQUIRED === '1'
const artifactDir = process.env.VFLOW_E2E_ARTIFACTS || path.join(build, 'tests', 'e2e')
// The server's own default (lad-interactive.yaml) when present, else lad.yaml.
let pipeline = process.env.VFLOW_E2E_PIPELINE ||
  ['lad-interactive.yaml', 'lad.yaml'].map(f => path.join(src, 'pipelines', f)).find(f => fs.existsSync(f)) ||
  path.join(src, 'pipelines', 'lad.yaml')

function skip (why) {
  if (required) {
    console.error(`FAIL: VFLOW_E2E_REQUIRED=1 but ${why}`)
    process.exit(1)
  }
  console.log(`SKIP: ${why}`)
  process.exit(SKIP)
}

function fail (why) {
  console.error(`FAIL: ${why}`)
  process.exitCode = 1
  throw new Error(why)
}

if (!fs.existsSync(chromiumPath)) skip(`${chromiumPath} not found (scripts/e2e-deps.sh installs it)`)
if (!fs.existsSync(pwEntry)) skip('web/node_modules missing (run scripts/e2e-deps.sh or npm ci in web/)')
if (!fs.existsSync(path.join(webDist, 'index.html'))) skip(`${webDist} holds no built web app (npm ci in web/, then meson setup --reconfigure and ninja)`)
if (!fs.existsSync(vflow)) skip(`${vflow} not built`)
if (!fs.existsSync(pipeline)) skip(`pipeline ${pipeline} not found`)
// The default pipeline must validate; if it does not (a plugin missing from
// this build), say so loudly and drive the small test pipeline instead.
if (!process.env.VFLOW_E2E_PIPELINE) {
  try {
    execFileSync(vflow, ['check', pipeline], { stdio: 'pipe' })
  } catch (e) {
    if (required) skip(`${pipeline} does not validate: ${String(e.stderr).trim()}`)
    console.log(`NOTE: ${pipeline} does not validate in this build ` +
      `(${String(e.stderr).trim().split('\n').pop()}); using tests/serve/centerline_small.yaml`)
    pipeline = path.join(src, 'tests', 'serve', 'centerline_small.yaml')
  }
}

const { chromium } = await import(pathToFileURL(pwEntry).href)

// ------------------------------------------------------------ helpers

function readCsv (file) {
  const lines = fs.readFileSync(file, 'utf8').trim().split('\n')
  const head = lines[0].split(',')
  return lines.slice(1).map(l => Object.fromEntries(l.split(',').map((v, i) => [head[i], +v])))
}

// Distance from p to the polyline `pts` (segments).
function distToPolyline (p, pts) {
  let best = Infinity
  for (let i = 0; i + 1 < pts.length; i++) {
    const a = pts[i]; const b = pts[i + 1]
    const ab = [b[0] - a[0], b[1] - a[1], b[2] - a[2]]
    const ap = [p[0] - a[0], p[1] - a[1], p[2] - a[2]]
    const l2 = ab[0] ** 2 + ab[1] ** 2 + ab[2] ** 2
    let t = l2 > 0 ? (ap[0] * ab[0] + ap[1] * ab[1] + ap[2] * ab[2]) / l2 : 0
    t = Math.max(0, Math.min(1, t))
    const d = Math.hypot(ap[0] - t * ab[0], ap[1] - t * ab[1], ap[2] - t * ab[2])
    if (d < best) best = d
  }
  return best
}

function centerlineError (centerline, truth) {
  const d = centerline.map(p => distToPolyline(p, truth))
  d.sort((a, b) => a - b)
  return { mean: d.reduce((a, b) => a + b, 0) / d.length, p95: d[Math.floor(0.95 * (d.length - 1))], max: d[d.length - 1] }
}

function startServer (image, tmp) {
  return new Promise((resolve, reject) => {
    const proc = spawn(vflow, ['serve', image, '--pipeline', pipeline, '--web', webDist, '--port', '0', '--threads', '2'],
      { env: { ...process.env, TMPDIR: tmp }, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    proc.stderr.on('data', d => { process.stderr.write(`[server] ${d}`) })
    proc.stdout.on('data', d => {
      out += d
      const m = out.match(/http:\/\/127\.0\.0\.1:(\d+)\//)
      if (m) resolve({ proc, url: `http://127.0.0.1:${m[1]}` })
    })
    proc.on('exit', code => reject(new Error(`vflow serve exited with ${code}`)))
    setTimeout(() => reject(new Error('vflow serve did not start in 60 s')), 60000)
  })
}

async function waitFor (page, fn, arg, timeoutMs, what) {
  try {
    await page.waitForFunction(fn, arg, { timeout: timeoutMs, polling: 100 })
  } catch (e) {
    const st = await page.evaluate(() => window.vflowApp &&
      JSON.stringify({ error: window.vflowApp.state.lastError, click: window.vflowApp.state.lastClick, start: window.vflowApp.state.start, end: window.vflowApp.state.end, mode: window.vflowApp.state.mode }))
    fail(`${what} did not happen within ${timeoutMs} ms (${st})`)
  }
}

async function clickWorld (page, mm) {
  const pos = await page.evaluate((p) => window.vflowApp.clientPointOf(p, 0), mm)
  if (!pos) fail(`point ${mm} is not on the axial slice`)
  if (process.env.VFLOW_E2E_DEBUG) console.error(`click ${mm} at ${pos.x}, ${pos.y}`)
  await page.mouse.click(pos.x, pos.y)
}

// Waits for segmentation number `n` (answered or refused) and returns the
// app's state then.
async function segmentation (page, n, what) {
  await waitFor(page, (k) => window.vflowApp.state.requests >= k && !window.vflowApp.state.inflight &&
    !window.vflowApp.state.pending, n, 180000, what)
  return page.evaluate(() => window.vflowApp.state)
}

// What the page shows besides the slices: meshes, overlay, panels, links.
function pageShows (page) {
  return page.evaluate(() => {
    const { nv } = window.vflowApp
    const text = (id) => document.getElementById(id).textContent
    return {
      meshes: nv.meshes.map(m => m.name),
      volumes: nv.volumes.length,
      measures: ['m-length', 'm-mla', 'm-stenosis', 'm-plaque'].map(text),
      station: !document.getElementById('station').disabled,
      downloads: document.querySelectorAll('#files a').length,
      error: document.getElementById('error').hidden ? null : text('error')
    }
  })
}

function near (a, b, tol) {
  return Math.hypot(...a.map((v, i) => v - b[i])) <= tol
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vflow-e2e-'))
fs.mkdirSync(artifactDir, { recursive: true })
let server = null
let browser = null
const t0 = Date.now()
const step = (what) => console.log(`[${((Date.now() - t0) / 1000).toFixed(1)} s] ${what}`)
try {
  execFileSync(vflow, ['phantom', '--preset', 'lad', '--size', 'ci', '--out', path.join(tmp, 'phantom'), '-q'])
  const clicks = JSON.parse(fs.readFileSync(path.join(tmp, 'phantom', 'clicks.json'), 'utf8'))
  const truthRows = readCsv(path.join(tmp, 'phantom', 'truth_centerline.csv'))
  const truth = truthRows.map(r => [r.x, r.y, r.z])
  server = await startServer(path.join(tmp, 'phantom', 'image.nii.gz'), tmp)
  const fullPipeline = !pipeline.endsWith('centerline_small.yaml')

  // A fresh profile per run; the machine's closed network needs the
  // background-networking flags (docs/serve.md).
  browser = await chromium.launchPersistentContext(path.join(tmp, 'chromium-profile'), {
    executablePath: chromiumPath,
    headless: true,
    viewport: { width: 1400, height: 900 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--use-gl=angle', '--use-angle=swiftshader', '--enable-unsafe-swiftshader']
  })
  const page = browser.pages()[0] || await browser.newPage()
  page.on('pageerror', e => console.error(`[page] ${e.message}`))
  if (process.env.VFLOW_E2E_DEBUG) page.on('console', m => console.error(`[console] ${m.text()}`))
  await page.goto(server.url + '/', { waitUntil: 'load' })
  await waitFor(page, () => window.vflowApp && window.vflowApp.nv.volumes.length > 0, null, 60000, 'volume display')
  await page.evaluate(() => window.vflowApp.ready)
  step('page loaded')

  // 1. Click the true start and end on the axial slice.
  await clickWorld(page, clicks.start)
  await waitFor(page, () => window.vflowApp.state.start !== null, null, 60000, 'start marker')
  await clickWorld(page, clicks.end)
  const st1 = await segmentation(page, 1, 'first segmentation')
  if (!st1.result) fail(`no result: ${st1.lastError}`)
  for (const [which, want] of [['start', clicks.start], ['end', clicks.end]]) {
    const gap = Math.hypot(...st1[which].map((v, i) => v - want[i]))
    console.log(`clicked ${which} ${st1[which].map(v => v.toFixed(2))} (${gap.toFixed(2)} mm from the truth)`)
    if (!(gap <= 0.5)) fail(`the ${which} click landed ${gap.toFixed(2)} mm from the truth point`)
  }
  step('first result')

  // 2. Through the API: the run's centerline (centerline.csv) vs the truth.
  const csvUrl = st1.result.files['centerline.csv']
  if (!csvUrl) fail('the result lists no centerline.csv')
  const csv = await (await fetch(server.url + csvUrl)).text()
  const lines = csv.trim().split('\n')
  const head = lines[0].split(',')
  const ix = head.indexOf('x'); const iy = head.indexOf('y'); const iz = head.indexOf('z')
  const cl = lines.slice(1).map(l => { const v = l.split(','); return [+v[ix], +v[iy], +v[iz]] })
  const e1 = centerlineError(cl, truth)
  console.log(`centerline: ${cl.length} points, distance to truth mean ${e1.mean.toFixed(3)} mm, ` +
    `p95 ${e1.p95.toFixed(3)} mm, max ${e1.max.toFixed(3)} mm`)
  if (!(e1.mean <= 0.5)) fail(`centerline mean distance ${e1.mean.toFixed(3)} mm > 0.5 mm`)
  if (!(e1.p95 <= 0.5)) fail(`centerline p95 distance ${e1.p95.toFixed(3)} mm > 0.5 mm`)
  if (cl.length !== st1.result.centerline.length) fail('centerline.csv and the JSON centerline differ')

  // The page shows the result: centerline and meshes, label overlay,
  // measurements, cross-sections, downloads.
  const shown1 = await pageShows(page)
  console.log(`page shows: ${JSON.stringify(shown1)}`)
  if (!shown1.meshes.includes('result-centerline')) fail('no centerline drawn')
  if (!shown1.station) fail('the cross-section slider is not enabled')
  if (!(shown1.downloads >= 2)) fail('no download links')
  if (shown1.error) fail(`an error is shown: ${shown1.error}`)
  if (fullPipeline) {
    for (const m of ['result-mesh-lumen.stl', 'result-mesh-wall.stl', 'result-mla']) if (!shown1.meshes.includes(m)) fail(`no ${m} mesh`)
    if (shown1.volumes < 2) fail('no label overlay')
    if (shown1.measures.some(t => t === '—')) fail(`a measurement is missing: ${shown1.measures}`)
  }

  // 3. Move the end click 10 mm back along the truth and check the update.
  const endS = clicks.end_s_mm - 10
  const row = truthRows.reduce((b, r) => Math.abs(r.s_mm - endS) < Math.abs(b.s_mm - endS) ? r : b)
  const newEnd = [row.x, row.y, row.z]
  await clickWorld(page, newEnd)
  const st2 = await segmentation(page, 2, 'second segmentation')
  if (!st2.result || st2.result.run === st1.result.run) fail(`no new result: ${st2.lastError}`)
  const cl2 = st2.result.centerline
  const last = cl2[cl2.length - 1]
  const endGap = Math.hypot(...last.map((v, i) => v - newEnd[i]))
  const len1 = st1.result.centerline.length; const len2 = cl2.length
  console.log(`moved end: ${len1} -> ${len2} points, last point ${endGap.toFixed(2)} mm from the new end, ` +
    `cache ${st2.result.cache.hits} hits / ${st2.result.cache.misses} misses, ` +
    `browser round trip ${st2.result.clientMs.toFixed(0)} ms (server ${JSON.stringify(st2.result.timings.server_ms)} ms, queued ${JSON.stringify(st2.result.timings.queued_ms)} ms)`)
  if (!(endGap < 1.5)) fail(`updated centerline ends ${endGap.toFixed(2)} mm from the moved click`)
  if (!(len2 < len1)) fail('the shorter vessel did not give a shorter centerline')
  if (!(st2.result.cache.hits > 0)) fail('the second run reused nothing from the cache')
  const e2 = centerlineError(cl2, truth)
  if (!(e2.p95 <= 0.5)) fail(`moved-end centerline p95 ${e2.p95.toFixed(3)} mm > 0.5 mm`)
  step('moved end')

  // 4. A click outside the body (a corner of the volume, in air) as the end:
  // a clear message, and Undo (Ctrl+Z) brings back the moved end's result.
  const vol = await (await fetch(server.url + '/api/volume')).json()
  const air = vol.bounds.min.map((v, i) => i === 2 ? clicks.end[2] : v + 2)
  await clickWorld(page, air)
  const st3 = await segmentation(page, 3, 'segmentation of a click in air')
  const shown3 = await pageShows(page)
  console.log(`click in air at ${air.map(v => v.toFixed(1))}: ${shown3.error}`)
  if (!shown3.error || !/end/.test(shown3.error)) fail(`no clear error for a click in air (${shown3.error})`)
  if (shown3.meshes.some(m => m.startsWith('result-'))) fail('the previous result is still drawn after an error')
  if (!near(st3.end, air, 0.5)) fail('the end marker did not move to the click in air')
  await page.keyboard.press('Control+z')
  const st4 = await segmentation(page, 4, 'segmentation after undo')
  if (!near(st4.end, newEnd, 0.5)) fail(`undo did not restore the end marker (${st4.end})`)
  if (!st4.result || st4.result.centerline.length !== len2) fail('undo did not restore the moved-end result')
  if ((await pageShows(page)).error) fail('the error is still shown after undo')
  step('error and undo')

  // 5. Scrub the cross-section to the MLA with the slider: the slices follow.
  const mla = await page.evaluate(() => window.vflowApp.views.mla)
  await page.locator('#station').fill(String(Math.max(0, mla)))
  const follow = await page.evaluate(() => {
    const { nv, views } = window.vflowApp
    return { cross: Array.from(nv.frac2mm(nv.scene.crosshairPos)).slice(0, 3), center: views.stationCenter(views.station), label: document.getElementById('xs-label').textContent }
  })
  console.log(`cross-section ${follow.label}: slices at ${follow.cross.map(v => v.toFixed(2))}`)
  if (!near(follow.cross, follow.center, 0.5)) fail(`the slices did not follow the cross-section (${follow.cross} vs ${follow.center})`)
  step('scrubbed')

  await page.waitForTimeout(500)
  const shot = path.join(artifactDir, 'serve-e2e.png')
  await page.screenshot({ path: shot })
  console.log(`screenshot: ${shot}`)
  console.log('1 passed, 0 failed')
} catch (e) {
  if (!process.exitCode) {
    console.error(`FAIL: ${e.message}`)
    process.exitCode = 1
  }
} finally {
  if (browser) await browser.close()
  if (server) server.proc.kill('SIGTERM')
  fs.rmSync(tmp, { recursive: true, force: true })
}
