/**
 * pins.json and connections.json go through the one small-file store: a file with a bad entry is
 * set aside whole and said (never half-read with the bad entries silently dropped), and a pin is
 * trusted only once the disk took it.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { PinStore } from '../../../main/xapi/trust'
import { makeManager } from '../../integration/pools/helpers'

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'xp-pins-'))
  dirs.push(d)
  return d
}

const fp = Array.from({ length: 32 }, (_, i) => (i * 7).toString(16).padStart(2, '0').toUpperCase().slice(-2)).join(':')
const goodPin = { fingerprint256: fp, pem: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n', subject: 'CN=a', issuer: 'CN=a', validFrom: '2026-01-01T00:00:00.000Z', validTo: '2036-01-01T00:00:00.000Z', pinnedAt: '2026-12-07T00:00:00.000Z', source: 'user' }

describe('pins.json', () => {
  it('a file with one bad pin is set aside and said, not read with the bad pin dropped', () => {
    const dir = tmp()
    const file = join(dir, 'pins.json')
    writeFileSync(file, JSON.stringify({ version: 1, pins: { 'a:443': goodPin, 'b:443': { ...goodPin, source: 'anyone' } } }))
    const pins = new PinStore(file)
    expect(pins.keys()).toEqual([])
    expect(pins.problem?.message).toMatch(/^The certificate pins \(.*pins\.json\) could not be read: .*pins\.b:443\.source.* The file was kept as pins\.json\.damaged-/)
    expect(existsSync(file)).toBe(false)
    expect(readdirSync(dir).filter((n) => n.startsWith('pins.json.damaged-'))).toHaveLength(1)
  })

  it('a pin is trusted only after the disk took it', async () => {
    const dir = tmp()
    const file = join(dir, 'pins.json')
    // a folder where the file should be: every write fails
    const blocked = join(dir, 'blocked')
    const pins = new PinStore(join(blocked, 'pins.json'))
    writeFileSync(blocked, 'not a folder')
    await expect(pins.set('a:443', { ...goodPin, source: 'user' })).rejects.toThrow(/^XenPilot could not save the certificate pins .*Nothing was changed\.$/)
    expect(pins.get('a:443')).toBeUndefined()
    const ok = new PinStore(file)
    await ok.set('a:443', { ...goodPin, source: 'user' })
    expect(new PinStore(file).get('a:443')?.fingerprint256).toBe(fp)
  })
})

describe('connections.json', () => {
  it('a damaged file is set aside and said, the manager starts with no servers instead of refusing to start', async () => {
    const dir = tmp()
    writeFileSync(join(dir, 'connections.json'), '{"version":1,"connections":[{"id":"x"')
    const h = makeManager({}, dir)
    try {
      expect(h.manager.list()).toEqual([])
      expect(h.manager.fileProblems().map((p) => p.message)).toEqual([expect.stringMatching(/^The saved servers \(.*connections\.json\) could not be read: it is not valid JSON.*kept as connections\.json\.damaged-/)])
      expect(h.logs.some((l) => l.includes('The saved servers'))).toBe(true)
    } finally {
      await h.close()
    }
  })
})
