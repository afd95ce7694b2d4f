/**
 * What each client family must set to reach this agproxy: used by the `/` index, `agproxy clients`,
 * the start banner and every diagnostic 404.
 */
import type { Dialect } from '../ir/types'

export interface ClientFamily {
  dialect: Dialect
  clients: string
  /** where the user puts it */
  setting: string
  baseUrl: string
}

export function clientFamilies(origin: string): ClientFamily[] {
  return [
    {
      dialect: 'openai',
      clients: 'OpenAI SDKs, Codex CLI, Kilo Code / Roo Code / Cline (OpenAI-compatible), Cherry Studio',
      setting: 'base URL / OPENAI_BASE_URL',
      baseUrl: `${origin}/v1`,
    },
    { dialect: 'anthropic', clients: 'Claude Code, Anthropic SDK', setting: 'ANTHROPIC_BASE_URL / base URL', baseUrl: origin },
    { dialect: 'gemini', clients: 'Gemini CLI, Google GenAI SDK', setting: 'GOOGLE_GEMINI_BASE_URL / httpOptions.baseUrl', baseUrl: origin },
  ]
}

/** The client family of a dialect (clientFamilies lists one for every dialect). */
export const familyOf = (dialect: Dialect, origin: string) =>
  // biome-ignore lint/style/noNonNullAssertion: clientFamilies() has an entry for each of the three dialects
  clientFamilies(origin).find(f => f.dialect === dialect)!

/** "http://127.0.0.1:8045" from the Host the client used (sanitized), else the listen address. */
export function originFor(hostHeader: string | null, fallback: string): string {
  if (hostHeader && /^[A-Za-z0-9.-]+(:\d+)?$|^\[[0-9a-fA-F:]+\](:\d+)?$/.test(hostHeader)) return `http://${hostHeader}`
  return fallback
}
