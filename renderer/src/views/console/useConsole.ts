/**
 * One console session in the renderer: console.open → noVNC on the returned WebSocket, and the
 * rules that keep it alive.
 *
 * - Reconnect by itself when the connection drops while the VM is still running (Fibonacci
 *   backoff, like XO's console, up to MAX_ATTEMPTS), and at once when the VM's console object or
 *   resident host changes (reboot, migration) — those come from the pool's live object graph.
 * - A halted or suspended VM, an offline pool and a refusal are states with a sentence, not
 *   errors in a corner: the view shows them where the screen would be.
 */
import RFB from '@novnc/novnc'
import { computed, onBeforeUnmount, shallowRef, watch, type Ref } from 'vue'
import type { ConsoleOpenResult } from '../../../../shared/contract/console'
import { ApiError, errorMessage, useApi } from '../../api'
import { useConnectionsStore } from '../../stores/connections'
import { connectionBadge } from '../../model/connection'
import { usePool } from '../../stores/select'
import { consoleKey, type ConsoleTarget } from './route'

export type ConsoleState =
  | 'opening'
  | 'connecting'
  | 'connected'
  | 'reconnecting'
  | 'halted'
  | 'suspended'
  | 'offline'
  | 'refused'
  | 'popped-out'

export interface ConsoleStatus {
  state: ConsoleState
  /** what the user reads */
  message: string
  attempt?: number
}

const MAX_ATTEMPTS = 10
const FIB = [1, 1, 2, 3, 5, 8, 13, 21]

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined
}

export interface UseConsoleOptions {
  target: Ref<ConsoleTarget>
  /** where noVNC puts its canvas */
  screen: Ref<HTMLElement | null>
  /** scale to the element (true) or show 1:1 (false) */
  fit: Ref<boolean>
  /** watch only: no keyboard or mouse goes to the guest (console tiles) */
  viewOnly?: Ref<boolean>
}

