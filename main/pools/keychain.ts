/**
 * Where saved passwords live. The app uses Electron's safeStorage through an adapter written
 * against this interface (main/app); browser mode and tests use one of the two below. Passwords
 * never go to logs, ConnectionState or the cache.
 */
import { basename } from 'node:path'
import { createCipheriv, createDecipheriv, randomBytes, scrypt as scryptCb, type ScryptOptions } from 'node:crypto'
import { z } from 'zod'
import { SmallFile, type SmallFileProblem } from '../storage/small-file'

export interface Keychain {
  isAvailable(): Promise<boolean>
  get(account: string): Promise<string | undefined>
  set(account: string, secret: string): Promise<void>
  delete(account: string): Promise<void>
  /** why remembered passwords can be neither read nor saved right now (a sentence), or undefined when they can */
  unusable?(): Promise<string | undefined>
}

/** the passphrase does not open the keychain file (wrong XENPILOT_PASSPHRASE, or a damaged file) */
export class KeychainLockedError extends Error {
  override name = 'KeychainLockedError'
  constructor(file: string) {
    super(
      `Locked: the passphrase does not open ${basename(file)} — XENPILOT_PASSPHRASE is not the one it was written with, or the file is damaged. Remembered passwords can be neither read nor saved; restart XenPilot with the right passphrase, or connect without remembering the password.`,
    )
  }
}

/** secrets for this process's lifetime only */
export class MemoryKeychain implements Keychain {
  private readonly secrets = new Map<string, string>()
  async isAvailable(): Promise<boolean> {
    return true
  }
  async get(account: string): Promise<string | undefined> {
    return this.secrets.get(account)
  }
  async set(account: string, secret: string): Promise<void> {
    this.secrets.set(account, secret)
  }
  async delete(account: string): Promise<void> {
    this.secrets.delete(account)
  }
}

function scrypt(password: string, salt: Buffer, keylen: number, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scryptCb(password, salt, keylen, opts, (e, k) => (e ? reject(e) : resolve(k))))
}

const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64')
/** scrypt costs this keychain writes, and the most it accepts from a file (a hostile N could take minutes and GBs) */
const KeychainFileFormat = z.object({
  version: z.literal(1),
  kdf: z.object({
    name: z.literal('scrypt'),
    salt: base64,
    N: z.number().int().min(2).max(2 ** 20).refine((n) => (n & (n - 1)) === 0, 'must be a power of two'),
    r: z.number().int().min(1).max(32),
    p: z.number().int().min(1).max(16),
  }),
  /** base64(iv 12 | tag 16 | ciphertext) of JSON {account: secret} */
  data: base64,
})
type FileFormat = z.infer<typeof KeychainFileFormat>
/** the decrypted content */
const Secrets = z.record(z.string(), z.string())

const SCRYPT = { N: 1 << 15, r: 8, p: 1 }

/**
 * All secrets in one file encrypted with AES-256-GCM under a key derived from a passphrase with
 * scrypt (N=2^15, r=8, p=1; the salt is made on the first write and kept, a fresh IV on every
 * write). Kept through the one small-file store (main/storage/small-file.ts): mode 0600, atomic
 * writes, the file's shape checked on read (a damaged file is set aside and said in `problem`), and
 * a secret is held in memory only after the disk took it — a refused write rejects with a sentence.
 * A wrong passphrase or a tampered file fails loudly (GCM tag) instead of returning garbage.
 */
export class PassphraseFileKeychain implements Keychain {
  private cache: Map<string, string> | undefined
  private key: { salt: Buffer; key: Buffer } | undefined
  private chain: Promise<unknown> = Promise.resolve()
  private readonly store: SmallFile<FileFormat | undefined>
  /**
   * what reading the file found wrong (damaged and set aside), if anything: known from construction
   * (the file is read then), so the start's notices can say it
   */
  readonly problem: SmallFileProblem | undefined
  /** the file as read at construction (its shape checked); decrypted on first use */
  private read: FileFormat | undefined

  constructor(
    private readonly file: string,
    private readonly passphrase: string,
  ) {
    if (passphrase.length === 0) throw new Error('the keychain passphrase must not be empty')
    this.store = new SmallFile<FileFormat | undefined>({ file, what: 'the remembered passwords', version: 1, schema: KeychainFileFormat, empty: () => undefined })
    const r = this.store.read()
    this.read = r.value
    if (r.problem) this.problem = { ...r.problem, message: `${r.problem.message} Remembered passwords must be entered again.` }
  }

  async isAvailable(): Promise<boolean> {
    return (await this.unusable()) === undefined
  }

  async unusable(): Promise<string | undefined> {
    try {
      await this.serial(() => this.load())
      return undefined
    } catch (e) {
      return (e as Error).message
    }
  }

  private async deriveKey(salt: Buffer): Promise<Buffer> {
    return scrypt(this.passphrase, salt, 32, { ...SCRYPT, maxmem: 64 * 1024 * 1024 })
  }

  private async load(): Promise<Map<string, string>> {
    if (this.cache) return this.cache
    const f = this.read
    if (!f) {
      this.cache = new Map()
      return this.cache
    }
    const salt = Buffer.from(f.kdf.salt, 'base64')
    const key = await scrypt(this.passphrase, salt, 32, { N: f.kdf.N, r: f.kdf.r, p: f.kdf.p, maxmem: 256 * 1024 * 1024 })
    const blob = Buffer.from(f.data, 'base64')
    let plain: string
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, blob.subarray(0, 12))
      decipher.setAuthTag(blob.subarray(12, 28))
      plain = Buffer.concat([decipher.update(blob.subarray(28)), decipher.final()]).toString('utf8')
    } catch {
      throw new KeychainLockedError(this.file)
    }
    let secrets: Record<string, string>
    try {
      secrets = Secrets.parse(JSON.parse(plain))
    } catch {
      throw new Error(`keychain file ${this.file} decrypts to something that is not a list of passwords`)
    }
    this.cache = new Map(Object.entries(secrets))
    this.key = { salt, key }
    return this.cache
  }

  /** writes `map`; only then is it the keychain's content */
  private async save(map: Map<string, string>): Promise<void> {
    if (!this.key) {
      const salt = randomBytes(16)
      this.key = { salt, key: await this.deriveKey(salt) }
    }
    const iv = randomBytes(12)
    const cipher = createCipheriv('aes-256-gcm', this.key.key, iv)
    const ct = Buffer.concat([cipher.update(JSON.stringify(Object.fromEntries(map)), 'utf8'), cipher.final()])
    const f: FileFormat = {
      version: 1,
      kdf: { name: 'scrypt', salt: this.key.salt.toString('base64'), ...SCRYPT },
      data: Buffer.concat([iv, cipher.getAuthTag(), ct]).toString('base64'),
    }
    await this.store.write(f)
    this.cache = map
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.chain.then(fn, fn)
    this.chain = next.catch(() => undefined)
    return next
  }

  get(account: string): Promise<string | undefined> {
    return this.serial(async () => (await this.load()).get(account))
  }

  set(account: string, secret: string): Promise<void> {
    return this.serial(async () => {
      const m = new Map(await this.load())
      m.set(account, secret)
      await this.save(m)
    })
  }

  delete(account: string): Promise<void> {
    return this.serial(async () => {
      const m = new Map(await this.load())
      if (m.delete(account)) await this.save(m)
    })
  }
}
