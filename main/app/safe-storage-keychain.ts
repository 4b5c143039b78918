/**
 * Remembered passwords in Electron: encrypted with the OS keychain through safeStorage's async
 * API, the ciphertexts kept in `<userData>/keychain.json` (0600). Written against the few
 * safeStorage members it uses, so it is tested in plain Node with a fake.
 *
 * On Linux without a keyring safeStorage picks 'basic_text' — "encryption" with a key hard-coded in
 * Chromium, i.e. none. Then nothing is written to disk until the user accepts (keychain.acceptInsecure);
 * until then remembered passwords live in memory for this run only, and the UI says so.
 */
import { z } from 'zod'
import type { KeychainState } from '../../shared/contract'
import type { Unsubscribe } from '../pools/api'
import type { Keychain } from '../pools/keychain'
import type { KeychainStatusSource } from '../services'
import { readJsonFile, writeJsonFile } from '../services/json-file'

export interface SafeStorageLike {
  isAsyncEncryptionAvailable(): Promise<boolean>
  encryptStringAsync(plainText: string): Promise<Buffer>
  decryptStringAsync(encrypted: Buffer): Promise<{ result: string; shouldReEncrypt: boolean }>
  /** Linux only */
  getSelectedStorageBackend?(): string
}


const KeychainFile = z.object({
  version: z.literal(1),
  /** the user accepted Linux's basic_text store */
  acceptedBasicText: z.boolean().default(false),
  /** account → base64 ciphertext from safeStorage */
  entries: z.record(z.string(), z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64')),
})
type KeychainFile = z.infer<typeof KeychainFile>

export interface SafeStorageKeychain extends Keychain, KeychainStatusSource {}

export async function openSafeStorageKeychain(opts: { safeStorage: SafeStorageLike; platform: NodeJS.Platform; file: string; log?: (line: string) => void }): Promise<SafeStorageKeychain> {
  const { safeStorage, file } = opts
  const log = opts.log ?? (() => {})
  const read = readJsonFile(file, KeychainFile)
  let doc: KeychainFile = read.ok ? read.value : { version: 1, acceptedBasicText: false, entries: {} }
  if (!read.ok && !read.missing) log(`keychain: ${read.problem}; remembered passwords must be entered again`)

  const available = await safeStorage.isAsyncEncryptionAvailable().catch(() => false)
  const backend = opts.platform === 'linux' ? (safeStorage.getSelectedStorageBackend?.() ?? 'unknown') : 'os'
  const basicText = backend === 'basic_text'
  const memory = new Map<string, string>()
  const listeners = new Set<(s: KeychainState) => void>()

  const usable = (): boolean => available && (!basicText || doc.acceptedBasicText)

  function state(): KeychainState {
    if (!available) {
      return { backend: 'os-keychain', persistent: false, status: 'unavailable', detail: 'The operating system’s keychain is not available, so remembered passwords are kept only until XenPilot quits.' }
    }
    if (basicText && !doc.acceptedBasicText) {
      return {
        backend: 'basic-text',
        persistent: false,
        status: 'needs-consent',
        detail: 'No keyring (GNOME Keyring, KWallet) was found, so passwords could only be stored obfuscated, not encrypted. They are kept in memory until you accept that or start a keyring.',
      }
    }
    if (basicText) return { backend: 'basic-text', persistent: true, status: 'ready', detail: 'Remembered passwords are stored obfuscated, not encrypted (no keyring was found; you accepted this).' }
    return { backend: 'os-keychain', persistent: true, status: 'ready', detail: 'Remembered passwords are encrypted with the operating system’s keychain.' }
  }

  function save(): void {
    writeJsonFile(file, doc)
  }

  return {
    state,
    // Always usable: without a usable OS store secrets are held in memory for this run.
    isAvailable: async () => true,
    async acceptInsecure() {
      if (available && basicText && !doc.acceptedBasicText) {
        doc = { ...doc, acceptedBasicText: true }
        // What was only in memory so far is now written like everything else.
        for (const [account, secret] of memory) doc.entries[account] = (await safeStorage.encryptStringAsync(secret)).toString('base64')
        memory.clear()
        save()
        const s = state()
        for (const cb of listeners) cb(s)
      }
      return state()
    },
    onState(cb): Unsubscribe {
      listeners.add(cb)
      return () => listeners.delete(cb)
    },
    async get(account) {
      const inMemory = memory.get(account)
      if (inMemory !== undefined) return inMemory
      const stored = doc.entries[account]
      if (stored === undefined || !usable()) return undefined
      try {
        const { result, shouldReEncrypt } = await safeStorage.decryptStringAsync(Buffer.from(stored, 'base64'))
        if (shouldReEncrypt) {
          doc.entries[account] = (await safeStorage.encryptStringAsync(result)).toString('base64')
          save()
        }
        return result
      } catch (err) {
        log(`keychain: the saved password for ${account} could not be decrypted (${(err as Error).message}); it must be entered again`)
        return undefined
      }
    },
    async set(account, secret) {
      if (!usable()) {
        memory.set(account, secret)
        return
      }
      doc.entries[account] = (await safeStorage.encryptStringAsync(secret)).toString('base64')
      save()
    },
    async delete(account) {
      memory.delete(account)
      if (account in doc.entries) {
        delete doc.entries[account]
        save()
      }
    },
  }
}
