/**
 * What a connection says when it cannot connect (issue 15 items 4, 5, 12; issue 12 item 6), against
 * the simulator over real HTTPS: a refused password is not remembered and is asked for again, a
 * server that never answered is "unreachable" after a few tries (not "reconnecting" forever), a
 * missing password is a question ("password needed"), and a keychain the passphrase does not open
 * is "locked", refusing to add a server whose password it would have to keep — saving nothing.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { PassphraseFileKeychain } from '../../../main/pools/keychain'
import { passphraseFileKeychainStatus } from '../../../main/services/keychain-status'
import { addressOf, connectTrusted, makeManager, tinyPoolForTests, waitFor, type Harness } from './helpers'

const tiny = tinyPoolForTests()

async function addAndTrust(h: Harness, password: string, rememberPassword: boolean): Promise<string> {
  const st = await h.manager.add({ address: addressOf(tiny().masterUrl), username: tiny().username, password, rememberPassword })
  const waiting = await waitFor('awaiting-trust', () => {
    const s = h.manager.get(st.id)
    return s?.status === 'awaiting-trust' ? s : undefined
  })
  await h.manager.trust(st.id, waiting.certificate?.fingerprint256 ?? '')
  return st.id
}

const statusOf = (h: Harness, id: string) => h.manager.get(id)?.status

describe('a wrong password', () => {
  it('ends in a sentence, is not remembered nor shown as saved, is asked for again, and a corrected one connects and is remembered', async () => {
    const h = makeManager()
    try {
      const id = await addAndTrust(h, 'not-the-password', true)
      const failed = await waitFor('auth-failed', () => (statusOf(h, id) === 'auth-failed' ? h.manager.get(id) : undefined))
      expect(failed?.detail).toBe(`The pool refused the user name “${tiny().username}” or its password; enter the password again to connect.`)
      expect(failed?.hasPassword).toBe(false)
      expect(failed?.passwordStored).toBe(false)
      expect(await h.keychain.get(`xenpilot:connection:${id}`)).toBeUndefined()

      // Connect without typing a password: a question, the refused password is not tried again
      await h.manager.connect(id)
      expect(h.manager.get(id)).toMatchObject({ status: 'password-needed', detail: 'The pool refused the last password; enter it again to connect.' })

      // Edit connection → Save with the right password: it reconnects by itself, then remembers it
      await h.manager.edit({ id, password: tiny().password })
      await waitFor('connected', () => statusOf(h, id) === 'connected')
      await waitFor('keychain written', () => h.manager.get(id)?.hasPassword === true)
      expect(await h.keychain.get(`xenpilot:connection:${id}`)).toBe(tiny().password)
      expect(h.manager.get(id)?.passwordStored).toBe(true)
    } finally {
      await h.close()
    }
  })
})

describe('a server that never answers', () => {
  it('tries a few times, then is unreachable with the reason and stops; it never says reconnecting or counts members', async () => {
    const h = makeManager({ reconnect: { initialMs: 50, maxMs: 200, factor: 2, jitter: 0 } })
    try {
      const st = await h.manager.add({ address: '127.77.1.1:1', username: 'root', password: 'x', rememberPassword: false })
      const end = await waitFor('unreachable', () => (statusOf(h, st.id) === 'unreachable' ? h.manager.get(st.id) : undefined))
      expect(end?.detail).toBe('127.77.1.1:1 could not be reached (3 tries): cannot reach 127.77.1.1:1: the connection was refused (nothing answers on port 1).')
      const mine = h.states.filter((s) => s.id === st.id)
      expect(mine.map((s) => s.status)).not.toContain('reconnecting')
      expect(mine.some((s) => s.status === 'connecting' && /^Try 1 of 3 failed: /.test(s.detail ?? ''))).toBe(true)
      for (const s of mine) expect(s.detail ?? '').not.toMatch(/Connection lost|members/)
      // it stopped: nothing more happens
      const count = h.states.length
      await new Promise((r) => setTimeout(r, 800))
      expect(h.states.length).toBe(count)
      expect(statusOf(h, st.id)).toBe('unreachable')
    } finally {
      await h.close()
    }
  })
})

describe('no password in this session', () => {
  it('after a restart without a remembered password, a saved pool asks for one: password-needed, never login failed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xp-states-'))
    try {
      const first = makeManager({}, dir)
      await connectTrusted(first, tiny())
      await first.close()
      const second = makeManager({}, dir)
      try {
        await second.manager.connectAll()
        const [s] = second.manager.list()
        expect(s?.status).toBe('password-needed')
        expect(s?.detail).toMatch(/^Enter the password to connect/)
        expect(second.states.map((x) => x.status)).not.toContain('auth-failed')
      } finally {
        await second.close()
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('a keychain the passphrase does not open', () => {
  it('is locked (not ready), and adding a server that would be remembered is refused with nothing saved, however often it is tried', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xp-locked-'))
    const file = join(dir, 'keychain.enc')
    try {
      await new PassphraseFileKeychain(file, 'the right one').set('other', 'secret')
      const keychain = new PassphraseFileKeychain(file, 'a wrong one')
      const status = passphraseFileKeychainStatus(file, keychain)
      const state = await status.ready
      expect(state.status).toBe('locked')
      expect(state.detail).toMatch(/^Locked: the passphrase does not open keychain\.enc/)
      expect(status.state().status).toBe('locked')

      const h = makeManager({ keychain }, dir)
      try {
        const input = { address: addressOf(tiny().masterUrl), username: tiny().username, password: tiny().password, rememberPassword: true }
        for (let i = 0; i < 2; i++) {
          await expect(h.manager.add(input)).rejects.toThrow(/^The server was not added: its password cannot be remembered\. Locked: the passphrase does not open keychain\.enc/)
          expect(h.manager.list()).toEqual([])
        }
        const saved = existsSync(join(dir, 'connections.json')) ? (JSON.parse(readFileSync(join(dir, 'connections.json'), 'utf8')) as { connections?: unknown[] }).connections ?? [] : []
        expect(saved).toEqual([])
        // without remembering the password it can be added
        const ok = await h.manager.add({ ...input, rememberPassword: false })
        expect(h.manager.list().map((c) => c.id)).toEqual([ok.id])
      } finally {
        await h.close()
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
