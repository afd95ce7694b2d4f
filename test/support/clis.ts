/**
 * The real coding CLIs (Claude Code, Codex CLI, Gemini CLI), installed from npm into .cache/clis by
 * scripts/install-clis.sh, driven headless against an agproxy: each in a throwaway HOME with only the
 * settings the README tells users to make, stdin closed, no network beyond loopback.
 *
 * Also a tap on agproxy's own listening socket (`tapClient`): what the CLI actually sent, so a test can
 * compare it with what the fake upstream received after translation.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import type { TestServer } from './agproxy'

export const ROOT = resolve(import.meta.dir, '../..')
export const CLIS_DIR = process.env.AGPROXY_CLIS_DIR ? resolve(ROOT, process.env.AGPROXY_CLIS_DIR) : join(ROOT, '.cache/clis')

export type CliName = 'claude' | 'codex' | 'gemini'
export const CLI_NAMES: CliName[] = ['claude', 'codex', 'gemini']
export const cliBin = (name: CliName) => join(CLIS_DIR, 'node_modules/.bin', name)

export type Probe = { ok: true; version: string } | { ok: false; reason: string }

function probe(name: CliName): Probe {
  try {
    const p = Bun.spawnSync([cliBin(name), '--version'], {
      stdin: 'ignore',
      stdout: 'pipe',
      stderr: 'pipe',
      timeout: 60_000,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: tmpdir() },
    })
    const out = (p.stdout.toString() + p.stderr.toString()).trim()
    if (p.exitCode === 0) return { ok: true, version: out.split('\n')[0]! }
    return { ok: false, reason: `\`${name} --version\` exited ${p.exitCode ?? p.signalCode}: ${out.split('\n').slice(-2).join(' ').slice(0, 200)}` }
  } catch (e) {
    return {
      ok: false,
      reason: `${cliBin(name)} cannot be started (${(e as Error).message.slice(0, 120)}); run scripts/install-clis.sh (needs the npm registry)`,
    }
  }
}

/** Which CLIs run here; installs them (scripts/install-clis.sh) when one does not. */
export function ensureClis(): Record<CliName, Probe> {
  let probes = Object.fromEntries(CLI_NAMES.map(n => [n, probe(n)])) as Record<CliName, Probe>
  if (CLI_NAMES.every(n => probes[n].ok)) return probes
  const install = Bun.spawnSync(['bash', join(ROOT, 'scripts/install-clis.sh')], {
    cwd: ROOT,
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
    timeout: 300_000,
    env: process.env,
  })
  probes = Object.fromEntries(CLI_NAMES.map(n => [n, probe(n)])) as Record<CliName, Probe>
  if (install.exitCode !== 0) {
    const lines = (install.stdout.toString() + install.stderr.toString())
      .trim()
      .split('\n')
      .filter(l => l && !/complete log of this run/.test(l))
    const errors = lines.filter(l => /error|does not run/i.test(l))
    const why = (errors.length ? errors.slice(0, 3) : lines.slice(-3)).join(' ').replace(/\s+/g, ' ').slice(0, 300)
    for (const n of CLI_NAMES) {
      const p = probes[n]
      if (!p.ok) p.reason = `scripts/install-clis.sh failed (${why || `exit ${install.exitCode ?? install.signalCode}`}); ${p.reason}`
    }
  }
  return probes
}

// ───────────── running a CLI ─────────────

export interface CliRun {
  code: number | null
  signal: string | null
  stdout: string
  stderr: string
  ms: number
  /** for failure messages */
  describe(): string
}

const temps: string[] = []
export const tempDir = (prefix: string) => {
  const d = mkdtempSync(join(tmpdir(), prefix))
  temps.push(d)
  return d
}
export const removeTemps = () => {
  for (const d of temps.splice(0)) rmSync(d, { recursive: true, force: true })
}

/** Only what the CLI needs: nothing from the machine (no provider keys, proxies or config) leaks in. */
function baseEnv(home: string): Record<string, string> {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, SHELL: '/bin/bash', LANG: 'C.UTF-8', TERM: 'dumb', NO_COLOR: '1', TMPDIR: tmpdir() }
}

/** Run a CLI with exactly `env` (setup tests pass only HOME and PATH) and collect its output. */
export async function run(name: CliName, args: string[], env: Record<string, string>, cwd: string, timeoutMs: number): Promise<CliRun> {
  const started = Date.now()
  const proc = Bun.spawn([cliBin(name), ...args], { cwd, env, stdin: 'ignore', stdout: 'pipe', stderr: 'pipe', timeout: timeoutMs, killSignal: 'SIGKILL' })
  const reading = Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()])
  await proc.exited
  // a grandchild still holding the pipes must not hang the test past the CLI's own exit
  const [stdout, stderr] = await Promise.race([reading, Bun.sleep(5_000).then(() => ['(output not closed 5 s after exit)', ''])])
  const r: CliRun = {
    code: proc.exitCode,
    signal: proc.signalCode == null ? null : String(proc.signalCode),
    stdout,
    stderr,
    ms: Date.now() - started,
    describe: () =>
      `${name} ${args.map(a => JSON.stringify(a)).join(' ')} → exit ${r.code ?? r.signal} after ${r.ms} ms\n--- stdout\n${stdout.slice(-2000)}` +
      `\n--- stderr\n${stderr.slice(-3000)}`,
  }
  return r
}

