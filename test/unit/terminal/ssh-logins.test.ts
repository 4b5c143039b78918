/**
 * The SSH port and user per host (main/terminal/ssh-logins.ts), kept across restarts in ssh-logins.json through the
 * small-file store: read back by a new instance, a file that is not what it should be set aside (never half-read),
 * and bounded (the least recently used forgotten first).
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { MAX_LOGINS, SshLogins, sshLoginKey } from '../../../main/terminal/ssh-logins'

const dir = mkdtempSync(join(tmpdir(), 'xp-ssh-logins-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('SshLogins', () => {
  it('remembers port and user per connection and host UUID across opens', async () => {
    const file = join(dir, 'ssh-logins.json')
    const a = new SshLogins(file)
    expect(a.get(sshLoginKey('c1', 'uuid-1'))).toBeUndefined()
    await a.remember(sshLoginKey('c1', 'uuid-1'), { port: 2222, username: 'admin' })
    await a.idle()
    const b = new SshLogins(file)
    expect(b.problem).toBeUndefined()
    expect(b.get(sshLoginKey('c1', 'uuid-1'))).toEqual({ port: 2222, username: 'admin' })
    expect(b.get(sshLoginKey('c2', 'uuid-1'))).toBeUndefined()
  })

  it('a file with a value out of range is set aside and said; nothing of it is used', () => {
    const file = join(dir, 'bad.json')
    writeFileSync(file, JSON.stringify({ version: 1, hosts: { 'c1|u': { port: 70000, username: 'root', usedAt: 'x' }, 'c1|v': { port: 22, username: 'root', usedAt: 'x' } } }))
    const s = new SshLogins(file)
    expect(s.get('c1|v')).toBeUndefined()
    expect(s.problem?.message).toMatch(/remembered SSH ports and users .* starts again from port 22 and user root\.$/)
    expect(readdirSync(dir).some((f) => f.startsWith('bad.json.damaged'))).toBe(true)
    // a user name that is not one (a shell command) is refused the same way
    const file2 = join(dir, 'bad2.json')
    writeFileSync(file2, JSON.stringify({ version: 1, hosts: { 'c1|u': { port: 22, username: 'root; rm -rf /', usedAt: 'x' } } }))
    expect(new SshLogins(file2).problem?.kind).toBe('damaged')
  })

  it('keeps at most its bound of hosts (MAX_LOGINS by default), forgetting the least recently used', async () => {
    expect(MAX_LOGINS).toBe(2000)
    const s = new SshLogins(undefined, 5)
    for (let i = 0; i <= 5; i++) await s.remember(`c|${i}`, { port: 22, username: 'root' })
    expect(s.get('c|0')).toBeUndefined()
    expect(s.get('c|1')).toEqual({ port: 22, username: 'root' })
    expect(s.get('c|5')).toEqual({ port: 22, username: 'root' })
  })
})
