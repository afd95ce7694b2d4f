/**
 * The runtime client keys as this listener knows them: a snapshot of the database's client_keys (SQLite, or the
 * PostgreSQL every instance shares), kept across reloads, so that identifying a key never waits on the database. The
 * snapshot is read again when the keys change: at once after a change made here; after another instance's change, at
 * once when Redis is shared (each change is published on it), else within `pollMs` (the keys' version, one row, is
 * polled off the requests' path; it is the safety net under Redis too).
 */
import type { SharedRedis } from '../shared/redis'
import type { ClientKeyStore, StoredClientKey } from '../store/types'

const CHANNEL = 'clientkeys'
/** how often the keys' version is read (a change made on another instance is honoured here within this) */
export const POLL_MS = 500
/** how long a request waits at start for the first read of the keys (a database that does not answer: no longer) */
const FIRST_READ_MS = 2000

export interface RuntimeKeysOptions {
  /** the database of runtime keys, when one is open (it may open later, or be replaced after a fault) */
  store: () => ClientKeyStore | undefined
  /** the Redis several instances share: changes are published there, and the snapshot read again after its recovery */
  redis?: Pick<SharedRedis, 'publish' | 'subscribe' | 'onRecover'>
  /** ms between version polls; 0: none (an in-process app, through which every change is made) */
  pollMs?: number
}

/** The snapshot of the runtime keys and how it is kept fresh; `close` stops the polling. */
export class RuntimeKeys {
  /** the keys as last read (revoked ones too: their refusal names when) */
  keys: readonly StoredClientKey[] = []
  /** bumped at every read, so that a ClientKeys rebuilds its view only when the keys changed */
  generation = 0
  /** until the first read is over (at most FIRST_READ_MS): what a request carrying a runtime key waits for at start */
  starting?: Promise<void>
  private version?: number
  private reading?: Promise<void>
  private again = false
  private polling = false
  private timer?: ReturnType<typeof setInterval>
  private stopRecover?: () => void
  private readonly id = crypto.randomUUID()

  constructor(private readonly o: RuntimeKeysOptions) {
    // the first read after the turn that starts the listener: a request that carries no key is answered without the
    // database (the request log's SQLite opens at this read: a few ms a start spends after its first answers)
    const first = new Promise<void>(r => setTimeout(r, 0)).then(() => this.reload())
    this.starting = Promise.race([first, Bun.sleep(FIRST_READ_MS)]).then(() => {
      this.starting = undefined
    })
    const pollMs = o.pollMs ?? POLL_MS
    if (pollMs > 0) {
      this.timer = setInterval(() => void this.poll(), pollMs)
      this.timer.unref?.()
    }
    if (o.redis) {
      // another instance's change: read the keys now; our own message is ignored (the change already read them)
      void o.redis.subscribe(CHANNEL, from => from !== this.id && void this.reload())
      this.stopRecover = o.redis.onRecover(() => void this.reload())
    }
  }

  /** the database, when open */
  get store(): ClientKeyStore | undefined {
    return this.o.store()
  }

  /** Read the keys again (a read already under way is followed by one more, so a change just made is seen). A failing
   *  database keeps the keys known: the request log reports its faults. */
  reload(): Promise<void> {
    if (this.reading) {
      this.again = true
      return this.reading
    }
    this.reading = (async () => {
      // a tick first: `reading` is set before the loop can end
      await null
      try {
        do {
          this.again = false
          await this.readOnce()
        } while (this.again)
      } finally {
        this.reading = undefined
      }
    })()
    return this.reading
  }

  /** A change was made here: read the keys, and tell the other instances (they also see it by polling). */
  async changed(): Promise<void> {
    await this.reload()
    this.o.redis?.publish(CHANNEL, this.id)
  }

  close(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
    this.stopRecover?.()
  }

  private async readOnce(): Promise<void> {
    const db = this.o.store()
    if (!db) return
    try {
      // the version first: a change between the two reads bumps it again, and the next poll reads the keys again
      const version = await db.version()
      this.keys = await db.list()
      this.version = version
      this.generation++
    } catch {
      // the keys known stay in force
    }
  }

  /** the version changed (another instance changed a key, with no Redis to tell us): read the keys */
  private async poll(): Promise<void> {
    const db = this.o.store()
    if (!db || this.polling) return
    this.polling = true
    try {
      if ((await db.version()) !== this.version) await this.reload()
    } catch {
      // the database is away: the keys known stay in force
    } finally {
      this.polling = false
    }
  }
}
