/** What the bench sends: targets and scenarios (one request shape per target and scenario). */
import type { RequestSpec } from './loadgen'

export type TargetId = 'direct' | 'bare' | 'src' | 'bin' | 'portkey' | 'ccr'

export interface Target {
  id: TargetId
  label: string
  url: string
  /** the process whose memory is read (none for the direct upstream) */
  pid?: number
}

export const TARGET_LABELS: Record<TargetId, string> = {
  direct: 'upstream directly',
  bare: 'bare Bun proxy',
  src: 'agproxy (source)',
  bin: 'agproxy (binary)',
  portkey: 'Portkey gateway',
  ccr: 'claude-code-router',
}

/** the peers (run with --peers), each in the scenarios it can take part in */
export const PEERS = ['portkey', 'ccr'] as const satisfies readonly TargetId[]
export type PeerId = (typeof PEERS)[number]

export interface Scenario {
  id: string
  title: string
  kind: 'passthrough' | 'translated'
  stream: boolean
  /** the request for a target; `suffix` picks the upstream's timing ('' all at once, '-paced', '-hold'); undefined = the target cannot take part */
  request(t: Target, suffix: string, upstreamUrl: string): RequestSpec | undefined
  /** what the upstream's answer looks like (for the direct and bare targets) */
  note: string
}

const SYSTEM = 'You are a terse assistant.'
const USER = 'Say hello in five words.'

export const openaiBody = (model: string, stream: boolean) =>
  JSON.stringify({
    model,
    messages: [
      { role: 'system', content: SYSTEM },
      { role: 'user', content: USER },
    ],
    max_tokens: 64,
    ...(stream ? { stream: true } : {}),
  })
export const anthropicBody = (model: string, stream: boolean) =>
  JSON.stringify({ model, max_tokens: 64, system: SYSTEM, messages: [{ role: 'user', content: USER }], ...(stream ? { stream: true } : {}) })
export const geminiBody = () =>
  JSON.stringify({
    systemInstruction: { parts: [{ text: SYSTEM }] },
    contents: [{ role: 'user', parts: [{ text: USER }] }],
    generationConfig: { maxOutputTokens: 64 },
  })

/** An OpenAI chat request to a target (claude-code-router takes Anthropic clients only: none for it). */
export function openaiRequest(t: Target, model: string, stream: boolean, upstreamUrl: string): RequestSpec | undefined {
  if (t.id === 'ccr') return undefined
  const headers: Record<string, string> = { 'content-type': 'application/json', authorization: 'Bearer sk-bench-client-0000' }
  if (t.id === 'portkey') {
    headers['x-portkey-provider'] = 'openai'
    headers['x-portkey-custom-host'] = `${upstreamUrl}/v1`
  }
  return { url: `${t.url}/v1/chat/completions`, method: 'POST', headers, body: openaiBody(model, stream) }
}

/** The Anthropic request of the translated scenarios; claude-code-router picks the provider by `provider,model`. */
const anthropicRequest = (t: Target, provider: string, model: string, stream: boolean): RequestSpec => ({
  url: `${t.url}/v1/messages`,
  method: 'POST',
  headers: { 'content-type': 'application/json', 'x-api-key': 'sk-ant-bench-client', 'anthropic-version': '2023-06-01' },
  body: anthropicBody(t.id === 'ccr' ? `${provider},${model}` : model, stream),
})

/** Anthropic client → OpenAI-compatible upstream (translated); direct and bare send the OpenAI request itself. */
function anthropicToOpenai(stream: boolean) {
  return (t: Target, suffix: string, upstreamUrl: string): RequestSpec | undefined => {
    const model = `gpt-bench${suffix}`
    if (t.id === 'portkey') return undefined // Portkey takes part in the OpenAI-client scenarios only
    if (t.id === 'direct' || t.id === 'bare') return openaiRequest(t, model, stream, upstreamUrl)
    return anthropicRequest(t, 'bench-openai', model, stream)
  }
}

function anthropicToGemini(stream: boolean) {
  return (t: Target, suffix: string): RequestSpec | undefined => {
    const model = `gemini-bench${suffix}`
    if (t.id === 'portkey') return undefined // Portkey 1.15: "messages is not supported by google"
    if (t.id === 'direct' || t.id === 'bare') {
      // the same call made without translation: the Gemini request the client would otherwise send itself
      const action = stream ? 'streamGenerateContent?alt=sse' : 'generateContent'
      return {
        url: `${t.url}/v1beta/models/${model}:${action}`,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-goog-api-key': 'bench-gemini-key-000' },
        body: geminiBody(),
      }
    }
    return anthropicRequest(t, 'bench-gemini', model, stream)
  }
}

export const SCENARIOS: Scenario[] = [
  {
    id: 'openai-chat',
    title: 'OpenAI chat, pass-through',
    kind: 'passthrough',
    stream: false,
    request: (t, s, up) => openaiRequest(t, `gpt-bench${s}`, false, up),
    note: 'POST /v1/chat/completions to an OpenAI-type provider; the answer is ~600 bytes of JSON',
  },
  {
    id: 'openai-chat-stream',
    title: 'OpenAI chat streaming, pass-through',
    kind: 'passthrough',
    stream: true,
    request: (t, s, up) => openaiRequest(t, `gpt-bench${s}`, true, up),
    note: 'stream: true; the upstream sends N content chunks plus role, finish and [DONE] frames',
  },
  {
    id: 'anthropic-openai',
    title: 'Anthropic client → OpenAI upstream (translated)',
    kind: 'translated',
    stream: false,
    request: anthropicToOpenai(false),
    note: 'agproxy and claude-code-router: POST /v1/messages translated to /v1/chat/completions; upstream-direct and bare-proxy rows send the OpenAI request',
  },
  {
    id: 'anthropic-openai-stream',
    title: 'Anthropic client → OpenAI upstream, streaming (translated)',
    kind: 'translated',
    stream: true,
    request: anthropicToOpenai(true),
    note: 'Anthropic SSE events made from OpenAI chat chunks',
  },
  {
    id: 'anthropic-gemini',
    title: 'Anthropic client → Gemini upstream (translated)',
    kind: 'translated',
    stream: false,
    request: anthropicToGemini(false),
    note: 'agproxy: POST /v1/messages translated to generateContent; upstream-direct and bare-proxy rows send the equivalent Gemini request',
  },
  {
    id: 'anthropic-gemini-stream',
    title: 'Anthropic client → Gemini upstream, streaming (translated)',
    kind: 'translated',
    stream: true,
    request: anthropicToGemini(true),
    note: 'agproxy: Anthropic SSE events made from Gemini streamGenerateContent?alt=sse frames',
  },
]
