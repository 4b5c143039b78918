/**
 * Certificates in words (the trust dialog and the Certificates tab): where a pin came from, how long
 * a certificate is valid, and its fingerprint in pieces that wrap cleanly.
 */
import type { PinSource } from '../../../shared/contract/connection'
import { dateTime, duration } from './format'

/** where a pin came from, as a sentence ending before the date ("Pinned … on <date>") */
export const PIN_SOURCE_WORDS: Record<PinSource, { label: string; sentence: string }> = {
  user: { label: 'you', sentence: 'You trusted this certificate after reviewing it.' },
  pool: {
    label: 'the pool',
    sentence: "XenPilot pinned it from the pool's own report (host.get_server_certificate over the master's already-trusted session), so a move to this server is verified.",
  },
  demo: {
    label: 'demo',
    sentence: 'Seeded by the demo (npm run demo) from the simulator\u2019s own certificate: nobody reviewed it. Forget the server and add it again to review it yourself.',
  },
}

export type Validity = 'valid' | 'expiring' | 'expired' | 'not-yet-valid' | 'unknown'

/** a certificate's validity at `now`: 'expiring' within 30 days */
export function validity(validFrom: string, validTo: string, now: number): { state: Validity; text: string } {
  const from = Date.parse(validFrom)
  const to = Date.parse(validTo)
  const range = `${dateTime(validFrom)} – ${dateTime(validTo)}`
  if (Number.isNaN(from) || Number.isNaN(to)) return { state: 'unknown', text: range }
  if (now < from) return { state: 'not-yet-valid', text: `${range} (not valid yet)` }
  if (now > to) return { state: 'expired', text: `${range} (expired ${duration(now - to)} ago)` }
  const left = to - now
  const days = Math.floor(left / 86_400_000)
  if (left < 30 * 86_400_000) return { state: 'expiring', text: `${range} (expires in ${days >= 1 ? `${days} day${days === 1 ? '' : 's'}` : duration(left)})` }
  return { state: 'valid', text: `${range} (${days} days left)` }
}

/** the fingerprint in pieces of 8 bytes that never break inside (a line may end only between pieces) */
export function fingerprintPieces(fp: string): string[] {
  const bytes = fp.split(':')
  const out: string[] = []
  for (let i = 0; i < bytes.length; i += 8) out.push(bytes.slice(i, i + 8).join(':') + (i + 8 < bytes.length ? ':' : ''))
  return out
}
