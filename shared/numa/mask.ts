/**
 * VM.VCPUs_params["mask"]: hard vCPU affinity in XAPI's own syntax (docs/numa.md §1.3).
 *   "1,2,3"    every vCPU gets this mask
 *   "1,2;3,4"  vCPU n gets mask n; unlisted vCPUs get the first mask
 * xapi_xenops.ml parses it with `String.split ';'`, `String.split ','` and `int_of_string`
 * inside one `try … with _ -> []`: every element that is not an OCaml integer literal (a space,
 * a range, an empty element) silently discards the WHOLE mask. The validator below therefore
 * refuses everything XAPI would not take exactly as the user meant it.
 */
import { compactRanges } from './cpulist'

export type MaskValidation =
  | { ok: true; perVcpu: number[][]; canonical: string }
  | { ok: false; error: string }

export interface MaskLimits {
  /** logical pCPUs on the host (cpu_info.cpu_count): ids must be below it */
  pcpuCount?: number
  /** VM.VCPUs_max: more per-vCPU groups than vCPUs is refused */
  vcpus?: number
  /** who has `pcpuCount` pCPUs, for the message (default 'this host') */
  pcpuScope?: string
}

/** Validates what a user typed as a mask; on success gives the canonical string to store. */
export function validateMask(text: string, limits: MaskLimits = {}): MaskValidation {
  if (text.length === 0 || text.trim().length === 0)
    return { ok: false, error: 'The mask is empty. Enter pCPU numbers such as 0,1,2,3 (or 0,1;2,3 for one mask per vCPU), or remove the mask.' }
  const ws = /\s/.exec(text)
  if (ws)
    return {
      ok: false,
      error: `The mask contains a space (at character ${ws.index + 1}). XAPI does not trim spaces: a mask like "1,2; 3,4" is silently ignored and the VM runs with no mask at all. Remove the spaces.`,
    }
  const groups = text.split(';')
  const perVcpu: number[][] = []
  for (const [gi, group] of groups.entries()) {
    const where = groups.length > 1 ? ` in the mask for vCPU ${gi}` : ''
    if (group === '')
      return { ok: false, error: `The mask for vCPU ${gi} is empty (a ';' with nothing ${gi === 0 ? 'before' : 'after'} it). XAPI would ignore the whole mask.` }
    const cpus = new Set<number>()
    for (const el of group.split(',')) {
      if (el === '') return { ok: false, error: `Empty pCPU number between commas${where}. XAPI would ignore the whole mask.` }
      const range = /^(\d+)-(\d+)$/.exec(el)
      if (range) {
        const a = Number(range[1])
        const b = Number(range[2])
        const listed = a <= b && b - a < 64 ? Array.from({ length: b - a + 1 }, (_, i) => a + i).join(',') : null
        return {
          ok: false,
          error: `Ranges such as "${el}" are not accepted by XAPI, which would ignore the whole mask.${listed ? ` List each pCPU instead: ${listed}.` : ''}`,
        }
      }
      if (!/^\d+$/.test(el)) return { ok: false, error: `"${el}" is not a pCPU number${where}. Use decimal numbers separated by commas.` }
      const n = Number(el)
      if (!Number.isSafeInteger(n)) return { ok: false, error: `"${el}" is too large to be a pCPU number${where}.` }
      if (limits.pcpuCount !== undefined && n >= limits.pcpuCount)
        return {
          ok: false,
          error: `pCPU ${n} does not exist${where}: ${limits.pcpuScope ?? 'this host'} has ${limits.pcpuCount} pCPUs (0–${limits.pcpuCount - 1}).`,
        }
      cpus.add(n)
    }
    perVcpu.push([...cpus].sort((a, b) => a - b))
  }
  if (limits.vcpus !== undefined && perVcpu.length > limits.vcpus)
    return {
      ok: false,
      error: `The mask has ${perVcpu.length} per-vCPU groups but the VM has only ${limits.vcpus} vCPU${limits.vcpus === 1 ? '' : 's'}; the extra groups would be ignored.`,
    }
  return { ok: true, perVcpu, canonical: serialiseMask(perVcpu) }
}

