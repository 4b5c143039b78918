/**
 * A small, bounded XML reader for what XenCenter keeps in a pool's `gui_config` (custom field
 * definitions, saved searches). Those values come from the pool: anyone with pool-admin rights
 * (or another client) may have written them, so they are hostile input. This reader
 *  - refuses a value longer than `maxChars`, nested deeper than `maxDepth` or with more than
 *    `maxElements` elements, with a sentence;
 *  - never expands entities beyond the five predefined ones and character references (a DOCTYPE
 *    is skipped, never read: no billion laughs);
 *  - scans once, left to right, with indexOf (time linear in the length, no backtracking).
 * Text content is ignored (XenCenter's formats keep everything in attributes).
 */

export interface XmlElement {
  name: string
  attrs: Record<string, string>
  children: XmlElement[]
}

export interface XmlLimits {
  maxChars: number
  maxDepth: number
  maxElements: number
}

export const XML_LIMITS: XmlLimits = { maxChars: 256 * 1024, maxDepth: 32, maxElements: 4096 }

export type XmlResult = { ok: true; root: XmlElement } | { ok: false; error: string }

const NAME_START = /[A-Za-z_:]/
const NAME_CHAR = /[A-Za-z0-9_:.\-]/

class XmlError extends Error {}

function decodeEntities(s: string, at: number): string {
  if (!s.includes('&')) return s
  let out = ''
  let i = 0
  while (i < s.length) {
    const amp = s.indexOf('&', i)
    if (amp < 0) {
      out += s.slice(i)
      break
    }
    out += s.slice(i, amp)
    const semi = s.indexOf(';', amp)
    if (semi < 0 || semi - amp > 10) throw new XmlError(`an “&” at character ${at + amp} does not start an entity`)
    const ent = s.slice(amp + 1, semi)
    if (ent === 'lt') out += '<'
    else if (ent === 'gt') out += '>'
    else if (ent === 'amp') out += '&'
    else if (ent === 'quot') out += '"'
    else if (ent === 'apos') out += "'"
    else if (/^#[0-9]{1,7}$/.test(ent) || /^#x[0-9A-Fa-f]{1,6}$/.test(ent)) {
      const code = ent[1] === 'x' ? parseInt(ent.slice(2), 16) : parseInt(ent.slice(1), 10)
      if (code > 0x10ffff || code === 0) throw new XmlError(`the character reference &${ent}; at character ${at + amp} is not a character`)
      out += String.fromCodePoint(code)
    } else throw new XmlError(`the entity &${ent}; at character ${at + amp} is not one XML defines`)
    i = semi + 1
  }
  return out
}

/** parse one XML document (one root element) within the limits; never throws */
export function parseXml(text: string, limits: XmlLimits = XML_LIMITS): XmlResult {
  if (text.length > limits.maxChars) return { ok: false, error: `it is ${text.length.toLocaleString('en-US')} characters long; XenPilot reads at most ${limits.maxChars.toLocaleString('en-US')}` }
  try {
    return { ok: true, root: parse(text, limits) }
  } catch (e) {
    if (e instanceof XmlError) return { ok: false, error: e.message }
    throw e
  }
}

