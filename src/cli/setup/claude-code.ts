/**
 * Claude Code: ~/.claude/settings.json, `env.ANTHROPIC_BASE_URL` and the key as `env.ANTHROPIC_AUTH_TOKEN` (sent as a
 * Bearer token; no "use this API key?" prompt), or `env.ANTHROPIC_API_KEY` when the file already sets that one.
 * The settings' env wins over the shell's.
 */
import { join } from 'node:path'
import { familyOf } from '../../http/clients'
import type { ClientDef, ClientView, Found, Place } from './client'
import { tilde } from './client'
import { assertOnlyChanged, at, parseJsonc, SetupError, setJsonc } from './edit'
import { readText } from './files'

const settingsPath = (p: Place) => join(p.env.CLAUDE_CONFIG_DIR || join(p.home, '.claude'), 'settings.json')

export const claudeCode: ClientDef = {
  id: 'claude-code',
  name: 'Claude Code',
  dialect: 'anthropic',
  baseUrl: origin => familyOf('anthropic', origin).baseUrl,
  files: p => [settingsPath(p)],
  plan(p, inst) {
    const file = settingsPath(p)
    const before = readText(file)
    const shown = tilde(file, p.home)
    const data = parseJsonc(before, shown)
    const env = data.env
    if (env !== undefined && (env === null || typeof env !== 'object' || Array.isArray(env)))
      throw new SetupError(`${shown}: "env" is not an object; fix it first`)
    const keyVar = at(data, ['env', 'ANTHROPIC_API_KEY']) !== undefined ? 'ANTHROPIC_API_KEY' : 'ANTHROPIC_AUTH_TOKEN'
    const paths = [
      ['env', 'ANTHROPIC_BASE_URL'],
      ['env', keyVar],
    ]
    const after = setJsonc(
      before,
      [
        [paths[0] ?? [], familyOf('anthropic', inst.origin).baseUrl],
        [paths[1] ?? [], inst.key],
      ],
      shown,
    )
    assertOnlyChanged(data, parseJsonc(after, shown), paths, shown)
    return after === before ? [] : [{ path: file, before, after, secret: true }]
  },
  next: () => ['Start `claude` in any folder: it now talks to agproxy.'],
  view(p) {
    const file = settingsPath(p)
    const shown = tilde(file, p.home)
    const view: ClientView = { carrier: 'x-api-key', warnings: [] }
    let env: Record<string, unknown> = {}
    try {
      env = (parseJsonc(readText(file), shown).env as Record<string, unknown>) ?? {}
    } catch (e) {
      view.broken = (e as Error).message
    }
    const pick = (name: string): Found | undefined => {
      const v = env[name]
      if (typeof v === 'string' && v) return { value: v, from: `${name} in ${shown}` }
      const e = p.env[name]
      return e ? { value: e, from: `${name} in the environment` } : undefined
    }
    view.baseUrl = pick('ANTHROPIC_BASE_URL')
    const token = pick('ANTHROPIC_AUTH_TOKEN')
    const apiKey = pick('ANTHROPIC_API_KEY')
    view.key = apiKey ?? token
    if (!apiKey && token) view.carrier = 'bearer'
    if (apiKey && token) view.warnings.push(`both ANTHROPIC_API_KEY (${apiKey.from}) and ANTHROPIC_AUTH_TOKEN (${token.from}) are set; Claude Code sends both`)
    const model = env.ANTHROPIC_MODEL ?? p.env.ANTHROPIC_MODEL
    if (typeof model === 'string' && model) view.model = model
    return view
  },
  callPath: () => '/v1/messages',
  defaultModel: 'claude-sonnet-4-5',
}
