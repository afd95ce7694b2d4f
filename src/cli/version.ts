/**
 * `agproxy --version` (name, version, Bun version, platform) and `agproxy version --check`, which asks the releases
 * API for the latest release — only when asked, never at start. Also where releases live (the installer's base URL).
 */
import { displayUrl } from '../config/display-url'
import { VERSION } from '../version'

/** The GitHub repository releases are published from. */
export const RELEASE_REPO = 'agproxy/agproxy'
/** The latest release as GitHub's API reports it; AGPROXY_RELEASES_URL overrides it. */
export const RELEASES_URL = `https://api.github.com/repos/${RELEASE_REPO}/releases/latest`
/** Where release files are downloaded from (the installers' default AGPROXY_DOWNLOAD_BASE). */
export const DOWNLOAD_BASE = `https://github.com/${RELEASE_REPO}/releases/latest/download`

/** The one-line install (or update) command for this platform. */
export const installCommand = (platform: string = process.platform) =>
  platform === 'win32' ? `irm ${DOWNLOAD_BASE}/install.ps1 | iex` : `curl -fsSL ${DOWNLOAD_BASE}/install.sh | sh`

/** The platform as release files name it: linux-x64, darwin-arm64, windows-x64 … */
export const platformName = (platform: string = process.platform, arch: string = process.arch) => `${platform === 'win32' ? 'windows' : platform}-${arch}`

/** What `agproxy --version` prints: `agproxy 0.1.0 (Bun 1.4.5, linux-x64)`. */
export const versionLine = () => `agproxy ${VERSION} (Bun ${Bun.version}, ${platformName()})`

export interface CheckResult {
  code: number
  out: string
}

/**
 * Compare this version with the latest release at `url`. Exit code 0 when the check was made (whether or not a newer
 * release exists), 1 when it could not be made — with one line saying why, never a stack.
 */
export async function versionCheck(opts: { url?: string; fetch?: typeof fetch; timeoutMs?: number; current?: string } = {}): Promise<CheckResult> {
  const url = opts.url || RELEASES_URL
  const current = opts.current ?? VERSION
  const fail = (why: string) => ({ code: 1, out: `agproxy: could not check for a newer release at ${displayUrl(url)}: ${why}` })
  let res: Response
  try {
    res = await (opts.fetch ?? fetch)(url, {
      headers: { accept: 'application/vnd.github+json', 'user-agent': `agproxy/${current}` },
      signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000),
    })
  } catch (e) {
    const name = (e as Error).name
    const msg = (e as Error).message
    return fail(name === 'TimeoutError' ? `no answer within ${(opts.timeoutMs ?? 10_000) / 1000} s` : /\?$/.test(msg) ? msg : `${msg} (is the network up?)`)
  }
  if (res.status === 404) return fail('no release is published there (404)')
  if (res.status === 403 || res.status === 429) return fail(`rate-limited (${res.status}); try again later`)
  if (!res.ok) return fail(`it answered ${res.status}`)
  let latest: string | undefined
  let page: string | undefined
  try {
    const body = (await res.json()) as { tag_name?: unknown; html_url?: unknown }
    latest = typeof body.tag_name === 'string' ? body.tag_name.replace(/^v/, '') : undefined
    page = typeof body.html_url === 'string' ? body.html_url : undefined
  } catch {
    return fail('the answer is not JSON')
  }
  if (!latest || !/^\d+\.\d+\.\d+/.test(latest)) return fail('the answer names no release version (tag_name)')
  const order = Bun.semver.order(current, latest)
  if (order === 0) return { code: 0, out: `agproxy ${current} is the latest release.` }
  if (order > 0) return { code: 0, out: `agproxy ${current} is newer than the latest release (${latest}).` }
  return {
    code: 0,
    out: `A newer agproxy is out: ${latest} (this is ${current}).${page ? ` Release notes: ${page}` : ''}\nUpdate: ${installCommand()}`,
  }
}
