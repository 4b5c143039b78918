/**
 * `npm run web`: the first stdout line is the URL with its token, --data-dir keeps everything of
 * this run in that folder, bad options are refused with the usage, and SIGINT/SIGTERM stop cleanly.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { defaultDataDir, parseWebCliArgs } from '../../../main/web/cli'
import { connectContract } from '../../e2e/harness'

const root = join(dirname(fileURLToPath(import.meta.url)), '../../..')

function startCli(args: string[], env: NodeJS.ProcessEnv = {}): { child: ChildProcessWithoutNullStreams; firstLine: Promise<string>; stderr: () => string; exit: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'main/web/cli.ts'), ...args], { cwd: root, env: { ...process.env, ...env } })
  let out = ''
  let err = ''
  child.stderr.on('data', (d: Buffer) => (err += d.toString()))
  const firstLine = new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
      const nl = out.indexOf('\n')
      if (nl >= 0) resolve(out.slice(0, nl))
    })
    child.on('exit', (code) => reject(new Error(`exited with ${code} before printing a line; stderr: ${err}`)))
  })
  // A run that is expected to fail never prints: its rejection is only awaited by tests that want a line.
  firstLine.catch(() => undefined)
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  return { child, firstLine, stderr: () => err, exit }
}

describe('the browser-mode command line', () => {
  const dirs: string[] = []
  const children: ChildProcessWithoutNullStreams[] = []
  afterEach(() => {
    for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL')
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
  })
  const tmp = (): string => {
    const d = mkdtempSync(join(tmpdir(), 'xenpilot-cli-'))
    dirs.push(d)
    return d
  }

  it('parses its options and refuses unknown ones with the usage', () => {
    expect(parseWebCliArgs(['--port', '8080', '--data-dir', '/tmp/x'])).toMatchObject({ port: 8080, dataDir: '/tmp/x' })
    expect(() => parseWebCliArgs(['--port', 'eighty'])).toThrow(/--port must be a number/)
    expect(() => parseWebCliArgs(['--port', '70000'])).toThrow(/--port/)
    expect(() => parseWebCliArgs(['--data-dir'])).toThrow(/needs a value/)
    expect(() => parseWebCliArgs(['--verbose'])).toThrow(/unknown option “--verbose”[\s\S]*usage: npm run web/)
    expect(defaultDataDir({ XDG_CONFIG_HOME: '/home/a/.cfg' })).toBe('/home/a/.cfg/XenPilot-web')
    expect(defaultDataDir({})).toMatch(/\.config\/XenPilot-web$/)
  })

  it('prints the URL first, serves the contract, keeps its state in --data-dir and stops on SIGINT', async () => {
    const dataDir = tmp()
    const staticDir = tmp()
    writeFileSync(join(staticDir, 'index.html'), '<!doctype html><title>XenPilot</title>')
    const run = startCli(['--port', '0', '--data-dir', dataDir, '--static-dir', staticDir], { XENPILOT_PASSPHRASE: '' })
    children.push(run.child)
    const url = await run.firstLine
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{64}$/)
    const api = await connectContract(url)
    expect(await api.call('keychain.state', {})).toMatchObject({ backend: 'memory', persistent: false })
    await api.call('settings.update', { treeMode: 'folders' })
    api.close()
    expect(JSON.parse(readFileSync(join(dataDir, 'settings.json'), 'utf8'))).toMatchObject({ version: 1, settings: { treeMode: 'folders' } })
    run.child.kill('SIGINT')
    expect(await run.exit).toBe(0)
    expect(run.stderr()).toContain('SIGINT')
  })

  it('keeps remembered passwords in an encrypted file when XENPILOT_PASSPHRASE is set', async () => {
    const dataDir = tmp()
    const run = startCli(['--data-dir', dataDir, '--static-dir', tmp()], { XENPILOT_PASSPHRASE: 'correct horse battery staple' })
    children.push(run.child)
    const api = await connectContract(await run.firstLine)
    const k = await api.call('keychain.state', {})
    expect(k).toMatchObject({ backend: 'passphrase-file', persistent: true, status: 'ready' })
    expect(k.detail).toContain(join(dataDir, 'keychain.enc'))
    api.close()
    run.child.kill('SIGTERM')
    expect(await run.exit).toBe(0)
  })

  it('refuses to start with an invalid --connect-demo seed, saying which file and why', async () => {
    const seed = join(tmp(), 'seed.json')
    writeFileSync(seed, JSON.stringify({ pools: [{ address: 'a' }] }))
    const run = startCli(['--data-dir', tmp(), '--connect-demo', seed])
    children.push(run.child)
    expect(await run.exit).toBe(1)
    expect(run.stderr()).toContain(seed)
    expect(run.stderr()).toMatch(/username/)
    expect(existsSync(seed)).toBe(true)
  })

  it('refuses a second XenPilot on the same data folder, naming the first; a killed one does not block the next', async () => {
    const dataDir = tmp()
    const staticDir = tmp()
    writeFileSync(join(staticDir, 'index.html'), '<!doctype html><title>XenPilot</title>')
    const first = startCli(['--data-dir', dataDir, '--static-dir', staticDir], { XENPILOT_PASSPHRASE: '' })
    children.push(first.child)
    await first.firstLine
    const settingsBefore = existsSync(join(dataDir, 'connections.json')) ? readFileSync(join(dataDir, 'connections.json'), 'utf8') : undefined

    const second = startCli(['--data-dir', dataDir, '--static-dir', staticDir], { XENPILOT_PASSPHRASE: '' })
    children.push(second.child)
    expect(await second.exit).toBe(1)
    expect(second.stderr()).toContain(`the data folder ${dataDir} is in use by another XenPilot (pid ${first.child.pid}, browser mode`)
    expect(second.stderr()).toContain('--data-dir')
    // the refused one touched nothing of the first one's
    expect(existsSync(join(dataDir, 'connections.json')) ? readFileSync(join(dataDir, 'connections.json'), 'utf8') : undefined).toBe(settingsBefore)

    // kill -9 leaves the lock behind; the next start sees its owner is gone and takes over
    first.child.kill('SIGKILL')
    await first.exit
    expect(existsSync(join(dataDir, 'xenpilot.lock'))).toBe(true)
    const third = startCli(['--data-dir', dataDir, '--static-dir', staticDir], { XENPILOT_PASSPHRASE: '' })
    children.push(third.child)
    expect(await third.firstLine).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=/)
    third.child.kill('SIGTERM')
    expect(await third.exit).toBe(0)
    // a clean stop releases it
    expect(existsSync(join(dataDir, 'xenpilot.lock'))).toBe(false)
  })
})
