import { describe, expect, test } from 'bun:test'
import { KeyPool, maskKey, type PoolOptions, type Strategy } from '../src/providers/pool.ts'
import { parseDuration, parseResetInstant, parseRetryAfter } from '../src/providers/cooldown.ts'
import { stickyKeyFor } from '../src/providers/sticky.ts'

const T0 = Date.parse('2025-06-01T12:00:00Z')
const KEYS = ['sk-aaaaaaaaaaaaaaaaaaaaaaaa1111', 'sk-bbbbbbbbbbbbbbbbbbbbbbbb2222', 'sk-cccccccccccccccccccccccc3333']

function setup(opts: PoolOptions & { keys?: Parameters<typeof pool>[0] } = {}) {
  const clock = { t: T0 }
  const p = pool(opts.keys ?? KEYS, { now: () => clock.t, ...opts })
  return { p, clock }
}
function pool(keys: ConstructorParameters<typeof KeyPool>[1], opts: PoolOptions) {
  return new KeyPool('google', keys, opts)
}
const names = (p: KeyPool, n: number, o?: Parameters<KeyPool['pick']>[0]) => Array.from({ length: n }, () => p.pick(o)?.name)
/** the handle of key i (it must be usable now) */
const key = (p: KeyPool, i: number) => p.pick({ exclude: new Set(KEYS.filter((_, j) => j !== i)) })!

describe('maskKey', () => {
  test.each([
    ['sk-proj-abcdefghijklmnopqrstuvwxyz1234', 'sk-…1234'],
    ['AIzaSyA-0123456789abcdefghijklmnopqrstuv', 'AIz…stuv'],
    ['short-key', '****'],
    ['', '****'],
  ])('%p → %p', (k, want) => expect(maskKey(k)).toBe(want))
})

describe('rotation', () => {
  const cases: Array<[string, Strategy, ConstructorParameters<typeof KeyPool>[1], string[]]> = [
    [
      'round_robin, equal',
      'round_robin',
      ['kA-xxxxxxxxxxxxxxxxxxx', 'kB-xxxxxxxxxxxxxxxxxxx', 'kC-xxxxxxxxxxxxxxxxxxx'].map((key, i) => ({ key, name: 'abc'[i]! })),
      ['a', 'b', 'c', 'a', 'b', 'c'],
    ],
    [
      'round_robin, weights 5/1/1 (nginx order)',
      'round_robin',
      [
        { key: 'k1', name: 'a', weight: 5 },
        { key: 'k2', name: 'b' },
        { key: 'k3', name: 'c' },
      ],
      ['a', 'a', 'b', 'a', 'c', 'a', 'a', 'a', 'a', 'b'],
    ],
    [
      'round_robin, weights 2/1',
      'round_robin',
      [
        { key: 'k1', name: 'a', weight: 2 },
        { key: 'k2', name: 'b', weight: 1 },
      ],
      ['a', 'b', 'a', 'a', 'b', 'a'],
    ],
    [
      'fill_first',
      'fill_first',
      [
        { key: 'k1', name: 'a' },
        { key: 'k2', name: 'b' },
      ],
      ['a', 'a', 'a'],
    ],
    [
      'least_used',
      'least_used',
      [
        { key: 'k1', name: 'a' },
        { key: 'k2', name: 'b' },
        { key: 'k3', name: 'c' },
      ],
      ['a', 'b', 'c', 'a', 'b', 'c'],
    ],
  ]
  test.each(cases)('%s', (_, strategy, keys, want) => {
    const { p } = setup({ strategy, keys })
    expect(names(p, want.length)).toEqual(want)
  })

  test('fill_first moves on when the first key cools, and back when it recovers', () => {
    const { p, clock } = setup({ strategy: 'fill_first' })
    const a = p.pick()!
    p.failure(a, { status: 429, headers: { 'retry-after': '10' } })
    expect(p.pick()!.index).toBe(1)
    clock.t += 10_001
    expect(p.pick()!.index).toBe(0)
  })

  test('least_used prefers the key with fewest uses, ties by order', () => {
    const { p } = setup({ strategy: 'least_used' })
    const a = p.pick()!
    p.failure(a, { status: 503 })
    expect(names(p, 2)).toEqual([p.states()[1]!.name, p.states()[2]!.name])
    expect(p.states().map(s => s.uses)).toEqual([1, 1, 1])
  })

  test('exclude skips keys already tried (by raw key or name), cooling keys are skipped', () => {
    const { p } = setup({ strategy: 'fill_first' })
    const a = p.pick()!
    expect(p.pick({ exclude: new Set([a.key]) })!.index).toBe(1)
    expect(p.pick({ exclude: new Set([a.name, p.states()[1]!.name]) })!.index).toBe(2)
    expect(p.pick({ exclude: new Set(KEYS) })).toBeUndefined()
  })

  test('empty pool', () => {
    const p = new KeyPool('x', [])
    expect(p.size).toBe(0)
    expect(p.pick()).toBeUndefined()
    expect(p.describe()).toBe('0 keys of provider x')
  })
})

