/**
 * The installer configuration can only be exercised with the internet (release workflow); here we
 * check what can go wrong offline: electron-builder's own schema accepts it, every file it names
 * exists, the targets are the ones promised, icons come from the one SVG, and the electron-vite
 * entries and the release workflow point at real files and steps.
 */
import { existsSync, readFileSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { packIcns, packIco } from '../../../scripts/gen-icons'

const root = join(dirname(fileURLToPath(import.meta.url)), '../../..')
const require = createRequire(import.meta.url)
const yaml = require('js-yaml') as { load(text: string): unknown }

interface Target {
  target: string
  arch?: string[]
}
interface BuilderConfig {
  appId: string
  productName: string
  directories: { buildResources: string; output: string }
  files: string[]
  extraResources: { from: string }[]
  win: { icon: string; target: Target[] }
  mac: { icon: string; target: Target[] }
  linux: { icon: string; target: Target[] }
}

const config = yaml.load(readFileSync(join(root, 'electron-builder.yml'), 'utf8')) as BuilderConfig

describe('electron-builder.yml', () => {
  it('passes electron-builder’s own configuration validator', async () => {
    const { validateConfiguration } = require('app-builder-lib/out/util/config/config') as { validateConfiguration(c: unknown, d: unknown): Promise<void> }
    const { DebugLogger } = require('builder-util') as { DebugLogger: new (enabled: boolean) => unknown }
    await expect(validateConfiguration(config, new DebugLogger(false))).resolves.toBeUndefined()
    // …and the validator is not a rubber stamp
    await expect(validateConfiguration({ ...config, mac: { ...config.mac, colour: 'blue' } }, new DebugLogger(false))).rejects.toThrow(/Invalid configuration object/)
  })

  it('names the app and builds the promised installers', () => {
    expect(config.appId).toBe('org.xenpilot.app')
    expect(config.productName).toBe('XenPilot')
    expect(config.win.target.map((t) => t.target)).toEqual(['nsis'])
    expect(config.mac.target).toEqual([{ target: 'dmg', arch: ['x64', 'arm64'] }])
    expect(config.linux.target.map((t) => t.target)).toEqual(['AppImage', 'deb'])
  })

  it('references icons and resources that exist', () => {
    for (const f of [config.win.icon, config.mac.icon, ...config.extraResources.map((r) => r.from)]) expect(existsSync(join(root, f)), f).toBe(true)
    expect(statSync(join(root, config.linux.icon)).isDirectory()).toBe(true)
    for (const size of [16, 32, 48, 64, 128, 256, 512, 1024]) expect(existsSync(join(root, config.linux.icon, `${size}x${size}.png`)), `${size}px`).toBe(true)
    expect(config.files).toContain('out/**/*')
  })

  it('has icons generated from build/icon.svg: PNGs of the right size, a PNG-packed .ico and .icns', () => {
    expect(readFileSync(join(root, 'build/icon.svg'), 'utf8')).toContain('<svg')
    const png = readFileSync(join(root, 'build/icons/256x256.png'))
    expect(png.subarray(1, 4).toString()).toBe('PNG')
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([256, 256])
    const ico = readFileSync(join(root, 'build/icon.ico'))
    expect([ico.readUInt16LE(0), ico.readUInt16LE(2), ico.readUInt16LE(4)]).toEqual([0, 1, 7])
    const icns = readFileSync(join(root, 'build/icon.icns'))
    expect(icns.subarray(0, 4).toString()).toBe('icns')
    expect(icns.readUInt32BE(4)).toBe(icns.length)
  })

  it('packs .ico and .icns containers correctly', () => {
    const a = Buffer.from('\x89PNG-a')
    const b = Buffer.from('\x89PNG-bb')
    const ico = packIco([
      { size: 16, png: a },
      { size: 256, png: b },
    ])
    expect(ico.readUInt8(6)).toBe(16)
    expect(ico.readUInt8(6 + 16)).toBe(0) // 256 is written as 0
    expect(ico.readUInt32LE(6 + 8)).toBe(a.length)
    expect(ico.subarray(ico.readUInt32LE(6 + 12), ico.readUInt32LE(6 + 12) + a.length)).toEqual(a)
    expect(ico.subarray(ico.readUInt32LE(6 + 16 + 12))).toEqual(b)
    const pngs = new Map([16, 32, 64, 128, 256, 512, 1024].map((s) => [s, Buffer.from(`png${s}`)] as [number, Buffer]))
    const icns = packIcns(pngs)
    expect(icns.readUInt32BE(4)).toBe(icns.length)
    expect(icns.subarray(8, 12).toString()).toBe('icp4')
    expect(icns.readUInt32BE(12)).toBe(8 + 'png16'.length)
    expect(() => packIcns(new Map())).toThrow(/16px/)
  })
})

describe('electron-vite and the release workflow', () => {
  it('builds from entries that exist, with the preload as CommonJS', () => {
    const text = readFileSync(join(root, 'electron.vite.config.ts'), 'utf8')
    for (const entry of ['main/app/main.ts', 'main/app/preload.ts', 'renderer/index.html']) {
      expect(text).toContain(entry)
      expect(existsSync(join(root, entry)), entry).toBe(true)
    }
    expect(text).toMatch(/format: 'cjs'/)
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { main: string; scripts: Record<string, string> }
    expect(pkg.main).toBe('out/main/index.js')
    expect(pkg.scripts['start']).toBe('electron-vite dev')
  })

  it('runs tests, the Electron smoke test under xvfb on Linux and electron-builder on all three OSes', () => {
    const wf = yaml.load(readFileSync(join(root, '.github/workflows/release.yml'), 'utf8')) as {
      jobs: { build: { strategy: { matrix: { include: { os: string }[] } }; steps: { run?: string; uses?: string; if?: string; env?: Record<string, string> }[] } }
    }
    const job = wf.jobs.build
    expect(job.strategy.matrix.include.map((m) => m.os).sort()).toEqual(['macos-latest', 'ubuntu-latest', 'windows-latest'])
    const runs = job.steps.map((s) => s.run ?? s.uses ?? '').join('\n')
    expect(runs).toContain('npm ci')
    expect(runs).toContain('npm test')
    expect(runs).toContain('xvfb-run -a npx vitest run test/e2e/electron-smoke.test.ts')
    expect(runs).toContain('electron-builder --config electron-builder.yml')
    expect(runs).toContain('actions/upload-artifact')
    expect(job.steps.filter((s) => s.env?.['XENPILOT_REQUIRE_ELECTRON'] === '1')).toHaveLength(2)
    expect(existsSync(join(root, 'test/e2e/electron-smoke.test.ts'))).toBe(true)
  })
})
