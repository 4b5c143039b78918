/**
 * The native menu as data: built from the current view settings and a set of actions, so it is
 * tested without Electron and rebuilt whenever `settings.changed` arrives (checkmarks follow the
 * renderer's toolbar and vice versa). View items change settings in main; actions that need the
 * renderer (Add Server…, focus search) go to it as `ui.command` events.
 */
import type { MenuItemConstructorOptions } from 'electron'
import type { TreeMode, Theme, UiCommandName, UiSettings } from '../../shared/contract'

export interface MenuActions {
  command(name: UiCommandName): void
  /** run a renderer command (the same object as the context menu and toolbar) on the selection */
  run(commandId: string): void
  connectAll(): void
  disconnectAll(): void
  updateSettings(patch: Partial<UiSettings>): void
  about(): void
  quit(): void
}

export interface MenuOptions {
  appName: string
  platform: NodeJS.Platform
  settings: UiSettings
  actions: MenuActions
  /** developer tools and reload only in development builds */
  dev: boolean
}

const TREE_MODES: [TreeMode, string][] = [
  ['infrastructure', 'Infrastructure'],
  ['objects', 'Objects'],
  ['tags', 'Tags'],
  ['folders', 'Folders'],
]
const THEMES: [Theme, string][] = [
  ['system', 'System'],
  ['light', 'Light'],
  ['dark', 'Dark'],
]

/**
 * The VM and Server menus list renderer command ids; the renderer decides on the current selection
 * whether each can run and says why not (menu bar, context menu, toolbar and shortcuts share them).
 */
export const VM_MENU: readonly (readonly [commandId: string, label: string] | null)[] = [
  ['vm.new', 'New VM…'],
  null,
  ['vm.start', 'Start'],
  ['vm.startOn', 'Start on Server…'],
  ['vm.shutdown', 'Shut Down'],
  ['vm.reboot', 'Reboot'],
  ['vm.suspend', 'Suspend'],
  ['vm.resume', 'Resume'],
  ['vm.resumeOn', 'Resume on Server…'],
  null,
  ['vm.forceShutdown', 'Force Shutdown'],
  ['vm.forceReboot', 'Force Reboot'],
  ['vm.pause', 'Pause'],
  ['vm.unpause', 'Unpause'],
  null,
  ['vm.migrate', 'Migrate to Server…'],
  ['vm.migrateWizard', 'Migrate VM…'],
  ['vm.moveStorage', 'Move Storage…'],
  ['vm.snapshot', 'Take Snapshot…'],
  ['vm.clone', 'Clone…'],
  ['vm.copy', 'Copy…'],
  ['vm.convertToTemplate', 'Convert to Template…'],
  null,
  ['vm.delete', 'Delete…'],
  null,
  // XenCenter's VM menu ends with P&roperties (Alt+M, R); it has no other shortcut there
  ['vm.properties', 'P&roperties…'],
]
export const SERVER_MENU: readonly (readonly [commandId: string, label: string] | null)[] = [
  ['host.enterMaintenance', 'Enter Maintenance Mode…'],
  ['host.exitMaintenance', 'Exit Maintenance Mode'],
  null,
  ['host.reboot', 'Reboot…'],
  ['host.shutdown', 'Shut Down…'],
]

/** XenCenter's shortcuts of menu commands (Ctrl+N: New VM) */
const COMMAND_ACCELERATORS: Readonly<Record<string, string>> = { 'vm.new': 'CmdOrCtrl+N' }

function commandMenu(entries: typeof VM_MENU, a: MenuActions): MenuItemConstructorOptions[] {
  return entries.map((e): MenuItemConstructorOptions => {
    if (!e) return { type: 'separator' }
    const accelerator = COMMAND_ACCELERATORS[e[0]]
    return { id: `command.${e[0]}`, label: e[1], ...(accelerator ? { accelerator } : {}), click: () => a.run(e[0]) }
  })
}

