/**
 * The built-in load generator: raw HTTP/1.1 keep-alive connections over Bun.connect (no fetch, no
 * per-request allocation beyond the parser's), so it can stand in for wrk.
 *
 * Two ways to drive load:
 *   closed loop  `connections` connections, each sends its next request as soon as the previous answer ends
 *                (throughput; like wrk)
 *   open loop    `rate` requests/s on a fixed schedule over up to `connections` connections; latency counts from
 *                the scheduled time when the request had to wait for a free connection (no coordinated omission)
 * and one for memory: `openStreams` opens `count` streaming requests at once and tracks how many are open together.
 *
 * Per answer it measures latency (request written → last byte), TTFB (→ first byte), status, bytes, and for
 * event streams the frames (blank-line separated events) relayed.
 *
 * CLI:  bun bench/loadgen.ts --url http://127.0.0.1:8045/v1/chat/completions -c 32 -d 5 [--rate 500]
 *         [-m POST] [-H 'content-type: application/json'] [--body '{…}' | --body-file f] [--frames] [--json]
 *       bun bench/loadgen.ts '{"mode":"load", …LoadOptions}'   (JSON in, JSON out: how bench/run.ts calls it)
 */
import type { Socket } from 'bun'

export interface RequestSpec {
  url: string
  method?: string
  headers?: Record<string, string>
  body?: string
}

export interface LoadOptions extends RequestSpec {
  connections: number
  durationMs: number
  /** run this long first without recording (JIT, connection set-up) */
  warmupMs?: number
  /** open loop: requests per second; absent = closed loop */
  rate?: number
  /** a request without a complete answer after this long counts as a timeout (its connection is replaced) */
  timeoutMs?: number
  /** count event-stream frames per answer */
  countFrames?: boolean
}

export interface Stats {
  n: number
  mean: number
  p50: number
  p90: number
  p99: number
  max: number
}

export interface LoadResult {
  tool: 'builtin'
  mode: 'closed' | 'open'
  connections: number
  rate?: number
  durationS: number
  /** answers completed inside the measured window */
  requests: number
  rps: number
  non2xx: number
  errors: number
  timeouts: number
  status: Record<string, number>
  /** ms */
  latency: Stats
  /** ms, request written (or due) → first byte of the answer */
  ttfb: Stats
  bytesPerResponse: number
  framesPerResponse: number | null
}

export interface StreamsOptions extends RequestSpec {
  count: number
  timeoutMs: number
  /** connections opened per millisecond while ramping up (default 50) */
  openPerMs?: number
}

export interface StreamsResult {
  count: number
  /** streams whose first byte arrived */
  opened: number
  completed: number
  errors: number
  non2xx: number
  /** most streams open (first byte seen, not finished) at the same moment */
  maxOpen: number
  /** ms from start until `maxOpen` was first reached */
  maxOpenAtMs: number
  ttfb: Stats
  durationMs: number
  framesPerResponse: number | null
}

const te = new TextEncoder()
const CRLF2 = Buffer.from('\r\n\r\n')
const now = () => performance.now()

export function stats(values: number[]): Stats {
  if (!values.length) return { n: 0, mean: NaN, p50: NaN, p90: NaN, p99: NaN, max: NaN }
  const v = Float64Array.from(values).sort()
  const at = (q: number) => v[Math.min(v.length - 1, Math.max(0, Math.ceil(q * v.length) - 1))]!
  let sum = 0
  for (const x of v) sum += x
  return { n: v.length, mean: sum / v.length, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: v[v.length - 1]! }
}