describe('stickiness', () => {
  test('the same sticky value maps to the same key while it is healthy', () => {
    const { p } = setup()
    for (const conv of ['conv-1', 'conv-2', 'conv-3', 'conv-4']) {
      const first = p.pick({ sticky: conv })!.index
      for (let i = 0; i < 5; i++) expect(p.pick({ sticky: conv })!.index).toBe(first)
    }
  })

  test('moves when its key cools and stays on the new key after the old one recovers', () => {
    const { p, clock } = setup()
    const home = p.pick({ sticky: 'conv' })!
    p.failure(home, { status: 429, headers: { 'retry-after': '30' } })
    const moved = p.pick({ sticky: 'conv' })!
    expect(moved.index).not.toBe(home.index)
    expect(p.pick({ sticky: 'conv' })!.index).toBe(moved.index)
    clock.t += 31_000
    expect(p.pick({ sticky: 'conv' })!.index).toBe(moved.index) // documented: no move back
  })

  test('an excluded sticky key falls through to the strategy', () => {
    const { p } = setup()
    const home = p.pick({ sticky: 'conv' })!
    expect(p.pick({ sticky: 'conv', exclude: new Set([home.key]) })!.index).not.toBe(home.index)
  })
})

describe('cooldown hints on 429', () => {
  const date = (ms: number) => new Date(T0 + ms).toUTCString()
  const iso = (ms: number) => new Date(T0 + ms).toISOString()
  const retryInfo = (d: string) => ({
    error: {
      code: 429,
      status: 'RESOURCE_EXHAUSTED',
      message: 'Resource exhausted',
      details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: d }],
    },
  })
  const cases: Array<[string, { headers?: Headers | Record<string, string>; body?: unknown }, number]> = [
    ['retry-after seconds', { headers: { 'Retry-After': '41' } }, 41_000],
    ['retry-after HTTP-date', { headers: new Headers({ 'retry-after': date(90_000) }) }, 90_000],
    ['retry-after-ms', { headers: { 'retry-after-ms': '2500' } }, 2_500],
    ['RetryInfo "41s"', { body: retryInfo('41s') }, 41_000],
    ['RetryInfo "1.5s"', { body: retryInfo('1.5s') }, 1_500],
    ['RetryInfo in an array-wrapped Gemini error', { body: [retryInfo('7s')] }, 7_000],
    [
      'Anthropic: exhausted window wins',
      {
        headers: {
          'anthropic-ratelimit-requests-remaining': '0',
          'anthropic-ratelimit-requests-reset': iso(20_000),
          'anthropic-ratelimit-tokens-remaining': '9000',
          'anthropic-ratelimit-tokens-reset': iso(50_000),
        },
      },
      20_000,
    ],
    [
      'Anthropic: latest reset when none says remaining 0',
      {
        headers: {
          'anthropic-ratelimit-requests-reset': iso(20_000),
          'anthropic-ratelimit-input-tokens-reset': iso(45_000),
          'anthropic-ratelimit-output-tokens-reset': iso(12_000),
        },
      },
      45_000,
    ],
    [
      'Anthropic: input+output tokens both spent → latest',
      {
        headers: {
          'anthropic-ratelimit-input-tokens-remaining': '0',
          'anthropic-ratelimit-input-tokens-reset': iso(8_000),
          'anthropic-ratelimit-output-tokens-remaining': '0',
          'anthropic-ratelimit-output-tokens-reset': iso(33_000),
          'anthropic-ratelimit-requests-remaining': '10',
          'anthropic-ratelimit-requests-reset': iso(59_000),
        },
      },
      33_000,
    ],
    [
      'OpenAI x-ratelimit-reset-tokens "6m0s"',
      {
        headers: {
          'x-ratelimit-remaining-tokens': '0',
          'x-ratelimit-reset-tokens': '6m0s',
          'x-ratelimit-remaining-requests': '40',
          'x-ratelimit-reset-requests': '20ms',
        },
      },
      360_000,
    ],
    ['OpenAI "20ms" is floored to 1 s', { headers: { 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '20ms' } }, 1_000],
    ['retry-after beats the rest', { headers: { 'retry-after': '3', 'x-ratelimit-reset-tokens': '6m0s' } }, 3_000],
    ['Gemini message "Please retry in 25.4s."', { body: { error: { code: 429, message: 'Quota exceeded. Please retry in 25.465784708s.' } } }, 25_466],
  ]
  test.each(cases)('%s', (_, f, want) => {
    const { p, clock } = setup()
    const k = p.pick()!
    const out = p.failure(k, { status: 429, ...f })
    expect(out).toMatchObject({ retryable: true, cooldownMs: want })
    expect(out.disabled).toBeUndefined()
    expect(p.states()[k.index]).toMatchObject({ status: 'cooling', until: T0 + want })
    clock.t += want
    expect(p.states()[k.index]!.status).toBe('active')
  })
})

