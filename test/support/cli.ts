/**
 * Run the agproxy command (`bun src/index.ts …`) as a child process, the way users run it: from the
 * repository root, with a throwaway HOME and an explicit --config so nothing on the machine leaks in.
 */
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

export const ROOT = resolve(import.meta.dir, '../..')

/** A fresh temp dir (HOME, data_dir, config files). */
export const tempDir = (prefix = 'agproxy-test-') => mkdtempSync(join(tmpdir(), prefix))

/** Write a config file in a temp dir and return its path. */
export function configFile(text: string, name = 'agproxy.yaml', dir = tempDir()): string {
  const file = join(dir, name)
  writeFileSync(file, text)
  return file
}

/** Only what the command needs: no AGPROXY_* or provider keys from the machine running the tests. */
export function cleanEnv(extra: Record<string, string> = {}, home = tempDir('agproxy-home-')): Record<string, string> {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, NO_COLOR: '1', ...extra }
}

export interface Run {
  code: number
  stdout: string
  stderr: string
}

/** Run to completion. */
export async function runCli(args: string[], env: Record<string, string> = cleanEnv(), cwd = ROOT): Promise<Run> {
  const proc = Bun.spawn([process.execPath, join(ROOT, 'src/index.ts'), ...args], { cwd, env, stdin: 'ignore', stdout: 'pipe', stderr: 'pipe' })
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited])
  return { code, stdout, stderr }
}

export interface Running {
  proc: Bun.Subprocess<'ignore', 'pipe', 'pipe'>
  /** everything printed so far */
  readonly stdout: string
  readonly stderr: string
  /** resolves with the match once stdout+stderr match `re` */
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>
  /** the base URL from the "listening on" banner */
  url: string
  stop(signal?: NodeJS.Signals): Promise<number>
}

/** Start a long-running command (serve) and wait for its banner. */
export async function startCli(args: string[], env: Record<string, string> = cleanEnv()): Promise<Running> {
  const proc = Bun.spawn([process.execPath, 'src/index.ts', ...args], { cwd: ROOT, env, stdin: 'ignore', stdout: 'pipe', stderr: 'pipe' })
  let out = ''
  let err = ''
  const pump = async (s: ReadableStream<Uint8Array>, add: (t: string) => void) => {
    const dec = new TextDecoder()
    const reader = s.getReader()
    for (let r = await reader.read(); !r.done; r = await reader.read()) add(dec.decode(r.value, { stream: true }))
  }
  void pump(proc.stdout, t => {
    out += t
  })
  void pump(proc.stderr, t => {
    err += t
  })
  const running: Running = {
    proc,
    get stdout() {
      return out
    },
    get stderr() {
      return err
    },
    async waitFor(re, timeoutMs = 10_000) {
      const until = Date.now() + timeoutMs
      while (Date.now() < until) {
        const m = `${out}\n${err}`.match(re)
        if (m) return m
        if (proc.exitCode !== null) break
        await Bun.sleep(20)
      }
      throw new Error(`timed out waiting for ${re}\n--- stdout\n${out}\n--- stderr\n${err}`)
    },
    url: '',
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode === null) proc.kill(signal)
      return proc.exited
    },
  }
  const m = await running.waitFor(/listening on (http:\/\/\S+)/)
  running.url = m[1]!.replace('127.0.0.1', 'localhost')
  return running
}
