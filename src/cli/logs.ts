/** `agproxy logs [--follow] [--status 5xx] [--model …]`: the request log of the running instance, one line a request. */
import type { Config } from '../config/schema'
import type { StoredRequest } from '../store/types'
import { adminGet, type CliIo } from './admin'
import { usd } from './usage'

export interface LogsOptions {
  follow?: boolean
  status?: string
  model?: string
  since?: string
  limit?: number
}

/** "2026-01-02T10:00:00Z 200 POST /v1/chat/completions gpt-4o-mini → oai/gpt-4o-mini 812 ms 1000→100 tok $0.00021" */
export function logLine(r: Omit<StoredRequest, 'costUsd'> & { costUsd?: number | null }): string {
  const parts = [new Date(r.time).toISOString().replace(/\.\d+Z$/, 'Z'), String(r.status), r.method, r.path]
  if (r.model) parts.push(r.model + (r.provider ? ` → ${r.provider}${r.routedModel && r.routedModel !== r.model ? `/${r.routedModel}` : ''}` : ''))
  parts.push(`${Math.round(r.latencyMs)} ms`)
  if (r.retries) parts.push(`${r.retries} retr${r.retries === 1 ? 'y' : 'ies'}`)
  if (r.usage) parts.push(`${r.usage.inputTokens}→${r.usage.outputTokens} tok`, usd(r.costUsd ?? null))
  if (r.clientKey) parts.push(`key ${r.clientKey}`)
  if (r.error) parts.push(`— ${r.error.slice(0, 200)}`)
  return parts.join(' ')
}

/** Print the last requests (oldest first); with --follow, then every request as it finishes, until interrupted. */
export async function logsCommand(c: Config, o: LogsOptions, io: CliIo & { print?: (line: string) => void } = {}): Promise<{ code: number; out: string }> {
  const print = io.print ?? ((l: string) => console.log(l))
  const filter = new URLSearchParams()
  if (o.status) filter.set('status', o.status)
  if (o.model) filter.set('model', o.model)
  const q = new URLSearchParams(filter)
  q.set('limit', String(o.limit ?? 50))
  if (o.since) q.set('since', o.since)
  const res = await adminGet(c, `/admin/requests?${q}`, io)
  if (typeof res === 'string') return { code: 1, out: res }
  const { requests } = (await res.json()) as { requests: StoredRequest[] }
  for (const r of requests.reverse()) print(logLine(r))
  if (!o.follow) return { code: 0, out: '' }
  const feed = await adminGet(c, `/admin/events?${filter}`, io, false)
  if (typeof feed === 'string') return { code: 1, out: feed }
  await readEvents(feed, data => print(logLine(JSON.parse(data))))
  return { code: 1, out: 'agproxy: the instance closed the event feed (did it stop?)' }
}

/** Call `onRequest` with the data of each `event: request` of an SSE answer, until it ends. */
async function readEvents(res: Response, onRequest: (data: string) => void): Promise<void> {
  const dec = new TextDecoder()
  let buf = ''
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buf += dec.decode(chunk, { stream: true })
    let end = buf.indexOf('\n\n')
    while (end >= 0) {
      const event = buf.slice(0, end)
      buf = buf.slice(end + 2)
      const data = /^data: (.*)$/m.exec(event)?.[1]
      if (data && /^event: request$/m.test(event)) onRequest(data)
      end = buf.indexOf('\n\n')
    }
  }
}