export function useConsole(opts: UseConsoleOptions) {
  const { target, screen, fit, viewOnly } = opts
  const api = useApi()
  const connections = useConnectionsStore()

  const status = shallowRef<ConsoleStatus>({ state: 'opening', message: 'Opening the console…' })
  const rfb = shallowRef<RFB | null>(null)
  const session = shallowRef<ConsoleOpenResult | null>(null)
  const desktopName = shallowRef('')
  const guestClipboard = shallowRef('')

  let generation = 0
  let attempts = 0
  let retryTimer: ReturnType<typeof setTimeout> | undefined
  let disposed = false

  const vmRef = usePool(
    () => target.value.connectionId,
    (p) => {
      const t = target.value
      return 'vmRef' in t ? t.vmRef : str(p.get('host', t.hostRef)?.control_domain)
    },
  )
  const vm = usePool(
    () => target.value.connectionId,
    (p) => p.get('VM', vmRef.value),
  )
  const powerState = computed(() => str(vm.value?.['power_state']))
  const residentOn = computed(() => str(vm.value?.['resident_on']))
  const consoles = computed(() => {
    const c = vm.value?.['consoles']
    return Array.isArray(c) ? c.filter((x): x is string => typeof x === 'string') : []
  })
  /** a new domain id means the guest was restarted: its display server is a new one */
  const domid = computed(() => {
    const d = vm.value?.['domid']
    return typeof d === 'number' ? d : undefined
  })
  let openedDomid: number | undefined
  const poolStatus = computed(() => connections.get(target.value.connectionId)?.status)
  /** why the console cannot show, in the connection's own words (connectionBadge) */
  function poolOffline(): string {
    const c = connections.get(target.value.connectionId)
    const words = c ? connectionBadge(c, Date.now())?.text : undefined
    return `The pool is not connected${words ? ` (${words})` : ''}. The console comes back when it is connected again.`
  }
  const vmName = computed(() => str(vm.value?.['name_label']) ?? session.value?.vmName ?? '')
  /** changes when the console must be opened anew: power state, host, console objects */
  const identity = computed(() => `${powerState.value ?? '?'}|${residentOn.value ?? ''}|${consoles.value.join(',')}|${domid.value ?? ''}`)

  function clearRetry(): void {
    if (retryTimer) clearTimeout(retryTimer)
    retryTimer = undefined
  }

  function teardown(): void {
    generation++
    const r = rfb.value
    rfb.value = null
    if (r) r.disconnect()
    const s = session.value
    session.value = null
    if (s) void api.call('console.close', { consoleId: s.consoleId }).catch(() => undefined)
  }

  /** the state the VM's own record explains, if it explains why there is no console */
  function stateFromRecord(): ConsoleStatus | undefined {
    const name = vmName.value || 'The VM'
    if (poolStatus.value !== undefined && poolStatus.value !== 'connected') {
      return { state: 'offline', message: poolOffline() }
    }
    if (powerState.value === 'Halted') return { state: 'halted', message: `${name} is not running. Start it to see its console.` }
    if (powerState.value === 'Suspended') return { state: 'suspended', message: `${name} is suspended. Resume it to see its console.` }
    return undefined
  }

  function scheduleRetry(reason: string): void {
    clearRetry()
    if (attempts >= MAX_ATTEMPTS) {
      status.value = { state: 'refused', message: `${reason} Gave up after ${attempts} attempts.` }
      return
    }
    const delay = (FIB[Math.min(attempts, FIB.length - 1)] ?? 21) * 500
    attempts++
    status.value = { state: 'reconnecting', message: `${reason} Reconnecting (attempt ${attempts})…`, attempt: attempts }
    retryTimer = setTimeout(() => void open(), delay)
  }

  async function open(): Promise<void> {
    clearRetry()
    teardown()
    if (disposed || status.value.state === 'popped-out') return
    const explained = stateFromRecord()
    if (explained) {
      status.value = explained
      return
    }
    const gen = generation
    if (status.value.state !== 'reconnecting') status.value = { state: 'opening', message: 'Opening the console…' }
    let opened: ConsoleOpenResult
    try {
      opened = await api.call('console.open', { ...target.value })
    } catch (err) {
      if (gen !== generation || disposed) return
      onOpenError(err)
      return
    }
    if (gen !== generation || disposed || !screen.value) {
      void api.call('console.close', { consoleId: opened.consoleId }).catch(() => undefined)
      return
    }
    session.value = opened
    openedDomid = domid.value
    if (status.value.state !== 'reconnecting') status.value = { state: 'connecting', message: `Connecting to ${opened.vmName}…` }
    const r = new RFB(screen.value, opened.wsUrl, { wsProtocols: ['binary'], shared: true })
    r.scaleViewport = fit.value
    r.clipViewport = false
    r.resizeSession = false
    r.focusOnClick = !viewOnly?.value
    r.viewOnly = viewOnly?.value ?? false
    r.background = '#000'
    r.addEventListener('connect', () => {
      if (gen !== generation) return
      attempts = 0
      status.value = { state: 'connected', message: `Connected to ${opened.isControlDomain ? `the control domain of ${opened.hostName}` : opened.vmName} on ${opened.hostName}.` }
    })
    r.addEventListener('disconnect', () => {
      if (gen !== generation) return
      rfb.value = null
      session.value = null
      onDropped()
    })
    r.addEventListener('securityfailure', (e) => {
      if (gen !== generation) return
      status.value = { state: 'refused', message: `The VNC server refused the connection${e.detail.reason ? `: ${e.detail.reason}` : ''}.` }
    })
    r.addEventListener('desktopname', (e) => (desktopName.value = e.detail.name))
    r.addEventListener('clipboard', (e) => (guestClipboard.value = e.detail.text))
    rfb.value = r
  }

  function onDropped(): void {
    const explained = stateFromRecord()
    if (explained) {
      status.value = explained
      return
    }
    // running VM, console gone: a reboot, a migration or a network blip — try again
    scheduleRetry('The console connection closed.')
  }

  function onOpenError(err: unknown): void {
    const code = err instanceof ApiError ? err.code : ''
    const message = errorMessage(err)
    switch (code) {
      case 'vm-not-running':
        status.value = { state: 'halted', message }
        return
      case 'vm-suspended':
        status.value = { state: 'suspended', message }
        return
      case 'pool-offline':
        status.value = { state: 'offline', message }
        return
      // transient while a VM boots, reboots or moves
      case 'no-console':
      case 'console-refused':
      case 'host-unreachable':
        scheduleRetry(message)
        return
      default:
        status.value = { state: 'refused', message }
    }
  }

  /** user asked to try again (after a refusal) */
  function retry(): void {
    attempts = 0
    status.value = { state: 'opening', message: 'Opening the console…' }
    void open()
  }

  /** the window shows this console elsewhere: let go of it here */
  function release(message: string): void {
    clearRetry()
    teardown()
    status.value = { state: 'popped-out', message }
  }

  function resume(): void {
    if (status.value.state !== 'popped-out') return
    status.value = { state: 'opening', message: 'Opening the console…' }
    void open()
  }

  watch(fit, (v) => {
    if (rfb.value) rfb.value.scaleViewport = v
  })
  if (viewOnly) {
    watch(viewOnly, (v) => {
      if (!rfb.value) return
      rfb.value.viewOnly = v
      rfb.value.focusOnClick = !v
    })
  }

  // the VM rebooted, moved, stopped or started; the pool went away or came back
  watch([identity, poolStatus], () => {
    if (disposed || status.value.state === 'popped-out') return
    const pool = poolStatus.value
    if (pool === 'disconnected' || pool === 'auth-failed' || pool === 'cert-changed' || pool === 'failed' || pool === 'unreachable' || pool === 'password-needed') {
      // main closes this pool's consoles too; say why here rather than "reconnecting"
      clearRetry()
      teardown()
      status.value = { state: 'offline', message: poolOffline() }
      return
    }
    const s = session.value
    const moved =
      s !== null &&
      (residentOn.value !== s.hostRef ||
        (consoles.value.length > 0 && !consoles.value.includes(s.consoleRef)) ||
        (openedDomid !== undefined && domid.value !== undefined && domid.value !== openedDomid))
    const explained = stateFromRecord()
    if (explained && status.value.state !== 'connected') {
      clearRetry()
      teardown()
      status.value = explained
      return
    }
    if (moved || (!explained && status.value.state !== 'connected' && status.value.state !== 'connecting' && status.value.state !== 'opening')) {
      attempts = 0
      void open()
    }
  })

  // by value: parents pass a fresh { connectionId, vmRef } object on every render, which must not
  // reconnect a console that is already showing the right VM
  watch(
    () => consoleKey(target.value),
    () => {
      attempts = 0
      if (status.value.state === 'popped-out') status.value = { state: 'opening', message: 'Opening the console…' }
      void open()
    },
  )

  onBeforeUnmount(() => {
    disposed = true
    clearRetry()
    teardown()
  })

  return { status, rfb, session, desktopName, guestClipboard, vmName, powerState, open, retry, release, resume }
}