describe('ladder', () => {
  test('consecutive hintless 429s climb the ladder, capped; success resets it', () => {
    const { p, clock } = setup({ strategy: 'fill_first', keys: ['only-one-key-xxxxxxxxxxxx'] })
    const seen: number[] = []
    for (let i = 0; i < 4; i++) {
      const k = p.pick()!
      seen.push(p.failure(k, { status: 429, body: { error: { type: 'rate_limit_error', message: 'slow down' } } }).cooldownMs!)
      expect(p.pick()).toBeUndefined()
      clock.t += seen.at(-1)!
    }
    expect(seen).toEqual([5_000, 30_000, 300_000, 300_000])
    const k = p.pick()!
    p.success(k)
    expect(p.failure(k, { status: 429 }).cooldownMs).toBe(5_000)
  })

  test('custom ladder', () => {
    const { p } = setup({ ladderMs: [100, 200] })
    const k = p.pick()!
    expect([1, 2, 3].map(() => p.failure(k, { status: 429 }).cooldownMs)).toEqual([100, 200, 200])
  })

  test('a later, shorter cooldown does not shorten a running one', () => {
    const { p } = setup()
    const k = p.pick()!
    p.failure(k, { status: 429, headers: { 'retry-after': '60' } })
    p.failure(k, { status: 503 })
    expect(p.states()[k.index]!.until).toBe(T0 + 60_000)
  })
})

