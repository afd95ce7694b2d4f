/**
 * One timer for the deadlines of every request in flight (an upstream call's headers deadline, a request body's read
 * deadline, a stream's first-content deadline): a request puts its deadline in a heap and takes it out when it is done,
 * instead of arming and clearing a timer of its own. The one timer is armed for the earliest deadline, and is not
 * re-armed when that deadline is taken out (it then wakes once early, finds nothing due, and re-arms for the next):
 * under load a request costs a heap insert and removal, not a timer. Deadlines fire at their time as a timer would
 * (ms resolution). The timer never keeps the process alive (unref): what waits on a deadline holds a socket that does.
 */

/** A deadline set with `at` / `after`: `cancel()` takes it out (safe to call more than once, or after it fired). */
export interface Deadline {
  cancel(): void
}

class Entry implements Deadline {
  /** its place in the heap; -1 once out */
  i = -1
  constructor(
    readonly at: number,
    readonly fn: () => void,
  ) {}
  cancel() {
    if (this.i >= 0) remove(this.i)
  }
}

const heap: Entry[] = []
let timer: Timer | undefined
/** the time the timer is armed for (Infinity: not armed) */
let armedAt = Number.POSITIVE_INFINITY
/** setTimeout's longest delay */
const MAX_DELAY = 2_147_483_647

/** Call `fn` at epoch ms `at` (at once, on the timer, when it is already past), unless cancelled first. */
export function at(time: number, fn: () => void): Deadline {
  const e = new Entry(time, fn)
  e.i = heap.length
  heap.push(e)
  up(e.i)
  if (time < armedAt) arm(time)
  return e
}

/** Call `fn` in `ms` milliseconds, unless cancelled first. */
export const after = (ms: number, fn: () => void): Deadline => at(Date.now() + ms, fn)

/** How many deadlines are pending (tests). */
export const pendingDeadlines = () => heap.length

function arm(time: number) {
  if (timer) clearTimeout(timer)
  armedAt = time
  timer = setTimeout(fire, Math.min(Math.max(0, time - Date.now()), MAX_DELAY))
  timer.unref()
}

function fire() {
  timer = undefined
  armedAt = Number.POSITIVE_INFINITY
  const now = Date.now()
  for (let first = heap[0]; first && first.at <= now; first = heap[0]) {
    remove(0)
    try {
      first.fn()
    } catch {
      // a deadline's own failure must not stop the others
    }
  }
  const next = heap[0]
  if (next) arm(next.at)
}

function remove(i: number) {
  const gone = heap[i] as Entry
  gone.i = -1
  const last = heap.pop() as Entry
  if (i === heap.length) return
  heap[i] = last
  last.i = i
  up(i)
  down(last.i)
}

function swap(i: number, j: number) {
  const a = heap[i] as Entry
  const b = heap[j] as Entry
  heap[i] = b
  heap[j] = a
  a.i = j
  b.i = i
}

function up(i: number) {
  while (i > 0) {
    const parent = (i - 1) >> 1
    if ((heap[parent] as Entry).at <= (heap[i] as Entry).at) return
    swap(i, parent)
    i = parent
  }
}

function down(i: number) {
  const n = heap.length
  while (true) {
    const l = 2 * i + 1
    const r = l + 1
    let least = i
    if (l < n && (heap[l] as Entry).at < (heap[least] as Entry).at) least = l
    if (r < n && (heap[r] as Entry).at < (heap[least] as Entry).at) least = r
    if (least === i) return
    swap(i, least)
    i = least
  }
}
