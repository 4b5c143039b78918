// OWNER: console helper. Boundary signature fixed by the lead; implementation replaces this body.
import type { Duplex } from 'node:stream'

export type ConsoleTarget =
  /** the simulator's own RFB server: a framebuffer showing the VM's name and the keys it received */
  | { kind: 'sim'; vmUuid: string; name: string; protocol: '3.3' | '3.8' }
  /** a real VNC server (e.g. Debian's Xvnc started by a test) */
  | { kind: 'tcp'; host: string; port: number }

/** Take over a socket that has just been answered `HTTP/1.1 200 OK` on CONNECT /console and speak RFB on it. */
export function attachConsole(socket: Duplex, target: ConsoleTarget): void {
  socket.destroy(new Error(`console ${JSON.stringify(target)}: not implemented yet`))
}
