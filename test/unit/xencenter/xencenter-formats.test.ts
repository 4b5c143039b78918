/**
 * XenCenter's custom fields and saved searches, read and written in XenCenter's format (xenadmin:
 * CustomFieldsManager, CustomFieldDefinition, SearchMarshalling, QueryTypes), and the bounded XML
 * reader under them: a gui_config value is the pool's, so hostile input ends in a sentence, never
 * an exception or a long parse.
 */
import { describe, expect, it } from 'vitest'
import {
  customFieldKey,
  customFieldStoredValue,
  customFieldValues,
  definitionsWritable,
  formatCustomDate,
  readCustomFieldDefinitions,
  writeCustomFieldDefinitions,
} from '../../../shared/xencenter/custom-fields'
import { describeSearch, objectTypeOf, parseSearch, readPoolSearches, searchFromText, searchMatches, writeSearch } from '../../../shared/xencenter/search'
import { parseXml, XML_LIMITS } from '../../../shared/xencenter/xml'

// what XenCenter 8.x writes (XmlDocument.OuterXml of CustomFieldsManager.GetCustomFieldDefinitionXML)
const XC_FIELDS = '<CustomFieldDefinitions><CustomFieldDefinition name="Owner" type="String" defaultValue="" /><CustomFieldDefinition name="Expires" type="Date" defaultValue="" /></CustomFieldDefinitions>'
// a search as XenCenter saves it (SearchMarshalling.SearchToXML)
const XC_SEARCH =
  '<Search uuid="0f1e2d3c-aaaa-bbbb-cccc-000000000001" name="Web VMs of finance" major_version="2" minor_version="0" show_expanded="yes"><Query><QueryScope><VM /></QueryScope><GroupQuery type="And"><StringPropertyQuery property="label" casesensitive="no" query="web" type="contains" /><CustomFieldQuery query="finance" type="exactmatch"><CustomFieldDefinition name="Owner" type="String" defaultValue="" /></CustomFieldQuery></GroupQuery></Query><PropertyGrouping property="os_name" /><columns><column name="name" width="200" /></columns><sorting><sort column="name" ascending="yes" /></sorting></Search>'

