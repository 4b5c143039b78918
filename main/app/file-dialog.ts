/**
 * The native open/save dialog of the Electron door (issue 14), as plain data: what to ask Electron's
 * `dialog.showSaveDialog` / `showOpenDialog` for a transfer's file, and the path its answer gives.
 * main.ts (the thin bootstrap that imports electron) only passes these through; the rest is here so
 * it is tested without Electron. Browser mode has no dialog: the page's path field is the way.
 */
import { FilePath, type FilePickRequest } from '../../shared/contract/transfer'

type Filter = { name: string; extensions: string[] }

export interface SaveDialogOptions {
  title: string
  buttonLabel: string
  defaultPath: string
  filters: Filter[]
  properties: ('createDirectory' | 'showOverwriteConfirmation')[]
}

export interface OpenDialogOptions {
  title: string
  buttonLabel: string
  defaultPath: string
  filters: Filter[]
  properties: ('openFile' | 'dontAddToRecent')[]
}

const FILTERS: Record<FilePickRequest['kind'], Filter[]> = {
  xva: [{ name: 'XVA (XenServer / XCP-ng VM)', extensions: ['xva'] }],
  disk: [
    { name: 'Disk images (VHD, raw)', extensions: ['vhd', 'raw', 'img'] },
    { name: 'VHD', extensions: ['vhd'] },
    { name: 'Raw image', extensions: ['raw', 'img'] },
  ],
  any: [{ name: 'XVA, VHD or raw image', extensions: ['xva', 'vhd', 'raw', 'img'] }],
}

const filtersOf = (req: FilePickRequest): Filter[] => [...FILTERS[req.kind], { name: 'All files', extensions: ['*'] }]

/** Save as…: in `folder`, under the suggested name */
export function saveDialogOptions(req: FilePickRequest, folder: string): SaveDialogOptions {
  const base = folder.replace(/[\\/]+$/, '')
  return {
    title: 'Export to file',
    buttonLabel: 'Save',
    defaultPath: req.suggestedName ? `${base}/${req.suggestedName}` : base,
    filters: filtersOf(req),
    properties: ['createDirectory', 'showOverwriteConfirmation'],
  }
}

/** Open…: one file */
export function openDialogOptions(req: FilePickRequest, folder: string): OpenDialogOptions {
  return { title: 'Import from file', buttonLabel: 'Open', defaultPath: folder, filters: filtersOf(req), properties: ['openFile'] }
}

/** the chosen path from Electron's answer; null when the user cancelled; an answer that is not a full path is refused (zod) */
export function pickedPath(answer: { canceled: boolean; filePath?: string | undefined; filePaths?: string[] | undefined }): string | null {
  if (answer.canceled) return null
  const p = answer.filePath ?? answer.filePaths?.[0]
  if (p === undefined || p === '') return null
  return FilePath.parse(p)
}
