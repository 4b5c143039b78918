/**
 * SSH management calls (XAPI 25.13: host/pool.enable_ssh, disable_ssh; 25.21: set_ssh_enabled_timeout and the
 * host fields ssh_enabled, ssh_enabled_timeout, ssh_expiry; 25.27: set_ssh_auto_mode), as xapi_host.ml does them:
 * - enable_ssh starts sshd and turns auto mode off; with a timeout set, ssh_expiry = now + timeout and a one-shot
 *   job disables SSH then;
 * - disable_ssh stops sshd and forgets the job;
 * - set_ssh_enabled_timeout takes 0 … 172800 s (two days), else INVALID_VALUE [ssh_enabled_timeout, value]; on a host
 *   with SSH on, a positive value (re)schedules the disable job from now, 0 cancels it.
 * The pool.* forms do the same on every host. Older releases do not have these methods: the dispatcher answers
 * MESSAGE_METHOD_UNKNOWN from the datamodel alone. The simulated sshd (test/sim/ssh) reads host.ssh_enabled.
 */
import { SimXapiError, type SimValue } from '../model'
import type { Handler } from './generic'
import type { PoolState } from './pool'
import { xapiDate } from './time'

const MAX_TIMEOUT_S = 172_800
const EPOCH = '19700101T00:00:00Z'

/** the one-shot "disable SSH" jobs per pool and host */
const jobs = new WeakMap<PoolState, Map<string, NodeJS.Timeout>>()

function str(v: SimValue | undefined): string {
  return typeof v === 'string' ? v : ''
}

function hasField(pool: PoolState, field: string): boolean {
  return pool.schema.classes.get('host')?.fieldMap.has(field) ?? false
}

/** write only the fields this release has (25.13 … 25.20 switch sshd without recording it) */
function setHost(pool: PoolState, host: string, patch: Record<string, SimValue>): void {
  const kept: Record<string, SimValue> = {}
  for (const [k, v] of Object.entries(patch)) if (hasField(pool, k)) kept[k] = v
  if (Object.keys(kept).length > 0) pool.db.update('host', host, kept)
}

function cancelJob(pool: PoolState, host: string): void {
  const m = jobs.get(pool)
  const t = m?.get(host)
  if (t) clearTimeout(t)
  m?.delete(host)
}

function scheduleDisable(pool: PoolState, host: string, seconds: number): void {
  cancelJob(pool, host)
  let m = jobs.get(pool)
  if (!m) jobs.set(pool, (m = new Map()))
  const t = setTimeout(() => {
    m?.delete(host)
    if (pool.db.get('host', host)) disableSsh(pool, host)
    pool.log(`${pool.hostAddress(host)}: SSH disabled (its ${seconds} s timeout expired)`)
  }, seconds * 1000)
  t.unref()
  m.set(host, t)
  setHost(pool, host, { ssh_expiry: xapiDate(new Date(Date.now() + seconds * 1000)) })
}

function enableSsh(pool: PoolState, host: string): void {
  const rec = pool.db.must('host', host)
  setHost(pool, host, { ssh_enabled: true, ssh_auto_mode: false })
  sshState.set(sshKey(pool, host), true)
  const timeout = typeof rec['ssh_enabled_timeout'] === 'number' ? rec['ssh_enabled_timeout'] : 0
  if (timeout > 0) scheduleDisable(pool, host, timeout)
}

function disableSsh(pool: PoolState, host: string): void {
  pool.db.must('host', host)
  cancelJob(pool, host)
  setHost(pool, host, { ssh_enabled: false, ssh_expiry: EPOCH })
  sshState.set(sshKey(pool, host), false)
}

function setTimeoutValue(pool: PoolState, host: string, value: SimValue | undefined): void {
  const rec = pool.db.must('host', host)
  const n = typeof value === 'number' ? value : Number.NaN
  if (!Number.isInteger(n) || n < 0 || n > MAX_TIMEOUT_S) throw new SimXapiError(['INVALID_VALUE', 'ssh_enabled_timeout', String(value)])
  setHost(pool, host, { ssh_enabled_timeout: n })
  if (rec['ssh_enabled'] === true || (!hasField(pool, 'ssh_enabled') && sshEnabled(pool, host))) {
    if (n > 0) scheduleDisable(pool, host, n)
    else {
      cancelJob(pool, host)
      setHost(pool, host, { ssh_expiry: EPOCH })
    }
  }
}

/**
 * sshd's state on releases that do not record it in the database (25.13 … 25.20), by pool and host; releases with
 * host.ssh_enabled keep it there.
 */
const sshState = new Map<string, boolean>()
function sshKey(pool: PoolState, host: string): string {
  return `${String(pool.poolRecord['uuid'])}|${host}`
}

/** is sshd running on that host (the simulated SSH server asks before each handshake) */
export function sshEnabled(pool: PoolState, host: string): boolean {
  const rec = pool.db.get('host', host)
  if (!rec) return false
  if (hasField(pool, 'ssh_enabled')) return rec['ssh_enabled'] !== false
  return sshState.get(sshKey(pool, host)) ?? true
}

function eachHost(pool: PoolState, self: SimValue | undefined, fn: (host: string) => void): SimValue {
  pool.db.must('pool', str(self))
  for (const ref of pool.db.table('host').keys()) fn(ref)
  return ''
}

export const SSH_HANDLERS: Record<string, Handler> = {
  'host.enable_ssh': (pool, [self]) => {
    enableSsh(pool, str(self))
    return ''
  },
  'host.disable_ssh': (pool, [self]) => {
    disableSsh(pool, str(self))
    return ''
  },
  'host.set_ssh_enabled_timeout': (pool, [self, value]) => {
    setTimeoutValue(pool, str(self), value)
    return ''
  },
  'pool.enable_ssh': (pool, [self]) => eachHost(pool, self, (h) => enableSsh(pool, h)),
  'pool.disable_ssh': (pool, [self]) => eachHost(pool, self, (h) => disableSsh(pool, h)),
  'pool.set_ssh_enabled_timeout': (pool, [self, value]) => {
    // checked once before any host changes, as XAPI validates before applying
    const n = typeof value === 'number' ? value : Number.NaN
    if (!Number.isInteger(n) || n < 0 || n > MAX_TIMEOUT_S) throw new SimXapiError(['INVALID_VALUE', 'ssh_enabled_timeout', String(value)])
    return eachHost(pool, self, (h) => setTimeoutValue(pool, h, value))
  },
}
