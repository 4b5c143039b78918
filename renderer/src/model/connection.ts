/** How a saved connection's state reads in the tree and status bar. */
import type { ConnectionState } from '../../../shared/contract/connection'
import { bytes } from './format'
import type { IconState } from './tree/types'

export interface ConnectionBadge {
  text: string
  tone: 'info' | 'warning' | 'error' | 'muted'
  icon: IconState
}

/**
 * clock()'s answers of today, by ISO time: every offline pool's row in the tree and the overview says
 * 'as of' after each batch and each tick of the status clock (200 pools: ≈600 dates parsed and
 * formatted each time). They hold until the day changes (then 'HH:MM' may become a date).
 */
const clockAnswers = new Map<string, string>()
let clockDay = { from: 0, until: 0, text: '' }

/** 'HH:MM' today, 'YYYY-MM-DD HH:MM' another day */
export function clock(iso: string): string {
  const t = Date.now()
  if (t < clockDay.from || t >= clockDay.until) {
    const now = new Date(t)
    clockDay = { from: new Date(now.getFullYear(), now.getMonth(), now.getDate()).getTime(), until: new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1).getTime(), text: now.toDateString() }
    clockAnswers.clear()
  }
  const known = clockAnswers.get(iso)
  if (known !== undefined) return known
  const text = clockText(iso, clockDay.text)
  if (clockAnswers.size >= 1000) clockAnswers.clear()
  clockAnswers.set(iso, text)
  return text
}

function clockText(iso: string, today: string): string {
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return iso
  const sameDay = d.toDateString() === today
  const hm = `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`
  return sameDay ? hm : `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')} ${hm}`
}

/** a pool shown from the offline cache says since when, whatever it is trying now (issue 2) */
function fromCache(s: ConnectionState, text: string): string {
  return s.cachedAt ? `Offline, as of ${clock(s.cachedAt)} — ${text}` : text
}

/** what a call of a connection attempt is doing, for people */
export function callPhrase(method: string): string {
  switch (method) {
    case 'session.login_with_password':
      return 'logging in'
    case 'pool.get_all_records':
      return 'reading the pool'
    case 'host.get_all_records':
      return 'reading the hosts'
    case 'host.get_server_certificate':
      return 'reading the members’ certificates'
    case 'event.from':
      return 'reading the inventory'
  }
  const m = /^(\w+)\.get_all_records$/.exec(method)
  return m ? `reading the ${m[1]} records` : `calling ${method}`
}

/** "reading the pool (pool.get_all_records): 3.20 KiB received" or "… waiting 12 s for the answer" */
export function progressText(p: NonNullable<ConnectionState['progress']>, now: number): string {
  const what = `${callPhrase(p.method)} (${p.method})`
  if (p.bytes > 0) return `${what}: ${bytes(p.bytes)} received`
  const since = Date.parse(p.since)
  const secs = Number.isNaN(since) ? 0 : Math.floor((now - since) / 1000)
  return secs >= 2 ? `${what}: waiting ${secs} s for the answer` : what
}

/** `null` when connected and healthy: nothing to say next to the name. */
export function connectionBadge(s: ConnectionState, now: number): ConnectionBadge | null {
  switch (s.status) {
    case 'connected':
      return null
    case 'connecting': {
      if (s.progress) return { text: fromCache(s, `Connecting: ${progressText(s.progress, now)}`), tone: 'info', icon: 'connecting' }
      // a first attempt between two tries: which try failed and why
      const next = s.nextRetryAt ? Date.parse(s.nextRetryAt) : NaN
      const secs = Number.isNaN(next) ? 0 : Math.max(0, Math.ceil((next - now) / 1000))
      const text = s.detail ? `Connecting… ${s.detail}${secs > 0 ? ` Trying again in ${secs} s.` : ''}` : 'Connecting…'
      return { text: fromCache(s, text), tone: s.detail ? 'warning' : 'info', icon: 'connecting' }
    }
    case 'reconnecting': {
      const next = s.nextRetryAt ? Date.parse(s.nextRetryAt) : NaN
      const secs = Number.isNaN(next) ? null : Math.max(0, Math.ceil((next - now) / 1000))
      const attempt = s.attempt ? ` (attempt ${s.attempt})` : ''
      const text = secs === null || secs === 0 ? `Reconnecting…${attempt}` : `Reconnecting in ${secs} s${attempt}`
      // why it is waiting (a lost connection, an answer refused for what it held): the sentence from main
      return { text: fromCache(s, s.detail ? `${text} — ${s.detail}` : text), tone: 'warning', icon: 'connecting' }
    }
    case 'awaiting-trust':
      return { text: 'Awaiting certificate trust', tone: 'warning', icon: 'warning' }
    case 'cert-changed':
      return { text: 'Certificate changed — connection blocked', tone: 'error', icon: 'error' }
    case 'auth-failed':
      return { text: fromCache(s, s.detail ? `Login failed: ${s.detail}` : 'Login failed'), tone: 'error', icon: 'error' }
    case 'failed':
      return { text: fromCache(s, s.detail ? `Failed: ${s.detail}` : 'Failed'), tone: 'error', icon: 'error' }
    case 'unreachable':
      return { text: fromCache(s, s.detail ? `Unreachable: ${s.detail}` : 'Unreachable'), tone: 'error', icon: 'error' }
    case 'password-needed':
      // a question, not a failure: neutral
      return { text: fromCache(s, 'Password needed: use Connect to enter it'), tone: 'muted', icon: 'offline' }
    case 'disconnected':
      if (s.cachedAt) return { text: `Offline — as of ${clock(s.cachedAt)}`, tone: 'muted', icon: 'offline' }
      return { text: 'Disconnected', tone: 'muted', icon: 'offline' }
  }
}

export function isLive(s: ConnectionState): boolean {
  return s.status === 'connected'
}

export interface OfflineNotice {
  /** 'Offline — as of 14:03' */
  title: string
  /** ISO time of the last update the shown data holds, when known */
  asOf?: string
  /** what the connection is doing now, in words */
  status: string
}

/**
 * The banner every object of a pool that is not connected carries (issue 15): its data is the last
 * update received, live-only values are frozen at that time. `null` while connected.
 */
export function offlineNotice(s: ConnectionState, now: number): OfflineNotice | null {
  if (s.status === 'connected') return null
  const badge = connectionBadge(s, now)
  const at = s.cachedAt
  const raw = badge?.text ?? ''
  // the badge repeats "Offline, as of …" in front of what it is doing: keep only the doing
  const doing = raw.replace(/^Offline(, | — )as of [^—]*(— )?/, '').trim()
  return {
    title: at ? `Offline — as of ${clock(at)}` : 'Offline',
    ...(at ? { asOf: at } : {}),
    status: doing || 'Not connected',
  }
}
