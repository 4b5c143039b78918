/**
 * event.from / event.inject / event.get_current_id as xapi_event.ml implements them: coalesced
 * add/mod/del per object since a `%020d,%020d` token, blocking until a change or the timeout,
 * then a 50 ms batching delay (none for task-only subscriptions).
 */
import { NO_EVENT_CLASSES } from '../../../shared/xapi/datamodel.generated'
import { SimXapiError, type SimRecord, type SimValue } from '../model'
import type { Db, ObjState } from './db'
import type { JsonEncoder } from './jsonrpc'
import type { Out } from './out'
import type { XmlEncoder } from './xmlrpc'

const NO_EVENTS = new Set(NO_EVENT_CLASSES)
export const EVENT_BATCH_DELAY_MS = 50

export interface SimEvent {
  id: string
  /** API class name ('VM'); emitted lowercase */
  cls: string
  operation: 'add' | 'mod' | 'del'
  ref: string
  snapshot?: SimRecord
}

export class EventBatch {
  constructor(
    readonly events: SimEvent[],
    readonly validRefCounts: [string, number][],
    readonly token: string,
  ) {}
}

interface Subscription {
  all: boolean
  classes: Set<string>
  objects: Set<string>
}

export function parseSubscriptions(db: Db, subs: readonly string[]): Subscription {
  const s: Subscription = { all: false, classes: new Set(), objects: new Set() }
  for (const raw of subs) {
    const sub = raw.toLowerCase()
    if (sub === '*') s.all = true
    else if (/^[a-z0-9_]+$/.test(sub)) s.classes.add(sub)
    else {
      const m = /^([a-z0-9_]+)\/(.+)$/.exec(raw)
      if (!m || !m[1] || !m[2] || !db.schema.byLower.has(m[1].toLowerCase())) throw new SimXapiError(['EVENT_SUBSCRIPTION_PARSE_FAILURE', raw])
      s.objects.add(`${m[1].toLowerCase()}/${m[2]}`)
    }
  }
  return s
}

function matches(s: Subscription, lower: string, ref: string): boolean {
  if (NO_EVENTS.has(lower)) return false
  return s.all || s.classes.has(lower) || s.objects.has(`${lower}/${ref}`)
}

function pad20(n: number): string {
  return String(n).padStart(20, '0')
}

export function currentToken(db: Db): string {
  return `${pad20(db.gen)},${pad20(db.msgGen)}`
}

/** generation of a token; '' → -1 (from the beginning) */
export function parseToken(db: Db, token: string): number {
  if (token === '') return -1
  const m = /^(\d+),(\d+)$/.exec(token)
  if (!m || m[1] === undefined) throw new SimXapiError(['EVENT_FROM_TOKEN_PARSE_FAILURE', token])
  const gen = Number(m[1])
  if (!Number.isSafeInteger(gen) || gen < db.horizon) throw new SimXapiError(['EVENT_FROM_TOKEN_PARSE_FAILURE', token])
  return gen
}

function validRefCounts(db: Db): [string, number][] {
  const out: [string, number][] = []
  for (const c of db.schema.classes.values()) out.push([c.lower, db.table(c.name).size])
  return out
}

export function collect(db: Db, sub: Subscription, since: number): EventBatch {
  const messages: SimEvent[] = []
  const adds: SimEvent[] = []
  const mods: SimEvent[] = []
  const dels: SimEvent[] = []
  if (since < 0) {
    for (const [cls, table] of db.tables) {
      const c = db.schema.classes.get(cls)
      if (!c) continue
      for (const [ref, rec] of table) {
        if (!matches(sub, c.lower, ref)) continue
        const ev: SimEvent = { id: cls === 'message' ? '0' : String(db.gen), cls, operation: 'add', ref, snapshot: rec }
        ;(cls === 'message' ? messages : adds).push(ev)
      }
    }
  } else {
    const changed: ObjState[] = db.changedSince(since)
    for (const st of changed) {
      const lower = db.schema.classes.get(st.cls)?.lower ?? st.cls.toLowerCase()
      if (!matches(sub, lower, st.ref)) continue
      const id = st.cls === 'message' ? '0' : String(st.changed)
      if (st.deleted) {
        if (st.created > since) continue
        dels.push({ id, cls: st.cls, operation: 'del', ref: st.ref })
        continue
      }
      const rec = db.get(st.cls, st.ref)
      if (!rec) continue
      const ev: SimEvent = { id, cls: st.cls, operation: st.created > since ? 'add' : 'mod', ref: st.ref, snapshot: rec }
      if (st.cls === 'message') messages.push(ev)
      else (ev.operation === 'add' ? adds : mods).push(ev)
    }
  }
  return new EventBatch([...messages, ...adds, ...mods, ...dels], validRefCounts(db), currentToken(db))
}

