/**
 * `npx tsx scripts/gen-icons.ts`: every app icon from ONE source, build/icon.svg.
 *   build/icons/NxN.png (16…1024)  Linux (AppImage, deb) and the 1024 master
 *   build/icon.png                  1024×1024 (electron-builder's fallback)
 *   build/icon.ico                  Windows: PNG-compressed entries 16…256
 *   build/icon.icns                 macOS: PNG entries icp4…ic10
 * PNGs are rendered by Debian's Chromium (playwright-core screenshot, transparent background);
 * .ico and .icns are packed here (both formats accept PNG payloads), so no other tool is needed.
 * The outputs are committed; run this again only when the SVG changes.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const SIZES = [16, 24, 32, 48, 64, 128, 256, 512, 1024] as const

export function packIco(pngs: { size: number; png: Buffer }[]): Buffer {
  const header = Buffer.alloc(6)
  header.writeUInt16LE(0, 0)
  header.writeUInt16LE(1, 2) // 1 = icon
  header.writeUInt16LE(pngs.length, 4)
  const dir = Buffer.alloc(16 * pngs.length)
  let offset = 6 + dir.length
  pngs.forEach(({ size, png }, i) => {
    const e = i * 16
    dir.writeUInt8(size >= 256 ? 0 : size, e) // 0 means 256
    dir.writeUInt8(size >= 256 ? 0 : size, e + 1)
    dir.writeUInt8(0, e + 2) // no palette
    dir.writeUInt8(0, e + 3)
    dir.writeUInt16LE(1, e + 4) // colour planes
    dir.writeUInt16LE(32, e + 6) // bits per pixel
    dir.writeUInt32LE(png.length, e + 8)
    dir.writeUInt32LE(offset, e + 12)
    offset += png.length
  })
  return Buffer.concat([header, dir, ...pngs.map((p) => p.png)])
}

/** ICNS element types that hold PNG data, by pixel size. */
const ICNS_TYPES: [string, number][] = [
  ['icp4', 16],
  ['icp5', 32],
  ['icp6', 64],
  ['ic07', 128],
  ['ic08', 256],
  ['ic09', 512],
  ['ic10', 1024],
  ['ic11', 32], // 16@2x
  ['ic12', 64], // 32@2x
  ['ic13', 256], // 128@2x
  ['ic14', 512], // 256@2x
]

export function packIcns(pngBySize: Map<number, Buffer>): Buffer {
  const chunks: Buffer[] = []
  for (const [type, size] of ICNS_TYPES) {
    const png = pngBySize.get(size)
    if (!png) throw new Error(`no ${size}px PNG for icns element ${type}`)
    const head = Buffer.alloc(8)
    head.write(type, 0, 'ascii')
    head.writeUInt32BE(png.length + 8, 4)
    chunks.push(head, png)
  }
  const body = Buffer.concat(chunks)
  const head = Buffer.alloc(8)
  head.write('icns', 0, 'ascii')
  head.writeUInt32BE(body.length + 8, 4)
  return Buffer.concat([head, body])
}

async function main(): Promise<void> {
  const svg = readFileSync(join(root, 'build/icon.svg'), 'utf8')
  const browser = await chromium.launch({
    executablePath: process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  })
  const pngs = new Map<number, Buffer>()
  try {
    const page = await browser.newPage({ deviceScaleFactor: 1 })
    const dataUrl = `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}`
    for (const size of SIZES) {
      await page.setViewportSize({ width: size, height: size })
      await page.setContent(`<html><body style="margin:0;background:transparent"><img src="${dataUrl}" width="${size}" height="${size}" style="display:block"></body></html>`)
      await page.waitForFunction(() => {
        // runs in the page; this file is type-checked without the DOM library
        const doc = Reflect.get(globalThis, 'document') as { images: ArrayLike<{ complete: boolean; naturalWidth: number }> }
        return Array.from(doc.images).every((i) => i.complete && i.naturalWidth > 0)
      })
      pngs.set(size, await page.screenshot({ omitBackground: true, clip: { x: 0, y: 0, width: size, height: size } }))
    }
  } finally {
    await browser.close()
  }
  mkdirSync(join(root, 'build/icons'), { recursive: true })
  for (const [size, png] of pngs) writeFileSync(join(root, `build/icons/${size}x${size}.png`), png)
  const master = pngs.get(1024)
  if (!master) throw new Error('the 1024px render is missing')
  writeFileSync(join(root, 'build/icon.png'), master)
  writeFileSync(join(root, 'build/icon.ico'), packIco([16, 24, 32, 48, 64, 128, 256].map((size) => ({ size, png: pngs.get(size) ?? Buffer.alloc(0) }))))
  writeFileSync(join(root, 'build/icon.icns'), packIcns(pngs))
  console.log(`icons written: ${SIZES.map((s) => `${s}px`).join(', ')}, icon.ico, icon.icns`)
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err: unknown) => {
    console.error(err)
    process.exit(1)
  })
}
