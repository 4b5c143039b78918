import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it } from 'vitest'
import { useConnectionsStore } from '../../../renderer/src/stores/connections'
import { useObjectsStore } from '../../../renderer/src/stores/objects'
import { useSettingsStore } from '../../../renderer/src/stores/settings'
import { useTreeStore } from '../../../renderer/src/stores/tree'
import { connectionState, generatePool } from './fleet'

function load() {
  const connections = useConnectionsStore()
  const objects = useObjectsStore()
  const tree = useTreeStore()
  const settings = useSettingsStore()
  connections.replaceAll([connectionState('c1', { label: 'alpha' }), connectionState('c2', { label: 'beta' })])
  const a = generatePool({ connectionId: 'c1', poolName: 'alpha', hosts: 2, runningPerHost: 2, halted: 2 })
  const b = generatePool({ connectionId: 'c2', poolName: 'beta', poolIndex: 1, hosts: 1, runningPerHost: 1, halted: 1 })
  objects.apply(a.diff)
  objects.apply(b.diff)
  return { connections, objects, tree, settings, a, b }
}
const labels = (tree: ReturnType<typeof useTreeStore>): string[] => tree.rows.map((r) => r.node.label)

describe('stores: diffs in, tree rows out', () => {
  beforeEach(() => setActivePinia(createPinia()))

  it('the tree follows batches: a started VM moves under its host and stays selected and focused', () => {
    const { objects, tree, a } = load()
    const vmRef = a.haltedVmRefs[0] ?? ''
    const i = tree.rows.findIndex((r) => r.node.label === 'alpha-halted0')
    tree.clickRow(i, { ctrl: false, shift: false })
    expect(tree.current?.label).toBe('alpha-halted0')
    const rec = { ...(objects.record('c1', 'VM', vmRef) ?? {}), power_state: 'Running', resident_on: a.hostRefs[0] }
    objects.apply({ connectionId: 'c1', seq: 2, reset: false, upserts: [{ cls: 'VM', ref: vmRef, record: rec }], removes: [] })
    const row = tree.rows[tree.focusIndex]
    expect(row?.node.label).toBe('alpha-halted0')
    expect(row?.node.icon).toBe('running')
    expect(row?.level).toBe(3)
    expect(tree.selection.has(row?.node.objId ?? '')).toBe(true)
    expect(tree.current?.icon).toBe('running')
  })

  it('a collapsed host stays collapsed across batches', () => {
    const { objects, tree, a } = load()
    tree.setExpanded('c1|' + (a.hostRefs[1] ?? ''), false)
    expect(labels(tree)).not.toContain('alpha-vm2')
    objects.apply({ connectionId: 'c1', seq: 2, reset: false, upserts: [], removes: [{ cls: 'VM', ref: a.runningVmRefs[0] ?? '' }] })
    expect(labels(tree)).not.toContain('alpha-vm0')
    expect(labels(tree)).not.toContain('alpha-vm2')
    expect(tree.rows.find((r) => r.node.label === 'alpha-host1')?.expanded).toBe(false)
  })

  it('search expands what it keeps, and clearing it restores the user’s expansion', () => {
    const { tree, a } = load()
    tree.setExpanded('c1|' + (a.hostRefs[0] ?? ''), false)
    tree.query = 'alpha-vm1'
    expect(labels(tree)).toEqual(['alpha', 'alpha-host0', 'alpha-vm1'])
    tree.query = ''
    expect(labels(tree)).not.toContain('alpha-vm1')
  })

  it('typing a search key by key, Backspace and a batch arriving mid-search show what the whole query shows; the focused row is followed', () => {
    const { objects, tree, a } = load()
    const i = tree.rows.findIndex((r) => r.node.label === 'alpha-vm1')
    tree.clickRow(i, { ctrl: false, shift: false })
    for (const ch of 'alpha-vm1') {
      tree.query += ch
      expect(tree.rows[tree.focusIndex]?.node.label).toBe('alpha-vm1')
    }
    expect(labels(tree)).toEqual(['alpha', 'alpha-host0', 'alpha-vm1'])
    tree.query = 'alpha-vm'
    expect(labels(tree).filter((l) => l.includes('-vm'))).toEqual(['alpha-vm0', 'alpha-vm1', 'alpha-vm2', 'alpha-vm3'])
    // a VM renamed while the search is on: it matches now (the tree changed, the search starts over from it)
    const rec = { ...(objects.record('c1', 'VM', a.haltedVmRefs[0] ?? '') ?? {}), name_label: 'alpha-vm9' }
    objects.apply({ connectionId: 'c1', seq: 2, reset: false, upserts: [{ cls: 'VM', ref: a.haltedVmRefs[0] ?? '', record: rec }], removes: [] })
    tree.query = 'alpha-vm9'
    expect(labels(tree)).toEqual(['alpha', 'alpha-vm9'])
    tree.query = ''
    expect(tree.rows[tree.focusIndex]?.node.label).toBe('alpha-vm1')
  })

  it('collapsing the host of the selected VM selects the host (as XenCenter); collapsing another keeps the selection', () => {
    const { tree, a } = load()
    const vm = tree.rows.findIndex((r) => r.node.label === 'alpha-vm3')
    tree.clickRow(vm, { ctrl: false, shift: false })
    tree.setExpanded('c1|' + (a.hostRefs[0] ?? ''), false)
    expect(tree.current?.label).toBe('alpha-vm3')
    tree.setExpanded('c1|' + (a.hostRefs[1] ?? ''), false)
    expect(tree.current?.label).toBe('alpha-host1')
    expect(labels(tree)).not.toContain('alpha-vm3')
  })

  it('shift-click selects a range; ctrl-click toggles', () => {
    const { tree } = load()
    tree.clickRow(2, { ctrl: false, shift: false })
    tree.clickRow(4, { ctrl: false, shift: true })
    expect(tree.selectedItems.map((s) => s.label)).toEqual(tree.rows.slice(2, 5).map((r) => r.node.label))
    tree.clickRow(3, { ctrl: true, shift: false })
    expect(tree.selectedItems).toHaveLength(2)
  })

  it('a forgotten connection disappears with its objects', () => {
    const { connections, objects, tree } = load()
    connections.remove('c2')
    objects.drop('c2')
    expect(tree.rows.filter((r) => r.level === 1).map((r) => r.node.label)).toEqual(['alpha'])
    expect(objects.graph.pool('c2')).toBeUndefined()
  })

  it('view toggles and modes rebuild the tree; pending tasks are counted for the status bar', () => {
    const { tree, settings, objects } = load()
    expect(labels(tree)).not.toContain('Debian Bookworm 12')
    settings.showTemplates = true
    expect(labels(tree)).toContain('Debian Bookworm 12')
    settings.treeMode = 'tags'
    expect(tree.rows.filter((r) => r.level === 1).map((r) => r.node.label)).toEqual(['db', 'prod', 'storage', 'web'])
    expect(objects.pendingTasks).toBe(2)
  })
})

