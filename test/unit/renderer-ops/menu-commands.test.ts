/** Every command the native VM/Server menus name exists in the renderer's registry (no dead menu items). */
import { describe, expect, it } from 'vitest'
import { SERVER_MENU, VM_MENU } from '../../../main/app/menu'
import { createRegistry } from '../../../renderer/src/commands'

describe('native menu ↔ command registry', () => {
  it('names only registered commands, with the same labels', () => {
    const registry = createRegistry()
    for (const entry of [...VM_MENU, ...SERVER_MENU]) {
      if (!entry) continue
      const [id] = entry
      expect(registry.get(id), id).toBeDefined()
    }
  })
})
