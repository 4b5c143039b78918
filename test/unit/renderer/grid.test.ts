import { describe, expect, it } from 'vitest'
import { rowAfterKey } from '../../../renderer/src/model/grid'

describe('a selectable grid’s keys', () => {
  const rows = ['a', 'b', 'c']
  it('arrows move one row and stop at the ends; Home and End go to the first and last', () => {
    expect(rowAfterKey(rows, 0, 'ArrowDown')).toBe('b')
    expect(rowAfterKey(rows, 2, 'ArrowDown')).toBe('c')
    expect(rowAfterKey(rows, 1, 'ArrowUp')).toBe('a')
    expect(rowAfterKey(rows, 0, 'ArrowUp')).toBe('a')
    expect(rowAfterKey(rows, 1, 'Home')).toBe('a')
    expect(rowAfterKey(rows, 1, 'End')).toBe('c')
  })
  it('with nothing chosen ArrowDown takes the first row; other keys and an empty grid give nothing', () => {
    expect(rowAfterKey(rows, -1, 'ArrowDown')).toBe('a')
    expect(rowAfterKey(rows, 1, 'Delete')).toBeUndefined()
    expect(rowAfterKey([], -1, 'ArrowDown')).toBeUndefined()
  })
})
