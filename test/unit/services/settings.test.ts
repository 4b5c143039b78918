/**
 * Settings have one owner, main (issue 18): settings.json read field by field (a bad value costs
 * only itself), written before memory changes, patches merged per console with a bound.
 * (The renderer's mirror: test/unit/renderer/settings-store.test.ts.)
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { DEFAULT_UI_SETTINGS, MAX_CONSOLE_PREFS, type SettingsPatch, type UiSettings } from '../../../shared/contract'
import { applySettingsPatch, openSettingsStore, settingsFromStored } from '../../../main/services/settings'

describe('settings.json (main)', () => {
  let dir = ''
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'xenpilot-settings-'))))
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  it('keeps every valid field and replaces each bad one with its default, saying which', () => {
    const { settings, problems } = settingsFromStored({ theme: 'dark', treeMode: 'tags', showTemplates: 'yes', treeWidth: 5000, activityHeight: 260, consoles: { good: { scale: '1:1' }, bad: { scale: 'huge' } }, future: 1 })
    expect(settings.theme).toBe('dark')
    expect(settings.treeMode).toBe('tags')
    expect(settings.showTemplates).toBe(false)
    expect(settings.treeWidth).toBe(DEFAULT_UI_SETTINGS.treeWidth)
    expect(settings.activityHeight).toBe(260)
    expect(settings.consoles).toEqual({ good: { scale: '1:1' } })
    expect(problems.sort()).toEqual(['consoles.bad', 'showTemplates', 'treeWidth'])
  })

  it('a change is on disk before it is answered, and a restart reads it back', async () => {
    const log: string[] = []
    const a = openSettingsStore(dir, (l) => log.push(l))
    await a.update({ treeWidth: 412, activityHeight: 300, consoles: { 'c|vm|OpaqueRef:1': { scale: '1:1' } } })
    const onDisk = JSON.parse(readFileSync(join(dir, 'settings.json'), 'utf8')) as { version: number; settings: UiSettings }
    expect(onDisk.version).toBe(1)
    expect(onDisk.settings.treeWidth).toBe(412)
    const b = openSettingsStore(dir)
    expect(b.get().treeWidth).toBe(412)
    expect(b.get().consoles['c|vm|OpaqueRef:1']).toEqual({ scale: '1:1' })
    expect(log).toEqual([])
  })

  it('a damaged file does not stop the start: defaults, and the log says so', () => {
    writeFileSync(join(dir, 'settings.json'), '{"treeWidth": 400, "theme": ')
    const log: string[] = []
    expect(openSettingsStore(dir, (l) => log.push(l)).get()).toEqual(DEFAULT_UI_SETTINGS)
    expect(log.join('\n')).toMatch(/not valid JSON/)
  })

  it('reads a file of version 0 (the bare settings object)', () => {
    writeFileSync(join(dir, 'settings.json'), JSON.stringify({ treeWidth: 400, theme: 'dark' }))
    const s = openSettingsStore(dir).get()
    expect([s.treeWidth, s.theme]).toEqual([400, 'dark'])
  })

  it('refuses an out-of-range change and keeps what it had', async () => {
    const s = openSettingsStore(dir)
    await expect(s.update({ treeWidth: 10 })).rejects.toThrow()
    expect(s.get().treeWidth).toBe(DEFAULT_UI_SETTINGS.treeWidth)
  })

  it('merges consoles per console, forgets one on null, and keeps the most recent MAX_CONSOLE_PREFS', () => {
    let s = applySettingsPatch(DEFAULT_UI_SETTINGS, { consoles: { a: { scale: '1:1' } } })
    s = applySettingsPatch(s, { consoles: { a: { layout: 'de' }, b: { scale: 'fit' } } })
    expect(s.consoles).toEqual({ a: { scale: '1:1', layout: 'de' }, b: { scale: 'fit' } })
    s = applySettingsPatch(s, { consoles: { a: null } })
    expect(s.consoles).toEqual({ b: { scale: 'fit' } })
    const many: NonNullable<SettingsPatch['consoles']> = {}
    for (let i = 0; i < MAX_CONSOLE_PREFS + 10; i++) many[`k${i}`] = { scale: '1:1' }
    s = applySettingsPatch(s, { consoles: many })
    expect(Object.keys(s.consoles)).toHaveLength(MAX_CONSOLE_PREFS)
    expect(s.consoles['b']).toBeUndefined()
    expect(s.consoles[`k${MAX_CONSOLE_PREFS + 9}`]).toBeDefined()
  })
})
