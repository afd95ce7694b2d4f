/** A small leveled logger, as text lines or JSON objects (log_format). Messages never contain keys: callers mask them
 *  (providers/pool.ts maskKey). The default sink is buffered: many lines a tick (the access log at load) are one write. */
type Level = 'debug' | 'info' | 'warn' | 'error'
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 }

export type LogFormat = 'text' | 'json'

export interface Logger {
  debug(msg: string): void
  info(msg: string): void
  warn(msg: string): void
  error(msg: string): void
  /** log a message only the first time `key` is seen (e.g. one line per distinct path rewrite) */
  once(key: string, level: Level, msg: string): void
  /** how lines are written */
  readonly format?: LogFormat
  /** whether a line at `level` is written at all */
  enabled?(level: Level): boolean
  /** a structured line: with format json, `fields` with time and level first; with text, `text` after the usual prefix */
  fields?(level: Level, fields: Record<string, unknown>, text: () => string): void
}

/** how long lines that can wait are held, at most, before they are written together */
const FLUSH_MS = 20
const FLUSH_BYTES = 64 * 1024

/** stderr, batched: lines that can wait (debug, info: the access log at load) are written together, at most FLUSH_MS
 *  later or once FLUSH_BYTES are held; a warning or an error is written at once (after those), and all at exit.
 *  Written through Bun's own stderr sink: Node's process.stderr stream costs ~10 ms to create (the start's first log
 *  line would pay it, in the middle of the first request). */
export function bufferedStderr(): (line: string, urgent?: boolean) => void {
  let pending: string[] = []
  let bytes = 0
  let timer: Timer | undefined
  let out: ReturnType<typeof Bun.stderr.writer> | undefined
  const flush = () => {
    clearTimeout(timer)
    timer = undefined
    if (!pending.length) return
    const text = `${pending.join('\n')}\n`
    pending = []
    bytes = 0
    try {
      out ??= Bun.stderr.writer()
      out.write(text)
      const done = out.flush()
      if (done instanceof Promise) done.catch(() => {})
    } catch {
      // stderr is gone (closed): nothing to tell
    }
  }
  process.once('exit', flush)
  return (line, urgent) => {
    pending.push(line)
    bytes += line.length
    if (urgent || bytes >= FLUSH_BYTES) flush()
    else if (!timer) timer = setTimeout(flush, FLUSH_MS)
  }
}

let stderrSink: ((line: string, urgent?: boolean) => void) | undefined

export function createLogger(level: Level = 'info', sink?: (line: string) => void, format: LogFormat = 'text'): Logger {
  const write: (line: string, urgent?: boolean) => void = sink ?? (stderrSink ??= bufferedStderr())
  const seen = new Set<string>()
  const enabled = (l: Level) => ORDER[l] >= ORDER[level]
  const line = (l: Level, msg: string) =>
    format === 'json' ? JSON.stringify({ time: new Date().toISOString(), level: l, msg }) : `${new Date().toISOString()} ${l.toUpperCase().padEnd(5)} ${msg}`
  const at = (l: Level) => (msg: string) => {
    if (enabled(l)) write(line(l, msg), ORDER[l] >= ORDER.warn)
  }
  const log = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }
  return {
    ...log,
    format,
    enabled,
    fields(l, fields, text) {
      if (!enabled(l)) return
      write(format === 'json' ? JSON.stringify({ time: new Date().toISOString(), level: l, ...fields }) : line(l, text()), ORDER[l] >= ORDER.warn)
    },
    once(key, l, msg) {
      if (seen.has(key)) return
      if (seen.size > 10_000) seen.clear()
      seen.add(key)
      log[l](msg)
    },
  }
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {}, once() {}, enabled: () => false }
