/**
 * The renderer's conventions (docs/ARCHITECTURE.md and docs/conventions.md, "Renderer"), checked on the source so a new
 * tab cannot drift back into the old ways: the graph is read through selectors, actions through
 * useAction, the api through inject, settings through main, and model code does not live in
 * components.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const SRC = join(dirname(fileURLToPath(import.meta.url)), '../../../renderer/src')

function files(dir: string): string[] {
  const out: string[] = []
  for (const e of readdirSync(dir)) {
    const p = join(dir, e)
    if (statSync(p).isDirectory()) out.push(...files(p))
    else if (/\.(ts|vue)$/.test(e)) out.push(p)
  }
  return out
}
const sources = files(SRC).map((p) => ({ path: relative(SRC, p), text: readFileSync(p, 'utf8') }))
/** source lines matching `re`, as 'path:line: text' (comments included: a comment that teaches the old way is drift too) */
function offending(re: RegExp, skip: (path: string) => boolean = () => false): string[] {
  const out: string[] = []
  for (const f of sources) {
    if (skip(f.path)) continue
    f.text.split('\n').forEach((line, i) => {
      if (re.test(line)) out.push(`${f.path}:${i + 1}: ${line.trim()}`)
    })
  }
  return out
}

describe('renderer conventions', () => {
  it('nobody but the objects store and its selectors reads the change counter', () => {
    expect(offending(/objects\.version|void [a-z]+\.version/, (p) => p === 'stores/objects.ts' || p === 'stores/select.ts')).toEqual([])
  })
  it('no busy/error refs of their own: buttons that call main use useAction', () => {
    expect(offending(/const (busy|saving|loading|checking|failure|\w*(Error|Failure))\s*=\s*ref\b/)).toEqual([])
  })
  it('the api comes from inject (useApi in setup), never as a prop or a module singleton', () => {
    expect(offending(/\bapi: RendererApi\b|setApi\(|stores\/api'/, (p) => p.startsWith('api/') || p === 'app.ts')).toEqual([])
  })
  it('settings live in main: no localStorage', () => {
    expect(offending(/localStorage\.(get|set)Item/)).toEqual([])
  })
  it('model code lives in model/: commands, stores and model never import components or views', () => {
    expect(offending(/from '\.\.\/(components|views)\//, (p) => !(p.startsWith('commands/') || p.startsWith('stores/') || p.startsWith('model/')))).toEqual([])
  })
  it('events are validated: no untyped onEvent door', () => {
    expect(offending(/\bonEvent\(/)).toEqual([])
  })
})