describe('custom field definitions (pool.gui_config["XenCenter.CustomFields"])', () => {
  it('reads what XenCenter writes, and writes it back the same', () => {
    const defs = readCustomFieldDefinitions({ 'XenCenter.CustomFields': XC_FIELDS })
    expect(defs).toEqual({ fields: [{ name: 'Owner', type: 'String' }, { name: 'Expires', type: 'Date' }], problem: null })
    expect(writeCustomFieldDefinitions(defs.fields)).toBe(XC_FIELDS)
    expect(customFieldKey('Owner')).toBe('XenCenter.CustomFields.Owner')
  })
  it('skips a definition it cannot read (as XenCenter does), says so, and refuses to rewrite the value', () => {
    const defs = readCustomFieldDefinitions({ 'XenCenter.CustomFields': '<CustomFieldDefinitions><CustomFieldDefinition name="A" type="String"/><CustomFieldDefinition name="B" type="Number"/></CustomFieldDefinitions>' })
    expect(defs.fields).toEqual([{ name: 'A', type: 'String' }])
    expect(defs.problem).toMatch(/1 of the pool's custom field definitions could not be read/)
    expect(definitionsWritable(defs)).toMatch(/does not rewrite them/)
  })
  it('a malformed or huge value is a sentence, not an exception', () => {
    expect(readCustomFieldDefinitions({ 'XenCenter.CustomFields': '<CustomFieldDefinitions><CustomFieldDefinition name="A"' }).problem).toMatch(/cannot be read: the tag <CustomFieldDefinition> is not closed/)
    const huge = `<CustomFieldDefinitions>${'<CustomFieldDefinition name="x" type="String"/>'.repeat(100_000)}</CustomFieldDefinitions>`
    const r = readCustomFieldDefinitions({ 'XenCenter.CustomFields': huge })
    expect(r.fields).toEqual([])
    expect(r.problem).toMatch(/characters long; XenPilot reads at most 262,144/)
    expect(readCustomFieldDefinitions({})).toEqual({ fields: [], problem: null })
    expect(readCustomFieldDefinitions(null)).toEqual({ fields: [], problem: null })
  })
  it('values: a Date as XenCenter stores it (UTC, .NET "u"), a string as is, empty = none', () => {
    expect(formatCustomDate(new Date(Date.UTC(2026, 11, 7, 18, 45, 3)))).toBe('2026-12-07 18:45:03Z')
    const defs = [{ name: 'Owner', type: 'String' as const }, { name: 'Expires', type: 'Date' as const }]
    expect(customFieldValues(defs, { 'XenCenter.CustomFields.Owner': 'finance', 'XenCenter.CustomFields.Expires': '2027-01-31 00:00:00Z' }).map((v) => v.text)).toEqual(['finance', '2027-01-31'])
    expect(customFieldValues(defs, { 'XenCenter.CustomFields.Expires': 'soon' })[1]).toMatchObject({ invalid: true, text: 'soon' })
    expect(customFieldStoredValue(defs[1]!, '2027-01-31')).toEqual({ ok: true, value: '2027-01-31 00:00:00Z' })
    expect(customFieldStoredValue(defs[1]!, 'tomorrow')).toMatchObject({ ok: false })
    expect(customFieldStoredValue(defs[0]!, ' a b ')).toEqual({ ok: true, value: ' a b ' })
  })
})

describe('saved searches (pool.gui_config["XenSearch.Search-<uuid>"])', () => {
  it('reads a search XenCenter wrote and runs it', () => {
    const r = parseSearch(XC_SEARCH)
    expect(r.ok).toBe(true)
    if (!r.ok) return
    expect(r.search).toMatchObject({ uuid: '0f1e2d3c-aaaa-bbbb-cccc-000000000001', name: 'Web VMs of finance', scope: ['VM'] })
    expect(describeSearch(r.search)).toBe('name contains “web” and Owner is “finance”')
    const vm = (name: string, owner?: string) => ({ type: 'VM' as const, rec: { name_label: name, other_config: owner ? { 'XenCenter.CustomFields.Owner': owner } : {} } })
    expect(searchMatches(r.search, vm('Web-01', 'Finance'))).toBe(true)
    expect(searchMatches(r.search, vm('web-02', 'hr'))).toBe(false)
    expect(searchMatches(r.search, vm('db-01', 'finance'))).toBe(false)
    expect(searchMatches(r.search, { type: 'Server', rec: { name_label: 'web host' } })).toBe(false)
  })
  it('writes XenCenter’s format, which reads back to the same search', () => {
    const s = searchFromText('11111111-2222-3333-4444-555555555555', 'db in prod', 'db prod')
    const xml = writeSearch(s)
    expect(xml).toMatch(/^<Search uuid="11111111-2222-3333-4444-555555555555" name="db in prod" major_version="2" minor_version="0"><Query><QueryScope><Pool \/><Server \/>/)
    const back = parseSearch(xml)
    expect(back).toEqual({ ok: true, search: s })
    expect(searchMatches(s, { type: 'VM', rec: { name_label: 'db-7', name_description: 'prod database' } })).toBe(true)
    expect(searchMatches(s, { type: 'VM', rec: { name_label: 'db-7', name_description: 'test' } })).toBe(false)
  })
  it('lists what it cannot run or read with the reason, keyed so nothing is lost', () => {
    const list = readPoolSearches({
      'XenSearch.Search-a': XC_SEARCH,
      'XenSearch.Search-b': XC_SEARCH.replace('<StringPropertyQuery property="label"', '<IPAddressQuery property="ip_address" address="10.0.0.1" /><StringPropertyQuery property="label"'),
      'XenSearch.Search-c': '<Search name="broken"',
      'XenCenter.Search-d': 'null',
      'XenSearch.Search-e': '<Search uuid="e" name="future" major_version="3" minor_version="0"><Query><QueryScope><VM/></QueryScope></Query></Search>',
      'other.key': 'x',
    })
    expect(list.map((s) => [s.key, s.parsed.ok])).toEqual([
      ['XenCenter.Search-d', false],
      ['XenSearch.Search-a', true],
      ['XenSearch.Search-b', false],
      ['XenSearch.Search-c', false],
      ['XenSearch.Search-e', false],
    ])
    const reasons = list.map((s) => (s.parsed.ok ? '' : s.parsed.problem))
    expect(reasons[2]).toBe('It uses a IPAddressQuery condition, which XenPilot cannot run yet.')
    expect(reasons[3]).toMatch(/^Its XML cannot be read: the tag <Search> is not closed/)
    expect(reasons[4]).toMatch(/version 3 search/)
    expect(list[2]?.parsed).toMatchObject({ name: 'Web VMs of finance' })
  })
  it('object types as XenCenter scopes them', () => {
    expect(objectTypeOf('VM', { is_a_template: true, other_config: { default_template: 'true' } })).toBe('DefaultTemplate')
    expect(objectTypeOf('VM', { is_a_snapshot: true })).toBe('Snapshot')
    expect(objectTypeOf('VM', { is_control_domain: true })).toBeNull()
    expect(objectTypeOf('SR', { shared: true })).toBe('RemoteSR')
    expect(objectTypeOf('host', {}, false)).toBe('DisconnectedServer')
  })
})

describe('the bounded XML reader (hostile gui_config values)', () => {
  it('refuses deep nesting, too many elements, entity declarations and unknown entities with a sentence', () => {
    expect(parseXml('<a>'.repeat(40) + '</a>'.repeat(40))).toEqual({ ok: false, error: 'it is nested more than 32 levels deep' })
    expect(parseXml(`<a>${'<b/>'.repeat(5000)}</a>`)).toEqual({ ok: false, error: 'it has more than 4,096 elements' })
    const laughs = '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]><lolz a="&lol2;"/>'
    expect(parseXml(laughs)).toMatchObject({ ok: false, error: expect.stringMatching(/declares its own entities/) })
    expect(parseXml('<a b="&lol;"/>')).toMatchObject({ ok: false, error: expect.stringMatching(/&lol; .* is not one XML defines/) })
    expect(parseXml('<a b="x &amp; &lt;y&gt; &#65;&#x42;"/>')).toEqual({ ok: true, root: { name: 'a', attrs: { b: 'x & <y> AB' }, children: [] } })
    expect(parseXml('<a></b>')).toEqual({ ok: false, error: '<a> is closed by </b>' })
    expect(parseXml('<a/><b/>')).toEqual({ ok: false, error: 'it has more than one root element' })
    expect(parseXml('')).toEqual({ ok: false, error: 'it is empty (no element)' })
  })
  it('any string ends in a result or a sentence (seeded random input)', () => {
    let seed = 19
    const rnd = (): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff)
    const alphabet = ['<', '>', '/', '=', '"', "'", '&', ';', '!', '?', '-', '[', ']', 'a', 'b', ' ', '#', 'x', '1', 'Search', 'Query']
    for (let i = 0; i < 3000; i++) {
      let s = ''
      const len = Math.floor(rnd() * 80)
      for (let j = 0; j < len; j++) s += alphabet[Math.floor(rnd() * alphabet.length)]
      const r = parseXml(s)
      expect(typeof r.ok).toBe('boolean')
      const p = parseSearch(s)
      expect(typeof p.ok).toBe('boolean')
    }
    // a value at the size limit with a pathological shape is still read in one pass
    const wide = `<a ${'x'.repeat(XML_LIMITS.maxChars - 10)}`
    expect(parseXml(wide).ok).toBe(false)
  })
})

