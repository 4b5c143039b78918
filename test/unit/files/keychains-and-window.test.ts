/**
 * Both keychains and the window state go through the one small-file store: on a full disk a
 * remembered password is refused with a sentence and the keychain still holds what it held (in
 * memory and on disk), with no temp file left; a damaged file is set aside and said.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { openSafeStorageKeychain, type SafeStorageLike } from '../../../main/app/safe-storage-keychain'
import { loadWindowState, saveWindowState } from '../../../main/app/window-state'
import { PassphraseFileKeychain } from '../../../main/pools/keychain'
import { mountSmallDisk, smallDiskSkipReason, tempFilesIn, type SmallDisk } from '../../helpers/small-disk'

const fakeSafeStorage: SafeStorageLike = {
  isAsyncEncryptionAvailable: async () => true,
  encryptStringAsync: async (plain) => Buffer.from(`enc:${plain}`),
  decryptStringAsync: async (enc) => ({ result: enc.toString().replace(/^enc:/, ''), shouldReEncrypt: false }),
  getSelectedStorageBackend: () => 'gnome_libsecret',
}

const dirs: string[] = []
const disks: SmallDisk[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
  for (const d of disks.splice(0)) d.unmount()
})
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'xp-keychains-'))
  dirs.push(d)
  return d
}

describe.skipIf(smallDiskSkipReason !== undefined)(`on a full disk${smallDiskSkipReason ? ` (skipped: ${smallDiskSkipReason})` : ''}`, () => {
  it('the passphrase keychain refuses a new password with a sentence and keeps what it had', async () => {
    const disk = mountSmallDisk(256 * 1024)
    disks.push(disk)
    const file = join(disk.dir, 'keychain.enc')
    const k = new PassphraseFileKeychain(file, 'correct horse')
    await k.set('a', 'first')
    disk.fill()
    await expect(k.set('b', 'second')).rejects.toThrow(/^XenPilot could not save the remembered passwords \(.*keychain\.enc\): the disk holding .* is full\. Nothing was changed\.$/)
    await expect(k.delete('a')).rejects.toThrow(/is full/)
    expect(await k.get('b')).toBeUndefined()
    expect(await k.get('a')).toBe('first')
    expect(tempFilesIn(disk.dir)).toEqual([])
    const again = new PassphraseFileKeychain(file, 'correct horse')
    expect([await again.get('a'), await again.get('b')]).toEqual(['first', undefined])
  })

  it('the safeStorage keychain refuses a new password with a sentence and keeps what it had', async () => {
    const disk = mountSmallDisk(256 * 1024)
    disks.push(disk)
    const file = join(disk.dir, 'keychain.json')
    const k = await openSafeStorageKeychain({ safeStorage: fakeSafeStorage, platform: 'linux', file })
    await k.set('a', 'first')
    disk.fill()
    await expect(k.set('b', 'second')).rejects.toThrow(/^XenPilot could not save the remembered passwords \(.*keychain\.json\): the disk holding .* is full\. Nothing was changed\.$/)
    await expect(k.delete('a')).rejects.toThrow(/is full/)
    expect([await k.get('a'), await k.get('b')]).toEqual(['first', undefined])
    expect(tempFilesIn(disk.dir)).toEqual([])
    const again = await openSafeStorageKeychain({ safeStorage: fakeSafeStorage, platform: 'linux', file })
    expect([await again.get('a'), await again.get('b')]).toEqual(['first', undefined])
  })

  it('the window state is not half-written and leaves no temp file', async () => {
    const disk = mountSmallDisk(256 * 1024)
    disks.push(disk)
    const file = join(disk.dir, 'window-state.json')
    await saveWindowState(file, { x: 1, y: 2, width: 800, height: 600, maximized: false })
    disk.fill()
    await expect(saveWindowState(file, { x: 5, y: 5, width: 900, height: 700, maximized: true })).rejects.toThrow(/window position.*is full/)
    expect(loadWindowState(file)).toEqual({ x: 1, y: 2, width: 800, height: 600, maximized: false })
    expect(tempFilesIn(disk.dir)).toEqual([])
  })
})

describe('damaged files', () => {
  it('a damaged safeStorage keychain file is set aside and said', async () => {
    const dir = tmp()
    const file = join(dir, 'keychain.json')
    writeFileSync(file, JSON.stringify({ version: 1, entries: { a: 'not base64 !!' } }))
    const log: string[] = []
    const k = await openSafeStorageKeychain({ safeStorage: fakeSafeStorage, platform: 'linux', file, log: (l) => log.push(l) })
    expect(await k.get('a')).toBeUndefined()
    expect(log.join('\n')).toMatch(/The remembered passwords \(.*keychain\.json\) could not be read: .*entries\.a.*kept as keychain\.json\.damaged-/)
    expect(existsSync(file)).toBe(false)
    expect(readdirSync(dir).some((n) => n.startsWith('keychain.json.damaged-'))).toBe(true)
  })

  it('a passphrase keychain file of the wrong shape is set aside and said; the keychain starts empty', async () => {
    const dir = tmp()
    const file = join(dir, 'keychain.enc')
    writeFileSync(file, JSON.stringify({ version: 1, kdf: { name: 'scrypt', salt: 'AAAA', N: 2 ** 40, r: 8, p: 1 }, data: 'AAAA' }))
    const k = new PassphraseFileKeychain(file, 'correct horse')
    expect(await k.get('a')).toBeUndefined()
    expect(k.problem?.message).toMatch(/^The remembered passwords \(.*keychain\.enc\) could not be read: .*kdf\.N.* kept as keychain\.enc\.damaged-/)
  })

  it('a damaged window state file is set aside; the window opens at the default place', () => {
    const dir = tmp()
    const file = join(dir, 'window-state.json')
    writeFileSync(file, '{"x":"left"}')
    expect(loadWindowState(file)).toBeUndefined()
    expect(readdirSync(dir).some((n) => n.startsWith('window-state.json.damaged-'))).toBe(true)
  })
})
