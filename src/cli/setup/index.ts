/** The clients `agproxy setup` and `agproxy doctor` know, by the name the user types. */
import { claudeCode } from './claude-code'
import type { ClientDef, ClientId } from './client'
import { codex } from './codex'
import { geminiCli } from './gemini-cli'
import { opencode } from './opencode'

export const CLIENTS: Record<ClientId, ClientDef> = { 'claude-code': claudeCode, codex, 'gemini-cli': geminiCli, opencode }
export const CLIENT_IDS = Object.keys(CLIENTS) as ClientId[]
export const isClientId = (s: string): s is ClientId => s in CLIENTS
