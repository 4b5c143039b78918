/**
 * Remembered passwords in the desktop app go through Electron's safeStorage (async API). These
 * specs drive the adapter with a fake safeStorage that really transforms the bytes, so a
 * plaintext leak to disk would show.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { openSafeStorageKeychain, type SafeStorageLike } from '../../../main/app/safe-storage-keychain'

class FakeSafeStorage implements SafeStorageLike {
  constructor(
    public available = true,
    public backend = 'gnome_libsecret',
    public rotateKey = false,
  ) {}
  calls = { encrypt: 0, decrypt: 0 }
  async isAsyncEncryptionAvailable(): Promise<boolean> {
    return this.available
  }
  async encryptStringAsync(plain: string): Promise<Buffer> {
    this.calls.encrypt++
    return Buffer.concat([Buffer.from('v10'), Buffer.from(Buffer.from(plain, 'utf8').map((b) => b ^ 0x5a))])
  }
  async decryptStringAsync(enc: Buffer): Promise<{ result: string; shouldReEncrypt: boolean }> {
    this.calls.decrypt++
    if (enc.subarray(0, 3).toString() !== 'v10') throw new Error('bad ciphertext')
    return { result: Buffer.from(enc.subarray(3).map((b) => b ^ 0x5a)).toString('utf8'), shouldReEncrypt: this.rotateKey }
  }
  getSelectedStorageBackend(): string {
    return this.backend
  }
}

describe('the safeStorage keychain', () => {
  let dir: string
  let file: string
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'xenpilot-keychain-'))
    file = join(dir, 'keychain.json')
  })
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  it('stores passwords encrypted in a 0600 file and reads them back after a restart', async () => {
    const ss = new FakeSafeStorage()
    const k = await openSafeStorageKeychain({ safeStorage: ss, platform: 'linux', file })
    expect(k.state()).toMatchObject({ backend: 'os-keychain', persistent: true, status: 'ready' })
    await k.set('xenpilot:connection:a', 'hunter2-secret')
    const text = readFileSync(file, 'utf8')
    expect(text).not.toContain('hunter2-secret')
    expect(statSync(file).mode & 0o777).toBe(0o600)
    const again = await openSafeStorageKeychain({ safeStorage: ss, platform: 'linux', file })
    expect(await again.get('xenpilot:connection:a')).toBe('hunter2-secret')
    await again.delete('xenpilot:connection:a')
    expect(await again.get('xenpilot:connection:a')).toBeUndefined()
  })

  it('on Linux without a keyring (basic_text) writes nothing until the user accepts, and says so', async () => {
    const ss = new FakeSafeStorage(true, 'basic_text')
    const k = await openSafeStorageKeychain({ safeStorage: ss, platform: 'linux', file })
    expect(k.state()).toMatchObject({ backend: 'basic-text', persistent: false, status: 'needs-consent' })
    expect(k.state().detail).toMatch(/keyring/i)
    await k.set('acct', 'in-memory-only')
    expect(existsSync(file)).toBe(false)
    expect(await k.get('acct')).toBe('in-memory-only')

    const seen: string[] = []
    k.onState?.((s) => seen.push(s.status))
    const accepted = await k.acceptInsecure()
    expect(accepted).toMatchObject({ backend: 'basic-text', persistent: true, status: 'ready' })
    expect(seen).toEqual(['ready'])
    // what was held in memory is now on disk (obfuscated by safeStorage), and survives a restart
    const again = await openSafeStorageKeychain({ safeStorage: ss, platform: 'linux', file })
    expect(again.state().status).toBe('ready')
    expect(await again.get('acct')).toBe('in-memory-only')
  })

  it('the basic_text rule is Linux-only', async () => {
    const k = await openSafeStorageKeychain({ safeStorage: new FakeSafeStorage(true, 'basic_text'), platform: 'darwin', file })
    expect(k.state()).toMatchObject({ backend: 'os-keychain', status: 'ready' })
  })

  it('without any OS encryption keeps passwords for this run only and reports it', async () => {
    const k = await openSafeStorageKeychain({ safeStorage: new FakeSafeStorage(false), platform: 'win32', file })
    expect(k.state()).toMatchObject({ status: 'unavailable', persistent: false })
    await k.set('a', 'b')
    expect(await k.get('a')).toBe('b')
    expect(existsSync(file)).toBe(false)
  })

  it('re-encrypts a password when safeStorage says the key rotated', async () => {
    const ss = new FakeSafeStorage()
    const k = await openSafeStorageKeychain({ safeStorage: ss, platform: 'linux', file })
    await k.set('a', 'pw')
    ss.rotateKey = true
    const before = ss.calls.encrypt
    expect(await k.get('a')).toBe('pw')
    expect(ss.calls.encrypt).toBe(before + 1)
  })

  it('a damaged keychain file or ciphertext costs the saved passwords, never the start', async () => {
    writeFileSync(file, '{"version":1,"entries":{"a":"!!notbase64"}}')
    const lines: string[] = []
    const k = await openSafeStorageKeychain({ safeStorage: new FakeSafeStorage(), platform: 'linux', file, log: (l) => lines.push(l) })
    expect(await k.get('a')).toBeUndefined()
    expect(lines.join('\n')).toContain('keychain.json')
    writeFileSync(file, JSON.stringify({ version: 1, entries: { a: Buffer.from('garbage').toString('base64') } }))
    const k2 = await openSafeStorageKeychain({ safeStorage: new FakeSafeStorage(), platform: 'linux', file, log: (l) => lines.push(l) })
    expect(await k2.get('a')).toBeUndefined()
    expect(lines.at(-1)).toContain('could not be decrypted')
  })
})
