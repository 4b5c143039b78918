/**
 * Where saved passwords live. The app uses Electron's safeStorage through an adapter written
 * against this interface (main/app); browser mode and tests use one of the two below. Passwords
 * never go to logs, ConnectionState or the cache.
 */
import { readFile } from 'node:fs/promises'
import { createCipheriv, createDecipheriv, randomBytes, scrypt as scryptCb, type ScryptOptions } from 'node:crypto'
import { writeFileAtomic } from '../xapi/atomic-file'

export interface Keychain {
  isAvailable(): Promise<boolean>
  get(account: string): Promise<string | undefined>
  set(account: string, secret: string): Promise<void>
  delete(account: string): Promise<void>
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

interface FileFormat {
  version: 1
  kdf: { name: 'scrypt'; salt: string; N: number; r: number; p: number }
  /** base64(iv 12 | tag 16 | ciphertext) of JSON {account: secret} */
  data: string
}

const SCRYPT = { N: 1 << 15, r: 8, p: 1 }

/**
 * All secrets in one file encrypted with AES-256-GCM under a key derived from a passphrase with
 * scrypt (N=2^15, r=8, p=1; a fresh salt and IV on every write). File mode 0600, atomic writes.
 * A wrong passphrase or a tampered file fails loudly (GCM tag) instead of returning garbage.
 */
export class PassphraseFileKeychain implements Keychain {
  private cache: Map<string, string> | undefined
  private key: { salt: Buffer; key: Buffer } | undefined
  private chain: Promise<unknown> = Promise.resolve()

  constructor(
    private readonly file: string,
    private readonly passphrase: string,
  ) {
    if (passphrase.length === 0) throw new Error('the keychain passphrase must not be empty')
  }

  async isAvailable(): Promise<boolean> {
    try {
      await this.load()
      return true
    } catch {
      return false
    }
  }

  private async deriveKey(salt: Buffer): Promise<Buffer> {
    return scrypt(this.passphrase, salt, 32, { ...SCRYPT, maxmem: 64 * 1024 * 1024 })
  }

  private async load(): Promise<Map<string, string>> {
    if (this.cache) return this.cache
    let text: string
    try {
      text = await readFile(this.file, 'utf8')
    } catch (e) {
      if ((e as { code?: string }).code === 'ENOENT') {
        this.cache = new Map()
        return this.cache
      }
      throw e
    }
    let f: FileFormat
    try {
      f = JSON.parse(text) as FileFormat
    } catch {
      throw new Error(`keychain file ${this.file} is not valid JSON`)
    }
    if (f?.version !== 1 || f.kdf?.name !== 'scrypt' || typeof f.data !== 'string' || typeof f.kdf.salt !== 'string') {
      throw new Error(`keychain file ${this.file} has an unknown format`)
    }
    const salt = Buffer.from(f.kdf.salt, 'base64')
    const key = await scrypt(this.passphrase, salt, 32, { N: f.kdf.N, r: f.kdf.r, p: f.kdf.p, maxmem: 256 * 1024 * 1024 })
    const blob = Buffer.from(f.data, 'base64')
    const decipher = createDecipheriv('aes-256-gcm', key, blob.subarray(0, 12))
    decipher.setAuthTag(blob.subarray(12, 28))
    let plain: string
    try {
      plain = Buffer.concat([decipher.update(blob.subarray(28)), decipher.final()]).toString('utf8')
    } catch {
      throw new Error(`keychain file ${this.file} cannot be decrypted: wrong passphrase or damaged file`)
    }
    const obj = JSON.parse(plain) as Record<string, unknown>
    this.cache = new Map(Object.entries(obj).filter((e): e is [string, string] => typeof e[1] === 'string'))
    this.key = { salt, key }
    return this.cache
  }

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
    await writeFileAtomic(this.file, JSON.stringify(f))
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
      const m = await this.load()
      m.set(account, secret)
      await this.save(m)
    })
  }

  delete(account: string): Promise<void> {
    return this.serial(async () => {
      const m = await this.load()
      if (m.delete(account)) await this.save(m)
    })
  }
}
