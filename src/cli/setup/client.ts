/**
 * The contract each client module (claude-code, codex, gemini-cli, opencode) fulfils for `agproxy setup` and
 * `agproxy doctor`: where its configuration lives, the change that points it here, and what it currently uses.
 */
import type { Dialect } from '../../ir/types'
import type { Change } from './files'

export type ClientId = 'claude-code' | 'codex' | 'gemini-cli' | 'opencode'

/** The instance clients are pointed at, and the key they send it. */
export interface Instance {
  /** http://127.0.0.1:8045, as `agproxy clients` prints it */
  origin: string
  /** a key the instance accepts (a placeholder when its auth is off) */
  key: string
  authOn: boolean
  /** every key the instance accepts (empty with auth off) */
  accepted: string[]
  /** client-facing model names the configuration routes */
  models: string[]
}

/** Where a client finds its files and variables. */
export interface Place {
  home: string
  env: Record<string, string | undefined>
  /** the folder the client would start in (doctor: the current one) */
  cwd?: string
}

/** A setting as the client will see it, and where it came from (for doctor's lines). */
export interface Found {
  value: string
  from: string
}

/** What a client uses now. */
export interface ClientView {
  baseUrl?: Found
  key?: Found
  /** how the client sends its key */
  carrier: 'bearer' | 'x-api-key' | 'x-goog-api-key'
  model?: string
  /** something in its configuration doctor should warn about */
  warnings: string[]
  /** a file it reads that cannot be parsed */
  broken?: string
}

export interface ClientDef {
  id: ClientId
  name: string
  dialect: Dialect
  /** the base URL it should use (clientFamilies) */
  baseUrl(origin: string): string
  /** the files setup may change */
  files(place: Place): string[]
  /** the changes that point it at `inst` (only its own settings; throws SetupError on a file it cannot edit safely) */
  plan(place: Place, inst: Instance): Change[]
  /** what to tell the user after writing */
  next(place: Place, inst: Instance): string[]
  /** what it uses now */
  view(place: Place): ClientView
  /** the path it appends to its base URL for a non-streamed model call */
  callPath(model: string): string
  /** the model doctor's request names when the configuration sets none */
  defaultModel: string
}

/** "~/.claude/settings.json" for a path under HOME. */
export const tilde = (path: string, home: string) => (path.startsWith(`${home}/`) ? `~${path.slice(home.length)}` : path)