function requestBytes(spec: RequestSpec): { bytes: Uint8Array; hostname: string; port: number } {
  const u = new URL(spec.url)
  const body = spec.body !== undefined ? te.encode(spec.body) : undefined
  let head = `${spec.method ?? (body ? 'POST' : 'GET')} ${u.pathname}${u.search} HTTP/1.1\r\nhost: ${u.host}\r\n`
  const names = new Set<string>()
  for (const [k, v] of Object.entries(spec.headers ?? {})) {
    head += `${k}: ${v}\r\n`
    names.add(k.toLowerCase())
  }
  if (body) head += `content-length: ${body.length}\r\n`
  if (!names.has('accept')) head += 'accept: */*\r\n'
  head += '\r\n'
  const h = te.encode(head)
  const bytes = new Uint8Array(h.length + (body?.length ?? 0))
  bytes.set(h)
  if (body) bytes.set(body, h.length)
  return { bytes, hostname: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port || (u.protocol === 'https:' ? 443 : 80)) }
}

// ───────────── one connection: write a request, parse the answer ─────────────

enum Phase {
  Idle,
  Head,
  Body,
  Size,
  Data,
  DataEnd,
  Trailer,
  UntilClose,
}

interface Events {
  firstByte(c: Conn): void
  done(c: Conn): void
  /** the connection died or was closed; `busy` says whether a request was in flight */
  lost(c: Conn, busy: boolean): void
}

class Conn {
  socket: Socket<Conn> | undefined
  connecting = false
  phase = Phase.Idle
  carry: Buffer | null = null
  pendingWrite: Uint8Array | null = null
  /** latency base (sent or scheduled), actual write time, first byte */
  base = 0
  sentAt = 0
  firstAt = 0
  doneAt = 0
  status = 0
  remaining = 0
  bytes = 0
  frames = 0
  prevLF = false
  closeAfter = false
  dead = false

  constructor(
    readonly ev: Events,
    readonly countFrames: boolean,
  ) {}

  get busy() {
    return this.phase !== Phase.Idle
  }

  send(req: Uint8Array, base?: number) {
    const t = now()
    this.base = base ?? t
    this.sentAt = t
    this.firstAt = 0
    this.status = 0
    this.bytes = 0
    this.frames = 0
    this.prevLF = false
    this.closeAfter = false
    this.carry = null
    this.phase = Phase.Head
    const n = this.socket!.write(req)
    if (n < req.length) this.pendingWrite = req.subarray(Math.max(0, n))
  }

  drain() {
    if (!this.pendingWrite) return
    const n = this.socket!.write(this.pendingWrite)
    this.pendingWrite = n >= this.pendingWrite.length ? null : this.pendingWrite.subarray(Math.max(0, n))
  }

  private count(buf: Buffer, from: number, to: number) {
    this.bytes += to - from
    if (!this.countFrames) return
    let prev = this.prevLF
    for (let i = from; i < to; i++) {
      const b = buf[i]!
      if (b === 10) {
        if (prev) {
          this.frames++
          prev = false
        } else prev = true
      } else if (b !== 13) prev = false
    }
    this.prevLF = prev
  }

  private complete() {
    this.phase = Phase.Idle
    this.doneAt = now()
    if (this.closeAfter) {
      this.dead = true
      this.socket?.end()
    }
    this.ev.done(this)
  }

