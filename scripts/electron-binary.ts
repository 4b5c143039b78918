/**
 * Where the electron package keeps its binary, found WITHOUT require('electron') — which would
 * try to download it. Since Electron 42 the binary is fetched lazily on first run, so on an
 * offline machine it is simply absent. Development tooling (not shipped): used by `npm run demo` and
 * the Electron smoke test. ELECTRON_OVERRIDE_DIST_PATH is the electron package's own variable.
 */
import { accessSync, constants, existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'

export type ElectronBinary = { ok: true; path: string } | { ok: false; checked: string; reason: string }

export function findElectronBinary(): ElectronBinary {
  let pkgDir: string
  try {
    pkgDir = dirname(createRequire(import.meta.url).resolve('electron/package.json'))
  } catch {
    return { ok: false, checked: 'node_modules/electron', reason: 'the electron package is not installed' }
  }
  const override = process.env['ELECTRON_OVERRIDE_DIST_PATH']
  const pathFile = join(pkgDir, 'path.txt')
  if (!existsSync(pathFile) && !override) return { ok: false, checked: pathFile, reason: 'no Electron binary installed' }
  const rel = existsSync(pathFile) ? readFileSync(pathFile, 'utf8').trim() : 'electron'
  const binary = override ? join(override, rel) : join(pkgDir, 'dist', rel)
  try {
    accessSync(binary, constants.X_OK)
  } catch {
    return { ok: false, checked: binary, reason: 'no Electron binary installed' }
  }
  return { ok: true, path: binary }
}
