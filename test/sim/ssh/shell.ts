/**
 * A fake dom0 bash for the simulated sshd: a prompt, line editing (backspace, Ctrl-C, Ctrl-D), and a handful of
 * commands answered from the simulated host — `xl info` / `xl vcpu-list` from the same model as the NUMA plug-in
 * (test/sim/numa-plugin.ts), `xe host-list|vm-list|pif-list` from the pool's objects, `stty size` (the terminal
 * size the client last sent), `yes` (endless output written only as fast as the SSH window lets it), `exit`.
 */
import type { ServerChannel } from 'ssh2'
import type { SimHostSpec, SimRecord } from '../model'
import { simulatedXlOutput } from '../numa-plugin'
import type { PoolState } from '../server/pool'

const CRLF = '\r\n'

export class DomShell {
  private line = ''
  private stopped = false
  /** the running endless command (yes), stopped by Ctrl-C */
  private running: { stop(): void } | undefined

  constructor(
    private readonly pool: PoolState,
    private readonly host: SimHostSpec,
    private readonly channel: ServerChannel,
    private readonly size: { cols: number; rows: number },
    private readonly counted: (bytes: number) => void,
  ) {}

  private get hostname(): string {
    const rec = this.pool.db.get('host', this.host.ref)
    const name = typeof rec?.['hostname'] === 'string' && rec['hostname'] !== 'localhost' ? rec['hostname'] : rec?.['name_label']
    return typeof name === 'string' && name ? name : this.host.address
  }

  private get prompt(): string {
    return `[root@${this.hostname} ~]# `
  }

  /** false when the channel wants the writer to wait for 'drain' */
  private write(text: string): boolean {
    if (this.stopped) return false
    const b = Buffer.from(text, 'utf8')
    this.counted(b.length)
    return this.channel.write(b)
  }

  start(): void {
    this.write(`Last login: ${new Date().toUTCString()} from 127.0.0.1${CRLF}`)
    this.write(this.prompt)
    this.channel.on('data', (d: Buffer) => this.input(d.toString('utf8')))
    this.channel.on('close', () => this.stop())
    this.channel.on('error', () => this.stop())
  }

  stop(): void {
    this.stopped = true
    this.running?.stop()
    this.running = undefined
  }

  /** a non-interactive command (ssh host 'xl info') */
  async exec(command: string): Promise<void> {
    const out = this.run(command.trim())
    if (out.kind === 'text') this.write(out.text.replace(/\r?\n/g, CRLF))
    this.channel.exit(out.kind === 'text' ? out.code : 0)
    this.channel.end()
  }

  private input(s: string): void {
    for (const ch of s) {
      if (this.running) {
        if (ch === '\x03') {
          this.running.stop()
          this.running = undefined
          this.write(`^C${CRLF}${this.prompt}`)
        }
        continue
      }
      if (ch === '\r' || ch === '\n') {
        this.write(CRLF)
        const cmd = this.line.trim()
        this.line = ''
        this.execute(cmd)
      } else if (ch === '\x7f' || ch === '\b') {
        if (this.line.length > 0) {
          this.line = this.line.slice(0, -1)
          this.write('\b \b')
        }
      } else if (ch === '\x03') {
        this.line = ''
        this.write(`^C${CRLF}${this.prompt}`)
      } else if (ch === '\x04') {
        if (this.line === '') return this.logout()
      } else if (ch >= ' ') {
        this.line += ch
        this.write(ch)
      }
    }
  }

  private logout(): void {
    this.write(`logout${CRLF}`)
    this.channel.exit(0)
    this.channel.end()
    this.stop()
  }

  private execute(cmd: string): void {
    if (cmd === 'exit' || cmd === 'logout') return this.logout()
    const out = this.run(cmd)
    if (out.kind === 'endless') {
      this.running = this.endless(out.word)
      return
    }
    if (out.text) this.write(out.text.replace(/\r?\n/g, CRLF))
    this.write(this.prompt)
  }

