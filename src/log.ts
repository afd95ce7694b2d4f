/** A small leveled logger. Messages never contain keys: callers mask them (providers/pool.ts maskKey). */
type Level = 'debug' | 'info' | 'warn' | 'error'
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 }

export interface Logger {
  debug(msg: string): void
  info(msg: string): void
  warn(msg: string): void
  error(msg: string): void
  /** log a message only the first time `key` is seen (e.g. one line per distinct path rewrite) */
  once(key: string, level: Level, msg: string): void
}

export function createLogger(level: Level = 'info', sink: (line: string) => void = l => process.stderr.write(`${l}\n`)): Logger {
  const seen = new Set<string>()
  const at = (l: Level) => (msg: string) => {
    if (ORDER[l] >= ORDER[level]) sink(`${new Date().toISOString()} ${l.toUpperCase().padEnd(5)} ${msg}`)
  }
  const log = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }
  return {
    ...log,
    once(key, l, msg) {
      if (seen.has(key)) return
      if (seen.size > 10_000) seen.clear()
      seen.add(key)
      log[l](msg)
    },
  }
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {}, once() {} }