  data(chunk: Buffer) {
    if (this.phase === Phase.Idle) return
    if (!this.firstAt) {
      this.firstAt = now()
      this.ev.firstByte(this)
    }
    let buf = chunk
    if (this.carry) {
      buf = Buffer.concat([this.carry, chunk])
      this.carry = null
    }
    let i = 0
    while (i < buf.length && this.busy) {
      switch (this.phase as Phase) {
        case Phase.Head: {
          const end = buf.indexOf(CRLF2, i)
          if (end < 0) {
            this.carry = Buffer.from(buf.subarray(i))
            return
          }
          const head = buf.toString('latin1', i, end)
          i = end + 4
          this.status = Number(head.slice(9, 12))
          const cl = /\r\ncontent-length:[ \t]*(\d+)/i.exec(head)
          this.closeAfter = /\r\nconnection:[ \t]*close/i.test(head)
          if (/\r\ntransfer-encoding:[ \t]*[^\r]*chunked/i.test(head)) this.phase = Phase.Size
          else if (cl) {
            this.remaining = Number(cl[1])
            this.phase = Phase.Body
            if (!this.remaining) this.complete()
          } else if (this.status === 204 || this.status === 304) this.complete()
          else this.phase = Phase.UntilClose
          break
        }
        case Phase.Body:
        case Phase.Data: {
          const n = Math.min(this.remaining, buf.length - i)
          this.count(buf, i, i + n)
          this.remaining -= n
          i += n
          if (!this.remaining) {
            if (this.phase === Phase.Body) this.complete()
            else this.phase = Phase.DataEnd
          }
          break
        }
        case Phase.DataEnd: {
          if (buf[i++] === 10) this.phase = Phase.Size
          break
        }
        case Phase.Size:
        case Phase.Trailer: {
          const lf = buf.indexOf(10, i)
          if (lf < 0) {
            this.carry = Buffer.from(buf.subarray(i))
            return
          }
          const line = buf.toString('latin1', i, lf).trim()
          i = lf + 1
          if (this.phase === Phase.Trailer) {
            if (!line) this.complete()
            break
          }
          const size = parseInt(line, 16)
          if (size === 0) this.phase = Phase.Trailer
          else if (Number.isNaN(size)) {
            this.fail()
            return
          } else {
            this.remaining = size
            this.phase = Phase.Data
          }
          break
        }
        case Phase.UntilClose:
          this.count(buf, i, buf.length)
          i = buf.length
          break
      }
    }
  }

  /** the connection ended; an answer delimited by close is complete, anything else in flight is lost */
  closed() {
    this.dead = true
    this.socket = undefined
    if (this.phase === Phase.UntilClose) {
      this.closeAfter = false
      this.complete()
      this.ev.lost(this, false)
      return
    }
    const busy = this.busy
    this.phase = Phase.Idle
    this.ev.lost(this, busy)
  }

  fail() {
    this.socket?.terminate()
  }
}

function connect(c: Conn, hostname: string, port: number, onOpen: (c: Conn) => void) {
  c.connecting = true
  c.dead = false
  Bun.connect<Conn>({
    hostname,
    port,
    data: c,
    socket: {
      open(s) {
        c.socket = s
        c.connecting = false
        s.setNoDelay?.(true)
        onOpen(c)
      },
      data(_s, d) {
        c.data(d as Buffer)
      },
      drain() {
        c.drain()
      },
      close() {
        c.connecting = false
        c.closed()
      },
      error() {
        /* close follows */
      },
      connectError() {
        c.connecting = false
        c.closed()
      },
    },
  }).catch(() => {
    c.connecting = false
    if (!c.dead) c.closed()
  })
}

// ───────────── load: closed or open loop ─────────────

