/**
 * Gemini CLI: ~/.gemini/settings.json `security.auth.selectedType` = "gemini-api-key" (and the older top-level
 * `selectedAuthType` when the file still has it), and ~/.gemini/.env with GEMINI_API_KEY and GOOGLE_GEMINI_BASE_URL.
 * Gemini CLI reads ~/.gemini/.env in a trusted folder; a variable already in the environment wins over the file.
 */
import { existsSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { familyOf } from '../../http/clients'
import type { ClientDef, ClientView, Found, Place } from './client'
import { tilde } from './client'
import { assertOnlyChanged, at, parseDotenv, parseJsonc, setDotenv, setJsonc } from './edit'
import { readText, type Change } from './files'

const dir = (p: Place) => join(p.home, '.gemini')
const settingsPath = (p: Place) => join(dir(p), 'settings.json')
const envPath = (p: Place) => join(dir(p), '.env')
const AUTH = ['security', 'auth', 'selectedType']
const LEGACY_AUTH = ['selectedAuthType']

/** The .env Gemini CLI loads when started in `cwd` (its findEnvFile in a trusted folder): the first .gemini/.env or .env
 *  from `cwd` up, else ~/.gemini/.env, else ~/.env. */
export function envFileFrom(cwd: string, home: string): string | undefined {
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    for (const f of [join(dir, '.gemini', '.env'), join(dir, '.env')]) if (existsSync(f)) return f
    if (dirname(dir) === dir) break
  }
  return [join(home, '.gemini', '.env'), join(home, '.env')].find(f => existsSync(f))
}

export const geminiCli: ClientDef = {
  id: 'gemini-cli',
  name: 'Gemini CLI',
  dialect: 'gemini',
  baseUrl: origin => familyOf('gemini', origin).baseUrl,
  files: p => [settingsPath(p), envPath(p)],
  plan(p, inst) {
    const file = settingsPath(p)
    const shown = tilde(file, p.home)
    const before = readText(file)
    const data = parseJsonc(before, shown)
    const paths = at(data, LEGACY_AUTH) !== undefined ? [AUTH, LEGACY_AUTH] : [AUTH]
    const after = setJsonc(
      before,
      paths.map(path => [path, 'gemini-api-key']),
      shown,
    )
    assertOnlyChanged(data, parseJsonc(after, shown), paths, shown)
    const changes: Change[] = after === before ? [] : [{ path: file, before, after }]
    const envFile = envPath(p)
    const envBefore = readText(envFile)
    const envAfter = setDotenv(envBefore, { GEMINI_API_KEY: inst.key, GOOGLE_GEMINI_BASE_URL: familyOf('gemini', inst.origin).baseUrl })
    if (envAfter !== envBefore) changes.push({ path: envFile, before: envBefore, after: envAfter, secret: true })
    return changes
  },
  next: p => [
    `Gemini CLI reads ${tilde(envPath(p), p.home)} in trusted folders (trust the folder when asked, or run headless with --skip-trust);`,
    'GEMINI_API_KEY or GOOGLE_GEMINI_BASE_URL exported in your shell win over the file.',
  ],
  view(p) {
    const view: ClientView = { carrier: 'x-goog-api-key', warnings: [] }
    const shown = tilde(settingsPath(p), p.home)
    try {
      const data = parseJsonc(readText(settingsPath(p)), shown)
      const type = at(data, AUTH) ?? at(data, LEGACY_AUTH)
      if (type !== undefined && type !== 'gemini-api-key')
        view.warnings.push(`${shown} selects auth type "${String(type)}"; the key and base URL are used only with "gemini-api-key"`)
      const model = at(data, ['model', 'name'])
      if (typeof model === 'string') view.model = model
    } catch (e) {
      view.broken = (e as Error).message
    }
    // Gemini CLI reads the first .env it finds from its folder up (only that one): a project's .env hides ~/.gemini/.env
    const read = p.cwd ? envFileFrom(p.cwd, p.home) : envPath(p)
    if (read && read !== envPath(p))
      view.warnings.push(
        `started in ${tilde(p.cwd ?? '', p.home)}, Gemini CLI reads ${tilde(read, p.home)}, not ${tilde(envPath(p), p.home)}: ` +
          'put GEMINI_API_KEY and GOOGLE_GEMINI_BASE_URL there too, or export them',
      )
    const dotenv = parseDotenv(readText(read ?? envPath(p)))
    const shownEnv = tilde(read ?? envPath(p), p.home)
    const pick = (name: string): Found | undefined => {
      const e = p.env[name]
      if (e) return { value: e, from: `${name} in the environment` }
      return dotenv[name] ? { value: dotenv[name], from: `${name} in ${shownEnv}` } : undefined
    }
    view.baseUrl = pick('GOOGLE_GEMINI_BASE_URL')
    view.key = pick('GEMINI_API_KEY') ?? pick('GOOGLE_API_KEY')
    if (p.env.GEMINI_MODEL) view.model = p.env.GEMINI_MODEL
    return view
  },
  callPath: model => `/v1beta/models/${model}:generateContent`,
  defaultModel: 'gemini-2.5-flash',
}