  /** `yes`: writes until stopped, waiting for 'drain' whenever the channel's window is full */
  private endless(word: string): { stop(): void } {
    let stop = false
    const chunk = `${word}\r\n`.repeat(Math.max(1, Math.floor(16384 / (word.length + 2))))
    const pump = (): void => {
      while (!stop && !this.stopped) {
        if (!this.write(chunk)) {
          this.channel.once('drain', pump)
          return
        }
      }
    }
    setImmediate(pump)
    return {
      stop: () => {
        stop = true
        this.channel.off('drain', pump)
      },
    }
  }

  private run(cmd: string): { kind: 'text'; text: string; code: number } | { kind: 'endless'; word: string } {
    const words = cmd.split(/\s+/).filter(Boolean)
    const [c, ...args] = words
    const ok = (text: string): { kind: 'text'; text: string; code: number } => ({ kind: 'text', text, code: 0 })
    switch (c) {
      case undefined:
        return ok('')
      case 'xl':
        return this.xl(args)
      case 'xe':
        return this.xe(args)
      case 'hostname':
        return ok(`${this.hostname}\n`)
      case 'uname':
        return ok(args.includes('-a') ? `Linux ${this.hostname} 4.19.0+1 #1 SMP Tue Jan 14 10:00:00 CET 2025 x86_64 x86_64 x86_64 GNU/Linux\n` : 'Linux\n')
      case 'stty':
        return args[0] === 'size' ? ok(`${this.size.rows} ${this.size.cols}\n`) : ok('')
      case 'echo':
        return ok(`${args.join(' ')}\n`)
      case 'clear':
        return ok('\x1b[H\x1b[2J')
      case 'yes':
        return { kind: 'endless', word: args.join(' ') || 'y' }
      case 'uptime':
        return ok(' 10:00:00 up 42 days,  3:14,  1 user,  load average: 0.12, 0.08, 0.05\n')
      default:
        return { kind: 'text', text: `-bash: ${c}: command not found\n`, code: 127 }
    }
  }

  private xl(args: string[]): { kind: 'text'; text: string; code: number } {
    const out = simulatedXlOutput(this.host, this.pool.spec, (vmRef, domid) => {
      const b = this.pool.numaBootPolicy.get(vmRef)
      return b && b.domid === domid ? b.policy : undefined
    })
    if (args[0] === 'info') return { kind: 'text', text: out.info, code: 0 }
    if (args[0] === 'vcpu-list') return { kind: 'text', text: out.vcpuList, code: 0 }
    return { kind: 'text', text: `Usage xl [-vfNtT] <subcommand> [args]\n(this simulated dom0 knows: xl info, xl vcpu-list)\n`, code: 1 }
  }

  private xe(args: string[]): { kind: 'text'; text: string; code: number } {
    const table = (cls: string): [string, SimRecord][] => [...this.pool.db.table(cls).entries()]
    const block = (rows: string[][]): string => rows.map((r) => `${r.join('\n')}\n\n`).join('')
    const field = (k: string, v: unknown): string => `${k.padStart(17)} ( RO)    : ${typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : ''}`
    switch (args[0]) {
      case 'host-list':
        return { kind: 'text', text: block(table('host').map(([, h]) => [field('uuid', h['uuid']), field('name-label', h['name_label']), field('name-description', h['name_description'])])), code: 0 }
      case 'vm-list':
        return {
          kind: 'text',
          text: block(
            table('VM')
              .filter(([, v]) => v['is_a_template'] !== true && v['is_a_snapshot'] !== true)
              .map(([, v]) => [field('uuid', v['uuid']), field('name-label', v['name_label']), field('power-state', String(v['power_state']).toLowerCase())]),
          ),
          code: 0,
        }
      case 'pif-list':
        return {
          kind: 'text',
          text: block(
            table('PIF')
              .filter(([, p]) => p['host'] === this.host.ref)
              .map(([, p]) => [field('uuid', p['uuid']), field('device', p['device']), field('currently-attached', p['currently_attached']), field('VLAN', p['VLAN'])]),
          ),
          code: 0,
        }
      default:
        return { kind: 'text', text: `This simulated dom0's xe knows host-list, vm-list and pif-list.\n`, code: args.length === 0 ? 0 : 1 }
    }
  }
}