export function runLoad(o: LoadOptions): Promise<LoadResult> {
  const { bytes: req, hostname, port } = requestBytes(o)
  const warmup = o.warmupMs ?? 0
  const timeoutMs = o.timeoutMs ?? 10_000
  const open = !!o.rate && o.rate > 0
  const t0 = now()
  const measureStart = t0 + warmup
  const end = measureStart + o.durationMs

  const latencies: number[] = []
  const ttfbs: number[] = []
  const status: Record<string, number> = {}
  let requests = 0,
    non2xx = 0,
    errors = 0,
    timeouts = 0,
    bytes = 0,
    frames = 0
  let running = true
  const idle: Conn[] = []
  const backlog: number[] = []
  const queued = new WeakSet<Conn>()

  const record = (c: Conn) => {
    requests++
    status[c.status] = (status[c.status] ?? 0) + 1
    if (c.status < 200 || c.status > 299) non2xx++
    latencies.push(c.doneAt - c.base)
    ttfbs.push(c.firstAt - c.base)
    bytes += c.bytes
    frames += c.frames
  }

  const next = (c: Conn) => {
    if (!running || c.dead || !c.socket) return
    if (!open) {
      if (now() < end) c.send(req)
      return
    }
    const due = backlog.shift()
    if (due !== undefined) {
      queued.add(c)
      c.send(req, due)
    } // waited for a connection: count from when it was due
    else idle.push(c)
  }

  const events: Events = {
    firstByte() {},
    done(c) {
      // closed loop: answers finished inside the window; open loop: requests due inside the window
      const inWindow = open ? c.base >= measureStart && c.base < end : c.doneAt >= measureStart && c.doneAt <= end
      if (inWindow) record(c)
      next(c)
    },
    lost(c, busy) {
      if (busy && running) errors++
      const i = idle.indexOf(c)
      if (i >= 0) idle.splice(i, 1)
      if (running) connect(c, hostname, port, next) // replace it
    },
  }

  const conns = Array.from({ length: Math.max(1, o.connections) }, () => new Conn(events, !!o.countFrames))
  for (const c of conns) connect(c, hostname, port, next)

  return new Promise(resolve => {
    let k = 0
    const interval = open ? 1000 / o.rate! : 0
    const tick = () => {
      if (!running) return
      const t = now()
      while (true) {
        const due = t0 + k * interval
        if (due > t || due >= end) break
        k++
        const c = idle.pop()
        if (c?.socket && !c.dead)
          c.send(req) // on time: count from the actual write
        else backlog.push(due)
      }
      const due = t0 + k * interval
      if (due < end) setTimeout(tick, Math.max(0, due - now() - 0.3))
    }
    if (open) setTimeout(tick, 0)

    const sweep = setInterval(() => {
      const t = now()
      for (const c of conns) {
        if (c.busy && t - c.sentAt > timeoutMs) {
          timeouts++
          c.phase = 0 as Phase
          c.fail()
        }
      }
    }, 100)

    const finish = () => {
      running = false
      clearInterval(sweep)
      for (const c of conns) {
        c.dead = true
        c.socket?.terminate()
      }
      const durationS = o.durationMs / 1000
      resolve({
        tool: 'builtin',
        mode: open ? 'open' : 'closed',
        connections: conns.length,
        rate: o.rate,
        durationS,
        requests,
        rps: requests / durationS,
        non2xx,
        errors,
        timeouts,
        status,
        latency: stats(latencies),
        ttfb: stats(ttfbs),
        bytesPerResponse: requests ? bytes / requests : 0,
        framesPerResponse: o.countFrames && requests ? frames / requests : null,
      })
    }
    // open loop: let the requests due before `end` finish (bounded); closed loop: stop at `end`
    setTimeout(
      () => {
        if (!open) return finish()
        const until = now() + Math.min(timeoutMs, 3000)
        const wait = () => ((conns.some(c => c.busy) || backlog.length) && now() < until ? setTimeout(wait, 5) : finish())
        wait()
      },
      Math.max(0, end - now()),
    )
  })
}

// ───────────── open streams ─────────────

export function openStreams(o: StreamsOptions): Promise<StreamsResult> {
  const { bytes: req, hostname, port } = requestBytes(o)
  const t0 = now()
  let open = 0,
    maxOpen = 0,
    maxOpenAt = 0,
    opened = 0,
    completed = 0,
    errors = 0,
    non2xx = 0,
    frames = 0,
    settled = 0
  const ttfbs: number[] = []
  return new Promise(resolve => {
    let finished = false
    const finish = () => {
      if (finished) return
      finished = true
      clearTimeout(timer)
      for (const c of conns) {
        c.dead = true
        c.socket?.terminate()
      }
      resolve({
        count: o.count,
        opened,
        completed,
        errors,
        non2xx,
        maxOpen,
        maxOpenAtMs: maxOpenAt,
        ttfb: stats(ttfbs),
        durationMs: now() - t0,
        framesPerResponse: completed ? frames / completed : null,
      })
    }
    const settle = () => {
      if (++settled >= o.count) finish()
    }
    const events: Events = {
      firstByte(c) {
        opened++
        ttfbs.push(c.firstAt - c.base)
        if (++open > maxOpen) {
          maxOpen = open
          maxOpenAt = now() - t0
        }
      },
      done(c) {
        open--
        completed++
        frames += c.frames
        if (c.status < 200 || c.status > 299) non2xx++
        c.dead = true
        c.socket?.end()
        settle()
      },
      lost(c, busy) {
        if (!busy || finished) return
        if (c.firstAt) open--
        errors++
        settle()
      },
    }
    const conns = Array.from({ length: o.count }, () => new Conn(events, true))
    const perMs = o.openPerMs ?? 50
    let i = 0
    const ramp = () => {
      for (let n = 0; n < perMs && i < conns.length; n++, i++) connect(conns[i]!, hostname, port, c => c.send(req))
      if (i < conns.length) setTimeout(ramp, 1)
    }
    ramp()
    const timer = setTimeout(finish, o.timeoutMs)
  })
}

