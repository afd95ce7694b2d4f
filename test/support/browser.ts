/**
 * Headless Chromium for the browser tests (Debian's `chromium`, driven by playwright-core): one launch with every
 * host but this machine unresolvable, and a record of what the page asked for (requests to other origins are
 * aborted and kept), its console errors and its CSP violations.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { chromium, type BrowserContext, type Page } from 'playwright-core'

export const CHROMIUM = '/usr/bin/chromium'
export const hasChromium = existsSync(CHROMIUM)

/** The flags: headless, no first-run or background traffic, and no DNS for any host but localhost / 127.0.0.1. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1',
]

export interface Browsing {
  ctx: BrowserContext
  page: Page
  /** every URL the page requested (data: and blob: left out) */
  requests: string[]
  /** requests to another origin than `origin` (aborted) */
  offOrigin: string[]
  /** console errors (CSP violations among them), but not "Failed to load resource": those are in `failures` */
  consoleErrors: string[]
  /** answers of 400 and above from this origin, as "status path" */
  failures: string[]
  close(): Promise<void>
}

/** Launch a persistent context in `dir`/profile-`name`, record the page's traffic against `origin`. */
export async function browse(dir: string, name: string, origin: string, viewport = { width: 1280, height: 800 }): Promise<Browsing> {
  const ctx = await chromium.launchPersistentContext(join(dir, `profile-${name}`), { executablePath: CHROMIUM, headless: true, viewport, args: CHROMIUM_ARGS })
  const requests: string[] = []
  const offOrigin: string[] = []
  const consoleErrors: string[] = []
  const failures: string[] = []
  const other = (u: string) => {
    try {
      return new URL(u).origin !== origin
    } catch {
      return true
    }
  }
  await ctx.route('**/*', route => {
    const u = route.request().url()
    if (/^(data|blob):/.test(u) || !other(u)) return route.continue()
    offOrigin.push(u)
    return route.abort('blockedbyclient')
  })
  ctx.on('request', req => {
    const u = req.url()
    if (/^(data|blob):/.test(u)) return
    requests.push(u)
    if (other(u) && !offOrigin.includes(u)) offOrigin.push(u)
  })
  const page = ctx.pages()[0] ?? (await ctx.newPage())
  ctx.on('response', res => {
    if (res.status() >= 400) failures.push(`${res.status()} ${new URL(res.url()).pathname}`)
  })
  page.on('console', m => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) consoleErrors.push(m.text())
  })
  page.on('pageerror', e => consoleErrors.push(`page error: ${e.message}`))
  page.on('websocket', ws => {
    if (other(ws.url())) offOrigin.push(ws.url())
  })
  return { ctx, page, requests, offOrigin, consoleErrors, failures, close: () => ctx.close() }
}
