import { afterEach, describe, expect, it } from 'vitest'
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MemoryKeychain, PassphraseFileKeychain } from '../../../main/pools/keychain'

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'xp-kc-'))
  dirs.push(d)
  return d
}

describe('MemoryKeychain', () => {
  it('stores, returns and deletes secrets', async () => {
    const k = new MemoryKeychain()
    expect(await k.isAvailable()).toBe(true)
    await k.set('a', 's1')
    expect(await k.get('a')).toBe('s1')
    await k.delete('a')
    expect(await k.get('a')).toBeUndefined()
  })
})

describe('PassphraseFileKeychain', () => {
  it('persists secrets encrypted (no clear text in the file, mode 0600) and reads them back', async () => {
    const file = join(tmp(), 'keychain.json')
    const k = new PassphraseFileKeychain(file, 'correct horse')
    await k.set('conn-1', 'hunter2-secret')
    await k.set('conn-2', 'other')
    await k.delete('conn-2')
    const text = readFileSync(file, 'utf8')
    expect(text).not.toContain('hunter2')
    expect(text).not.toContain('conn-1')
    expect(statSync(file).mode & 0o777).toBe(0o600)
    const again = new PassphraseFileKeychain(file, 'correct horse')
    expect(await again.get('conn-1')).toBe('hunter2-secret')
    expect(await again.get('conn-2')).toBeUndefined()
  })

  it('refuses a wrong passphrase or a tampered file with a clear error', async () => {
    const file = join(tmp(), 'keychain.json')
    await new PassphraseFileKeychain(file, 'right').set('a', 'b')
    const wrong = new PassphraseFileKeychain(file, 'wrong')
    await expect(wrong.get('a')).rejects.toThrow(/^Locked: the passphrase does not open keychain\.json/)
    expect(await wrong.isAvailable()).toBe(false)
    expect(await wrong.unusable()).toMatch(/^Locked: the passphrase does not open keychain\.json .*XENPILOT_PASSPHRASE/)
    expect(await new PassphraseFileKeychain(file, 'right').unusable()).toBeUndefined()
    const f = JSON.parse(readFileSync(file, 'utf8')) as { data: string }
    const blob = Buffer.from(f.data, 'base64')
    blob[blob.length - 1] = (blob[blob.length - 1] ?? 0) ^ 1
    writeFileSync(file, JSON.stringify({ ...f, data: blob.toString('base64') }))
    await expect(new PassphraseFileKeychain(file, 'right').get('a')).rejects.toThrow(/does not open keychain\.json .*or the file is damaged/)
  })
})
