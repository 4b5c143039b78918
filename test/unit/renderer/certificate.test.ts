import { describe, expect, it } from 'vitest'
import { PIN_SOURCE_WORDS, fingerprintPieces, validity } from '../../../renderer/src/model/certificate'

const DAY = 86_400_000
describe('certificates in words', () => {
  it('says where each pin came from; the demo seed says nobody reviewed it', () => {
    expect(PIN_SOURCE_WORDS.demo.label).toBe('demo')
    expect(PIN_SOURCE_WORDS.demo.sentence).toMatch(/nobody reviewed it/)
    expect(PIN_SOURCE_WORDS.user.sentence).toMatch(/You trusted/)
    expect(PIN_SOURCE_WORDS.pool.sentence).toMatch(/host\.get_server_certificate/)
  })

  it('validity: days left, expiring within 30 days, expired, not yet valid', () => {
    const from = '2026-01-01T00:00:00.000Z'
    const to = '2027-01-01T00:00:00.000Z'
    const t = Date.parse(to)
    expect(validity(from, to, t - 100 * DAY)).toMatchObject({ state: 'valid', text: expect.stringMatching(/100 days left/) })
    expect(validity(from, to, t - 3 * DAY)).toMatchObject({ state: 'expiring', text: expect.stringMatching(/expires in 3 days/) })
    expect(validity(from, to, t + 2 * DAY)).toMatchObject({ state: 'expired', text: expect.stringMatching(/expired 2 days/) })
    expect(validity(from, to, Date.parse(from) - DAY).state).toBe('not-yet-valid')
    expect(validity('garbage', to, t).state).toBe('unknown')
  })

  it('cuts a SHA-256 fingerprint into four pieces of 8 bytes', () => {
    const fp = Array.from({ length: 32 }, (_, i) => i.toString(16).padStart(2, '0').toUpperCase()).join(':')
    const pieces = fingerprintPieces(fp)
    expect(pieces).toHaveLength(4)
    expect(pieces.join('')).toBe(fp)
  })
})
