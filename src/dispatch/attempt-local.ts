/** The local strategy: no upstream call, the answer is made here (e.g. a token estimate). */
import type { Plan } from './plans'
import type { Answer } from './types'

/** A local plan's answer, as from `provider` for `model`. */
export function localAnswer(plan: Extract<Plan, { kind: 'local' }>, provider: string, model: string): Answer {
  const a = plan.answer()
  return { answer: 'json', body: a.body, status: a.status, provider, model }
}
