/**
 * Prometheus metrics: counters and histograms fed by a Recorder subscriber (one update per finished request), and
 * the gauges read when /metrics is scraped (key states, open streams, dropped log rows, build info), rendered in the
 * text exposition format (0.0.4). No client library: the format is a few lines of text, and prom-client would bring
 * its own registry, default process metrics and a dependency for what fits here.
 * Label values are bounded: providers are the configured ones, models the routed model (the asked one, clipped, when
 * nothing was routed) and past MODEL_LABELS distinct values `other`; endpoints, dialects and status classes are enums.
 */
import type { RequestRecord } from './record'

/** the most distinct model label values; later ones are counted as `other` */
export const MODEL_LABELS = 200
const MODEL_LABEL_MAX = 80

/** seconds: from a local answer to a long generation */
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300]
const BOUNDS = Float64Array.from(BUCKETS)
const BUCKET_COUNT = BUCKETS.length

/** What is read at scrape time. */
export interface Gauges {
  version: string
  /** keys per provider by state */
  keys: Array<{ provider: string; active: number; cooling: number; disabled: number }>
  openStreams: number
  droppedLogRows: number
}

type Labels = Record<string, string>

const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
const labelText = (l: Labels) => {
  const parts = Object.entries(l).map(([k, v]) => `${k}="${escapeLabel(v)}"`)
  return parts.length ? `{${parts.join(',')}}` : ''
}

/** one series of a counter */
interface CounterCell {
  labels: Labels
  value: number
}

/** one series of a histogram */
interface HistogramCell {
  labels: Labels
  counts: Float64Array
  sum: number
  count: number
}

/** A counter family: values by label set (`key`: the label values joined, built by the caller: no per-call reflection;
 *  `labels`: built only for a series not seen before). */
class Counter {
  readonly values = new Map<string, CounterCell>()
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  cell(key: string, labels: () => Labels): CounterCell {
    let v = this.values.get(key)
    if (!v) this.values.set(key, (v = { labels: labels(), value: 0 }))
    return v
  }
  add(key: string, labels: () => Labels, n = 1) {
    this.cell(key, labels).value += n
  }
  render(out: string[]) {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`)
    for (const { labels, value } of this.values.values()) out.push(`${this.name}${labelText(labels)} ${value}`)
  }
}

/** A histogram family (seconds): one count per bucket a value falls in, made cumulative when rendered. */
class Histogram {
  readonly values = new Map<string, HistogramCell>()
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  cell(key: string, labels: () => Labels): HistogramCell {
    let v = this.values.get(key)
    if (!v) this.values.set(key, (v = { labels: labels(), counts: new Float64Array(BUCKET_COUNT), sum: 0, count: 0 }))
    return v
  }
  render(out: string[]) {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`)
    for (const { labels, counts, sum, count } of this.values.values()) {
      let cumulative = 0
      BUCKETS.forEach((b, i) => {
        cumulative += counts[i] ?? 0
        out.push(`${this.name}_bucket${labelText({ ...labels, le: String(b) })} ${cumulative}`)
      })
      out.push(`${this.name}_bucket${labelText({ ...labels, le: '+Inf' })} ${count}`)
      out.push(`${this.name}_sum${labelText(labels)} ${+sum.toFixed(6)}`, `${this.name}_count${labelText(labels)} ${count}`)
    }
  }
}

/** count `seconds` into a histogram series */
function observeInto(v: HistogramCell, seconds: number) {
  let i = 0
  while (i < BUCKET_COUNT && seconds > (BOUNDS[i] as number)) i++
  if (i < BUCKET_COUNT) v.counts[i]!++
  v.sum += seconds
  v.count++
}

/** the token kinds, in IRUsage's fields */
const TOKEN_KINDS = ['input', 'output', 'cached', 'cache_write', 'reasoning'] as const

