/**
 * Responses API `input` (a string or a list of items) → IR system text + messages.
 *
 * Items: message (user/assistant/system/developer), function_call, function_call_output, custom_tool_call,
 * custom_tool_call_output, reasoning. Consecutive assistant-side items (reasoning, messages, calls) form one
 * IR assistant message; consecutive user-side items (tool outputs, user messages) one IR user message.
 * Items that only make sense on OpenAI's servers (local_shell_call, web_search_call, item_reference,
 * compaction, …) are dropped with a warning, never failing the request.
 */
import type { CodecContext, IRImage, IRMessage, IRPart, IRText, IRThinking } from '../../../ir/types'
import { invalid } from '../../../ir/types'
import { REDACTED_PREFIX } from './output'
import type { StoredConversation } from './store'
import { memoryOf, recallSignature } from '../../../ir/signatures'
import { flatName } from './tools'
import { asArray, asObject, str } from '../../guards'

/** Builds the IR conversation, merging consecutive same-side items. */
class Conversation {
  readonly system: string[] = []
  readonly messages: IRMessage[]
  /** call_id → IR tool name, to name tool results */
  private readonly callNames = new Map<string, string>()

  constructor(seed?: StoredConversation) {
    this.messages = (seed?.messages ?? []).map(m => ({ role: m.role, content: [...m.content] }))
    for (const m of this.messages) for (const p of m.content) if (p.type === 'tool_call') this.callNames.set(p.id, p.name)
  }

  push(role: IRMessage['role'], part: IRPart): void {
    if (part.type === 'tool_call') this.callNames.set(part.id, part.name)
    const last = this.messages[this.messages.length - 1]
    if (last?.role === role) last.content.push(part)
    else this.messages.push({ role, content: [part] })
  }

  nameOf(callId: string): string | undefined {
    return this.callNames.get(callId)
  }

  /** a trailing assistant message made only of reasoning would read as a prefill: drop it */
  finish(warn: (m: string) => void): void {
    const last = this.messages[this.messages.length - 1]
    if (last?.role === 'assistant' && last.content.every(p => p.type === 'thinking')) {
      this.messages.pop()
      warn('responses: dropped trailing reasoning items with no assistant output after them')
    }
  }
}

