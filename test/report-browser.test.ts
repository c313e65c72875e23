import { cpSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { chromium } from 'playwright-core'
import t from 'tap'
import { renderReport } from '../src/lab/report/render-report.js'
import { findBinary } from '../src/lab/system/binaries.js'
import { FIXTURE_DIR } from './fixtures/report-run.js'

/** Debian's chromium; `npm run setup` installs it. Not finding it is a failure, not a skip. */
function chromiumPath (): string {
  const path = findBinary('chromium') ?? findBinary('chromium-browser')
  if (path === null) throw new Error('chromium is not installed: run `npm run setup` (it installs the system package chromium)')
  return path
}

/**
 * On this machine, without the background-networking flags Chromium's own
 * connections (updates, sync, QUIC probes) are refused by the closed network
 * and show up as errors; the report itself needs no network at all.
 */
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync']

t.test('report.html opens in a real browser: no errors, nothing fetched, every chart drawn', async (t) => {
  const executablePath = chromiumPath()
  const dir = mkdtempSync(join(tmpdir(), 'scale-lab-report-browser-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  cpSync(FIXTURE_DIR, dir, { recursive: true })
  const { htmlPath } = await renderReport(dir)

  const browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS })
  t.teardown(() => browser.close())
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
  const errors: string[] = []
  const requests: string[] = []
  page.on('console', (message) => { if (message.type() === 'error') errors.push(`console: ${message.text()}`) })
  page.on('pageerror', (error) => errors.push(`page error: ${error.message}`))
  page.on('request', (request) => requests.push(request.url()))

  const url = pathToFileURL(htmlPath).href
  await page.goto(url, { waitUntil: 'load' })

  t.strictSame(errors, [], 'no console errors and no page errors')
  t.strictSame(requests, [url], 'the page fetched nothing but itself')
  t.equal(await page.title(), 'scale-lab report: 2026-11-28T01-20-00Z')
  t.equal(await page.locator('script').count(), 0)

  const svgs = page.locator('figure > svg')
  t.equal(await svgs.count(), 15, 'fifteen charts')
  for (const svg of await svgs.all()) {
    const box = await svg.boundingBox()
    const name = await svg.evaluate((el) => el.parentElement?.id ?? '')
    t.ok(box !== null && box.width > 50 && box.height > 50, `${name} is drawn (${box?.width ?? 0}×${box?.height ?? 0})`)
    // The chart's marks are there, not an empty frame.
    t.ok(await svg.locator('path, line, rect').count() > 5, `${name} has marks`)
  }
  t.equal(await page.locator('section').count(), 9, 'nine sections')
  t.equal(await page.locator('aside.why').count(), 9, 'each with its why')
})
