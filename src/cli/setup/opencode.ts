/**
 * opencode: ~/.config/opencode/opencode.json (or opencode.jsonc; $XDG_CONFIG_HOME honoured) gets a provider `agproxy`
 * through @ai-sdk/openai-compatible: options.baseURL, options.apiKey and the models this configuration routes.
 * Nothing else is touched (not the default `model`: pick `agproxy/<model>` in opencode).
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { familyOf } from '../../http/clients'
import type { ClientDef, ClientView, Place } from './client'
import { tilde } from './client'
import { assertOnlyChanged, at, parseJsonc, SetupError, setJsonc } from './edit'
import { readText } from './files'

const configDir = (p: Place) => join(p.env.XDG_CONFIG_HOME || join(p.home, '.config'), 'opencode')
const configPath = (p: Place) => {
  const jsonc = join(configDir(p), 'opencode.jsonc')
  return existsSync(jsonc) ? jsonc : join(configDir(p), 'opencode.json')
}
const PROVIDER = ['provider', 'agproxy']

/** At most this many models are listed in the provider (opencode shows them in its picker). */
const MAX_MODELS = 60

export const opencode: ClientDef = {
  id: 'opencode',
  name: 'opencode',
  dialect: 'openai',
  baseUrl: origin => familyOf('openai', origin).baseUrl,
  files: p => [configPath(p)],
  plan(p, inst) {
    const file = configPath(p)
    const shown = tilde(file, p.home)
    const before = readText(file)
    const data = parseJsonc(before, shown)
    const provider = at(data, ['provider'])
    if (provider !== undefined && (provider === null || typeof provider !== 'object'))
      throw new SetupError(`${shown}: "provider" is not an object; fix it first`)
    const models = inst.models.length ? inst.models.slice(0, MAX_MODELS) : ['gpt-4.1']
    const value = {
      npm: '@ai-sdk/openai-compatible',
      name: 'agproxy',
      options: { baseURL: familyOf('openai', inst.origin).baseUrl, apiKey: inst.key },
      models: Object.fromEntries(models.map(m => [m, { name: m }])),
    }
    const sets: Array<[string[], unknown]> = [[PROVIDER, value]]
    if (before === undefined) sets.unshift([['$schema'], 'https://opencode.ai/config.json'])
    const after = setJsonc(before, sets, shown)
    assertOnlyChanged(data, parseJsonc(after, shown), [PROVIDER, ['$schema']], shown)
    return after === before ? [] : [{ path: file, before, after, secret: true }]
  },
  next: () => ['In opencode, pick a model of the "agproxy" provider (/models, or "model": "agproxy/<model>" in its config).'],
  view(p) {
    const view: ClientView = { carrier: 'bearer', warnings: [] }
    const shown = tilde(configPath(p), p.home)
    try {
      const data = parseJsonc(readText(configPath(p)), shown)
      const base = at(data, [...PROVIDER, 'options', 'baseURL'])
      const key = at(data, [...PROVIDER, 'options', 'apiKey'])
      if (typeof base === 'string') view.baseUrl = { value: base, from: `provider.agproxy.options.baseURL in ${shown}` }
      if (typeof key === 'string') view.key = { value: key, from: `provider.agproxy.options.apiKey in ${shown}` }
      const models = at(data, [...PROVIDER, 'models'])
      const chosen = typeof data.model === 'string' && data.model.startsWith('agproxy/') ? data.model.slice('agproxy/'.length) : undefined
      view.model = chosen ?? (models && typeof models === 'object' ? Object.keys(models)[0] : undefined)
    } catch (e) {
      view.broken = (e as Error).message
    }
    return view
  },
  callPath: () => '/chat/completions',
  defaultModel: 'gpt-4.1',
}
