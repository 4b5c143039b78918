/**
 * The native menu: the items the issue names, in the menus it names, wired to the same settings
 * and commands the renderer uses; checkmarks reflect the settings they were built from.
 */
import type { MenuItemConstructorOptions } from 'electron'
import { describe, expect, it } from 'vitest'
import { DEFAULT_UI_SETTINGS, type UiSettings } from '../../../shared/contract'
import { aboutText, buildMenuTemplate, type MenuActions } from '../../../main/app/menu'

function recorder(): { actions: MenuActions; log: string[] } {
  const log: string[] = []
  return {
    log,
    actions: {
      command: (n) => log.push(`command ${n}`),
      run: (id) => log.push(`run ${id}`),
      connectAll: () => log.push('connectAll'),
      disconnectAll: () => log.push('disconnectAll'),
      updateSettings: (p) => log.push(`settings ${JSON.stringify(p)}`),
      about: () => log.push('about'),
      quit: () => log.push('quit'),
    },
  }
}

function items(template: MenuItemConstructorOptions[]): Map<string, MenuItemConstructorOptions> {
  const out = new Map<string, MenuItemConstructorOptions>()
  const walk = (list: MenuItemConstructorOptions[]): void => {
    for (const i of list) {
      if (i.id) out.set(i.id, i)
      if (Array.isArray(i.submenu)) walk(i.submenu as MenuItemConstructorOptions[])
    }
  }
  walk(template)
  return out
}

function click(item: MenuItemConstructorOptions | undefined): void {
  if (!item?.click) throw new Error(`menu item ${item?.id ?? '?'} has no click handler`)
  // Electron passes (menuItem, window, event); these handlers use none of them.
  ;(item.click as unknown as () => void)()
}

const build = (settings: UiSettings = DEFAULT_UI_SETTINGS, platform: NodeJS.Platform = 'linux') => {
  const r = recorder()
  const template = buildMenuTemplate({ appName: 'XenPilot', platform, settings, actions: r.actions, dev: false })
  return { template, byId: items(template), log: r.log }
}

describe('the native menu', () => {
  it('has File, Edit, View and Help on Windows/Linux with the issue’s items', () => {
    const { template, byId } = build()
    expect(template.map((m) => m.label ?? m.role)).toEqual(['&File', 'editMenu', '&View', '&Server', 'V&M', '&Help'])
    expect(byId.get('server.add')?.label).toBe('Add Server…')
    for (const id of ['connections.connectAll', 'connections.disconnectAll', 'quit', 'view.treeMode.infrastructure', 'view.treeMode.objects', 'view.treeMode.tags', 'view.treeMode.folders', 'view.showTemplates', 'view.showSnapshots', 'view.showHidden', 'view.theme.system', 'view.theme.light', 'view.theme.dark', 'help.about']) {
      expect(byId.has(id), id).toBe(true)
    }
  })

  it('on macOS puts Quit and About in the app menu and adds the Window menu', () => {
    const { template } = build(DEFAULT_UI_SETTINGS, 'darwin')
    expect(template[0]?.label).toBe('XenPilot')
    expect(template.map((m) => m.label ?? m.role)).toContain('windowMenu')
    const file = template.find((m) => m.label === '&File')
    expect((file?.submenu as MenuItemConstructorOptions[]).some((i) => i.id === 'quit')).toBe(false)
  })

  it('Add Server… asks the renderer (ui.command); Connect/Disconnect All act in main', () => {
    const { byId, log } = build()
    click(byId.get('server.add'))
    click(byId.get('connections.connectAll'))
    click(byId.get('connections.disconnectAll'))
    click(byId.get('quit'))
    click(byId.get('help.about'))
    expect(log).toEqual(['command server.add', 'connectAll', 'disconnectAll', 'quit', 'about'])
  })

  it('view items change the shared settings, and their checkmarks show the current ones', () => {
    const settings: UiSettings = { ...DEFAULT_UI_SETTINGS, treeMode: 'tags', showTemplates: true, theme: 'dark' }
    const { byId, log } = build(settings)
    expect(byId.get('view.treeMode.tags')?.checked).toBe(true)
    expect(byId.get('view.treeMode.infrastructure')?.checked).toBe(false)
    expect(byId.get('view.showTemplates')?.checked).toBe(true)
    expect(byId.get('view.showSnapshots')?.checked).toBe(false)
    expect(byId.get('view.theme.dark')?.checked).toBe(true)
    click(byId.get('view.treeMode.folders'))
    click(byId.get('view.showTemplates'))
    click(byId.get('view.showHidden'))
    click(byId.get('view.theme.system'))
    expect(log).toEqual(['settings {"treeMode":"folders"}', 'settings {"showTemplates":false}', 'settings {"showHidden":true}', 'settings {"theme":"system"}'])
  })

  it('uses the standard shortcuts and no shortcut twice', () => {
    const { byId, template } = build()
    // XenCenter's Ctrl+N is New VM; Add Server has no shortcut
    expect(byId.get('command.vm.new')?.accelerator).toBe('CmdOrCtrl+N')
    expect(byId.get('server.add')?.accelerator).toBeUndefined()
    expect(byId.get('quit')?.accelerator).toBe('CmdOrCtrl+Q')
    expect(byId.get('tree.focusSearch')?.accelerator).toBe('CmdOrCtrl+F')
    const all = [...items(template).values()].map((i) => i.accelerator).filter((a): a is string => typeof a === 'string')
    expect(new Set(all).size).toBe(all.length)
  })

  it('About lists the app, Electron, Chrome and Node versions', () => {
    const text = aboutText('XenPilot', '0.1.0', { electron: '45.3.4', chrome: '142.0', node: '22.20.0', v8: '14.2' })
    expect(text.split('\n')).toEqual(['XenPilot 0.1.0', '', 'Electron 45.3.4', 'Chrome 142.0', 'Node 22.20.0', 'V8 14.2'])
  })
})

describe('VM and Server menus', () => {
  it('run the renderer’s commands (the same objects as the context menu) on the selection', () => {
    const { template, log } = build()
    const labels = template.map((m) => m.label)
    expect(labels).toEqual(expect.arrayContaining(['&Server', 'V&M']))
    const all = items(template)
    click(all.get('command.vm.start'))
    click(all.get('command.vm.migrate'))
    click(all.get('command.host.enterMaintenance'))
    expect(log).toEqual(['run vm.start', 'run vm.migrate', 'run host.enterMaintenance'])
  })
})