function image(part: Record<string, unknown>, path: string): IRImage {
  if (part.file_id)
    throw invalid(
      `${path}: file inputs (file_id) are not supported by agproxy; send the image inline as a data: URL or an http(s) URL in image_url`,
      `${path}.file_id`,
    )
  const url = str(part.image_url) ?? str(asObject(part.image_url).url)
  if (!url) throw invalid(`${path}: input_image needs image_url`, `${path}.image_url`)
  const m = /^data:([^;,]+)((?:;[^;,]*)*),(.*)$/s.exec(url)
  if (m) {
    const [, mediaType = '', params = '', data = ''] = m
    if (!/;base64/i.test(params)) throw invalid(`${path}: image data: URLs must be base64-encoded`, `${path}.image_url`)
    return { type: 'image', source: { kind: 'base64', mediaType, data } }
  }
  if (/^https?:\/\//i.test(url)) return { type: 'image', source: { kind: 'url', url } }
  throw invalid(`${path}: image_url must be a data: URL or an http(s) URL`, `${path}.image_url`)
}

/** Content parts of a message or a tool output → IR text/image parts. */
function parts(content: unknown, path: string, warn: (m: string) => void): Array<IRText | IRImage> {
  if (content == null) return []
  if (typeof content === 'string') return content ? [{ type: 'text', text: content }] : []
  if (!Array.isArray(content)) throw invalid(`${path} must be a string or an array of content parts`, path)
  const out: Array<IRText | IRImage> = []
  content.forEach((entry: unknown, i: number) => {
    const p = `${path}[${i}]`
    if (typeof entry === 'string') {
      if (entry) out.push({ type: 'text', text: entry })
      return
    }
    const part = asObject(entry)
    const type = part.type
    switch (type) {
      case 'input_text':
      case 'output_text':
      case 'text':
      case 'summary_text':
        if (typeof part.text === 'string' && part.text) out.push({ type: 'text', text: part.text })
        break
      case 'refusal':
        if (typeof part.refusal === 'string' && part.refusal) out.push({ type: 'text', text: part.refusal })
        break
      case 'input_image':
        out.push(image(part, p))
        break
      case 'input_file':
        throw invalid(`${p}: file inputs (input_file) are not supported by agproxy; send the content as input_text`, p)
      default:
        warn(`responses: dropped a content part of type ${JSON.stringify(type)}`)
    }
  })
  return out
}

const textOf = (ps: Array<IRText | IRImage>): string =>
  ps
    .filter(p => p.type === 'text')
    .map(p => (p as IRText).text)
    .join('\n')

/** the texts of a reasoning item's parts (those of type `type`, when given) */
const partTexts = (list: unknown, type?: string): string[] =>
  asArray(list)
    .map(asObject)
    .filter(c => (type === undefined || c.type === type) && typeof c.text === 'string')
    .map(c => c.text as string)

function reasoning(item: Record<string, unknown>): IRThinking | undefined {
  const content = partTexts(item.content, 'reasoning_text')
  const text = (content.length ? content : partTexts(item.summary)).join('\n\n')
  let enc = str(item.encrypted_content)
  // OpenAI's own encrypted reasoning (Fernet, "gAAAAA…") means nothing to another provider
  if (enc?.startsWith('gAAAAA')) enc = undefined
  if (enc?.startsWith(REDACTED_PREFIX)) return { type: 'thinking', text: '', redacted: true, signature: enc.slice(REDACTED_PREFIX.length) }
  if (!text && !enc) return undefined
  return { type: 'thinking', text, ...(enc ? { signature: enc } : {}) }
}

function toolOutput(output: unknown, path: string, warn: (m: string) => void): { content: Array<IRText | IRImage>; isError?: boolean } {
  // older Codex builds wrapped it: { content, success }
  if (output && typeof output === 'object' && !Array.isArray(output) && 'content' in output) {
    const o = asObject(output)
    return { content: parts(o.content, `${path}.content`, warn), ...(o.success === false ? { isError: true } : {}) }
  }
  return { content: parts(output, path, warn) }
}

/** Decode `input` (plus an optional stored conversation to continue) into IR. */
export function decodeInput(input: unknown, ctx: CodecContext, seed?: StoredConversation): StoredConversation {
  const conv = new Conversation(seed)
  const warned = new Set<string>()
  const warn = (m: string) => {
    if (!warned.has(m)) {
      warned.add(m)
      ctx.warn(m)
    }
  }

  if (typeof input === 'string') {
    if (input) conv.push('user', { type: 'text', text: input })
    conv.finish(warn)
    return { system: conv.system, messages: conv.messages }
  }
  if (input != null && !Array.isArray(input)) throw invalid('input must be a string or an array of input items', 'input')

  ;(input ?? []).forEach((entry: unknown, i: number) => {
    const path = `input[${i}]`
    if (!entry || typeof entry !== 'object') throw invalid(`${path} must be an object`, path)
    const item = entry as Record<string, unknown> // (an array passes as an item with no fields: dropped below, of no known type)
    const type = item.type ?? (item.role ? 'message' : undefined)
    switch (type) {
      case 'message': {
        const role = item.role
        const ps = parts(item.content, `${path}.content`, warn)
        if (role === 'system' || role === 'developer') {
          const text = textOf(ps)
          if (ps.some(p => p.type === 'image')) warn(`responses: dropped images from a ${role} message`)
          if (text) conv.system.push(text)
        } else if (role === 'user') {
          for (const p of ps) conv.push('user', p)
        } else if (role === 'assistant') {
          for (const p of ps) {
            if (p.type === 'text') conv.push('assistant', p)
            else warn('responses: dropped an image from an assistant message')
          }
        } else throw invalid(`${path}.role must be user, assistant, system or developer`, `${path}.role`)
        break
      }
      case 'function_call':
      case 'custom_tool_call': {
        if (typeof item.call_id !== 'string' || typeof item.name !== 'string') {
          throw invalid(`${path}: ${type} needs call_id and name`, path)
        }
        const args =
          type === 'custom_tool_call'
            ? JSON.stringify({ input: typeof item.input === 'string' ? item.input : '' })
            : (typeof item.arguments === 'string' ? item.arguments : JSON.stringify(item.arguments ?? {})) || '{}'
        const signature = recallSignature(item.call_id, memoryOf(ctx))
        conv.push('assistant', {
          type: 'tool_call',
          id: item.call_id,
          name: flatName(item.namespace, item.name),
          arguments: args,
          ...(signature ? { signature } : {}),
        })
        break
      }
      case 'function_call_output':
      case 'custom_tool_call_output': {
        if (typeof item.call_id !== 'string') throw invalid(`${path}: ${type} needs call_id`, `${path}.call_id`)
        const out = toolOutput(item.output, `${path}.output`, warn)
        const name = conv.nameOf(item.call_id)
        conv.push('user', { type: 'tool_result', toolCallId: item.call_id, ...(name ? { name } : {}), ...out })
        break
      }
      case 'reasoning': {
        const thinking = reasoning(item)
        if (thinking) conv.push('assistant', thinking)
        break
      }
      default:
        warn(`responses: dropped input item(s) of type ${JSON.stringify(type)} (not supported by this backend)`)
    }
  })
  conv.finish(warn)
  return { system: conv.system, messages: conv.messages }
}
