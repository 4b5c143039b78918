import { describe, expect, it } from 'vitest'
import { asBatch, makePool } from './harness'

describe('event.from', () => {
  it('returns every live object as add for token "", with valid_ref_counts for all tables and a %020d,%020d token', async () => {
    const { t, call } = makePool()
    const b = asBatch(await call('event.from', ['*'], '', 1))
    expect(b.token).toMatch(/^\d{20},\d{20}$/)
    expect(b.events.every((e) => e.operation === 'add' && typeof e.id === 'string')).toBe(true)
    const vm = b.events.find((e) => e.ref === t.refs.halted)
    expect(vm?.class).toBe('vm')
    expect(vm?.snapshot?.['name_label']).toBe('db-01')
    expect(b.events.some((e) => e.class === 'session')).toBe(false)
    expect(b.valid_ref_counts['vm']).toBe(6)
    expect(b.valid_ref_counts['session']).toBeGreaterThanOrEqual(1)
    expect(Object.keys(b.valid_ref_counts)).toContain('pool_update')
  })

  it('coalesces to one event per object: add for new, mod for changed, del (no snapshot) only for objects that existed', async () => {
    const { t, call } = makePool()
    const start = asBatch(await call('event.from', ['*'], '', 0)).token
    await call('VM.set_name_label', t.refs.halted, 'a')
    await call('VM.set_name_label', t.refs.halted, 'b')
    const clone = String(await call('VM.clone', t.refs.template, 'short-lived'))
    await call('VM.destroy', clone)
    await call('VM.destroy', t.refs.template)
    const msg = String(await call('message.create', 'TEST', 3, 'VM', 'x', 'body'))
    const b = asBatch(await call('event.from', ['vm', 'message'], start, 1))
    const forHalted = b.events.filter((e) => e.ref === t.refs.halted)
    expect(forHalted).toHaveLength(1)
    expect(forHalted[0]).toMatchObject({ operation: 'mod', class: 'vm' })
    expect(forHalted[0]?.snapshot?.['name_label']).toBe('b')
    expect(b.events.some((e) => e.ref === clone)).toBe(false)
    const del = b.events.find((e) => e.ref === t.refs.template)
    expect(del).toMatchObject({ operation: 'del', class: 'vm' })
    expect(del?.snapshot).toBeUndefined()
    expect(b.events.find((e) => e.ref === msg)).toMatchObject({ operation: 'add', class: 'message', id: '0' })
    expect(b.token > start).toBe(true)
  })

  it('filters by class and by class/ref, and never reports session changes', async () => {
    const { t, call, pool } = makePool()
    const start = asBatch(await call('event.from', ['*'], '', 0)).token
    await call('VM.set_name_label', t.refs.halted, 'x')
    await call('VM.set_name_label', t.refs.running, 'y')
    await call('SR.set_name_label', t.refs.sr, 'z')
    pool.openSession('root', t.refs.hosts[0] ?? '', 'test')
    const onlyOne = asBatch(await call('event.from', [`vm/${t.refs.running}`], start, 0))
    expect(onlyOne.events.map((e) => e.ref)).toEqual([t.refs.running])
    const srs = asBatch(await call('event.from', ['SR'], start, 0))
    expect(srs.events.map((e) => e.class)).toEqual(['sr'])
    const all = asBatch(await call('event.from', ['*'], start, 0))
    expect(all.events.some((e) => e.class === 'session')).toBe(false)
  })

  it('blocks until a change arrives, and returns an empty batch with a fresh token at the timeout', async () => {
    const { t, call } = makePool()
    const start = asBatch(await call('event.from', ['*'], '', 0)).token
    const empty = asBatch(await call('event.from', ['vm'], start, 0.2))
    expect(empty.events).toEqual([])
    expect(empty.token).toMatch(/^\d{20},\d{20}$/)
    const waiting = call('event.from', ['vm'], empty.token, 30)
    setTimeout(() => void call('VM.set_name_label', t.refs.halted, 'later'), 50)
    const got = asBatch(await waiting)
    expect(got.events.map((e) => [e.ref, e.operation])).toEqual([[t.refs.halted, 'mod']])
  })

  it('lets event.inject wake a waiter and return a token', async () => {
    const { t, call } = makePool()
    const start = asBatch(await call('event.from', ['pool'], '', 0)).token
    const waiting = call('event.from', ['pool'], start, 30)
    const token = String(await call('event.inject', 'pool', t.refs.pool))
    expect(token).toMatch(/^\d{20},\d{20}$/)
    expect(asBatch(await waiting).events.map((e) => e.operation)).toEqual(['mod'])
    expect(typeof (await call('event.get_current_id'))).toBe('number')
  })

  it('keeps tombstones: resuming from an old token still sees the del', async () => {
    const { t, call } = makePool()
    const old = asBatch(await call('event.from', ['*'], '', 0)).token
    await call('VM.destroy', t.refs.halted)
    const later = asBatch(await call('event.from', ['*'], old, 0)).token
    await call('VM.set_name_label', t.refs.running, 'n')
    const fromOld = asBatch(await call('event.from', ['vm'], old, 0))
    expect(fromOld.events.find((e) => e.ref === t.refs.halted)?.operation).toBe('del')
    const fromLater = asBatch(await call('event.from', ['vm'], later, 0))
    expect(fromLater.events.map((e) => e.ref)).toEqual([t.refs.running])
  })

  it('rejects unparseable tokens, and tokens from before a toolstack restart, with EVENT_FROM_TOKEN_PARSE_FAILURE', async () => {
    const { call, fails, pool } = makePool()
    expect(await fails('event.from', ['*'], 'garbage', 0)).toEqual(['EVENT_FROM_TOKEN_PARSE_FAILURE', 'garbage'])
    const token = asBatch(await call('event.from', ['*'], '', 0)).token
    pool.restartToolstack()
    expect(await fails('event.from', ['*'], token, 0)).toEqual(['EVENT_FROM_TOKEN_PARSE_FAILURE', token])
    expect(await fails('event.from', ['vm/'], '', 0)).toEqual(['EVENT_SUBSCRIPTION_PARSE_FAILURE', 'vm/'])
  })
})
