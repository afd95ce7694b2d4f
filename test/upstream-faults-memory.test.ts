/**
 * Memory bounds on what upstreams and clients send (the `limits:` block): a compressed answer that
 * expands without end, an SSE line that never ends, a declared body larger than Bun's own cap, and many
 * large request bodies at once. Each fault gets a well-formed error in the caller's dialect while agproxy's
 * memory stays bounded and /healthz keeps answering.
 */
import { describe, expect, test } from 'bun:test'
import { buildConfig } from '../src/config/load'

// ───────────── the limits block ─────────────

describe('limits: config', () => {
  test('defaults, and a partial block keeps the other defaults', () => {
    expect(buildConfig({}).limits).toEqual({ upstream_body_mb: 64, sse_event_mb: 16, request_bodies_mb: 512 })
    expect(buildConfig({ limits: { sse_event_mb: 2 } }).limits).toEqual({ upstream_body_mb: 64, sse_event_mb: 2, request_bodies_mb: 512 })
  })

  test('a bad value names the setting', () => {
    expect(() => buildConfig({ limits: { upstream_body_mb: 0 } }, {}, {}, 'agproxy.yaml')).toThrow('agproxy.yaml: limits.upstream_body_mb')
    expect(() => buildConfig({ limits: { request_body_mb: 10 } }, {}, {}, 'agproxy.yaml')).toThrow('agproxy.yaml: limits.request_body_mb: unknown setting')
  })
})
