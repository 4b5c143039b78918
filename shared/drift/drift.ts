/**
 * Pool drift (issue 19): "why does this host differ from its pool mates?" From a pool's records only (live or the
 * offline cache), per setting that should match across hosts, each host's value and whether they differ:
 * software (product, XAPI, Xen), updates applied, each network's PIF device and MTU on each host, the management
 * interface, NTP / DNS / time zone where the release reports them (host fields of XAPI ≥ 26.0, else other_config),
 * the control domain's memory, multipathing and the NUMA affinity policy. Time skew is not in the records (it needs
 * host.get_servertime, asked live) and is left out here.
 *
 * Per fleet: the same host settings across every pool of one kind (product and version), networks compared by
 * name, so "Production" and "Production-DR" say where they went apart.
 */

export type Rec = Record<string, unknown>
/** what the report reads: a pool's tables by class (the renderer's PoolObjects, main's graph) */
export interface DriftSource {
  table(cls: string): ReadonlyMap<string, Rec>
}

export interface DriftHost {
  /** where the host is: its pool's connection id and ref */
  connectionId: string
  ref: string
  name: string
  pool: string
}

export interface DriftRow {
  group: 'Software' | 'Networking' | 'Time and names' | 'Resources'
  setting: string
  /** one value per host, in the order of `hosts`; '—' where the host has none */
  values: string[]
  differs: boolean
}

export interface DriftReport {
  title: string
  hosts: DriftHost[]
  rows: DriftRow[]
}

const NONE = '—'

function s(v: unknown): string {
  return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : ''
}
function map(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {}
}
function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : []
}
const mib = (bytes: unknown): string => (typeof bytes === 'number' && bytes > 0 ? `${Math.round(bytes / 1024 / 1024)} MiB` : NONE)

interface HostFacts {
  host: DriftHost
  /** setting → value */
  values: Map<string, { group: DriftRow['group']; value: string }>
}

/** the kind of a pool, for the fleet comparison: product and version of its master ('XCP-ng 8.3.0') */
export function poolKind(src: DriftSource): string {
  const pool = [...src.table('pool').values()][0]
  const master = pool ? src.table('host').get(s(pool['master'])) : [...src.table('host').values()][0]
  const sw = map(master?.['software_version'])
  return `${s(sw['product_brand']) || s(sw['platform_name']) || 'XAPI'} ${s(sw['product_version']) || s(sw['platform_version']) || s(sw['xapi'])}`.trim()
}

export function poolName(src: DriftSource, fallback: string): string {
  const pool = [...src.table('pool').values()][0]
  return s(pool?.['name_label']) || fallback
}

function hostFacts(src: DriftSource, connectionId: string, pool: string): HostFacts[] {
  const networks = src.table('network')
  const pifs = src.table('PIF')
  const updates = src.table('pool_update')
  const vms = src.table('VM')
  const out: HostFacts[] = []
  const hosts = [...src.table('host').entries()].sort(([, a], [, b]) => s(a['name_label']).localeCompare(s(b['name_label']), undefined, { numeric: true }))
  for (const [ref, h] of hosts) {
    const values = new Map<string, { group: DriftRow['group']; value: string }>()
    const put = (group: DriftRow['group'], setting: string, value: string): void => {
      values.set(setting, { group, value: value || NONE })
    }
    const sw = map(h['software_version'])
    put('Software', 'Product version', [s(sw['product_brand']), s(sw['product_version'])].filter(Boolean).join(' '))
    put('Software', 'Build', s(sw['build_number']))
    put('Software', 'XAPI version', s(sw['xapi']))
    put('Software', 'Xen version', s(sw['xen']))
    const applied = list(h['updates'])
      .map((u) => s(updates.get(s(u))?.['name_label']))
      .filter(Boolean)
      .sort()
    put('Software', 'Updates applied', applied.length ? applied.join(', ') : list(h['updates']).length ? `${list(h['updates']).length} updates` : 'none')

    const own = [...pifs.entries()].filter(([, p]) => p['host'] === ref)
    const mgmt = own.find(([, p]) => p['management'] === true)?.[1]
    put('Networking', 'Management interface', mgmt ? `${s(mgmt['device'])}${s(mgmt['IP']) ? ` (${s(mgmt['ip_configuration_mode']).toLowerCase() || 'ip'})` : ''}` : NONE)
    for (const [, p] of own) {
      const net = networks.get(s(p['network']))
      const name = s(net?.['name_label']) || s(p['network'])
      const vlan = typeof p['VLAN'] === 'number' && p['VLAN'] >= 0 ? ` (VLAN ${p['VLAN']})` : ''
      const key = `Network “${name}”`
      const prev = values.get(`${key}: PIF`)?.value
      const dev = `${s(p['device'])}${vlan}`
      put('Networking', `${key}: PIF`, prev && prev !== NONE ? `${prev}, ${dev}` : dev)
      put('Networking', `${key}: MTU`, s(p['MTU']))
    }
    const dns = s(mgmt?.['DNS']) || s(map(h['other_config'])['dns'])
    put('Time and names', 'DNS servers', dns)
    const oc = map(h['other_config'])
    const ntpMode = s(h['ntp_mode'])
    const ntpServers = list(h['ntp_custom_servers']).map(s).filter(Boolean)
    put('Time and names', 'NTP', ntpMode ? `${ntpMode.replace(/^ntp_mode_/, '')}${ntpServers.length ? `: ${ntpServers.join(', ')}` : ''}` : s(oc['ntp']) || s(oc['ntp_servers']))
    put('Time and names', 'Time zone', s(h['timezone']) || s(oc['timezone']))
    const dom0 = vms.get(s(h['control_domain'])) ?? [...vms.values()].find((v) => v['is_control_domain'] === true && v['resident_on'] === ref)
    put('Resources', 'Control domain memory', mib(dom0?.['memory_static_max']))
    put('Resources', 'Multipathing', typeof h['multipathing'] === 'boolean' ? (h['multipathing'] ? 'on' : 'off') : NONE)
    put('Resources', 'NUMA affinity policy', s(h['numa_affinity_policy']))
    out.push({ host: { connectionId, ref, name: s(h['name_label']) || ref, pool }, values })
  }
  return out
}

