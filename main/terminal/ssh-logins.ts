/**
 * The SSH port and user XenPilot last used for each host (issue 19), remembered across restarts through the one
 * small-file store (`<dataDir>/ssh-logins.json`, zod-checked on read, a damaged file set aside and said, atomic
 * write). Keyed by connection and host UUID (a host's ref can change when a pool is rebuilt; its UUID does not).
 * Bounded: the least recently used entries go past MAX_LOGINS. No secret is kept here — passwords live in the
 * keychain, host keys in ssh-known-hosts.json.
 */
import { z } from 'zod'
import { StoredDocument, type SmallFileProblem } from '../storage/small-file'

/** hosts remembered at most; the least recently used are forgotten first */
export const MAX_LOGINS = 2000

export const SshLogin = z.object({
  port: z.number().int().min(1).max(65535),
  username: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[A-Za-z_][A-Za-z0-9_.-]*$/),
  /** ISO time it was last used (for the bound) */
  usedAt: z.string().max(40),
})
export type SshLogin = z.infer<typeof SshLogin>

const SshLoginsFile = z.object({ version: z.literal(1), hosts: z.record(z.string().max(512), SshLogin) })
type SshLoginsFile = z.infer<typeof SshLoginsFile>

export function sshLoginKey(connectionId: string, hostUuid: string): string {
  return `${connectionId}|${hostUuid}`
}

export class SshLogins {
  private readonly doc: StoredDocument<SshLoginsFile> | undefined
  private memory: SshLoginsFile = { version: 1, hosts: {} }
  /** what was used this run, answered at once (the file follows in the background; a refused write loses only the next start's default) */
  private readonly recent = new Map<string, { port: number; username: string }>()
  readonly problem: SmallFileProblem | undefined

  /** `file` undefined = memory only (tests); `max`: hosts kept at most (MAX_LOGINS) */
  constructor(
    file?: string,
    private readonly max = MAX_LOGINS,
  ) {
    this.doc = file ? new StoredDocument({ file, what: 'the remembered SSH ports and users', version: 1, schema: SshLoginsFile, empty: () => ({ version: 1, hosts: {} }) }) : undefined
    const p = this.doc?.problem
    this.problem = p && p.kind === 'damaged' ? { ...p, message: `${p.message} Each host’s terminal starts again from port 22 and user root.` } : p
  }

  private get current(): SshLoginsFile {
    return this.doc ? this.doc.value : this.memory
  }

  get(key: string): { port: number; username: string } | undefined {
    const r = this.recent.get(key)
    if (r) return r
    const e = Object.prototype.hasOwnProperty.call(this.current.hosts, key) ? this.current.hosts[key] : undefined
    return e ? { port: e.port, username: e.username } : undefined
  }

  /** resolves once the disk took it (a refused write rejects; the terminal works anyway) */
  async remember(key: string, login: { port: number; username: string }): Promise<void> {
    const before = this.get(key)
    if (before && before.port === login.port && before.username === login.username) return
    const entry = { port: login.port, username: login.username }
    this.recent.set(key, entry)
    const next = (d: SshLoginsFile): SshLoginsFile => {
      const hosts: Record<string, SshLogin> = { ...d.hosts }
      delete hosts[key]
      hosts[key] = { port: login.port, username: login.username, usedAt: new Date().toISOString() }
      const keys = Object.keys(hosts)
      if (keys.length > this.max) {
        const oldest = keys.sort((a, b) => (hosts[a]?.usedAt ?? '').localeCompare(hosts[b]?.usedAt ?? '')).slice(0, keys.length - this.max)
        for (const k of oldest) delete hosts[k]
      }
      return { version: 1, hosts }
    }
    if (!this.doc) this.memory = next(this.memory)
    else await this.doc.update(next)
    // in the document now (kept only while the disk refuses it, for this run)
    if (this.recent.get(key) === entry) this.recent.delete(key)
  }

  idle(): Promise<void> {
    return this.doc?.idle() ?? Promise.resolve()
  }
}