export async function eventFrom(db: Db, classes: readonly string[], token: string, timeoutS: number, signal?: AbortSignal): Promise<EventBatch> {
  const sub = parseSubscriptions(db, classes)
  let since = parseToken(db, token)
  const deadline = Date.now() + Math.max(0, Number.isFinite(timeoutS) ? timeoutS : 0) * 1000
  const taskOnly = !sub.all && sub.objects.size === 0 && sub.classes.size === 1 && sub.classes.has('task')
  for (;;) {
    const batch = collect(db, sub, since)
    if (batch.events.length > 0 || since < 0) return batch
    const remaining = deadline - Date.now()
    if (remaining <= 0 || signal?.aborted) return batch
    // nothing yet: later calls only need what changes after this point
    since = db.gen
    const woke = await waitForChange(db, remaining, signal)
    if (woke && !taskOnly) await new Promise((r) => setTimeout(r, EVENT_BATCH_DELAY_MS))
    if (db.horizon > since) throw new SimXapiError(['EVENT_FROM_TOKEN_PARSE_FAILURE', token])
  }
}

function waitForChange(db: Db, ms: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    let done = false
    const finish = (v: boolean): void => {
      if (done) return
      done = true
      clearTimeout(timer)
      off()
      signal?.removeEventListener('abort', onAbort)
      resolve(v)
    }
    const onAbort = (): void => finish(false)
    const timer = setTimeout(() => finish(false), ms)
    const off = db.onChange(() => finish(true))
    signal?.addEventListener('abort', onAbort)
  })
}

export function eventInject(db: Db, cls: string, ref: string): string {
  const api = db.schema.classes.has(cls) ? cls : db.schema.byLower.get(cls.toLowerCase())
  if (!api) throw new SimXapiError(['HANDLE_INVALID', cls, ref])
  db.must(api, ref)
  db.touch(api, ref)
  return currentToken(db)
}

// ---------------------------------------------------------------------------------------------
// Encoding of the batch struct (event_types.ml rpc_of_event_from)

// Per event, the glue around its snapshot goes out as one write: the end of one event and the
// start of the next are joined (a write per piece was a fifth of event.from's CPU time).

export function encodeBatchXml(enc: XmlEncoder, db: Db, b: EventBatch, o: Out): void {
  let tail = ''
  o.str('<value><struct><member><name>events</name><value><array><data>')
  for (const e of b.events) {
    const lower = db.schema.classes.get(e.cls)?.lower ?? e.cls.toLowerCase()
    const head = `${tail}<value><struct><member><name>id</name><value>${e.id}</value></member><member><name>timestamp</name><value>0.0</value></member><member><name>class</name><value>${lower}</value></member><member><name>operation</name><value>${e.operation}</value></member><member><name>ref</name><value>${e.ref}</value></member>`
    if (e.snapshot) {
      o.str(`${head}<member><name>snapshot</name>`)
      o.buf(enc.record(e.cls, e.snapshot))
      tail = '</member></struct></value>'
    } else {
      o.str(head)
      tail = '</struct></value>'
    }
  }
  o.str(`${tail}</data></array></value></member><member><name>valid_ref_counts</name><value><struct>`)
  for (const [cls, n] of b.validRefCounts) o.str(`<member><name>${cls}</name><value><i4>${n}</i4></value></member>`)
  o.str(`</struct></value></member><member><name>token</name><value>${b.token}</value></member></struct></value>`)
}

export function encodeBatchJson(enc: JsonEncoder, db: Db, b: EventBatch, o: Out): void {
  let tail = ''
  o.str('{"events":[')
  for (const e of b.events) {
    const lower = db.schema.classes.get(e.cls)?.lower ?? e.cls.toLowerCase()
    const head = `${tail}{"id":"${e.id}","timestamp":"0.0","class":"${lower}","operation":"${e.operation}","ref":${JSON.stringify(e.ref)}`
    if (e.snapshot) {
      o.str(`${head},"snapshot":`)
      o.buf(enc.record(e.cls, e.snapshot))
    } else o.str(head)
    tail = '},'
  }
  o.str(`${tail ? '}' : ''}],"valid_ref_counts":{`)
  o.str(b.validRefCounts.map(([c, n]) => `"${c}":${n}`).join(','))
  o.str(`},"token":"${b.token}"}`)
}

/** the batch in the XAPI value model, for in-process callers (SimPoolHandle.call) */
export function batchToValue(db: Db, b: EventBatch): SimValue {
  return {
    events: b.events.map((e) => {
      const ev: Record<string, SimValue> = {
        id: e.id,
        timestamp: '0.0',
        class: db.schema.classes.get(e.cls)?.lower ?? e.cls.toLowerCase(),
        operation: e.operation,
        ref: e.ref,
      }
      if (e.snapshot) ev['snapshot'] = e.snapshot
      return ev
    }),
    valid_ref_counts: Object.fromEntries(b.validRefCounts),
    token: b.token,
  }
}