export interface LaunchOptions {
  /** the key the CLI sends (agproxy's own when its auth is on) */
  key?: string
  /** Codex only: the model in config.toml */
  model?: string
  /** files to create in the working directory first */
  files?: Record<string, string>
  timeoutMs?: number
}

/** A CLI started in a fresh HOME, in its own working directory (`cwd`, known before the first request). */
export interface Launched {
  home: string
  cwd: string
  result: Promise<CliRun>
}

function workspace(prefix: string, files: Record<string, string> = {}): { home: string; cwd: string } {
  const home = tempDir(prefix)
  const cwd = join(home, 'work')
  mkdirSync(cwd)
  for (const [name, text] of Object.entries(files)) writeFileSync(join(cwd, name), text)
  return { home, cwd }
}

/**
 * `claude -p` as the README says: ANTHROPIC_BASE_URL = agproxy's origin, any API key (agproxy's when auth
 * is on), no non-essential traffic (telemetry, update checks), a fresh HOME.
 */
export function claudeCode(origin: string, prompt: string, o: LaunchOptions = {}): Launched {
  const { home, cwd } = workspace('agproxy-claude-', o.files)
  const env = {
    ...baseEnv(home),
    ANTHROPIC_BASE_URL: origin,
    ANTHROPIC_API_KEY: o.key ?? 'any',
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    DISABLE_AUTOUPDATER: '1',
  }
  return { home, cwd, result: run('claude', ['-p', prompt], env, cwd, o.timeoutMs ?? 90_000) }
}

/** The Codex config.toml the README shows: a custom provider on agproxy's /v1, Responses wire API. */
export const codexConfig = (origin: string, model = 'gpt-5-codex') => `model = "${model}"
model_provider = "agproxy"

[model_providers.agproxy]
name = "agproxy"
base_url = "${origin}/v1"
env_key = "AGPROXY_API_KEY"
wire_api = "responses"
`

/**
 * `codex exec` with CODEX_HOME/config.toml pointing at agproxy, stdin closed, outside a git repo. A model
 * Codex knows (gpt-5.5) brings more tool types (custom apply_patch, tool_search) and reasoning effort.
 */
export function codexExec(origin: string, prompt: string, o: LaunchOptions = {}): Launched {
  const { home, cwd } = workspace('agproxy-codex-', o.files)
  const codexHome = join(home, '.codex')
  mkdirSync(codexHome)
  writeFileSync(join(codexHome, 'config.toml'), codexConfig(origin, o.model))
  const env = { ...baseEnv(home), CODEX_HOME: codexHome, AGPROXY_API_KEY: o.key ?? 'any' }
  return { home, cwd, result: run('codex', ['exec', '--skip-git-repo-check', prompt], env, cwd, o.timeoutMs ?? 90_000) }
}

/** ~/.gemini/settings.json for API-key auth (Gemini CLI 0.x schema), no update checks or usage statistics. */
export const geminiSettings = {
  security: { auth: { selectedType: 'gemini-api-key' } },
  general: { enableAutoUpdate: false, enableAutoUpdateNotification: false },
  privacy: { usageStatisticsEnabled: false },
}

/** `gemini -p` with GOOGLE_GEMINI_BASE_URL = agproxy's origin, API-key auth, a trusted temp workspace. */
export function geminiCli(origin: string, prompt: string, o: LaunchOptions = {}): Launched {
  const { home, cwd } = workspace('agproxy-gemini-', o.files)
  mkdirSync(join(home, '.gemini'))
  writeFileSync(join(home, '.gemini/settings.json'), JSON.stringify(geminiSettings, null, 2))
  const env = { ...baseEnv(home), GEMINI_API_KEY: o.key ?? 'any', GOOGLE_GEMINI_BASE_URL: origin, GEMINI_CLI_TRUST_WORKSPACE: 'true' }
  return { home, cwd, result: run('gemini', ['-p', prompt], env, cwd, o.timeoutMs ?? 90_000) }
}

export const LAUNCHERS: Record<CliName, (origin: string, prompt: string, o?: LaunchOptions) => Launched> = {
  claude: claudeCode,
  codex: codexExec,
  gemini: geminiCli,
}

// ───────────── what the client sent ─────────────

export interface ClientRequest {
  method: string
  path: string
  query: Record<string, string>
  headers: Record<string, string>
  /** parsed JSON (or the text), once read */
  body: any
}

/**
 * Record every request a client makes to this agproxy, on agproxy's own socket (same port, same
 * handler: only a copy of the body is read on the side).
 */
export function tapClient(srv: TestServer): { requests: ClientRequest[]; settled(): Promise<void> } {
  const requests: ClientRequest[] = []
  const reading: Promise<unknown>[] = []
  srv.server.reload({
    fetch: (req: Request, server: any) => {
      const url = new URL(req.url)
      const rec: ClientRequest = {
        method: req.method,
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        headers: Object.fromEntries(req.headers),
        body: undefined,
      }
      requests.push(rec)
      if (req.body)
        reading.push(
          req
            .clone()
            .text()
            .then(
              t => {
                try {
                  rec.body = JSON.parse(t)
                } catch {
                  rec.body = t
                }
              },
              () => {},
            ),
        )
      return srv.agproxy.fetch(req, server)
    },
  } as any)
  return {
    requests,
    settled: async () => {
      await Promise.all(reading)
    },
  }
}
