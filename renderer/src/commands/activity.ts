/** Global commands that open the activity panel's views: tasks, the action history, alerts. */
import { useTasksStore, type ActivityTab } from '../stores/tasks'
import type { Command } from './registry'

function show(id: string, label: string, tab: ActivityTab, shortcut: string, toolbar: boolean): Command {
  return {
    id,
    label,
    group: 'view',
    global: true,
    shortcut,
    ...(toolbar ? { toolbar: true } : {}),
    appliesTo: () => false,
    canRun: () => true,
    run: () => useTasksStore().show(tab),
  }
}

export const activityCommands: Command[] = [
  show('view.tasks', 'Tasks', 'tasks', 'Ctrl+Shift+T', false),
  show('view.history', 'History', 'history', 'Ctrl+Shift+H', true),
  show('view.alerts', 'Alerts', 'alerts', 'Ctrl+Shift+A', false),
]
