/**
 * Remembered passwords in Electron: encrypted with the OS keychain through safeStorage's async
 * API, the ciphertexts kept in `<userData>/keychain.json` (0600). Written against the few
 * safeStorage members it uses, so it is tested in plain Node with a fake.
 *
 * On Linux without a keyring safeStorage picks 'basic_text' — "encryption" with a key hard-coded in
 * Chromium, i.e. none. Then nothing is written to disk until the user accepts (keychain.acceptInsecure);
 * until then remembered passwords live in memory for this run only, and the UI says so.
 *
 * The file goes through the one small-file store (main/storage/small-file.ts): checked on read (a
 * damaged file is set aside and said), and a password counts as remembered only after the disk took
 * it — a refused write rejects with a sentence and the keychain holds what it held.
 */
import { z } from 'zod'
import type { KeychainState } from '../../shared/contract'
import type { Unsubscribe } from '../pools/api'
import type { Keychain } from '../pools/keychain'
import type { KeychainStatusSource } from '../services'
import { StoredDocument, type SmallFileProblem } from '../storage/small-file'

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

export interface SafeStorageKeychain extends Keychain, KeychainStatusSource {
  /** keychain.json was damaged and set aside when opened (said with the start's notices) */
  readonly problem: SmallFileProblem | undefined
}

export async function openSafeStorageKeychain(opts: { safeStorage: SafeStorageLike; platform: NodeJS.Platform; file: string; log?: (line: string) => void }): Promise<SafeStorageKeychain> {
  const { safeStorage, file } = opts
  const log = opts.log ?? (() => {})
  const stored = new StoredDocument<KeychainFile>({ file, what: 'the remembered passwords', version: 1, schema: KeychainFile, empty: () => ({ version: 1, acceptedBasicText: false, entries: {} }) })
  const problem = stored.problem ? { ...stored.problem, message: `${stored.problem.message} Remembered passwords must be entered again.` } : undefined
  if (problem) log(`keychain: ${problem.message}`)
  const entry = (account: string): string | undefined => (Object.prototype.hasOwnProperty.call(stored.value.entries, account) ? stored.value.entries[account] : undefined)
  const withEntry = (account: string, ciphertext: string | undefined) => (d: KeychainFile): KeychainFile => {
    const entries = { ...d.entries }
    if (ciphertext === undefined) delete entries[account]
    else entries[account] = ciphertext
    return { ...d, entries }
  }

  const available = await safeStorage.isAsyncEncryptionAvailable().catch(() => false)
  const backend = opts.platform === 'linux' ? (safeStorage.getSelectedStorageBackend?.() ?? 'unknown') : 'os'
  const basicText = backend === 'basic_text'
  const memory = new Map<string, string>()
  const listeners = new Set<(s: KeychainState) => void>()

  const usable = (): boolean => available && (!basicText || stored.value.acceptedBasicText)

  function state(): KeychainState {
    if (!available) {
      return { backend: 'os-keychain', persistent: false, status: 'unavailable', detail: 'The operating system’s keychain is not available, so remembered passwords are kept only until XenPilot quits.' }
    }
    if (basicText && !stored.value.acceptedBasicText) {
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

  return {
    state,
    problem,
    // Always usable: without a usable OS store secrets are held in memory for this run.
    isAvailable: async () => true,
    async acceptInsecure() {
      if (available && basicText && !stored.value.acceptedBasicText) {
        // What was only in memory so far is now written like everything else.
        const entries: Record<string, string> = {}
        for (const [account, secret] of memory) entries[account] = (await safeStorage.encryptStringAsync(secret)).toString('base64')
        await stored.update((d) => ({ ...d, acceptedBasicText: true, entries: { ...d.entries, ...entries } }))
        memory.clear()
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
      const ciphertext = entry(account)
      if (ciphertext === undefined || !usable()) return undefined
      try {
        const { result, shouldReEncrypt } = await safeStorage.decryptStringAsync(Buffer.from(ciphertext, 'base64'))
        if (shouldReEncrypt) {
          const again = (await safeStorage.encryptStringAsync(result)).toString('base64')
          // the old ciphertext still decrypts: a refused write only postpones the re-encryption
          await stored.update(withEntry(account, again)).catch((e: unknown) => log(`keychain: ${(e as Error).message}`))
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
      const ciphertext = (await safeStorage.encryptStringAsync(secret)).toString('base64')
      await stored.update(withEntry(account, ciphertext))
    },
    async delete(account) {
      memory.delete(account)
      if (entry(account) !== undefined) await stored.update(withEntry(account, undefined))
    },
  }
}