/** The series one kind of request counts into (same dialect, endpoint, provider, model, status class and stream): found
 *  with one lookup per request, each filled in at its first use. */
interface Series {
  requests: CounterCell
  duration: HistogramCell
  ttfb?: HistogramCell
  tokens: Array<CounterCell | undefined>
  /** the attempts of its provider with its status class (the common case: one attempt, the one that answered) */
  attempt?: CounterCell
}

const CLASSES = ['0xx', '1xx', '2xx', '3xx', '4xx', '5xx']
const statusClass = (status: number) => CLASSES[Math.floor(status / 100)] ?? `${Math.floor(status / 100)}xx`

const gauge = (out: string[], name: string, help: string, rows: Array<[Labels, number]>, type = 'gauge') => {
  out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`)
  for (const [labels, v] of rows) out.push(`${name}${labelText(labels)} ${v}`)
}

/** The app's metrics: `observe` is the Recorder subscriber, `render` the /metrics body. */
export class Metrics {
  private readonly models = new Set<string>()
  private readonly series = new Map<string, Series>()
  private readonly requests = new Counter('agproxy_requests_total', 'Requests answered, by client dialect, endpoint, provider, model and status class.')
  private readonly duration = new Histogram('agproxy_request_duration_seconds', 'From arrival to the last byte sent (a stream: to its end).')
  private readonly ttfb = new Histogram('agproxy_time_to_first_byte_seconds', 'Model calls: from arrival to the answer head (streams: with the first content).')
  private readonly tokens = new Counter(
    'agproxy_tokens_total',
    'Tokens as the upstreams reported them, by kind (cached is part of input, reasoning part of output).',
  )
  private readonly attempts = new Counter('agproxy_upstream_attempts_total', 'Calls to upstreams, by provider and status class (none: unreachable).')
  private readonly retries = new Counter('agproxy_upstream_retries_total', 'Attempts beyond the first of a request, by the provider that answered last.')
  private readonly failovers = new Counter('agproxy_upstream_failovers_total', 'Moves to another provider (a fallback) within a request.')
  private readonly ends = new Counter('agproxy_stream_ends_total', 'Streamed answers by how they ended.')
  private readonly clients = new Counter(
    'agproxy_client_requests_total',
    "Requests by client key (a client key's name, an api_key masked) and status class; 429/403 are its limits refusing.",
  )
  private readonly clientTokens = new Counter('agproxy_client_tokens_total', 'Tokens by client key (name or masked api_key) and kind (input, output).')
  private readonly started = Date.now() / 1000

  /** a bounded model label */
  private model(r: RequestRecord): string {
    const m = (r.provider && r.routedModel) || r.model
    if (!m) return ''
    const v = m.length > MODEL_LABEL_MAX ? m.slice(0, MODEL_LABEL_MAX) : m
    if (this.models.has(v)) return v
    if (this.models.size >= MODEL_LABELS) return 'other'
    this.models.add(v)
    return v
  }

  /** the Recorder subscriber: one lookup finds the request's series (built at the first request of its kind) */
  readonly observe = (r: RequestRecord) => {
    const provider = r.provider ?? ''
    const model = this.model(r)
    const status_class = statusClass(r.status)
    const key = `${r.dialect}\u0000${r.endpoint ?? ''}\u0000${provider}\u0000${model}\u0000${status_class}\u0000${r.stream ? 1 : 0}`
    let s = this.series.get(key)
    if (!s) this.series.set(key, (s = this.newSeries(r, provider, model, status_class)))
    s.requests.value++
    observeInto(s.duration, r.latencyMs / 1000)
    if (r.endpoint && r.ttfbMs !== undefined && r.status < 400) {
      const { dialect, endpoint } = r
      observeInto((s.ttfb ??= this.ttfb.cell(`${dialect}\u0000${endpoint}`, () => ({ dialect, endpoint }))), r.ttfbMs / 1000)
    }
    const u = r.usage
    if (u) {
      this.token(s, 0, provider, model, u.inputTokens)
      this.token(s, 1, provider, model, u.outputTokens)
      this.token(s, 2, provider, model, u.cachedInputTokens)
      this.token(s, 3, provider, model, u.cacheCreationInputTokens)
      this.token(s, 4, provider, model, u.reasoningTokens)
    }
    for (const a of r.attempts) {
      const c = a.status ? statusClass(a.status) : 'none'
      if (a.provider === provider && c === status_class) (s.attempt ??= this.attemptCell(a.provider, c)).value++
      else this.attemptCell(a.provider, c).value++
    }
    if (r.retries) this.retries.add(provider, () => ({ provider }), r.retries)
    if (r.failovers) this.failovers.add('', () => ({}), r.failovers)
    const end = r.end
    if (end) this.ends.add(end, () => ({ end }))
    const ck = r.clientKey
    if (ck) {
      this.clients.add(`${ck}\u0000${status_class}`, () => ({ client_key: ck, status_class }))
      if (u?.inputTokens) this.clientTokens.add(`${ck}\u0000input`, () => ({ client_key: ck, kind: 'input' }), u.inputTokens)
      if (u?.outputTokens) this.clientTokens.add(`${ck}\u0000output`, () => ({ client_key: ck, kind: 'output' }), u.outputTokens)
    }
  }

  /** the series of a kind of request not seen before (its cells may exist already: other kinds share them) */
  private newSeries(r: RequestRecord, provider: string, model: string, status_class: string): Series {
    const { dialect, stream } = r
    const endpoint = r.endpoint ?? ''
    const at = `${dialect}\u0000${endpoint}`
    return {
      requests: this.requests.cell(`${at}\u0000${provider}\u0000${model}\u0000${status_class}`, () => ({ dialect, endpoint, provider, model, status_class })),
      duration: this.duration.cell(`${at}\u0000${stream}`, () => ({ dialect, endpoint, stream: String(stream) })),
      tokens: [],
    }
  }

  private attemptCell(provider: string, status_class: string): CounterCell {
    return this.attempts.cell(`${provider}\u0000${status_class}`, () => ({ provider, status_class }))
  }

  private token(s: Series, i: number, provider: string, model: string, n: number | undefined) {
    if (!n) return
    const kind = TOKEN_KINDS[i] as string
    const cell = (s.tokens[i] ??= this.tokens.cell(`${provider}\u0000${model}\u0000${kind}`, () => ({ provider, model, kind })))
    cell.value += n
  }

  /** the text exposition of everything, with `g` read now */
  render(g: Gauges): string {
    const out: string[] = []
    gauge(out, 'agproxy_build_info', 'The running agproxy version (always 1).', [[{ version: g.version }, 1]])
    gauge(
      out,
      'agproxy_start_time_seconds',
      'When this agproxy process started counting (a restart starts the counters afresh; a reload does not), seconds since the epoch.',
      [[{}, Math.floor(this.started)]],
    )
    for (const c of [this.requests]) c.render(out)
    this.duration.render(out)
    this.ttfb.render(out)
    for (const c of [this.tokens, this.attempts, this.retries, this.failovers, this.ends, this.clients, this.clientTokens]) c.render(out)
    const keys = g.keys.flatMap(k => (['active', 'cooling', 'disabled'] as const).map(state => [{ provider: k.provider, state }, k[state]] as [Labels, number]))
    gauge(out, 'agproxy_provider_keys', 'Provider keys by state (active, cooling after a failure, disabled).', keys)
    gauge(out, 'agproxy_open_streams', 'Streamed answers clients are reading now.', [[{}, g.openStreams]])
    gauge(out, 'agproxy_request_log_dropped_rows_total', 'Request-log rows dropped because the write queue was full.', [[{}, g.droppedLogRows]], 'counter')
    return `${out.join('\n')}\n`
  }
}
