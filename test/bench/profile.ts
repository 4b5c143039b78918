/** The V8 CPU profiler over one phase of a benchmark (node:inspector): write DIR/NAME.cpuprofile, print where the time went. */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

export interface CpuProfile {
  nodes: { hitCount?: number; callFrame: { functionName: string; url: string; lineNumber: number } }[]
}

/** starts the profiler (sampling every `intervalUs`); the returned function stops it and writes DIR/NAME.cpuprofile */
export async function startCpuProfile(dir: string, intervalUs: number): Promise<(name: string) => Promise<CpuProfile>> {
  const { Session } = await import('node:inspector/promises')
  const session = new Session()
  session.connect()
  await session.post('Profiler.enable')
  await session.post('Profiler.setSamplingInterval', { interval: intervalUs })
  await session.post('Profiler.start')
  return async (name) => {
    const { profile } = await session.post('Profiler.stop')
    session.disconnect()
    mkdirSync(dir, { recursive: true })
    writeFileSync(join(dir, `${name}.cpuprofile`), JSON.stringify(profile))
    return profile
  }
}

/** the biggest self times of a profile, as `# …` lines (% of the samples that were not idle) */
export function printSelfTimes(profile: CpuProfile, title: string, top = 20): void {
  const self = new Map<string, number>()
  let total = 0
  for (const n of profile.nodes) {
    const hits = n.hitCount ?? 0
    total += hits
    const f = n.callFrame
    const where = f.url ? `${f.url.replace(/^.*\/(main|test|shared|node_modules)\//, '$1/')}:${f.lineNumber + 1}` : ''
    const k = `${f.functionName || '(anonymous)'} ${where}`.trim()
    self.set(k, (self.get(k) ?? 0) + hits)
  }
  const busy = total - (self.get('(idle)') ?? 0)
  console.log(`# profile ${title}: busy ${Math.round((busy / Math.max(1, total)) * 100)} % of samples; biggest self times (% of busy):`)
  for (const [k, v] of [...self].filter(([k]) => k !== '(idle)').sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`#   ${((v / Math.max(1, busy)) * 100).toFixed(1).padStart(5)} %  ${k}`)
}
