/**
 * Drag VMs onto a host in the tree to migrate them within their pool (HTML5 drag and drop). The
 * keyboard way is the "Migrate to Server…" command. A drop on a server or pool of ANOTHER pool opens
 * the Migrate wizard preset to there (issue 17; keyboard: "Migrate VM…"). A drop the VMs cannot take
 * is refused with the reason.
 */
import { ref } from 'vue'
import { useCommandContext } from '../app'
import type { SelectedItem } from '../commands/registry'
import { migrateCandidates, migrateCanRun, openMigrateWizard } from '../commands/migrate'
import { dropMigrate, dropMigrateReason } from '../commands/vm'
import type { TreeNode } from '../model/tree/types'
import { useTreeStore } from '../stores/tree'

const MIME = 'application/x-xenpilot-vms'

function asItem(n: TreeNode): SelectedItem {
  return { objId: n.objId, kind: n.kind, label: n.label, connectionId: n.connectionId, cls: n.cls, ref: n.ref }
}

export function useVmDrag() {
  const tree = useTreeStore()
  const ctx = useCommandContext()
  /** node id of the row under the pointer during a drag */
  const target = ref<string | null>(null)
  const allowed = ref(false)
  let dragged: SelectedItem[] = []

  const hostOf = (n: TreeNode) => (n.kind === 'host' && n.cls === 'host' && n.connectionId && n.ref ? { connectionId: n.connectionId, ref: n.ref, label: n.label } : null)
  /** a server or the pool node of a pool other than the dragged VMs' one: the Migrate wizard's destination */
  const foreignOf = (n: TreeNode) => {
    if (!n.connectionId || dragged.length === 0 || dragged.every((d) => d.connectionId === n.connectionId)) return null
    if (n.kind === 'host' && n.cls === 'host' && n.ref) return { destConnectionId: n.connectionId, host: n.ref }
    if (n.kind === 'pool' || n.kind === 'connection') return { destConnectionId: n.connectionId }
    return null
  }

  function start(ev: DragEvent, n: TreeNode): void {
    if (n.kind !== 'VM' || !ev.dataTransfer) return
    // dragging a selected row drags the whole selection (its VMs); another row drags just itself
    dragged = tree.selection.has(n.objId) ? tree.selectedItems.filter((s) => s.kind === 'VM') : [asItem(n)]
    ev.dataTransfer.effectAllowed = 'move'
    ev.dataTransfer.setData(MIME, JSON.stringify(dragged.map((d) => d.objId)))
    ev.dataTransfer.setData('text/plain', dragged.map((d) => d.label).join(', '))
  }
  function over(ev: DragEvent, n: TreeNode): void {
    if (foreignOf(n)) {
      ev.preventDefault()
      target.value = n.id
      allowed.value = migrateCanRun(migrateCandidates(dragged, ctx, 'migrate')) === true
      if (ev.dataTransfer) ev.dataTransfer.dropEffect = 'move'
      return
    }
    const host = hostOf(n)
    if (!host || dragged.length === 0) return
    ev.preventDefault()
    const reason = dropMigrateReason(dragged, host, ctx)
    target.value = n.id
    allowed.value = reason === true
    // a refused drop still fires 'drop' so the reason can be shown; the row is styled as refused
    if (ev.dataTransfer) ev.dataTransfer.dropEffect = 'move'
  }
  function leave(n: TreeNode): void {
    if (target.value === n.id) target.value = null
  }
  function drop(ev: DragEvent, n: TreeNode): void {
    const foreign = foreignOf(n)
    if (foreign) {
      ev.preventDefault()
      target.value = null
      const items = dragged
      dragged = []
      const r = openMigrateWizard(items, ctx, 'migrate', foreign)
      if (r !== true) ctx.notify(r, 'error')
      return
    }
    const host = hostOf(n)
    target.value = null
    if (!host || dragged.length === 0) return
    ev.preventDefault()
    const items = dragged
    dragged = []
    void dropMigrate(items, host, ctx)
  }
  function end(): void {
    target.value = null
    dragged = []
  }
  return { target, allowed, start, over, leave, drop, end }
}
