import { defineStore } from 'pinia'
import { ref, shallowRef } from 'vue'
import type { ConnectionState } from '../../../shared/contract/connection'
import type { ConfirmRequest, DialogRequest } from '../commands/registry'

export interface Toast {
  id: number
  message: string
  tone: 'info' | 'error'
}

export interface ContextMenuState {
  x: number
  y: number
}

/** Dialogs, confirmations, toasts and the context menu: UI state no object owns. */
export const useUiStore = defineStore('ui', () => {
  const dialog = shallowRef<DialogRequest | null>(null)
  const confirmRequest = shallowRef<(ConfirmRequest & { resolve: (ok: boolean) => void }) | null>(null)
  const toasts = ref<Toast[]>([])
  const contextMenu = shallowRef<ContextMenuState | null>(null)
  /** trust prompts the user dismissed, by connection id + fingerprint, so they do not pop up again */
  const dismissedTrust = new Set<string>()
  let nextToast = 1
  const lastStatus = new Map<string, ConnectionState['status']>()

  /**
   * Which connection's certificate to ask about now, if any. Called on every connection change:
   * a prompt the user dismissed stays dismissed for that certificate until the connection leaves
   * and re-enters the waiting state (they pressed Connect again), then it is asked again.
   */
  function nextTrustPrompt(list: readonly ConnectionState[]): string | null {
    let pick: string | null = null
    for (const c of list) {
      const waiting = (c.status === 'awaiting-trust' || c.status === 'cert-changed') && c.certificate !== undefined
      if (waiting && lastStatus.get(c.id) !== c.status) for (const k of [...dismissedTrust]) if (k.startsWith(`${c.id}#`)) dismissedTrust.delete(k)
      lastStatus.set(c.id, c.status)
      if (waiting && pick === null && !dismissedTrust.has(`${c.id}#${c.certificate?.fingerprint256 ?? ''}`)) pick = c.id
    }
    return pick
  }
  /** bumped to ask the search box to take focus (native menu, shortcuts) */
  const focusSearchRequest = ref(0)

  function openDialog(req: DialogRequest): void {
    dialog.value = req
  }
  function closeDialog(): void {
    dialog.value = null
  }
  function confirm(req: ConfirmRequest): Promise<boolean> {
    confirmRequest.value?.resolve(false)
    return new Promise((resolve) => {
      confirmRequest.value = { ...req, resolve }
    })
  }
  function answerConfirm(ok: boolean): void {
    const r = confirmRequest.value
    confirmRequest.value = null
    r?.resolve(ok)
  }
  function notify(message: string, tone: 'info' | 'error' = 'info'): void {
    const id = nextToast++
    toasts.value = [...toasts.value, { id, message, tone }].slice(-4)
    setTimeout(() => dismissToast(id), tone === 'error' ? 8000 : 3000)
  }
  function dismissToast(id: number): void {
    toasts.value = toasts.value.filter((t) => t.id !== id)
  }
  function openContextMenu(x: number, y: number): void {
    contextMenu.value = { x, y }
  }
  function closeContextMenu(): void {
    contextMenu.value = null
  }

  return { nextTrustPrompt, focusSearchRequest, dialog, confirmRequest, toasts, contextMenu, dismissedTrust, openDialog, closeDialog, confirm, answerConfirm, notify, dismissToast, openContextMenu, closeContextMenu }
})
