import { describe, expect, it } from 'vitest'
import { effectiveHardMasks, parseHostGuestMask, parseStoredMask, serialiseMask, validateMask } from '../../../shared/numa/mask'

describe('VCPUs_params mask validator', () => {
  it('accepts one mask for all vCPUs and per-vCPU masks, giving the canonical string', () => {
    expect(validateMask('1,2,3')).toEqual({ ok: true, perVcpu: [[1, 2, 3]], canonical: '1,2,3' })
    expect(validateMask('1,2;3,4', { pcpuCount: 8, vcpus: 2 })).toEqual({ ok: true, perVcpu: [[1, 2], [3, 4]], canonical: '1,2;3,4' })
    expect(validateMask('3,1,3')).toMatchObject({ ok: true, canonical: '1,3' })
  })
  it('refuses spaces, because XAPI silently parses "1,2; 3,4" to no mask at all', () => {
    const r = validateMask('1,2; 3,4')
    expect(r.ok).toBe(false)
    if (!r.ok) expect(r.error).toMatch(/space.*does not trim spaces.*silently ignored/s)
    expect(validateMask(' 1,2').ok).toBe(false)
    expect(validateMask('1,2\t').ok).toBe(false)
  })
  it('refuses ranges (XAPI reads each element with int_of_string) and suggests the list', () => {
    const r = validateMask('0-3')
    expect(r.ok).toBe(false)
    if (!r.ok) expect(r.error).toContain('0,1,2,3')
  })
  it('refuses pCPUs beyond the host, empty input, empty elements and garbage', () => {
    const beyond = validateMask('0,128', { pcpuCount: 128 })
    expect(beyond.ok).toBe(false)
    if (!beyond.ok) expect(beyond.error).toBe('pCPU 128 does not exist: this host has 128 pCPUs (0–127).')
    expect(validateMask('')).toMatchObject({ ok: false, error: expect.stringMatching(/empty/) })
    expect(validateMask('1,,2')).toMatchObject({ ok: false, error: expect.stringMatching(/Empty pCPU number/) })
    expect(validateMask('1,2;')).toMatchObject({ ok: false, error: expect.stringMatching(/vCPU 1 is empty/) })
    expect(validateMask('abc')).toMatchObject({ ok: false, error: expect.stringMatching(/"abc" is not a pCPU number/) })
    expect(validateMask('0x3')).toMatchObject({ ok: false })
    expect(validateMask('-1')).toMatchObject({ ok: false })
  })
  it('refuses more per-vCPU groups than the VM has vCPUs', () => {
    expect(validateMask('0;1;2', { vcpus: 2 })).toMatchObject({ ok: false, error: expect.stringMatching(/3 per-vCPU groups.*only 2 vCPUs/) })
  })
  it('serialises back, collapsing identical groups', () => {
    expect(serialiseMask([[3, 1], [2]])).toBe('1,3;2')
    expect(serialiseMask([[0, 1], [1, 0]])).toBe('0,1')
  })
})

describe('stored masks as XAPI reads them', () => {
  it('reads good masks and explains why a bad one is ignored', () => {
    expect(parseStoredMask('1,2;3,4')).toEqual({ groups: [[1, 2], [3, 4]] })
    expect(parseStoredMask('1,2; 3,4')).toMatchObject({ groups: [], ignoredReason: expect.stringMatching(/space/) })
    expect(parseStoredMask('0-3')).toMatchObject({ groups: [], ignoredReason: expect.stringMatching(/"0-3"/) })
    expect(parseStoredMask(undefined)).toEqual({ groups: [] })
  })
  it('applies "unlisted vCPUs get the first mask" and the host guest mask', () => {
    expect(effectiveHardMasks([[0, 1], [2, 3]], null, 4)).toEqual([[0, 1], [2, 3], [0, 1], [0, 1]])
    expect(effectiveHardMasks([[0, 1, 2, 3]], [2, 3, 4], 2)).toEqual([[2, 3], [2, 3]])
    expect(effectiveHardMasks([], [4, 5], 2)).toEqual([[4, 5], [4, 5]])
    expect(effectiveHardMasks([], null, 2)).toEqual([])
    expect(parseHostGuestMask('4,5')).toEqual([4, 5])
    expect(parseHostGuestMask('4, 5')).toBeNull()
  })
})