describe('certificate prompts', () => {
  beforeEach(() => setActivePinia(createPinia()))
  const cert = { fingerprint256: 'AA:BB', subject: 'CN=h', issuer: 'CN=h', validFrom: '2026-01-01T00:00:00Z', validTo: '2036-01-01T00:00:00Z', host: 'h:443' }

  it('asks once per certificate, and again after the user reconnects', async () => {
    const { useUiStore } = await import('../../../renderer/src/stores/ui')
    const ui = useUiStore()
    const waiting = connectionState('c1', { status: 'awaiting-trust', certificate: cert })
    expect(ui.nextTrustPrompt([connectionState('c0'), waiting])).toBe('c1')
    ui.dismissedTrust.add('c1#AA:BB') // the user pressed Cancel
    expect(ui.nextTrustPrompt([waiting])).toBeNull()
    expect(ui.nextTrustPrompt([connectionState('c1', { status: 'disconnected' })])).toBeNull()
    expect(ui.nextTrustPrompt([waiting])).toBe('c1') // Connect again: same certificate, asked again
    expect(ui.nextTrustPrompt([connectionState('c1', { status: 'cert-changed', certificate: { ...cert, fingerprint256: 'CC:DD', previousFingerprint256: 'AA:BB' } })])).toBe('c1')
  })
})