describe('quota exhausted and per-model limits', () => {
  const geminiQuota = (quotaId: string, model?: string, extra: object[] = []) => ({
    error: {
      code: 429,
      status: 'RESOURCE_EXHAUSTED',
      message: 'You exceeded your current quota, please check your plan and billing details.',
      details: [
        {
          '@type': 'type.googleapis.com/google.rpc.QuotaFailure',
          violations: [
            {
              quotaMetric: 'generativelanguage.googleapis.com/generate_content_free_tier_requests',
              quotaId,
              ...(model && { quotaDimensions: { location: 'global', model } }),
              quotaValue: '50',
            },
          ],
        },
        ...extra,
      ],
    },
  })
  const retry = { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '41s' }

  const cases: Array<[string, { status: number; body?: unknown; model?: string }, { ms: number; model?: string }]> = [
    [
      'OpenAI insufficient_quota',
      {
        status: 429,
        body: {
          error: {
            message: 'You exceeded your current quota, please check your plan and billing details.',
            type: 'insufficient_quota',
            param: null,
            code: 'insufficient_quota',
          },
        },
      },
      { ms: 3_600_000 },
    ],
    [
      'Gemini per-day QuotaFailure, per model',
      { status: 429, body: geminiQuota('GenerateRequestsPerDayPerProjectPerModel-FreeTier', 'gemini-2.5-pro', [retry]), model: 'gemini-2.5-pro' },
      { ms: 3_600_000, model: 'gemini-2.5-pro' },
    ],
    [
      'Gemini per-minute QuotaFailure: RetryInfo, per model',
      { status: 429, body: geminiQuota('GenerateContentInputTokensPerModelPerMinute-FreeTier', 'gemini-2.5-pro', [retry]), model: 'gemini-2.5-pro' },
      { ms: 41_000, model: 'gemini-2.5-pro' },
    ],
    [
      'Gemini per-model dimension names the model when the caller did not',
      { status: 429, body: geminiQuota('GenerateRequestsPerMinutePerProjectPerModel', 'gemini-2.0-flash', [retry]) },
      { ms: 41_000, model: 'gemini-2.0-flash' },
    ],
    [
      'Gemini per-day wording in message',
      {
        status: 429,
        body: {
          error: {
            code: 429,
            status: 'RESOURCE_EXHAUSTED',
            message: "Quota exceeded for quota metric 'Gemini 2.5 Pro Requests' and limit 'Gemini 2.5 Pro Requests per day per user per tier'",
          },
        },
      },
      { ms: 3_600_000 },
    ],
    [
      'Gemini generic "quota" 429 without per-day wording: ladder',
      {
        status: 429,
        body: { error: { code: 429, status: 'RESOURCE_EXHAUSTED', message: 'You exceeded your current quota, please check your plan and billing details.' } },
      },
      { ms: 5_000 },
    ],
    [
      "OpenAI 429 naming the caller's model: per model",
      {
        status: 429,
        body: {
          error: { message: 'Rate limit reached for gpt-4o in organization org-x on tokens per min (TPM)', type: 'tokens', code: 'rate_limit_exceeded' },
        },
        model: 'gpt-4o',
      },
      { ms: 5_000, model: 'gpt-4o' },
    ],
  ]
  test.each(cases)('%s', (_, f, want) => {
    const { p } = setup({ strategy: 'fill_first' })
    const k = p.pick()!
    const out = p.failure(k, f)
    expect(out).toMatchObject({ retryable: true, cooldownMs: want.ms })
    const st = p.states()[0]!
    if (want.model) {
      expect(st.status).toBe('active')
      expect(st.models?.[want.model]?.until).toBe(T0 + want.ms)
      expect(p.pick({ model: want.model })!.index).toBe(1)
      expect(p.pick({ model: `models/${want.model}` })!.index).toBe(1)
      expect(p.pick({ model: 'some-other-model' })!.index).toBe(0)
      expect(p.pick()!.index).toBe(0)
    } else {
      expect(st).toMatchObject({ status: 'cooling', until: T0 + want.ms })
      expect(st.models).toBeUndefined()
      expect(p.pick()!.index).toBe(1)
    }
  })

  // providers limit per model: a 429 is the request's model's whatever its message names (a whole-key limit says so)
  test.each([
    ['Rate limit reached for gpt-4o-mini in organization org-x', 'gpt-4o'],
    ['Rate limit reached for gpt-4o in organization org-x', 'gpt-4o'],
    ['Quota exceeded for models/gemini-2.5-pro.', 'gemini-2.5-pro'],
    ['Quota exceeded for gemini-2.5-pro-preview', 'gemini-2.5-pro'],
    ['Too many requests, slow down.', 'claude-sonnet-4-5'],
  ] as const)('429 %p for a request for %p: that model cools, the key serves the others', (message, model) => {
    const { p } = setup({ strategy: 'fill_first' })
    p.failure(p.pick()!, { status: 429, model, body: { error: { message } } })
    expect(p.states()[0]!.status).toBe('active')
    expect(p.states()[0]!.models?.[model]?.until).toBe(T0 + 5_000)
    expect(p.pick({ model })!.index).toBe(1)
    expect(p.pick({ model: 'another-model' })!.index).toBe(0)
  })

  test('quotaCooldownMs is configurable (within maxCooldownMs, 1 h unless raised)', () => {
    const { p } = setup({ quotaCooldownMs: 86_400_000, maxCooldownMs: 86_400_000 })
    expect(p.failure(p.pick()!, { status: 429, body: { error: { type: 'insufficient_quota', message: 'x' } } }).cooldownMs).toBe(86_400_000)
    const { p: capped } = setup({ quotaCooldownMs: 86_400_000 })
    expect(capped.failure(capped.pick()!, { status: 429, body: { error: { type: 'insufficient_quota', message: 'x' } } }).cooldownMs).toBe(3_600_000)
  })
})

