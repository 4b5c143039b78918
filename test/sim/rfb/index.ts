// OWNER: console helper. Boundary signature fixed by the lead.
/**
 * What sits behind the simulator's CONNECT /console: either the simulator's own RFB server (a
 * screen per VM that shows its name and what was typed, recorded in `simScreens` for tests) or a
 * byte pipe to a real VNC server (Debian's Xvnc started by a test).
 */
import { connect } from 'node:net'
import type { Duplex } from 'node:stream'
import { RfbServerConnection } from './server'
import { SimScreen } from './screen'

export { SimScreen, keysymName } from './screen'
export type { SimKeyEvent, SimPointerEvent, SimScancodeEvent } from './screen'

export type ConsoleTarget =
  /** the simulator's own RFB server: a framebuffer showing the VM's name and the keys it received */
  | { kind: 'sim'; vmUuid: string; name: string; protocol: '3.3' | '3.8' }
  /** a real VNC server (e.g. Debian's Xvnc started by a test) */
  | { kind: 'tcp'; host: string; port: number }

/** Every simulated VM screen by VM uuid (created on first console connection or by `simScreen`). */
export const simScreens = new Map<string, SimScreen>()

/** The screen of a VM, created with the VM's name if it does not exist yet. */
export function simScreen(vmUuid: string, name: string): SimScreen {
  let screen = simScreens.get(vmUuid)
  if (!screen) {
    screen = new SimScreen(vmUuid, name)
    simScreens.set(vmUuid, screen)
  } else if (screen.name !== name) {
    screen.name = name
  }
  return screen
}

/**
 * The VM's display went away (shutdown, reboot, suspend, migration away): every console
 * connection to it closes, as when XAPI's VNC server process exits. `newSize` models a guest that
 * comes back at another resolution.
 */
export function endSimConsole(vmUuid: string, reason: string, newSize?: { width: number; height: number }): void {
  const screen = simScreens.get(vmUuid)
  if (!screen) return
  if (reason === 'reboot') screen.reboot(newSize)
  else screen.end(reason)
}

/** Take over a socket that has just been answered `HTTP/1.1 200 OK` on CONNECT /console and speak RFB on it. */
export function attachConsole(socket: Duplex, target: ConsoleTarget): void {
  if (target.kind === 'sim') {
    new RfbServerConnection(socket, simScreen(target.vmUuid, target.name), target.protocol)
    return
  }
  const upstream = connect({ host: target.host, port: target.port })
  upstream.setNoDelay(true)
  // pipe() pauses the faster side while the slower one drains: back-pressure both ways
  socket.pipe(upstream)
  upstream.pipe(socket)
  const closeBoth = (): void => {
    socket.destroy()
    upstream.destroy()
  }
  upstream.on('error', closeBoth)
  upstream.on('close', closeBoth)
  socket.on('error', closeBoth)
  socket.on('close', closeBoth)
}
