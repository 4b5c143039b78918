/**
 * The command palette's search (issue 19): every object of every pool, fuzzy by name, a query that
 * extends the last one searching only its matches (and answering exactly what a fresh search
 * answers), recency breaking ties.
 */
import { describe, expect, it } from 'vitest'
import { ObjectGraph } from '../../../renderer/src/model/objects'
import { boostsOf, charMask, fuzzyScore, paletteObjects, PaletteSearch, recencyBoosts, RecentList, searchKey, type PaletteObject } from '../../../renderer/src/model/palette'

function graphOf(pools: Record<string, Record<string, Record<string, Record<string, unknown>>>>): ObjectGraph {
  const g = new ObjectGraph()
  for (const [connectionId, classes] of Object.entries(pools)) {
    const upserts = Object.entries(classes).flatMap(([cls, recs]) => Object.entries(recs).map(([ref, record]) => ({ cls, ref, record })))
    g.apply({ connectionId, seq: 1, reset: true, upserts, removes: [] })
  }
  return g
}

describe('palette objects', () => {
  it('lists pools, servers, VMs, templates, snapshots, SRs and networks of every pool; not control domains', () => {
    const g = graphOf({
      a: { pool: { p1: { name_label: 'Lab', uuid: 'u-p1' } }, host: { h1: { name_label: 'xcp-lab', uuid: 'u-h1' } }, VM: { v1: { name_label: 'web-01', uuid: 'u1' }, d0: { name_label: 'Control domain', is_control_domain: true }, t1: { name_label: 'Debian 12', is_a_template: true }, s1: { name_label: 'before upgrade', is_a_snapshot: true } } },
      b: { VM: { v2: { name_label: 'web-02', uuid: 'u2' } }, SR: { sr1: { name_label: 'NFS' } }, network: { n1: { name_label: 'Pool-wide network' } } },
    })
    const list = paletteObjects(g)
    expect(list.map((o) => `${o.connectionId}:${o.noun}:${o.label}`).sort()).toEqual(
      ['a:Pool:Lab', 'a:Server:xcp-lab', 'a:VM:web-01', 'a:Template:Debian 12', 'a:Snapshot:before upgrade', 'b:VM:web-02', 'b:Storage:NFS', 'b:Network:Pool-wide network'].sort(),
    )
    expect(list.find((o) => o.label === 'web-02')?.objId).toBe('b|v2')
    // what was opened recently, by position in that list (ids of commands and gone objects are left out)
    const recent = new RecentList()
    for (const id of ['b|v2', 'cmd:vm.start', 'a|gone', 'a|h1']) recent.touch(id)
    const boosts = recencyBoosts(g, recent)
    expect([...boosts].map(([at, b]) => [list[at]?.objId, b]).sort()).toEqual([['a|h1', recent.boost('a|h1')], ['b|v2', recent.boost('b|v2')]].sort())
  })
})

describe('fuzzy search', () => {
  const items = (names: string[]): PaletteObject[] => names.map((label, i) => ({ objId: `c|r${i}`, connectionId: 'c', cls: 'VM', ref: `r${i}`, label, noun: 'VM', ...searchKey(label) }))

  it('ranks a name starting with the query over one containing it, over a scattered match', () => {
    const s = new PaletteSearch<PaletteObject>()
    s.setItems(items(['my-web-server', 'web-01', 'w-e-b', 'database']))
    expect(s.query('web').map((h) => h.item.label)).toEqual(['web-01', 'my-web-server', 'w-e-b'])
    expect(fuzzyScore('database', 'web')).toBe(-1)
  })
  it('all words must match, in any order', () => {
    const s = new PaletteSearch<PaletteObject>()
    s.setItems(items(['db-warehouse-01', 'db-prod', 'warehouse-app']))
    expect(s.query('ware db').map((h) => h.item.label)).toEqual(['db-warehouse-01'])
  })
  it('typing one more character searches only the last matches and answers what a fresh search answers', () => {
    const names = Array.from({ length: 3000 }, (_, i) => `${['web', 'db', 'k8s-node', 'cache'][i % 4]}-${String(i).padStart(4, '0')}`)
    const s = new PaletteSearch<PaletteObject>()
    s.setItems(items(names))
    const q = 'k8s-node-01'
    for (let i = 1; i <= q.length; i++) {
      const typed = s.query(q.slice(0, i), 20).map((h) => h.item.label)
      const fresh = new PaletteSearch<PaletteObject>()
      fresh.setItems(items(names))
      expect(typed).toEqual(fresh.query(q.slice(0, i), 20).map((h) => h.item.label))
    }
    // deleting a character starts again from every item
    expect(s.query('k8s-node-0', 5).length).toBe(5)
    expect(s.query('web', 3000).length).toBe(750)
  })
  it('a recently opened object comes first among equal matches', () => {
    const recent = new RecentList()
    const s = new PaletteSearch<PaletteObject>()
    const list = items(['web-01', 'web-02', 'web-03'])
    s.setItems(list)
    expect(s.query('web')[0]?.item.label).toBe('web-01')
    recent.touch('c|r2')
    s.setBoosts(boostsOf(list, (o) => recent.boost(o.objId)))
    expect(s.query('web').map((h) => h.item.label)).toEqual(['web-03', 'web-01', 'web-02'])
    recent.touch('c|r1')
    expect(recent.list()).toEqual(['c|r1', 'c|r2'])
  })
  it('answers exactly what scoring and sorting every item answers (best limit, ties in list order, recency)', () => {
    // a reference that scores every item and sorts them all: the heap, the character masks, the
    // skipped recency lookups and the narrowing must change nothing of the answer
    let seed = 7
    const rnd = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2147483648) % n)
    const parts = ['web', 'db', 'k8s', 'node', 'cache', 'war', 'é', 'x_1', '07', '2', 'w\ne', 'b']
    const names = Array.from({ length: 4000 }, () => Array.from({ length: 1 + rnd(3) }, () => parts[rnd(parts.length)]).join(rnd(2) ? '-' : ' '))
    const list = items(names)
    const recent = new RecentList()
    for (let i = 0; i < 30; i++) recent.touch(`c|r${rnd(names.length)}`)
    const boost = (o: PaletteObject): number => recent.boost(o.objId)
    const s = new PaletteSearch<PaletteObject>()
    s.setItems(list, boostsOf(list, boost))
    for (const q of ['w', 'we', 'web', 'web-', 'web-0', 'web-07', 'd', 'db w', 'db wa', '2', '27', 'é', 'x_', 'k8s node', 'zz', '', 'b', 'bw', 'ebw', 'bb']) {
      const words = q.trim().toLowerCase().split(/\s+/).filter((w) => w)
      const ref = list
        .map((item, at) => {
          let score = 0
          for (const w of words) {
            const f = fuzzyScore(item.lower, w)
            if (f < 0) return undefined
            score += f
          }
          return { at, score: score + boost(item) }
        })
        .filter((x): x is { at: number; score: number } => x !== undefined)
        .sort((a, b) => b.score - a.score || a.at - b.at)
        .slice(0, 25)
      expect(s.query(q, 25).map((h) => `${h.item.ref}:${h.score}`), q).toEqual(ref.map((r) => `r${r.at}:${r.score}`))
    }
  })
  it('a name lacking a character of the query is passed over by its mask; one holding them all is read', () => {
    expect(charMask('web-07') & charMask('w7')).toBe(charMask('w7'))
    expect(charMask('web-07') & charMask('z')).toBe(0)
    expect(charMask('db') & charMask('é')).toBe(0)
    expect(charMask('café') & charMask('é')).toBe(charMask('é'))
  })
})