const GROUP_ORDER: DriftRow['group'][] = ['Software', 'Networking', 'Time and names', 'Resources']

function rowsOf(facts: HostFacts[]): DriftRow[] {
  const settings = new Map<string, DriftRow['group']>()
  for (const f of facts) for (const [k, v] of f.values) if (!settings.has(k)) settings.set(k, v.group)
  const rows: DriftRow[] = []
  for (const [setting, group] of settings) {
    const values = facts.map((f) => f.values.get(setting)?.value ?? NONE)
    // a setting no host has says nothing
    if (values.every((v) => v === NONE)) continue
    rows.push({ group, setting, values, differs: new Set(values).size > 1 })
  }
  return rows.sort((a, b) => GROUP_ORDER.indexOf(a.group) - GROUP_ORDER.indexOf(b.group) || (a.group === 'Networking' ? a.setting.localeCompare(b.setting) : 0))
}

/** the drift of one pool's hosts */
export function poolDrift(src: DriftSource, connectionId: string, fallbackName: string): DriftReport {
  const name = poolName(src, fallbackName)
  const facts = hostFacts(src, connectionId, name)
  return { title: name, hosts: facts.map((f) => f.host), rows: rowsOf(facts) }
}

/** the drift across every host of several pools of one kind (pass only pools whose poolKind is the same) */
export function fleetDrift(pools: { src: DriftSource; connectionId: string; fallbackName: string }[], kind: string): DriftReport {
  const facts = pools.flatMap((p) => hostFacts(p.src, p.connectionId, poolName(p.src, p.fallbackName)))
  return { title: `${kind}: ${pools.length} pools`, hosts: facts.map((f) => f.host), rows: rowsOf(facts) }
}

function csvCell(v: string): string {
  // a cell a spreadsheet would run as a formula is quoted with a leading apostrophe
  const safe = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe
}

/** CSV: one row per setting, one column per host (header: pool / host), and a "Differs" column */
export function driftCsv(r: DriftReport): string {
  const head = ['Group', 'Setting', 'Differs', ...r.hosts.map((h) => (new Set(r.hosts.map((x) => x.pool)).size > 1 ? `${h.pool} / ${h.name}` : h.name))]
  const lines = [head, ...r.rows.map((row) => [row.group, row.setting, row.differs ? 'yes' : 'no', ...row.values])]
  return `${lines.map((l) => l.map(csvCell).join(',')).join('\r\n')}\r\n`
}

function mdCell(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ')
}

/** Markdown: a table per group, differing settings marked ⚠ and their values in bold */
export function driftMarkdown(r: DriftReport, asOf?: string): string {
  const multi = new Set(r.hosts.map((x) => x.pool)).size > 1
  const cols = r.hosts.map((h) => mdCell(multi ? `${h.pool} / ${h.name}` : h.name))
  let out = `# Drift: ${mdCell(r.title)}\n\n`
  if (asOf) out += `_From the offline cache, as of ${asOf}._\n\n`
  const differing = r.rows.filter((x) => x.differs).length
  out += differing ? `${differing} setting${differing === 1 ? '' : 's'} differ between hosts.\n\n` : 'Every setting matches across hosts.\n\n'
  for (const g of GROUP_ORDER) {
    const rows = r.rows.filter((x) => x.group === g)
    if (!rows.length) continue
    out += `## ${g}\n\n| Setting | ${cols.join(' | ')} |\n|---|${cols.map(() => '---').join('|')}|\n`
    for (const row of rows) out += `| ${row.differs ? '⚠ ' : ''}${mdCell(row.setting)} | ${row.values.map((v) => (row.differs ? `**${mdCell(v)}**` : mdCell(v))).join(' | ')} |\n`
    out += '\n'
  }
  return out
}
