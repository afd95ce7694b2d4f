/**
 * `agproxy service install|uninstall|status`: keep agproxy running in the background from login on — a systemd user
 * unit (Linux), a launchd agent (macOS), or, on Windows, the scheduled task to create (printed). The service starts
 * this agproxy by absolute path (the binary, or `bun <abs src/index.ts>` from source) with the config file in use, is
 * restarted on failure, and logs where the platform keeps logs. `status` asks the service manager and the address.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { effectiveAuthMode, loadConfig, type Flags } from '../config/load'
import type { Config } from '../config/schema'
import { parseArgs, type ServiceAction } from './args'
import { clientKey, instanceOrigin } from './keys'
import { RELEASE_REPO } from './version'

export const SERVICE_NAME = 'agproxy'
export const LAUNCHD_LABEL = 'dev.agproxy'

/** What a service-manager command did: its exit code (-1: not found) and its output, trimmed. */
export interface Ran {
  code: number
  out: string
}

export interface ServiceContext {
  platform: NodeJS.Platform
  home: string
  env: Record<string, string | undefined>
  /** how this agproxy is started: [binary], or [bun, /abs/src/index.ts] from source */
  launcher: string[]
  /** the flags `service` was given and the config file in use: they go into the service */
  flags: Flags
  file?: string
  /** runs a service-manager command (systemctl, launchctl) */
  run: (cmd: string[]) => Ran
  fetch: typeof fetch
  uid: number
}

export interface ServiceResult {
  code: number
  out: string
}

/** How this process was started: the compiled binary, or Bun with the entry script. */
export function launcher(execPath = process.execPath, script = process.argv[1]): string[] {
  const compiled = !script || /^(\/\$bunfs\/|[A-Za-z]:[\\/]~BUN[\\/])/.test(script)
  return compiled ? [execPath] : [execPath, resolve(script)]
}

/** Run a command to completion, never throwing (a missing command is code -1). */
export function runCommand(cmd: string[]): Ran {
  try {
    const r = Bun.spawnSync(cmd, { stdin: 'ignore', stdout: 'pipe', stderr: 'pipe', timeout: 15_000 })
    return { code: r.exitCode ?? 1, out: `${r.stdout.toString()}${r.stderr.toString()}`.trim() }
  } catch {
    return { code: -1, out: `${cmd[0]} is not installed` }
  }
}

/** The context of this process. */
export const currentContext = (flags: Flags, file: string | undefined, env = process.env): ServiceContext => ({
  platform: process.platform,
  home: env.HOME || env.USERPROFILE || '',
  env,
  launcher: launcher(),
  flags,
  file,
  run: runCommand,
  fetch,
  uid: process.getuid?.() ?? 0,
})

/** The serve flags baked into the service. A client key is refused: a service definition is readable by other users. */
export function serviceArgs(flags: Flags, file: string | undefined): string[] {
  if (flags.apiKeys?.length)
    throw new Error(
      '--api-key is not written into a service definition (other local users could read it there): put api_keys in the config file, ' +
        'or leave them out and let LAN access generate a key',
    )
  return [
    ...(file ? ['--config', resolve(file)] : []),
    ...(flags.port !== undefined ? ['--port', String(flags.port)] : []),
    ...(flags.host ? ['--host', flags.host] : []),
    ...(flags.allowLan ? ['--allow-lan'] : []),
    ...(flags.authMode ? ['--auth-mode', flags.authMode] : []),
  ]
}

// ---- systemd (Linux) ----

export const unitPath = (ctx: Pick<ServiceContext, 'home' | 'env'>) =>
  join(ctx.env.XDG_CONFIG_HOME || join(ctx.home, '.config'), 'systemd', 'user', `${SERVICE_NAME}.service`)

/** One ExecStart word: `%` and `$` escaped, quoted when it holds anything but plain path characters. */
const systemdWord = (s: string) => {
  const e = s.replace(/%/g, '%%').replace(/\$/g, '$$$$')
  return /^[\w@%+=:,./-]+$/.test(e) ? e : `"${e.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`
}

/** The systemd user unit that runs `cmd`. */
export function systemdUnit(cmd: string[]): string {
  return `# Written by \`agproxy service install\`; \`agproxy service uninstall\` removes it.
[Unit]
Description=agproxy LLM gateway
Documentation=https://github.com/${RELEASE_REPO}

[Service]
Type=simple
ExecStart=${cmd.map(systemdWord).join(' ')}
WorkingDirectory=%h
# optional: provider keys and AGPROXY_* settings, one NAME=value a line (keep it private: chmod 600)
EnvironmentFile=-%h/.config/agproxy/agproxy.env
Restart=on-failure
RestartSec=5
# logs: journalctl --user -u ${SERVICE_NAME}

[Install]
WantedBy=default.target
`
}

