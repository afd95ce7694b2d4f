/**
 * The request log's writer thread: its own connection to the database, writing the batches the main thread posts, so
 * SQLite's work never takes the event loop that serves requests. Answers each batch with `written` or `failed`.
 */
import { openSqliteStore } from './sqlite'
import type { RequestStore } from './types'
import { decodeRows } from './row-codec'

/** a batch travels as JSON text of positional rows (row-codec.ts): cheaper to post than a structured clone of the objects
 *  (≈7 µs a row), and half the text of the objects as JSON */
export type ToWriter = { type: 'open'; file: string } | { type: 'write'; rows: string } | { type: 'close' }
export type FromWriter = { type: 'written' } | { type: 'failed'; message: string; code?: string } | { type: 'closed' }

declare const self: Worker
let store: RequestStore | undefined
let file = ''
const post = (m: FromWriter) => self.postMessage(m)
const failure = (e: unknown): FromWriter => ({ type: 'failed', message: String((e as Error)?.message ?? e), code: (e as { code?: string }).code })

self.onmessage = (e: MessageEvent<ToWriter>) => {
  const m = e.data
  if (m.type === 'open') file = m.file
  else if (m.type === 'write')
    try {
      // opened at the first batch, and again after a failure (a file moved or remounted meanwhile)
      store ??= openSqliteStore(file).store
      store.write(decodeRows(m.rows))
      post({ type: 'written' })
    } catch (err) {
      try {
        store?.close()
      } catch {
        /* already failing */
      }
      store = undefined
      post(failure(err))
    }
  else if (m.type === 'close') {
    store?.close()
    store = undefined
    post({ type: 'closed' })
  }
}
