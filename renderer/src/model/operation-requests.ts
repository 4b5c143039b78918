/**
 * The dialogs of VM/host operations (issue 5), as one `DialogRequest` kind ('operation') so the
 * shared dialog union grows by one entry only.
 */
import type { ResultRow } from './results'

export interface OperationTarget {
  connectionId: string
  ref: string
  name: string
  /** why it is left out (skipped targets) */
  reason?: string
}

export type OperationDialogRequest =
  /** pick a server (start on, resume on, migrate) or a name (snapshot, clone, copy) */
  | { kind: 'vm-operation'; op: 'start_on' | 'resume_on' | 'pool_migrate' | 'snapshot' | 'clone' | 'copy'; targets: OperationTarget[]; skipped: OperationTarget[] }
  /** delete VMs, templates or snapshots, listing exactly what goes */
  | { kind: 'delete-vm'; targets: OperationTarget[]; skipped: OperationTarget[] }
  | { kind: 'edit-object'; connectionId: string; cls: string; ref: string; focus: 'name' | 'tags' | 'folder' }
  | { kind: 'results'; title: string; rows: ResultRow[] }
