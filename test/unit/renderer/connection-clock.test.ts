/** 'as of' times (renderer/src/model/connection.ts clock): answered again from memory, but never across a change of day. */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { clock } from '../../../renderer/src/model/connection'

const local = (y: number, m: number, d: number, h: number, min: number): Date => new Date(y, m - 1, d, h, min)

describe('clock', () => {
  afterEach(() => void vi.useRealTimers())

  it("says 'HH:MM' for today and the date for another day, the same after the day changes as a fresh answer would", () => {
    vi.useFakeTimers()
    const at = local(2026, 12, 8, 9, 5).toISOString()
    vi.setSystemTime(local(2026, 12, 8, 23, 59))
    expect(clock(at)).toBe('09:05')
    expect(clock(at)).toBe('09:05')
    // midnight: the same time is yesterday's now
    vi.setSystemTime(local(2026, 12, 9, 0, 1))
    expect(clock(at)).toBe('2026-12-08 09:05')
    // and back (a clock set back): today's again
    vi.setSystemTime(local(2026, 12, 8, 12, 0))
    expect(clock(at)).toBe('09:05')
    expect(clock('not a time')).toBe('not a time')
  })
})
