/**
 * The bytes of request bodies one app holds at once (limits.request_bodies_mb). A model call reserves its body
 * before reading it (by content-length, or chunk by chunk when it has none) and gives it back when its dispatch is
 * over: the raw bytes and the parsed JSON are held until then (for pass-through and retries). A body is always
 * admitted when no other is held, so a single body up to max_body_mb never waits for nothing.
 */
import type { IRError } from '../ir/types'
import { err } from './errors'

export interface BodyBudget {
  /** bytes held now */
  readonly held: number
  /** an empty reservation for one request */
  hold(): BodyHold
}

export interface BodyHold {
  /** reserve `n` more bytes; over the budget (while other bodies are held) nothing is reserved and the 503 to send is returned */
  add(n: number): IRError | undefined
  /** give back everything this request reserved (safe to call more than once) */
  release(): void
}

const mb = (n: number) => `${Math.round((n / 1048576) * 10) / 10} MB`

/** One app's budget (never a process global: two apps in one process share nothing). */
export function createBodyBudget(maxBytes: number): BodyBudget {
  return new Budget(maxBytes)
}

class Budget implements BodyBudget {
  held = 0
  constructor(readonly max: number) {}
  hold(): BodyHold {
    return new Hold(this)
  }
  busy(n: number): IRError {
    return err(
      'unavailable',
      `agproxy is holding ${mb(this.held)} of request bodies and this one (${mb(n)} more) would go over limits.request_bodies_mb (${mb(this.max)}). ` +
        'Retry in a moment, or raise limits.request_bodies_mb in agproxy.yaml.',
      { retryAfter: 1 },
    )
  }
}

/** One request's reservation (a class, not closures: one small object per model call). */
class Hold implements BodyHold {
  private mine = 0
  constructor(private readonly budget: Budget) {}
  add(n: number): IRError | undefined {
    const b = this.budget
    if (b.held + n > b.max && b.held > this.mine) return b.busy(n)
    b.held += n
    this.mine += n
    return undefined
  }
  release() {
    this.budget.held -= this.mine
    this.mine = 0
  }
}