describe('maxCooldownMs (retry.max_cooldown) caps every cooldown', () => {
  const HUGE = 999_999_999 // seconds
  const far = new Date(T0 + HUGE * 1000)
  const RETRY_INFO = 'type.googleapis.com/google.rpc.RetryInfo'
  const google = (message: string, details: object[]) => ({ error: { code: 429, status: 'RESOURCE_EXHAUSTED', message, details } })
  const perDay = {
    '@type': 'type.googleapis.com/google.rpc.QuotaFailure',
    violations: [{ quotaId: 'GenerateRequestsPerDayPerProjectPerModel', quotaDimensions: { model: 'gemini-2.5-pro' }, quotaValue: '50' }],
  }
  const cases: Array<[string, Parameters<KeyPool['failure']>[1], PoolOptions, string]> = [
    ['retry-after seconds', { status: 429, headers: { 'retry-after': String(HUGE) } }, {}, 'retry-after'],
    ['retry-after HTTP-date', { status: 429, headers: { 'retry-after': far.toUTCString() } }, {}, 'retry-after'],
    ['retry-after-ms', { status: 429, headers: { 'retry-after-ms': String(HUGE * 1000) } }, {}, 'retry-after-ms'],
    ['Google RetryInfo', { status: 429, body: google('x', [{ '@type': RETRY_INFO, retryDelay: `${HUGE}s` }]) }, {}, 'RetryInfo'],
    [
      'anthropic-ratelimit-*-reset',
      {
        status: 429,
        headers: { 'anthropic-ratelimit-requests-remaining': '0', 'anthropic-ratelimit-requests-reset': far.toISOString() },
      },
      {},
      'anthropic-ratelimit reset',
    ],
    [
      'x-ratelimit-reset-*',
      {
        status: 429,
        headers: { 'x-ratelimit-remaining-tokens': '0', 'x-ratelimit-reset-tokens': '277777h46m39s' },
      },
      {},
      'x-ratelimit reset',
    ],
    ['"Please retry in" message', { status: 429, body: { error: { message: `Please retry in ${HUGE}s.` } } }, {}, 'message'],
    [
      'quota spent (quotaCooldownMs above the cap)',
      {
        status: 429,
        body: { error: { type: 'insufficient_quota', message: 'x' } },
      },
      { quotaCooldownMs: 86_400_000 },
      'quota spent',
    ],
    [
      'quota spent with a longer hint',
      {
        status: 429,
        body: google('You exceeded your current quota.', [perDay, { '@type': RETRY_INFO, retryDelay: `${HUGE}s` }]),
      },
      {},
      'quota spent',
    ],
    ['the ladder', { status: 429 }, { ladderMs: [7_200_000] }, 'backoff step 1'],
    ['a server error', { status: 503 }, { serverErrorCooldownMs: 7_200_000 }, ''],
  ]
  test.each(cases)('%s', (_, f, opts, source) => {
    for (const [max, want] of [
      [undefined, 3_600_000],
      [60_000, 60_000],
    ] as const) {
      const { p } = setup({ ...opts, maxCooldownMs: max, keys: [KEYS[0]!] })
      const out = p.failure(p.pick()!, f)
      expect(out).toMatchObject({ retryable: true, cooldownMs: want })
      expect(out.reason).toContain(`${source ? `${source}, ` : ''}capped by retry.max_cooldown (${want === 60_000 ? '60 s' : '60 min'})`)
      const st = p.states()[0]!
      expect(st.until ?? st.models?.['gemini-2.5-pro']?.until).toBe(T0 + want)
    }
  })

  test('a cooldown under the cap is untouched, and says nothing about it', () => {
    const { p } = setup({ maxCooldownMs: 60_000 })
    const out = p.failure(p.pick()!, { status: 429, headers: { 'retry-after': '59' } })
    expect(out.cooldownMs).toBe(59_000)
    expect(out.reason).not.toContain('capped')
  })
})