/** The words of the unit's ExecStart (the reverse of systemdWord). */
export function unitCommand(unit: string): string[] {
  const line = /^ExecStart=(.*)$/m.exec(unit)?.[1] ?? ''
  const words: string[] = []
  for (const m of line.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g))
    words.push((m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : (m[2] ?? '')).replace(/%%/g, '%').replace(/\$\$/g, '$'))
  return words
}

// ---- launchd (macOS) ----

export const plistPath = (ctx: Pick<ServiceContext, 'home'>) => join(ctx.home, 'Library', 'LaunchAgents', `${LAUNCHD_LABEL}.plist`)
export const launchdLog = (ctx: Pick<ServiceContext, 'home'>) => join(ctx.home, 'Library', 'Logs', `${SERVICE_NAME}.log`)

const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;')
const unxml = (s: string) => s.replace(/&(lt|gt|quot|apos|amp);/g, (_, e: string) => ({ lt: '<', gt: '>', quot: '"', apos: "'", amp: '&' })[e] ?? '')

/** The launchd agent that runs `cmd` at login and again when it fails. */
export function launchdPlist(cmd: string[], ctx: Pick<ServiceContext, 'home'>): string {
  const log = xml(launchdLog(ctx))
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<!-- Written by agproxy service install; agproxy service uninstall removes it. -->
<plist version="1.0">
<dict>
  <key>Label</key>
  <string>${LAUNCHD_LABEL}</string>
  <key>ProgramArguments</key>
  <array>
${cmd.map(w => `    <string>${xml(w)}</string>`).join('\n')}
  </array>
  <key>WorkingDirectory</key>
  <string>${xml(ctx.home)}</string>
  <key>RunAtLoad</key>
  <true/>
  <key>KeepAlive</key>
  <dict>
    <key>SuccessfulExit</key>
    <false/>
  </dict>
  <key>ThrottleInterval</key>
  <integer>5</integer>
  <key>StandardOutPath</key>
  <string>${log}</string>
  <key>StandardErrorPath</key>
  <string>${log}</string>
</dict>
</plist>
`
}

/** The ProgramArguments of a plist written by launchdPlist. */
export const plistCommand = (plist: string) =>
  [...(/<key>ProgramArguments<\/key>\s*<array>([\s\S]*?)<\/array>/.exec(plist)?.[1]?.matchAll(/<string>([^<]*)<\/string>/g) ?? [])].map(m => unxml(m[1] ?? ''))

// ---- Windows ----

const ps = (s: string) => `'${s.replace(/'/g, "''")}'`
const winQuote = (s: string) => (/[\s"]/.test(s) ? `"${s.replace(/"/g, '\\"')}"` : s)

/** The PowerShell that registers a logon task running `cmd`, restarted on failure, logging to %LOCALAPPDATA%\agproxy. */
export function windowsTask(cmd: string[]): string {
  const line = `"${cmd.map(winQuote).join(' ')} >> "%LOCALAPPDATA%\\agproxy\\agproxy.log" 2>&1"`
  return [
    `New-Item -ItemType Directory -Force "$env:LOCALAPPDATA\\agproxy" | Out-Null`,
    `$action = New-ScheduledTaskAction -Execute 'cmd.exe' -Argument ${ps(`/c ${line}`)}`,
    '$trigger = New-ScheduledTaskTrigger -AtLogOn -User $env:USERNAME',
    '$settings = New-ScheduledTaskSettingsSet -RestartCount 999 -RestartInterval (New-TimeSpan -Minutes 1) -ExecutionTimeLimit 0 -AllowStartIfOnBatteries',
    `Register-ScheduledTask -TaskName ${SERVICE_NAME} -Action $action -Trigger $trigger -Settings $settings -Force`,
    `Start-ScheduledTask -TaskName ${SERVICE_NAME}`,
  ].join('\n')
}

// ---- the commands ----

/** `agproxy service <action>`; never throws. */
export async function serviceCommand(action: ServiceAction, ctx: ServiceContext): Promise<ServiceResult> {
  if (!['linux', 'darwin', 'win32'].includes(ctx.platform))
    return {
      code: 1,
      out: `agproxy: service ${action}: ${ctx.platform} is not supported (Linux with systemd, macOS, Windows are); run agproxy under your service manager`,
    }
  try {
    if (action === 'install') return install(ctx)
    if (action === 'uninstall') return uninstall(ctx)
    return await status(ctx)
  } catch (e) {
    return { code: 1, out: `agproxy: service ${action}: ${(e as Error).message}` }
  }
}

/** systemctl's answer when there is no user manager to talk to (a container, no login session). */
const unavailable = (r: Ran) => r.code === -1 || /failed to connect|not been booted|no such file|bus|XDG_RUNTIME_DIR/i.test(r.out)
const firstLine = (s: string) => s.split('\n')[0]?.trim() ?? ''

function install(ctx: ServiceContext): ServiceResult {
  const cmd = [...ctx.launcher, ...serviceArgs(ctx.flags, ctx.file)]
  const noConfig = ctx.file ? '' : '\nNo config file is in use: the service reads ~/.config/agproxy/config.yaml when it starts (or pass --config FILE).'
  if (ctx.platform === 'win32')
    return {
      code: 0,
      out: `On Windows, register agproxy as a scheduled task at logon (restarted on failure) with this PowerShell:\n\n${windowsTask(cmd)}\n\nLogs: %LOCALAPPDATA%\\agproxy\\agproxy.log. Remove it with: Unregister-ScheduledTask -TaskName ${SERVICE_NAME} -Confirm:$false${noConfig}`,
    }
  if (ctx.platform === 'darwin') {
    const file = plistPath(ctx)
    const replaced = write(file, launchdPlist(cmd, ctx))
    const domain = `gui/${ctx.uid}`
    ctx.run(['launchctl', 'bootout', `${domain}/${LAUNCHD_LABEL}`])
    const r = ctx.run(['launchctl', 'bootstrap', domain, file])
    const started =
      r.code === 0
        ? 'Loaded and started (it starts again at every login).'
        : `launchctl could not load it (${firstLine(r.out)}); load it with: launchctl bootstrap ${domain} ${file}`
    return { code: 0, out: `${replaced ? 'Replaced' : 'Wrote'} ${file}\nIt runs: ${cmd.join(' ')}\n${started}\nLogs: ${launchdLog(ctx)}${noConfig}` }
  }
  const file = unitPath(ctx)
  const replaced = write(file, systemdUnit(cmd))
  const reload = ctx.run(['systemctl', '--user', 'daemon-reload'])
  const enable = reload.code === 0 ? ctx.run(['systemctl', '--user', 'enable', '--now', SERVICE_NAME]) : reload
  const started =
    enable.code === 0
      ? `Enabled and started. It starts with your user session; to keep it running after logout: loginctl enable-linger ${ctx.env.USER ?? '$USER'}`
      : `systemctl --user is not available here (${firstLine(enable.out)}). In your login session run:\n  systemctl --user daemon-reload && systemctl --user enable --now ${SERVICE_NAME}`
  return {
    code: 0,
    out: `${replaced ? 'Replaced' : 'Wrote'} ${file}\nIt runs: ${cmd.join(' ')}\n${started}\nLogs: journalctl --user -u ${SERVICE_NAME} -f\nProvider keys for the service can go in ~/.config/agproxy/agproxy.env (NAME=value lines; chmod 600).${noConfig}`,
  }
}

/** Write a file (and its folder); true when it replaced one. */
function write(file: string, text: string): boolean {
  const existed = existsSync(file)
  mkdirSync(dirname(file), { recursive: true })
  writeFileSync(file, text, { mode: 0o644 })
  return existed
}

function uninstall(ctx: ServiceContext): ServiceResult {
  if (ctx.platform === 'win32')
    return { code: 0, out: `On Windows, remove the scheduled task with this PowerShell:\n\nUnregister-ScheduledTask -TaskName ${SERVICE_NAME} -Confirm:$false` }
  const file = ctx.platform === 'darwin' ? plistPath(ctx) : unitPath(ctx)
  if (!existsSync(file)) return { code: 0, out: `agproxy is not installed as a service (no ${file}); nothing to remove.` }
  const stop =
    ctx.platform === 'darwin'
      ? ctx.run(['launchctl', 'bootout', `gui/${ctx.uid}/${LAUNCHD_LABEL}`])
      : ctx.run(['systemctl', '--user', 'disable', '--now', SERVICE_NAME])
  rmSync(file, { force: true })
  if (ctx.platform !== 'darwin' && stop.code === 0) ctx.run(['systemctl', '--user', 'daemon-reload'])
  const manager = ctx.platform === 'darwin' ? 'launchctl' : 'systemctl --user'
  return {
    code: 0,
    out:
      stop.code === 0
        ? `Stopped and removed ${file}`
        : `Removed ${file} (${manager} could not stop it: ${firstLine(stop.out)}; if it still runs, stop it there).`,
  }
}

async function status(ctx: ServiceContext): Promise<ServiceResult> {
  if (ctx.platform === 'win32') {
    const cmd = [...ctx.launcher, ...serviceArgs(ctx.flags, ctx.file)]
    return probe(ctx, cmd, `On Windows, ask the task scheduler: Get-ScheduledTask -TaskName ${SERVICE_NAME} | Select-Object State`)
  }
  const darwin = ctx.platform === 'darwin'
  const file = darwin ? plistPath(ctx) : unitPath(ctx)
  if (!existsSync(file)) {
    const cmd = [...ctx.launcher, ...serviceArgs(ctx.flags, ctx.file)]
    const r = await probe(ctx, cmd, `agproxy is not installed as a service (no ${file}); install it with: agproxy service install`)
    return { ...r, code: 1 }
  }
  const text = readFileSync(file, 'utf8')
  const cmd = darwin ? plistCommand(text) : unitCommand(text)
  let manager: string
  if (darwin) {
    const r = ctx.run(['launchctl', 'print', `gui/${ctx.uid}/${LAUNCHD_LABEL}`])
    manager = r.code === 0 ? `launchd: ${/^\s*state = (.+)$/m.exec(r.out)?.[1]?.trim() ?? 'loaded'}` : 'launchd: not loaded'
  } else {
    const r = ctx.run(['systemctl', '--user', 'is-active', SERVICE_NAME])
    manager = unavailable(r)
      ? `systemctl --user is not available here (${firstLine(r.out)}), so systemd cannot be asked whether it runs`
      : `systemd: ${firstLine(r.out) || 'unknown'}`
  }
  return probe(ctx, cmd, `Installed: ${file}\n${manager}\nLogs: ${darwin ? launchdLog(ctx) : `journalctl --user -u ${SERVICE_NAME}`}`)
}

/** Ask the address the service's settings give whether an agproxy answers there. */
async function probe(ctx: ServiceContext, cmd: string[], head: string): Promise<ServiceResult> {
  const flagsAt = cmd.findIndex(w => w.startsWith('--'))
  const parsed = parseArgs(flagsAt < 0 ? [] : cmd.slice(flagsAt))
  let config: Config
  try {
    config = loadConfig(parsed.flags, {}).config // the service's own flags; not this shell's AGPROXY_*
  } catch (e) {
    return { code: 1, out: `${head}\nIts settings do not load now: ${(e as Error).message}` }
  }
  const h = await askHealth(config, ctx.fetch)
  return { code: h.up ? 0 : 1, out: `${head}\n${h.up ? 'Running' : 'Not running'}: ${h.says}` }
}

/** GET /healthz of the instance `config` describes (with its key when auth covers /healthz): up when it answers 200. */
export async function askHealth(config: Config, fetchFn: typeof fetch = fetch, timeoutMs = 3000): Promise<{ up: boolean; says: string }> {
  const origin = instanceOrigin(config)
  const key = effectiveAuthMode(config) === 'strict' ? clientKey(config) : undefined
  let res: Response
  try {
    res = await fetchFn(`${origin}/healthz`, { headers: key ? { authorization: `Bearer ${key}` } : {}, signal: AbortSignal.timeout(timeoutMs) })
  } catch {
    return { up: false, says: `nothing answers on ${origin}` }
  }
  const body = (await res.json().catch(() => ({}))) as { version?: string; status?: string }
  if (res.status === 401) return { up: false, says: `an agproxy answers on ${origin} but refuses the key this config has (401)` }
  if (!res.ok || !body.status)
    return { up: false, says: `${origin}/healthz answered ${res.status}${body.status ? ` (${body.status})` : ''}; is that an agproxy?` }
  return { up: true, says: `agproxy ${body.version ?? '?'} answers on ${origin} (${body.status})` }
}

/** `agproxy health`: exit 0 when the configured instance answers /healthz (the container's HEALTHCHECK). */
export async function healthCommand(config: Config, fetchFn: typeof fetch = fetch): Promise<ServiceResult> {
  const h = await askHealth(config, fetchFn)
  return { code: h.up ? 0 : 1, out: h.up ? h.says : `agproxy: ${h.says}` }
}