// ───────────── CLI ─────────────

function parseCli(argv: string[]): ({ mode: 'load' } & LoadOptions) & { json?: boolean } {
  const o: any = { mode: 'load', connections: 32, durationMs: 5000, headers: {} }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    const v = () => argv[++i]!
    switch (a) {
      case '--url':
        o.url = v()
        break
      case '-c':
      case '--connections':
        o.connections = Number(v())
        break
      case '-d':
      case '--duration':
        o.durationMs = Number(v()) * 1000
        break
      case '--warmup':
        o.warmupMs = Number(v()) * 1000
        break
      case '--rate':
        o.rate = Number(v())
        break
      case '-m':
      case '--method':
        o.method = v()
        break
      case '-H':
      case '--header': {
        const h = v()
        const c = h.indexOf(':')
        o.headers[h.slice(0, c).trim()] = h.slice(c + 1).trim()
        break
      }
      case '--body':
        o.body = v()
        break
      case '--body-file':
        o.body = require('node:fs').readFileSync(v(), 'utf8')
        break
      case '--frames':
        o.countFrames = true
        break
      case '--timeout':
        o.timeoutMs = Number(v()) * 1000
        break
      case '--json':
        o.json = true
        break
      default:
        if (!o.url && /^https?:/.test(a)) o.url = a
        else {
          console.error(`loadgen: unknown argument ${a}`)
          process.exit(2)
        }
    }
  }
  if (!o.url) {
    console.error('usage: bun bench/loadgen.ts --url URL [-c N] [-d SECONDS] [--rate R] [-m POST] [-H "k: v"] [--body JSON] [--frames] [--json]')
    process.exit(2)
  }
  return o
}

if (import.meta.main) {
  const arg = process.argv[2] ?? ''
  if (arg.startsWith('{')) {
    const o = JSON.parse(arg)
    const r = o.mode === 'streams' ? await openStreams(o) : await runLoad(o)
    process.stdout.write(`${JSON.stringify(r)}\n`)
  } else {
    const o = parseCli(process.argv.slice(2))
    const r = await runLoad(o)
    if (o.json) console.log(JSON.stringify(r, null, 2))
    else {
      const f = (x: number) => x.toFixed(2)
      console.log(`${r.mode} loop, ${r.connections} connections${r.rate ? `, ${r.rate} req/s` : ''}, ${r.durationS} s`)
      console.log(`  ${r.requests} answers, ${r.rps.toFixed(0)} req/s, non-2xx ${r.non2xx}, errors ${r.errors}, timeouts ${r.timeouts}`)
      console.log(`  latency ms  p50 ${f(r.latency.p50)}  p90 ${f(r.latency.p90)}  p99 ${f(r.latency.p99)}  max ${f(r.latency.max)}`)
      console.log(`  ttfb ms     p50 ${f(r.ttfb.p50)}  p90 ${f(r.ttfb.p90)}  p99 ${f(r.ttfb.p99)}`)
      if (r.framesPerResponse !== null) console.log(`  frames/answer ${r.framesPerResponse.toFixed(1)}`)
    }
  }
  process.exit(0)
}