describe("scope: a limit is the model's unless the upstream says the whole key is limited", () => {
  const violation = (quotaId: string, model?: string) => ({
    quotaMetric: 'generativelanguage.googleapis.com/generate_content_requests',
    quotaId,
    ...(model && { quotaDimensions: { location: 'global', model } }),
  })
  const gemini = (...violations: object[]) => ({
    error: {
      code: 429,
      status: 'RESOURCE_EXHAUSTED',
      message: 'Quota exceeded.',
      details: [
        { '@type': 'type.googleapis.com/google.rpc.QuotaFailure', violations },
        { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '30s' },
      ],
    },
  })
  const PER_MINUTE = 'GenerateRequestsPerMinutePerProjectPerModel'
  const cases: Array<[string, Parameters<KeyPool['failure']>[1], 'model' | 'key']> = [
    [
      'the issue: retry-after 999999999 on a 429 that names no model',
      {
        status: 429,
        model: 'gpt-4o',
        headers: { 'retry-after': '999999999' },
        body: { error: { message: 'Too many requests' } },
      },
      'model',
    ],
    [
      'OpenAI rate_limit_exceeded with x-ratelimit-* headers (per model)',
      {
        status: 429,
        model: 'gpt-4o',
        headers: { 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '20s' },
        body: { error: { type: 'requests', code: 'rate_limit_exceeded', message: 'Rate limit reached on requests per min (RPM)' } },
      },
      'model',
    ],
    [
      'Anthropic rate_limit_error (per model class)',
      {
        status: 429,
        model: 'claude-opus-4-1',
        body: { type: 'error', error: { type: 'rate_limit_error', message: 'This request would exceed the rate limit for your organization.' } },
      },
      'model',
    ],
    [
      'Gemini RESOURCE_EXHAUSTED without details',
      {
        status: 429,
        model: 'gemini-2.5-pro',
        body: { error: { code: 429, status: 'RESOURCE_EXHAUSTED', message: 'Resource has been exhausted (e.g. check quota).' } },
      },
      'model',
    ],
    [
      "Gemini QuotaFailure naming another model (an alias): the request's model",
      {
        status: 429,
        model: 'gemini-pro-latest',
        body: gemini(violation(PER_MINUTE, 'gemini-2.5-pro')),
      },
      'model',
    ],
    [
      'Gemini per-day quota per model',
      {
        status: 429,
        model: 'gemini-2.5-pro',
        body: gemini(violation('GenerateRequestsPerDayPerProjectPerModel-FreeTier', 'gemini-2.5-pro')),
      },
      'model',
    ],
    [
      'OpenAI insufficient_quota (billing: the key)',
      {
        status: 429,
        model: 'gpt-4o',
        body: { error: { type: 'insufficient_quota', code: 'insufficient_quota', message: 'You exceeded your current quota.' } },
      },
      'key',
    ],
    ['402 Payment Required (the key)', { status: 402, model: 'gpt-4o', body: { error: { message: 'Insufficient credits' } } }, 'key'],
    [
      'Gemini quota on the project, no model dimension (the key)',
      {
        status: 429,
        model: 'gemini-2.5-pro',
        body: gemini(violation('GenerateRequestsPerMinutePerProject')),
      },
      'key',
    ],
    [
      'Gemini per-model and project violations together (the key)',
      {
        status: 429,
        model: 'gemini-2.5-pro',
        body: gemini(violation(PER_MINUTE, 'gemini-2.5-pro'), violation('GenerateRequestsPerDayPerProject')),
      },
      'key',
    ],
  ]
  test.each(cases)('%s', (_, f, scope) => {
    const { p } = setup({ strategy: 'fill_first' })
    p.failure(p.pick()!, f)
    const st = p.states()[0]!
    if (scope === 'model') {
      expect(st.status).toBe('active')
      expect(Object.keys(st.models ?? {})).toEqual([f.model!])
      expect(p.pick({ model: f.model })!.index).toBe(1)
      expect(p.pick({ model: 'another-model' })!.index).toBe(0) // the same key still serves another model
    } else {
      expect(st.status).toBe('cooling')
      expect(st.models).toBeUndefined()
      expect(p.pick({ model: 'another-model' })!.index).toBe(1)
    }
  })
})