/** Per-vCPU masks → XAPI's syntax ("1,2;3,4"); one identical group for every vCPU collapses to one. */
export function serialiseMask(perVcpu: readonly (readonly number[])[]): string {
  const groups = perVcpu.map((g) => [...new Set(g)].sort((a, b) => a - b).join(','))
  if (groups.length > 1 && groups.every((g) => g === groups[0])) return groups[0] ?? ''
  return groups.join(';')
}

/** OCaml's int_of_string accepts more than decimal digits; mirror it so we read stored masks as XAPI does. */
const OCAML_INT = /^[-+]?(?:0[xX][0-9a-fA-F][0-9a-fA-F_]*|0[oO][0-7][0-7_]*|0[bB][01][01_]*|0[uU][0-9][0-9_]*|[0-9][0-9_]*)$/

function ocamlIntOfString(s: string): number | null {
  if (!OCAML_INT.test(s)) return null
  const neg = s.startsWith('-')
  const body = s.replace(/^[-+]/, '').replace(/_/g, '')
  let v: number
  if (/^0[xX]/.test(body)) v = parseInt(body.slice(2), 16)
  else if (/^0[oO]/.test(body)) v = parseInt(body.slice(2), 8)
  else if (/^0[bB]/.test(body)) v = parseInt(body.slice(2), 2)
  else if (/^0[uU]/.test(body)) v = parseInt(body.slice(2), 10)
  else v = parseInt(body, 10)
  return neg ? -v : v
}

/**
 * Reads a stored mask the way xapi_xenops.ml does: the per-vCPU lists, or [] with the reason
 * XAPI will ignore it. Never throws.
 */
export function parseStoredMask(raw: string | undefined | null): { groups: number[][]; ignoredReason?: string } {
  if (raw === undefined || raw === null) return { groups: [] }
  const groups: number[][] = []
  for (const group of raw.split(';')) {
    const cpus: number[] = []
    for (const el of group.split(',')) {
      const n = ocamlIntOfString(el)
      if (n === null) {
        const why = /\s/.test(el)
          ? `it contains a space ("${raw}"); XAPI does not trim spaces`
          : el === ''
            ? `it has an empty element ("${raw}")`
            : `"${el}" is not an integer XAPI can read`
        return { groups: [], ignoredReason: `XAPI ignores this mask: ${why}. The VM starts with no hard affinity.` }
      }
      cpus.push(n)
    }
    groups.push(cpus)
  }
  return { groups }
}

/**
 * The hard affinity xenopsd applies to each of `vcpus` vCPUs: the VM's groups (unlisted vCPUs take
 * the first), each intersected with host.guest_VCPUs_params["mask"]; a host mask alone pins every
 * VM. [] when there is no hard affinity at all.
 */
export function effectiveHardMasks(vmGroups: readonly (readonly number[])[], hostMask: readonly number[] | null, vcpus: number): number[][] {
  let groups: number[][]
  if (vmGroups.length === 0 && (hostMask === null || hostMask.length === 0)) return []
  if (vmGroups.length === 0) groups = [[...(hostMask ?? [])]]
  else if (hostMask === null || hostMask.length === 0) groups = vmGroups.map((g) => [...g])
  else groups = vmGroups.map((g) => g.filter((c) => hostMask.includes(c)))
  const first = groups[0] ?? []
  return Array.from({ length: Math.max(vcpus, 0) }, (_, i) => [...new Set(groups[i] ?? first)].sort((a, b) => a - b))
}

/** host.guest_VCPUs_params["mask"]: XAPI reads it as one comma list (no ';'). */
export function parseHostGuestMask(raw: string | undefined | null): number[] | null {
  if (raw === undefined || raw === null) return null
  const out: number[] = []
  for (const el of raw.split(',')) {
    const n = ocamlIntOfString(el)
    if (n === null) return null
    out.push(n)
  }
  return out
}

/** "0-3,8" for people. */
export function describeCpus(cpus: readonly number[]): string {
  return cpus.length === 0 ? 'no pCPU' : compactRanges([...new Set(cpus)].sort((a, b) => a - b))
}
