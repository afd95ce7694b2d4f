/**
 * Per-app state: every cache that outlives a request, made by createApp and owned by that app alone, so a reload
 * or a second app in one process starts afresh and shares nothing (test/app-state.test.ts).
 */
import type { CodecMemory } from './ir/types'
import { createCodecMemory } from './ir/signatures'
import { HostHealth } from './providers/upstream-call'
import type { LiveStream } from './providers/stream-guard'
import { Recorder } from './observe/record'
import { LocalCounters, type SharedCounters } from './shared/redis'

export interface AppState {
  /** what codecs remember across requests: Gemini signatures (one cache), Anthropic signed thinking, the Responses store */
  memory: CodecMemory
  /** upstream hosts that answered lately, or refused a connect moments ago */
  hosts: HostHealth
  /** the streams clients are still reading, so shutdown can end them cleanly */
  streams: Set<LiveStream>
  /** finished requests, to the access log, the request store, /metrics and the admin feed (src/observe/record.ts) */
  recorder: Recorder
  /** why the gateway is degraded, by source (e.g. 'request-log' → 'database is read-only'); /healthz lists them */
  degraded: Map<string, string>
  /** openai / azure providers found without /v1/responses (`responses: auto`): their Responses calls go through Chat Completions */
  chatOnly: Set<string>
  /** request-log rows dropped because the write queue was full (the store counts, /metrics reports) */
  dropped: { logRows: number }
  /** rate, parallel and budget counters: in Redis when redis_url is set (shared by every instance), else this process's */
  counters: SharedCounters
}

/** A fresh state; `streams`: a registry to share instead of a new one (listen shares one across reloads, for shutdown). */
export function createAppState(streams: Set<LiveStream> = new Set()): AppState {
  return {
    memory: createCodecMemory(),
    hosts: new HostHealth(),
    streams,
    recorder: new Recorder(),
    degraded: new Map(),
    dropped: { logRows: 0 },
    chatOnly: new Set(),
    counters: new LocalCounters(),
  }
}
