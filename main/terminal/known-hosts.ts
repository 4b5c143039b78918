/**
 * SSH host keys pinned on first use, the way main/xapi/trust.ts pins TLS certificates: one file through the
 * small-file store (`<dataDir>/ssh-known-hosts.json`, every pin checked on read, a damaged file set aside and
 * said, a pin trusted only after the disk took it), keyed by `host:port`.
 *
 * `checkHostKey` is the one comparison: the key a server presents is accepted only when its SHA-256 fingerprint
 * equals the pin; no pin is "unknown" (the user is shown the fingerprint and trusts it or not), another key is
 * "changed" (refused, both fingerprints shown; only an explicit re-trust replaces the pin).
 */
import { createHash } from 'node:crypto'
import { z } from 'zod'
import { StoredDocument, type SmallFileProblem } from '../storage/small-file'

/** SHA256:<base64 without padding> of an SSH public key blob, as `ssh-keygen -lf` prints it */
export function sshFingerprint(publicKeyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(publicKeyBlob).digest('base64').replace(/=+$/, '')}`
}

/** the key type named inside an SSH public key blob ('ssh-ed25519', 'ecdsa-sha2-nistp256', 'ssh-rsa') */
export function sshKeyType(publicKeyBlob: Buffer): string {
  if (publicKeyBlob.length < 4) return 'unknown'
  const n = publicKeyBlob.readUInt32BE(0)
  if (n <= 0 || n > 64 || publicKeyBlob.length < 4 + n) return 'unknown'
  const t = publicKeyBlob.subarray(4, 4 + n).toString('latin1')
  return /^[a-z0-9@.-]+$/.test(t) ? t : 'unknown'
}

export const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}$/

export const PinnedHostKey = z.object({
  fingerprint: z.string().regex(FINGERPRINT, 'must be an SSH SHA-256 fingerprint (SHA256:…)'),
  keyType: z.string().min(1).max(64),
  /** the public key blob, base64 */
  publicKey: z.string().regex(/^[A-Za-z0-9+/]+={0,2}$/).max(8192),
  pinnedAt: z.string(),
  /** 'user' confirmed it in the app; 'demo' seeded by `npm run demo` from the simulator's own report */
  source: z.enum(['user', 'demo']),
})
export type PinnedHostKey = z.infer<typeof PinnedHostKey>

const KnownHostsFile = z.object({ version: z.literal(1), keys: z.record(z.string(), PinnedHostKey) })
type KnownHostsFile = z.infer<typeof KnownHostsFile>

export type HostKeyVerdict = { kind: 'match' } | { kind: 'unknown'; fingerprint: string } | { kind: 'changed'; fingerprint: string; previous: string }

/** THE comparison of a presented host key with its pin (test/unit/terminal/known-hosts.test.ts fails without it) */
export function checkHostKey(pin: PinnedHostKey | undefined, presented: Buffer): HostKeyVerdict {
  const fingerprint = sshFingerprint(presented)
  if (!pin) return { kind: 'unknown', fingerprint }
  if (pin.fingerprint === fingerprint && pin.publicKey === presented.toString('base64')) return { kind: 'match' }
  return { kind: 'changed', fingerprint, previous: pin.fingerprint }
}

export function sshHostKey(host: string, port: number): string {
  return `${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${port}`
}

export class KnownHosts {
  private readonly doc: StoredDocument<KnownHostsFile> | undefined
  private memory: KnownHostsFile = { version: 1, keys: {} }
  readonly problem: SmallFileProblem | undefined

  /** `file` undefined = memory only (tests) */
  constructor(file?: string) {
    this.doc = file ? new StoredDocument({ file, what: 'the SSH host keys', version: 1, schema: KnownHostsFile, empty: () => ({ version: 1, keys: {} }) }) : undefined
    const p = this.doc?.problem
    // said with the start's notices (main/services/runtime.ts): what it means for the user
    this.problem = p && p.kind === 'damaged' ? { ...p, message: `${p.message} The hosts’ SSH keys pinned before are not trusted any more: each host’s key is shown again for you to compare and trust at its next connection.` } : p
  }

  private get current(): KnownHostsFile {
    return this.doc ? this.doc.value : this.memory
  }

  get(key: string): PinnedHostKey | undefined {
    return Object.prototype.hasOwnProperty.call(this.current.keys, key) ? this.current.keys[key] : undefined
  }

  /** resolves once the disk took it; only then is the key trusted */
  async set(key: string, pin: PinnedHostKey): Promise<void> {
    if (!this.doc) {
      this.memory = { version: 1, keys: { ...this.memory.keys, [key]: pin } }
      return
    }
    await this.doc.update((d) => ({ ...d, keys: { ...d.keys, [key]: pin } }))
  }

  async delete(key: string): Promise<void> {
    if (!this.get(key)) return
    const drop = (keys: Record<string, PinnedHostKey>): Record<string, PinnedHostKey> => {
      const next = { ...keys }
      delete next[key]
      return next
    }
    if (!this.doc) {
      this.memory = { version: 1, keys: drop(this.memory.keys) }
      return
    }
    await this.doc.update((d) => ({ ...d, keys: drop(d.keys) }))
  }

  idle(): Promise<void> {
    return this.doc?.idle() ?? Promise.resolve()
  }
}