function parse(text: string, limits: XmlLimits): XmlElement {
  const stack: XmlElement[] = []
  let root: XmlElement | null = null
  let count = 0
  let i = 0
  const n = text.length
  while (i < n) {
    const lt = text.indexOf('<', i)
    if (lt < 0) {
      if (text.slice(i).trim() !== '' && stack.length === 0) throw new XmlError('there is text outside the root element')
      break
    }
    if (stack.length === 0 && text.slice(i, lt).trim() !== '') throw new XmlError('there is text outside the root element')
    if (text.startsWith('<?', lt)) {
      const end = text.indexOf('?>', lt + 2)
      if (end < 0) throw new XmlError('a processing instruction is not closed')
      i = end + 2
      continue
    }
    if (text.startsWith('<!--', lt)) {
      const end = text.indexOf('-->', lt + 4)
      if (end < 0) throw new XmlError('a comment is not closed')
      i = end + 3
      continue
    }
    if (text.startsWith('<![CDATA[', lt)) {
      const end = text.indexOf(']]>', lt + 9)
      if (end < 0) throw new XmlError('a CDATA section is not closed')
      i = end + 3
      continue
    }
    if (text.startsWith('<!', lt)) {
      // <!DOCTYPE …>: skipped without reading it; an internal subset ([…]) is refused (entities)
      const end = text.indexOf('>', lt + 2)
      if (end < 0) throw new XmlError('a declaration is not closed')
      if (text.slice(lt, end).includes('[')) throw new XmlError('it declares its own entities (a DOCTYPE with an internal subset), which XenPilot does not read')
      i = end + 1
      continue
    }
    if (text[lt + 1] === '/') {
      const end = text.indexOf('>', lt + 2)
      if (end < 0) throw new XmlError('an end tag is not closed')
      const name = text.slice(lt + 2, end).trim()
      const open = stack.pop()
      if (!open) throw new XmlError(`the end tag </${name.slice(0, 40)}> has no start tag`)
      if (open.name !== name) throw new XmlError(`<${open.name}> is closed by </${name.slice(0, 40)}>`)
      i = end + 1
      continue
    }
    // a start tag
    let j = lt + 1
    if (!NAME_START.test(text[j] ?? '')) throw new XmlError(`a “<” at character ${lt} does not start a tag`)
    while (j < n && NAME_CHAR.test(text[j] ?? '')) j++
    const name = text.slice(lt + 1, j)
    const attrs: Record<string, string> = Object.create(null) as Record<string, string>
    let selfClosing = false
    for (;;) {
      while (j < n && /\s/.test(text[j] ?? '')) j++
      if (j >= n) throw new XmlError(`the tag <${name}> is not closed`)
      const c = text[j]
      if (c === '>') {
        j++
        break
      }
      if (c === '/' && text[j + 1] === '>') {
        selfClosing = true
        j += 2
        break
      }
      const a0 = j
      if (!NAME_START.test(c ?? '')) throw new XmlError(`the tag <${name}> has a malformed attribute at character ${j}`)
      while (j < n && NAME_CHAR.test(text[j] ?? '')) j++
      const an = text.slice(a0, j)
      while (j < n && /\s/.test(text[j] ?? '')) j++
      if (text[j] !== '=') throw new XmlError(`the attribute ${an} of <${name}> has no value`)
      j++
      while (j < n && /\s/.test(text[j] ?? '')) j++
      const q = text[j]
      if (q !== '"' && q !== "'") throw new XmlError(`the attribute ${an} of <${name}> is not quoted`)
      const close = text.indexOf(q, j + 1)
      if (close < 0) throw new XmlError(`the attribute ${an} of <${name}> is not closed`)
      const raw = text.slice(j + 1, close)
      if (raw.includes('<')) throw new XmlError(`the attribute ${an} of <${name}> contains “<”`)
      if (an in attrs) throw new XmlError(`<${name}> has the attribute ${an} twice`)
      attrs[an] = decodeEntities(raw, j + 1)
      j = close + 1
    }
    if (++count > limits.maxElements) throw new XmlError(`it has more than ${limits.maxElements.toLocaleString('en-US')} elements`)
    const el: XmlElement = { name, attrs, children: [] }
    const parent = stack[stack.length - 1]
    if (parent) parent.children.push(el)
    else if (root) throw new XmlError('it has more than one root element')
    else root = el
    if (!selfClosing) {
      stack.push(el)
      if (stack.length > limits.maxDepth) throw new XmlError(`it is nested more than ${limits.maxDepth} levels deep`)
    }
    i = j
  }
  const open = stack[stack.length - 1]
  if (open) throw new XmlError(`<${open.name}> is never closed`)
  if (!root) throw new XmlError('it is empty (no element)')
  return root
}

/** XML text of an attribute value */
export function xmlAttr(v: string): string {
  return v.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;').replace(/\n/g, '&#10;').replace(/\r/g, '&#13;').replace(/\t/g, '&#9;')
}

/** `<name a="v" …/>` or with children */
export function xmlElement(name: string, attrs: readonly (readonly [string, string])[], children: readonly string[] = []): string {
  const a = attrs.map(([k, v]) => ` ${k}="${xmlAttr(v)}"`).join('')
  return children.length ? `<${name}${a}>${children.join('')}</${name}>` : `<${name}${a} />`
}