export function buildMenuTemplate(o: MenuOptions): MenuItemConstructorOptions[] {
  const { actions: a, settings: s } = o
  const mac = o.platform === 'darwin'
  const file: MenuItemConstructorOptions = {
    label: '&File',
    submenu: [
      { id: 'server.add', label: 'Add Server…', click: () => a.command('server.add') },
      { type: 'separator' },
      { id: 'connections.connectAll', label: 'Connect All', click: () => a.connectAll() },
      { id: 'connections.disconnectAll', label: 'Disconnect All', click: () => a.disconnectAll() },
      ...(mac ? [] : ([{ type: 'separator' }, { id: 'quit', label: 'Quit', accelerator: 'CmdOrCtrl+Q', click: () => a.quit() }] as MenuItemConstructorOptions[])),
    ],
  }
  const view: MenuItemConstructorOptions = {
    label: '&View',
    submenu: [
      { id: 'tree.focusSearch', label: 'Find…', accelerator: 'CmdOrCtrl+F', click: () => a.command('tree.focusSearch') },
      { type: 'separator' },
      ...TREE_MODES.map(
        ([mode, label], i): MenuItemConstructorOptions => ({
          id: `view.treeMode.${mode}`,
          label,
          type: 'radio',
          checked: s.treeMode === mode,
          accelerator: `CmdOrCtrl+${i + 1}`,
          click: () => a.updateSettings({ treeMode: mode }),
        }),
      ),
      { type: 'separator' },
      { id: 'view.showTemplates', label: 'Show Templates', type: 'checkbox', checked: s.showTemplates, click: () => a.updateSettings({ showTemplates: !s.showTemplates }) },
      { id: 'view.showSnapshots', label: 'Show Snapshots', type: 'checkbox', checked: s.showSnapshots, click: () => a.updateSettings({ showSnapshots: !s.showSnapshots }) },
      { id: 'view.showHidden', label: 'Show Hidden Objects', type: 'checkbox', checked: s.showHidden, click: () => a.updateSettings({ showHidden: !s.showHidden }) },
      { type: 'separator' },
      {
        label: 'Theme',
        submenu: THEMES.map(([theme, label]): MenuItemConstructorOptions => ({ id: `view.theme.${theme}`, label, type: 'radio', checked: s.theme === theme, click: () => a.updateSettings({ theme }) })),
      },
      { type: 'separator' },
      { role: 'resetZoom' },
      { role: 'zoomIn' },
      { role: 'zoomOut' },
      { type: 'separator' },
      { role: 'togglefullscreen' },
      ...(o.dev ? ([{ type: 'separator' }, { role: 'reload' }, { role: 'toggleDevTools' }] as MenuItemConstructorOptions[]) : []),
    ],
  }
  const help: MenuItemConstructorOptions = {
    role: 'help',
    label: '&Help',
    submenu: [{ id: 'help.about', label: `About ${o.appName}`, click: () => a.about() }],
  }
  const edit: MenuItemConstructorOptions = { role: 'editMenu' }
  const template: MenuItemConstructorOptions[] = []
  if (mac) {
    template.push({
      label: o.appName,
      submenu: [
        { label: `About ${o.appName}`, click: () => a.about() },
        { type: 'separator' },
        { role: 'services' },
        { type: 'separator' },
        { role: 'hide' },
        { role: 'hideOthers' },
        { role: 'unhide' },
        { type: 'separator' },
        { id: 'quit', label: `Quit ${o.appName}`, accelerator: 'Cmd+Q', click: () => a.quit() },
      ],
    })
  }
  const vmMenu: MenuItemConstructorOptions = { label: 'V&M', submenu: commandMenu(VM_MENU, a) }
  const serverMenu: MenuItemConstructorOptions = { label: '&Server', submenu: commandMenu(SERVER_MENU, a) }
  template.push(file, edit, view, serverMenu, vmMenu)
  if (mac) template.push({ role: 'windowMenu' })
  template.push(help)
  return template
}

/** Versions shown in Help → About. */
export function aboutText(appName: string, appVersion: string, versions: Partial<Record<string, string>>): string {
  const lines = [`${appName} ${appVersion}`, '']
  for (const k of ['electron', 'chrome', 'node', 'v8']) {
    const v = versions[k]
    if (v) lines.push(`${k[0]?.toUpperCase() ?? ''}${k.slice(1)} ${v}`)
  }
  return lines.join('\n')
}
