/**
 * Details-pane tabs. A later feature (Console, NUMA, Snapshots) registers its tab here with the
 * kinds of objects it applies to; the pane picks them up without changes.
 */
import { markRaw, type Component } from 'vue'
import type { TreeNode } from '../../model/tree/types'

export interface DetailsTab {
  id: string
  label: string
  /** lower first */
  order: number
  appliesTo(node: TreeNode): boolean
  /** receives the prop `node: TreeNode` */
  component: Component
}

const tabs: DetailsTab[] = []

export function registerTab(tab: DetailsTab): void {
  if (tabs.some((t) => t.id === tab.id)) throw new Error(`tab ${tab.id} is registered twice`)
  tabs.push({ ...tab, component: markRaw(tab.component) })
  tabs.sort((a, b) => a.order - b.order)
}

export function tabsFor(node: TreeNode): DetailsTab[] {
  return tabs.filter((t) => t.appliesTo(node))
}
