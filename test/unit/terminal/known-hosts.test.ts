/**
 * The SSH host key pin comparison (main/terminal/known-hosts.ts checkHostKey) and its file: a key other than the
 * pinned one is "changed" — removing the comparison turns this red — and a damaged file is set aside, not half-read.
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import ssh2 from 'ssh2'
import { afterAll, describe, expect, it } from 'vitest'
import { KnownHosts, checkHostKey, sshFingerprint, sshKeyType, type PinnedHostKey } from '../../../main/terminal/known-hosts'

const blob = (): Buffer => {
  const k = ssh2.utils.parseKey(ssh2.utils.generateKeyPairSync('ed25519').public)
  if (k instanceof Error) throw k
  return k.getPublicSSH()
}
const pinOf = (b: Buffer): PinnedHostKey => ({ fingerprint: sshFingerprint(b), keyType: sshKeyType(b), publicKey: b.toString('base64'), pinnedAt: new Date().toISOString(), source: 'user' })
const dir = mkdtempSync(join(tmpdir(), 'xp-known-hosts-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('checkHostKey', () => {
  it('the pinned key matches; no pin is unknown; any other key is changed, with both fingerprints', () => {
    const a = blob()
    const b = blob()
    expect(sshKeyType(a)).toBe('ssh-ed25519')
    expect(sshFingerprint(a)).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/)
    expect(checkHostKey(pinOf(a), a)).toEqual({ kind: 'match' })
    expect(checkHostKey(undefined, a)).toEqual({ kind: 'unknown', fingerprint: sshFingerprint(a) })
    expect(checkHostKey(pinOf(a), b)).toEqual({ kind: 'changed', fingerprint: sshFingerprint(b), previous: sshFingerprint(a) })
    // a pin whose stored key is not the presented one does not match on its fingerprint alone
    expect(checkHostKey({ ...pinOf(a), publicKey: b.toString('base64') }, a).kind).toBe('changed')
  })
})

describe('KnownHosts file', () => {
  it('keeps pins across opens; a damaged file is set aside and said, with no pin trusted from it', async () => {
    const file = join(dir, 'ssh-known-hosts.json')
    const a = blob()
    const k1 = new KnownHosts(file)
    await k1.set('127.0.0.1:22', pinOf(a))
    expect(new KnownHosts(file).get('127.0.0.1:22')?.fingerprint).toBe(sshFingerprint(a))
    writeFileSync(file, JSON.stringify({ version: 1, keys: { '127.0.0.1:22': { ...pinOf(a), fingerprint: 'MD5:nope' } } }))
    const k2 = new KnownHosts(file)
    expect(k2.get('127.0.0.1:22')).toBeUndefined()
    expect(k2.problem?.message).toMatch(/SSH host keys/)
    expect(readdirSync(dir).some((f) => f !== 'ssh-known-hosts.json' && f.startsWith('ssh-known-hosts.json'))).toBe(true)
  })
})
