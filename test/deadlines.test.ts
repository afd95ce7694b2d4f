/**
 * The shared deadline timer (src/providers/deadlines.ts): deadlines fire in time order at their time, a cancelled one
 * never fires, and taking out the earliest does not make the others late.
 */
import { describe, expect, test } from 'bun:test'
import { after, at, pendingDeadlines } from '../src/providers/deadlines'

/** Wait until `done()` (at most 2 s: a loaded machine runs timers late), and at least `ms`. */
async function settle(done: () => boolean, ms: number) {
  const t0 = Date.now()
  await Bun.sleep(ms)
  while (!done() && Date.now() - t0 < 2000) await Bun.sleep(5)
}

describe('deadlines', () => {
  test('fire in time order, each at its time; a cancelled one never fires', async () => {
    const fired: Array<[string, number]> = []
    const t0 = Date.now()
    const mark = (name: string) => () => fired.push([name, Date.now() - t0])
    after(60, mark('c'))
    after(20, mark('a'))
    const gone = after(40, mark('cancelled'))
    after(40, mark('b'))
    gone.cancel()
    gone.cancel()
    await settle(() => fired.length >= 3, 120)
    expect(fired.map(f => f[0])).toEqual(['a', 'b', 'c'])
    const [a, b, c] = fired.map(f => f[1]) as [number, number, number]
    expect(a).toBeGreaterThanOrEqual(19)
    expect(b).toBeGreaterThanOrEqual(39)
    expect(c).toBeGreaterThanOrEqual(59)
    expect(c).toBeLessThan(1000)
    expect(pendingDeadlines()).toBe(0)
  })

  test('taking out the earliest deadline leaves the next on time (the timer wakes early and re-arms)', async () => {
    const t0 = Date.now()
    let when = 0
    const first = after(15, () => {
      throw new Error('cancelled: must not fire')
    })
    after(50, () => {
      when = Date.now() - t0
    })
    first.cancel()
    await settle(() => when > 0, 100)
    expect(when).toBeGreaterThanOrEqual(49)
    expect(when).toBeLessThan(1000)
  })

  test('a deadline already past fires on the timer, not at once; one that throws does not stop the others', async () => {
    const fired: string[] = []
    at(Date.now() - 1000, () => {
      fired.push('past')
      throw new Error('boom')
    })
    after(5, () => fired.push('next'))
    expect(fired).toEqual([])
    await settle(() => fired.length >= 2, 30)
    expect(fired).toEqual(['past', 'next'])
  })

  test('many deadlines in any order fire sorted, and only the ones left in', async () => {
    const fired: number[] = []
    const kept: number[] = []
    // one base time for all (200 inserts may span several ms on a loaded machine)
    const base = Date.now()
    const ds = Array.from({ length: 200 }, (_, i) => {
      const ms = 5 + ((i * 37) % 60)
      return { ms, i, d: at(base + ms, () => fired.push(ms)) }
    })
    for (const x of ds) if (x.i % 3 === 0) x.d.cancel()
    for (const x of ds) if (x.i % 3 !== 0) kept.push(x.ms)
    await settle(() => fired.length >= kept.length, 150)
    expect(fired).toEqual(kept.sort((a, b) => a - b))
    expect(pendingDeadlines()).toBe(0)
  })
})