describe('the demo fleet carries what XenCenter leaves in a pool', () => {
  it('Production: three custom fields, values on VMs, a saved search XenPilot runs and one it lists as not understood', async () => {
    const { buildFleet } = await import('../../sim/fleet')
    const fleet = buildFleet('demo')
    const prod = fleet.pools.find((p) => p.name === 'Production')
    const pool = [...(prod?.objects.get('pool')?.values() ?? [])][0]
    const defs = readCustomFieldDefinitions(pool?.['gui_config'])
    expect(defs).toEqual({ fields: [{ name: 'owner', type: 'String' }, { name: 'cost-centre', type: 'String' }, { name: 'expires', type: 'Date' }], problem: null })
    const searches = readPoolSearches(pool?.['gui_config'])
    expect(searches.map((s) => [s.parsed.ok, s.parsed.ok ? s.parsed.search.name : s.parsed.name])).toEqual([
      [true, 'Finance VMs'],
      [false, 'VMs in 10.20.0.0/16'],
    ])
    const sap = [...(prod?.objects.get('VM')?.values() ?? [])].find((v) => v['name_label'] === 'sap-hana-01')
    expect(customFieldValues(defs.fields, sap?.['other_config']).map((v) => v.text)).toEqual(['finance', 'CC-4711', '2027-06-30'])
    const s = searches[0]?.parsed
    if (s?.ok) expect(searchMatches(s.search, { type: 'VM', rec: sap ?? {} })).toBe(true)
  })
})