describe('status classes', () => {
  const cases: Array<[string, number | undefined, { retryable: boolean; cooldownMs?: number; disabled?: true }]> = [
    ['401', 401, { retryable: true, disabled: true }],
    ['403', 403, { retryable: true, disabled: true }],
    ['400', 400, { retryable: false }],
    ['404', 404, { retryable: false }],
    ['413', 413, { retryable: false }],
    ['422', 422, { retryable: false }],
    ['408', 408, { retryable: true, cooldownMs: 2_000 }],
    ['500', 500, { retryable: true, cooldownMs: 2_000 }],
    ['502', 502, { retryable: true, cooldownMs: 2_000 }],
    ['503', 503, { retryable: true, cooldownMs: 2_000 }],
    ['504', 504, { retryable: true, cooldownMs: 2_000 }],
    ['529 overloaded', 529, { retryable: true, cooldownMs: 2_000 }],
    ['network error', undefined, { retryable: true, cooldownMs: 2_000 }],
  ]
  test.each(cases)('%s', (_, status, want) => {
    const { p, clock } = setup({ strategy: 'fill_first' })
    const k = p.pick()!
    const out = p.failure(k, { status, body: { error: { message: 'nope' } } })
    expect({ retryable: out.retryable, cooldownMs: out.cooldownMs, disabled: out.disabled }).toEqual({ cooldownMs: undefined, disabled: undefined, ...want })
    const st = p.states()[0]!
    if (want.disabled) {
      expect(st.status).toBe('disabled')
      expect(out.reason).toBe(`${status} from upstream: nope`)
      clock.t += 365 * 86_400_000
      expect(p.pick()!.index).toBe(1)
    } else if (want.cooldownMs) {
      expect(st.status).toBe('cooling')
      expect(p.pick()!.index).toBe(1)
      clock.t += want.cooldownMs
      expect(p.pick()!.index).toBe(0)
    } else {
      expect(st).toMatchObject({ status: 'active', failures: 0 })
      expect(p.pick()!.index).toBe(0)
    }
  })

  test('Gemini 400 API_KEY_INVALID disables the key', () => {
    const { p } = setup()
    const k = p.pick()!
    const out = p.failure(k, {
      status: 400,
      body: {
        error: {
          code: 400,
          message: 'API key not valid. Please pass a valid API key.',
          status: 'INVALID_ARGUMENT',
          details: [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID', domain: 'googleapis.com' }],
        },
      },
    })
    expect(out).toMatchObject({ retryable: true, disabled: true })
    expect(p.states()[k.index]!.status).toBe('disabled')
  })

  test('a stale PooledKey from another pool is matched by key, or ignored', () => {
    const { p } = setup()
    const other = new KeyPool('google', ['sk-zzzzzzzzzzzzzzzzzzzzzzzz9999', KEYS[1]!])
    p.failure(other.pick()!, { status: 403 })
    expect(p.states().every(s => s.status === 'active')).toBe(true)
    p.failure(other.pick()!, { status: 403 })
    expect(p.states().map(s => s.status)).toEqual(['active', 'disabled', 'active'])
  })
})

describe('soonestAvailable and describe', () => {
  test('undefined while a key is usable; soonest when all cool; undefined when all disabled', () => {
    const { p, clock } = setup({ strategy: 'fill_first' })
    const [a, b, c] = [0, 1, 2].map(i => key(p, i))
    expect(p.soonestAvailable()).toBeUndefined()
    p.failure(a!, { status: 429, headers: { 'retry-after': '41' } })
    p.failure(b!, { status: 429, headers: { 'retry-after': '120' } })
    expect(p.soonestAvailable()).toBeUndefined()
    p.failure(c!, { status: 403, body: { error: { type: 'permission_error', message: 'forbidden' } } })
    expect(p.soonestAvailable()).toBe(T0 + 41_000)
    expect(p.describe()).toBe('3 keys of provider google: 2 cooling (429, 41 s), 1 disabled (403)')
    clock.t += 41_000
    expect(p.soonestAvailable()).toBeUndefined()
    expect(p.describe()).toBe('3 keys of provider google: 1 active, 1 cooling (429, 79 s), 1 disabled (403)')
    p.failure(a!, { status: 401 })
    p.failure(b!, { status: 401 })
    expect(p.soonestAvailable()).toBeUndefined()
    expect(p.describe()).toBe('3 keys of provider google: 3 disabled (401/403)')
  })

  test('per model', () => {
    const { p } = setup({ keys: [KEYS[0]!] })
    const k = p.pick()!
    p.failure(k, {
      status: 429,
      model: 'gemini-2.5-pro',
      body: { error: { message: 'quota exceeded for gemini-2.5-pro', details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '30s' }] } },
    })
    expect(p.soonestAvailable()).toBeUndefined()
    expect(p.soonestAvailable('gemini-2.5-pro')).toBe(T0 + 30_000)
    expect(p.describe()).toBe('1 key of provider google: 1 active')
    expect(p.describe('gemini-2.5-pro')).toBe('1 key of provider google: 1 cooling (429, 30 s)')
  })

  test('quota label and long durations', () => {
    const { p } = setup({ keys: [KEYS[0]!] })
    p.failure(p.pick()!, { status: 429, body: { error: { type: 'insufficient_quota', message: 'You exceeded your current quota' } } })
    expect(p.describe()).toBe('1 key of provider google: 1 cooling (quota, 60 min)')
  })
})

describe('no raw key leaks', () => {
  test('states, describe, reasons, PooledKey JSON/string/inspect, pool JSON', () => {
    const { p } = setup()
    const k = key(p, 0)
    const outs = [
      p.failure(k, {
        status: 401,
        body: { error: { message: `Incorrect API key provided: ${KEYS[0]}.`, type: 'invalid_request_error', code: 'invalid_api_key' } },
      }),
      p.failure(key(p, 1), { status: 429, body: `{"error":{"message":"key ${KEYS[1]} is rate limited"}}` }),
      p.failure(key(p, 2), { status: 500, body: new Error(`boom ${KEYS[2]}`) }),
    ]
    const texts = [
      JSON.stringify(p.states()),
      p.describe(),
      p.describe('m'),
      JSON.stringify(outs),
      JSON.stringify(k),
      String(k),
      `${k}`,
      Bun.inspect(k),
      JSON.stringify(p),
      JSON.stringify({ k }),
      Object.keys(k).join(),
    ]
    for (const t of texts) for (const raw of KEYS) expect(t).not.toContain(raw)
    expect(outs[0]!.reason).toBe('401 from upstream: Incorrect API key provided: sk-…1111.')
    expect(k.key).toBe(KEYS[0]!)
  })
})

