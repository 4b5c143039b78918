/**
 * The Electron door's native file dialog without Electron (main/app/file-dialog.ts): the options a
 * transfer's Save as… / Open… gets, the answer's path checked (a cancel is null, a relative path or
 * one with a NUL is refused), and transfer.pickFile through the module: the door's dialog when it
 * has one, a sentence in browser mode.
 */
import { describe, expect, it } from 'vitest'
import { methods } from '../../../shared/contract'
import type { FilePickRequest } from '../../../shared/contract/transfer'
import { openDialogOptions, pickedPath, saveDialogOptions } from '../../../main/app/file-dialog'
import { MemoryHistory } from '../../../main/services/operations'
import { transferModule } from '../../../main/services/transfer'
import type { PoolManagerApi } from '../../../main/pools/api'

const req = (r: unknown): FilePickRequest => methods['transfer.pickFile'].args.parse(r)

describe('native file dialog (Electron door)', () => {
  it('Save as… opens in the folder with the suggested name, XVA filter first, overwrite confirmed by the dialog', () => {
    const o = saveDialogOptions(req({ purpose: 'export', kind: 'xva', suggestedName: 'web-01.xva' }), '/home/ann/Documents/')
    expect(o).toMatchObject({ title: 'Export to file', buttonLabel: 'Save', defaultPath: '/home/ann/Documents/web-01.xva' })
    expect(o.filters[0]?.extensions).toEqual(['xva'])
    expect(o.filters.at(-1)).toEqual({ name: 'All files', extensions: ['*'] })
    expect(o.properties).toContain('showOverwriteConfirmation')
  })

  it('Open… takes one file, disk images offered for a disk', () => {
    const o = openDialogOptions(req({ purpose: 'import', kind: 'disk' }), '/home/ann/Downloads')
    expect(o).toMatchObject({ buttonLabel: 'Open', defaultPath: '/home/ann/Downloads', properties: ['openFile'] })
    expect(o.filters[0]?.extensions).toEqual(['vhd', 'raw', 'img'])
  })

  it('the answer: a cancel is null, a full path is kept, anything else refused', () => {
    expect(pickedPath({ canceled: true, filePath: '/tmp/x.xva' })).toBeNull()
    expect(pickedPath({ canceled: false, filePath: '' })).toBeNull()
    expect(pickedPath({ canceled: false, filePath: '/srv/exports/a.xva' })).toBe('/srv/exports/a.xva')
    expect(pickedPath({ canceled: false, filePaths: ['C:\\exports\\b.vhd'] })).toBe('C:\\exports\\b.vhd')
    expect(() => pickedPath({ canceled: false, filePath: 'relative/a.xva' })).toThrow(/full path/)
    expect(() => pickedPath({ canceled: false, filePath: '/tmp/a\0b' })).toThrow(/NUL/)
  })

  it('a suggested name is a file name, not a path', () => {
    expect(() => req({ purpose: 'export', suggestedName: '../../etc/passwd' })).toThrow(/file name/)
  })

  const moduleWith = (pickFile?: (r: FilePickRequest) => Promise<string | null>) =>
    transferModule({ history: new MemoryHistory(), hosts: { hostHttp: () => { throw new Error('unused') } } as never, ...(pickFile ? { pickFile } : {}) })({
      pools: {} as PoolManagerApi,
      broadcast: () => undefined,
      log: () => undefined,
    }).handlers['transfer.pickFile']

  it('transfer.pickFile: the door’s dialog answers; browser mode (no dialog) says to type the path', async () => {
    const asked: FilePickRequest[] = []
    const electron = moduleWith(async (r) => {
      asked.push(r)
      return '/srv/exports/web-01.xva'
    })
    expect(await electron?.(req({ purpose: 'export', kind: 'xva', suggestedName: 'web-01.xva' }), undefined as never)).toEqual({ path: '/srv/exports/web-01.xva' })
    expect(asked[0]).toMatchObject({ purpose: 'export', suggestedName: 'web-01.xva' })
    const browser = moduleWith()
    await expect(browser?.(req({ purpose: 'import' }), undefined as never)).rejects.toThrow(/Browser mode has no file dialog: type the full path/)
  })
})