describe('hint parsers', () => {
  test.each([
    ['6m0s', 360_000],
    ['1s', 1000],
    ['20ms', 20],
    ['1.5s', 1500],
    ['41s', 41_000],
    ['1h2m3.5s', 3_723_500],
    ['45.837906927s', 45_837.906927],
    ['12', 12_000],
    ['0', 0],
    ['soon', undefined],
    ['', undefined],
    ['5x', undefined],
  ] as const)('parseDuration(%p) = %p', (s, ms) => {
    const got = parseDuration(s)
    if (ms === undefined) expect(got).toBeUndefined()
    else expect(got).toBeCloseTo(ms, 6)
  })
  test('parseRetryAfter / parseResetInstant', () => {
    expect(parseRetryAfter('120', T0)).toBe(120_000)
    expect(parseRetryAfter(new Date(T0 + 5_000).toUTCString(), T0)).toBe(5_000)
    expect(parseRetryAfter(new Date(T0 - 5_000).toUTCString(), T0)).toBe(0)
    expect(parseRetryAfter('garbage', T0)).toBeUndefined()
    expect(parseResetInstant('2025-06-01T12:00:41Z', T0)).toBe(41_000)
    expect(parseResetInstant('2025-06-01T14:00:41+02:00', T0)).toBe(41_000)
    expect(parseResetInstant(String((T0 + 9_000) / 1000), T0)).toBe(9_000)
    expect(parseResetInstant('41', T0)).toBeUndefined()
  })
})

describe('stickyKeyFor', () => {
  const h = (o: Record<string, string> = {}) => new Headers(o)
  test.each([
    ['Claude Code session header', h({ 'x-claude-code-session-id': 'abc-123' }), { metadata: { user_id: 'u' } }, 'session:abc-123'],
    ['Anthropic metadata.user_id', h(), { metadata: { user_id: 'user_x_session_y' }, messages: [] }, 'user:user_x_session_y'],
    ['OpenAI prompt_cache_key', h(), { prompt_cache_key: 'pck', user: 'bob' }, 'cache:pck'],
    ['OpenAI user', h(), { user: 'bob' }, 'user:bob'],
    ['nothing to hash', h(), { model: 'x', messages: [] }, undefined],
    ['no body', h(), undefined, undefined],
  ])('%s', (_, headers, body, want) => expect(stickyKeyFor(headers, body)).toBe(want))

  const sys = 'You are helpful.'
  const first = 'Hello there'
  const dialects: Array<[string, (u: string) => any]> = [
    [
      'OpenAI chat',
      u => ({
        messages: [
          { role: 'system', content: sys },
          { role: 'user', content: [{ type: 'text', text: u }] },
          { role: 'assistant', content: 'hi' },
          { role: 'user', content: 'more' },
        ],
      }),
    ],
    [
      'Anthropic',
      u => ({
        system: [{ type: 'text', text: sys }],
        messages: [
          { role: 'user', content: u },
          { role: 'assistant', content: [{ type: 'text', text: 'hi' }] },
        ],
      }),
    ],
    [
      'Gemini',
      u => ({
        systemInstruction: { parts: [{ text: sys }] },
        contents: [
          { role: 'user', parts: [{ text: u }] },
          { role: 'model', parts: [{ text: 'hi' }] },
        ],
      }),
    ],
    ['Responses', u => ({ instructions: sys, input: [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: u }] }] })],
    ['Responses, string input', u => ({ input: u })],
  ]
  test.each(dialects)('%s: stable hash of system + first user turn, later turns ignored', (_, mk) => {
    const a = stickyKeyFor(h(), mk(first))
    expect(a).toMatch(/^hash:[0-9a-z]+$/)
    const later = mk(first)
    for (const list of [later.messages, later.contents, later.input]) if (Array.isArray(list)) list.push({ role: 'user', content: 'x', parts: [{ text: 'x' }] })
    expect(stickyKeyFor(h(), later)).toBe(a!)
    expect(stickyKeyFor(h(), mk('something else'))).not.toBe(a!)
  })
})
